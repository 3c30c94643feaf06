/**
 * Access control on a paired camera: typed wrappers over the IAM API (src/shared/protocol/
 * iam-api.ts), for the CLI and the desktop app. Every request body is checked with the contract's
 * schema before it is sent, and every answer before it is believed.
 */
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { formatPairingString } from '../shared/pairing-string';
import {
  createUserBody,
  displayNameSchema,
  fingerprintNameSchema,
  fingerprintSchema,
  friendlyNameBodySchema,
  iamSettingsViewSchema,
  iamUserViewSchema,
  pairingRecordSchema,
  passwordSchema,
  roleIdSchema,
  SETTINGS_KEYS,
  usernameSchema,
  type IamSettingsView,
  type IamUserView,
  type PairingRecord,
  type SettingsKey,
} from '../shared/protocol/iam-api';
import { CompanionError } from './errors';
import type { DeviceSession } from './device-session';

/** A user as the CLI and the desktop show it. Absent values are omitted. */
export interface AclUser {
  username: string;
  role?: string;
  displayName?: string;
  fingerprints: { fingerprint: string; name?: string; addedAt?: string }[];
  /** lancam extension: a video stream of this user's is open now. */
  watchingNow?: boolean;
  /** lancam extension: when this user was last connected. */
  lastSeenAt?: string;
}

export interface Invitation {
  username: string;
  role: string;
  /** The one-time invite password (also inside the pairing string). */
  password: string;
  /** `p=…,d=…,u=…,pwd=…,fp=…` */
  pairingString: string;
}

/** Characters of generated passwords: no look-alikes (0/O, 1/l/I), no `,` or `=`. */
export const PASSWORD_ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export const INVITE_PASSWORD_LENGTH = 16;

/** A random password from PASSWORD_ALPHABET (about 93 bits for 16 characters). */
export function randomPassword(length = INVITE_PASSWORD_LENGTH): string {
  let out = '';
  for (let i = 0; i < length; i++) out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return out;
}

export function toAclUser(view: IamUserView): AclUser {
  return {
    username: view.Username,
    ...(view.Role !== undefined ? { role: view.Role } : {}),
    ...(view.DisplayName !== undefined && view.DisplayName !== '' ? { displayName: view.DisplayName } : {}),
    fingerprints: view.Fingerprints.map((f) => {
      const added = view.Lancam?.KeysAdded[f.Fingerprint];
      return { fingerprint: f.Fingerprint, ...(f.Name !== undefined && f.Name !== '' ? { name: f.Name } : {}), ...(added ? { addedAt: added } : {}) };
    }),
    // lancam's presence extension, when the camera reports it.
    ...(view.Lancam ? { watchingNow: view.Lancam.WatchingNow, ...(view.Lancam.LastSeen ? { lastSeenAt: view.Lancam.LastSeen } : {}) } : {}),
  };
}

const usersListSchema = z.array(z.string().max(64)).max(10_000);
const rolesListSchema = z.array(z.string().max(64)).max(10_000);

function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new CompanionError('usage', `${what}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

const userPath = (username: string) => `/iam/users/${encodeURIComponent(check(usernameSchema, username, 'username'))}`;

/** Every user with role, display name and key fingerprints (GET /iam/users, then each user). */
export async function listUsers(session: DeviceSession): Promise<AclUser[]> {
  const names = await session.call('GET', '/iam/users', undefined, usersListSchema);
  const users: AclUser[] = [];
  for (const name of names) {
    try {
      users.push(toAclUser(await getUserView(session, name)));
    } catch (err) {
      // Deleted between the two requests.
      if (err instanceof CompanionError && err.status === 404) continue;
      throw err;
    }
  }
  return users;
}

export function getUserView(session: DeviceSession, username: string): Promise<IamUserView> {
  return session.call('GET', userPath(username), undefined, iamUserViewSchema);
}

export async function getUser(session: DeviceSession, username: string): Promise<AclUser> {
  return toAclUser(await getUserView(session, username));
}

/** The user this client is (GET /iam/me). */
export async function getMe(session: DeviceSession): Promise<AclUser> {
  return toAclUser(await session.call('GET', '/iam/me', undefined, iamUserViewSchema));
}

export async function createUser(session: DeviceSession, username: string): Promise<AclUser> {
  const body = check(createUserBody, { Username: username }, 'username');
  return toAclUser(await session.call('POST', '/iam/users', body, iamUserViewSchema));
}

export async function deleteUser(session: DeviceSession, username: string): Promise<void> {
  await session.call('DELETE', userPath(username));
}

/** The pairings the camera made since it started, oldest first (administrators; 403 otherwise). */
export async function recentPairings(session: DeviceSession): Promise<PairingRecord[]> {
  return session.call('GET', '/iam/pairing/recent', undefined, z.array(pairingRecordSchema));
}

/**
 * Undoes the camera's most recent pairing, only while it is still the pairing of `fingerprint`: a
 * pairing made since (the one the person meant, perhaps) is not removed in its place.
 */
export async function undoLastPairing(session: DeviceSession, fingerprint: string): Promise<PairingRecord> {
  const last = (await recentPairings(session)).at(-1);
  if (!last) throw new CompanionError(404, 'the camera made no pairing since it started (restarted?); remove the user under Users instead');
  if (last.Fingerprint !== fingerprint) throw new CompanionError(409, `another pairing ("${last.Username}") happened since; nothing was undone. Remove the user or key under Users instead`);
  // The camera checks it again as it undoes (a pairing in between gets 409, not removed).
  await session.call('DELETE', '/iam/pairing/recent/last', { Fingerprint: fingerprint });
  return last;
}

/** Sets a user's role; a 404 says which of the two does not exist. */
export async function setRole(session: DeviceSession, username: string, role: string): Promise<void> {
  try {
    await session.call('PUT', `${userPath(username)}/role`, check(roleIdSchema, role, 'role'));
  } catch (err) {
    if (!(err instanceof CompanionError) || err.status !== 404) throw err;
    const roles = await listRoles(session).catch(() => undefined);
    if (roles && !roles.includes(role)) throw new CompanionError(404, `no role "${role}" on this camera (roles: ${roles.join(', ') || 'none'})`);
    if (roles) throw new CompanionError(404, `no user "${username}" on this camera`);
    throw new CompanionError(404, `no user "${username}" or no role "${role}" on this camera`);
  }
}

export async function setDisplayName(session: DeviceSession, username: string, displayName: string): Promise<void> {
  await session.call('PUT', `${userPath(username)}/display-name`, check(displayNameSchema, displayName, 'display name'));
}

/** Sets a user's pairing (invite) password; "" removes it (sent as null, as Nabto clears it). */
export async function setPassword(session: DeviceSession, username: string, password: string): Promise<void> {
  await session.call('PUT', `${userPath(username)}/password`, password === '' ? null : check(passwordSchema, password, 'password'));
}

export async function addFingerprint(session: DeviceSession, username: string, fingerprint: string, name?: string): Promise<void> {
  const fp = check(fingerprintSchema, fingerprint, 'fingerprint');
  const body = name === undefined ? {} : { FingerprintName: check(fingerprintNameSchema, name, 'key name') };
  await session.call('PUT', `${userPath(username)}/fingerprints/${fp}`, body);
}

export async function removeFingerprint(session: DeviceSession, username: string, fingerprint: string): Promise<void> {
  const fp = check(fingerprintSchema, fingerprint, 'fingerprint');
  await session.call('DELETE', `${userPath(username)}/fingerprints/${fp}`);
}

export function listRoles(session: DeviceSession): Promise<string[]> {
  return session.call('GET', '/iam/roles', undefined, rolesListSchema);
}

export function getSettings(session: DeviceSession): Promise<IamSettingsView> {
  return session.call('GET', '/iam/settings', undefined, iamSettingsViewSchema);
}

export type SettingValue<K extends SettingsKey> = z.infer<(typeof SETTINGS_KEYS)[K]>;

export async function setSetting<K extends SettingsKey>(session: DeviceSession, key: K, value: SettingValue<K>): Promise<void> {
  if (!Object.hasOwn(SETTINGS_KEYS, key)) throw new CompanionError('usage', `unknown setting "${String(key)}" (one of ${Object.keys(SETTINGS_KEYS).join(', ')})`);
  const schema = SETTINGS_KEYS[key] as z.ZodType<unknown>;
  await session.call('PUT', `/iam/settings/${key}`, check(schema, value, key));
}

/** Sets the camera's friendly name. */
export async function renameDevice(session: DeviceSession, name: string): Promise<void> {
  await session.call('PUT', '/iam/device-info/friendly-name', check(friendlyNameBodySchema, name, 'name'));
}

/**
 * Creates a user with a role and a fresh one-time password, and returns the pairing string to
 * give them (with the camera's fingerprint, so their client can check the key). If a step after
 * the creation fails, the half-created user is deleted again.
 */
export async function inviteUser(session: DeviceSession, username: string, role: string): Promise<Invitation> {
  check(usernameSchema, username, 'username');
  check(roleIdSchema, role, 'role');
  const info = await session.deviceInfo();
  await createUser(session, username);
  const password = randomPassword();
  try {
    await setRole(session, username, role);
    await setPassword(session, username, password);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const status = err instanceof CompanionError ? err.status : 'error';
    try {
      await deleteUser(session, username);
    } catch (cleanupErr) {
      const cleanupReason = cleanupErr instanceof Error ? cleanupErr.message : String(cleanupErr);
      throw new CompanionError(status, `${reason}; and removing the half-created user "${username}" failed too (${cleanupReason}): remove it with "lancam user rm"`);
    }
    throw err;
  }
  return {
    username,
    role,
    password,
    pairingString: formatPairingString({ productId: info.ProductId, deviceId: info.DeviceId, username, password, fingerprint: session.deviceFingerprint }),
  };
}
