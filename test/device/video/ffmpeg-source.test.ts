/**
 * ffmpeg video sources against the real ffmpeg: a clip made by ffmpeg itself in a temp dir,
 * streamed at two sizes and rates; missing, garbage and unreachable inputs; process clean-up.
 * Network: the only live input is rtsp://127.0.0.1:1 (loopback, refused).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  FFMPEG_NOT_FOUND,
  checkFfmpeg,
  classifyInput,
  createFfmpegSource,
  retryDelayMs,
  type VideoSource,
  type VideoSourceStatus,
} from '../../../src/device/video/ffmpeg-source';
import { buildFfmpegArgs } from '../../../src/device/video/ffmpeg/args';
import { FrameAssembler } from '../../../src/device/video/ffmpeg/frame-assembler';

const run = promisify(execFile);
const ffmpeg = await checkFfmpeg();
if (!ffmpeg.ok) console.warn(`SKIPPING ffmpeg source tests that need ffmpeg: ${ffmpeg.message}`);
const hasProc = existsSync('/proc/self/stat');

const sources: VideoSource[] = [];
function track(source: VideoSource): VideoSource {
  sources.push(source);
  return source;
}
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
});

/** Status events as they come, with a way to wait for one. */
function statuses(source: VideoSource) {
  const seen: VideoSourceStatus[] = [];
  const waiters: { test: (s: VideoSourceStatus) => boolean; resolve: (s: VideoSourceStatus) => void }[] = [];
  source.on('status', (s) => {
    seen.push(s);
    for (const w of waiters.splice(0)) {
      if (w.test(s)) w.resolve(s);
      else waiters.push(w);
    }
  });
  return {
    seen,
    waitFor(test: (s: VideoSourceStatus) => boolean, timeoutMs = 10_000): Promise<VideoSourceStatus> {
      const already = seen.find(test);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such status within ${timeoutMs} ms; saw ${JSON.stringify(seen)}`)), timeoutMs);
        waiters.push({ test, resolve: (s) => (clearTimeout(timer), resolve(s)) });
      });
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Live ffmpeg children of this test process (Linux /proc), zombies included. */
async function ffmpegChildren(comm = /ffmpeg/): Promise<{ pid: number; state: string }[]> {
  const out: { pid: number; state: string }[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid ...
    const m = /^(\d+) \((.*)\) (\S) (\d+)/.exec(stat);
    if (m && Number(m[4]) === process.pid && comm.test(m[2]!)) out.push({ pid: Number(m[1]), state: m[3]! });
  }
  return out;
}

describe('input classification and arguments', () => {
  it('classifies inputs', () => {
    expect(classifyInput('/home/pi/clip.mp4')).toBe('file');
    expect(classifyInput('clip.mkv')).toBe('file');
    expect(classifyInput('file:///tmp/a.mp4')).toBe('file');
    expect(classifyInput('rtsp://cam.local:554/stream1')).toBe('rtsp');
    expect(classifyInput('RTSPS://cam/x')).toBe('rtsp');
    expect(classifyInput('/dev/video0')).toBe('v4l2');
    expect(classifyInput('/dev/v4l/by-id/usb-cam-video-index0')).toBe('v4l2');
    expect(classifyInput('http://127.0.0.1:8080/stream.mjpg')).toBe('url');
    expect(classifyInput('srt://127.0.0.1:9000')).toBe('url');
  });

  it('reads a file at its own rate, forever, and writes raw I420 of the exact size', () => {
    const args = buildFfmpegArgs({ input: '/v/a.mp4', kind: 'file', width: 320, height: 240, fps: 30, loop: true });
    const joined = args.join(' ');
    expect(joined).toContain('-re -stream_loop -1 -i /v/a.mp4');
    expect(joined).toContain('-nostdin');
    expect(joined).toContain('-loglevel error');
    expect(joined).toContain('-an');
    expect(joined).toMatch(/-vf \S*scale=320:240:force_original_aspect_ratio=decrease\S*,pad=320:240/);
    expect(joined).toContain('-pix_fmt yuv420p -r 30 -f rawvideo pipe:1');
    expect(buildFfmpegArgs({ input: '/v/a.mp4', kind: 'file', width: 320, height: 240, fps: 30, loop: false })).not.toContain('-stream_loop');
    // A colon in a path must not be read as a protocol.
    expect(buildFfmpegArgs({ input: 'cam:1.mp4', kind: 'file', width: 320, height: 240, fps: 30, loop: true })).toContain('file:cam:1.mp4');
  });

  it('uses TCP and a socket timeout for RTSP, and asks a V4L2 camera for the size and rate', () => {
    const rtsp = buildFfmpegArgs({ input: 'rtsp://c/s', kind: 'rtsp', width: 640, height: 480, fps: 15, loop: true }).join(' ');
    expect(rtsp).toContain('-rtsp_transport tcp -timeout 10000000');
    expect(rtsp).not.toContain('-re');
    const legacy = buildFfmpegArgs({ input: 'rtsp://c/s', kind: 'rtsp', width: 640, height: 480, fps: 15, loop: true, legacyRtspTimeout: true });
    expect(legacy).toContain('-stimeout');
    const v4l2 = buildFfmpegArgs({ input: '/dev/video0', kind: 'v4l2', width: 640, height: 480, fps: 15, loop: true }).join(' ');
    expect(v4l2).toContain('-f v4l2 -framerate 15 -video_size 640x480 -i /dev/video0');
  });

  it('rejects odd, tiny, huge sizes and silly rates with a RangeError', () => {
    const ok = { input: 'a.mp4', width: 320, height: 240, fps: 30 };
    expect(() => createFfmpegSource(ok)).not.toThrow();
    for (const bad of [
      { width: 321 },
      { height: 241 },
      { width: 8 },
      { height: 14 },
      { width: 3842 },
      { height: 2162 },
      { width: 320.5 },
      { fps: 0 },
      { fps: 61 },
      { fps: Number.NaN },
    ]) {
      expect(() => createFfmpegSource({ ...ok, ...bad }), JSON.stringify(bad)).toThrow(RangeError);
    }
    expect(() => createFfmpegSource({ ...ok, input: '' })).toThrow(TypeError);
  });

  it('backs off 1 s, 2 s, 4 s … up to 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map(retryDelayMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
});

describe('FrameAssembler', () => {
  it('cuts a stream split at any place into exact frames, without allocating per frame', () => {
    const frameSize = 24;
    const stream = Uint8Array.from({ length: frameSize * 5 + 7 }, (_, i) => i % 251);
    for (const chunk of [1, 5, 23, 24, 25, 48, 200]) {
      const frames: number[][] = [];
      const buffers = new Set<Uint8Array>();
      const a = new FrameAssembler(frameSize, (f) => {
        frames.push([...f]);
        buffers.add(f);
      });
      for (let i = 0; i < stream.length; i += chunk) a.push(stream.subarray(i, i + chunk));
      expect(frames.length, `chunk ${chunk}`).toBe(5);
      frames.forEach((f, n) => expect(f).toEqual([...stream.subarray(n * frameSize, (n + 1) * frameSize)]));
      expect(a.pending).toBe(7);
      expect(buffers.size).toBe(2); // a pool of two, reused
      a.reset();
      expect(a.pending).toBe(0);
    }
  });
});

describe.skipIf(!ffmpeg.ok)(`ffmpeg sources (${ffmpeg.ok ? `ffmpeg ${ffmpeg.version}` : 'no ffmpeg'})`, () => {
  let dir = '';
  let clip = '';
  let shortClip = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lancam-ffmpeg-'));
    clip = path.join(dir, 'clip.mp4');
    shortClip = path.join(dir, 'short.mp4');
    const make = async (file: string, seconds: number) => {
      const base = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', String(seconds), '-pix_fmt', 'yuv420p'];
      try {
        await run('ffmpeg', [...base, '-c:v', 'libx264', '-preset', 'ultrafast', file]);
      } catch {
        await run('ffmpeg', [...base, '-c:v', 'mpeg4', file]);
      }
    };
    await make(clip, 2);
    await make(shortClip, 0.5);
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function stream(width: number, height: number, fps: number, windowMs: number, totalMs: number) {
    const source = track(createFfmpegSource({ input: clip, width, height, fps }));
    const st = statuses(source);
    const sizes = new Set<number>();
    const times: number[] = [];
    let sample: Uint8Array | undefined;
    let later: Uint8Array | undefined;
    source.on('frame', (f) => {
      expect(f.width).toBe(width);
      expect(f.height).toBe(height);
      sizes.add(f.data.length);
      times.push(performance.now());
      if (times.length === 3) sample = f.data.slice();
      if (times.length === fps) later = f.data.slice();
    });
    const t0 = performance.now();
    source.start();
    await st.waitFor((s) => s.state === 'running');
    const firstFrameMs = performance.now() - t0;
    const from = performance.now();
    await sleep(totalMs);
    await source.stop();
    const inWindow = times.filter((t) => t >= from && t < from + windowMs).length;
    const lastHalfSecond = times.filter((t) => t >= from + totalMs - 500).length;
    return { st, sizes, inWindow, lastHalfSecond, sample: sample!, later: later!, firstFrameMs };
  }

  function assertPicture(frame: Uint8Array, width: number, height: number) {
    const y = frame.subarray(0, width * height);
    const counts = new Map<number, number>();
    for (const v of y) counts.set(v, (counts.get(v) ?? 0) + 1);
    // Not one colour: many distinct luma values, none covering almost everything.
    expect(counts.size).toBeGreaterThan(20);
    expect(Math.max(...counts.values())).toBeLessThan(y.length * 0.9);
    const u = frame.subarray(width * height, width * height * 1.25);
    expect(new Set(u).size).toBeGreaterThan(5);
  }

  it('streams 160x120 at 15 fps: exact frames at about the requested rate', async () => {
    const r = await stream(160, 120, 15, 2000, 2200);
    expect([...r.sizes]).toEqual([(160 * 120 * 3) / 2]);
    expect(r.inWindow).toBeGreaterThanOrEqual(20);
    expect(r.inWindow).toBeLessThanOrEqual(40);
    assertPicture(r.sample, 160, 120);
    expect(Buffer.compare(r.sample, r.later)).not.toBe(0); // the picture moves
    expect(r.st.seen.map((s) => s.state)).toEqual(['starting', 'running', 'stopped']);
    console.log(`160x120@15: first frame after ${r.firstFrameMs.toFixed(0)} ms, ${r.inWindow} frames in 2 s`);
  });

  it('streams 320x240 at 30 fps and keeps going past the end of the 2 s file (loop)', async () => {
    const r = await stream(320, 240, 30, 2000, 3500);
    expect([...r.sizes]).toEqual([(320 * 240 * 3) / 2]);
    expect(r.inWindow).toBeGreaterThanOrEqual(40);
    expect(r.inWindow).toBeLessThanOrEqual(80);
    // The clip is 2 s long: frames in the last half second of 3.5 s mean it looped.
    expect(r.lastHalfSecond).toBeGreaterThanOrEqual(7);
    assertPicture(r.sample, 320, 240);
    expect(r.st.seen.map((s) => s.state)).toEqual(['starting', 'running', 'stopped']);
    console.log(`320x240@30: first frame after ${r.firstFrameMs.toFixed(0)} ms, ${r.inWindow} frames in 2 s, ${r.lastHalfSecond} in the last 0.5 s of 3.5 s`);
  });

  it('reports the end of a file that is not looped as stopped', async () => {
    const source = track(createFfmpegSource({ input: shortClip, width: 160, height: 120, fps: 10, loop: false }));
    const st = statuses(source);
    let frames = 0;
    source.on('frame', () => frames++);
    source.start();
    const end = await st.waitFor((s) => s.state === 'stopped' || s.state === 'failed');
    expect(end.state).toBe('stopped');
    expect(end.message).toMatch(/^end of /);
    expect(frames).toBeGreaterThanOrEqual(3);
    expect(frames).toBeLessThanOrEqual(7);
  });

  it('fails, naming the file, when the file does not exist, and does not retry', async () => {
    const missing = path.join(dir, 'no-such-clip.mp4');
    const source = track(createFfmpegSource({ input: missing, width: 160, height: 120, fps: 15 }));
    const st = statuses(source);
    source.start();
    const failed = await st.waitFor((s) => s.state === 'failed');
    expect(failed.message).toContain(missing);
    expect(failed.message).toMatch(/No such file/i);
    await sleep(1_200);
    expect(st.seen.map((s) => s.state)).toEqual(['starting', 'failed']);
  });

  it('fails with ffmpeg\'s reason for a file that is not video', async () => {
    const garbage = path.join(dir, 'garbage.mp4');
    await writeFile(garbage, Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 256)));
    const source = track(createFfmpegSource({ input: garbage, width: 160, height: 120, fps: 15 }));
    const st = statuses(source);
    source.start();
    const failed = await st.waitFor((s) => s.state === 'failed');
    expect(failed.message).toContain(garbage);
    expect(failed.message).toMatch(/invalid data|moov atom/i);
  });

  it('retries a live input that fails with growing delays until stopped (loopback only)', async () => {
    const source = track(createFfmpegSource({ input: 'rtsp://viewer:s3cret@127.0.0.1:1/none', width: 160, height: 120, fps: 15 }));
    const st = statuses(source);
    source.start();
    const first = await st.waitFor((s) => s.state === 'retrying');
    const second = await st.waitFor((s) => s.state === 'retrying' && s !== first, 5_000);
    expect(first.retryInMs).toBe(1000);
    expect(second.retryInMs).toBe(2000);
    expect(first.message).toMatch(/refused/i);
    expect(first.message).not.toContain('s3cret');
    expect(source.description).not.toContain('s3cret');
    await source.stop();
    expect(st.seen.at(-1)?.state).toBe('stopped');
    const count = st.seen.length;
    await sleep(2_500); // the pending retry (2 s) must have been cancelled
    expect(st.seen.length).toBe(count);
    if (hasProc) expect(await ffmpegChildren()).toEqual([]);
  });

  it('says how to get ffmpeg when the binary does not exist', async () => {
    const bogus = path.join(dir, 'no-ffmpeg-here', 'ffmpeg');
    const check = await checkFfmpeg(bogus);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.message).toContain(FFMPEG_NOT_FOUND);
    for (const input of [clip, 'rtsp://127.0.0.1:1/none']) {
      const source = track(createFfmpegSource({ input, width: 160, height: 120, fps: 15, ffmpegPath: bogus }));
      const st = statuses(source);
      source.start();
      const failed = await st.waitFor((s) => s.state === 'failed');
      expect(failed.message).toContain('ffmpeg was not found; install it (Debian: apt-get install ffmpeg) or pass --ffmpeg PATH');
    }
  });

  it.skipIf(!hasProc)('stop() ends ffmpeg and leaves no process, zombie or timer behind', async () => {
    const source = track(createFfmpegSource({ input: clip, width: 160, height: 120, fps: 15 }));
    const st = statuses(source);
    source.start();
    await st.waitFor((s) => s.state === 'running');
    const children = await ffmpegChildren();
    expect(children).toHaveLength(1);
    const pid = children[0]!.pid;
    const t0 = performance.now();
    await source.stop();
    const stopMs = performance.now() - t0;
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    expect(stopMs).toBeLessThan(1_500); // ffmpeg honours SIGTERM; no SIGKILL wait
    // Restartable: the shared capture starts it again with the next first viewer.
    source.start();
    await st.waitFor((s) => s.state === 'running' && st.seen.filter((x) => x.state === 'running').length === 2);
    await source.stop();
    expect(await ffmpegChildren()).toEqual([]);
    expect(st.seen.map((s) => s.state)).toEqual(['starting', 'running', 'stopped', 'starting', 'running', 'stopped']);
  });

  it('restarts a live source that gives no frame, and SIGKILLs an ffmpeg that ignores SIGTERM', async () => {
    // A stand-in "ffmpeg" that answers -version, then hangs and ignores SIGTERM.
    const fake = path.join(dir, 'stubborn-ffmpeg');
    await writeFile(fake, '#!/bin/sh\ncase "$*" in *-version*) echo "ffmpeg version 6.1-fake"; exit 0;; esac\ntrap "" TERM\nexec sleep 30\n');
    await chmod(fake, 0o755);
    const source = track(
      createFfmpegSource({ input: 'rtsp://127.0.0.1:1/none', width: 160, height: 120, fps: 15, ffmpegPath: fake, watchdog: { firstFrameMs: 300 } }),
    );
    const st = statuses(source);
    const t0 = performance.now();
    source.start();
    const retrying = await st.waitFor((s) => s.state === 'retrying', 8_000);
    const elapsed = performance.now() - t0;
    expect(retrying.message).toContain('no video frame within 0.3 s');
    expect(elapsed).toBeGreaterThan(2_000); // SIGTERM ignored: SIGKILL after the 2 s grace
    expect(elapsed).toBeLessThan(5_000);
    await source.stop();
    if (hasProc) {
      expect(await ffmpegChildren(/ffmpeg|sleep/)).toEqual([]);
    }
  });
});
