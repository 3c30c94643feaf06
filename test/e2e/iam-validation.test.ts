/**
 * Input validation of the IAM API on a real `lancam-device`, from a paired Administrator (so
 * that nothing is refused for lack of rights): well over 100 malformed requests, each answered
 * 400, and the IAM state file byte-for-byte the same afterwards. Then the other refusals (404
 * unknown setting / user / role, 409 duplicates), which must not touch the state either.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Method } from '../../src/shared/protocol/frames';
import { cleanupAll, startDevice, type DeviceProcess } from '../helpers/processes';
import { rawClient, type RawClient } from '../helpers/raw-client';

let device: DeviceProcess;
let admin: RawClient;
let stateFile: string;
const opened: RawClient[] = [];

/** A fresh connection as the admin (same key): each connection has its own request budget. */
async function adminConnection(): Promise<RawClient> {
  const c = await rawClient(device.port, { identity: admin.identity, expect: device.fingerprint });
  opened.push(c);
  return c;
}

beforeAll(async () => {
  device = await startDevice({ mdns: false });
  stateFile = path.join(device.stateDir, 'iam_state.json');
  admin = await rawClient(device.port, { expect: device.fingerprint });
  opened.push(admin);
  expect((await admin.call('POST', '/iam/pairing/local-initial', { FingerprintName: 'admin laptop' })).status).toBe(201);
  // The user "u" that the requests aim at, with a role, a display name and a key.
  expect((await admin.call('POST', '/iam/users', { Username: 'u' })).status).toBe(201);
  expect((await admin.call('PUT', '/iam/users/u/role', 'Guest')).status).toBe(204);
  expect((await admin.call('PUT', '/iam/users/u/display-name', 'You')).status).toBe(204);
  expect((await admin.call('PUT', `/iam/users/u/fingerprints/${'ab'.repeat(32)}`, { Name: 'u phone' })).status).toBe(204);
});

afterAll(async () => {
  for (const c of opened.splice(0)) c.close();
  await cleanupAll();
});

interface Case {
  name: string;
  method: Method;
  path: string;
  body?: unknown;
}

const VALID_FP = 'cd'.repeat(32);
const A65 = 'a'.repeat(65);

/** Usernames that break the rule `[a-z0-9_.-]{1,64}`. */
const BAD_USERNAMES: [label: string, value: string][] = [
  ['upper case', 'Bob'],
  ['space', 'bo b'],
  ['65 chars', A65],
  ['unicode', 'bjørn'],
  ['path traversal', '../x'],
  ['NUL', '\u0000'],
  ['slash', 'a/b'],
  ['newline', 'admin\n'],
  ['percent', 'x%y'],
];

/** Endpoints with the username in the path, each with an otherwise valid body. */
const USER_PATH_ENDPOINTS: [method: Method, suffix: string, body?: unknown][] = [
  ['GET', ''],
  ['DELETE', ''],
  ['PUT', '/role', 'Guest'],
  ['PUT', '/display-name', 'Name'],
  ['PUT', '/password', 'pass-1234'],
  ['PUT', '/username', 'renamed'],
  ['PUT', `/fingerprints/${VALID_FP}`, {}],
  ['DELETE', `/fingerprints/${VALID_FP}`],
];

const BAD_FINGERPRINTS: [label: string, value: string][] = [
  ['65 hex chars', 'a'.repeat(65)],
  ['63 hex chars', 'a'.repeat(63)],
  ['non-hex', 'g'.repeat(64)],
  ['upper case hex', 'AB'.repeat(32)],
  ['grouped with spaces', `${'abcd '.repeat(15)}abcd`],
];

const WRONG_TYPES: [label: string, value: unknown][] = [
  ['number', 42],
  ['object', { value: 'x' }],
  ['array', ['x']],
  ['null', null],
];

function cases(): Case[] {
  const list: Case[] = [];
  // Bad usernames in paths (percent-encoded, as a client must; the device decodes them).
  for (const [label, name] of BAD_USERNAMES) {
    for (const [method, suffix, body] of USER_PATH_ENDPOINTS) {
      list.push({ name: `${method} /iam/users/<${label}>${suffix.replace(VALID_FP, '<fp>')}`, method, path: `/iam/users/${encodeURIComponent(name)}${suffix}`, body });
    }
  }
  // "%00" written literally in the path.
  list.push({ name: 'GET /iam/users/%00', method: 'GET', path: '/iam/users/%00' });
  list.push({ name: 'PUT /iam/users/u%00/role', method: 'PUT', path: '/iam/users/u%00/role', body: 'Guest' });
  // An empty username in a path is not even a well-formed request path.
  list.push({ name: 'PUT /iam/users//role (empty username)', method: 'PUT', path: '/iam/users//role', body: 'Guest' });
  // Bad usernames in bodies.
  for (const [label, name] of [...BAD_USERNAMES, ['empty', ''] as [string, string]]) {
    list.push({ name: `POST /iam/users {Username: <${label}>}`, method: 'POST', path: '/iam/users', body: { Username: name } });
    list.push({ name: `PUT /iam/users/u/username <${label}>`, method: 'PUT', path: '/iam/users/u/username', body: name });
  }
  // Bad fingerprints.
  for (const [label, fp] of BAD_FINGERPRINTS) {
    list.push({ name: `PUT /iam/users/u/fingerprints/<${label}>`, method: 'PUT', path: `/iam/users/u/fingerprints/${encodeURIComponent(fp)}`, body: { Name: 'x' } });
    list.push({ name: `DELETE /iam/users/u/fingerprints/<${label}>`, method: 'DELETE', path: `/iam/users/u/fingerprints/${encodeURIComponent(fp)}` });
  }
  // Wrong types where a string is expected.
  for (const [label, value] of [...WRONG_TYPES, ['boolean', true] as [string, unknown], ['missing', undefined] as [string, unknown]]) {
    list.push({ name: `POST /iam/users <${label}> body`, method: 'POST', path: '/iam/users', body: value });
    list.push({ name: `POST /iam/users {Username: <${label}>}`, method: 'POST', path: '/iam/users', body: { Username: value } });
    list.push({ name: `PUT role <${label}>`, method: 'PUT', path: '/iam/users/u/role', body: value });
    // null clears a display name, a password and an OAuth subject (as in Nabto): not wrong there.
    if (value !== null) {
      list.push({ name: `PUT display-name <${label}>`, method: 'PUT', path: '/iam/users/u/display-name', body: value });
      list.push({ name: `PUT password <${label}>`, method: 'PUT', path: '/iam/users/u/password', body: value });
      list.push({ name: `PUT oauth-subject <${label}>`, method: 'PUT', path: '/iam/users/u/oauth-subject', body: value });
    }
    list.push({ name: `PUT sct <${label}>`, method: 'PUT', path: '/iam/users/u/sct', body: value });
    list.push({ name: `PUT fingerprint (legacy) <${label}>`, method: 'PUT', path: '/iam/users/u/fingerprint', body: value });
    list.push({ name: `PUT fcm <${label}>`, method: 'PUT', path: '/iam/users/u/fcm', body: value });
    list.push({ name: `PUT fcm {Token: <${label}>}`, method: 'PUT', path: '/iam/users/u/fcm', body: { Token: value, ProjectId: 'p' } });
    list.push({ name: `PUT notification-categories [<${label}>]`, method: 'PUT', path: '/iam/users/u/notification-categories', body: [value] });
    list.push({ name: `PUT friendly-name <${label}>`, method: 'PUT', path: '/iam/device-info/friendly-name', body: value });
    list.push({ name: `PUT settings/password-open-password <${label}>`, method: 'PUT', path: '/iam/settings/password-open-password', body: value });
    list.push({ name: `PUT settings/open-pairing-role <${label}>`, method: 'PUT', path: '/iam/settings/open-pairing-role', body: value });
    // (An absent Name is valid here: {Name: undefined} is {} on the wire.)
    if (value !== undefined) list.push({ name: `PUT fingerprint {Name: <${label}>}`, method: 'PUT', path: `/iam/users/u/fingerprints/${VALID_FP}`, body: { Name: value } });
    if (value !== undefined) list.push({ name: `PUT fingerprint {FingerprintName: <${label}>}`, method: 'PUT', path: `/iam/users/u/fingerprints/${VALID_FP}`, body: { FingerprintName: value } });
  }
  // Wrong types where a boolean is expected.
  for (const key of ['local-open-pairing', 'local-initial-pairing', 'password-open-pairing', 'password-invite-pairing']) {
    for (const [label, value] of [...WRONG_TYPES, ['string "true"', 'true'] as [string, unknown], ['number 1', 1] as [string, unknown], ['missing', undefined] as [string, unknown]]) {
      list.push({ name: `PUT settings/${key} <${label}>`, method: 'PUT', path: `/iam/settings/${key}`, body: value });
    }
  }
  // Sizes.
  list.push({ name: 'display name of 65 bytes', method: 'PUT', path: '/iam/users/u/display-name', body: A65 });
  list.push({ name: 'display name of 66 bytes in 33 characters', method: 'PUT', path: '/iam/users/u/display-name', body: 'é'.repeat(33) });
  list.push({ name: 'display name of 68 bytes in 17 emoji', method: 'PUT', path: '/iam/users/u/display-name', body: '😀'.repeat(17) });
  list.push({ name: 'display name of 10 KiB', method: 'PUT', path: '/iam/users/u/display-name', body: 'x'.repeat(10_240) });
  list.push({ name: 'password of 65 bytes', method: 'PUT', path: '/iam/users/u/password', body: A65 });
  list.push({ name: 'password of 3 bytes', method: 'PUT', path: '/iam/users/u/password', body: 'abc' });
  list.push({ name: 'password of 3 bytes in one character', method: 'PUT', path: '/iam/users/u/password', body: '€' });
  list.push({ name: 'password of 66 bytes in 22 characters', method: 'PUT', path: '/iam/users/u/password', body: '€'.repeat(22) });
  list.push({ name: 'open pairing password of 3 bytes', method: 'PUT', path: '/iam/settings/password-open-password', body: 'abc' });
  list.push({ name: 'open pairing password of 65 bytes', method: 'PUT', path: '/iam/settings/password-open-password', body: A65 });
  list.push({ name: 'open pairing role empty', method: 'PUT', path: '/iam/settings/open-pairing-role', body: '' });
  list.push({ name: 'open pairing role of 65 chars', method: 'PUT', path: '/iam/settings/open-pairing-role', body: A65 });
  list.push({ name: 'role empty', method: 'PUT', path: '/iam/users/u/role', body: '' });
  list.push({ name: 'role of 65 chars', method: 'PUT', path: '/iam/users/u/role', body: A65 });
  list.push({ name: 'fingerprint name of 65 bytes', method: 'PUT', path: `/iam/users/u/fingerprints/${VALID_FP}`, body: { Name: A65 } });
  // Friendly names.
  for (const [label, value] of [
    ['empty', ''],
    ['newline', 'cam\nera'],
    ['NUL', 'cam\u0000'],
    ['tab', 'cam\tera'],
    ['escape', '\u001b[31mred'],
    ['DEL', 'cam\u007f'],
    ['65 bytes', A65],
    ['66 bytes in 33 characters', 'ö'.repeat(33)],
  ] as const) {
    list.push({ name: `friendly name <${label}>`, method: 'PUT', path: '/iam/device-info/friendly-name', body: value });
  }
  // Unknown fields in strict bodies.
  list.push({ name: 'POST /iam/users with an extra field', method: 'POST', path: '/iam/users', body: { Username: 'extra-1', Role: 'Administrator' } });
  list.push({ name: 'POST /iam/users with a lower-case field name', method: 'POST', path: '/iam/users', body: { username: 'extra-2' } });
  list.push({ name: 'PUT fingerprint with an extra field', method: 'PUT', path: `/iam/users/u/fingerprints/${VALID_FP}`, body: { Name: 'x', Owner: 'admin' } });
  list.push({ name: 'PUT fingerprint with a non-object body', method: 'PUT', path: `/iam/users/u/fingerprints/${VALID_FP}`, body: 'x' });
  list.push({ name: 'local-initial with an extra field', method: 'POST', path: '/iam/pairing/local-initial', body: { FingerprintName: 'x', Username: 'admin' } });
  list.push({ name: 'local-open with an extra field', method: 'POST', path: '/iam/pairing/local-open', body: { Username: 'lo', Role: 'Administrator' } });
  list.push({ name: 'local-open with a bad username', method: 'POST', path: '/iam/pairing/local-open', body: { Username: 'Lo' } });
  list.push({ name: 'password-open with an extra field', method: 'POST', path: '/iam/pairing/password-open', body: { Username: 'po', Extra: 1 } });
  list.push({ name: 'password-invite with an extra field', method: 'POST', path: '/iam/pairing/password-invite', body: { Extra: 1 } });
  list.push({ name: 'password-auth/start with a bad T', method: 'POST', path: '/iam/pairing/password-auth/start', body: { Username: 'u', T: '!'.repeat(87) } });
  list.push({ name: 'password-auth/start with a short T', method: 'POST', path: '/iam/pairing/password-auth/start', body: { Username: 'u', T: 'AAAA' } });
  list.push({ name: 'password-auth/start with an extra field', method: 'POST', path: '/iam/pairing/password-auth/start', body: { Username: 'u', T: 'A'.repeat(87), Password: 'x' } });
  list.push({ name: 'password-auth/finish with a short Kc', method: 'POST', path: '/iam/pairing/password-auth/finish', body: { Kc: 'AAAA' } });
  return list;
}

const CASES = cases();

describe('malformed requests from a paired administrator', () => {
  it(`has at least 100 distinct cases (${CASES.length})`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(100);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it('answers every one with 400 and leaves the IAM state file byte-identical', async () => {
    const before = await readFile(stateFile);
    const wrong: string[] = [];
    let c = await adminConnection();
    for (const [i, test] of CASES.entries()) {
      // Stay inside the per-connection request budget (burst 100) and the invalid-frame allowance.
      if (i > 0 && i % 40 === 0) {
        c.close();
        c = await adminConnection();
      }
      const res = await c.call(test.method, test.path, test.body);
      // 400 from the handler's validation ("bad-request"); only the empty path segment is already
      // refused as a malformed frame.
      const code = (res.body as { error?: { code?: string } } | undefined)?.error?.code;
      const expectedCode = test.path.includes('//') ? 'bad-frame' : 'bad-request';
      if (res.status !== 400 || code !== expectedCode) wrong.push(`${test.name}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    expect(wrong).toEqual([]);
    const after = await readFile(stateFile);
    expect(after.equals(before)).toBe(true);
    // The device is still fine and unchanged.
    const users = (await c.call('GET', '/iam/users')).body as string[];
    expect(users.sort()).toEqual(['admin', 'u']);
    // Nabto's user object exactly (lancam's optional `Lancam` presence member aside).
    const { Lancam: _presence, ...nabtoUser } = (await c.call('GET', '/iam/users/u')).body as Record<string, unknown>;
    expect(nabtoUser).toEqual({
      Username: 'u',
      DisplayName: 'You',
      Role: 'Guest',
      Fingerprints: [{ Fingerprint: 'ab'.repeat(32), Name: 'u phone' }],
      Fingerprint: 'ab'.repeat(32),
      Sct: expect.any(String),
      NotificationCategories: [],
      HasPassword: false,
    });
  });
});

describe('other refusals leave the state alone', () => {
  const REFUSALS: { name: string; method: Method; path: string; body?: unknown; status: number }[] = [
    { name: 'unknown setting', method: 'PUT', path: '/iam/settings/no-such-setting', body: true, status: 404 },
    { name: 'setting key in another case', method: 'PUT', path: '/iam/settings/Local-Open-Pairing', body: true, status: 404 },
    { name: 'setting key __proto__', method: 'PUT', path: '/iam/settings/__proto__', body: true, status: 404 },
    { name: 'setting key toString', method: 'PUT', path: '/iam/settings/toString', body: 'x', status: 404 },
    { name: 'unknown open pairing role', method: 'PUT', path: '/iam/settings/open-pairing-role', body: 'NoSuchRole', status: 404 },
    { name: 'GET unknown user', method: 'GET', path: '/iam/users/ghost', status: 404 },
    { name: 'DELETE unknown user', method: 'DELETE', path: '/iam/users/ghost', status: 404 },
    { name: 'role of unknown user', method: 'PUT', path: '/iam/users/ghost/role', body: 'Guest', status: 404 },
    { name: 'unknown role', method: 'PUT', path: '/iam/users/u/role', body: 'NoSuchRole', status: 404 },
    { name: 'display name of unknown user', method: 'PUT', path: '/iam/users/ghost/display-name', body: 'Ghost', status: 404 },
    { name: 'password of unknown user', method: 'PUT', path: '/iam/users/ghost/password', body: 'pass-1234', status: 404 },
    { name: 'rename unknown user', method: 'PUT', path: '/iam/users/ghost/username', body: 'ghost2', status: 404 },
    { name: 'key of unknown user', method: 'PUT', path: `/iam/users/ghost/fingerprints/${VALID_FP}`, body: {}, status: 404 },
    { name: 'remove a key the user lacks', method: 'DELETE', path: `/iam/users/u/fingerprints/${VALID_FP}`, status: 404 },
    { name: 'create an existing user', method: 'POST', path: '/iam/users', body: { Username: 'u' }, status: 409 },
    { name: 'create the admin again', method: 'POST', path: '/iam/users', body: { Username: 'admin' }, status: 409 },
    { name: 'rename onto an existing user', method: 'PUT', path: '/iam/users/u/username', body: 'admin', status: 409 },
    { name: "give u the admin's key", method: 'PUT', path: '/iam/users/u/fingerprints/<admin>', body: {}, status: 409 },
    // The mode switched itself off when used: Nabto answers an off mode 404.
    { name: 'local initial pairing again', method: 'POST', path: '/iam/pairing/local-initial', body: {}, status: 404 },
  ];

  it.each(REFUSALS)('$name: $method $path -> $status, state unchanged', async ({ method, path: p, body, status }) => {
    const before = await readFile(stateFile);
    const c = await adminConnection();
    const res = await c.call(method, p.replace('<admin>', admin.identity.fingerprint), body);
    c.close();
    expect(res.status).toBe(status);
    expect((await readFile(stateFile)).equals(before)).toBe(true);
  });
});
