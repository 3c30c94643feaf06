/**
 * One camera's live video with automatic reconnection. A session that ends for any reason other
 * than the viewer stopping it, or the camera revoking this user's access, is retried with
 * exponential backoff; a stream that stops delivering frames is treated as ended. A revoked user
 * and a camera presenting a changed key are final: nothing is retried.
 */
import type { LiveVideoStats } from '../video/live-video';
import { plainError, statusOf } from '../api/errors';

export type VideoPhase = 'connecting' | 'live' | 'reconnecting' | 'revoked' | 'key-changed' | 'stopped';

export interface VideoState {
  phase: VideoPhase;
  /** Reconnection attempts since the last picture. */
  attempt: number;
  /** Why the last session ended (plain language). */
  reason?: string;
  /** When the next attempt starts (ms since the epoch), while reconnecting. */
  retryAt?: number;
}

/** What VideoConnection needs of a video session (LiveVideo in the app; a fake in tests). */
export interface VideoSession {
  start(): Promise<void>;
  stop(): void;
  snapshotPng(): Promise<Blob>;
  /** Switches to the camera's main or sub stream without a new session. */
  selectStream?(stream: 'main' | 'sub'): void;
}

export type VideoSessionFactory = (callbacks: { onStats: (stats: LiveVideoStats) => void; onClosed: (reason: string) => void }) => VideoSession;

export interface VideoConnectionOptions {
  onState: (state: VideoState) => void;
  onStats?: (stats: LiveVideoStats) => void;
  /** Delays before attempts 1, 2, …; the last one repeats. */
  backoffMs?: readonly number[];
  /** A live stream with no new frame for this long is restarted. */
  stallMs?: number;
}

const DEFAULT_BACKOFF_MS = [1000, 2000, 4000, 8000, 15_000, 30_000];

export function isRevocation(reasonOrError: unknown): boolean {
  if (typeof reasonOrError === 'string') return /revoked|access (was )?removed|not allowed/i.test(reasonOrError);
  return statusOf(reasonOrError) === 403;
}

export class VideoConnection {
  private current: VideoSession | undefined;
  private stopped = false;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private state: VideoState = { phase: 'connecting', attempt: 0 };
  private lastFrames = 0;
  private lastProgressAt = 0;
  private readonly backoff: readonly number[];
  private readonly stallMs: number;

  constructor(
    private readonly factory: VideoSessionFactory,
    private readonly options: VideoConnectionOptions,
  ) {
    this.backoff = options.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.stallMs = options.stallMs ?? 10_000;
  }

  get phase(): VideoPhase {
    return this.state.phase;
  }

  start(): void {
    this.connect();
  }

  /** The viewer stops watching: final, nothing is retried. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimer();
    this.end()?.stop();
    this.set({ phase: 'stopped', attempt: 0 });
  }

  /** Access was lost another way (e.g. the camera's key changed): stop and say why. */
  block(phase: 'revoked' | 'key-changed', reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimer();
    this.end()?.stop();
    this.set({ phase, attempt: 0, reason });
  }

  /** The picture is showing (the <video> element's 'playing' event, or frames in the stats). */
  markLive(): void {
    if (this.stopped || !this.current || this.state.phase === 'live') return;
    this.attempt = 0;
    this.lastProgressAt = Date.now();
    this.set({ phase: 'live', attempt: 0 });
  }

  /** The current session switches stream (the factory is asked for the choice on reconnection). */
  selectStream(stream: 'main' | 'sub'): void {
    this.current?.selectStream?.(stream);
  }

  async snapshotPng(): Promise<Blob> {
    if (!this.current || this.state.phase !== 'live') throw new Error('there is no picture to save yet');
    return this.current.snapshotPng();
  }

  private connect(): void {
    if (this.stopped) return;
    this.timer = undefined;
    this.lastFrames = 0;
    this.lastProgressAt = Date.now();
    const session: VideoSession = this.factory({
      onStats: (stats) => {
        if (this.current !== session) return;
        this.options.onStats?.(stats);
        const now = Date.now();
        // A hidden page gets no frame callbacks: that is not a frozen picture.
        if (typeof document !== 'undefined' && document.hidden) this.lastProgressAt = now;
        if (stats.frames > this.lastFrames) {
          this.lastFrames = stats.frames;
          this.lastProgressAt = now;
          this.markLive();
        } else if (this.state.phase === 'live' && now - this.lastProgressAt >= this.stallMs) {
          this.end();
          session.stop();
          this.retry('the picture froze');
        }
      },
      onClosed: (reason) => {
        if (this.current !== session) return;
        this.current = undefined;
        if (isRevocation(reason)) this.block('revoked', reason);
        else this.retry(reason);
      },
    });
    this.current = session;
    this.set({ phase: this.attempt === 0 ? 'connecting' : 'reconnecting', attempt: this.attempt, ...(this.state.reason ? { reason: this.state.reason } : {}) });
    session.start().catch((err: unknown) => {
      if (this.current !== session) return;
      this.end();
      session.stop();
      if (isRevocation(err)) this.block('revoked', plainError(err, 'video').message);
      else if (statusOf(err) === 'device-key-changed') this.block('key-changed', plainError(err, 'video').message);
      else this.retry(plainError(err, 'video').message);
    });
  }

  private retry(reason: string): void {
    if (this.stopped) return;
    const delay = this.backoff[Math.min(this.attempt, this.backoff.length - 1)] ?? 1000;
    this.attempt++;
    this.set({ phase: 'reconnecting', attempt: this.attempt, reason, retryAt: Date.now() + delay });
    this.clearTimer();
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private end(): VideoSession | undefined {
    const session = this.current;
    this.current = undefined;
    return session;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private set(state: VideoState): void {
    this.state = state;
    this.options.onState(state);
  }
}
