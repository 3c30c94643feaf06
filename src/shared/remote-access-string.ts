/**
 * A remote-access string hands one user's relay credentials to their client, as text or QR:
 *   lancam-remote:d=<deviceId>,fp=<camera fingerprint>,kid=<key id>,sec=<secret>[,relay=<url>][,rfp=<relay fingerprint>]
 * Values are percent-encoded (the relay URL may contain anything). The secret signs signaling
 * through the relay (HS256); the fingerprint pins the camera, as in a pairing string.
 */
import { FINGERPRINT_RE } from './fingerprint';

export interface RemoteAccessGrant {
  deviceId: string;
  fingerprint: string;
  kid: string;
  /** 32 bytes, base64url. */
  secret: string;
  relay?: string;
  relayFingerprint?: string;
}

export const REMOTE_ACCESS_PREFIX = 'lancam-remote:';

export class RemoteAccessStringError extends Error {
  override name = 'RemoteAccessStringError';
}

export function formatRemoteAccess(grant: RemoteAccessGrant): string {
  const parts: [string, string | undefined][] = [
    ['d', grant.deviceId],
    ['fp', grant.fingerprint],
    ['kid', grant.kid],
    ['sec', grant.secret],
    ['relay', grant.relay],
    ['rfp', grant.relayFingerprint],
  ];
  return REMOTE_ACCESS_PREFIX + parts.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${encodeURIComponent(v!)}`).join(',');
}

export function parseRemoteAccess(text: string): RemoteAccessGrant {
  const trimmed = text.trim();
  if (!trimmed.startsWith(REMOTE_ACCESS_PREFIX)) throw new RemoteAccessStringError(`a remote-access string starts with "${REMOTE_ACCESS_PREFIX}"`);
  if (trimmed.length > 2048) throw new RemoteAccessStringError('the remote-access string is too long');
  const values = new Map<string, string>();
  for (const part of trimmed.slice(REMOTE_ACCESS_PREFIX.length).split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new RemoteAccessStringError(`"${part}" is not key=value`);
    const key = part.slice(0, eq);
    if (values.has(key)) throw new RemoteAccessStringError(`"${key}" appears twice`);
    let value: string;
    try {
      value = decodeURIComponent(part.slice(eq + 1));
    } catch {
      throw new RemoteAccessStringError(`the value of "${key}" is not percent-encoded correctly`);
    }
    values.set(key, value);
  }
  const need = (key: string, re: RegExp, what: string) => {
    const v = values.get(key);
    if (v === undefined) throw new RemoteAccessStringError(`the remote-access string has no ${key}= (${what})`);
    if (!re.test(v)) throw new RemoteAccessStringError(`${key}= is not ${what}`);
    return v;
  };
  const grant: RemoteAccessGrant = {
    deviceId: need('d', /^[A-Za-z0-9_.-]{1,64}$/, 'a device id'),
    fingerprint: need('fp', FINGERPRINT_RE, 'a 64-hex fingerprint'),
    kid: need('kid', /^[A-Za-z0-9_-]{16,64}$/, 'a key id'),
    secret: need('sec', /^[A-Za-z0-9_-]{43}$/, 'a 32-byte base64url secret'),
  };
  const relay = values.get('relay');
  if (relay !== undefined) {
    if (!/^wss?:\/\/[^\s]+$/.test(relay)) throw new RemoteAccessStringError('relay= is not a ws:// or wss:// URL');
    grant.relay = relay;
  }
  const rfp = values.get('rfp');
  if (rfp !== undefined) {
    if (!FINGERPRINT_RE.test(rfp)) throw new RemoteAccessStringError('rfp= is not a 64-hex fingerprint');
    grant.relayFingerprint = rfp;
  }
  return grant;
}
