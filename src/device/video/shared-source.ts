/**
 * One source, many viewers: the source starts with the first viewer and stops after the last; a
 * viewer that arrives while a stop is in progress waits for it, then starts the source again. A
 * source that reports 'failed' is not running any more: the next viewer starts it again.
 * Both pipelines use it (capture.ts for raw frames into @roamhq/wrtc, h264/encoded-stream.ts for
 * the one encoded stream); it knows nothing of what flows from source to viewers.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../net/log';
import { logSourceStatus } from './source-status';

export type SourceStatus = { state: 'starting' | 'running' | 'retrying' | 'failed' | 'stopped'; message: string; retryInMs?: number };

export interface RawFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A producer of I420 frames (the test pattern, or ffmpeg decoding a camera or file). */
export interface FrameSource {
  readonly description: string;
  start(): void;
  stop(): Promise<void>;
  on(event: 'frame', listener: (frame: RawFrame) => void): unknown;
  on(event: 'status', listener: (status: SourceStatus) => void): unknown;
  off(event: 'frame', listener: (frame: RawFrame) => void): unknown;
  off(event: 'status', listener: (status: SourceStatus) => void): unknown;
}

/** What SharedSource needs of a source: a name, start, stop and status reports. */
export interface StartStopSource {
  readonly description: string;
  start(): void;
  stop(): Promise<void>;
  on(event: 'status', listener: (status: SourceStatus) => void): unknown;
}

export interface SharedSourceEvents {
  status: [SourceStatus];
}

export class SharedSource<Viewer> extends EventEmitter<SharedSourceEvents> {
  private readonly members = new Set<Viewer>();
  /** Viewers waiting in acquire() for a stop in progress; release() cancels them. */
  private readonly pending = new Set<Viewer>();
  private running = false;
  private stopping: Promise<void> | undefined;
  private lastStatus: SourceStatus = { state: 'stopped', message: 'no viewers' };

  constructor(
    readonly source: StartStopSource,
    private readonly log: Logger,
  ) {
    super();
    source.on('status', (status) => {
      this.lastStatus = status;
      if (status.state === 'failed') this.running = false;
      logSourceStatus(log, source.description, status);
      this.emit('status', status);
    });
  }

  get status(): SourceStatus {
    return this.lastStatus;
  }

  get viewerCount(): number {
    return this.members.size;
  }

  /** The viewers now (iterate it to hand each one what the source gave). */
  get viewers(): ReadonlySet<Viewer> {
    return this.members;
  }

  /** Adds a viewer; starts the source for the first (after a stop in progress has finished). */
  async acquire(viewer: Viewer): Promise<void> {
    if (this.stopping) {
      this.pending.add(viewer);
      await this.stopping;
      // Released while it waited: it is not a viewer, and nothing starts for it.
      if (!this.pending.delete(viewer)) return;
    }
    this.members.add(viewer);
    if (!this.running) {
      this.running = true;
      this.log.info(`video: first viewer, starting ${this.source.description}`);
      this.source.start();
    }
  }

  /** Removes a viewer (false when it was not one); stops the source after the last. */
  release(viewer: Viewer): boolean {
    if (this.pending.delete(viewer)) return true;
    if (!this.members.delete(viewer)) return false;
    if (this.members.size === 0 && this.running) {
      this.running = false;
      this.log.info('video: last viewer left, stopping the source');
      this.stopping = this.source
        .stop()
        .catch((err: unknown) => this.log.warn(`video: stopping ${this.source.description} failed: ${(err as Error).message}`))
        .finally(() => {
          this.stopping = undefined;
        });
    }
    return true;
  }

  async close(): Promise<void> {
    this.pending.clear();
    for (const viewer of [...this.members]) this.release(viewer);
    await this.stopping;
  }
}
