/**
 * The `h264` stack end to end with real processes: `lancam-device --video-stack h264` and the
 * `lancam` CLI (which receives H.264 with node-datachannel and decodes it with ffmpeg), on
 * loopback only: every device runs with `--ice-address 127.0.0.1`, every CLI and in-process viewer
 * with 127.0.0.1, no ICE server anywhere.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeRgba, patternMatchScoreRgba } from '../../src/shared/video/test-pattern';
import type { WatchStats } from '../../src/companion/video/camera-viewer';
import { cleanupAll, runCli, tempDir, type DeviceProcess } from '../helpers/processes';
import { adminOf } from '../helpers/raw-client';
import { cleanupVideo, ICE_LOOPBACK, makeClip, openViewer, pairedClient, sleep, startVideoDevice, waitForLog } from '../helpers/video';

afterEach(async () => {
  await cleanupVideo();
  await cleanupAll();
});

const H264 = ['--video-stack', 'h264'];

function at(device: DeviceProcess): string {
  return `${device.host}:${device.port}`;
}

function cli(home: string, args: string[], timeoutMs = 25_000) {
  return runCli(['--json', ...ICE_LOOPBACK, ...args], { home, timeoutMs });
}

async function cliPair(device: DeviceProcess, home: string): Promise<void> {
  const paired = await cli(home, ['pair', '--address', at(device)]);
  expect(paired.code, paired.stdout + paired.stderr).toBe(0);
}

describe('the h264 stack with the CLI viewer', () => {
  it('snapshot and watch decode the H.264 pattern at its size, with every number watch reports', async () => {
    const device = await startVideoDevice({ size: '640x360', args: H264 });
    const home = await tempDir('lancam-home-');
    await cliPair(device, home);

    const file = path.join(home, 'shot.png');
    const before = Date.now();
    const shot = await cli(home, ['snapshot', '--address', at(device), '-o', file]);
    expect(shot.code, shot.stdout + shot.stderr).toBe(0);
    const png = PNG.sync.read(await readFile(file));
    expect([png.width, png.height]).toEqual([640, 360]);
    expect(patternMatchScoreRgba(png.data, png.width, png.height)).toBeGreaterThan(0.8);
    const stamp = decodeRgba(png.data, png.width, png.height);
    expect(stamp).toBeDefined();
    expect(stamp!.captureTimeMs).toBeGreaterThanOrEqual(before - 3000);

    const watch = await cli(home, ['watch', '--address', at(device), '--seconds', '3']);
    expect(watch.code, watch.stdout + watch.stderr).toBe(0);
    const stats = watch.json<Omit<WatchStats, 'frames'>>();
    console.log(`h264 watch: ${JSON.stringify(stats)}`);
    expect(stats).toMatchObject({ width: 640, height: 360 });
    expect(stats.fps).toBeGreaterThan(10);
    expect(stats.bitrateKbps).toBeGreaterThan(0);
    expect(stats.timeToFirstFrameMs).not.toBeNull();
    expect(stats.glassToGlassMs).not.toBeNull();
    expect(stats.glassToGlassMs!).toBeGreaterThanOrEqual(0);
    expect(typeof stats.framesDropped).toBe('number');
    // The device encoded with x264 and says so; nothing VP8 was made.
    expect(device.stderr()).toMatch(/H\.264 encoded once/);
  });

  it('passes an H.264 file through without decoding it: the viewer gets the file\'s own size', async () => {
    const dir = await tempDir('lancam-clip-');
    const clip = await makeClip(dir);
    if (clip.codec !== 'libx264') return; // no x264 here: nothing to pass through
    // --size is 640x480, the clip is 320x240: passthrough keeps the camera's own picture.
    const device = await startVideoDevice({ size: '640x480', source: clip.file, args: H264 });
    const admin = await adminOf(device);
    const client = await pairedClient(device, admin, 'pia', 'Guest');
    const { viewer } = await openViewer(await client.open());
    const frame = await viewer.nextFrame(15_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\ndevice: ${device.stderr()}`);
    });
    expect([frame.width, frame.height]).toEqual([320, 240]);
    // Past the end of the 2 s clip: the loop keeps going.
    await sleep(3000);
    const stats = await viewer.stats();
    console.log(`h264 passthrough: ${JSON.stringify(stats)}`);
    expect(stats.frames).toBeGreaterThan(60);
    expect(device.stderr()).toMatch(/H\.264 passed through/);
    expect(device.stderr()).not.toMatch(/failed/);
  });

  it('revocation cuts an H.264 stream at once', async () => {
    const device = await startVideoDevice({ size: '320x240', args: H264 });
    const admin = await adminOf(device);
    const client = await pairedClient(device, admin, 'gus', 'Guest');
    const { viewer } = await openViewer(await client.open());
    await viewer.nextFrame(15_000);
    const answered = await admin.call('DELETE', '/iam/users/gus');
    expect(answered.status).toBe(202);
    const reason = await Promise.race([viewer.closed(), sleep(3000).then(() => 'still open')]);
    expect(reason).toContain('revoked');
    await waitForLog(device, /last viewer left/, 5000);
  });
});
