/**
 * One capture for all viewers: the source starts with the first viewer and stops with the last.
 * Frames go into a single wrtc RTCVideoSource; each viewer's peer connection gets its own track
 * from it (and so its own encoder, which starts with a keyframe: a new viewer's first frame
 * comes at once).
 */
import { EventEmitter } from 'node:events';
import wrtc from '@roamhq/wrtc';
import type { Logger } from '../../net/log';
import { logSourceStatus } from './source-status';

export interface RawFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

export type SourceStatus = { state: 'starting' | 'running' | 'retrying' | 'failed' | 'stopped'; message: string; retryInMs?: number };

/** A producer of I420 frames (the test pattern, or ffmpeg). */
export interface FrameSource {
  readonly description: string;
  start(): void;
  stop(): Promise<void>;
  on(event: 'frame', listener: (frame: RawFrame) => void): unknown;
  on(event: 'status', listener: (status: SourceStatus) => void): unknown;
  off(event: 'frame', listener: (frame: RawFrame) => void): unknown;
  off(event: 'status', listener: (status: SourceStatus) => void): unknown;
}

export interface CaptureEvents {
  status: [SourceStatus];
}

type VideoTrack = ReturnType<InstanceType<typeof wrtc.nonstandard.RTCVideoSource>['createTrack']>;

export class SharedCapture extends EventEmitter<CaptureEvents> {
  /** Created with the first viewer: a camera nobody watches holds no WebRTC objects. */
  private rtcSource: InstanceType<typeof wrtc.nonstandard.RTCVideoSource> | undefined;
  private readonly tracks = new Set<VideoTrack>();
  private running = false;
  private stopping: Promise<void> | undefined;
  private lastStatus: SourceStatus = { state: 'stopped', message: 'no viewers' };
  private frames = 0;

  constructor(
    private readonly source: FrameSource,
    private readonly log: Logger,
  ) {
    super();
    source.on('frame', (frame) => {
      this.frames++;
      this.rtcSource?.onFrame({ width: frame.width, height: frame.height, data: frame.data });
    });
    source.on('status', (status) => {
      this.lastStatus = status;
      // A source that gave up is not running: the next viewer starts it again.
      if (status.state === 'failed') this.running = false;
      logSourceStatus(log, source.description, status);
      this.emit('status', status);
    });
  }

  get status(): SourceStatus {
    return this.lastStatus;
  }

  get viewerCount(): number {
    return this.tracks.size;
  }

  get framesCaptured(): number {
    return this.frames;
  }

  /** A track for one more viewer; starts the source for the first. */
  async acquire(): Promise<VideoTrack> {
    if (this.stopping) await this.stopping;
    this.rtcSource ??= new wrtc.nonstandard.RTCVideoSource();
    const track = this.rtcSource.createTrack();
    this.tracks.add(track);
    if (!this.running) {
      this.running = true;
      this.log.info(`video: first viewer, starting ${this.source.description}`);
      this.source.start();
    }
    return track;
  }

  /** Gives a viewer's track back; stops the source after the last. */
  release(track: VideoTrack): void {
    if (!this.tracks.delete(track)) return;
    track.stop();
    if (this.tracks.size === 0 && this.running) {
      this.running = false;
      this.log.info('video: last viewer left, stopping the source');
      this.stopping = this.source.stop().finally(() => {
        this.stopping = undefined;
      });
    }
  }

  async close(): Promise<void> {
    for (const track of [...this.tracks]) this.release(track);
    await this.stopping;
  }
}
