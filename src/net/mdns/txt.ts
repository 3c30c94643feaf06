/**
 * The `_lancam._tcp` TXT record and instance name: encoding, validation and normalisation.
 * Pure functions, no I/O; src/net/mdns.ts puts them on the wire with bonjour-service.
 *
 * TXT keys (short, because the whole record travels in every announcement):
 *   id   device id         [A-Za-z0-9][A-Za-z0-9_-]{0,47}
 *   pid  product id        same syntax as id
 *   fn   friendly name     1..200 UTF-8 bytes after normalisation (no control or bidi
 *                          characters, whitespace collapsed)
 *   fp   fingerprint       64 lowercase hex (SHA-256 of the DER SPKI, see src/shared/fingerprint)
 *   pv   protocol version  digits with up to two dots: "1", "1.2", "1.2.3"
 *
 * Discovery is an unauthenticated hint: anyone on the LAN can announce any TXT. The
 * fingerprint only tells the client which key to pin/expect; the TLS channel checks it.
 */
import { isFingerprint } from '../../shared/fingerprint';

export interface LancamTxt {
  deviceId: string;
  productId: string;
  friendlyName: string;
  fingerprint: string;
  protocolVersion: string;
}

/** The TXT key used on the wire for each field. */
export const LANCAM_TXT_KEYS = {
  deviceId: 'id',
  productId: 'pid',
  friendlyName: 'fn',
  fingerprint: 'fp',
  protocolVersion: 'pv',
} as const satisfies Record<keyof LancamTxt, string>;

/** Device and product ids. No dots (bonjour-service turns them into '-'), at most 48 characters
 * so that " (<id>)" always fits in a 63-byte DNS label with room left for the friendly name. */
export const LANCAM_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$/;
export const LANCAM_PROTOCOL_VERSION_RE = /^\d{1,5}(\.\d{1,5}){0,2}$/;
/** A TXT string holds at most 255 bytes; "fn=" plus 200 bytes leaves a margin. */
export const FRIENDLY_NAME_MAX_BYTES = 200;
/** RFC 1035 label limit; the instance name is one label. */
export const DNS_LABEL_MAX_BYTES = 63;

// C0/C1 controls, line/paragraph separators, and bidi embedding/override/isolate marks (which
// could make "Kitchen" render as something else in a device list).
const UNSAFE_CHARS_RE = /[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

function truncateUtf8(text: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/**
 * What we show and send as a friendly name: NFC, unsafe characters replaced by spaces,
 * whitespace collapsed and trimmed, cut (at a character boundary) to FRIENDLY_NAME_MAX_BYTES.
 * May return '' (then the name is invalid).
 */
export function normalizeFriendlyName(name: string): string {
  const cleaned = name.normalize('NFC').replace(UNSAFE_CHARS_RE, ' ').replace(/\s+/gu, ' ').trim();
  return truncateUtf8(cleaned, FRIENDLY_NAME_MAX_BYTES).trimEnd();
}

/** Returns why `txt` is not a valid lancam TXT record, or undefined when it is. */
export function lancamTxtProblem(txt: LancamTxt): string | undefined {
  if (typeof txt.deviceId !== 'string' || !LANCAM_ID_RE.test(txt.deviceId)) return 'deviceId must match [A-Za-z0-9][A-Za-z0-9_-]{0,47}';
  if (typeof txt.productId !== 'string' || !LANCAM_ID_RE.test(txt.productId)) return 'productId must match [A-Za-z0-9][A-Za-z0-9_-]{0,47}';
  if (typeof txt.friendlyName !== 'string' || normalizeFriendlyName(txt.friendlyName) === '') return 'friendlyName must not be empty';
  if (!isFingerprint(txt.fingerprint)) return 'fingerprint must be 64 lowercase hex characters';
  if (typeof txt.protocolVersion !== 'string' || !LANCAM_PROTOCOL_VERSION_RE.test(txt.protocolVersion)) return 'protocolVersion must look like "1" or "1.2"';
  return undefined;
}

/** Validates and normalises (friendly name) a TXT record; throws a TypeError when invalid. */
export function normalizeLancamTxt(txt: LancamTxt): LancamTxt {
  const problem = lancamTxtProblem(txt);
  if (problem) throw new TypeError(`invalid lancam TXT record: ${problem}`);
  return {
    deviceId: txt.deviceId,
    productId: txt.productId,
    friendlyName: normalizeFriendlyName(txt.friendlyName),
    fingerprint: txt.fingerprint,
    protocolVersion: txt.protocolVersion,
  };
}

/** The key/value map handed to bonjour-service (`txt` of its ServiceConfig). */
export function encodeLancamTxt(txt: LancamTxt): Record<string, string> {
  const valid = normalizeLancamTxt(txt);
  return {
    [LANCAM_TXT_KEYS.deviceId]: valid.deviceId,
    [LANCAM_TXT_KEYS.productId]: valid.productId,
    [LANCAM_TXT_KEYS.friendlyName]: valid.friendlyName,
    [LANCAM_TXT_KEYS.fingerprint]: valid.fingerprint,
    [LANCAM_TXT_KEYS.protocolVersion]: valid.protocolVersion,
  };
}

/**
 * Parses the decoded TXT map of an announcement (bonjour-service's `service.txt`, an object
 * of strings, or anything else off the wire). Returns undefined when a field is missing or
 * invalid; unknown keys are ignored (room for later versions).
 */
export function parseLancamTxt(raw: unknown): LancamTxt | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const map = raw as Record<string, unknown>;
  const field = (key: string): string | undefined => {
    if (!Object.prototype.hasOwnProperty.call(map, key)) return undefined;
    const value = map[key];
    if (typeof value === 'string') return value;
    if (Buffer.isBuffer(value)) return value.toString('utf8');
    return undefined;
  };
  const deviceId = field(LANCAM_TXT_KEYS.deviceId);
  const productId = field(LANCAM_TXT_KEYS.productId);
  const friendlyName = field(LANCAM_TXT_KEYS.friendlyName);
  const fingerprint = field(LANCAM_TXT_KEYS.fingerprint);
  const protocolVersion = field(LANCAM_TXT_KEYS.protocolVersion);
  if (deviceId === undefined || productId === undefined || friendlyName === undefined || fingerprint === undefined || protocolVersion === undefined) return undefined;
  const txt = { deviceId, productId, friendlyName, fingerprint, protocolVersion };
  return lancamTxtProblem(txt) === undefined ? normalizeLancamTxt(txt) : undefined;
}

/**
 * DNS-SD instance name "<friendly name> (<device id>)", at most 63 UTF-8 bytes: the friendly
 * name is cut at a character boundary, the device id is always kept whole (it is what makes
 * the name unique). Dots become '-' as bonjour-service would do anyway, so the name we report
 * is the one on the wire. Note: DNS compares names case-insensitively, so device ids that
 * differ only in letter case would collide.
 */
export function lancamInstanceName(friendlyName: string, deviceId: string): string {
  if (!LANCAM_ID_RE.test(deviceId)) throw new TypeError('invalid deviceId');
  const suffix = ` (${deviceId})`;
  const budget = DNS_LABEL_MAX_BYTES - Buffer.byteLength(suffix, 'utf8');
  const name = truncateUtf8(normalizeFriendlyName(friendlyName).replace(/\./g, '-'), budget).trimEnd();
  return name === '' ? `(${deviceId})` : `${name}${suffix}`;
}
