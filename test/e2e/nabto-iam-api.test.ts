/**
 * Every Nabto IAM endpoint, as Nabto's CoAP handlers define it (nabto-embedded-sdk
 * src/modules/iam/coap_handler/*.c): path, body, status and the fields of the answer, against a
 * real lancam-device, with the state file checked where Nabto stores something. The rows run in
 * order (later rows rely on earlier changes). Then every endpoint that needs an IAM action is
 * refused (403) for an unpaired client, and the new endpoints' actions are Nabto's names.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Method } from '../../src/shared/protocol/frames';
import { IamActions } from '../../src/shared/iam/actions';
import { cleanupAll, startDevice, type DeviceProcess } from '../helpers/processes';
import { adminOf, deviceClient, newIdentity, type RawClient } from '../helpers/raw-client';

let device: DeviceProcess;
let admin: RawClient;
let stranger: RawClient;
const FP1 = '1'.repeat(64);
const FP2 = '2'.repeat(64);

beforeAll(async () => {
  device = await startDevice({ mdns: false, args: ['--notification-category', 'Motion', '--notification-category', 'Doorbell'] });
  admin = await adminOf(device);
  stranger = await deviceClient(device, { identity: await newIdentity('stranger') });
});
afterAll(cleanupAll);

interface StoredUser {
  Username: string;
  ServerConnectToken?: string;
  Fcm?: { Token?: string; ProjectId?: string };
  NotificationCategories?: string[];
  OauthSubject?: string;
  DisplayName?: string;
  Password?: string;
  Fingerprints: { Fingerprint: string; Name?: string }[];
}
async function stored(username: string): Promise<StoredUser | undefined> {
  const state = JSON.parse(await readFile(path.join(device.stateDir, 'iam_state.json'), 'utf8')) as { Users: StoredUser[] };
  return state.Users.find((u) => u.Username === username);
}

interface Row {
  what: string;
  method: Method;
  path: string;
  body?: unknown;
  status: number;
  /** Fields the answer must have (toMatchObject). */
  answer?: unknown;
  /** Checks after the call: the stored state, a follow-up read. */
  then?: (body: unknown) => Promise<void>;
}

const user = async (name: string) => (await admin.call('GET', `/iam/users/${name}`)).body as Record<string, unknown>;

const ROWS: Row[] = [
  // GET /iam/pairing (nm_iam_pairing_get.c): Modes with Nabto's names and the device's fields.
  { what: 'pairing info', method: 'GET', path: '/iam/pairing', status: 205, answer: { Modes: ['PasswordInvite'], AppName: 'lancam-device', NabtoVersion: expect.any(String), AppVersion: expect.any(String), ProductId: expect.stringMatching(/^pr-/), DeviceId: expect.stringMatching(/^de-/), FriendlyName: expect.any(String) } },
  // GET /iam/me (nm_iam_get_me.c): the user object.
  { what: 'me', method: 'GET', path: '/iam/me', status: 205, answer: { Username: 'admin', Role: 'Administrator', Fingerprints: [{ Fingerprint: expect.any(String), Name: 'admin laptop' }], Fingerprint: expect.any(String), Sct: expect.any(String), NotificationCategories: [] } },
  { what: 'list users', method: 'GET', path: '/iam/users', status: 205, answer: ['admin'] },
  // POST /iam/users (nm_iam_create_user.c): 201 with the user, a fresh SCT; 409 exists; 400 invalid.
  { what: 'create user', method: 'POST', path: '/iam/users', body: { Username: 'bob' }, status: 201, answer: { Username: 'bob', Fingerprints: [], NotificationCategories: [], Sct: expect.stringMatching(/^.{8,64}$/) }, then: async (b) => expect((await stored('bob'))?.ServerConnectToken).toBe((b as { Sct: string }).Sct) },
  { what: 'create existing user', method: 'POST', path: '/iam/users', body: { Username: 'bob' }, status: 409 },
  { what: 'create invalid username', method: 'POST', path: '/iam/users', body: { Username: 'Bob!' }, status: 400 },
  { what: 'create without Username', method: 'POST', path: '/iam/users', body: {}, status: 400 },
  { what: 'get user', method: 'GET', path: '/iam/users/bob', status: 205, answer: { Username: 'bob' } },
  { what: 'get unknown user', method: 'GET', path: '/iam/users/nobody', status: 404 },
  // PUT /iam/users/{u}/role (nm_iam_set_user_role.c)
  { what: 'set role', method: 'PUT', path: '/iam/users/bob/role', body: 'Standard', status: 204, then: async () => expect(await user('bob')).toMatchObject({ Role: 'Standard' }) },
  { what: 'set unknown role', method: 'PUT', path: '/iam/users/bob/role', body: 'NoSuchRole', status: 404 },
  // PUT …/display-name (nm_iam_set_user_display_name.c): a string, or null to clear.
  { what: 'set display name', method: 'PUT', path: '/iam/users/bob/display-name', body: 'Bob', status: 204, then: async () => expect(await user('bob')).toMatchObject({ DisplayName: 'Bob' }) },
  { what: 'display name too long', method: 'PUT', path: '/iam/users/bob/display-name', body: 'x'.repeat(65), status: 400 },
  { what: 'clear display name (null)', method: 'PUT', path: '/iam/users/bob/display-name', body: null, status: 204, then: async () => expect((await stored('bob'))?.DisplayName).toBeUndefined() },
  // PUT …/password (nm_iam_set_user_password.c): 4-64 bytes, or null to clear.
  { what: 'set password', method: 'PUT', path: '/iam/users/bob/password', body: 'bob-pass-1', status: 204, then: async () => expect((await stored('bob'))?.Password).toBe('bob-pass-1') },
  { what: 'password too short', method: 'PUT', path: '/iam/users/bob/password', body: 'abc', status: 400 },
  { what: 'clear password (null)', method: 'PUT', path: '/iam/users/bob/password', body: null, status: 204, then: async () => expect((await stored('bob'))?.Password).toBeUndefined() },
  { what: 'password for unknown user', method: 'PUT', path: '/iam/users/nobody/password', body: 'abcd', status: 404 },
  // PUT …/fingerprints/{fp} (nm_iam_add_user_fingerprint.c): {FingerprintName}.
  { what: 'add fingerprint with FingerprintName', method: 'PUT', path: `/iam/users/bob/fingerprints/${FP1}`, body: { FingerprintName: 'Phone' }, status: 204, then: async () => expect(await user('bob')).toMatchObject({ Fingerprints: [{ Fingerprint: FP1, Name: 'Phone' }], Fingerprint: FP1 }) },
  { what: "add another user's fingerprint", method: 'PUT', path: `/iam/users/admin/fingerprints/${FP1}`, body: {}, status: 409 },
  { what: 'add malformed fingerprint', method: 'PUT', path: '/iam/users/bob/fingerprints/abc', body: {}, status: 400 },
  // PUT …/fingerprint (nm_iam_set_user_fingerprint.c, legacy): replaces the first key.
  { what: 'set legacy fingerprint', method: 'PUT', path: '/iam/users/bob/fingerprint', body: FP2, status: 204, then: async () => expect((await stored('bob'))?.Fingerprints).toEqual([{ Fingerprint: FP2, Name: 'Phone' }]) },
  { what: 'set legacy fingerprint taken', method: 'PUT', path: '/iam/users/bob/fingerprint', body: FP2, status: 409 },
  { what: 'set legacy fingerprint of wrong length', method: 'PUT', path: '/iam/users/bob/fingerprint', body: 'ab'.repeat(31), status: 400 },
  // DELETE …/fingerprints/{fp} (nm_iam_delete_user_fingerprint.c)
  { what: 'delete fingerprint', method: 'DELETE', path: `/iam/users/bob/fingerprints/${FP2}`, status: 202, then: async () => expect((await stored('bob'))?.Fingerprints).toEqual([]) },
  { what: 'delete missing fingerprint', method: 'DELETE', path: `/iam/users/bob/fingerprints/${FP2}`, status: 404 },
  // PUT …/sct (nm_iam_set_user_sct.c): at most 64 bytes.
  { what: 'set sct', method: 'PUT', path: '/iam/users/bob/sct', body: 'sct-bob-42', status: 204, then: async () => { expect((await stored('bob'))?.ServerConnectToken).toBe('sct-bob-42'); expect(await user('bob')).toMatchObject({ Sct: 'sct-bob-42' }); } },
  { what: 'sct too long', method: 'PUT', path: '/iam/users/bob/sct', body: 's'.repeat(65), status: 400 },
  { what: 'sct not a string', method: 'PUT', path: '/iam/users/bob/sct', body: 42, status: 400 },
  // POST …/fcm-test before any FCM settings: 404 (nm_iam_send_fcm_test.c: "User FCM config not found").
  { what: 'fcm test without FCM settings', method: 'POST', path: '/iam/users/bob/fcm-test', status: 404 },
  // PUT …/fcm (nm_iam_set_user_fcm.c): {Token, ProjectId}.
  { what: 'set fcm', method: 'PUT', path: '/iam/users/bob/fcm', body: { Token: 'fcm-tok', ProjectId: 'fcm-proj' }, status: 204, then: async () => { expect((await stored('bob'))?.Fcm).toEqual({ Token: 'fcm-tok', ProjectId: 'fcm-proj' }); expect(await user('bob')).toMatchObject({ Fcm: { Token: 'fcm-tok', ProjectId: 'fcm-proj' } }); } },
  { what: 'fcm without ProjectId', method: 'PUT', path: '/iam/users/bob/fcm', body: { Token: 'x' }, status: 400 },
  // POST …/fcm-test with FCM settings: no push service on a lancam camera, said plainly.
  { what: 'fcm test without a push service', method: 'POST', path: '/iam/users/bob/fcm-test', status: 503, answer: { error: { message: expect.stringContaining('no push notification service') } } },
  // GET /iam/notification-categories (nm_iam_get_notification_categories.c)
  { what: 'list notification categories', method: 'GET', path: '/iam/notification-categories', status: 205, answer: ['Motion', 'Doorbell'] },
  // PUT …/notification-categories (nm_iam_set_user_notification_categories.c): known ones only.
  { what: 'set notification categories', method: 'PUT', path: '/iam/users/bob/notification-categories', body: ['Motion'], status: 204, then: async () => { expect((await stored('bob'))?.NotificationCategories).toEqual(['Motion']); expect(await user('bob')).toMatchObject({ NotificationCategories: ['Motion'] }); } },
  { what: 'set unknown notification category', method: 'PUT', path: '/iam/users/bob/notification-categories', body: ['Nope'], status: 400 },
  { what: 'notification categories not a list', method: 'PUT', path: '/iam/users/bob/notification-categories', body: 'Motion', status: 400 },
  // PUT …/oauth-subject (nm_iam_set_user_oauth_subject.c)
  { what: 'set oauth subject', method: 'PUT', path: '/iam/users/bob/oauth-subject', body: 'google|123', status: 204, then: async () => { expect((await stored('bob'))?.OauthSubject).toBe('google|123'); expect(await user('bob')).toMatchObject({ OauthSubject: 'google|123' }); } },
  { what: 'oauth subject too long', method: 'PUT', path: '/iam/users/bob/oauth-subject', body: 'o'.repeat(65), status: 400 },
  { what: 'clear oauth subject (null)', method: 'PUT', path: '/iam/users/bob/oauth-subject', body: null, status: 204, then: async () => expect((await stored('bob'))?.OauthSubject).toBeUndefined() },
  // PUT …/username (nm_iam_set_user_name.c)
  { what: 'rename user', method: 'PUT', path: '/iam/users/bob/username', body: 'robert', status: 204, then: async () => expect((await admin.call('GET', '/iam/users')).body).toEqual(['admin', 'robert']) },
  { what: 'rename to an existing user', method: 'PUT', path: '/iam/users/robert/username', body: 'admin', status: 409 },
  // GET /iam/roles (nm_iam_list_roles.c), settings (nm_iam_settings_*.c), device info (nm_iam_device_info_set.c)
  { what: 'list roles', method: 'GET', path: '/iam/roles', status: 205, answer: expect.arrayContaining(['Administrator', 'Standard', 'Guest']) },
  { what: 'get settings', method: 'GET', path: '/iam/settings', status: 205, answer: { LocalOpenPairing: true, PasswordInvitePairing: true, PasswordOpenPairing: false } },
  { what: 'set a setting', method: 'PUT', path: '/iam/settings/password-invite-pairing', body: false, status: 204 },
  { what: 'unknown setting', method: 'PUT', path: '/iam/settings/no-such-thing', body: true, status: 404 },
  { what: 'pairing info after the change', method: 'GET', path: '/iam/pairing', status: 205, answer: { Modes: [] } },
  { what: 'set friendly name', method: 'PUT', path: '/iam/device-info/friendly-name', body: 'Nabto table cam', status: 204 },
  // DELETE /iam/users/{u} (nm_iam_delete_user.c)
  { what: 'delete user', method: 'DELETE', path: '/iam/users/robert', status: 202 },
  { what: 'delete deleted user', method: 'DELETE', path: '/iam/users/robert', status: 404 },
];

describe("Nabto's IAM API, endpoint by endpoint", () => {
  it.each(ROWS.map((r, i) => [`${i + 1}. ${r.what}: ${r.method} ${r.path}`, r] as const))('%s', async (_name, row) => {
    const res = await admin.call(row.method, row.path, row.body);
    expect(res.status, JSON.stringify(res.body)).toBe(row.status);
    if (row.answer !== undefined) expect(res.body).toMatchObject(row.answer as object);
    await row.then?.(res.body);
  });
});

describe("Nabto's actions guard the endpoints", () => {
  const guarded: [Method, string, unknown, string][] = [
    ['PUT', '/iam/users/admin/fingerprint', FP1, IamActions.SetUserFingerprint],
    ['PUT', '/iam/users/admin/sct', 'x', IamActions.SetUserSct],
    ['PUT', '/iam/users/admin/fcm', { Token: 't', ProjectId: 'p' }, IamActions.SetUserFcm],
    ['POST', '/iam/users/admin/fcm-test', undefined, IamActions.SendUserFcmTest],
    ['PUT', '/iam/users/admin/notification-categories', [], IamActions.SetUserNotificationCategories],
    ['PUT', '/iam/users/admin/oauth-subject', 's', IamActions.SetUserOauthSubject],
    ['GET', '/iam/notification-categories', undefined, IamActions.ListNotificationCategories],
    ['PUT', `/iam/users/admin/fingerprints/${FP1}`, { FingerprintName: 'x' }, IamActions.SetUserFingerprint],
    ['PUT', '/iam/users/admin/password', null, IamActions.SetUserPassword],
    ['PUT', '/iam/users/admin/display-name', null, IamActions.SetUserDisplayName],
    ['POST', '/iam/users', { Username: 'intruder' }, IamActions.CreateUser],
    ['GET', '/iam/users/admin', undefined, IamActions.GetUser],
  ];
  it.each(guarded)('%s %s: 403 for an unpaired client, naming %s', async (method, route, body, action) => {
    const res = await stranger.call(method, route, body);
    expect(res.status).toBe(403);
    expect(JSON.stringify(res.body)).toContain(action);
  });

  it('the actions have Nabto\'s names', () => {
    expect(IamActions).toMatchObject({
      SetUserFingerprint: 'IAM:SetUserFingerprint',
      SetUserSct: 'IAM:SetUserSct',
      SetUserFcm: 'IAM:SetUserFcm',
      SetUserNotificationCategories: 'IAM:SetUserNotificationCategories',
      SetUserOauthSubject: 'IAM:SetUserOauthSubject',
      ListNotificationCategories: 'IAM:ListNotificationCategories',
      SendUserFcmTest: 'IAM:SendUserFcmTest',
    });
  });
});
