/**
 * CameraSource with real processes (ffprobe, ffmpeg, the GStreamer encoder): a VP9 file is
 * transcoded once to H.264 at its own size, an H.264 file above the --size cap is transcoded to
 * fit (aspect kept), one within the caps is passed through untouched, and a transcoded source
 * gives a keyframe when asked. Plus the pure plan (video-plan.ts) and ffprobe parsing.
 */
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CameraSource } from '../../../src/device/video/h264/camera-source';
import { EncodeOnceSource, type EncodedUnit } from '../../../src/device/video/h264/encoded-stream';
import type { SourceStatus } from '../../../src/device/video/capture';
import { fitInside, planVideo } from '../../../src/device/video/video-plan';
import { ffprobeFor, parseProbeOutput, parseRate } from '../../../src/device/video/ffmpeg/probe';
import { decodeAnnexB } from '../../helpers/h264-decode';

const run = promisify(execFile);
const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as never;

describe('planVideo', () => {
  it('passes H.264 within the caps through and transcodes the rest once, aspect kept', () => {
    const h264 = { codec: 'h264', width: 1920, height: 1080, fps: 30 };
    expect(planVideo(h264, {}).mode).toBe('passthrough');
    expect(planVideo(h264, { maxWidth: 1920, maxHeight: 1080, maxFps: 30 }).mode).toBe('passthrough');
    expect(planVideo({ ...h264, fps: 30000 / 1001 }, { maxFps: 30 }).mode).toBe('passthrough');
    expect(planVideo(h264, { maxWidth: 1280, maxHeight: 720 })).toMatchObject({ mode: 'transcode', width: 1280, height: 720, fps: 30 });
    expect(planVideo(h264, { maxWidth: 640, maxHeight: 640 })).toMatchObject({ mode: 'transcode', width: 640, height: 360 });
    expect(planVideo(h264, { maxFps: 15 })).toMatchObject({ mode: 'transcode', width: 1920, height: 1080, fps: 15 });
    expect(planVideo({ codec: 'hevc', width: 3840, height: 2160, fps: 25 }, {})).toMatchObject({ mode: 'transcode', width: 3840, height: 2160, fps: 25 });
    expect(planVideo({ codec: 'mjpeg', width: 640, height: 480, fps: undefined }, {})).toMatchObject({ mode: 'transcode', width: 640, height: 480, fps: 30 });
    expect(planVideo(undefined, { maxWidth: 640, maxHeight: 480 })).toMatchObject({ mode: 'transcode', width: 640, height: 480 });
    expect(fitInside(1001, 333, { maxWidth: 500 })).toEqual({ width: 500, height: 166 });
    // Above what the encoder takes: fitted, aspect kept.
    expect(planVideo({ codec: 'hevc', width: 7680, height: 4320, fps: 30 }, {})).toMatchObject({ mode: 'transcode', width: 3840, height: 2160 });
  });

  it('reads ffprobe output and refuses what is not a video stream', () => {
    expect(parseRate('30000/1001')).toBeCloseTo(29.97, 2);
    expect(parseRate('0/0')).toBeUndefined();
    expect(parseProbeOutput('{"streams":[{"codec_name":"vp9","width":640,"height":360,"avg_frame_rate":"0/0","r_frame_rate":"25/1"}]}')).toEqual({ codec: 'vp9', width: 640, height: 360, fps: 25 });
    expect(parseProbeOutput('{"streams":[]}')).toBe('no video stream');
    expect(parseProbeOutput('nope')).toMatch(/JSON/);
    expect(ffprobeFor('ffmpeg')).toBe('ffprobe');
    expect(ffprobeFor('/opt/ff/bin/ffmpeg')).toBe('/opt/ff/bin/ffprobe');
  });
});

const ready = existsSync('/usr/bin/python3');

describe.skipIf(!ready)('CameraSource (real ffprobe, ffmpeg and encoder)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lancam-camsrc-'));
    const base = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-t', '2', '-pix_fmt', 'yuv420p'];
    await run('ffmpeg', [...base, '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '500k', path.join(dir, 'clip.webm')], { timeout: 60_000 });
    await run('ffmpeg', [...base, '-c:v', 'libx264', '-g', '60', path.join(dir, 'clip.mp4')], { timeout: 60_000 });
    await run('ffmpeg', [...base, '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error', path.join(dir, 'hevc.mp4')], { timeout: 60_000 });
  }, 90_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function collect(source: CameraSource, count: number, onUnit?: (n: number) => void): Promise<{ units: EncodedUnit[]; statuses: SourceStatus[] }> {
    const units: EncodedUnit[] = [];
    const statuses: SourceStatus[] = [];
    source.on('status', (s) => statuses.push(s));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${units.length} pictures; statuses ${JSON.stringify(statuses)}`)), 30_000);
      source.on('unit', (unit) => {
        units.push(unit);
        onUnit?.(units.length);
        if (units.length === count) {
          clearTimeout(timer);
          resolve();
        }
      });
      source.on('status', (s) => {
        if (s.state === 'failed') reject(new Error(s.message));
      });
      source.start();
    });
    await source.stop();
    return { units, statuses };
  }

  it('transcodes a VP9 file once to H.264 at its own size, and gives a keyframe when asked', async () => {
    const source = new CameraSource({ input: path.join(dir, 'clip.webm'), caps: {}, log });
    let askedAt = 0;
    const { units } = await collect(source, 40, (n) => {
      if (n === 12) {
        askedAt = n;
        source.requestKeyframe();
      }
    });
    expect(source.currentPlan).toMatchObject({ mode: 'transcode', width: 640, height: 360, fps: 30 });
    expect(source.keyframesOnRequest).toBe(true);
    expect(units[0]!.keyframe).toBe(true);
    const next = units.findIndex((u, i) => i > askedAt && u.keyframe);
    // GOP is 60 pictures: an IDR within a few pictures of the request is the forced one.
    expect(next).toBeGreaterThan(askedAt);
    expect(next - askedAt).toBeLessThan(10);
    const decoded = await decodeAnnexB(Buffer.concat(units.map((u) => u.data)));
    expect(decoded).toMatchObject({ codec: 'h264', width: 640, height: 360 });
  }, 60_000);

  it('transcodes H.265 once to H.264 (Debian\'s Chromium offers no H.265 for WebRTC)', async () => {
    const source = new CameraSource({ input: path.join(dir, 'hevc.mp4'), caps: {}, log });
    const { units } = await collect(source, 20);
    expect(source.currentPlan).toMatchObject({ mode: 'transcode', width: 640, height: 360, reason: 'hevc is not H.264' });
    expect(await decodeAnnexB(Buffer.concat(units.map((u) => u.data)))).toMatchObject({ codec: 'h264', width: 640, height: 360 });
  }, 60_000);

  it('transcodes H.264 above the --size cap once, to fit with the aspect kept', async () => {
    const source = new CameraSource({ input: path.join(dir, 'clip.mp4'), caps: { maxWidth: 320, maxHeight: 320 }, log });
    const { units } = await collect(source, 20);
    expect(source.currentPlan).toMatchObject({ mode: 'transcode', width: 320, height: 180 });
    expect(await decodeAnnexB(Buffer.concat(units.map((u) => u.data)))).toMatchObject({ codec: 'h264', width: 320, height: 180 });
  }, 60_000);

  it('passes H.264 within the caps through untouched', async () => {
    const source = new CameraSource({ input: path.join(dir, 'clip.mp4'), caps: { maxWidth: 1280, maxHeight: 720, maxFps: 30 }, log });
    const { units } = await collect(source, 20);
    expect(source.currentPlan?.mode).toBe('passthrough');
    expect(source.keyframesOnRequest).toBe(false);
    expect(source.description).toMatch(/passed through/);
    expect(await decodeAnnexB(Buffer.concat(units.map((u) => u.data)))).toMatchObject({ codec: 'h264', width: 640, height: 360 });
  }, 60_000);

  it('reports a file it cannot read as failed, with ffprobe\'s reason', async () => {
    const source = new CameraSource({ input: path.join(dir, 'missing.mp4'), caps: {}, log });
    const failed = new Promise<SourceStatus>((resolve) => source.on('status', (s) => s.state === 'failed' && resolve(s)));
    source.start();
    const status = await failed;
    expect(status.message).toMatch(/missing\.mp4.*No such file/);
    await source.stop();
  }, 30_000);
});

describe.skipIf(!ready)('EncodeOnceSource status relay', () => {
  it('passes a frame source\'s retry on, and says running again when it is back', async () => {
    // A frame producer driven by the test (the states a live ffmpeg source goes through), into the real encoder.
    const frames = new EventEmitter();
    const producer = Object.assign(frames, { description: 'driven frames', start: () => undefined, stop: async () => undefined });
    const source = new EncodeOnceSource(producer as never, { width: 64, height: 48, fps: 10, description: 'driven frames, encoded once', encoder: 'x264' });
    const states: string[] = [];
    source.on('status', (s) => states.push(s.state));
    const firstUnit = new Promise<void>((resolve) => source.once('unit', () => resolve()));
    source.start();
    const frame = { width: 64, height: 48, data: new Uint8Array((64 * 48 * 3) / 2).fill(128) };
    const feed = setInterval(() => frames.emit('frame', frame), 100);
    try {
      await firstUnit;
      frames.emit('status', { state: 'retrying', message: 'rtsp: the stream ended', retryInMs: 1000 });
      frames.emit('status', { state: 'starting', message: 'starting' });
      frames.emit('status', { state: 'running', message: 'running' });
      frames.emit('status', { state: 'running', message: 'running' });
      expect(states).toEqual(['starting', 'running', 'retrying', 'running']);
    } finally {
      clearInterval(feed);
      await source.stop();
    }
    expect(states.at(-1)).toBe('stopped');
  }, 30_000);
});
