// Nabto Edge IAM files: schemas, types, parsing and serialization.
//
// We read and write Nabto's own JSON format (nabto-embedded-sdk, src/modules/iam/nm_iam_serializer.c,
// nm_iam_from_json.c and policies/nm_policies_from_json.c), with Nabto's field names:
//   - the IAM config, `Version: 1`: Policies, Roles and Config.UnpairedRole;
//   - the IAM state, `Version: 2` (users own a list of named fingerprints). `Version: 1` state
//     (one `Fingerprint` string per user) still loads and is upgraded to the Version 2 shape.
//
// The in-memory model uses those same field names, so a file round-trips without a mapping layer,
// and every object keeps fields we do not know (a newer Nabto file never loses data by passing
// through us). Validation is stricter than Nabto's loader where a bad value could let one request
// corrupt the state: usernames, fingerprints and lengths are checked on load and on save.

import { z } from 'zod';

import { FINGERPRINT_RE } from '../fingerprint';

// ---------------------------------------------------------------------------------------------
// Limits and small validators (request handlers reuse these before touching the state; for
// fingerprints use isFingerprint from ../fingerprint).
// Lengths are counted in UTF-8 bytes, as Nabto's strlen() does, so a file we write also loads on a
// Nabto device. The values are nm_iam.c's defaults.
// ---------------------------------------------------------------------------------------------

export const IAM_LIMITS = {
  usernameMaxLength: 64,
  displayNameMaxBytes: 64,
  passwordMinBytes: 4,
  passwordMaxBytes: 64,
  friendlyNameMaxBytes: 64,
  /** Nabto sets no limit on a fingerprint's name; we apply the display-name limit. */
  fingerprintNameMaxBytes: 64,
  serverConnectTokenMaxBytes: 64,
  fcmTokenMaxBytes: 1024,
  fcmProjectIdMaxBytes: 256,
  oauthSubjectMaxBytes: 64,
} as const;

const USERNAME_PATTERN = new RegExp(`^[a-z0-9_.-]{1,${IAM_LIMITS.usernameMaxLength}}$`);

const utf8 = new TextEncoder();

/** Length of a string in UTF-8 bytes. */
export function utf8Length(value: string): number {
  return utf8.encode(value).length;
}

/** 1-64 characters of a-z, 0-9, `_`, `.` and `-` (Nabto's username alphabet). */
export function isValidUsername(value: string): boolean {
  return USERNAME_PATTERN.test(value);
}

export function isValidDisplayName(value: string): boolean {
  return utf8Length(value) <= IAM_LIMITS.displayNameMaxBytes;
}

/** A password a request may set: 4-64 bytes. (A stored empty password means "none", see below.) */
export function isValidPassword(value: string): boolean {
  const bytes = utf8Length(value);
  return bytes >= IAM_LIMITS.passwordMinBytes && bytes <= IAM_LIMITS.passwordMaxBytes;
}

export function isValidFriendlyName(value: string): boolean {
  return utf8Length(value) <= IAM_LIMITS.friendlyNameMaxBytes;
}

export function isValidFingerprintName(value: string): boolean {
  return utf8Length(value) <= IAM_LIMITS.fingerprintNameMaxBytes;
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

export interface IamIssue {
  /** Where in the document, e.g. `Users[2].Fingerprints[0].Fingerprint`; `(root)` for the whole. */
  readonly path: string;
  readonly message: string;
}

/** An IAM config or state that does not have Nabto's format or breaks our validation rules. */
export class IamFormatError extends Error {
  override readonly name = 'IamFormatError';

  constructor(
    readonly document: 'IAM config' | 'IAM state',
    readonly issues: readonly IamIssue[],
  ) {
    super(`${document} is invalid: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    text += typeof segment === 'number' ? `[${segment}]` : `${text === '' ? '' : '.'}${String(segment)}`;
  }
  return text === '' ? '(root)' : text;
}

function parseOrThrow<T extends z.ZodType>(schema: T, json: unknown, document: IamFormatError['document']): z.output<T> {
  const result = schema.safeParse(json);
  if (!result.success) {
    throw new IamFormatError(
      document,
      result.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
    );
  }
  return result.data;
}

// ---------------------------------------------------------------------------------------------
// Field schemas
// ---------------------------------------------------------------------------------------------

function maxBytes(limit: number): z.ZodString {
  return z.string().refine((value) => utf8Length(value) <= limit, `must be at most ${limit} bytes of UTF-8`);
}

const usernameSchema = z.string().regex(USERNAME_PATTERN, 'must be 1-64 characters of a-z, 0-9, "_", "." or "-"');
const fingerprintSchema = z.string().regex(FINGERPRINT_RE, 'must be 64 lowercase hex characters');
const nonEmptyString = z.string().min(1, 'must not be empty');

// Older Nabto tools store `"Password": ""` for "no password" (see the localPairLocalInitial
// fixture), so the empty string loads; any other stored password must satisfy the request rule.
const storedPasswordSchema = z
  .string()
  .refine(
    (value) => value === '' || isValidPassword(value),
    `must be empty or ${IAM_LIMITS.passwordMinBytes}-${IAM_LIMITS.passwordMaxBytes} bytes of UTF-8`,
  );

// ---------------------------------------------------------------------------------------------
// IAM config (Version 1)
// ---------------------------------------------------------------------------------------------

/** Nabto's condition operators (policies/nm_condition.c). */
export const CONDITION_OPERATORS = [
  'StringEquals',
  'StringNotEquals',
  'NumericEquals',
  'NumericNotEquals',
  'NumericLessThan',
  'NumericLessThanEquals',
  'NumericGreaterThan',
  'NumericGreaterThanEquals',
  'Bool',
] as const;

export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

// A condition is `{ "<Operator>": { "<attribute>": ["value", ...] } }`: one operator, one attribute,
// string values (also for the numeric and Bool operators, as in Nabto). Nabto silently reads only
// the first key of each object; we reject extra keys instead of ignoring part of a rule. The checks
// run on a plain record first, for clear messages, then the pipe gives the value its typed shape.
const conditionBodySchema = z.record(nonEmptyString, z.array(z.string()));
const conditionSchema = z
  .record(z.string(), conditionBodySchema)
  .superRefine((condition, ctx) => {
    const operators = Object.keys(condition);
    const [operator] = operators;
    if (operators.length !== 1 || operator === undefined) {
      ctx.addIssue({ code: 'custom', message: `must have exactly one operator, has ${operators.length}` });
    } else if (!(CONDITION_OPERATORS as readonly string[]).includes(operator)) {
      ctx.addIssue({
        code: 'custom',
        path: [operator],
        message: `unknown condition operator; Nabto's are ${CONDITION_OPERATORS.join(', ')}`,
      });
    } else if (Object.keys(condition[operator] ?? {}).length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [operator],
        message: `must name exactly one attribute, names ${Object.keys(condition[operator] ?? {}).length}`,
      });
    }
  })
  .pipe(z.partialRecord(z.enum(CONDITION_OPERATORS), conditionBodySchema));

const statementSchema = z.looseObject({
  Effect: z.enum(['Allow', 'Deny']),
  Actions: z.array(nonEmptyString),
  Conditions: z.array(conditionSchema).optional(),
});

const policySchema = z.looseObject({
  Id: nonEmptyString,
  Statements: z.array(statementSchema),
});

const roleSchema = z.looseObject({
  Id: nonEmptyString,
  Policies: z.array(nonEmptyString),
});

const configSchema = z
  .looseObject({
    Version: z.literal(1),
    Config: z.looseObject({ UnpairedRole: nonEmptyString.optional() }),
    Policies: z.array(policySchema),
    Roles: z.array(roleSchema),
  })
  .superRefine((config, ctx) => {
    const policyIds = new Set<string>();
    config.Policies.forEach((policy, index) => {
      if (policyIds.has(policy.Id)) {
        ctx.addIssue({ code: 'custom', path: ['Policies', index, 'Id'], message: `duplicate policy id "${policy.Id}"` });
      }
      policyIds.add(policy.Id);
    });
    const roleIds = new Set<string>();
    config.Roles.forEach((role, index) => {
      if (roleIds.has(role.Id)) {
        ctx.addIssue({ code: 'custom', path: ['Roles', index, 'Id'], message: `duplicate role id "${role.Id}"` });
      }
      roleIds.add(role.Id);
      role.Policies.forEach((policyId, policyIndex) => {
        if (!policyIds.has(policyId)) {
          ctx.addIssue({
            code: 'custom',
            path: ['Roles', index, 'Policies', policyIndex],
            message: `policy "${policyId}" is not defined in Policies`,
          });
        }
      });
    });
    const unpairedRole = config.Config.UnpairedRole;
    if (unpairedRole !== undefined && !roleIds.has(unpairedRole)) {
      ctx.addIssue({
        code: 'custom',
        path: ['Config', 'UnpairedRole'],
        message: `role "${unpairedRole}" is not defined in Roles`,
      });
    }
  });

export type IamConfig = z.output<typeof configSchema>;
export type IamPolicy = IamConfig['Policies'][number];
export type IamStatement = IamPolicy['Statements'][number];
export type IamCondition = z.output<typeof conditionSchema>;
export type IamRole = IamConfig['Roles'][number];

export interface ConditionParts {
  readonly operator: ConditionOperator;
  readonly attribute: string;
  readonly values: readonly string[];
}

/** The operator, attribute and values of a condition; undefined if it is not exactly one of each. */
export function conditionParts(condition: IamCondition): ConditionParts | undefined {
  const operators = Object.keys(condition) as ConditionOperator[];
  const [operator] = operators;
  const body = operator === undefined ? undefined : condition[operator];
  if (operators.length !== 1 || operator === undefined || body === undefined) return undefined;
  const entries = Object.entries(body);
  const [entry] = entries;
  if (entries.length !== 1 || entry === undefined) return undefined;
  return { operator, attribute: entry[0], values: entry[1] };
}

/** Validate a Nabto IAM config (`Version: 1`). Throws IamFormatError naming the bad field. */
export function parseIamConfig(json: unknown): IamConfig {
  return parseOrThrow(configSchema, json, 'IAM config');
}

/** The config as a Nabto `Version: 1` JSON object. Validates first, so we never write a bad file. */
export function serializeIamConfig(config: IamConfig): IamConfig {
  return parseIamConfig(config);
}

// ---------------------------------------------------------------------------------------------
// IAM state (Version 2; Version 1 loads and is upgraded)
// ---------------------------------------------------------------------------------------------

const fcmSchema = z.looseObject({
  Token: maxBytes(IAM_LIMITS.fcmTokenMaxBytes).optional(),
  ProjectId: maxBytes(IAM_LIMITS.fcmProjectIdMaxBytes).optional(),
});

/** User fields common to both state versions (nm_iam_from_json.c, nm_iam_user_from_json). */
const userFields = {
  Username: usernameSchema,
  DisplayName: maxBytes(IAM_LIMITS.displayNameMaxBytes).optional(),
  Password: storedPasswordSchema.optional(),
  Role: nonEmptyString.optional(),
  ServerConnectToken: maxBytes(IAM_LIMITS.serverConnectTokenMaxBytes).optional(),
  Fcm: fcmSchema.optional(),
  NotificationCategories: z.array(z.string()).optional(),
  OauthSubject: maxBytes(IAM_LIMITS.oauthSubjectMaxBytes).optional(),
  /**
   * lancam extension: shared secrets for signed signaling through an untrusted relay. Each belongs
   * to this user; removing the user (or the entry) revokes it.
   */
  RemoteSecrets: z
    .array(
      z.looseObject({
        Kid: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'must be 16-64 URL-safe characters'),
        Secret: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes, base64url'),
        Name: maxBytes(IAM_LIMITS.fingerprintNameMaxBytes).optional(),
        Created: z.string().max(40).optional(),
      }),
    )
    .max(16)
    .optional(),
};

const fingerprintEntrySchema = z.looseObject({
  Fingerprint: fingerprintSchema,
  Name: maxBytes(IAM_LIMITS.fingerprintNameMaxBytes).optional(),
});

// Where Nabto's loader silently ignores a field (a Version 2 user's `Fingerprint`, a Version 1
// user's `Fingerprints`), that user's keys would silently stop working; we refuse with a hint.
const userV1Schema = z.looseObject({
  ...userFields,
  Fingerprint: fingerprintSchema.optional(),
  Fingerprints: z
    .unknown()
    .refine((value) => value === undefined, 'a Version 1 state has one "Fingerprint" per user; Nabto ignores "Fingerprints" here: set "Version": 2 to use the list')
    .optional(),
});
const userV2Schema = z.looseObject({
  ...userFields,
  Fingerprint: z
    .unknown()
    .refine((value) => value === undefined, 'a Version 2 state lists keys in "Fingerprints": [{"Fingerprint": …}]; Nabto ignores a user\'s "Fingerprint" here: move it into "Fingerprints"')
    .optional(),
  Fingerprints: z.array(fingerprintEntrySchema).default(() => []),
});

/** Top-level state fields common to both versions (nm_iam_serializer.c). Absent flags mean false. */
const stateFields = {
  OpenPairingPassword: storedPasswordSchema.optional(),
  OpenPairingSct: maxBytes(IAM_LIMITS.serverConnectTokenMaxBytes).optional(),
  LocalOpenPairing: z.boolean().default(false),
  PasswordOpenPairing: z.boolean().default(false),
  PasswordInvitePairing: z.boolean().default(false),
  LocalInitialPairing: z.boolean().default(false),
  OpenPairingRole: nonEmptyString.optional(),
  InitialPairingUsername: usernameSchema.optional(),
  FriendlyName: maxBytes(IAM_LIMITS.friendlyNameMaxBytes).optional(),
};

/** A fingerprint as it appears in the file, with its path for error messages. */
interface LocatedFingerprint {
  readonly fingerprint: string;
  readonly path: PropertyKey[];
}

/** No two users with one username; no fingerprint listed twice (by two users or by one). */
function checkUniqueness(
  users: readonly { Username: string }[],
  fingerprintsOf: (userIndex: number) => LocatedFingerprint[],
  ctx: z.RefinementCtx,
): void {
  const usernames = new Set<string>();
  const owners = new Map<string, string>();
  users.forEach((user, index) => {
    if (usernames.has(user.Username)) {
      ctx.addIssue({ code: 'custom', path: ['Users', index, 'Username'], message: `duplicate username "${user.Username}"` });
    }
    usernames.add(user.Username);
    for (const { fingerprint, path } of fingerprintsOf(index)) {
      const owner = owners.get(fingerprint);
      if (owner !== undefined) {
        const whose = owner === user.Username ? 'this user already' : `user "${owner}" already`;
        ctx.addIssue({ code: 'custom', path, message: `fingerprint ${fingerprint} is listed twice: ${whose} owns it` });
      }
      owners.set(fingerprint, user.Username);
    }
  });
}

const stateV1Schema = z
  .looseObject({ Version: z.literal(1), ...stateFields, Users: z.array(userV1Schema).default(() => []) })
  .superRefine((state, ctx) => {
    checkUniqueness(
      state.Users,
      (index) => {
        const fingerprint = state.Users[index]?.Fingerprint;
        return fingerprint === undefined ? [] : [{ fingerprint, path: ['Users', index, 'Fingerprint'] }];
      },
      ctx,
    );
  });

const stateV2Schema = z
  .looseObject({ Version: z.literal(2), ...stateFields, Users: z.array(userV2Schema).default(() => []) })
  .superRefine((state, ctx) => {
    checkUniqueness(
      state.Users,
      (index) =>
        (state.Users[index]?.Fingerprints ?? []).map((entry, entryIndex) => ({
          fingerprint: entry.Fingerprint,
          path: ['Users', index, 'Fingerprints', entryIndex, 'Fingerprint'],
        })),
      ctx,
    );
  });

/** The IAM state in memory: always the Version 2 shape. */
export type IamState = z.output<typeof stateV2Schema>;
export type IamUser = IamState['Users'][number];
export type IamFingerprint = IamUser['Fingerprints'][number];

type IamStateV1 = z.output<typeof stateV1Schema>;

/** Version 1 -> 2: each user's single `Fingerprint` becomes a one-entry `Fingerprints` list. */
function upgradeStateV1(state: IamStateV1): IamState {
  return {
    ...state,
    Version: 2,
    Users: state.Users.map(({ Fingerprint, ...user }) => ({
      ...user,
      Fingerprints: Fingerprint === undefined ? [] : [{ Fingerprint }],
    })),
  };
}

/**
 * Validate a Nabto IAM state (`Version: 2`, or `Version: 1` which is upgraded). Throws
 * IamFormatError naming the bad field. Check roles against the config with assertStateMatchesConfig.
 */
export function parseIamState(json: unknown): IamState {
  const version = typeof json === 'object' && json !== null ? (json as { Version?: unknown }).Version : undefined;
  if (version === 1) return upgradeStateV1(parseOrThrow(stateV1Schema, json, 'IAM state'));
  if (version === 2) return parseOrThrow(stateV2Schema, json, 'IAM state');
  const issue: IamIssue =
    typeof json === 'object' && json !== null && !Array.isArray(json)
      ? { path: 'Version', message: `must be 1 or 2, got ${JSON.stringify(version) ?? 'nothing'}` }
      : { path: '(root)', message: 'must be a JSON object' };
  throw new IamFormatError('IAM state', [issue]);
}

/** Nabto's order of the state's top-level fields (nm_iam_serializer.c, nm_iam_serializer_state_dump_json). */
const NABTO_STATE_ORDER = [
  'Version',
  'OpenPairingPassword',
  'OpenPairingSct',
  'LocalOpenPairing',
  'PasswordOpenPairing',
  'PasswordInvitePairing',
  'LocalInitialPairing',
  'OpenPairingRole',
  'InitialPairingUsername',
  'FriendlyName',
  'Users',
] as const;
/** Nabto's order of a user's fields (nm_iam_to_json.c, nm_iam_user_to_json). */
const NABTO_USER_ORDER = [
  'Username',
  'Fingerprints',
  'DisplayName',
  'ServerConnectToken',
  'Password',
  'Role',
  'Fcm',
  'NotificationCategories',
  'OauthSubject',
] as const;

/** Known keys in `order`, then the keys we do not know, in the order they came. */
function ordered<T extends object>(value: T, order: readonly string[]): T {
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of order) if (record[key] !== undefined) out[key] = record[key];
  for (const [key, item] of Object.entries(record)) if (!(key in out) && item !== undefined) out[key] = item;
  return out as T;
}

/**
 * The state as Nabto writes it: `Version: 2`, Nabto's field order, Nabto's omissions (an empty
 * NotificationCategories is left out, as nm_iam_user_to_json does). A stored empty password
 * ("none", written by older tools) is left out too: Nabto's own loader refuses a password shorter
 * than 4 bytes, so writing "" back would make the file unloadable there. Unknown fields are kept.
 * Validates first, so we never write a bad file.
 */
export function serializeIamState(state: IamState): IamState {
  const valid = parseOrThrow(stateV2Schema, state, 'IAM state');
  const { OpenPairingPassword, ...rest } = valid;
  const top = { ...rest, ...(OpenPairingPassword ? { OpenPairingPassword } : {}) };
  return ordered(
    {
      ...top,
      Users: valid.Users.map(({ Password, NotificationCategories, ...user }) =>
        ordered(
          {
            ...user,
            ...(Password ? { Password } : {}),
            ...(NotificationCategories?.length ? { NotificationCategories } : {}),
          },
          NABTO_USER_ORDER,
        ),
      ),
    },
    NABTO_STATE_ORDER,
  );
}

/**
 * The state's references into the config: every user's Role and the OpenPairingRole must be roles
 * the config defines. Throws IamFormatError (document "IAM state") listing every dangling reference.
 */
export function assertStateMatchesConfig(state: IamState, config: IamConfig): void {
  const roleIds = new Set(config.Roles.map((role) => role.Id));
  const issues: IamIssue[] = [];
  state.Users.forEach((user, index) => {
    if (user.Role !== undefined && !roleIds.has(user.Role)) {
      issues.push({ path: `Users[${index}].Role`, message: `role "${user.Role}" is not defined in the IAM config` });
    }
  });
  if (state.OpenPairingRole !== undefined && !roleIds.has(state.OpenPairingRole)) {
    issues.push({ path: 'OpenPairingRole', message: `role "${state.OpenPairingRole}" is not defined in the IAM config` });
  }
  if (issues.length > 0) throw new IamFormatError('IAM state', issues);
}
