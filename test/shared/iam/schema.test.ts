import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import {
  IamFormatError,
  assertStateMatchesConfig,
  conditionParts,
  isValidDisplayName,
  isValidFingerprintName,
  isValidFriendlyName,
  isValidPassword,
  isValidUsername,
  parseIamConfig,
  parseIamState,
  serializeIamConfig,
  serializeIamState,
  utf8Length,
  type IamState,
} from '../../../src/shared/iam/schema';

// The real Nabto files live in the shared folder beside the repository: <repo>/../shared.
const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/fixtures/nabto');

function fixtureFiles(suffix: string): string[] {
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((dir) =>
      readdirSync(path.join(FIXTURES, dir.name))
        .filter((name) => name.endsWith(suffix))
        .map((name) => path.join(FIXTURES, dir.name, name)),
    );
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Save as a file would be saved (JSON text) and load it again. */
function saveThenLoad(state: IamState): IamState {
  return parseIamState(JSON.parse(JSON.stringify(serializeIamState(state))));
}

const FP_A = 'a'.repeat(64);
const FP_B = '0123456789abcdef'.repeat(4);

function stateWith(users: unknown[], extra: Record<string, unknown> = {}): unknown {
  return { Version: 2, Users: users, ...extra };
}

/** The IamFormatError `fn` throws; fails the test if it throws anything else or nothing. */
function formatError(fn: () => unknown): IamFormatError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(IamFormatError);
    return error as IamFormatError;
  }
  throw new Error('expected an IamFormatError, nothing was thrown');
}

describe('Nabto fixtures', () => {
  const configs = fixtureFiles('iam_config.json');
  const states = fixtureFiles('iam_state.json');

  it('finds the fixture files', () => {
    expect(configs.length).toBeGreaterThanOrEqual(2);
    expect(states.length).toBeGreaterThanOrEqual(2);
  });

  it.each(configs)('loads config %s and round-trips it', (file) => {
    const config = parseIamConfig(readJson(file));
    expect(config.Config.UnpairedRole).toBe('Unpaired');
    expect(config.Roles.map((role) => role.Id)).toEqual(['Unpaired', 'Administrator', 'Standard', 'Guest']);
    const ownUser = config.Policies.find((policy) => policy.Id === 'ManageOwnUser');
    expect(ownUser?.Statements[0]?.Conditions).toEqual([{ StringEquals: { 'IAM:Username': ['${Connection:Username}'] } }]);
    expect(parseIamConfig(JSON.parse(JSON.stringify(serializeIamConfig(config))))).toEqual(config);
  });

  it.each(states)('loads state %s, matches its config and round-trips it', (file) => {
    const state = parseIamState(readJson(file));
    expect(state.Version).toBe(2);
    assertStateMatchesConfig(state, parseIamConfig(readJson(file.replace(/iam_state\.json$/, 'iam_config.json'))));
    // Saved as Nabto writes it: a stored empty password ("none"; Nabto refuses it) is left out.
    const withoutEmptyPasswords = { ...state, Users: state.Users.map(({ Password, ...u }) => (Password ? { ...u, Password } : u)) };
    expect(saveThenLoad(state)).toEqual(withoutEmptyPasswords);
  });

  it('reads the values of the local-initial fixture (a Version 1 file)', () => {
    const [file] = states.filter((name) => name.includes('localPairLocalInitial'));
    const state = parseIamState(readJson(file ?? ''));
    expect(state).toMatchObject({
      Version: 2,
      FriendlyName: 'I Have a Name!',
      InitialPairingUsername: 'admin',
      LocalInitialPairing: true,
      LocalOpenPairing: false,
      OpenPairingPassword: 'uJFdyXyuigCW',
      OpenPairingRole: 'Standard',
      OpenPairingSct: 'vJo9NWP7JWfh',
      PasswordInvitePairing: false,
      PasswordOpenPairing: false,
    });
    expect(state.Users).toEqual([
      { Username: 'admin', Password: '', Role: 'Administrator', ServerConnectToken: 'S8pL5tXFGDgO', Fingerprints: [] },
    ]);
  });

  it('reads the values of the password-invite fixture', () => {
    const [file] = states.filter((name) => name.includes('localPasswordInvite'));
    const state = parseIamState(readJson(file ?? ''));
    expect(state.Users).toEqual([]);
    expect(state.PasswordOpenPairing).toBe(true);
    expect(state.PasswordInvitePairing).toBe(true);
    expect(state.OpenPairingRole).toBe('Administrator');
    expect(state.FriendlyName).toBeUndefined();
  });
});

describe('parseIamState', () => {
  it('upgrades Version 1 users: one Fingerprint becomes a Fingerprints list', () => {
    const state = parseIamState({
      Version: 1,
      Users: [
        { Username: 'alice', Fingerprint: FP_A, Role: 'Guest' },
        { Username: 'bob', Role: 'Guest' },
      ],
    });
    expect(state.Version).toBe(2);
    expect(state.Users).toEqual([
      { Username: 'alice', Role: 'Guest', Fingerprints: [{ Fingerprint: FP_A }] },
      { Username: 'bob', Role: 'Guest', Fingerprints: [] },
    ]);
    expect(serializeIamState(state).Users[0]).not.toHaveProperty('Fingerprint');
  });

  it('reads Version 2 users with named fingerprints and all Nabto user fields', () => {
    const user = {
      Username: 'alice',
      DisplayName: 'Alice Ærø',
      Password: 'secret-pw',
      Role: 'Standard',
      ServerConnectToken: 'sct123',
      Fingerprints: [{ Fingerprint: FP_A, Name: 'phone' }, { Fingerprint: FP_B }],
      Fcm: { Token: 'token', ProjectId: 'project' },
      NotificationCategories: ['WARNING'],
      OauthSubject: 'sub-1',
    };
    expect(parseIamState(stateWith([user])).Users).toEqual([user]);
  });

  it('defaults absent pairing flags to false and absent Users to none', () => {
    expect(parseIamState({ Version: 2 })).toEqual({
      Version: 2,
      LocalOpenPairing: false,
      PasswordOpenPairing: false,
      PasswordInvitePairing: false,
      LocalInitialPairing: false,
      Users: [],
    });
  });

  it('keeps fields it does not know, at every level, through save and load', () => {
    const json = {
      Version: 2,
      FutureSetting: { nested: [1, 2] },
      Users: [{ Username: 'alice', Fingerprints: [{ Fingerprint: FP_A, AddedAt: 1700000000 }], Fcm: { Token: 't', Extra: true }, Custom: 'x' }],
    };
    const saved = serializeIamState(saveThenLoad(parseIamState(json)));
    expect(saved.FutureSetting).toEqual({ nested: [1, 2] });
    expect(saved.Users[0]?.Custom).toBe('x');
    expect(saved.Users[0]?.Fcm?.Extra).toBe(true);
    expect(saved.Users[0]?.Fingerprints[0]?.AddedAt).toBe(1700000000);
  });

  it('keeps users, roles and settings through save and load', () => {
    const state = parseIamState(
      stateWith(
        [
          { Username: 'admin', Role: 'Administrator', Fingerprints: [{ Fingerprint: FP_A, Name: 'laptop' }] },
          { Username: 'guest.1', Role: 'Guest', DisplayName: 'Visitor', Password: 'pass1234', Fingerprints: [{ Fingerprint: FP_B }] },
        ],
        { FriendlyName: 'Hall', LocalOpenPairing: true, OpenPairingRole: 'Guest', OpenPairingPassword: 'abcdefgh', InitialPairingUsername: 'admin' },
      ),
    );
    const loaded = saveThenLoad(state);
    expect(loaded).toEqual(state);
    expect(loaded.Users.map((user) => [user.Username, user.Role])).toEqual([
      ['admin', 'Administrator'],
      ['guest.1', 'Guest'],
    ]);
    expect(loaded.FriendlyName).toBe('Hall');
    expect(loaded.LocalOpenPairing).toBe(true);
  });

  it.each([
    ['an upper-case username', [{ Username: 'Alice' }], 'Users[0].Username'],
    ['a username with a space', [{ Username: 'a b' }], 'Users[0].Username'],
    ['an empty username', [{ Username: '' }], 'Users[0].Username'],
    ['a 65-character username', [{ Username: 'a'.repeat(65) }], 'Users[0].Username'],
    ['a 65-character fingerprint', [{ Username: 'a', Fingerprints: [{ Fingerprint: 'a'.repeat(65) }] }], 'Users[0].Fingerprints[0].Fingerprint'],
    ['a 63-character fingerprint', [{ Username: 'a', Fingerprints: [{ Fingerprint: 'a'.repeat(63) }] }], 'Users[0].Fingerprints[0].Fingerprint'],
    ['a non-hex fingerprint', [{ Username: 'a', Fingerprints: [{ Fingerprint: 'g'.repeat(64) }] }], 'Users[0].Fingerprints[0].Fingerprint'],
    ['an upper-case fingerprint', [{ Username: 'a', Fingerprints: [{ Fingerprint: 'A'.repeat(64) }] }], 'Users[0].Fingerprints[0].Fingerprint'],
    ['a number as username', [{ Username: 42 }], 'Users[0].Username'],
    ['a string as Fingerprints', [{ Username: 'a', Fingerprints: FP_A }], 'Users[0].Fingerprints'],
    ['a 65-byte display name', [{ Username: 'a', DisplayName: 'é'.repeat(33) }], 'Users[0].DisplayName'],
    ['a 3-character password', [{ Username: 'a', Password: 'abc' }], 'Users[0].Password'],
    ['a 65-character password', [{ Username: 'a', Password: 'p'.repeat(65) }], 'Users[0].Password'],
    ['a 65-character server connect token', [{ Username: 'a', ServerConnectToken: 's'.repeat(65) }], 'Users[0].ServerConnectToken'],
    ['a number as role', [{ Username: 'a', Role: 1 }], 'Users[0].Role'],
  ])('rejects %s', (_what, users, badPath) => {
    const error = formatError(() => parseIamState(stateWith(users)));
    expect(error.document).toBe('IAM state');
    expect(error.issues.map((issue) => issue.path)).toEqual([badPath]);
    expect(error.message).toContain(`IAM state is invalid: ${badPath}: `);
  });

  it('says what is wrong, not only where', () => {
    expect(formatError(() => parseIamState(stateWith([{ Username: 'Bob' }]))).message).toBe(
      'IAM state is invalid: Users[0].Username: must be 1-64 characters of a-z, 0-9, "_", "." or "-"',
    );
    expect(formatError(() => parseIamState(stateWith([{ Username: 'a', Fingerprints: [{ Fingerprint: 'x' }] }]))).message).toBe(
      'IAM state is invalid: Users[0].Fingerprints[0].Fingerprint: must be 64 lowercase hex characters',
    );
  });

  it.each([
    ['LocalOpenPairing', 'yes'],
    ['FriendlyName', 'n'.repeat(65)],
    ['InitialPairingUsername', 'Admin'],
    ['OpenPairingPassword', 'abc'],
    ['Users', {}],
  ])('rejects a bad top-level %s', (field, value) => {
    const error = formatError(() => parseIamState({ Version: 2, [field]: value }));
    expect(error.issues.map((issue) => issue.path)).toEqual([field]);
  });

  it('accepts the boundary lengths', () => {
    const state = parseIamState(
      stateWith([{ Username: 'a'.repeat(64), DisplayName: 'é'.repeat(32), Password: 'p'.repeat(64) }], { FriendlyName: 'n'.repeat(64) }),
    );
    expect(state.Users[0]?.Username).toHaveLength(64);
  });

  it('accepts a stored empty password (older Nabto files) but a request may not set one', () => {
    expect(parseIamState(stateWith([{ Username: 'a', Password: '' }])).Users[0]?.Password).toBe('');
    expect(isValidPassword('')).toBe(false);
  });

  it('rejects two users with one username', () => {
    const error = formatError(() => parseIamState(stateWith([{ Username: 'alice' }, { Username: 'bob' }, { Username: 'alice' }])));
    expect(error.issues).toEqual([{ path: 'Users[2].Username', message: 'duplicate username "alice"' }]);
  });

  it('rejects a fingerprint owned by two users', () => {
    const error = formatError(() =>
      parseIamState(stateWith([{ Username: 'alice', Fingerprints: [{ Fingerprint: FP_A }] }, { Username: 'bob', Fingerprints: [{ Fingerprint: FP_B }, { Fingerprint: FP_A }] }])),
    );
    expect(error.issues).toEqual([
      { path: 'Users[1].Fingerprints[1].Fingerprint', message: `fingerprint ${FP_A} is listed twice: user "alice" already owns it` },
    ]);
  });

  it('rejects a fingerprint listed twice for one user', () => {
    const error = formatError(() => parseIamState(stateWith([{ Username: 'alice', Fingerprints: [{ Fingerprint: FP_A }, { Fingerprint: FP_A }] }])));
    expect(error.issues.map((issue) => issue.path)).toEqual(['Users[0].Fingerprints[1].Fingerprint']);
  });

  it('rejects a shared fingerprint in a Version 1 file, naming the Version 1 field', () => {
    const error = formatError(() =>
      parseIamState({ Version: 1, Users: [{ Username: 'alice', Fingerprint: FP_A }, { Username: 'bob', Fingerprint: FP_A }] }),
    );
    expect(error.issues.map((issue) => issue.path)).toEqual(['Users[1].Fingerprint']);
  });

  it('reports every problem, not only the first', () => {
    const error = formatError(() => parseIamState(stateWith([{ Username: 'X' }, { Username: 'y', Password: 'no' }])));
    expect(error.issues.map((issue) => issue.path)).toEqual(['Users[0].Username', 'Users[1].Password']);
  });

  it.each([
    [{ Version: 3 }, 'Version: must be 1 or 2, got 3'],
    [{ Version: '2' }, 'Version: must be 1 or 2, got "2"'],
    [{ Users: [] }, 'Version: must be 1 or 2, got nothing'],
    [null, '(root): must be a JSON object'],
    [[], '(root): must be a JSON object'],
    ['{"Version":2}', '(root): must be a JSON object'],
  ])('rejects %j', (json, message) => {
    expect(formatError(() => parseIamState(json)).message).toBe(`IAM state is invalid: ${message}`);
  });
});

describe('serializeIamState', () => {
  it('writes Nabto Version 2 JSON', () => {
    const json = serializeIamState(parseIamState({ Version: 1, Users: [{ Username: 'alice', Fingerprint: FP_A }] }));
    expect(JSON.parse(JSON.stringify(json))).toEqual({
      Version: 2,
      LocalOpenPairing: false,
      PasswordOpenPairing: false,
      PasswordInvitePairing: false,
      LocalInitialPairing: false,
      Users: [{ Username: 'alice', Fingerprints: [{ Fingerprint: FP_A }] }],
    });
  });

  it('refuses to write a state it could not load again', () => {
    const state = parseIamState(stateWith([{ Username: 'alice' }]));
    state.Users.push({ Username: 'alice', Fingerprints: [] });
    expect(formatError(() => serializeIamState(state)).issues.map((issue) => issue.path)).toEqual(['Users[1].Username']);
  });
});

describe('assertStateMatchesConfig', () => {
  const config = parseIamConfig({
    Version: 1,
    Config: { UnpairedRole: 'Unpaired' },
    Policies: [],
    Roles: [
      { Id: 'Unpaired', Policies: [] },
      { Id: 'Guest', Policies: [] },
    ],
  });

  it('accepts roles the config defines and users without a role', () => {
    expect(() =>
      assertStateMatchesConfig(parseIamState(stateWith([{ Username: 'a', Role: 'Guest' }, { Username: 'b' }], { OpenPairingRole: 'Guest' })), config),
    ).not.toThrow();
  });

  it('names every user role and the open pairing role the config lacks', () => {
    const state = parseIamState(stateWith([{ Username: 'a', Role: 'Guest' }, { Username: 'b', Role: 'Owner' }], { OpenPairingRole: 'Standard' }));
    expect(formatError(() => assertStateMatchesConfig(state, config)).issues).toEqual([
      { path: 'Users[1].Role', message: 'role "Owner" is not defined in the IAM config' },
      { path: 'OpenPairingRole', message: 'role "Standard" is not defined in the IAM config' },
    ]);
  });
});

describe('parseIamConfig', () => {
  const validConfig = {
    Version: 1,
    Config: { UnpairedRole: 'Unpaired', FirstUserRole: 'Admin' },
    Policies: [
      {
        Id: 'Own',
        Description: 'kept',
        Statements: [
          {
            Effect: 'Allow',
            Actions: ['IAM:GetUser'],
            Conditions: [{ StringEquals: { 'IAM:Username': ['${Connection:Username}'] } }, { NumericLessThan: { 'Request:Size': ['10'] } }, { Bool: { 'Connection:IsLocal': ['true'] } }],
          },
        ],
      },
    ],
    Roles: [{ Id: 'Unpaired', Policies: ['Own'] }],
  };

  it('loads every Nabto condition operator and keeps unknown fields', () => {
    for (const operator of ['StringEquals', 'StringNotEquals', 'NumericEquals', 'NumericNotEquals', 'NumericLessThan', 'NumericLessThanEquals', 'NumericGreaterThan', 'NumericGreaterThanEquals', 'Bool']) {
      const json = structuredClone(validConfig);
      json.Policies[0]!.Statements[0]!.Conditions = [{ [operator]: { attr: ['1'] } } as never];
      expect(parseIamConfig(json).Policies[0]?.Statements[0]?.Conditions).toEqual([{ [operator]: { attr: ['1'] } }]);
    }
    const config = serializeIamConfig(parseIamConfig(validConfig));
    expect(config).toEqual(validConfig);
    expect(config.Config.FirstUserRole).toBe('Admin');
  });

  it.each([
    ['an unknown operator', { Conditions: [{ StringLike: { a: ['b'] } }] }, 'Policies[0].Statements[0].Conditions[0].StringLike'],
    ['an empty condition', { Conditions: [{}] }, 'Policies[0].Statements[0].Conditions[0]'],
    ['two operators in one condition', { Conditions: [{ StringEquals: { a: ['b'] }, Bool: { c: ['true'] } }] }, 'Policies[0].Statements[0].Conditions[0]'],
    ['two attributes in one condition', { Conditions: [{ StringEquals: { a: ['b'], c: ['d'] } }] }, 'Policies[0].Statements[0].Conditions[0].StringEquals'],
    ['a number as condition value', { Conditions: [{ NumericEquals: { a: [1] } }] }, 'Policies[0].Statements[0].Conditions[0].NumericEquals.a[0]'],
    ['an unknown effect', { Effect: 'Maybe' }, 'Policies[0].Statements[0].Effect'],
    ['a string as Actions', { Actions: 'IAM:GetUser' }, 'Policies[0].Statements[0].Actions'],
  ])('rejects %s', (_what, statementPatch, badPath) => {
    const json = structuredClone(validConfig);
    Object.assign(json.Policies[0]!.Statements[0]!, statementPatch);
    const error = formatError(() => parseIamConfig(json));
    expect(error.document).toBe('IAM config');
    expect(error.issues.map((issue) => issue.path)).toEqual([badPath]);
  });

  it('rejects a role naming an undefined policy', () => {
    const json = { ...validConfig, Roles: [{ Id: 'Unpaired', Policies: ['Own', 'Missing'] }] };
    expect(formatError(() => parseIamConfig(json)).issues).toEqual([{ path: 'Roles[0].Policies[1]', message: 'policy "Missing" is not defined in Policies' }]);
  });

  it('rejects an UnpairedRole the config does not define', () => {
    const json = { ...validConfig, Config: { UnpairedRole: 'Nobody' } };
    expect(formatError(() => parseIamConfig(json)).issues).toEqual([{ path: 'Config.UnpairedRole', message: 'role "Nobody" is not defined in Roles' }]);
  });

  it('rejects duplicate role and policy ids', () => {
    const json = {
      ...validConfig,
      Policies: [...validConfig.Policies, { Id: 'Own', Statements: [] }],
      Roles: [...validConfig.Roles, { Id: 'Unpaired', Policies: [] }],
    };
    expect(formatError(() => parseIamConfig(json)).issues.map((issue) => issue.path)).toEqual(['Policies[1].Id', 'Roles[1].Id']);
  });

  it.each([
    [{ ...validConfig, Version: 2 }, 'Version'],
    [{ ...validConfig, Config: undefined }, 'Config'],
    [{ ...validConfig, Roles: undefined }, 'Roles'],
  ])('rejects a config with a bad or missing top-level field (%#)', (json, badPath) => {
    expect(formatError(() => parseIamConfig(json)).issues.map((issue) => issue.path)).toEqual([badPath]);
  });
});

describe('conditionParts', () => {
  it('splits a condition into operator, attribute and values', () => {
    expect(conditionParts({ NumericGreaterThan: { 'Request:Count': ['1', '2'] } })).toEqual({
      operator: 'NumericGreaterThan',
      attribute: 'Request:Count',
      values: ['1', '2'],
    });
  });

  it('returns undefined for a condition without exactly one operator and attribute', () => {
    expect(conditionParts({})).toBeUndefined();
    expect(conditionParts({ StringEquals: {} })).toBeUndefined();
    expect(conditionParts({ StringEquals: { a: ['1'] }, Bool: { b: ['true'] } })).toBeUndefined();
  });
});

describe('validators for request handlers', () => {
  it('isValidUsername', () => {
    expect(['alice', 'a', 'a.b-c_9', 'a'.repeat(64)].map(isValidUsername)).toEqual([true, true, true, true]);
    expect(['', 'Alice', 'a b', 'ä', 'a/b', 'a'.repeat(65), 'alice\n'].map(isValidUsername)).toEqual([false, false, false, false, false, false, false]);
  });

  it('isValidPassword counts UTF-8 bytes, 4 to 64', () => {
    expect(['abc', 'abcd', 'p'.repeat(64), 'p'.repeat(65), 'éé', 'ééé', '😀'.repeat(16), '😀'.repeat(17)].map(isValidPassword)).toEqual([
      false, true, true, false, true, true, true, false,
    ]);
  });

  it('display, friendly and fingerprint names allow at most 64 bytes', () => {
    for (const isValid of [isValidDisplayName, isValidFriendlyName, isValidFingerprintName]) {
      expect([isValid(''), isValid('x'.repeat(64)), isValid('x'.repeat(65)), isValid('é'.repeat(32)), isValid('é'.repeat(33))]).toEqual([true, true, false, true, false]);
    }
  });

  it('utf8Length', () => {
    expect([utf8Length(''), utf8Length('abc'), utf8Length('é'), utf8Length('😀')]).toEqual([0, 3, 2, 4]);
  });
});
