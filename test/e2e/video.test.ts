/**
 * Live video end to end, with real `lancam-device` and `lancam` processes: snapshots that carry
 * the test pattern, several viewers sharing one capture, IAM gating of signaling and video,
 * revocation that cuts a running stream at once, file sources, and viewers that vanish.
 *
 * Network safety (ARCHITECTURE.md): every device runs with `--ice-address 127.0.0.1`, every CLI
 * with the global `--ice-address 127.0.0.1`, every in-process viewer with
 * `iceAddresses: ['127.0.0.1']`; no ICE server anywhere.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, runCli, tempDir, type DeviceProcess } from '../helpers/processes';
import { adminOf, deviceClient, invite, passwordAuth } from '../helpers/raw-client';
import { decodeRgba, patternMatchScoreRgba } from '../../src/shared/video/test-pattern';
import { CompanionError } from '../../src/companion/errors';
import type { WatchStats } from '../../src/companion/video/camera-viewer';
import {
  cleanupVideo,
  type CountingViewer,
  type PairedClient,
  count,
  DOORBELL_ROLE,
  ICE_LOOPBACK,
  makeClip,
  openViewer,
  pairedClient,
  sleep,
  spawnCli,
  startDoorbellDevice,
  startVideoDevice,
  videoLog,
  waitForLog,
} from '../helpers/video';

afterEach(async () => {
  await cleanupVideo();
  await cleanupAll();
});

const SIGNALING = '/webrtc/signaling';
const FIRST_VIEWER = /video: first viewer, starting/;
const LAST_VIEWER = /video: last viewer left, stopping the source/;

function at(device: DeviceProcess): string {
  return `${device.host}:${device.port}`;
}

/** `lancam --json --ice-address 127.0.0.1 <args…>` with a home. */
function cli(home: string, args: string[], timeoutMs = 20_000) {
  return runCli(['--json', ...ICE_LOOPBACK, ...args], { home, timeoutMs });
}

async function cliPair(device: DeviceProcess, home: string): Promise<void> {
  const paired = await cli(home, ['pair', '--address', at(device)]);
  expect(paired.code, paired.stdout + paired.stderr).toBe(0);
  expect(paired.json()).toMatchObject({ username: 'admin', role: 'Administrator', mode: 'local-initial', fingerprint: device.fingerprint });
}

type WatchJson = Omit<WatchStats, 'frames'>;

describe('lancam snapshot', () => {
  it.each([
    [320, 240],
    [640, 480],
  ])('writes a %ix%i PNG of the test pattern with a capture time of now', async (width, height) => {
    const device = await startVideoDevice({ size: `${width}x${height}` });
    const home = await tempDir('lancam-home-');
    await cliPair(device, home);
    const file = path.join(home, 'f.png');
    const before = Date.now();
    const shot = await cli(home, ['snapshot', '--address', at(device), '-o', file]);
    const after = Date.now();
    expect(shot.code, shot.stdout + shot.stderr).toBe(0);
    expect(shot.json()).toEqual({ file, width, height });
    expect((await stat(file)).size).toBeGreaterThan(1000);

    const png = PNG.sync.read(await readFile(file));
    expect([png.width, png.height]).toEqual([width, height]);
    const score = patternMatchScoreRgba(png.data, png.width, png.height);
    const stamp = decodeRgba(png.data, png.width, png.height);
    console.log(`snapshot ${width}x${height}: pattern match ${score}, stamp ${JSON.stringify(stamp)}, taken in ${after - before} ms`);
    expect(score).toBeGreaterThan(0.8);
    expect(stamp).toBeDefined();
    // Rendered while the command ran (the device and this test share a clock).
    expect(stamp!.captureTimeMs).toBeGreaterThanOrEqual(before - 3000);
    expect(stamp!.captureTimeMs).toBeLessThanOrEqual(after + 3000);
    expect(stamp!.frameNumber).toBeLessThan(30 * 10);
  });
});

describe('several viewers', () => {
  it('three viewers each get >= 25 fps at 640x480@30 from one capture, stopped after the last', async () => {
    const device = await startVideoDevice({ size: '640x480', fps: 30 });
    const admin = await adminOf(device);
    const clients: PairedClient[] = [];
    for (const name of ['ann', 'ben', 'cat']) clients.push(await pairedClient(device, admin, name, 'Guest'));
    const viewers: CountingViewer[] = [];
    for (const client of clients) viewers.push(await openViewer(await client.open()));
    const firsts = await Promise.all(viewers.map(({ viewer }) => viewer.nextFrame(10_000)));
    for (const frame of firsts) expect([frame.width, frame.height]).toEqual([640, 480]);
    await waitForLog(device, /started \(3 viewer\(s\)\)/, 2000);

    await sleep(5000);
    const stats = await Promise.all(viewers.map(({ viewer }) => viewer.stats()));
    stats.forEach((s, i) => console.log(`viewer ${clients[i]!.username}: ${JSON.stringify(s)}`));
    for (const s of stats) {
      expect(s).toMatchObject({ width: 640, height: 480 });
      expect(s.fps).toBeGreaterThanOrEqual(25);
      expect(s.frames).toBeGreaterThanOrEqual(5 * 25);
      expect(s.timeToFirstFrameMs).not.toBeNull();
      expect(s.glassToGlassMs).not.toBeNull();
    }

    // One capture for all three: started once, still running while any viewer is left.
    expect(count(device.stderr(), FIRST_VIEWER)).toBe(1);
    viewers[0]!.viewer.close();
    viewers[1]!.viewer.close();
    await waitForLog(device, /ended: closed by the viewer \(1 viewer\(s\)\)/, 3000);
    expect(count(device.stderr(), LAST_VIEWER)).toBe(0);
    viewers[2]!.viewer.close();
    await waitForLog(device, LAST_VIEWER, 3000);
    expect(count(device.stderr(), FIRST_VIEWER)).toBe(1);
    expect(count(device.stderr(), LAST_VIEWER)).toBe(1);
    expect(device.stderr()).toContain('ended: closed by the viewer (0 viewer(s))');
  });
});

describe('who may watch', () => {
  it('refuses an unpaired client: SETUP_REQUEST is 403, and lancam watch fails with a clear error', async () => {
    const device = await startVideoDevice();
    await adminOf(device);
    const stranger = await deviceClient(device);
    const refused = await stranger.call('POST', SIGNALING, { Session: 'stranger1', Message: { type: 'SETUP_REQUEST' } });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toContain('Webrtc:Signaling');

    const home = await tempDir('lancam-home-');
    const started = performance.now();
    const watch = await cli(home, ['watch', '--address', at(device), '--seconds', '2']);
    const elapsed = performance.now() - started;
    expect(watch.code).toBe(1);
    const error = watch.json<{ error: { status: unknown; message: string } }>().error;
    console.log(`unpaired watch: ${JSON.stringify(error)} after ${Math.round(elapsed)} ms`);
    expect(error.status).toBe(403);
    expect(error.message).toMatch(/not allowed/);
    expect(elapsed).toBeLessThan(8000);
    // The same without --json: one line on stderr.
    const human = await runCli([...ICE_LOOPBACK, 'watch', '--address', at(device), '--seconds', '2'], { home });
    expect(human.code).toBe(1);
    expect(human.stdout).toBe('');
    expect(human.stderr).toMatch(/^lancam: not allowed: Webrtc:Signaling \(403\)\n$/);
    // Nothing was started for them.
    expect(device.stderr()).not.toMatch(FIRST_VIEWER);
  });

  it('refuses video to a role with Webrtc:Signaling but without Webrtc:VideoStream (--iam-config)', async () => {
    const device = await startDoorbellDevice();
    expect(device.stdout()).not.toContain('first run');
    const admin = await adminOf(device);
    expect(((await admin.call('GET', '/iam/roles')).body as string[])).toContain(DOORBELL_ROLE);

    const password = await invite(admin, 'bell', DOORBELL_ROLE);
    const bell = await deviceClient(device);
    expect(await passwordAuth(bell, 'bell', password)).toMatchObject({ stage: 'finish', response: { status: 204 } });
    expect((await bell.call('POST', '/iam/pairing/password-invite', { FingerprintName: 'door' })).body).toMatchObject({ Username: 'bell', Role: DOORBELL_ROLE });

    const refused = await bell.call('POST', SIGNALING, { Session: 'bell1', Message: { type: 'SETUP_REQUEST' } });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toContain('Webrtc:VideoStream');
    // Signaling itself is allowed: a message for a session that does not exist is 404, not 403.
    const candidate = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
    expect((await bell.call('POST', SIGNALING, { Session: 'bell1', Message: { type: 'CANDIDATE', candidate } })).status).toBe(404);
    expect(device.stderr()).not.toMatch(FIRST_VIEWER);

    // A Guest on the same device may (the control): accepted, then closed.
    const guestPassword = await invite(admin, 'gus', 'Guest');
    const gus = await deviceClient(device);
    expect((await passwordAuth(gus, 'gus', guestPassword)).stage).toBe('finish');
    expect((await gus.call('POST', '/iam/pairing/password-invite', {})).status).toBe(201);
    expect((await gus.call('POST', SIGNALING, { Session: 'gus1', Message: { type: 'SETUP_REQUEST' } })).status).toBe(204);
    expect((await gus.call('POST', SIGNALING, { Session: 'gus1', Message: { type: 'CLOSE', reason: 'done' } })).status).toBe(204);
    await waitForLog(device, LAST_VIEWER, 3000);
  });
});

describe('revocation', () => {
  it('deleting a watching Guest, or giving them a role without Webrtc:VideoStream, ends their video within 1 s', async () => {
    const device = await startDoorbellDevice();
    const admin = await adminOf(device);
    const cases: { username: string; change: () => ReturnType<typeof admin.call>; status: number; what: string }[] = [
      { username: 'gina', what: 'DELETE /iam/users/gina', status: 202, change: () => admin.call('DELETE', '/iam/users/gina') },
      { username: 'hugo', what: `PUT /iam/users/hugo/role ${DOORBELL_ROLE}`, status: 204, change: () => admin.call('PUT', '/iam/users/hugo/role', DOORBELL_ROLE) },
    ];
    for (const [index, c] of cases.entries()) {
      const client = await pairedClient(device, admin, c.username, 'Guest');
      const session = await client.open();
      const { viewer, frameTimes } = await openViewer(session);
      await viewer.nextFrame(10_000);
      await sleep(1000);
      const flowing = frameTimes.length;
      expect(flowing).toBeGreaterThan(10);

      let closedAt = Number.NaN;
      const closed = viewer.closed().then((reason) => {
        closedAt = performance.now();
        return reason;
      });
      const sent = performance.now();
      const answer = await c.change();
      const answered = performance.now();
      expect(answer.status).toBe(c.status);
      const reason = await Promise.race([closed, sleep(3000).then(() => 'still open after 3 s')]);
      const latency = closedAt - answered;
      console.log(`${c.what}: answered after ${Math.round(answered - sent)} ms; viewer closed ${Math.round(latency)} ms after the answer ("${reason}"); ${flowing} frames before`);
      expect(reason).toMatch(/revoked/);
      expect(latency).toBeLessThan(1000);

      // No frame after the close, and the device dropped the session (and the capture).
      const framesAtClose = frameTimes.filter((t) => t <= closedAt).length;
      await sleep(500);
      expect(frameTimes.length).toBe(framesAtClose);
      await waitForLog(device, /ended: access revoked \(0 viewer\(s\)\)/, 1000, index + 1);
      expect(count(device.stderr(), LAST_VIEWER)).toBe(index + 1);
      // The same connection cannot simply ask again.
      const again = await session.call('POST', SIGNALING, { Session: `again${index}`, Message: { type: 'SETUP_REQUEST' } }).then(
        () => 'accepted',
        (err: unknown) => (err instanceof CompanionError ? err.status : String(err)),
      );
      expect(again).toBe(403);
    }
  });
});

describe('file sources', () => {
  it('streams a clip capped to the requested size and rate (transcoded once: 30 fps is above the cap), without a pattern to time it by', async () => {
    const dir = await tempDir('lancam-clip-');
    const { file, codec } = await makeClip(dir);
    const device = await startVideoDevice({ source: file, size: '320x240', fps: 15 });
    expect(device.stdout()).toContain(`video        ${file} at most 320x240@15`);
    const home = await tempDir('lancam-home-');
    await cliPair(device, home);
    const watch = await cli(home, ['watch', '--address', at(device), '--seconds', '3']);
    expect(watch.code, watch.stdout + watch.stderr).toBe(0);
    const stats = watch.json<WatchJson>();
    console.log(`clip (${codec}) watch: ${JSON.stringify(stats)}`);
    expect(stats).toMatchObject({ width: 320, height: 240, glassToGlassMs: null });
    expect(stats.fps).toBeGreaterThanOrEqual(10);
    expect(stats.fps).toBeLessThanOrEqual(17);
    expect(stats.timeToFirstFrameMs).toBeLessThan(5000);
    expect(videoLog(device)).toMatch(new RegExp(`video source file .*clip\\.mp4 \\(looped\\) \\(${codec === 'libx264' ? 'h264' : 'mpeg4'} 320x240\\) -> H\\.264 320x240@15, transcoded once: running`));
    await waitForLog(device, LAST_VIEWER, 3000);
  });

  it('a missing file: lancam watch fails promptly, saying the camera cannot play its source', async () => {
    const dir = await tempDir('lancam-clip-');
    const missing = path.join(dir, 'missing.mp4');
    const device = await startVideoDevice({ source: missing });
    const home = await tempDir('lancam-home-');
    await cliPair(device, home);
    const started = performance.now();
    const watch = await cli(home, ['watch', '--address', at(device), '--seconds', '2'], 25_000);
    const elapsed = performance.now() - started;
    const error = watch.json<{ error?: { status: unknown; message: string } }>().error;
    console.log(`missing file watch: exit ${watch.code} after ${Math.round(elapsed)} ms: ${JSON.stringify(error)}`);
    // Not a hang: it ends, non-zero, with a message.
    expect(watch.code).toBe(1);
    expect(error?.message).toBeTruthy();
    // The device knows at once that the source failed, and why.
    const failed = await waitForLog(device, /failed: cannot play .*missing\.mp4.*No such file or directory/, 1);
    expect(failed).toBeLessThan(1000);
    // What a user expects: told that the camera's source failed, not left to wait for a frame.
    expect.soft(error?.message, 'the viewer is not told that the source failed').toMatch(/cannot play|No such file|source/i);
    expect.soft(elapsed, 'the viewer waits for its frame timeout instead').toBeLessThan(5000);
  });
});

describe('vanishing viewers', () => {
  it('a SIGKILLed lancam watch is cleaned up on the device within seconds', async () => {
    const device = await startVideoDevice();
    const home = await tempDir('lancam-home-');
    await cliPair(device, home);
    const watch = spawnCli(['--json', ...ICE_LOOPBACK, 'watch', '--address', at(device), '--seconds', '60'], home);
    await waitForLog(device, /video: session \S+ for user admin started \(1 viewer\(s\)\)/, 10_000);
    await sleep(1500);
    expect(count(device.stderr(), LAST_VIEWER)).toBe(0);

    watch.child.kill('SIGKILL');
    expect(await watch.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const killed = performance.now();
    await waitForLog(device, /video: session \S+ for user admin ended: .* \(0 viewer\(s\)\)/, 10_000);
    const ended = performance.now() - killed;
    await waitForLog(device, LAST_VIEWER, 10_000);
    const line = /video: session \S+ for user admin ended: (.*) \(0 viewer\(s\)\)/.exec(device.stderr())![1];
    console.log(`killed viewer: session ended ${Math.round(ended)} ms after SIGKILL ("${line}")`);
    expect(ended).toBeLessThan(10_000);
    expect(count(device.stderr(), FIRST_VIEWER)).toBe(1);
  });
});

describe('long streams', () => {
  it('a stream plays on past the device\'s idle timeout; the quiet channel is closed once the video stops', async () => {
    const device = await startVideoDevice({ size: '320x240', fps: 15, args: ['--idle-timeout', '2'] });
    const admin = await adminOf(device);
    const client = await pairedClient(device, admin, 'longwatch', 'Guest');
    admin.close();
    const session = await client.open();
    const { viewer, frameTimes } = await openViewer(session);
    await viewer.nextFrame(10_000);
    // Three idle timeouts long, with no request on the channel.
    await sleep(6000);
    expect(viewer.closedReason).toBeUndefined();
    expect(session.channel.peer.isOpen).toBe(true);
    const recent = frameTimes.filter((t) => t > performance.now() - 1000).length;
    expect(recent).toBeGreaterThan(8);

    // Video over: the connection is idle again, and the device closes it.
    const idleClosed = new Promise<{ code: number; reason: string }>((resolve) => session.channel.peer.once('close', resolve));
    viewer.close();
    const { code, reason } = await idleClosed;
    expect(code).toBe(1001);
    expect(reason).toBe('idle timeout');
  }, 40_000);
});
