/**
 * The IAM and pairing API between client and device: paths (Nabto Edge's), request bodies and
 * answers. Both ends validate with these schemas: the device before anything reaches its state,
 * the client before it believes an answer.
 *
 *   GET    /iam/me                                    205 IamUserView | 404 not paired
 *   GET    /iam/users                                 205 string[]
 *   POST   /iam/users                {Username}       201 IamUserView | 409 exists
 *   GET    /iam/users/{u}                             205 IamUserView | 404
 *   DELETE /iam/users/{u}                             202
 *   PUT    /iam/users/{u}/role       "Role"           204 | 404 no such user or role
 *   PUT    /iam/users/{u}/display-name "Name" | null  204 (null clears)
 *   PUT    /iam/users/{u}/password   "pw" | null | "" 204 (null, or lancam's older "", removes it)
 *   PUT    /iam/users/{u}/username   "newname"        204 | 409
 *   PUT    /iam/users/{u}/fingerprints/{fp} {FingerprintName?}  204 | 409 owned by another user
 *   DELETE /iam/users/{u}/fingerprints/{fp}           202 | 404
 *   PUT    /iam/users/{u}/fingerprint "fp"            204 | 409  (Nabto's legacy: sets the first key)
 *   PUT    /iam/users/{u}/sct        "token"          204        (IAM:SetUserSct)
 *   PUT    /iam/users/{u}/fcm        {Token, ProjectId} 204      (IAM:SetUserFcm)
 *   PUT    /iam/users/{u}/notification-categories ["c"] 204 | 400 unknown category
 *   PUT    /iam/users/{u}/oauth-subject "sub" | null  204        (IAM:SetUserOauthSubject)
 *   POST   /iam/users/{u}/fcm-test                    404 no FCM config | 503 no push service here
 *   GET    /iam/notification-categories               205 string[] (IAM:ListNotificationCategories)
 *   POST   /iam/users/{u}/remote-secrets {Name?}     201 {Kid, Secret, DeviceId, Fingerprint}
 *   DELETE /iam/users/{u}/remote-secrets/{kid}        202 | 404
 *   GET    /iam/roles                                 205 string[]
 *   GET    /iam/settings                              205 IamSettingsView
 *   PUT    /iam/settings/{key}       value            204  (keys: SETTINGS_KEYS)
 *   PUT    /iam/device-info/friendly-name "Name"      204
 *   GET    /iam/pairing                               205 PairingInfo (device-api.ts)
 *   POST   /iam/pairing/local-initial {FingerprintName?}            201 | 403 | 409
 *   POST   /iam/pairing/local-open   {Username, FingerprintName?}   201 | 403 | 409
 *   POST   /iam/pairing/password-auth/start  {Username, T}          201 {S, Kc}    (SPAKE2 pA -> pB, cB)
 *   POST   /iam/pairing/password-auth/finish {Kc}                   204 | 401 | 429
 *   POST   /iam/pairing/password-open   {Username, FingerprintName?} 201 | 401 | 403 | 409
 *   POST   /iam/pairing/password-invite {FingerprintName?}          201 | 401 | 403
 *   GET    /iam/pairing/recent                        205 PairingRecord[] (administrators)
 *   DELETE /iam/pairing/recent/last {Fingerprint}     202 (undo the last pairing, if it is that key) | 400 | 404 | 409
 *
 * Binary values (SPAKE2 points and MACs) are base64url strings.
 */
import { z } from 'zod';
import { lancamUserExtensionSchema } from './lancam-presence';
import { FINGERPRINT_RE } from '../fingerprint';
import { hasControlCharacters } from '../terminal-text';
import { IAM_LIMITS, isValidDisplayName, isValidFingerprintName, isValidFriendlyName, isValidPassword, isValidUsername, utf8Length } from '../iam/schema';

export const usernameSchema = z.string().refine(isValidUsername, 'username must be 1-64 characters of a-z, 0-9, _, . and -');
export const fingerprintSchema = z.string().regex(FINGERPRINT_RE, 'fingerprint must be 64 lowercase hex characters');
const noControl = (what: string) => [(s: string) => !hasControlCharacters(s), `${what} must not contain control characters`] as const;
export const displayNameSchema = z
  .string()
  .refine(isValidDisplayName, `display name must be at most ${IAM_LIMITS.displayNameMaxBytes} bytes`)
  .refine(...noControl('display name'));
export const passwordSchema = z.string().refine(isValidPassword, `password must be ${IAM_LIMITS.passwordMinBytes}-${IAM_LIMITS.passwordMaxBytes} bytes`);
export const friendlyNameBodySchema = z
  .string()
  .min(1, 'friendly name must not be empty')
  .refine(isValidFriendlyName, `friendly name must be at most ${IAM_LIMITS.friendlyNameMaxBytes} bytes`)
  .refine(...noControl('friendly name'));
export const fingerprintNameSchema = z
  .string()
  .refine(isValidFingerprintName, `fingerprint name must be at most ${IAM_LIMITS.fingerprintNameMaxBytes} bytes`)
  .refine(...noControl('key name'));
export const roleIdSchema = z.string().min(1).max(64);

const base64url = (min: number, max: number) =>
  z.string().regex(/^[A-Za-z0-9_-]*$/, 'must be base64url').min(Math.ceil((min * 4) / 3)).max(Math.ceil((max * 4) / 3));

/**
 * A user as Nabto's IAM returns it (nm_iam_coap_handler.c, nm_iam_cbor_encode_user): Username,
 * DisplayName, Role, Fingerprints [{Fingerprint, Name}], the legacy Fingerprint (the last key),
 * Sct, Fcm {Token, ProjectId}, NotificationCategories (always a list), OauthSubject; plus
 * lancam's HasPassword and RemoteSecrets (never a password or a secret).
 */
export const iamUserViewSchema = z.object({
  Username: usernameSchema,
  DisplayName: z.string().optional(),
  Role: z.string().optional(),
  Fingerprints: z.array(z.object({ Fingerprint: fingerprintSchema, Name: z.string().optional() })),
  Fingerprint: fingerprintSchema.optional(),
  Sct: z.string().max(IAM_LIMITS.serverConnectTokenMaxBytes * 4).optional(),
  Fcm: z.object({ Token: z.string().max(4096).optional(), ProjectId: z.string().max(1024).optional() }).optional(),
  NotificationCategories: z.array(z.string().max(256)).max(256).optional(),
  OauthSubject: z.string().max(IAM_LIMITS.oauthSubjectMaxBytes * 4).optional(),
  /** True while the user has a pairing (invite) password set. */
  HasPassword: z.boolean(),
  /** Shared secrets for access through a relay (never the secrets themselves). */
  RemoteSecrets: z.array(z.object({ Kid: z.string(), Name: z.string().optional(), Created: z.string().optional() })).optional(),
  /** lancam extension: presence and key times (src/shared/protocol/lancam-presence.ts). */
  Lancam: lancamUserExtensionSchema.optional(),
});
export type IamUserView = z.infer<typeof iamUserViewSchema>;

export const createUserBody = z.strictObject({ Username: usernameSchema });
/** DELETE /iam/pairing/recent/last: the key the administrator saw (lancam's own route, not Nabto's). */
export const undoLastPairingBody = z.strictObject({ Fingerprint: fingerprintSchema });
export const createRemoteSecretBody = z.strictObject({ Name: fingerprintNameSchema.optional() });
export const remoteSecretIssuedSchema = z.object({ Kid: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/), Secret: z.string().regex(/^[A-Za-z0-9_-]{43}$/), DeviceId: z.string(), Fingerprint: fingerprintSchema });
export type RemoteSecretIssued = z.infer<typeof remoteSecretIssuedSchema>;
export const kidSchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'not a key id');
/** Nabto's body is {FingerprintName}; lancam's older clients sent {Name}, still taken. */
export const setFingerprintBody = z.strictObject({ FingerprintName: fingerprintNameSchema.optional(), Name: fingerprintNameSchema.optional() });
/** null clears (Nabto); "" clears too (lancam's older clients). */
export const setPasswordBody = z.union([z.null(), z.literal(''), passwordSchema]);
export const setDisplayNameBody = z.union([z.null(), displayNameSchema]);
export const sctSchema = z.string().refine((s) => utf8Length(s) <= IAM_LIMITS.serverConnectTokenMaxBytes, `server connect token must be at most ${IAM_LIMITS.serverConnectTokenMaxBytes} bytes`);
export const setFcmBody = z.strictObject({
  Token: z.string().refine((s) => utf8Length(s) <= IAM_LIMITS.fcmTokenMaxBytes, `FCM token must be at most ${IAM_LIMITS.fcmTokenMaxBytes} bytes`),
  ProjectId: z.string().refine((s) => utf8Length(s) <= IAM_LIMITS.fcmProjectIdMaxBytes, `FCM project id must be at most ${IAM_LIMITS.fcmProjectIdMaxBytes} bytes`),
});
export const notificationCategoriesBody = z.array(z.string().min(1).max(64)).max(64);
export const setOauthSubjectBody = z.union([
  z.null(),
  z.string().refine((s) => utf8Length(s) <= IAM_LIMITS.oauthSubjectMaxBytes, `OAuth subject must be at most ${IAM_LIMITS.oauthSubjectMaxBytes} bytes`),
]);

export const SETTINGS_KEYS = {
  'local-open-pairing': z.boolean(),
  'local-initial-pairing': z.boolean(),
  'password-open-pairing': z.boolean(),
  'password-invite-pairing': z.boolean(),
  'password-open-password': passwordSchema,
  'open-pairing-role': roleIdSchema,
} as const;
export type SettingsKey = keyof typeof SETTINGS_KEYS;

export const iamSettingsViewSchema = z.object({
  LocalOpenPairing: z.boolean(),
  LocalInitialPairing: z.boolean(),
  PasswordOpenPairing: z.boolean(),
  PasswordInvitePairing: z.boolean(),
  OpenPairingRole: z.string().optional(),
  InitialPairingUsername: z.string().optional(),
  /** Whether an open pairing password is set (the password itself is never sent back). */
  PasswordOpenPasswordSet: z.boolean(),
  /** Seconds left in the local-open pairing window, 0 when closed. */
  PairingWindowSeconds: z.number().int().min(0),
});
export type IamSettingsView = z.infer<typeof iamSettingsViewSchema>;

export const localInitialBody = z.strictObject({ FingerprintName: fingerprintNameSchema.optional() });
export const localOpenBody = z.strictObject({ Username: usernameSchema, FingerprintName: fingerprintNameSchema.optional() });
export const passwordOpenBody = localOpenBody;
export const passwordInviteBody = localInitialBody;

/** SPAKE2 message 1: the username to authenticate as ("" for the open pairing password) and pA. */
export const passwordAuthStartBody = z.strictObject({
  Username: z.union([z.literal(''), usernameSchema]),
  T: base64url(65, 65),
});
/** SPAKE2 message 2: pB and the device's confirmation cB. */
export const passwordAuthStartAnswer = z.object({ S: base64url(65, 65), Kc: base64url(32, 32) });
/** SPAKE2 message 3: the client's confirmation cA. */
export const passwordAuthFinishBody = z.strictObject({ Kc: base64url(32, 32) });

/** Label of the TLS exporter that binds password authentication to the connection. */
export const PASSWORD_AUTH_EXPORTER_LABEL = 'EXPORTER-lancam-password-auth';
export const PASSWORD_AUTH_EXPORTER_LENGTH = 32;

/** Pushed events. */
export const EVENTS = {
  /** The pairing window opened or closed: {open, seconds}. */
  pairingWindow: 'pairing-window',
  /** The requester's own access changed (removed, role changed): {reason}. */
  accessChanged: 'access-changed',
  /** The device's friendly name changed: {FriendlyName}. */
  deviceInfo: 'device-info',
  /** To administrators: a key paired (PairingRecord). */
  paired: 'paired',
  /** To administrators: local open pairing looks contested: {Reason, Fingerprints}. */
  pairingAlert: 'pairing-alert',
} as const;

/** One pairing the camera made (GET /iam/pairing/recent, the `paired` event). */
export const pairingRecordSchema = z.object({
  At: z.string(),
  Username: usernameSchema,
  Role: z.string().optional(),
  Fingerprint: fingerprintSchema,
  FingerprintName: z.string().optional(),
  Mode: z.enum(['local-initial', 'local-open', 'password-open', 'password-invite']),
  RemoteAddress: z.string(),
  /** The pairing created the user (local open, password open), rather than adding a key to one. */
  CreatedUser: z.boolean(),
});
export type PairingRecord = z.infer<typeof pairingRecordSchema>;
