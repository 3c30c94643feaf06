/**
 * ffmpeg-decoded video sources: a file (looped, read at its own rate, so it behaves like a
 * camera), an RTSP camera, a V4L2 camera, or another URL ffmpeg can open. ffmpeg decodes, fits
 * the picture into the requested size (keeping its aspect ratio, padding black), fixes the rate,
 * and writes raw I420 frames to a pipe; this module cuts that stream into frames.
 *
 * Life cycle (the shared capture starts a source with the first viewer and stops it with the
 * last): start() -> 'starting' -> 'running' (first frame) ... stop() -> 'stopped'.
 * - Files fail for good ('failed', with ffmpeg's reason): a missing or undecodable file will not
 *   get better by retrying.
 * - Live inputs (rtsp, v4l2, url) that fail, stall or end are restarted with exponential backoff
 *   ('retrying' with `retryInMs`: 1 s, 2 s, 4 s ... 30 s; back to 1 s after 10 s of running)
 *   until stop().
 * - ffmpeg missing is 'failed' for every kind, with a message that says how to fix it.
 * A source can be started again after stop() or after 'failed'.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { buildFfmpegArgs, buildPassthroughArgs, classifyInput, type InputKind } from './ffmpeg/args';
import { AccessUnitSplitter, type AccessUnit } from './h264/annexb';
import { FrameAssembler } from './ffmpeg/frame-assembler';
import { StderrTail } from './ffmpeg/stderr-tail';

export { classifyInput, type InputKind };

/**
 * One picture in I420 (planar YUV 4:2:0: Y plane width*height bytes, then U and V planes of
 * (width/2)*(height/2) bytes each), the layout `nonstandard.RTCVideoSource.onFrame` takes.
 */
export interface I420Frame {
  width: number;
  height: number;
  data: Uint8Array;
}

export type VideoSourceState = 'starting' | 'running' | 'retrying' | 'failed' | 'stopped';

export interface VideoSourceStatus {
  state: VideoSourceState;
  message: string;
  /** With 'retrying': how long until the next attempt. */
  retryInMs?: number;
}

export interface VideoSourceEvents {
  /**
   * A decoded frame. `frame.data` is a pooled buffer owned by the source: it is valid while the
   * listener runs (synchronously) and is reused for a later frame. Copy it to keep it.
   */
  frame: [I420Frame];
  /** With `output: 'h264'`: one picture of the camera's own H.264 (Annex B), not decoded. */
  unit: [AccessUnit];
  status: [VideoSourceStatus];
}

export interface VideoSource extends EventEmitter<VideoSourceEvents> {
  /** For logs and status pages, e.g. "file clip.mp4 (looped) -> 320x240@30"; never a password. */
  readonly description: string;
  /** Starts capturing (no-op when already started). Progress is reported by 'status' events. */
  start(): void;
  /** Stops capturing; resolves when ffmpeg has exited and no timer is left. */
  stop(): Promise<void>;
}

export interface FfmpegSourceOptions {
  /** A file path, `rtsp://…`, `/dev/videoN`, or another URL ffmpeg can open. */
  input: string;
  /** Output size: even, 16..3840 x 16..2160. */
  width: number;
  height: number;
  /** Output rate, 1..60 frames per second. */
  fps: number;
  /** The ffmpeg binary (default `ffmpeg` from PATH). */
  ffmpegPath?: string;
  /** Files: start again at the end (default true). Without it, the end of the file is 'stopped'. */
  loop?: boolean;
  log?: { info(m: string): void; warn(m: string): void };
  /** 'i420' (default): decoded, scaled raw frames. 'h264': the input's H.264 passed through (no decoding). */
  output?: 'i420' | 'h264';
  /** Restart (live) or fail (file) when ffmpeg gives no first frame / no next frame for this long. */
  watchdog?: { firstFrameMs?: number; stallMs?: number };
  /** V4L2: the pixel format to ask the camera for (e.g. `h264`), and whether to leave its size and rate alone. */
  v4l2?: { inputFormat?: string | undefined; ownSize?: boolean | undefined };
  /**
   * A second output of the same ffmpeg on pipe fd 3 (the camera's sound next to its pictures, so
   * the camera is opened once): `args` are appended to the command line and must end in `pipe:3`;
   * `onRun` is called for every ffmpeg started and returns what takes that run's fd 3 bytes.
   */
  extraOutput?: { args: string[]; onRun(): (chunk: Buffer) => void } | undefined;
}

export const FFMPEG_NOT_FOUND =
  'ffmpeg was not found; install it (Debian: apt-get install ffmpeg) or pass --ffmpeg PATH';

export const WIDTH_RANGE = [16, 3840] as const;
export const HEIGHT_RANGE = [16, 2160] as const;
export const FPS_RANGE = [1, 60] as const;

/** After SIGTERM, ffmpeg gets this long to exit before SIGKILL. */
export const KILL_GRACE_MS = 2_000;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
/** A live source that ran this long before failing starts its backoff again at 1 s. */
const BACKOFF_RESET_AFTER_MS = 10_000;

/** The wait before retry number `attempt` (0-based): 1 s, 2 s, 4 s, … capped at 30 s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 30));
}

export function createFfmpegSource(options: FfmpegSourceOptions): VideoSource {
  return new FfmpegSource(options);
}

/** Checks that `ffmpegPath` (default `ffmpeg`) runs, and reports its version. */
export async function checkFfmpeg(
  ffmpegPath = 'ffmpeg',
): Promise<{ ok: true; version: string } | { ok: false; message: string }> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(ffmpegPath, ['-hide_banner', '-version'], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ ok: false, message: spawnErrorMessage(ffmpegPath, err) });
      return;
    }
    let out = '';
    let errOut = '';
    let settled = false;
    const done = (result: { ok: true; version: string } | { ok: false; message: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done({ ok: false, message: `${ffmpegPath} -version did not answer within 10 s` });
    }, 10_000);
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (out = (out + s).slice(0, 4096)));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (errOut = (errOut + s).slice(-4096)));
    child.on('error', (err) => done({ ok: false, message: spawnErrorMessage(ffmpegPath, err) }));
    child.on('close', (code, signal) => {
      const match = /^ffmpeg version (\S+)/m.exec(out);
      if (code === 0 && match) done({ ok: true, version: match[1]! });
      else if (code === 0) done({ ok: false, message: `${ffmpegPath} does not look like ffmpeg (its -version output is not ffmpeg's)` });
      else done({ ok: false, message: `${ffmpegPath} -version failed (${exitText(code, signal)})${errOut.trim() ? `: ${lastLine(errOut)}` : ''}` });
    });
  });
}

/** Successful checks, per binary: a source checks once, then spawns directly. */
const checked = new Map<string, Promise<{ ok: true; version: string } | { ok: false; message: string }>>();

export function checkFfmpegCached(ffmpegPath: string): ReturnType<typeof checkFfmpeg> {
  let pending = checked.get(ffmpegPath);
  if (!pending) {
    pending = checkFfmpeg(ffmpegPath).then((result) => {
      // Only success is remembered: ffmpeg may be installed while the daemon runs.
      if (!result.ok) checked.delete(ffmpegPath);
      return result;
    });
    checked.set(ffmpegPath, pending);
  }
  return pending;
}

/** ffmpeg's major version from a version string ("5.1.6-0+deb12u1", "n6.0", "N-1234-g…" = git). */
export function majorVersion(version: string): number | undefined {
  const m = /^n?(\d+)\./.exec(version);
  return m ? Number(m[1]) : undefined;
}

interface Run {
  child: ChildProcess;
  /** Resolves once the process has exited and its pipes are closed. */
  closed: Promise<void>;
  hasClosed: boolean;
  tail: StderrTail;
  frames: number;
  firstFrameAt?: number;
  spawnError?: unknown;
  /** Why we killed it (watchdog), reported instead of the exit code. */
  killReason?: string;
  termSent: boolean;
  killTimer?: NodeJS.Timeout;
  watchdog?: NodeJS.Timeout;
}

class FfmpegSource extends EventEmitter<VideoSourceEvents> implements VideoSource {
  readonly description: string;
  readonly kind: InputKind;
  private readonly input: string;
  private readonly width: number;
  private readonly height: number;
  private readonly fps: number;
  private readonly ffmpegPath: string;
  private readonly loop: boolean;
  private readonly log: { info(m: string): void; warn(m: string): void } | undefined;
  private readonly firstFrameMs: number;
  private readonly stallMs: number;
  private readonly redact: (text: string) => string;
  private readonly assembler: FrameAssembler;
  private readonly splitter: AccessUnitSplitter | undefined;
  private readonly v4l2: FfmpegSourceOptions['v4l2'];
  private readonly extraOutput: FfmpegSourceOptions['extraOutput'];

  /** Between start() and stop() or a final failure. */
  private active = false;
  /** Bumped by start() and stop(), so late callbacks of an earlier life do nothing. */
  private generation = 0;
  private run: Run | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private stopping: Promise<void> | undefined;
  private startAfterStop = false;

  constructor(options: FfmpegSourceOptions) {
    super();
    validate(options);
    this.input = options.input;
    this.kind = classifyInput(options.input);
    this.width = options.width;
    this.height = options.height;
    this.fps = options.fps;
    this.ffmpegPath = options.ffmpegPath ?? 'ffmpeg';
    this.loop = options.loop ?? true;
    this.log = options.log;
    this.firstFrameMs = options.watchdog?.firstFrameMs ?? (this.kind === 'file' ? 15_000 : 25_000);
    this.stallMs = options.watchdog?.stallMs ?? Math.max(10_000, 5_000 / this.fps);
    this.redact = redactor(options.input);
    this.v4l2 = options.v4l2;
    this.extraOutput = options.extraOutput;
    const shown = this.redact(options.input);
    const what = this.kind === 'file' ? `file ${shown}${this.loop ? ' (looped)' : ''}` : `${this.kind} ${shown}`;
    this.description = options.output === 'h264' ? `${what} -> H.264 passed through` : `${what} -> ${this.width}x${this.height}@${this.fps}`;
    this.assembler = new FrameAssembler((this.width * this.height * 3) / 2, (data) => this.onFrame(data));
    if (options.output === 'h264') this.splitter = new AccessUnitSplitter((unit) => this.onUnit(unit));
  }

  start(): void {
    if (this.stopping) {
      this.startAfterStop = true;
      return;
    }
    if (this.active) return;
    this.active = true;
    this.attempt = 0;
    this.launch(++this.generation);
  }

  stop(): Promise<void> {
    if (this.stopping) {
      this.startAfterStop = false;
      return this.stopping;
    }
    const wasActive = this.active;
    this.active = false;
    this.generation++;
    this.clearRetry();
    const run = this.run;
    if (!run) {
      if (wasActive) this.status('stopped', `stopped ${this.description}`);
      return Promise.resolve();
    }
    this.stopping = this.terminate(run).then(() => {
      this.stopping = undefined;
      this.status('stopped', `stopped ${this.description}`);
      if (this.startAfterStop) {
        this.startAfterStop = false;
        this.start();
      }
    });
    return this.stopping;
  }

  private launch(generation: number): void {
    this.status('starting', `starting ${this.description}`);
    void checkFfmpegCached(this.ffmpegPath).then((check) => {
      if (generation !== this.generation || !this.active) return;
      if (!check.ok) {
        this.fail(check.message);
        return;
      }
      this.spawnRun(check.version);
    });
  }

  private spawnRun(version: string): void {
    const major = majorVersion(version);
    const args = (this.splitter ? buildPassthroughArgs : buildFfmpegArgs)({
      input: this.input,
      kind: this.kind,
      width: this.width,
      height: this.height,
      fps: this.fps,
      loop: this.loop,
      legacyRtspTimeout: major !== undefined && major < 5,
      ...(this.v4l2?.inputFormat ? { v4l2InputFormat: this.v4l2.inputFormat } : {}),
      ...(this.v4l2?.ownSize ? { v4l2OwnSize: true } : {}),
    });
    const extra = this.extraOutput;
    let child: ChildProcess;
    try {
      child = extra ? spawn(this.ffmpegPath, [...args, ...extra.args], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] }) : spawn(this.ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      this.fail(spawnErrorMessage(this.ffmpegPath, err));
      return;
    }
    let resolveClosed!: () => void;
    const run: Run = {
      child,
      closed: new Promise<void>((resolve) => (resolveClosed = resolve)),
      hasClosed: false,
      tail: new StderrTail(20, 500, this.redact),
      frames: 0,
      termSent: false,
    };
    this.run = run;
    this.assembler.reset();
    this.splitter?.reset();

    child.stdout!.on('data', (chunk: Buffer) => {
      if (this.run === run && this.active) (this.splitter ?? this.assembler).push(chunk);
    });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => run.tail.push(text));
    if (extra) {
      // Always read, wanted or not: a full pipe would stall ffmpeg, and so the pictures.
      const onExtra = extra.onRun();
      const fd3 = child.stdio[3] as NodeJS.ReadableStream | null | undefined;
      fd3?.on('data', (chunk: Buffer) => {
        if (this.run === run && this.active) onExtra(chunk);
      });
      fd3?.on('error', () => undefined);
    }

    let exitFallback: NodeJS.Timeout | undefined;
    const closed = () => {
      if (run.hasClosed) return;
      run.hasClosed = true;
      clearTimeout(exitFallback);
      clearTimeout(run.killTimer);
      clearTimeout(run.watchdog);
      resolveClosed();
      this.onClosed(run, child.exitCode, child.signalCode);
    };
    child.on('error', (err) => {
      // Spawn failures (ENOENT, EACCES) come here without a process; later errors (a failed
      // kill) are followed by 'exit' as usual.
      if (child.pid === undefined) {
        run.spawnError = err;
        closed();
      }
    });
    child.on('exit', () => {
      // 'close' waits for the pipes too; should something else hold them, do not wait forever.
      exitFallback = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        closed();
      }, 1_000);
    });
    child.on('close', closed);

    run.watchdog = setTimeout(
      () => this.kill(run, `no video frame within ${formatMs(this.firstFrameMs)}`),
      this.firstFrameMs,
    );
  }

  private onFrame(data: Uint8Array): void {
    if (!this.countOutput()) return;
    this.emit('frame', { width: this.width, height: this.height, data });
  }

  private onUnit(unit: AccessUnit): void {
    if (!this.countOutput()) return;
    this.emit('unit', unit);
  }

  /** A frame (or picture) came out of ffmpeg: 'running' on the first, and the stall watchdog re-armed. */
  private countOutput(): boolean {
    const run = this.run;
    if (!run) return false;
    run.frames++;
    if (run.firstFrameAt === undefined) {
      run.firstFrameAt = Date.now();
      clearTimeout(run.watchdog);
      run.watchdog = setTimeout(() => this.kill(run, `no video frame for ${formatMs(this.stallMs)}`), this.stallMs);
      this.status('running', `running ${this.description}`);
    } else {
      run.watchdog?.refresh();
    }
    return true;
  }

  private onClosed(run: Run, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.run !== run) return;
    this.run = undefined;
    if (!this.active) return; // stop() reports 'stopped'.

    if (run.spawnError !== undefined) {
      this.fail(spawnErrorMessage(this.ffmpegPath, run.spawnError));
      return;
    }
    const said = run.tail.summary();
    const reason = run.killReason ?? (said ? `${said} (${exitText(code, signal)})` : exitText(code, signal));

    if (this.kind === 'file') {
      if (code === 0 && run.frames > 0 && !run.killReason) {
        this.active = false;
        this.status('stopped', `end of ${this.description}`);
      } else if (code === 0 && !run.killReason) {
        this.fail(`cannot play ${this.redact(this.input)}: no video frames decoded${said ? ` (${said})` : ''}`);
      } else {
        this.fail(`cannot play ${this.redact(this.input)}: ${reason}`);
      }
      return;
    }

    if (run.firstFrameAt !== undefined && Date.now() - run.firstFrameAt >= BACKOFF_RESET_AFTER_MS) this.attempt = 0;
    const delay = retryDelayMs(this.attempt++);
    const ended = code === 0 && !run.killReason ? 'the stream ended' : reason;
    const generation = this.generation;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (generation === this.generation && this.active) this.launch(generation);
    }, delay);
    this.status('retrying', `${this.kind} ${this.redact(this.input)}: ${ended}`, delay);
  }

  /** Watchdog: end this ffmpeg; its exit is then handled like any other failure. */
  private kill(run: Run, reason: string): void {
    if (run.hasClosed || this.run !== run) return;
    run.killReason = reason;
    void this.terminate(run);
  }

  /** SIGTERM, SIGKILL after KILL_GRACE_MS; resolves when the process is gone. */
  private terminate(run: Run): Promise<void> {
    if (!run.hasClosed && !run.termSent) {
      run.termSent = true;
      clearTimeout(run.watchdog);
      run.child.kill('SIGTERM');
      run.killTimer = setTimeout(() => run.child.kill('SIGKILL'), KILL_GRACE_MS);
    }
    return run.closed;
  }

  private fail(message: string): void {
    this.active = false;
    this.clearRetry();
    this.status('failed', message);
  }

  private clearRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private status(state: VideoSourceState, message: string, retryInMs?: number): void {
    if (this.log) {
      if (state === 'failed' || state === 'retrying') this.log.warn(`video: ${message}`);
      else this.log.info(`video: ${message}`);
    }
    this.emit('status', retryInMs === undefined ? { state, message } : { state, message, retryInMs });
  }
}

function validate(o: FfmpegSourceOptions): void {
  if (typeof o.input !== 'string' || o.input.trim() === '' || o.input.includes('\0')) {
    throw new TypeError('video input must be a non-empty path or URL');
  }
  const dimension = (name: string, value: number, [min, max]: readonly [number, number]) => {
    if (!Number.isInteger(value) || value < min || value > max || value % 2 !== 0) {
      throw new RangeError(`video ${name} must be an even whole number from ${min} to ${max}, got ${value}`);
    }
  };
  dimension('width', o.width, WIDTH_RANGE);
  dimension('height', o.height, HEIGHT_RANGE);
  if (!Number.isFinite(o.fps) || o.fps < FPS_RANGE[0] || o.fps > FPS_RANGE[1]) {
    throw new RangeError(`video fps must be from ${FPS_RANGE[0]} to ${FPS_RANGE[1]}, got ${o.fps}`);
  }
}

/** Hides the password of a URL input (rtsp://user:secret@cam) in descriptions and messages. */
export function redactor(input: string): (text: string) => string {
  let password = '';
  try {
    password = new URL(input).password;
  } catch {
    // A path: nothing to hide.
  }
  if (!password) return (text) => text;
  const decoded = safeDecode(password);
  return (text) => {
    let out = text.split(`:${password}@`).join(':***@');
    if (decoded !== password) out = out.split(`:${decoded}@`).join(':***@');
    return out;
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function spawnErrorMessage(ffmpegPath: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return ffmpegPath === 'ffmpeg' ? FFMPEG_NOT_FOUND : `${FFMPEG_NOT_FOUND} (${ffmpegPath} does not exist)`;
  if (code === 'EACCES') return `${ffmpegPath} cannot be run (permission denied); pass --ffmpeg PATH to an ffmpeg binary`;
  return `cannot run ${ffmpegPath}: ${err instanceof Error ? err.message : String(err)}`;
}

function exitText(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `ffmpeg was killed by ${signal}`;
  return `ffmpeg exited with code ${code}`;
}

function lastLine(text: string): string {
  const lines = text.trim().split(/\r?\n/);
  return lines[lines.length - 1] ?? '';
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
