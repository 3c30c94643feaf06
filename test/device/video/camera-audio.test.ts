/**
 * One ffmpeg for a camera's picture and sound (audio/camera-audio.ts, h264/camera-source.ts) with
 * real processes: the ffmpeg that copies (or decodes) the video also writes the Opus on fd 3; it
 * runs while either the video or the sound has a viewer and stops after the last of both; a
 * source without sound is video only. Counted: this process's ffmpeg children.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CameraSource } from '../../../src/device/video/h264/camera-source';
import type { AudioPacket, AudioSourceStatus } from '../../../src/device/video/audio/audio-stream';
import { createAudioSource } from '../../../src/device/video/audio/create-audio';
import { CameraAudio } from '../../../src/device/video/audio/camera-audio';
import { parseProbeOutput } from '../../../src/device/video/ffmpeg/probe';
import { decodeAnnexB } from '../../helpers/h264-decode';

const run = promisify(execFile);
const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as never;

/** Command lines of this process's ffmpeg children. */
function ffmpegChildren(): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (ppid === process.pid && path.basename(cmd[0] ?? '') === 'ffmpeg') found.push(cmd.join(' '));
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

function waitFor(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (check()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > ms) {
        clearInterval(timer);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 50);
  });
}

describe('parseProbeOutput with sound', () => {
  it('takes the first video stream and the first audio stream\'s codec', () => {
    const json = '{"streams":[{"codec_type":"audio","codec_name":"AAC"},{"codec_type":"video","codec_name":"h264","width":320,"height":240,"avg_frame_rate":"30/1"},{"codec_type":"audio","codec_name":"opus"}]}';
    expect(parseProbeOutput(json)).toEqual({ codec: 'h264', width: 320, height: 240, fps: 30, audio: 'aac' });
    expect(parseProbeOutput('{"streams":[{"codec_type":"audio","codec_name":"aac"}]}')).toBe('no video stream');
    expect(parseProbeOutput('{"streams":[{"codec_type":"video","codec_name":"vp9","width":64,"height":64}]}')).toEqual({ codec: 'vp9', width: 64, height: 64, fps: undefined });
  });
});

describe('CameraAudio hold-back', () => {
  it('holds packets back by the host\'s latency, in order, and drops the held ones on stop', async () => {
    const { stdout: ogg } = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '1', '-ac', '1', '-c:a', 'libopus', '-frame_duration', '20', '-page_duration', '20000', '-f', 'ogg', 'pipe:1'], { encoding: 'buffer', timeout: 30_000 });
    const host = { audioHoldBackMs: 40, wanted: [] as boolean[], async setAudioWanted(w: boolean) { this.wanted.push(w); } };
    const audio = new CameraAudio('the audio of the file', host);
    audio.setCodec('opus');
    const sent: { at: number; ts: number }[] = [];
    audio.on('packet', (p) => sent.push({ at: performance.now(), ts: p.timestamp }));
    audio.start();
    expect(host.wanted).toEqual([true]);
    const push = audio.extraOutput()!.onRun();
    const pushedAt = performance.now();
    push(ogg.subarray(0, ogg.length >> 1));
    expect(sent).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 80));
    expect(sent.length).toBeGreaterThan(5);
    expect(sent[0]!.at - pushedAt).toBeGreaterThanOrEqual(39);
    for (let i = 1; i < sent.length; i++) expect(((sent[i]!.ts - sent[i - 1]!.ts) >>> 0)).toBe(960);
    const count = sent.length;
    push(ogg.subarray(ogg.length >> 1));
    await audio.stop();
    await new Promise((r) => setTimeout(r, 80));
    expect(sent).toHaveLength(count);
    expect(host.wanted).toEqual([true, false]);
  });
});

describe('CameraSource: picture and sound from one ffmpeg', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lancam-camaudio-'));
    const video = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=660:sample_rate=48000', '-t', '2', '-pix_fmt', 'yuv420p'];
    await run('ffmpeg', [...video, '-c:v', 'libx264', '-g', '30', '-c:a', 'aac', path.join(dir, 'aac.mp4')], { timeout: 60_000 });
    await run('ffmpeg', [...video, '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-c:a', 'libopus', path.join(dir, 'opus.webm')], { timeout: 60_000 });
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '2', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-g', '30', path.join(dir, 'silent.mp4')], { timeout: 60_000 });
  }, 90_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('passes H.264 through and transcodes the AAC in one ffmpeg; it runs while either half is wanted', async () => {
    const camera = new CameraSource({ input: path.join(dir, 'aac.mp4'), caps: {}, log });
    const audio = createAudioSource({ source: path.join(dir, 'aac.mp4') }, camera)!;
    expect(audio).toBe(camera.audioSource());
    const units: Buffer[] = [];
    const packets: AudioPacket[] = [];
    const statuses: AudioSourceStatus[] = [];
    camera.on('unit', (u) => units.push(u.data));
    audio.on('packet', (p) => packets.push(p));
    audio.on('status', (s) => statuses.push(s));
    try {
      camera.start();
      audio.start();
      await waitFor('pictures and sound', () => units.length >= 30 && packets.length >= 50);
      expect(camera.currentPlan?.mode).toBe('passthrough');
      expect(camera.audioHoldBackMs).toBe(0);
      const ffmpegs = ffmpegChildren();
      expect(ffmpegs, ffmpegs.join('\n')).toHaveLength(1);
      expect(ffmpegs[0]).toMatch(/-c:v copy .* -c:a libopus .*pipe:3/);
      expect(statuses.map((s) => s.message)).toContainEqual(expect.stringMatching(/running \(aac transcoded once to Opus\)/));
      expect(packets.every((p) => p.samples === 960)).toBe(true);
      // Timestamps advance by each packet's duration (48 kHz).
      expect(((packets[20]!.timestamp - packets[10]!.timestamp) >>> 0)).toBe(10 * 960);
      expect(await decodeAnnexB(Buffer.concat(units))).toMatchObject({ codec: 'h264', width: 320, height: 240 });

      // The video's last viewer leaves: the sound still has one, the process goes on.
      await camera.stop();
      const heard = packets.length;
      await waitFor('more sound', () => packets.length >= heard + 25);
      expect(ffmpegChildren()).toHaveLength(1);
      // The video comes back: the same process, no new one.
      const seen = units.length;
      camera.start();
      await waitFor('more pictures', () => units.length >= seen + 10);
      expect(ffmpegChildren()).toHaveLength(1);
      // The sound's last listener leaves: the video keeps the process; then the video's too.
      await audio.stop();
      const after = packets.length;
      await waitFor('still pictures', () => units.length >= seen + 30);
      expect(packets.length).toBe(after);
      await camera.stop();
      await waitFor('no ffmpeg', () => ffmpegChildren().length === 0, 5000);
    } finally {
      await audio.stop();
      await camera.stop();
    }
  }, 60_000);

  it('sound alone starts the process (a viewer on the sub stream); a transcoded VP9 + Opus file copies the Opus', async () => {
    const camera = new CameraSource({ input: path.join(dir, 'opus.webm'), caps: {}, log });
    const audio = camera.audioSource();
    const packets: AudioPacket[] = [];
    const statuses: AudioSourceStatus[] = [];
    audio.on('packet', (p) => packets.push(p));
    audio.on('status', (s) => statuses.push(s));
    try {
      audio.start();
      await waitFor('sound', () => packets.length >= 25);
      expect(camera.currentPlan?.mode).toBe('transcode');
      const ffmpegs = ffmpegChildren();
      expect(ffmpegs, ffmpegs.join('\n')).toHaveLength(1);
      expect(ffmpegs[0]).toMatch(/-f rawvideo pipe:1 .*-c:a copy .*pipe:3/);
      expect(statuses.map((s) => s.message)).toContainEqual(expect.stringMatching(/running \(Opus passed through\)/));
      // The video joins the running process and still gets its keyframe on request.
      let keyframes = 0;
      let count = 0;
      camera.on('unit', (u) => {
        count++;
        if (u.keyframe) keyframes++;
      });
      camera.start();
      await waitFor('pictures', () => count >= 12);
      camera.requestKeyframe();
      const asked = count;
      const before = keyframes;
      await waitFor('a forced keyframe', () => keyframes > before);
      expect(count - asked).toBeLessThan(15);
      expect(ffmpegChildren()).toHaveLength(1);
      // Transcoded: the sound waits for the pictures' encode (measured after 30 pictures).
      await waitFor('more pictures', () => count >= 45);
      console.log(`transcoded camera: sound held back by ${camera.audioHoldBackMs.toFixed(1)} ms`);
      expect(camera.audioHoldBackMs).toBeGreaterThan(0);
      const heard = packets.length;
      await waitFor('sound still flowing', () => packets.length >= heard + 10);
      for (let i = 1; i < packets.length; i++) expect(packets[i]!.timestamp).not.toBe(packets[i - 1]!.timestamp);
      await audio.stop();
      await camera.stop();
      await waitFor('no ffmpeg', () => ffmpegChildren().length === 0, 5000);
    } finally {
      await audio.stop();
      await camera.stop();
    }
  }, 60_000);

  it('a source without sound is video only', async () => {
    const camera = new CameraSource({ input: path.join(dir, 'silent.mp4'), caps: {}, log });
    const audio = camera.audioSource();
    const statuses: AudioSourceStatus[] = [];
    audio.on('status', (s) => statuses.push(s));
    let units = 0;
    camera.on('unit', () => units++);
    try {
      camera.start();
      audio.start();
      await waitFor('pictures', () => units >= 20);
      expect(statuses.map((s) => s.state)).toContain('absent');
      const ffmpegs = ffmpegChildren();
      expect(ffmpegs).toHaveLength(1);
      expect(ffmpegs[0]).not.toMatch(/pipe:3/);
      // The sound alone does not hold a process for a source without sound.
      await camera.stop();
      await waitFor('no ffmpeg', () => ffmpegChildren().length === 0, 5000);
    } finally {
      await audio.stop();
      await camera.stop();
    }
  }, 60_000);
});
