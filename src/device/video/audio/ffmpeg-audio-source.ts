/**
 * The sound of an ffmpeg-read source, as Opus: an RTSP camera's microphone, a file's audio track,
 * or a capture device (ALSA `hw:1,0`, PulseAudio). One ffmpeg for all viewers:
 *   - Opus from the camera is copied (not decoded);
 *   - AAC, G.711 (PCMA/PCMU) and anything else ffmpeg decodes are transcoded once to Opus
 *     (libopus, 48 kHz mono, 32 kbit/s, 20 ms packets, low-delay mode);
 *   - capture devices are PCM: encoded once.
 * Before the first run the source is probed (ffmpeg -i, no output) for its audio codec; a source
 * without audio is 'absent' and nothing more is started (the video is not affected).
 *
 * Timestamps (48 kHz RTP clock): anchored to the monotonic clock at the first packet (the same
 * clock the video's timestamps come from), then advanced by each packet's duration; re-anchored
 * when they fall 200 ms behind the clock (a stall, a restart, a looped file's seam). Packets more
 * than 200 ms ahead of it are dropped: a source never sends faster than real time.
 *
 * Live inputs (RTSP, URLs, capture devices) that fail or end are restarted with backoff (1 s,
 * 2 s ... 30 s); a file that fails is 'failed' for good.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { classifyInput, NETWORK_TIMEOUT_US } from '../ffmpeg/args';
import type { AudioSource, AudioSourceEvents } from './audio-stream';
import { OggOpusReader } from './ogg-opus';

export type AudioInput = { kind: 'source'; input: string } | { kind: 'alsa'; device: string } | { kind: 'pulse'; device: string };

/** `--audio <device>`: "pulse" or "pulse:<source name>" for PulseAudio, anything else an ALSA device. */
export function parseAudioDevice(device: string): AudioInput {
  if (!/^[A-Za-z0-9_.,:=@/-]{1,128}$/.test(device)) throw new Error(`--audio must be an ALSA device (e.g. hw:1,0, default, plughw:CARD=Mic) or pulse[:<source>], not "${device}"`);
  if (device === 'pulse') return { kind: 'pulse', device: 'default' };
  if (device.startsWith('pulse:')) return { kind: 'pulse', device: device.slice('pulse:'.length) || 'default' };
  return { kind: 'alsa', device };
}

const MAX_BACKOFF_MS = 30_000;
const PROBE_TIMEOUT_MS = 15_000;
const REANCHOR_MS = 200;
/** Restart (live) when no packet came for this long. */
const STALL_MS = 10_000;

export function describeInput(input: AudioInput): string {
  if (input.kind === 'alsa') return `ALSA device ${input.device}`;
  if (input.kind === 'pulse') return `PulseAudio source ${input.device}`;
  const kind = classifyInput(input.input);
  if (kind === 'rtsp' || kind === 'url') {
    try {
      const url = new URL(input.input);
      return `the audio of ${url.protocol}//${url.host}${url.pathname}`;
    } catch {
      return 'the audio of the stream';
    }
  }
  return `the audio of ${kind === 'v4l2' ? 'the camera' : 'the file'}`;
}

/** ffmpeg's options that open the input (the same way the video source opens it). */
export function audioInputArgs(input: AudioInput): string[] {
  const args = ['-hide_banner', '-nostdin'];
  if (input.kind === 'alsa') return [...args, '-f', 'alsa', '-i', input.device];
  if (input.kind === 'pulse') return [...args, '-f', 'pulse', '-i', input.device];
  const source = input.input;
  switch (classifyInput(source)) {
    // No stream analysis on live inputs: the codec comes from the camera's SDP, and ffmpeg's
    // default (up to 5 s of packets) would hold the first viewer's sound back that long.
    case 'rtsp':
      return [...args, '-rtsp_transport', 'tcp', '-timeout', String(NETWORK_TIMEOUT_US), '-fflags', 'nobuffer', '-flags', 'low_delay', '-analyzeduration', '0', '-probesize', '32', '-i', source];
    case 'url':
      return [...args, '-rw_timeout', String(NETWORK_TIMEOUT_US), '-fflags', 'nobuffer', '-analyzeduration', '0', '-probesize', '32', '-i', source];
    case 'v4l2':
      return [...args, '-f', 'v4l2', '-i', source];
    case 'file':
    default:
      return [...args, '-re', '-stream_loop', '-1', '-i', source.includes(':') && !/^file:/i.test(source) ? `file:${source}` : source];
  }
}

/** The audio codec ffmpeg reports for the input's first audio stream ("opus", "aac", "pcm_alaw" …), or null. */
export function audioCodecFromProbe(stderr: string): string | null {
  const m = /Stream #\d+:\d+[^:]*: Audio: ([a-z0-9_]+)/i.exec(stderr);
  return m ? m[1]!.toLowerCase() : null;
}

/** Output options: copy Opus, transcode everything else once. */
export function audioOutputArgs(codec: string | null, target = 'pipe:1'): string[] {
  const encode = codec === 'opus' ? ['-c:a', 'copy'] : ['-c:a', 'libopus', '-ar', '48000', '-ac', '1', '-b:a', '32k', '-application', 'lowdelay', '-frame_duration', '20'];
  return ['-map', '0:a:0', '-vn', '-sn', '-dn', ...encode, '-f', 'ogg', '-page_duration', '20000', '-flush_packets', '1', target];
}

/**
 * RTP timestamps (48 kHz) for packets as they arrive: anchored to the monotonic clock, advanced by
 * each packet's duration, re-anchored after REANCHOR_MS of drift; a packet more than that ahead of
 * the clock is dropped (undefined), so viewers never get more than real-time sound.
 */
export class AudioClock {
  private anchor: { clockSamples: number; ts: number } | undefined;
  /** Packets dropped because the source ran ahead of real time. */
  dropped = 0;

  reset(): void {
    this.anchor = undefined;
  }

  stamp(samples: number): number | undefined {
    const clock = performance.now() * 48;
    if (this.anchor && this.anchor.clockSamples - clock > REANCHOR_MS * 48) {
      this.dropped++;
      return undefined;
    }
    if (!this.anchor || clock - this.anchor.clockSamples > REANCHOR_MS * 48) {
      this.anchor = { clockSamples: clock, ts: Math.round(clock) >>> 0 };
    }
    const ts = this.anchor.ts;
    this.anchor.ts = (this.anchor.ts + samples) >>> 0;
    this.anchor.clockSamples += samples;
    return ts;
  }
}

/** How a source's sound is sent, for logs: "Opus passed through", "aac transcoded once to Opus". */
export function audioHow(codec: string | null | undefined): string {
  return codec === 'opus' ? 'Opus passed through' : `${codec === 'pcm' ? 'PCM' : codec} transcoded once to Opus`;
}

export interface FfmpegAudioOptions {
  input: AudioInput;
  ffmpegPath?: string | undefined;
}

export class FfmpegAudioSource extends EventEmitter<AudioSourceEvents> implements AudioSource {
  readonly description: string;
  private readonly ffmpeg: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private wanted = false;
  private backoffMs = 1000;
  private runningSince = 0;
  private codec: string | null | undefined;
  private readonly clock = new AudioClock();
  private readonly live: boolean;

  /** Packets dropped because the source ran ahead of real time. */
  get dropped(): number {
    return this.clock.dropped;
  }

  constructor(private readonly options: FfmpegAudioOptions) {
    super();
    this.ffmpeg = options.ffmpegPath ?? 'ffmpeg';
    this.description = describeInput(options.input);
    this.live = options.input.kind !== 'source' || classifyInput(options.input.input) !== 'file';
  }

  /** The codec the source was found to carry ('pcm' for capture devices); undefined before the probe. */
  get sourceCodec(): string | null | undefined {
    return this.codec;
  }

  start(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.backoffMs = 1000;
    void this.attempt();
  }

  async stop(): Promise<void> {
    this.wanted = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    clearTimeout(this.watchdog);
    const child = this.child;
    this.child = undefined;
    if (child) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
      await this.exited;
      clearTimeout(kill);
    }
    this.emit('status', { state: 'stopped', message: 'no viewers' });
  }

  private async attempt(): Promise<void> {
    if (!this.wanted) return;
    this.emit('status', { state: 'starting', message: `opening ${this.description}` });
    if (this.codec === undefined) {
      if (this.options.input.kind !== 'source') this.codec = 'pcm';
      else {
        const probed = await this.probe();
        if (!this.wanted) return;
        if (probed.error) return this.failed(probed.error);
        if (probed.codec === null) {
          this.emit('status', { state: 'absent', message: 'the source has no audio; sending video only' });
          return;
        }
        this.codec = probed.codec;
      }
    }
    this.run();
  }

  /** ffmpeg -i without an output: prints the input's streams and exits. */
  private probe(): Promise<{ codec: string | null; error?: string }> {
    return new Promise((resolve) => {
      const child = spawn(this.ffmpeg, audioInputArgs(this.options.input), { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
      child.stderr.setEncoding('utf8').on('data', (t: string) => {
        if (stderr.length < 64 * 1024) stderr += t;
      });
      child.on('error', (err) => {
        clearTimeout(timer);
        resolve({ codec: null, error: `ffmpeg could not start (${this.ffmpeg}: ${err.message})` });
      });
      child.on('close', () => {
        clearTimeout(timer);
        const codec = audioCodecFromProbe(stderr);
        if (codec !== null || /Stream #\d+:\d+/.test(stderr)) return resolve({ codec });
        const why = stderr.trim().split('\n').filter((l) => !/^\s|^ffmpeg version|^Input #|At least one output/.test(l)).slice(-1)[0] ?? 'no streams found';
        resolve({ codec: null, error: `could not open ${this.description}: ${why}` });
      });
    });
  }

  private run(): void {
    const args = [...audioInputArgs(this.options.input), '-loglevel', 'error', ...audioOutputArgs(this.codec ?? null)];
    const child = spawn(this.ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.clock.reset();
    let stderr = '';
    let first = true;
    const reader = new OggOpusReader((packet) => {
      if (this.child !== child) return;
      if (first) {
        first = false;
        this.runningSince = performance.now();
        this.emit('status', { state: 'running', message: `running (${audioHow(this.codec)})` });
      }
      this.armWatchdog(child);
      const timestamp = this.stamp(packet.samples);
      if (timestamp !== undefined) this.emit('packet', { data: packet.data, samples: packet.samples, timestamp });
    });
    child.stdout.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (err) {
        stderr += `\n${(err as Error).message}`;
        child.kill('SIGKILL');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr = (stderr + t).slice(-600)));
    this.armWatchdog(child);
    this.exited = new Promise((resolve) => {
      child.on('error', (err) => {
        if (this.child === child) {
          this.child = undefined;
          this.failed(`ffmpeg could not start (${this.ffmpeg}: ${err.message})`);
        }
        resolve();
      });
      child.on('close', (code, signal) => {
        resolve();
        if (this.child !== child) return;
        this.child = undefined;
        clearTimeout(this.watchdog);
        const said = stderr.trim().split('\n').slice(-2).join(' / ');
        this.ended(`ffmpeg exited (${signal ?? `code ${code}`})${said ? `: ${said}` : ''}`);
      });
    });
  }

  private armWatchdog(child: ChildProcess): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (this.child === child) child.kill('SIGKILL');
    }, STALL_MS);
  }

  /** RTP timestamp for a packet of `samples` arriving now, or undefined to drop it (AudioClock). */
  private stamp(samples: number): number | undefined {
    return this.clock.stamp(samples);
  }

  private ended(reason: string): void {
    if (!this.wanted) return;
    if (!this.live) return this.failed(reason);
    if (performance.now() - this.runningSince > 10_000) this.backoffMs = 1000;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
    this.emit('status', { state: 'retrying', message: `${reason}; trying again in ${Math.round(wait / 1000)} s`, retryInMs: wait });
    this.timer = setTimeout(() => void this.attempt(), wait);
  }

  private failed(message: string): void {
    if (!this.wanted) return;
    if (this.live && this.options.input.kind === 'source' && !/could not start/.test(message)) {
      // A camera that cannot be reached now may be back later: the probe is retried.
      return this.ended(message);
    }
    this.wanted = false;
    this.emit('status', { state: 'failed', message });
  }
}
