/**
 * The pairing client: turns an unknown camera into a known one, in any of the four Nabto Edge
 * pairing modes, and pins its key in the known-device store. Used by the CLI and the desktop
 * app; it prints nothing (progress goes through `onStep`).
 *
 *   local-initial    POST /iam/pairing/local-initial     the first user, from the LAN, once
 *   local-open       POST /iam/pairing/local-open        while the camera's pairing window is open
 *   password-open    SPAKE2 with the open pairing password, then POST /iam/pairing/password-open
 *   password-invite  SPAKE2 as the invited user, then POST /iam/pairing/password-invite
 *
 * Password authentication binds both TLS key fingerprints and the TLS exporter of this very
 * connection into SPAKE2's confirmation, so a wrong password and a man in the middle look the
 * same: the device's confirmation fails and nothing further is sent.
 */
import os from 'node:os';
import type { ChannelLimits } from '../net/channel/limits';
import { Spake2Client, Spake2ConfirmationError, Spake2Error } from '../net/pairing/spake2';
import { groupFingerprint } from '../shared/fingerprint';
import { isValidFingerprintName, isValidPassword, isValidUsername, IAM_LIMITS } from '../shared/iam/schema';
import { parsePairingString, PairingStringError, type PairingString } from '../shared/pairing-string';
import { PAIRING_MODES, type PairingMode } from '../shared/protocol/device-api';
import {
  iamUserViewSchema,
  PASSWORD_AUTH_EXPORTER_LABEL,
  PASSWORD_AUTH_EXPORTER_LENGTH,
  passwordAuthStartAnswer,
  type IamUserView,
} from '../shared/protocol/iam-api';
import { Status } from '../shared/protocol/status';
import type { Method } from '../shared/protocol/frames';
import type { z } from 'zod';
import { DeviceSession, type DeviceTarget } from './device-session';
import type { Discovery } from './discovery';
import { CompanionError } from './errors';
import type { ClientHome } from './home';
import type { KnownDeviceStore } from './known-devices';

export type PairModeOption = 'auto' | PairingMode;
export const PAIR_MODE_OPTIONS: readonly PairModeOption[] = ['auto', ...PAIRING_MODES];

export const WRONG_PASSWORD_MESSAGE = 'wrong password (or someone is intercepting the connection)';
export const THROTTLED_MESSAGE = 'too many attempts; wait and try again';
export const WINDOW_CLOSED_MESSAGE = 'the camera is not open for pairing: press the pairing button on the camera (or run `lancam-device pair-window` on it) and try again';

export interface PairOptions {
  home: ClientHome;
  store: KnownDeviceStore;
  /** Where the camera is; may be omitted when the pairing string names it (d=). */
  target?: DeviceTarget | undefined;
  discovery?: Discovery | undefined;
  /** Local source address. */
  bind?: string | undefined;
  discoveryTimeoutMs?: number | undefined;
  limits?: Partial<ChannelLimits> | undefined;
  /** Default 'auto' (see chooseMode). */
  mode?: PairModeOption | undefined;
  /** The new user's name (local-open, password-open) or the invited user (password-invite). */
  username?: string | undefined;
  /** The invite password (password-invite) or the camera's open pairing password (password-open). */
  password?: string | undefined;
  /** `p=…,d=…,u=…,pwd=…,fp=…`, as text or parsed. */
  pairingString?: string | PairingString | undefined;
  /** The name this client's key gets on the camera; default `<login>@<hostname>`. */
  fingerprintName?: string | undefined;
  /** Progress, one short human sentence per step. */
  onStep?: ((step: string) => void) | undefined;
}

export interface PairResult {
  deviceId: string;
  productId: string;
  friendlyName: string;
  /** The camera's key fingerprint, now pinned. */
  fingerprint: string;
  username: string;
  role: string | undefined;
  /** The mode used; undefined when the camera already knew this client. */
  mode: PairingMode | undefined;
  /** True when the camera already knew this client's key (nothing was paired). */
  alreadyPaired: boolean;
  address: { host: string; port: number };
}

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

export interface ModeChoiceInput {
  /** Modes the camera offers this connection (GET /iam/pairing). */
  offered: readonly PairingMode[];
  /** The pairing string carries a password (pwd=). */
  pairingStringPassword?: boolean;
  /** The pairing string names an invited user (u=). */
  pairingStringUser?: boolean;
  /** A password was given separately (--password). */
  password?: boolean;
  /** A username was given separately (--username). */
  username?: boolean;
}

/**
 * `--mode auto`: with a pairing string that carries a password, password invite when it names a
 * user, else password open; otherwise local initial, else local open, else password open when a
 * password was given. Throws CompanionError('no-pairing-mode') naming what the camera offers.
 */
export function chooseMode(input: ModeChoiceInput): PairingMode {
  const offered = new Set(input.offered);
  const offers = input.offered.length > 0 ? `it offers: ${input.offered.join(', ')}` : 'it offers no pairing mode to you now';
  if (input.pairingStringPassword) {
    if (input.pairingStringUser) {
      if (offered.has('password-invite')) return 'password-invite';
      throw new CompanionError('no-pairing-mode', `this pairing string is an invitation, but the camera does not accept invitations now (${offers})`);
    }
    if (offered.has('password-open')) return 'password-open';
    throw new CompanionError('no-pairing-mode', `this pairing string is for password pairing, but the camera does not offer it now (${offers})`);
  }
  if (offered.has('local-initial')) return 'local-initial';
  if (offered.has('local-open')) return 'local-open';
  if (input.password) {
    if (offered.has('password-open')) return 'password-open';
    if (input.username && offered.has('password-invite')) return 'password-invite';
  }
  const hints: string[] = [];
  if (offered.has('password-open') && !input.password) hints.push('give the camera\'s open pairing password with --password');
  if (offered.has('password-invite')) hints.push('use the pairing string from your invitation (--pairing-string)');
  if (input.offered.length === 0) {
    hints.push('ask the camera\'s owner to invite you (lancam user invite), or open its pairing window (press its pairing button or run `lancam-device pair-window`)');
  }
  throw new CompanionError('no-pairing-mode', `cannot choose how to pair: ${offers}${hints.length > 0 ? `; ${hints.join('; or ')}` : ''}`);
}

/**
 * The default name of this client's key on the camera: `<login>@<hostname>` (so keys from
 * several people and machines can be told apart), at most 64 bytes.
 */
export function defaultFingerprintName(hostname: string = os.hostname(), login: string | null = loginName() ?? null): string {
  return truncateUtf8(login ? `${login}@${hostname}` : `lancam on ${hostname}`, IAM_LIMITS.fingerprintNameMaxBytes);
}

function loginName(): string | undefined {
  try {
    return os.userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

/** A username suggestion from the login name (a-z, 0-9, _, . and -), else "user". */
export function suggestUsername(login?: string): string {
  let name = login;
  if (name === undefined) {
    try {
      name = os.userInfo().username;
    } catch {
      name = '';
    }
  }
  const clean = name.toLowerCase().replace(/[^a-z0-9_.-]/g, '').slice(0, IAM_LIMITS.usernameMaxLength);
  return isValidUsername(clean) ? clean : 'user';
}

export function truncateUtf8(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = encoder.encode(ch).length;
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** Bytes to unpadded base64url (RFC 4648 section 5), as the pairing API carries them. */
export function toBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Unpadded base64url to bytes; throws on anything but the canonical encoding. */
export function fromBase64url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new TypeError('not base64url');
  const bytes = Buffer.from(text, 'base64url');
  // Rejects non-zero padding bits, so one value has exactly one encoding.
  if (bytes.toString('base64url') !== text) throw new TypeError('not canonical base64url');
  return new Uint8Array(bytes);
}

// ---------------------------------------------------------------------------------------------
// The flow
// ---------------------------------------------------------------------------------------------

/** Pairs with a camera and stores it; see the module comment. */
export async function pair(options: PairOptions): Promise<PairResult> {
  const step = options.onStep ?? (() => undefined);
  const pairing = readPairingString(options.pairingString);
  const username = agree('username', options.username, pairing?.username);
  const password = agree('password', options.password, pairing?.password);
  const requested = options.mode ?? 'auto';
  if (!PAIR_MODE_OPTIONS.includes(requested)) throw new CompanionError('usage', `unknown pairing mode "${String(requested)}" (one of ${PAIR_MODE_OPTIONS.join(', ')})`);
  if (username !== undefined && !isValidUsername(username)) throw new CompanionError('usage', 'a username is 1-64 characters of a-z, 0-9, _, . and -');
  if (password !== undefined && !isValidPassword(password)) throw new CompanionError('usage', `a pairing password is ${IAM_LIMITS.passwordMinBytes}-${IAM_LIMITS.passwordMaxBytes} bytes`);
  const fingerprintName = options.fingerprintName ?? defaultFingerprintName();
  if (!isValidFingerprintName(fingerprintName)) throw new CompanionError('usage', `the key name is at most ${IAM_LIMITS.fingerprintNameMaxBytes} bytes`);

  const target: DeviceTarget | undefined = options.target ?? (pairing ? { nameOrId: pairing.deviceId } : undefined);
  if (!target) throw new CompanionError('usage', 'which camera? give a device id, a name, --address host:port, or a pairing string');

  step('address' in target ? `connecting to ${target.address.host}:${target.address.port}` : `looking for ${target.nameOrId}`);
  const session = await DeviceSession.open({
    home: options.home,
    store: options.store,
    discovery: options.discovery,
    target,
    bind: options.bind,
    expectFingerprint: pairing?.fingerprint,
    ...(options.discoveryTimeoutMs !== undefined ? { discoveryTimeoutMs: options.discoveryTimeoutMs } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  try {
    const info = await session.deviceInfo();
    step(`connected to ${info.FriendlyName || info.DeviceId} (${info.DeviceId}), key ${groupFingerprint(session.deviceFingerprint)}`);
    if (pairing && pairing.deviceId !== info.DeviceId) {
      throw new CompanionError('device-mismatch', `the pairing string is for device ${pairing.deviceId}, but this camera is ${info.DeviceId}; nothing was sent`);
    }
    if (pairing?.productId !== undefined && pairing.productId !== info.ProductId) {
      throw new CompanionError('device-mismatch', `the pairing string is for product ${pairing.productId}, but this camera is ${info.ProductId}; nothing was sent`);
    }

    const store = async (me: IamUserView, mode: PairingMode | undefined): Promise<PairResult> => {
      const now = new Date().toISOString();
      await options.store.put({
        deviceId: info.DeviceId,
        productId: info.ProductId,
        fingerprint: session.deviceFingerprint,
        friendlyName: info.FriendlyName,
        username: me.Username,
        ...(me.Role !== undefined ? { role: me.Role } : {}),
        lastAddress: session.address,
        pairedAt: (mode === undefined ? session.known?.pairedAt : undefined) ?? now,
        lastSeenAt: now,
      });
      return {
        deviceId: info.DeviceId,
        productId: info.ProductId,
        friendlyName: info.FriendlyName,
        fingerprint: session.deviceFingerprint,
        username: me.Username,
        role: me.Role,
        mode,
        alreadyPaired: mode === undefined,
        address: session.address,
      };
    };

    // Does the camera know us already?
    const passwordBased = requested === 'password-open' || requested === 'password-invite' || (requested === 'auto' && password !== undefined);
    const already = await getMeIfPaired(session);
    // Without a pinned or given key, a password pairing is what authenticates the camera: we
    // do not pin its key on its own word that it knows us.
    if (already && (session.known || pairing?.fingerprint !== undefined || !passwordBased)) {
      step('this camera already knows this client');
      return await store(already, undefined);
    }

    let mode: PairingMode;
    if (requested === 'auto') {
      step('asking the camera how it can be paired');
      const offered = (await session.pairingInfo()).Modes;
      mode = chooseMode({
        offered,
        pairingStringPassword: pairing?.password !== undefined,
        pairingStringUser: pairing?.username !== undefined,
        password: password !== undefined,
        username: username !== undefined,
      });
    } else {
      mode = requested;
    }

    switch (mode) {
      case 'local-initial':
        step('pairing as the camera\'s first user (local initial pairing)');
        await call(session, 'POST', '/iam/pairing/local-initial', { FingerprintName: fingerprintName }, undefined, {
          [Status.NotFound]: 'local initial pairing is switched off on this camera (or it has no initial user to pair as)',
          [Status.Forbidden]: 'the camera refuses local initial pairing (this client is not on the camera\'s local network, or its IAM does not allow it)',
          [Status.Conflict]: 'this camera already has an owner; ask them to invite you (lancam user invite)',
        });
        break;
      case 'local-open': {
        const name = username ?? suggestUsername();
        step(`pairing as "${name}" (local open pairing)`);
        await call(session, 'POST', '/iam/pairing/local-open', { Username: name, FingerprintName: fingerprintName }, undefined, {
          [Status.NotFound]: 'local open pairing is switched off on this camera',
          // The camera's own words when the window was contested (overlap) or used by another key.
          [Status.Forbidden]: (device) => (/was used/.test(device) ? `the camera refused: ${device}` : WINDOW_CLOSED_MESSAGE),
          [Status.Conflict]: (device) => (/more than one client/.test(device) ? `the camera refused: ${device}` : `that username is taken: "${name}"; choose another with --username`),
        });
        break;
      }
      case 'password-open': {
        if (password === undefined) throw new CompanionError('usage', 'password open pairing needs the camera\'s open pairing password (--password or a pairing string with pwd=)');
        const name = username ?? suggestUsername();
        step('checking the password (SPAKE2)');
        await passwordAuth(session, options.home.identity.fingerprint, '', password);
        step(`pairing as "${name}" (password open pairing)`);
        await call(session, 'POST', '/iam/pairing/password-open', { Username: name, FingerprintName: fingerprintName }, undefined, {
          [Status.Unauthorized]: WRONG_PASSWORD_MESSAGE,
          [Status.NotFound]: 'password open pairing is switched off on this camera',
          [Status.Forbidden]: 'the camera does not allow password open pairing now',
          [Status.Conflict]: `that username is taken: "${name}"; choose another with --username`,
        });
        break;
      }
      case 'password-invite': {
        if (username === undefined || password === undefined) {
          throw new CompanionError('usage', 'invite pairing needs the invited username and password (a pairing string with u= and pwd=, or --username and --password)');
        }
        step(`checking the invitation for "${username}" (SPAKE2)`);
        await passwordAuth(session, options.home.identity.fingerprint, username, password);
        step(`pairing as "${username}" (password invite pairing)`);
        await call(session, 'POST', '/iam/pairing/password-invite', { FingerprintName: fingerprintName }, undefined, {
          [Status.Unauthorized]: WRONG_PASSWORD_MESSAGE,
          [Status.NotFound]: 'invite pairing is switched off on this camera',
          [Status.Forbidden]: 'the camera does not allow invite pairing now',
        });
        break;
      }
    }

    const me = await call(session, 'GET', '/iam/me', undefined, iamUserViewSchema, {});
    step(`paired as "${me.Username}"${me.Role ? ` (${me.Role})` : ''}; saved the camera's key`);
    return await store(me, mode);
  } finally {
    session.close();
  }
}

/**
 * SPAKE2 over the channel: start, check the device's confirmation, send ours. `username` is the
 * invited user, or "" for the camera's open pairing password.
 */
async function passwordAuth(session: DeviceSession, ownFingerprint: string, username: string, password: string): Promise<void> {
  const aad = session.channel.exportKeyingMaterial(PASSWORD_AUTH_EXPORTER_LENGTH, PASSWORD_AUTH_EXPORTER_LABEL);
  const client = Spake2Client.start({ password, idA: ownFingerprint, idB: session.deviceFingerprint, aad });
  const answer = await call(session, 'POST', '/iam/pairing/password-auth/start', { Username: username, T: toBase64url(client.message) }, passwordAuthStartAnswer, {
    [Status.Unauthorized]: WRONG_PASSWORD_MESSAGE,
    [Status.NotFound]: username === '' ? 'password open pairing is switched off on this camera' : 'invite pairing is switched off on this camera',
    [Status.Forbidden]: 'the camera does not allow password pairing now',
  });
  let cA: Uint8Array;
  try {
    ({ cA } = client.finish({ pB: fromBase64url(answer.S), cB: fromBase64url(answer.Kc) }));
  } catch (err) {
    if (err instanceof Spake2ConfirmationError) throw new CompanionError(Status.Unauthorized, WRONG_PASSWORD_MESSAGE);
    if (err instanceof Spake2Error || err instanceof TypeError) throw new CompanionError('bad-response', `the camera sent an invalid password-authentication answer (${err.message})`);
    throw err;
  }
  await call(session, 'POST', '/iam/pairing/password-auth/finish', { Kc: toBase64url(cA) }, undefined, {
    [Status.Unauthorized]: WRONG_PASSWORD_MESSAGE,
  });
}

/** GET /iam/me: the user this client is on the camera, or undefined when it is not paired. */
async function getMeIfPaired(session: DeviceSession): Promise<IamUserView | undefined> {
  try {
    return await session.call('GET', '/iam/me', undefined, iamUserViewSchema);
  } catch (err) {
    if (err instanceof CompanionError && (err.status === Status.NotFound || err.status === Status.Forbidden || err.status === Status.Unauthorized)) return undefined;
    throw err;
  }
}

/** A call whose failures get pairing-specific messages (429 is always "too many attempts"). */
async function call<T>(session: DeviceSession, method: Method, path: string, body: unknown, schema: z.ZodType<T> | undefined, messages: Partial<Record<number, string | ((device: string) => string)>>): Promise<T> {
  try {
    return await session.call(method, path, body, schema);
  } catch (err) {
    if (err instanceof CompanionError && typeof err.status === 'number') {
      const entry = messages[err.status];
      const message = err.status === Status.TooManyRequests ? THROTTLED_MESSAGE : typeof entry === 'function' ? entry(err.message) : entry;
      if (message) throw new CompanionError(err.status, message);
    }
    throw err;
  }
}

function readPairingString(value: string | PairingString | undefined): PairingString | undefined {
  if (value === undefined || typeof value !== 'string') return value;
  try {
    return parsePairingString(value);
  } catch (err) {
    if (err instanceof PairingStringError) throw new CompanionError('bad-pairing-string', err.message);
    throw err;
  }
}

/** A value that may come from a flag and from the pairing string: they must agree. */
function agree(what: 'username' | 'password', flag: string | undefined, fromString: string | undefined): string | undefined {
  if (flag !== undefined && fromString !== undefined && flag !== fromString) {
    throw new CompanionError('usage', `the --${what} given differs from the one in the pairing string; give one of them`);
  }
  return flag ?? fromString;
}
