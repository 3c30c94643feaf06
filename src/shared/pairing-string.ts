/**
 * Pairing strings: what a camera owner hands to someone (as text or as a QR code) so they can
 * pair. Nabto Edge's form, `p=<productId>,d=<deviceId>,u=<user>,pwd=<password>,sct=<token>`,
 * extended with `fp=<device key fingerprint>` (64 hex characters) so that the client refuses a
 * device with any other key before it sends anything.
 *
 * Format: comma-separated `key=value` pairs, read as Nabto's apps write them: spaces around a
 * part are ignored (`p=pr-1, d=de-1`), an empty value counts as absent (`u=`), and when a key
 * appears twice the later value wins. The URL form that Nabto's WebRTC demo prints is read too:
 * `https://…/?p=…&d=…&u=…&pwd=…&sct=…&fp=…` (percent-encoded values, which may then hold `,` and
 * `=`). In the comma form values cannot contain `,` or `=` (there is no escaping in Nabto's
 * format, so such a value is refused rather than mangled). Unknown keys are ignored, so strings
 * from newer versions still parse. `d` is required; every other key is optional. `fp=` is
 * lancam's extension. formatPairingString writes the comma form, without spaces.
 */
import { FINGERPRINT_RE } from './fingerprint';
import { isValidPassword, isValidUsername, utf8Length } from './iam/schema';

export interface PairingString {
  /** `p=`: Nabto product id. */
  productId?: string | undefined;
  /** `d=`: device id (required). */
  deviceId: string;
  /** `u=`: the invited username (password invite pairing). */
  username?: string | undefined;
  /** `pwd=`: the pairing password (the user's invite password, or the open pairing password). */
  password?: string | undefined;
  /** `sct=`: Nabto server connect token (kept for compatibility; lancam does not use it). */
  serverConnectToken?: string | undefined;
  /** `fp=`: the device's key fingerprint, 64 lowercase hex characters. */
  fingerprint?: string | undefined;
}

export class PairingStringError extends Error {
  override name = 'PairingStringError';
}

/** Keys in the order they are written, and the field each fills. */
const FIELDS = [
  ['p', 'productId'],
  ['d', 'deviceId'],
  ['u', 'username'],
  ['pwd', 'password'],
  ['sct', 'serverConnectToken'],
  ['fp', 'fingerprint'],
] as const satisfies readonly (readonly [string, keyof PairingString])[];

type Key = (typeof FIELDS)[number][0];
const FIELD_OF = new Map<string, keyof PairingString>(FIELDS);

const ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
/** Longest pairing string accepted (a QR code holds a few kilobytes; ours are ~150 bytes). */
export const PAIRING_STRING_MAX_LENGTH = 1024;

/** Checks one value for its key; returns the canonical value or throws. */
function checkValue(key: Key, value: string, commaForm = true): string {
  if (value.length === 0) throw new PairingStringError(`pairing string: ${key}= is empty`);
  if (commaForm && (value.includes(',') || value.includes('='))) throw new PairingStringError(`pairing string: the value of ${key}= contains "," or "=", which the format cannot carry`);
  switch (key) {
    case 'p':
    case 'd':
      if (!ID_RE.test(value)) throw new PairingStringError(`pairing string: ${key}= must be 1-64 characters of A-Z, a-z, 0-9, _, . and -`);
      return value;
    case 'u':
      if (!isValidUsername(value)) throw new PairingStringError('pairing string: u= must be a username of 1-64 characters of a-z, 0-9, _, . and -');
      return value;
    case 'pwd':
      if (!isValidPassword(value)) throw new PairingStringError('pairing string: pwd= must be a password of 4-64 bytes');
      return value;
    case 'sct':
      if (utf8Length(value) > 64) throw new PairingStringError('pairing string: sct= must be at most 64 bytes');
      return value;
    case 'fp': {
      const fp = value.toLowerCase();
      if (!FINGERPRINT_RE.test(fp)) throw new PairingStringError('pairing string: fp= must be a key fingerprint of 64 hex characters');
      return fp;
    }
  }
}

/** Parses a pairing string; throws PairingStringError with a clear reason. */
export function parsePairingString(text: string): PairingString {
  const trimmed = text.trim();
  if (trimmed.length === 0) throw new PairingStringError('pairing string is empty');
  if (trimmed.length > PAIRING_STRING_MAX_LENGTH) throw new PairingStringError(`pairing string is longer than ${PAIRING_STRING_MAX_LENGTH} characters`);
  if ([...trimmed].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    throw new PairingStringError('pairing string contains control characters');
  }
  const pairs = isUrlForm(trimmed) ? urlPairs(trimmed) : commaPairs(trimmed);
  const commaForm = !isUrlForm(trimmed);
  const result: Partial<Record<keyof PairingString, string>> = {};
  for (const [key, value] of pairs) {
    const field = FIELD_OF.get(key);
    if (!field) continue; // unknown keys are ignored (forward compatibility)
    // As Nabto's apps: an empty value is no value, and a later duplicate wins.
    if (value === '') delete result[field];
    else result[field] = checkValue(key as Key, value, commaForm);
  }
  if (result.deviceId === undefined) throw new PairingStringError('pairing string has no device id (d=…)');
  return { ...result, deviceId: result.deviceId };
}

/** Writes a pairing string (keys in the order p, d, u, pwd, sct, fp); throws on a value the format cannot carry. */
export function formatPairingString(pairing: PairingString): string {
  const parts: string[] = [];
  for (const [key, field] of FIELDS) {
    const value = pairing[field];
    if (value === undefined) {
      if (key === 'd') throw new PairingStringError('pairing string needs a device id');
      continue;
    }
    parts.push(`${key}=${checkValue(key, value)}`);
  }
  return parts.join(',');
}

/** Nabto's WebRTC demo prints pairing links: `https://host/path?p=…&d=…` (or just `?p=…&d=…`). */
function isUrlForm(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^?]*\?/i.test(text) || text.startsWith('?');
}

function urlPairs(text: string): [string, string][] {
  const query = text.slice(text.indexOf('?') + 1).split('#')[0] ?? '';
  const pairs: [string, string][] = [];
  // A part is never echoed in an error: it may be a piece of the password.
  for (const [index, part] of query.split('&').entries()) {
    if (part.length === 0) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new PairingStringError(`pairing link: part ${index + 1} is not key=value (expected ?p=…&d=…&u=…&pwd=…)`);
    try {
      pairs.push([decodeURIComponent(part.slice(0, eq).replace(/\+/g, ' ')), decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '))]);
    } catch {
      throw new PairingStringError(`pairing link: part ${index + 1} has a broken %-escape`);
    }
  }
  return pairs;
}

function commaPairs(text: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [index, raw] of text.split(',').entries()) {
    const part = raw.trim();
    if (part.length === 0) throw new PairingStringError('pairing string has an empty part (two commas in a row, or one at an end)');
    const eq = part.indexOf('=');
    if (eq < 0) throw new PairingStringError(`pairing string: part ${index + 1} is not key=value (expected p=…,d=…,u=…,pwd=…,fp=…)`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key.length === 0) throw new PairingStringError('pairing string: a part starts with "=" (no key)');
    if (value.includes('=')) throw new PairingStringError(`pairing string: the value of ${key}= contains "=", which the format cannot carry`);
    pairs.push([key, value]);
  }
  return pairs;
}
