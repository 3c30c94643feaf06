/**
 * A camera on a machine without GStreamer's H.264 encoder (no python3-gi / x264enc): when the
 * video stack was not chosen, the test pattern falls back to the vp8 stack so the first run still
 * shows a picture, and says why and what to install; a camera source keeps H.264 (passthrough
 * needs no encoder) with a warning; a stack chosen with --video-stack is kept as chosen.
 *
 * "No encoder" is made real for the device's GStreamer: its plugin paths point at an empty
 * directory (GStreamer's own GST_PLUGIN_SYSTEM_PATH_1_0 / GST_PLUGIN_PATH_1_0 / GST_REGISTRY_1_0),
 * so x264enc and the rest are not found, exactly as on a machine without the packages.
 * Loopback only: --ice-address 127.0.0.1, the CLI viewer on 127.0.0.1, no ICE server.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import { patternMatchScoreRgba } from '../../src/shared/video/test-pattern';
import { cleanupAll, runCli, tempDir, type DeviceProcess } from '../helpers/processes';
import { cleanupVideo, ICE_LOOPBACK, startVideoDevice } from '../helpers/video';

afterEach(async () => {
  await cleanupVideo();
  await cleanupAll();
});

async function withoutGstreamer(): Promise<NodeJS.ProcessEnv> {
  const empty = await tempDir('lancam-no-gst-');
  await mkdir(path.join(empty, 'plugins'));
  return {
    GST_PLUGIN_SYSTEM_PATH_1_0: path.join(empty, 'plugins'),
    GST_PLUGIN_PATH_1_0: path.join(empty, 'plugins'),
    GST_REGISTRY_1_0: path.join(empty, 'registry.bin'),
  };
}

const at = (device: DeviceProcess): string => `${device.host}:${device.port}`;
const cli = (home: string, args: string[]) => runCli(['--json', ...ICE_LOOPBACK, ...args], { home, timeoutMs: 30_000 });

describe('a machine without the H.264 encoder', () => {
  it('runs the pattern on the vp8 stack when no stack was chosen, says why, and the picture arrives', async () => {
    const device = await startVideoDevice({ env: await withoutGstreamer() });
    expect(device.stderr()).toMatch(/H\.264 encoder cannot run here \(GStreamer elements missing: [^)]*x264enc\); the test pattern uses the vp8 stack instead/);
    expect(device.stderr()).toMatch(/install python3-gi .*gstreamer1\.0-plugins-ugly/);
    expect(device.stdout()).toMatch(/video\s+test pattern 320x240@30, VP8 per viewer/);

    const home = await tempDir('lancam-home-');
    const paired = await cli(home, ['pair', '--address', at(device)]);
    expect(paired.code, paired.stdout + paired.stderr).toBe(0);
    const file = path.join(home, 'shot.png');
    const shot = await cli(home, ['snapshot', '--address', at(device), '-o', file]);
    expect(shot.code, shot.stdout + shot.stderr).toBe(0);
    const png = PNG.sync.read(await readFile(file));
    expect([png.width, png.height]).toEqual([320, 240]);
    expect(patternMatchScoreRgba(png.data, png.width, png.height)).toBeGreaterThan(0.8);
  }, 90_000);

  it('keeps a chosen stack, and keeps H.264 for a camera (passed through) with a warning', async () => {
    const env = await withoutGstreamer();
    const chosen = await startVideoDevice({ env, args: ['--video-stack', 'h264'] });
    expect(chosen.stderr()).not.toMatch(/encoder cannot run here/);
    expect(chosen.stdout()).toMatch(/video\s+test pattern .*H\.264 shared by all viewers/);

    const camera = await startVideoDevice({ env, source: 'rtsp://127.0.0.1:9/cam' });
    expect(camera.stderr()).toMatch(/H\.264 encoder cannot run here .*H\.264 cameras are passed through, but a source that must be encoded .* will fail/);
    expect(camera.stdout()).toMatch(/video\s+rtsp:\/\/127\.0\.0\.1:9\/cam.*H\.264 shared by all viewers/);
  }, 60_000);

  it('says nothing and uses H.264 where the encoder is installed', async () => {
    const device = await startVideoDevice();
    expect(device.stderr()).not.toMatch(/encoder cannot run here/);
    expect(device.stdout()).toMatch(/video\s+test pattern .*H\.264 shared by all viewers/);
  }, 60_000);
});
