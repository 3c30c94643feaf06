/**
 * The four pairing modes against a real `lancam-device`, with each mode's failures, the pairing
 * window, invitation reuse, unknown users, and a TLS-terminating man in the middle.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelServer } from '../../src/net/channel/server';
import { connectChannel } from '../../src/net/channel/client';
import { Spake2ConfirmationError } from '../../src/net/pairing/spake2';
import { cleanupAll, onCleanup, REPO, startDevice, type DeviceProcess } from '../helpers/processes';
import { adminOf, deviceClient, guess, invite, newIdentity, passwordAuth, rawClient, type RawClient } from '../helpers/raw-client';

const run = promisify(execFile);
afterEach(cleanupAll);

/** Nabto's mode names on the wire, read into lancam's names (an unknown name fails the test). */
const NABTO_NAMES: Record<string, string> = { LocalInitial: 'local-initial', LocalOpen: 'local-open', PasswordOpen: 'password-open', PasswordInvite: 'password-invite' };
async function modes(c: RawClient): Promise<string[]> {
  return ((await c.call('GET', '/iam/pairing')).body as { Modes: string[] }).Modes.map((m) => {
    expect(Object.keys(NABTO_NAMES), 'a Nabto mode name').toContain(m);
    return NABTO_NAMES[m]!;
  });
}

async function pairWindow(device: DeviceProcess, seconds: number): Promise<string> {
  const { stdout } = await run(process.execPath, [path.join(REPO, 'bin/lancam-device'), 'pair-window', '--state-dir', device.stateDir, '--seconds', String(seconds)]);
  return stdout;
}

describe('local initial pairing', () => {
  it('pairs the first local client as admin once; later attempts get 404 (the mode switched itself off, and Nabto answers an off mode 404)', async () => {
    const device = await startDevice({ mdns: false });
    const first = await deviceClient(device);
    expect(await modes(first)).toContain('local-initial');
    const res = await first.call('POST', '/iam/pairing/local-initial', { FingerprintName: 'laptop' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ Username: 'admin', Role: 'Administrator', Fingerprints: [{ Fingerprint: first.identity.fingerprint, Name: 'laptop' }] });
    expect((await first.call('GET', '/iam/me')).body).toMatchObject({ Username: 'admin' });

    const second = await deviceClient(device);
    expect(await modes(second)).not.toContain('local-initial');
    expect((await second.call('POST', '/iam/pairing/local-initial', {})).status).toBe(404);
    expect((await second.call('GET', '/iam/me')).status).toBe(404);
    // The same client again: the mode is off now.
    expect((await first.call('POST', '/iam/pairing/local-initial', {})).status).toBe(404);
    // Persisted: the state file has the key.
    const state = JSON.parse(await readFile(path.join(device.stateDir, 'iam_state.json'), 'utf8')) as { Users: { Username: string; Fingerprints: { Fingerprint: string }[] }[] };
    expect(state.Users.find((u) => u.Username === 'admin')?.Fingerprints[0]?.Fingerprint).toBe(first.identity.fingerprint);
  });

  it('is refused with 400 for a malformed body and 404 when switched off (as Nabto)', async () => {
    const device = await startDevice({ mdns: false });
    const c = await deviceClient(device);
    expect((await c.call('POST', '/iam/pairing/local-initial', { FingerprintName: 42 })).status).toBe(400);
    expect((await c.call('POST', '/iam/pairing/local-initial', { Extra: true })).status).toBe(400);
    const admin = await adminOf(device);
    expect((await admin.call('PUT', '/iam/settings/local-initial-pairing', false)).status).toBe(204);
    expect((await admin.call('GET', '/iam/settings')).body).toMatchObject({ LocalInitialPairing: false });
    expect((await c.call('POST', '/iam/pairing/local-initial', {})).status).toBe(404);
  });
});

describe('local open pairing and the pairing window', () => {
  it('is 403 outside the window, works inside it once, then the window is closed again', async () => {
    const device = await startDevice({ mdns: false, args: ['--pairing-settle', '0.3'] });
    const admin = await adminOf(device);
    const adminEvents: unknown[] = [];
    admin.channel.peer.on('event', (e) => adminEvents.push(e));
    const bob = await deviceClient(device);
    // Offered whenever it is on; the window's state is not told to unpaired clients.
    expect(await modes(bob)).toContain('local-open');
    const closed = await bob.call('POST', '/iam/pairing/local-open', { Username: 'bob' });
    expect(closed.status).toBe(403);
    expect(JSON.stringify(closed.body)).toContain('pairing window');

    const events: unknown[] = [];
    bob.channel.peer.on('event', (e) => events.push(e));
    expect(await pairWindow(device, 30)).toContain('pairing window open for 30 s');
    expect(await modes(bob)).toContain('local-open');
    expect(((await bob.call('GET', '/iam/pairing')).body as { PairingWindowSeconds?: number }).PairingWindowSeconds).toBeUndefined();
    const settings = (await admin.call('GET', '/iam/settings')).body as { PairingWindowSeconds: number };
    expect(settings.PairingWindowSeconds).toBeGreaterThan(25);
    expect(settings.PairingWindowSeconds).toBeLessThanOrEqual(30);
    // Only those who manage pairing are told the window opened.
    expect(adminEvents).toContainEqual({ type: 'evt', event: 'pairing-window', body: { open: true, seconds: 30, reason: 'lancam-device pair-window' } });
    expect(events).toEqual([]);
    expect(device.stderr()).toContain('pairing window OPEN for 30 s');

    const res = await bob.call('POST', '/iam/pairing/local-open', { Username: 'bob', FingerprintName: 'phone' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ Username: 'bob', Role: 'Guest' });

    // One press, one pairing: the window closed after bob.
    const carol = await deviceClient(device);
    expect((await carol.call('POST', '/iam/pairing/local-open', { Username: 'carol' })).status).toBe(403);
    await pairWindow(device, 30);
    // A taken name is 409, and an invalid one 400.
    expect((await carol.call('POST', '/iam/pairing/local-open', { Username: 'bob' })).status).toBe(409);
    expect((await carol.call('POST', '/iam/pairing/local-open', { Username: 'Carol!' })).status).toBe(400);
    expect((await carol.call('POST', '/iam/pairing/local-open', { Username: 'carol' })).status).toBe(201);
  });

  it('closes the window when it expires, and SIGUSR1 opens it', async () => {
    const device = await startDevice({ mdns: false, args: ['--pairing-settle', '0.3'] });
    await adminOf(device);
    const c = await deviceClient(device);
    await pairWindow(device, 1);
    await new Promise((r) => setTimeout(r, 1500));
    expect(device.stderr()).toContain('pairing window closed (expired)');
    expect((await c.call('POST', '/iam/pairing/local-open', { Username: 'late' })).status).toBe(403);

    device.process.kill('SIGUSR1');
    await new Promise((r) => setTimeout(r, 300));
    expect(device.stderr()).toContain('pairing window OPEN for 120 s (SIGUSR1)');
    expect((await c.call('POST', '/iam/pairing/local-open', { Username: 'ontime' })).status).toBe(201);
  });

  it('pair-window without a running daemon says so', async () => {
    const device = await startDevice({ mdns: false });
    await device.stop();
    await expect(pairWindow(device, 10)).rejects.toMatchObject({ stderr: expect.stringContaining('no lancam-device is running') });
  });

  it('a second daemon on the same state directory refuses to start', async () => {
    const device = await startDevice({ mdns: false });
    await expect(startDevice({ mdns: false, stateDir: device.stateDir })).rejects.toThrow(/another lancam-device is running/);
  });
});

describe('password invite pairing', () => {
  it('pairs with the invitation password once; reuse fails; wrong passwords and unknown users look alike', async () => {
    const device = await startDevice({ mdns: false });
    const admin = await adminOf(device);
    await invite(admin, 'carol', 'Guest', 'correct-horse-1');

    // Wrong password: the client sees the device's confirmation fail; a bogus cA gets 401.
    const mallory = await deviceClient(device);
    const wrong = await passwordAuth(mallory, 'carol', 'wrong-password');
    expect(wrong.stage).toBe('client-check');
    if (wrong.stage === 'client-check') expect(wrong.error).toBeInstanceOf(Spake2ConfirmationError);
    expect(await guess(mallory, 'carol', 'x1234')).toBe(401);
    const unknown = await deviceClient(device);
    expect(await guess(unknown, 'nobody', 'x1234')).toBe(401);
    // Same shape of answer for an unknown user as for a known one.
    const a = await passwordAuth(unknown, 'nobody', 'whatever');
    const b = await passwordAuth(mallory, 'carol', 'whatever');
    expect(a.stage).toBe('client-check');
    expect(b.stage).toBe('client-check');
    // Not authenticated: pairing is 401.
    expect((await mallory.call('POST', '/iam/pairing/password-invite', {})).status).toBe(401);

    const carol = await deviceClient(device);
    const ok = await passwordAuth(carol, 'carol', 'correct-horse-1');
    expect(ok).toMatchObject({ stage: 'finish', response: { status: 204 } });
    const paired = await carol.call('POST', '/iam/pairing/password-invite', { FingerprintName: 'carol phone' });
    expect(paired.status).toBe(201);
    expect(paired.body).toMatchObject({ Username: 'carol', Role: 'Guest', HasPassword: false });

    // The invitation worked once.
    const again = await deviceClient(device);
    expect((await passwordAuth(again, 'carol', 'correct-horse-1')).stage).toBe('client-check');
    expect((await again.call('GET', '/iam/me')).status).toBe(404);
  });

  it('a TLS-terminating man in the middle makes pairing fail and creates no user; the invite then works directly', async () => {
    const device = await startDevice({ mdns: false });
    const admin = await adminOf(device);
    await invite(admin, 'dave', 'Guest', 'invite-pass-9');

    // The relay: its own key towards the client and towards the device, relaying every request.
    const relayIdentity = await newIdentity('mitm');
    const upstream = await connectChannel({ host: '127.0.0.1', port: device.port, identity: relayIdentity, verifyDevice: () => undefined });
    const relay = new ChannelServer({ identity: relayIdentity, host: '127.0.0.1', port: 0 });
    relay.on('connection', ({ peer }) => peer.serve((req) => upstream.peer.request(req.method, req.path, req.body)));
    const { port } = await relay.listen();
    try {
      // The victim reaches the relay (it does not know the device key yet: trust on first use).
      const victim = await rawClient(port);
      onCleanup(async () => victim.close());
      expect(((await victim.call('GET', '/device/info')).body as { DeviceId: string }).DeviceId).toBe(device.deviceId);
      const outcome = await passwordAuth(victim, 'dave', 'invite-pass-9');
      expect(outcome.stage).toBe('client-check');
      expect((await victim.call('POST', '/iam/pairing/password-invite', {})).status).toBe(401);
      // The device's side of the relayed exchange fails too: the relay knows no valid confirmation.
      expect((await upstream.peer.request('POST', '/iam/pairing/password-auth/finish', { Kc: Buffer.alloc(32, 3).toString('base64url') })).status).toBe(401);
      expect((await upstream.peer.request('POST', '/iam/pairing/password-invite', {})).status).toBe(401);
      expect(device.stderr()).toContain('wrong password for "dave"');
    } finally {
      upstream.close();
      await relay.close();
    }
    const users = (await admin.call('GET', '/iam/users/dave')).body as { Fingerprints: unknown[]; HasPassword: boolean };
    expect(users.Fingerprints).toEqual([]);
    expect(users.HasPassword).toBe(true);

    const dave = await deviceClient(device);
    expect(await passwordAuth(dave, 'dave', 'invite-pass-9')).toMatchObject({ stage: 'finish', response: { status: 204 } });
    expect((await dave.call('POST', '/iam/pairing/password-invite', {})).status).toBe(201);
  });

  it('is 404 when switched off (as Nabto)', async () => {
    const device = await startDevice({ mdns: false });
    const admin = await adminOf(device);
    await invite(admin, 'erin', 'Guest', 'pass-erin');
    expect((await admin.call('PUT', '/iam/settings/password-invite-pairing', false)).status).toBe(204);
    const erin = await deviceClient(device);
    const outcome = await passwordAuth(erin, 'erin', 'pass-erin');
    expect(outcome).toMatchObject({ stage: 'start', response: { status: 404 } });
    expect((await erin.call('POST', '/iam/pairing/password-invite', {})).status).toBe(404);
    expect(await modes(erin)).not.toContain('password-invite');
  });
});

describe('password open pairing', () => {
  it('is off until an admin sets a password; then pairs new users with the open pairing role', async () => {
    const device = await startDevice({ mdns: false });
    const admin = await adminOf(device);
    const frank = await deviceClient(device);
    expect(await modes(frank)).not.toContain('password-open');
    expect(await passwordAuth(frank, '', 'anything')).toMatchObject({ stage: 'start', response: { status: 404 } });
    expect((await frank.call('POST', '/iam/pairing/password-open', { Username: 'frank' })).status).toBe(404);

    expect((await admin.call('PUT', '/iam/settings/password-open-password', 'family-secret'))).toMatchObject({ status: 204 });
    expect((await admin.call('PUT', '/iam/settings/password-open-pairing', true)).status).toBe(204);
    expect((await admin.call('PUT', '/iam/settings/open-pairing-role', 'Standard')).status).toBe(204);
    expect((await admin.call('PUT', '/iam/settings/open-pairing-role', 'NoSuchRole')).status).toBe(404);
    expect((await admin.call('PUT', '/iam/settings/password-open-password', 'abc')).status).toBe(400);
    expect(await modes(frank)).toContain('password-open');

    expect((await frank.call('POST', '/iam/pairing/password-open', { Username: 'frank' })).status).toBe(401);
    expect((await passwordAuth(frank, '', 'wrong-secret')).stage).toBe('client-check');
    expect(await passwordAuth(frank, '', 'family-secret')).toMatchObject({ stage: 'finish', response: { status: 204 } });
    expect((await frank.call('POST', '/iam/pairing/password-open', { Username: 'admin' })).status).toBe(409);
    // That attempt used the proof up (issue 10 item 1): authenticate again for the next one.
    expect((await frank.call('POST', '/iam/pairing/password-open', { Username: 'frank' })).status).toBe(401);
    expect(await passwordAuth(frank, '', 'family-secret')).toMatchObject({ stage: 'finish', response: { status: 204 } });
    const res = await frank.call('POST', '/iam/pairing/password-open', { Username: 'frank' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ Username: 'frank', Role: 'Standard' });
    // The open password keeps working for the next person (it is not an invitation).
    const gina = await deviceClient(device);
    expect(await passwordAuth(gina, '', 'family-secret')).toMatchObject({ stage: 'finish', response: { status: 204 } });
    expect((await gina.call('POST', '/iam/pairing/password-open', { Username: 'gina' })).status).toBe(201);
  });
});

describe('guessing limits', () => {
  it('one address with many connections gets at most 10 guesses in its first minute; another address still pairs', async () => {
    const device = await startDevice({ mdns: false, args: ['--max-connections-per-address', '64'] });
    const admin = await adminOf(device);
    await invite(admin, 'henry', 'Guest', 'right-password-7');

    const statuses: number[] = [];
    const attackers = await Promise.all(Array.from({ length: 20 }, () => deviceClient(device, { localAddress: '127.0.0.1' })));
    for (let round = 0; round < 3; round++) {
      statuses.push(...(await Promise.all(attackers.map((a, i) => guess(a, 'henry', `guess-${round}-${i}`)))));
    }
    const wrongAnswers = statuses.filter((s) => s === 401).length;
    const throttled = statuses.filter((s) => s === 429).length;
    expect(wrongAnswers).toBeLessThanOrEqual(10);
    expect(wrongAnswers).toBeGreaterThanOrEqual(9);
    expect(throttled).toBe(60 - wrongAnswers);

    // The legitimate user, on another address, pairs with the right password meanwhile.
    const henry = await deviceClient(device, { localAddress: '127.0.0.2' });
    expect(await passwordAuth(henry, 'henry', 'right-password-7')).toMatchObject({ stage: 'finish', response: { status: 204 } });
    expect((await henry.call('POST', '/iam/pairing/password-invite', {})).status).toBe(201);
    // And the attacker's address is still throttled.
    const fresh = await deviceClient(device, { localAddress: '127.0.0.1' });
    expect(await guess(fresh, 'henry', 'one-more')).toBe(429);
  });
});
