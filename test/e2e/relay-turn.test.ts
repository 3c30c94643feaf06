/**
 * Beyond the LAN: a stream set up through lancam-relay with signed signaling; a relay that tampers
 * with messages is detected; revoked and wrong secrets are refused; and in a topology where the
 * camera and the viewer cannot reach each other, media flows through coturn with the short-lived
 * credentials the relay hands out, which expire.
 */
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { generatePrivateKey, identityFromKey } from '../../src/net/keys';
import { connectDeviceToRelay } from '../../src/relay/relay-client';
import { turnCredentials } from '../../src/relay/turn';
import { netnsUnavailable, type Netns } from '../helpers/netns';
import { cleanupAll, nodeCommand, onCleanup, REPO, runCli, startDevice, startRelay, tempDir, type DeviceProcess } from '../helpers/processes';
import { canConnect, threeHosts } from '../helpers/topology';

const unavailable = await netnsUnavailable();

afterEach(cleanupAll);

/**
 * An owner, a user "bob" paired on the LAN, and a remote-access string for bob, made with the real
 * CLI against the camera (inside `ns` when given).
 */
async function bobWithRemoteAccess(device: DeviceProcess, relayUrl: string, relayFingerprint: string | undefined, wrap: string[] = []): Promise<{ bob: string; owner: string; accessString: string }> {
  const [owner, bob] = [await tempDir('lancam-owner-'), await tempDir('lancam-bob-')];
  const address = `127.0.0.1:${device.port}`;
  expect((await runCli(['pair', '--address', address], { home: owner, wrap })).code).toBe(0);
  const invite = await runCli(['--json', 'user', 'invite', '--address', address, 'bob', '--role', 'Guest'], { home: owner, wrap });
  expect(invite.code, invite.stderr).toBe(0);
  const paired = await runCli(['pair', '--address', address, '--pairing-string', invite.json<{ pairingString: string }>().pairingString], { home: bob, wrap });
  expect(paired.code, paired.stderr).toBe(0);
  const issued = await runCli(['--json', 'user', 'remote-secret', '--address', address, 'bob', '--relay', relayUrl, ...(relayFingerprint ? ['--relay-fingerprint', relayFingerprint] : [])], { home: owner, wrap });
  expect(issued.code, issued.stdout + issued.stderr).toBe(0);
  const { accessString } = issued.json<{ accessString: string }>();
  expect((await runCli(['remote', 'add', accessString], { home: bob })).code).toBe(0);
  return { bob, owner, accessString };
}

interface WatchResult {
  fps: number;
  glassToGlassMs: number | null;
  width: number;
}

describe('signaling through lancam-relay (loopback)', () => {
  it('streams through the relay, and a removed user is refused', async () => {
    const relay = await startRelay(['--host', '127.0.0.1']);
    const url = `wss://127.0.0.1:${relay.port}`;
    const device = await startDevice({ mdns: false, args: ['--ice-address', '127.0.0.1', '--relay', url, '--relay-fingerprint', relay.fingerprint] });
    await expect.poll(() => device.stderr(), { timeout: 10_000 }).toContain('relay: registered');
    const { bob, owner } = await bobWithRemoteAccess(device, url, relay.fingerprint);

    const watched = await runCli(['--json', '--ice-address', '127.0.0.1', 'watch', device.deviceId, '--via-relay', '--seconds', '3'], { home: bob, timeoutMs: 30_000 });
    expect(watched.code, watched.stdout + watched.stderr).toBe(0);
    const stats = watched.json<WatchResult>();
    expect(stats.fps).toBeGreaterThan(20);
    expect(stats.glassToGlassMs).not.toBeNull();
    expect(device.stderr()).toMatch(/video: session \S+ for user bob via relay started/);

    expect((await runCli(['user', 'rm', '--address', `127.0.0.1:${device.port}`, 'bob'], { home: owner })).code).toBe(0);
    const refused = await runCli(['--json', '--ice-address', '127.0.0.1', 'watch', device.deviceId, '--via-relay', '--seconds', '2'], { home: bob, timeoutMs: 30_000 });
    expect(refused.code).not.toBe(0);
    expect(device.stderr()).toContain('refused a message (unknown-kid)');
  }, 90_000);

  it('squatters holding every channel (item 13) and a throw-away camera asking for TURN (item 12) get nothing; bob watches', async () => {
    const relay = await startRelay(['--host', '127.0.0.1', '--max-channels-per-device', '4', '--channel-verify-timeout', '4', '--turn-url', 'turn:127.0.0.1:3478', '--turn-secret', 'relay-turn-secret']);
    const url = `wss://127.0.0.1:${relay.port}`;
    const device = await startDevice({ mdns: false, args: ['--ice-address', '127.0.0.1', '--relay', url, '--relay-fingerprint', relay.fingerprint] });
    await expect.poll(() => device.stderr(), { timeout: 10_000 }).toContain('relay: registered');
    const { bob } = await bobWithRemoteAccess(device, url, relay.fingerprint);

    // Four squatters from four addresses know the device id and fingerprint and hold every channel.
    const squatters = await Promise.all(
      ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'].map(
        (localAddress) =>
          new Promise<{ ws: WebSocket; closed: Promise<void> }>((resolve, reject) => {
            const ws = new WebSocket(`${url}/v1`, { rejectUnauthorized: false, localAddress });
            const closed = new Promise<void>((r) => ws.once('close', () => r()));
            ws.on('message', (data) => {
              const frame = JSON.parse(data.toString()) as { type: string };
              if (frame.type === 'connected') resolve({ ws, closed });
              if (frame.type === 'error') reject(new Error(data.toString()));
            });
            ws.once('open', () => ws.send(JSON.stringify({ type: 'connect', deviceId: device.deviceId, fingerprint: device.fingerprint })));
            ws.once('error', reject);
          }),
      ),
    );
    onCleanup(async () => squatters.forEach((s) => s.ws.terminate()));
    // Bob still watches: the oldest squatter gives way.
    const watched = await runCli(['--json', '--ice-address', '127.0.0.1', 'watch', device.deviceId, '--via-relay', '--seconds', '2'], { home: bob, timeoutMs: 30_000 });
    expect(watched.code, watched.stdout + watched.stderr).toBe(0);
    expect(watched.json<WatchResult>().fps).toBeGreaterThan(10);
    // Every squatter is gone within the deadline.
    await Promise.race([Promise.all(squatters.map((s) => s.closed)), new Promise((_, reject) => setTimeout(() => reject(new Error('squatters still open')), 10_000))]);

    // A throw-away key with a made-up device id asks for TURN credentials: none.
    const fake = connectDeviceToRelay({ url, identity: await identityFromKey(generatePrivateKey(), 'fake'), deviceId: 'made-up-camera', pinFingerprint: relay.fingerprint });
    onCleanup(async () => fake.close());
    await fake.ready(10_000);
    const refusals: string[] = [];
    fake.on('relay-error', ({ code }) => refusals.push(code));
    expect(await fake.requestTurn('anyone', 'A'.repeat(22))).toEqual([]);
    expect(refusals).toContain('turn-refused');
  }, 90_000);

  it('a secret nobody issued is refused', async () => {
    const relay = await startRelay(['--host', '127.0.0.1']);
    const url = `wss://127.0.0.1:${relay.port}`;
    const device = await startDevice({ mdns: false, args: ['--ice-address', '127.0.0.1', '--relay', url, '--relay-fingerprint', relay.fingerprint] });
    await expect.poll(() => device.stderr(), { timeout: 10_000 }).toContain('relay: registered');
    const mallory = await tempDir('lancam-mallory-');
    const forged = `lancam-remote:d=${device.deviceId},fp=${device.fingerprint},kid=${randomBytes(16).toString('base64url')},sec=${randomBytes(32).toString('base64url')},relay=${encodeURIComponent(url)},rfp=${relay.fingerprint}`;
    expect((await runCli(['remote', 'add', forged], { home: mallory })).code).toBe(0);
    const res = await runCli(['--json', '--ice-address', '127.0.0.1', 'watch', device.deviceId, '--via-relay', '--seconds', '2'], { home: mallory, timeoutMs: 30_000 });
    expect(res.code).not.toBe(0);
    expect(device.stderr()).toContain('refused a message (unknown-kid)');
    expect(device.stderr()).not.toMatch(/video: session .* started/);
  }, 90_000);

  it('a relay that alters a message in transit is detected and the session refused', async () => {
    // The real relay behind a test-owned "relay" that forwards everything but flips one byte of the
    // signed payload of the client's first message.
    const relay = await startRelay(['--host', '127.0.0.1', '--insecure-plain']);
    const evil = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    onCleanup(async () => void evil.close());
    let tampered = 0;
    evil.on('connection', (client, req) => {
      const upstream = new WebSocket(`ws://127.0.0.1:${relay.port}${req.url ?? '/v1'}`);
      const pending: string[] = [];
      upstream.on('open', () => pending.splice(0).forEach((m) => upstream.send(m)));
      client.on('message', (data) => {
        let text = data.toString();
        const frame = JSON.parse(text) as { type: string; data?: { type: 'JWT'; jwt: string } };
        if (frame.type === 'message' && frame.data && tampered === 0) {
          const [h, p, s] = frame.data.jwt.split('.');
          const payload = Buffer.from(p!, 'base64url');
          payload[payload.length - 3] = payload[payload.length - 3]! ^ 0x01;
          frame.data = { type: 'JWT', jwt: [h, payload.toString('base64url'), s].join('.') };
          text = JSON.stringify(frame);
          tampered++;
        }
        if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
        else pending.push(text);
      });
      upstream.on('message', (data) => client.send(data.toString()));
      client.on('close', () => upstream.close());
      upstream.on('close', () => client.close());
    });
    await new Promise<void>((r) => evil.once('listening', () => r()));
    const evilUrl = `ws://127.0.0.1:${(evil.address() as { port: number }).port}`;

    const device = await startDevice({ mdns: false, args: ['--ice-address', '127.0.0.1', '--relay', `ws://127.0.0.1:${relay.port}`] });
    await expect.poll(() => device.stderr(), { timeout: 10_000 }).toContain('relay: registered');
    const { bob } = await bobWithRemoteAccess(device, evilUrl, undefined);
    const res = await runCli(['--json', '--ice-address', '127.0.0.1', 'watch', device.deviceId, '--via-relay', '--seconds', '2'], { home: bob, timeoutMs: 30_000 });
    expect(tampered).toBe(1);
    expect(res.code).not.toBe(0);
    expect(device.stderr()).toContain('refused a message (bad-signature)');
    expect(device.stderr()).not.toMatch(/video: session .* started/);
  }, 90_000);
});

describe.skipIf(unavailable !== undefined)(`TURN through coturn when the direct path is blocked${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const TURN_SECRET = randomBytes(24).toString('hex');

  async function startCoturn(middle: Netns, relayIp: string, listen: string[], extra: string[] = []): Promise<(() => string) & { lines: () => { at: number; line: string }[] }> {
    const dir = await tempDir('lancam-coturn-');
    const args = [
      ...middle.wrap,
      'turnserver',
      '-n',
      '--no-cli',
      '--no-tls',
      '--no-dtls',
      '--listening-port=3478',
      ...listen.map((ip) => `--listening-ip=${ip}`),
      `--relay-ip=${relayIp}`,
      '--min-port=49160',
      '--max-port=49300',
      '--use-auth-secret',
      `--static-auth-secret=${TURN_SECRET}`,
      '--realm=lancam.test',
      '--fingerprint',
      '--allowed-peer-ip=10.201.0.0-10.201.255.255',
      '--no-multicast-peers',
      '--log-file=stdout',
      '--simple-log',
      `--pidfile=${path.join(dir, 'turn.pid')}`,
      `--db=${path.join(dir, 'turndb')}`,
      ...extra,
    ];
    const child = spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const timed: { at: number; line: string }[] = [];
    onCleanup(async () => void child.kill('SIGKILL'));
    let log = '';
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      log += d.toString();
      // Each line with the wall clock (unix seconds) at which it arrived.
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      for (const line of parts) timed.push({ at: Date.now() / 1000, line });
    });
    // coturn says nothing when its listeners are up; its servers are created right after.
    await expect.poll(() => log, { timeout: 10_000 }).toMatch(/Total General servers/);
    await new Promise((r) => setTimeout(r, 300));
    return Object.assign(() => log, { lines: () => timed });
  }

  it('media flows through coturn with the relay\'s short-lived credentials; expired ones are refused', async () => {
    const net = await threeHosts();
    // The direct path is blocked: the camera cannot reach the viewer, nor the viewer the camera,
    // though each reaches a server listening on the other's side of its own link.
    const atViewer = await startDevice({ wrap: net.viewer.wrap, host: '0.0.0.0', mdns: false });
    const atCamera = await startDevice({ wrap: net.camera.wrap, host: '0.0.0.0', mdns: false });
    expect(await canConnect(net.camera, net.viewerAddress, atViewer.port)).toBe(false);
    expect(await canConnect(net.viewer, net.cameraAddress, atCamera.port)).toBe(false);
    expect(await canConnect(net.viewer, net.viewerAddress, atViewer.port)).toBe(true);
    await Promise.all([atViewer.stop(), atCamera.stop()]);

    await startCoturn(net.middle, net.middleForCamera, [net.middleForCamera, net.middleForViewer]);
    const turnUrl = `turn:${net.middleForCamera}:3478?transport=udp`;
    const relay = await startRelay(['--host', '0.0.0.0', '--turn-url', turnUrl, '--turn-secret', TURN_SECRET, '--turn-ttl', '600'], net.middle.wrap);
    expect(await canConnect(net.viewer, net.middleForCamera, relay.port)).toBe(true);
    expect(await canConnect(net.camera, net.middleForCamera, relay.port)).toBe(true);

    // Only relayed candidates (on the TURN server's address) are signaled, by both ends.
    const relayUrl = `wss://${net.middleForCamera}:${relay.port}`;
    const device = await startDevice({ wrap: net.camera.wrap, mdns: false, args: ['--ice-address', net.middleForCamera, '--relay', relayUrl, '--relay-fingerprint', relay.fingerprint] });
    await expect.poll(() => device.stderr(), { timeout: 15_000 }).toContain('relay: registered');
    const { bob } = await bobWithRemoteAccess(device, relayUrl, relay.fingerprint, net.camera.wrap);

    const watched = await runCli(['--json', '--ice-address', net.middleForCamera, 'watch', device.deviceId, '--via-relay', '--seconds', '3'], { home: bob, wrap: net.viewer.wrap, timeoutMs: 40_000 });
    expect(watched.code, `${watched.stdout}${watched.stderr}\ndevice: ${device.stderr().split('\n').filter((l) => !l.includes(' iam allow: ')).slice(-60).join('\n')}`).toBe(0);
    const stats = watched.json<WatchResult>();
    console.log(`through TURN: ${JSON.stringify(stats)}`);
    expect(stats.fps).toBeGreaterThan(15);
    expect(stats.width).toBe(1280);

    // Credentials in coturn's REST form work until they expire, and not after.
    const probeScript = path.join(REPO, 'test/helpers/turn-probe.mjs');
    const allocate = async (ttlSeconds: number, waitMs: number) => {
      const creds = turnCredentials(TURN_SECRET, 'bob', ttlSeconds, [turnUrl]);
      await new Promise((r) => setTimeout(r, waitMs));
      const res = await new Promise<string>((resolve, reject) => {
        const [cmd, args] = nodeCommand(probeScript, [JSON.stringify({ urls: turnUrl, username: creds.username, credential: creds.credential })], net.viewer.wrap);
        const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: REPO });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', () => resolve(out));
        child.once('error', reject);
      });
      return JSON.parse(res.trim().split('\n').pop()!) as { relay: boolean };
    };
    expect((await allocate(60, 0)).relay).toBe(true);
    expect((await allocate(1, 2500)).relay).toBe(false);
    const wrong = turnCredentials('not-the-secret', 'bob', 60, [turnUrl]);
    expect(wrong.credential).not.toBe(turnCredentials(TURN_SECRET, 'bob', 60, [turnUrl]).credential);
  }, 120_000);

  for (const stack of ['vp8', 'h264'] as const) {
    it(`item 12 (${stack}): a session outlives its short credential (its allocation is refreshed after expiry), an expired credential opens no allocation, and every session gets fresh ones`, async () => {
      const net = await threeHosts();
      // Allocations are granted 20 s (the client refreshes them half way), credentials 5 s: the
      // refresh is made with a credential that has expired.
      const coturnLog = await startCoturn(net.middle, net.middleForCamera, [net.middleForCamera, net.middleForViewer], ['--verbose', '--max-allocate-lifetime=20']);
      const turnUrl = `turn:${net.middleForCamera}:3478?transport=udp`;
      const relay = await startRelay(['--host', '0.0.0.0', '--turn-url', turnUrl, '--turn-secret', TURN_SECRET, '--turn-ttl', '5'], net.middle.wrap);
      const relayUrl = `wss://${net.middleForCamera}:${relay.port}`;
      // vp8: both ends signal only relayed candidates. h264: a single --ice-address that is not the
      // camera's own makes node-datachannel abort ("Failed to gather local ICE candidates"), and the
      // CLI's H.264 viewer uses no TURN: the camera relays, the viewer offers its own address (which
      // the camera cannot reach directly: only coturn's relayed packets get through; the camera
      // takes remote candidates only on its --ice-address list, so that address is on it).
      const cameraIce = stack === 'vp8' ? [net.middleForCamera] : [net.cameraAddress, net.middleForCamera, net.viewerAddress];
      const viewerIce = stack === 'vp8' ? [net.middleForCamera] : [net.viewerAddress, net.middleForCamera];
      const device = await startDevice({ wrap: net.camera.wrap, mdns: false, args: ['--video-stack', stack, ...cameraIce.flatMap((a) => ['--ice-address', a]), '--relay', relayUrl, '--relay-fingerprint', relay.fingerprint] });
      await expect.poll(() => device.stderr(), { timeout: 15_000 }).toContain('relay: registered');
      const { bob } = await bobWithRemoteAccess(device, relayUrl, relay.fingerprint, net.camera.wrap);

      const watch = (seconds: number) => runCli(['--json', ...viewerIce.flatMap((a) => ['--ice-address', a]), 'watch', device.deviceId, '--via-relay', '--seconds', String(seconds)], { home: bob, wrap: net.viewer.wrap, timeoutMs: 40_000 + seconds * 1000 });
      const first = await watch(25);
      expect(first.code, first.stdout + first.stderr + device.stderr().slice(-3000) + coturnLog().slice(-2000)).toBe(0);
      const stats = first.json<WatchResult>();
      console.log(`${stack}, 25 s through TURN with 5 s credentials: ${JSON.stringify(stats)}`);
      // Frames kept coming the whole 25 s (the allocation dying at 10 s would end the session, or leave < 12 fps on average).
      expect(stats.fps).toBeGreaterThan(15);

      // The credentials of that session, as coturn saw them (`<expiry>:bob`).
      const users = (log: string) => [...new Set([...log.matchAll(/user(?:name)?=? ?<(\d+):bob>/g)].map((m) => Number(m[1])))];
      const firstUsers = users(coturnLog());
      expect(firstUsers.length, coturnLog().slice(-3000)).toBeGreaterThan(0);
      for (const e of firstUsers) expect(e).toBeLessThan(Date.now() / 1000 - 10);
      const expiry = Math.max(...firstUsers);
      // coturn refreshed bob's allocation with success after the credential it was made with had expired.
      const refreshed = coturnLog.lines().filter((l) => /user <\d+:bob>: incoming packet REFRESH processed, success/.test(l.line));
      const expiredAt = (line: string) => Number(/<(\d+):bob>/.exec(line)![1]);
      console.log(`coturn refreshes: ${refreshed.map((l) => `${(l.at - expiredAt(l.line)).toFixed(1)} s after expiry`).join(', ') || 'none'}`);
      expect(refreshed.some((l) => l.at > expiredAt(l.line) + 1), coturnLog.lines().filter((l) => /session/.test(l.line)).map((l) => `${l.at.toFixed(1)} ${l.line}`).join('\n')).toBe(true);
      expect(coturnLog()).not.toMatch(/REFRESH processed, error/);

      // (b) That very credential (coturn's form, computed with the relay's secret) opens no new allocation.
      const probeScript = path.join(REPO, 'test/helpers/turn-probe.mjs');
      const username = `${expiry}:bob`;
      const credential = createHmac('sha1', TURN_SECRET).update(username).digest('base64');
      const probe = await new Promise<string>((resolve, reject) => {
        const [cmd, args] = nodeCommand(probeScript, [JSON.stringify({ urls: turnUrl, username, credential })], net.viewer.wrap);
        const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: REPO });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', () => resolve(out));
        child.once('error', reject);
      });
      expect((JSON.parse(probe.trim().split('\n').pop()!) as { relay: boolean }).relay).toBe(false);

      // (c) A new session after the first one's credential expired: fresh credentials, allocated again.
      const before = firstUsers.length;
      const second = await watch(3);
      expect(second.code, second.stdout + second.stderr).toBe(0);
      expect(second.json<WatchResult>().fps).toBeGreaterThan(15);
      const secondUsers = users(coturnLog()).slice(before);
      expect(secondUsers.length).toBeGreaterThan(0);
      for (const e of secondUsers) expect(e).toBeGreaterThan(expiry);
    }, 180_000);
  }
});
