/**
 * Audio on the `h264` stack end to end with real processes: `lancam-device --video-stack h264`
 * sends Opus next to the H.264 (the pattern's beep, an RTSP camera's AAC transcoded once, Opus
 * passed through), and `lancam watch` (node-datachannel + one ffmpeg decoding the Opus) reports
 * the codec, the level and the A/V offset measured from the pattern's beep against its pixels.
 * Loopback only: every device with `--ice-address 127.0.0.1`, every viewer with 127.0.0.1.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WatchStats } from '../../src/companion/video/camera-viewer';
import { cleanupAll, DeviceExitError, runCli, startDevice, tempDir, type DeviceProcess } from '../helpers/processes';
import { adminOf } from '../helpers/raw-client';
import { startRtspCamera } from '../helpers/rtsp-camera';
import { cleanupVideo, ICE_LOOPBACK, openViewer, pairedClient, sleep, startVideoDevice, waitForLog } from '../helpers/video';

afterEach(async () => {
  await cleanupVideo();
  await cleanupAll();
});

const H264 = ['--video-stack', 'h264'];

type WatchJson = Omit<WatchStats, 'frames' | 'audio'> & { audio: { codec: string; packets: number; levelDbfs: number | null; silent: boolean; beeps: number; avOffsetMs: number | null; audioLatencyMs: number | null } | null };

function at(device: DeviceProcess): string {
  return `${device.host}:${device.port}`;
}

function cli(home: string, args: string[], timeoutMs = 30_000) {
  return runCli(['--json', ...ICE_LOOPBACK, ...args], { home, timeoutMs });
}

async function cliPair(device: DeviceProcess, home: string): Promise<void> {
  const paired = await cli(home, ['pair', '--address', at(device)]);
  expect(paired.code, paired.stdout + paired.stderr).toBe(0);
}

/** Command lines of the children of `pid`. */
function children(pid: number): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

describe('audio on the h264 stack', () => {
  it('lancam watch hears the pattern\'s beep: Opus, a level, and an A/V offset from the beep against the pixels', async () => {
    const device = await startVideoDevice({ size: '640x360', args: H264 });
    const home = await tempDir('lancam-home-');
    await cliPair(device, home);
    const watch = await cli(home, ['watch', '--address', at(device), '--seconds', '6'], 40_000);
    expect(watch.code, watch.stdout + watch.stderr).toBe(0);
    const stats = watch.json<WatchJson>();
    console.log(`pattern audio watch: ${JSON.stringify(stats)}`);
    expect(stats.glassToGlassMs).not.toBeNull();
    expect(stats.audio).not.toBeNull();
    const audio = stats.audio!;
    expect(audio.codec).toBe('opus');
    // 20 ms packets for 6 s (the first second may be spent connecting).
    expect(audio.packets).toBeGreaterThan(150);
    // One beep of -15 dBFS RMS for 100 ms each second: about -25 dBFS over a second.
    expect(audio.silent).toBe(false);
    expect(audio.levelDbfs).not.toBeNull();
    expect(audio.levelDbfs!).toBeGreaterThan(-35);
    expect(audio.levelDbfs!).toBeLessThan(-15);
    expect(audio.beeps).toBeGreaterThanOrEqual(3);
    expect(typeof audio.avOffsetMs).toBe('number');
    expect(Math.abs(audio.avOffsetMs!)).toBeLessThan(500);
    expect(device.stderr()).toMatch(/audio: first viewer, starting the test pattern's tone/);
    // Lip-sync: the beep leaves with its picture, held back by the encoder's measured latency.
    const held = device.stderr().match(/holding the sound back by [\d.]+ ms/g);
    console.log(`pattern audio hold-back: ${held?.join('; ')}`);
    expect(held).not.toBeNull();
  }, 60_000);

  it('one audio pipeline for three viewers, stopped after the last; --no-audio sends video only', async () => {
    const device = await startVideoDevice({ size: '320x240', args: H264 });
    const admin = await adminOf(device);
    const client = await pairedClient(device, admin, 'ada', 'Guest');
    const viewers = [];
    for (let i = 0; i < 3; i++) {
      const { viewer } = await openViewer(await client.open());
      await viewer.nextFrame(15_000);
      viewers.push(viewer);
    }
    await sleep(2500);
    for (const viewer of viewers) {
      const stats = await viewer.stats();
      expect(stats.audio?.codec).toBe('opus');
      expect(stats.audio!.packets).toBeGreaterThan(50);
      expect(stats.audio!.levelDbfs).not.toBeNull();
    }
    expect(device.stderr().match(/audio: first viewer, starting/g)).toHaveLength(1);
    for (const viewer of viewers) viewer.close();
    await waitForLog(device, /audio: last viewer left/, 8000);

    const quiet = await startVideoDevice({ size: '320x240', args: [...H264, '--no-audio'] });
    const quietAdmin = await adminOf(quiet);
    const quietClient = await pairedClient(quiet, quietAdmin, 'bo', 'Guest');
    const { viewer } = await openViewer(await quietClient.open());
    await viewer.nextFrame(15_000);
    const stats = await viewer.stats();
    expect(stats.audio).toBeNull();
    expect(quiet.stderr()).not.toMatch(/audio:/);
  }, 90_000);

  it('revocation cuts the sound with the picture', async () => {
    const device = await startVideoDevice({ size: '320x240', args: H264 });
    const admin = await adminOf(device);
    const client = await pairedClient(device, admin, 'gus', 'Guest');
    const { viewer } = await openViewer(await client.open());
    await viewer.nextFrame(15_000);
    await sleep(1500);
    expect((await viewer.stats()).audio!.packets).toBeGreaterThan(20);
    const answered = await admin.call('DELETE', '/iam/users/gus');
    expect(answered.status).toBe(202);
    const reason = await Promise.race([viewer.closed(), sleep(3000).then(() => 'still open')]);
    expect(reason).toContain('revoked');
    await waitForLog(device, /audio: last viewer left/, 5000);
  }, 60_000);

  it('an RTSP camera with H.264 + AAC: the AAC is transcoded once to Opus; Opus is passed through; G.711 transcoded', async () => {
    const { base } = await startRtspCamera({ width: 320, height: 240, fps: 30 });
    const aac = await startVideoDevice({ source: `${base}/cam-aac`, args: H264 });
    const home = await tempDir('lancam-home-');
    await cliPair(aac, home);
    const watching = cli(home, ['watch', '--address', at(aac), '--seconds', '6'], 40_000);
    // While it plays: one ffmpeg copies the video and transcodes the AAC (Opus on fd 3), over one
    // RTSP session (one TCP connection to the server: RTSP over TCP carries the media interleaved).
    const ffmpegs = () => children(aac.process.pid!).filter((c) => c.includes('ffmpeg'));
    await expect.poll(() => ffmpegs().some((c) => c.includes('-c:v copy') && c.includes('-c:a libopus') && c.includes('pipe:3')), { timeout: 20_000, interval: 200 }).toBe(true);
    expect(ffmpegs(), ffmpegs().join('\n')).toHaveLength(1);
    const port = new URL(base).port;
    const sessions = () => execFileSync('ss', ['-Htn', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    await expect.poll(() => sessions().length, { timeout: 10_000, interval: 200 }).toBe(1);
    const watched = await watching;
    expect(watched.code, watched.stdout + watched.stderr + aac.stderr()).toBe(0);
    const stats = watched.json<WatchJson>();
    console.log(`rtsp aac watch: ${JSON.stringify(stats)}`);
    expect([stats.width, stats.height]).toEqual([320, 240]);
    expect(stats.audio?.codec).toBe('opus');
    expect(stats.audio!.packets).toBeGreaterThan(50);
    // The server's test tone (a sine at -20 dBFS peak): not silent.
    expect(stats.audio!.silent).toBe(false);
    expect(stats.audio!.levelDbfs!).toBeGreaterThan(-40);
    expect(aac.stderr()).toMatch(/aac transcoded once to Opus/);

    const opus = await startVideoDevice({ source: `${base}/cam-opus`, args: H264 });
    await cliPair(opus, home);
    const hearing = cli(home, ['watch', '--address', at(opus), '--seconds', '6'], 40_000);
    await expect.poll(() => children(opus.process.pid!).some((c) => c.includes('ffmpeg') && c.includes('-c:v copy') && c.includes('-c:a copy')), { timeout: 20_000, interval: 200 }).toBe(true);
    expect(children(opus.process.pid!).filter((c) => c.includes('ffmpeg'))).toHaveLength(1);
    const heard = await hearing;
    expect(heard.code, heard.stdout + heard.stderr + opus.stderr()).toBe(0);
    const opusStats = heard.json<WatchJson>();
    console.log(`rtsp opus watch: ${JSON.stringify(opusStats)}`);
    expect(opusStats.audio?.codec).toBe('opus');
    expect(opusStats.audio!.silent).toBe(false);
    expect(opus.stderr()).toMatch(/Opus passed through/);

    // G.711 A-law (8 kHz) is transcoded once too.
    const pcma = await startVideoDevice({ source: `${base}/cam-pcma`, args: H264 });
    await cliPair(pcma, home);
    const alaw = await cli(home, ['watch', '--address', at(pcma), '--seconds', '3'], 40_000);
    expect(alaw.code, alaw.stdout + alaw.stderr + pcma.stderr()).toBe(0);
    const alawStats = alaw.json<WatchJson>();
    expect(alawStats.audio?.codec).toBe('opus');
    expect(alawStats.audio!.silent).toBe(false);
    expect(alawStats.audio!.levelDbfs!).toBeGreaterThan(-40);
    expect(pcma.stderr()).toMatch(/pcm_alaw transcoded once to Opus/);
  }, 120_000);

  it('refuses a bad --audio before starting, and a microphone that is not there leaves the video running', async () => {
    for (const [args, message] of [
      [[...H264, '--audio', 'hw:1,0;reboot'], /--audio must be an ALSA device/],
      [[...H264, '--audio', '-f lavfi'], /--audio must be an ALSA device/],
      [['--video-stack', 'vp8', '--audio', 'hw:1,0'], /--audio needs --video-stack h264/],
    ] as const) {
      const failure = await startDevice({ args: [...args] }).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(DeviceExitError);
      expect((failure as DeviceExitError).code).toBe(1);
      expect((failure as DeviceExitError).stderr).toMatch(message);
    }

    // An ALSA device this machine does not have: ffmpeg fails, the audio is retried with backoff,
    // and the picture is not affected.
    const device = await startVideoDevice({ size: '320x240', args: [...H264, '--audio', 'hw:97,0'] });
    const admin = await adminOf(device);
    const client = await pairedClient(device, admin, 'al', 'Guest');
    const { viewer } = await openViewer(await client.open());
    await viewer.nextFrame(15_000);
    await waitForLog(device, /audio: ALSA device hw:97,0: ffmpeg exited .*trying again in 1 s/, 15_000);
    await sleep(1000);
    const stats = await viewer.stats();
    expect(stats.frames).toBeGreaterThan(10);
    expect(stats.audio?.packets ?? 0).toBe(0);
    expect(viewer.closedReason).toBeUndefined();
  }, 60_000);

  it('a file\'s own audio track, and an ALSA capture device in its place (--audio)', async () => {
    const dir = await tempDir('lancam-clip-');
    const file = path.join(dir, 'clip.mp4');
    // 3 s of H.264 + AAC: a 660 Hz sine at 0.2 of full scale (lavfi's 1/8 x 1.6; RMS -17 dBFS).
    const made = await new Promise<number | null>((resolve) => {
      const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30:duration=3', '-f', 'lavfi', '-i', 'sine=frequency=660:sample_rate=48000:duration=3,volume=1.6', '-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-g', '30', '-c:a', 'aac', '-shortest', '-y', file], { stdio: 'ignore' });
      child.on('close', resolve);
      child.on('error', () => resolve(null));
    });
    if (made !== 0) return; // no libx264 in this ffmpeg: nothing to pass through
    const device = await startVideoDevice({ source: file, args: H264 });
    const home = await tempDir('lancam-home-');
    await cliPair(device, home);
    const watched = await cli(home, ['watch', '--address', at(device), '--seconds', '4'], 40_000);
    expect(watched.code, watched.stdout + watched.stderr + device.stderr()).toBe(0);
    const stats = watched.json<WatchJson>();
    console.log(`file audio watch: ${JSON.stringify(stats)}`);
    expect(stats.audio?.codec).toBe('opus');
    expect(stats.audio!.packets).toBeGreaterThan(50);
    expect(stats.audio!.levelDbfs!).toBeGreaterThan(-22);
    expect(stats.audio!.levelDbfs!).toBeLessThan(-12);
    expect(device.stderr()).toMatch(/the audio of the file: running \(aac transcoded once to Opus\)/);

    // ALSA's "null" capture device (alsa-lib's own, no hardware): the file's sound is replaced.
    const alsa = await startVideoDevice({ source: file, args: [...H264, '--audio', 'null'] });
    await cliPair(alsa, home);
    const watching = cli(home, ['watch', '--address', at(alsa), '--seconds', '5'], 40_000);
    await expect.poll(() => children(alsa.process.pid!).some((c) => c.includes('-f alsa -i null')), { timeout: 20_000, interval: 200 }).toBe(true);
    const heard = await watching;
    expect(heard.code, heard.stdout + heard.stderr + alsa.stderr()).toBe(0);
    const alsaStats = heard.json<WatchJson>();
    console.log(`alsa null watch: ${JSON.stringify(alsaStats)}`);
    expect(alsaStats.audio!.packets).toBeGreaterThan(50);
    // alsa-lib's null device does not block (it gives sound faster than real time): the device
    // holds it to real time, 50 packets a second over the session at most (plus 200 ms).
    const sessionSeconds = (alsaStats.timeToFirstFrameMs ?? 0) / 1000 + 5 + 1.5;
    expect(alsaStats.audio!.packets).toBeLessThan(50 * sessionSeconds + 10);
    expect(alsa.stderr()).toMatch(/audio: ALSA device null: running \(PCM transcoded once to Opus\)/);
    expect(alsa.stderr()).not.toMatch(/the audio of the file/);
  }, 90_000);
});
