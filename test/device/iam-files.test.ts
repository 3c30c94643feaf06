/**
 * Real Nabto Edge IAM files (../shared/fixtures/nabto) used in place by `lancam-device`
 * (--iam-config, --iam-state): the daemon starts on them, shows their friendly name and the
 * pairing modes their flags give, and after a change rewrites the state as Version 2 that still
 * loads and keeps every user and field the fixture had. The config file is never rewritten.
 */
import { copyFile, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assertStateMatchesConfig, parseIamConfig, parseIamState } from '../../src/shared/iam/schema';
import { cleanupAll, SHARED, startDevice, tempDir, type DeviceProcess } from '../helpers/processes';
import { deviceClient, passwordAuth } from '../helpers/raw-client';

const FIXTURES = path.join(SHARED, 'fixtures/nabto');
afterEach(cleanupAll);

type Json = Record<string, unknown>;
interface FixtureUser extends Json {
  Username: string;
  Fingerprint?: string;
  Fingerprints?: { Fingerprint: string }[];
}
interface FixtureState extends Json {
  Version: number;
  FriendlyName?: string;
  LocalInitialPairing?: boolean;
  LocalOpenPairing?: boolean;
  PasswordOpenPairing?: boolean;
  PasswordInvitePairing?: boolean;
  OpenPairingPassword?: string;
  OpenPairingRole?: string;
  InitialPairingUsername?: string;
  Users: FixtureUser[];
}

interface Fixture {
  name: string;
  dir: string;
  configFile: string;
  stateFile: string;
}

async function fixtures(): Promise<Fixture[]> {
  const list: Fixture[] = [];
  for (const name of (await readdir(FIXTURES)).sort()) {
    const dir = path.join(FIXTURES, name);
    const files = await readdir(dir);
    const config = files.find((f) => f.endsWith('iam_config.json'));
    const state = files.find((f) => f.endsWith('iam_state.json'));
    if (config && state) list.push({ name, dir, configFile: config, stateFile: state });
  }
  return list;
}

const ALL = await fixtures();

/** Copies a fixture's IAM files (and its device.json) and starts the daemon on them in place. */
async function startOnFixture(fixture: Fixture): Promise<{ device: DeviceProcess; configFile: string; stateFile: string; stateDir: string }> {
  const filesDir = await tempDir('lancam-nabto-');
  const stateDir = await tempDir('lancam-nabto-state-');
  const configFile = path.join(filesDir, fixture.configFile);
  const stateFile = path.join(filesDir, fixture.stateFile);
  await copyFile(path.join(fixture.dir, fixture.configFile), configFile);
  await copyFile(path.join(fixture.dir, fixture.stateFile), stateFile);
  const deviceJson = path.join(fixture.dir, 'device.json');
  if ((await readdir(fixture.dir)).includes('device.json')) await copyFile(deviceJson, path.join(stateDir, 'device.json'));
  const device = await startDevice({ mdns: false, stateDir, args: ['--iam-config', configFile, '--iam-state', stateFile] });
  return { device, configFile, stateFile, stateDir };
}

function fingerprintsOf(user: FixtureUser): string[] {
  return user.Fingerprints?.map((f) => f.Fingerprint) ?? (user.Fingerprint ? [user.Fingerprint] : []);
}

/** The modes an unpaired local client should be offered, from the fixture's own flags. */
function expectedModes(state: FixtureState): string[] {
  const initial = state.Users.find((u) => u.Username === state.InitialPairingUsername);
  const modes: string[] = [];
  // The initial user must exist: lancam never re-creates a removed one.
  if (state.LocalInitialPairing && initial && fingerprintsOf(initial).length === 0) modes.push('local-initial');
  // local-open: only inside the pairing window, which is closed at start.
  if (state.PasswordOpenPairing && state.OpenPairingPassword) modes.push('password-open');
  if (state.PasswordInvitePairing) modes.push('password-invite');
  return modes;
}

describe('Nabto IAM fixtures in place', () => {
  it('finds the fixtures', () => {
    expect(ALL.map((f) => f.name)).toEqual(expect.arrayContaining(['localPairLocalInitial', 'localPasswordInvite']));
  });

  it.each(ALL.map((f) => [f.name, f] as const))('%s: starts, shows its name and modes, pairs, and rewrites the state as Version 2 keeping everything', async (_name, fixture) => {
    const original = JSON.parse(await readFile(path.join(fixture.dir, fixture.stateFile), 'utf8')) as FixtureState;
    const configBytes = await readFile(path.join(fixture.dir, fixture.configFile));
    const config = parseIamConfig(JSON.parse(configBytes.toString('utf8')));
    const { device, configFile, stateFile } = await startOnFixture(fixture);

    const deviceIds = JSON.parse(await readFile(path.join(fixture.dir, 'device.json'), 'utf8')) as { DeviceId: string; ProductId: string };
    const c = await deviceClient(device);
    const info = (await c.call('GET', '/device/info')).body as { FriendlyName: string; DeviceId: string; ProductId: string };
    expect(info.DeviceId).toBe(deviceIds.DeviceId);
    expect(info.ProductId).toBe(deviceIds.ProductId);
    expect(info.FriendlyName).toBe(original.FriendlyName ?? '');
    const pairing = await c.call('GET', '/iam/pairing');
    expect(pairing.status).toBe(205);
    expect((pairing.body as { Modes: string[] }).Modes).toEqual(expectedModes(original));
    // Nothing was written by starting.
    expect((await readFile(stateFile)).equals(await readFile(path.join(fixture.dir, fixture.stateFile)))).toBe(true);

    // A change, by the first mode the fixture offers.
    const modes = expectedModes(original);
    let pairedAs: string;
    if (modes.includes('local-initial')) {
      const res = await c.call('POST', '/iam/pairing/local-initial', { FingerprintName: 'fixture test' });
      expect(res.status).toBe(201);
      pairedAs = original.InitialPairingUsername!;
      expect(res.body).toMatchObject({ Username: pairedAs });
    } else if (modes.includes('password-open')) {
      expect(await passwordAuth(c, '', original.OpenPairingPassword!)).toMatchObject({ stage: 'finish', response: { status: 204 } });
      const res = await c.call('POST', '/iam/pairing/password-open', { Username: 'fixture-user', FingerprintName: 'fixture test' });
      expect(res.status).toBe(201);
      pairedAs = 'fixture-user';
      expect(res.body).toMatchObject({ Username: pairedAs, Role: original.OpenPairingRole });
    } else {
      throw new Error(`fixture ${fixture.name} offers no pairing mode this test knows: ${modes.join(', ')}`);
    }

    // The rewritten state: Version 2, loads, matches the config.
    const rewritten = JSON.parse(await readFile(stateFile, 'utf8')) as FixtureState;
    expect(rewritten.Version).toBe(2);
    const parsed = parseIamState(rewritten);
    expect(() => assertStateMatchesConfig(parsed, config)).not.toThrow();
    // Every top-level field of the fixture is kept with its value, except that local initial
    // pairing switches itself off once used (it works once).
    for (const [key, value] of Object.entries(original)) {
      if (key === 'Version' || key === 'Users') continue;
      const expected = key === 'LocalInitialPairing' && modes.includes('local-initial') ? false : value;
      expect(rewritten[key], key).toEqual(expected);
    }
    // Every user of the fixture is kept with all its fields (a V1 Fingerprint becomes Fingerprints).
    for (const user of original.Users) {
      const now = rewritten.Users.find((u) => u.Username === user.Username);
      expect(now, user.Username).toBeDefined();
      for (const [key, value] of Object.entries(user)) {
        if (key === 'Fingerprint' || key === 'Fingerprints') continue;
        expect(now![key], `${user.Username}.${key}`).toEqual(value);
      }
      for (const fp of fingerprintsOf(user)) expect(fingerprintsOf(now!)).toContain(fp);
    }
    // The new key is there, on the right user.
    const paired = rewritten.Users.find((u) => u.Username === pairedAs)!;
    expect(paired.Fingerprints).toContainEqual({ Fingerprint: c.identity.fingerprint, Name: 'fixture test' });
    expect(rewritten.Users.length).toBe(original.Users.length + (original.Users.some((u) => u.Username === pairedAs) ? 0 : 1));
    // The config file is never rewritten.
    expect((await readFile(configFile)).equals(configBytes)).toBe(true);

    // The rewritten files load again: the paired client is recognized after a restart.
    await device.stop();
    const again = await startDevice({ mdns: false, stateDir: device.stateDir, args: ['--iam-config', configFile, '--iam-state', stateFile] });
    const back = await deviceClient(again, { identity: c.identity });
    expect((await back.call('GET', '/iam/me')).body).toMatchObject({ Username: pairedAs });
    expect((await back.call('GET', '/device/info')).body).toMatchObject({ FriendlyName: original.FriendlyName ?? '', DeviceId: deviceIds.DeviceId });
  });

  it('localPairLocalInitial: named "I Have a Name!", offers only local initial pairing; its admin keeps its token and empty password', async () => {
    const fixture = ALL.find((f) => f.name === 'localPairLocalInitial')!;
    const { device, stateFile } = await startOnFixture(fixture);
    const c = await deviceClient(device);
    expect((await c.call('GET', '/device/info')).body).toMatchObject({ FriendlyName: 'I Have a Name!' });
    expect(((await c.call('GET', '/iam/pairing')).body as { Modes: string[] }).Modes).toEqual(['local-initial']);
    // Password invite is off in this fixture.
    expect(await passwordAuth(c, 'admin', 'anything')).toMatchObject({ stage: 'start', response: { status: 403 } });
    expect((await c.call('POST', '/iam/pairing/local-initial', {})).status).toBe(201);
    expect((await c.call('GET', '/iam/me')).body).toMatchObject({ Username: 'admin', Role: 'Administrator', HasPassword: false });
    // The fixture's admin role can manage users (its ManageIAM policy).
    expect((await c.call('GET', '/iam/users')).body).toEqual(['admin']);
    const state = JSON.parse(await readFile(stateFile, 'utf8')) as FixtureState;
    expect(state).toMatchObject({
      Version: 2,
      FriendlyName: 'I Have a Name!',
      OpenPairingPassword: 'uJFdyXyuigCW',
      OpenPairingSct: 'vJo9NWP7JWfh',
      OpenPairingRole: 'Standard',
      LocalInitialPairing: false, // used once, so switched off
      LocalOpenPairing: false,
      PasswordInvitePairing: false,
      PasswordOpenPairing: false,
      Users: [{ Username: 'admin', Role: 'Administrator', ServerConnectToken: 'S8pL5tXFGDgO', Password: '', Fingerprints: [{ Fingerprint: c.identity.fingerprint }] }],
    });
    // Second local initial pairing: 409, and offered no more.
    const other = await deviceClient(device);
    expect(((await other.call('GET', '/iam/pairing')).body as { Modes: string[] }).Modes).toEqual([]);
    expect((await other.call('POST', '/iam/pairing/local-initial', {})).status).toBe(409);
  });

  it('localPasswordInvite: no users, offers password open and invite; open pairing gives the fixture\'s OpenPairingRole (Administrator)', async () => {
    const fixture = ALL.find((f) => f.name === 'localPasswordInvite')!;
    const { device, stateFile } = await startOnFixture(fixture);
    const c = await deviceClient(device);
    expect(((await c.call('GET', '/iam/pairing')).body as { Modes: string[] }).Modes).toEqual(['password-open', 'password-invite']);
    // No initial user in this fixture: nothing to pair as.
    expect((await c.call('POST', '/iam/pairing/local-initial', {})).status).toBe(404);
    expect(await passwordAuth(c, '', 'buKVmisdxETM')).toMatchObject({ stage: 'finish', response: { status: 204 } });
    expect((await c.call('POST', '/iam/pairing/password-open', { Username: 'owner' })).status).toBe(201);
    expect((await c.call('GET', '/iam/me')).body).toMatchObject({ Username: 'owner', Role: 'Administrator' });
    // As an Administrator of this config: invite someone, who pairs by password invite.
    expect((await c.call('POST', '/iam/users', { Username: 'friend' })).status).toBe(201);
    expect((await c.call('PUT', '/iam/users/friend/role', 'Guest')).status).toBe(204);
    expect((await c.call('PUT', '/iam/users/friend/password', 'friend-pass')).status).toBe(204);
    const friend = await deviceClient(device);
    expect(await passwordAuth(friend, 'friend', 'friend-pass')).toMatchObject({ stage: 'finish', response: { status: 204 } });
    expect((await friend.call('POST', '/iam/pairing/password-invite', {})).status).toBe(201);
    const state = parseIamState(JSON.parse(await readFile(stateFile, 'utf8')));
    expect(state.Version).toBe(2);
    expect(state.Users.map((u) => [u.Username, u.Role, u.Fingerprints.length, u.Password])).toEqual([
      ['owner', 'Administrator', 1, undefined],
      ['friend', 'Guest', 1, undefined],
    ]);
    expect(state).toMatchObject({ OpenPairingPassword: 'buKVmisdxETM', OpenPairingSct: 'ov9X3JE4aVEK', InitialPairingUsername: 'admin', PasswordOpenPairing: true });
  });
});
