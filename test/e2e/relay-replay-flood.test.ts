/**
 * Issue 10 item 14 against processes: replay-cache exhaustion through a real lancam-relay. Mallory
 * holds a real remote secret of the camera and opens channel after channel through the relay, each
 * with a new signed first message, until the camera refuses his kid (`busy`: his share of the
 * replay cache is full of unexpired nonces). Meanwhile bob, another remote user with his own
 * secret, still gets in through the same relay and watches; mallory stays refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SignedSignalingClient } from '../../src/net/signed-signaling';
import { connectClientToRelay } from '../../src/relay/relay-client';
import { parseRemoteAccess, type RemoteAccessGrant } from '../../src/shared/remote-access-string';
import { cleanupAll, runCli, startDevice, startRelay, tempDir, type DeviceProcess } from '../helpers/processes';

afterEach(cleanupAll);

/** A remote secret for a new Guest `name`, issued by the owner with the real CLI. */
async function remoteGuest(device: DeviceProcess, owner: string, name: string, relayUrl: string, relayFingerprint: string): Promise<{ home: string; grant: RemoteAccessGrant }> {
  const home = await tempDir(`lancam-${name}-`);
  const address = `127.0.0.1:${device.port}`;
  const invite = await runCli(['--json', 'user', 'invite', '--address', address, name, '--role', 'Guest'], { home: owner });
  expect(invite.code, invite.stderr).toBe(0);
  const paired = await runCli(['pair', '--address', address, '--pairing-string', invite.json<{ pairingString: string }>().pairingString], { home });
  expect(paired.code, paired.stderr).toBe(0);
  const issued = await runCli(['--json', 'user', 'remote-secret', '--address', address, name, '--relay', relayUrl, '--relay-fingerprint', relayFingerprint], { home: owner });
  expect(issued.code, issued.stdout + issued.stderr).toBe(0);
  const { accessString } = issued.json<{ accessString: string }>();
  expect((await runCli(['remote', 'add', accessString], { home })).code).toBe(0);
  return { home, grant: parseRemoteAccess(accessString) };
}

/**
 * One signed first message (a SETUP_REQUEST, as a real viewer sends) on a new relay channel; the
 * answer is what the camera did: 'answered' (it verified the message and replied) or 'refused'
 * (it closed the channel without a word, as it does for a message it refuses).
 */
async function firstMessage(url: string, relayFingerprint: string, grant: RemoteAccessGrant): Promise<'answered' | 'refused'> {
  const channel = await connectClientToRelay({ url, deviceId: grant.deviceId, fingerprint: grant.fingerprint, pinFingerprint: relayFingerprint });
  try {
    const outcome = new Promise<'answered' | 'refused'>((resolve) => {
      channel.once('message', () => resolve('answered'));
      channel.once('closed', () => resolve('refused'));
    });
    channel.send(await new SignedSignalingClient(grant.kid, grant.secret).sign({ type: 'SETUP_REQUEST' }));
    return await Promise.race([outcome, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the camera neither answered nor closed within 15 s')), 15_000))]);
  } finally {
    channel.close();
  }
}

interface WatchResult {
  fps: number;
  width: number;
}

describe('replay-cache exhaustion through lancam-relay (issue 10 item 14)', () => {
  it('a secret holder who floods first messages gets busy for his kid only; another remote user gets in and watches', async () => {
    const relay = await startRelay(['--host', '127.0.0.1']);
    const url = `wss://127.0.0.1:${relay.port}`;
    // The per-kid share is the camera's default (64 unexpired first messages); nothing is lowered for the test.
    const device = await startDevice({ mdns: false, args: ['--ice-address', '127.0.0.1', '--relay', url, '--relay-fingerprint', relay.fingerprint] });
    await expect.poll(() => device.stderr(), { timeout: 10_000 }).toContain('relay: registered');
    const owner = await tempDir('lancam-owner-');
    expect((await runCli(['pair', '--address', `127.0.0.1:${device.port}`], { home: owner })).code).toBe(0);
    const mallory = await remoteGuest(device, owner, 'mallory', url, relay.fingerprint);
    const bob = await remoteGuest(device, owner, 'bob', url, relay.fingerprint);
    expect(mallory.grant.kid).not.toBe(bob.grant.kid);

    // Mallory floods until his kid is refused.
    const outcomes: string[] = [];
    while (outcomes.length < 100 && outcomes.at(-1) !== 'refused') outcomes.push(await firstMessage(url, relay.fingerprint, mallory.grant));
    console.log(`mallory: ${outcomes.filter((o) => o === 'answered').length} first messages answered, then ${outcomes.at(-1)}`);
    expect(outcomes.at(-1)).toBe('refused');
    // Refused because his share is full (not a bad signature, not a replay), after the per-kid bound.
    expect(outcomes.filter((o) => o === 'answered'), device.stderr().split('\n').filter((l) => !/iam allow/.test(l)).slice(-15).join('\n')).toHaveLength(64);
    await expect.poll(() => device.stderr(), { timeout: 5000 }).toMatch(/refused a message \(busy\)/);
    expect(device.stderr()).not.toMatch(/refused a message \((bad-signature|replayed|unknown-kid)\)/);

    // He keeps flooding while bob watches through the same relay; bob gets in, mallory stays refused.
    let flooding = true;
    const later: string[] = [];
    const flood = (async () => {
      while (flooding) later.push(await firstMessage(url, relay.fingerprint, mallory.grant).catch((err: Error) => `error: ${err.message}`));
    })();
    const watched = await runCli(['--json', '--ice-address', '127.0.0.1', 'watch', mallory.grant.deviceId, '--via-relay', '--seconds', '4'], { home: bob.home, timeoutMs: 40_000 });
    flooding = false;
    await flood;
    expect(watched.code, watched.stdout + watched.stderr + device.stderr().split('\n').filter((l) => !/iam allow/.test(l)).slice(-25).join('\n')).toBe(0);
    const stats = watched.json<WatchResult>();
    expect(stats.fps).toBeGreaterThan(10);
    expect(device.stderr()).toMatch(/video: session \S+ for user bob via relay started/);
    console.log(`while bob watched, mallory sent ${later.length} more first messages: ${[...new Set(later)].join(', ')}`);
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((o) => o === 'refused')).toBe(true);
    // The camera's log stays readable: the refusals are rate-limited per kid and summed up.
    const busyLines = device.stderr().split('\n').filter((l) => l.includes('refused a message (busy)') && !l.includes('suppressed'));
    console.log(`${busyLines.length} busy lines logged for ${later.length + 1} refusals`);
    expect(busyLines.length).toBeLessThanOrEqual(40);
    await expect.poll(() => device.stderr(), { timeout: 20_000 }).toMatch(new RegExp(`more line\\(s\\) caused by relay kid ${mallory.grant.kid.slice(0, 12)} suppressed`));
    // And bob gets in again after the flood, as a fresh session.
    expect(await firstMessage(url, relay.fingerprint, bob.grant)).toBe('answered');
  }, 180_000);
});
