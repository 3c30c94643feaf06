/**
 * One H.264 stream for every viewer. A source gives pictures (Annex B access units) once; each
 * viewer's peer gets the same bytes and only packetizes and encrypts them (h264/ndc-media.ts).
 *   - The test pattern is rendered once and encoded once (libx264 through GStreamer's x264enc,
 *     x264-encoder.py), with a keyframe on request: a viewer joining, or a viewer's PLI, rate-limited.
 *   - ffmpeg sources (RTSP, V4L2, files) that carry H.264 are passed through: ffmpeg copies the
 *     camera's stream (no decoding); a keyframe cannot be requested, a joining viewer waits for
 *     the camera's next one.
 * The source starts with the first viewer and stops with the last, as before.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../../net/log';
import type { SourceStatus } from '../capture';
import { SharedSource } from '../shared-source';
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

/** Bitrate for the one pattern encode: about 0.1 bit per pixel per frame, 300 kbit/s to 8 Mbit/s. */
export function patternBitrateKbps(width: number, height: number, fps: number): number {
  return Math.round(Math.min(8000, Math.max(300, (width * height * fps * 0.1) / 1000)));
}

/** The test pattern rendered once and encoded once. */
export class PatternH264Source extends EventEmitter<EncodedSourceEvents> implements EncodedSource {
  readonly description: string;
  readonly keyframesOnRequest = true;
  private readonly pattern: PatternSource;
  private readonly reader = new LengthPrefixedReader((data) => this.onUnit({ data, keyframe: nalTypes(data).includes(5) }));
  private encoder: ChildProcess | undefined;
  private stderrTail = '';
  private running = false;
  private lastKeyframeAt = 0;
  private keyframeTimer: NodeJS.Timeout | undefined;
  private exited: Promise<void> | undefined;
  private backpressured = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly fps: number,
    private readonly python = PYTHON,
  ) {
    super();
    this.pattern = new PatternSource(width, height, fps);
    this.description = `test pattern ${width}x${height}@${fps}, H.264 encoded once`;
    this.pattern.on('frame', (frame) => {
      const stdin = this.encoder?.stdin;
      if (!stdin || !stdin.writable) return;
      // An encoder that falls behind drops frames here rather than queueing them without bound.
      if (stdin.writableLength > frame.data.length * 2) {
        this.backpressured++;
        return;
      }
      stdin.write(frame.data);
    });
  }

  /** Frames not handed to the encoder because it was behind. */
  get framesDropped(): number {
    return this.backpressured;
  }

  start(): void {
    if (this.encoder) return;
    this.running = false;
    this.reader.reset();
    this.stderrTail = '';
    this.emit('status', { state: 'starting', message: `starting ${this.description}` });
    const kbps = patternBitrateKbps(this.width, this.height, this.fps);
    const child = spawn(this.python, [ENCODER_SCRIPT, String(this.width), String(this.height), String(this.fps), String(kbps)], { stdio: ['pipe', 'pipe', 'pipe'] });
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
    });
    this.exited = new Promise((resolve) => {
      child.on('error', (err) => {
        if (this.encoder !== child) return resolve();
        this.encoder = undefined;
        this.pattern.stop().catch(() => undefined);
        this.emit('status', { state: 'failed', message: `the H.264 encoder could not start (${this.python}: ${err.message}); install python3-gi and gstreamer1.0-plugins-ugly, or use --video-stack vp8` });
        resolve();
      });
      child.on('exit', (code, signal) => {
        if (this.encoder === child) {
          // Not asked to stop: the encoder died.
          this.encoder = undefined;
          void this.pattern.stop();
          const said = this.stderrTail.trim().split('\n').slice(-3).join(' / ');
          this.emit('status', { state: 'failed', message: `the H.264 encoder exited (${signal ?? `code ${code}`})${said ? `: ${said}` : ''}` });
        }
        resolve();
      });
    });
    this.pattern.start();
  }

  async stop(): Promise<void> {
    const child = this.encoder;
    this.encoder = undefined;
    clearTimeout(this.keyframeTimer);
    this.keyframeTimer = undefined;
    await this.pattern.stop();
    if (child) {
      child.stdin?.end();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await this.exited;
      clearTimeout(timer);
      this.emit('status', { state: 'stopped', message: 'no viewers' });
    }
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
      this.emit('status', { state: 'running', message: `running ${this.description}` });
    }
    if (unit.keyframe) this.lastKeyframeAt = performance.now();
    this.emit('unit', { ...unit, timestamp: rtpNow() });
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
class PassthroughSource extends EventEmitter<EncodedSourceEvents> implements EncodedSource {
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

export function createEncodedSource(video: { source: string; width: number; height: number; fps: number; ffmpegPath?: string | undefined }, log: Logger): EncodedSource {
  if (video.source === 'pattern') return new PatternH264Source(video.width, video.height, video.fps);
  return new PassthroughSource({ input: video.source, width: video.width, height: video.height, fps: video.fps, ...(video.ffmpegPath ? { ffmpegPath: video.ffmpegPath } : {}), log });
}

/** The 90 kHz RTP clock from the monotonic clock: pictures are stamped when they leave the encoder. */
function rtpNow(): number {
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
