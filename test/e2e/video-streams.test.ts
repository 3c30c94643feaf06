/**
 * Main and sub streams on the h264 stack with real processes: `lancam-device --video-stack h264`
 * and the `lancam` CLI viewer (node-datachannel + ffmpeg), loopback only (every device with
 * `--ice-address 127.0.0.1`, every CLI with 127.0.0.1, no ICE server). The pattern's sub stream
 * is lancam's own second encode, run only while someone watches it; an RTSP camera's sub stream
 * (GStreamer's RTSP server, two mounts) is passed through like its main stream.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { WatchStats } from '../../src/companion/video/camera-viewer';
import { cleanupAll, runCli, tempDir, type DeviceProcess } from '../helpers/processes';
import { startRtspCamera } from '../helpers/rtsp-camera';
import { adminOf, deviceClient, invite, passwordAuth } from '../helpers/raw-client';
import { cleanupVideo, DOORBELL_ROLE, ICE_LOOPBACK, startDoorbellDevice, startVideoDevice } from '../helpers/video';

afterEach(async () => {
  await cleanupVideo();
  await cleanupAll();
});

const H264 = ['--video-stack', 'h264'];

function at(device: DeviceProcess): string {
  return `${device.host}:${device.port}`;
}

function cli(home: string, args: string[], timeoutMs = 30_000) {
  return runCli(['--json', ...ICE_LOOPBACK, ...args], { home, timeoutMs });
}

/** Command lines of the children of `pid` that run the x264 encoder. */
function encoders(pid: number): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (ppid === pid && cmd.includes('x264-encoder.py')) found.push(cmd);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function watch(home: string, device: DeviceProcess, extra: string[]): Promise<Omit<WatchStats, 'frames'>> {
  const result = await cli(home, ['watch', '--address', at(device), '--seconds', '2', ...extra]);
  expect(result.code, result.stdout + result.stderr + device.stderr().slice(-3000)).toBe(0);
  return result.json<Omit<WatchStats, 'frames'>>();
}

describe('main and sub streams (h264 stack, CLI viewer)', () => {
  it('the pattern offers a 640x360 sub stream of its own, encoded only while watched; --stream picks', async () => {
    const device = await startVideoDevice({ size: '1280x720', args: H264 });
    const home = await tempDir('lancam-home-');
    const paired = await cli(home, ['pair', '--address', at(device)]);
    expect(paired.code, paired.stdout + paired.stderr).toBe(0);

    const sub = await watch(home, device, ['--stream', 'sub']);
    console.log(`pattern sub: ${JSON.stringify(sub)}`);
    expect([sub.width, sub.height]).toEqual([640, 360]);
    expect(sub.glassToGlassMs).not.toBeNull();
    const main = await watch(home, device, []);
    expect([main.width, main.height]).toEqual([1280, 720]);
    expect(device.stderr()).toMatch(/starting test pattern 640x360@30, H\.264 encoded once/);

    const file = path.join(home, 'sub.png');
    const shot = await cli(home, ['snapshot', '--address', at(device), '--stream', 'sub', '-o', file]);
    expect(shot.code, shot.stdout + shot.stderr).toBe(0);
    const png = PNG.sync.read(await readFile(file));
    expect([png.width, png.height]).toEqual([640, 360]);
    // Nobody watches: neither encoder runs.
    await expect.poll(() => encoders(device.process.pid!).length, { timeout: 10_000 }).toBe(0);

    const bad = await cli(home, ['watch', '--address', at(device), '--stream', 'tiny']);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/--stream must be main or sub/);
  }, 120_000);

  it('an RTSP camera\'s main and sub mounts are both passed through: --sub-source', async () => {
    const camera = await startRtspCamera({ width: 1280, height: 720, fps: 30, gopSeconds: 2, sub: { width: 640, height: 360 } });
    const device = await startVideoDevice({ size: '1280x720', source: camera.main, args: [...H264, '--sub-source', camera.sub] });
    const home = await tempDir('lancam-home-');
    const paired = await cli(home, ['pair', '--address', at(device)]);
    expect(paired.code, paired.stdout + paired.stderr).toBe(0);
    const sub = await watch(home, device, ['--stream', 'sub']);
    console.log(`rtsp sub: ${JSON.stringify(sub)}`);
    expect([sub.width, sub.height]).toEqual([640, 360]);
    const main = await watch(home, device, ['--stream', 'main']);
    console.log(`rtsp main: ${JSON.stringify(main)}`);
    expect([main.width, main.height]).toEqual([1280, 720]);
    // Passed through: no encoder on the device.
    expect(encoders(device.process.pid!)).toHaveLength(0);
  }, 120_000);

  it('a viewer asking for a sub stream whose source fails gets the main stream', async () => {
    const camera = await startRtspCamera({ width: 1280, height: 720, fps: 30, gopSeconds: 2 });
    // Nothing listens on port 9 of loopback: the sub stream's ffmpeg cannot connect.
    const device = await startVideoDevice({ size: '1280x720', source: camera.main, args: [...H264, '--sub-source', 'rtsp://127.0.0.1:9/sub'] });
    const home = await tempDir('lancam-home-');
    const paired = await cli(home, ['pair', '--address', at(device)]);
    expect(paired.code, paired.stdout + paired.stderr).toBe(0);
    const stats = await watch(home, device, ['--stream', 'sub']);
    expect([stats.width, stats.height]).toEqual([1280, 720]);
    expect(device.stderr()).toMatch(/the sub stream's source is (retrying|failed) .*, main stream/);
  }, 120_000);

  it('the IAM gate covers the stream choice: STREAM needs Webrtc:VideoStream, and only main or sub is accepted', async () => {
    const device = await startDoorbellDevice();
    const admin = await adminOf(device);
    const password = await invite(admin, 'bell', DOORBELL_ROLE);
    const bell = await deviceClient(device);
    expect(await passwordAuth(bell, 'bell', password)).toMatchObject({ stage: 'finish', response: { status: 204 } });
    expect((await bell.call('POST', '/iam/pairing/password-invite', { FingerprintName: 'door' })).status).toBe(201);
    const refused = await bell.call('POST', '/webrtc/signaling', { Session: 'bell1', Message: { type: 'STREAM', stream: 'main' } });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toContain('Webrtc:VideoStream');
    // An administrator passes the gate; there is no such session (404), and a bad choice is 400.
    expect((await admin.call('POST', '/webrtc/signaling', { Session: 'none', Message: { type: 'STREAM', stream: 'sub' } })).status).toBe(404);
    expect((await admin.call('POST', '/webrtc/signaling', { Session: 'none', Message: { type: 'STREAM', stream: 'huge' } })).status).toBe(400);
    expect((await admin.call('POST', '/webrtc/signaling', { Session: 'a1', Message: { type: 'SETUP_REQUEST', stream: 'tiny' } })).status).toBe(400);
    expect(device.stderr()).not.toMatch(/first viewer/);
  }, 60_000);

  it('refuses a --sub-source without the h264 stack, or equal to --source', async () => {
    const home = await tempDir('lancam-dev-');
    for (const [args, message] of [
      [['--video-stack', 'vp8', '--sub-source', 'rtsp://127.0.0.1:1/sub'], /--sub-source needs --video-stack h264/],
      [[...H264, '--source', 'rtsp://127.0.0.1:1/a', '--sub-source', 'rtsp://127.0.0.1:1/a'], /--sub-source must be another source/],
      [[...H264, '--gop-cache', 'lots'], /--gop-cache must be a number/],
    ] as const) {
      await expect(startVideoDevice({ stateDir: home, args: [...args] })).rejects.toThrow(message);
    }
  }, 60_000);
});
