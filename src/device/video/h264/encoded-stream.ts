/**
 * One H.264 stream for every viewer. A source gives pictures (Annex B access units) once; each
 * viewer's peer gets the same bytes and only packetizes and encrypts them (h264/ndc-media.ts).
 *   - Raw frames (the test pattern, or a camera or file ffmpeg decodes because it is not H.264 or
 *     is above the caps) are encoded once (EncodeOnceSource: x264-encoder.py, a hardware encoder
 *     where present, else libx264 through GStreamer's x264enc), with a keyframe on request: a
 *     viewer joining, or a viewer's PLI, rate-limited.
 *   - H.264 within the caps (RTSP, V4L2, files) is passed through: ffmpeg copies the camera's
 *     stream (no decoding); a keyframe cannot be requested, a joining viewer waits for the
 *     camera's next one. camera-source.ts probes a camera and picks one of the two.
 * The source starts with the first viewer and stops with the last (SharedSource).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../../net/log';
import { SharedSource, type FrameSource, type SourceStatus } from '../shared-source';
import { createFfmpegSource } from '../ffmpeg-source';
import { PatternSource } from '../pattern-source';
import { MAX_ACCESS_UNIT_BYTES, nalTypes, type AccessUnit } from './annexb';

export interface EncodedUnit extends AccessUnit {
  /** RTP timestamp (90 kHz) of the picture. */
  timestamp: number;
}

export interface EncodedSourceEvents {
  unit: [EncodedUnit];
  status: [SourceStatus];
}

export interface EncodedSource extends EventEmitter<EncodedSourceEvents> {
  readonly description: string;
  /** True when requestKeyframe() can make the source send an IDR now. */
  readonly keyframesOnRequest: boolean;
  start(): void;
  stop(): Promise<void>;
  requestKeyframe(): void;
}

/** At most one forced keyframe per this long (every viewer's PLI would otherwise force one). */
export const KEYFRAME_MIN_INTERVAL_MS = 500;

const ENCODER_SCRIPT = fileURLToPath(new URL('./x264-encoder.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

/** Encode latency (EncodeOnceSource.encodeLatencyMs): pictures skipped after a start, and the median's window. */
const LATENCY_SKIP = 30;
const LATENCY_WINDOW = 31;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/** Bitrate for the one pattern encode: about 0.1 bit per pixel per frame, 300 kbit/s to 8 Mbit/s. */
export function patternBitrateKbps(width: number, height: number, fps: number): number {
  return Math.round(Math.min(8000, Math.max(300, (width * height * fps * 0.1) / 1000)));
}

export interface EncodeOnceOptions {
  width: number;
  height: number;
  fps: number;
  description: string;
  python?: string | undefined;
  /** 'auto' (default): a hardware encoder where one works, else libx264; 'x264': libx264. */
  encoder?: 'auto' | 'x264' | undefined;
}

/**
 * Raw frames encoded once for every viewer (x264-encoder.py: a hardware encoder where present,
 * else libx264 through GStreamer), with a keyframe on request. The frame source's own trouble
 * (a camera retrying, a file that cannot be decoded) is passed on; the encoder's is reported here.
 */
export class EncodeOnceSource extends EventEmitter<EncodedSourceEvents> implements EncodedSource {
  readonly description: string;
  readonly keyframesOnRequest = true;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  private readonly python: string;
  private readonly encoderChoice: 'auto' | 'x264';
  private readonly reader = new LengthPrefixedReader((data) => this.onUnit({ data, keyframe: nalTypes(data).includes(5) }));
  private encoder: ChildProcess | undefined;
  /** The encoder the script chose ("encoder: NAME" on its stderr). */
  private chosen: string | undefined;
  private stderrTail = '';
  private running = false;
  private lastKeyframeAt = 0;
  private keyframeTimer: NodeJS.Timeout | undefined;
  private exited: Promise<void> | undefined;
  private backpressured = 0;
  private frameSourceRetrying = false;
  /** When each frame still inside the encoder went in (x264 zerolatency gives one picture per frame, in order). */
  private readonly inFlight: number[] = [];
  private latencyMs: number | undefined;
  private readonly latencySamples: number[] = [];
  private unitsSinceStart = 0;

  constructor(
    private readonly frames: FrameSource,
    options: EncodeOnceOptions,
  ) {
    super();
    this.width = options.width;
    this.height = options.height;
    this.fps = options.fps;
    this.python = options.python ?? PYTHON;
    this.encoderChoice = options.encoder ?? 'auto';
    this.description = options.description;
    frames.on('frame', (frame) => {
      const stdin = this.encoder?.stdin;
      if (!stdin || !stdin.writable) return;
      // An encoder that falls behind drops frames here rather than queueing them without bound.
      if (stdin.writableLength > frame.data.length * 2) {
        this.backpressured++;
        return;
      }
      // Copied: both frame sources reuse their buffers, and a pipe write may complete later.
      stdin.write(Buffer.from(frame.data));
      // Bounded: an encoder that does not give one picture per frame only loses the measurement.
      if (this.inFlight.length >= 2 * this.fps + 8) this.inFlight.length = 0;
      this.inFlight.push(performance.now());
    });
    frames.on('status', (status) => {
      // The pattern's and ffmpeg's 'starting'/'running'/'stopped' are this source's to say
      // (running = the first encoded picture); a camera retrying or a source failing is passed on.
      if (status.state === 'retrying') {
        this.frameSourceRetrying = true;
        this.emit('status', status);
      } else if (status.state === 'running' && this.frameSourceRetrying) {
        // Back after a retry: viewers that were told so hear it is running again.
        this.frameSourceRetrying = false;
        this.emit('status', { state: 'running', message: `running ${this.description}` });
      } else if (status.state === 'failed' && this.encoder) {
        void this.stopEncoder();
        this.emit('status', status);
      }
    });
  }

  /** Frames not handed to the encoder because it was behind. */
  get framesDropped(): number {
    return this.backpressured;
  }

  /**
   * How long a frame takes from the encoder's input to its picture coming out, smoothed (ms), once
   * measured; 0 before. The pattern's sound is held back by it so that both leave together (lip-sync).
   */
  get encodeLatencyMs(): number {
    return this.latencyMs ?? 0;
  }

  /** The encoder element in use (x264enc, v4l2h264enc, vah264enc …), once the encoder has said. */
  get encoderName(): string | undefined {
    return this.chosen;
  }

  start(): void {
    if (this.encoder) return;
    this.running = false;
    this.frameSourceRetrying = false;
    this.reader.reset();
    this.inFlight.length = 0;
    this.latencySamples.length = 0;
    this.unitsSinceStart = 0;
    this.stderrTail = '';
    this.emit('status', { state: 'starting', message: `starting ${this.description}` });
    const kbps = patternBitrateKbps(this.width, this.height, this.fps);
    const child = spawn(this.python, [ENCODER_SCRIPT, String(this.width), String(this.height), String(this.fps), String(kbps), this.encoderChoice], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.encoder = child;
    this.lastKeyframeAt = performance.now();
    child.stdin.on('error', () => undefined);
    child.stdout.on('data', (chunk: Buffer) => {
      if (this.encoder !== child) return;
      try {
        this.reader.push(chunk);
      } catch (err) {
        this.emit('status', { state: 'failed', message: `the H.264 encoder's output is broken: ${(err as Error).message}` });
        void this.stop();
      }
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-600);
      this.chosen ??= /^encoder: (\S+)/m.exec(this.stderrTail)?.[1];
    });
    this.exited = new Promise((resolve) => {
      child.on('error', (err) => {
        if (this.encoder !== child) return resolve();
        this.encoder = undefined;
        this.frames.stop().catch(() => undefined);
        this.emit('status', { state: 'failed', message: `the H.264 encoder could not start (${this.python}: ${err.message}); install python3-gi, gstreamer1.0-plugins-ugly and -bad, or use --video-stack vp8` });
        resolve();
      });
      child.on('exit', (code, signal) => {
        if (this.encoder === child) {
          // Not asked to stop: the encoder died.
          this.encoder = undefined;
          void this.frames.stop();
          const said = this.stderrTail.replace(/^encoder: \S+\n/m, '').trim().split('\n').slice(-3).join(' / ');
          this.emit('status', { state: 'failed', message: `the H.264 encoder exited (${signal ?? `code ${code}`})${said ? `: ${said}` : ''}` });
        }
        resolve();
      });
    });
    this.frames.start();
  }

  async stop(): Promise<void> {
    if (await this.stopEncoder()) this.emit('status', { state: 'stopped', message: 'no viewers' });
  }

  /** Stops frames and encoder; true when an encoder was running. */
  private async stopEncoder(): Promise<boolean> {
    const child = this.encoder;
    // This encoder's exit, taken now: a start during the awaits below makes a new one.
    const exited = this.exited;
    this.encoder = undefined;
    clearTimeout(this.keyframeTimer);
    this.keyframeTimer = undefined;
    await this.frames.stop();
    if (!child) return false;
    child.stdin?.end();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
    return true;
  }

  /** Asks the encoder for an IDR now, or as soon as the rate limit allows (requests in between merge). */
  requestKeyframe(): void {
    const child = this.encoder;
    // Before its first picture the encoder may not have its SIGUSR1 handler yet (the signal would
    // kill it), and that first picture is an IDR anyway.
    if (!child || !this.running || this.keyframeTimer) return;
    const wait = this.lastKeyframeAt + KEYFRAME_MIN_INTERVAL_MS - performance.now();
    const force = (): void => {
      this.keyframeTimer = undefined;
      if (this.encoder !== child) return;
      this.lastKeyframeAt = performance.now();
      child.kill('SIGUSR1');
    };
    if (wait <= 0) force();
    else this.keyframeTimer = setTimeout(force, wait);
  }

  private onUnit(unit: AccessUnit): void {
    if (!this.running) {
      this.running = true;
      this.emit('status', { state: 'running', message: `running ${this.description}${this.chosen ? ` (${this.chosen})` : ''}` });
    }
    if (unit.keyframe) this.lastKeyframeAt = performance.now();
    const wentIn = this.inFlight.shift();
    // The encoder's first pictures carry its start-up (a second or so): not counted. Then the
    // median of the last LATENCY_WINDOW pictures, so one slow picture does not move it.
    if (wentIn !== undefined && ++this.unitsSinceStart > LATENCY_SKIP) {
      this.latencySamples.push(Math.min(1000, performance.now() - wentIn));
      if (this.latencySamples.length > LATENCY_WINDOW) this.latencySamples.shift();
      if (this.latencySamples.length >= 5) this.latencyMs = median(this.latencySamples);
    }
    this.emit('unit', { ...unit, timestamp: rtpNow() });
  }
}

/** The test pattern rendered once and encoded once. */
export class PatternH264Source extends EncodeOnceSource {
  constructor(width: number, height: number, fps: number, python = PYTHON) {
    super(new PatternSource(width, height, fps), { width, height, fps, python, description: `test pattern ${width}x${height}@${fps}, H.264 encoded once` });
  }
}

/** Records of a 4-byte big-endian length and that many bytes (x264-encoder.py's output). */
export class LengthPrefixedReader {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onRecord: (record: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 4) {
      const size = this.buf.readUInt32BE(0);
      if (size > MAX_ACCESS_UNIT_BYTES) throw new Error(`a record of ${size} bytes (at most ${MAX_ACCESS_UNIT_BYTES})`);
      if (this.buf.length < 4 + size) return;
      this.onRecord(Buffer.from(this.buf.subarray(4, 4 + size)));
      this.buf = this.buf.subarray(4 + size);
    }
  }

  reset(): void {
    this.buf = Buffer.alloc(0);
  }
}

/** A camera's (or file's) H.264 copied by ffmpeg, with the ffmpeg source's retries and watchdogs. */
export class PassthroughSource extends EventEmitter<EncodedSourceEvents> implements EncodedSource {
  readonly keyframesOnRequest = false;
  private readonly inner: ReturnType<typeof createFfmpegSource>;

  constructor(options: Parameters<typeof createFfmpegSource>[0]) {
    super();
    this.inner = createFfmpegSource({ ...options, output: 'h264' });
    this.inner.on('unit', (unit) => this.emit('unit', { ...unit, timestamp: rtpNow() }));
    this.inner.on('status', (status) => this.emit('status', status));
  }

  get description(): string {
    return this.inner.description;
  }

  start(): void {
    this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  requestKeyframe(): void {
    // ffmpeg copying a camera's stream cannot ask the camera for one.
  }
}

/** The 90 kHz RTP clock from the monotonic clock: pictures are stamped when they leave the encoder. */
export function rtpNow(): number {
  return Math.round(performance.now() * 90) >>> 0;
}

export interface StreamViewer {
  onUnit(unit: EncodedUnit): void;
}

/** The one stream and its viewers: each picture is handed to every viewer; SharedSource starts and stops the source. */
export class SharedEncodedStream extends SharedSource<StreamViewer> {
  private units = 0;

  constructor(
    override readonly source: EncodedSource,
    log: Logger,
  ) {
    super(source, log);
    source.on('unit', (unit) => {
      this.units++;
      for (const viewer of this.viewers) viewer.onUnit(unit);
    });
  }

  /** Pictures the source has delivered (once each, however many viewers). */
  get unitsDelivered(): number {
    return this.units;
  }

  requestKeyframe(): void {
    this.source.requestKeyframe();
  }
}
