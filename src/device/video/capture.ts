/**
 * One capture for all viewers: the source starts with the first viewer and stops with the last.
 * Frames go into a single wrtc RTCVideoSource; each viewer's peer connection gets its own track
 * from it (and so its own encoder, which starts with a keyframe: a new viewer's first frame
 * comes at once).
 */
import { EventEmitter } from 'node:events';
import wrtc from '@roamhq/wrtc';
import type { Logger } from '../../net/log';
import { SharedSource, type FrameSource, type RawFrame, type SourceStatus } from './shared-source';

export type { FrameSource, RawFrame, SourceStatus };

export interface CaptureEvents {
  status: [SourceStatus];
}

type VideoTrack = ReturnType<InstanceType<typeof wrtc.nonstandard.RTCVideoSource>['createTrack']>;

export class SharedCapture extends EventEmitter<CaptureEvents> {
  /** Created with the first viewer: a camera nobody watches holds no WebRTC objects. */
  private rtcSource: InstanceType<typeof wrtc.nonstandard.RTCVideoSource> | undefined;
  /** Each viewer's track; the source's life (first starts, last stops) is SharedSource's. */
  private readonly shared: SharedSource<VideoTrack>;
  private frames = 0;

  constructor(source: FrameSource, log: Logger) {
    super();
    this.shared = new SharedSource<VideoTrack>(source, log);
    this.shared.on('status', (status) => this.emit('status', status));
    source.on('frame', (frame) => {
      this.frames++;
      this.rtcSource?.onFrame({ width: frame.width, height: frame.height, data: frame.data });
    });
  }

  get status(): SourceStatus {
    return this.shared.status;
  }

  get viewerCount(): number {
    return this.shared.viewerCount;
  }

  get framesCaptured(): number {
    return this.frames;
  }

  /** A track for one more viewer; starts the source for the first. */
  async acquire(): Promise<VideoTrack> {
    this.rtcSource ??= new wrtc.nonstandard.RTCVideoSource();
    const track = this.rtcSource.createTrack();
    await this.shared.acquire(track);
    return track;
  }

  /** Gives a viewer's track back; stops the source after the last. */
  release(track: VideoTrack): void {
    if (this.shared.release(track)) track.stop();
  }

  close(): Promise<void> {
    for (const track of [...this.shared.viewers]) track.stop();
    return this.shared.close();
  }
}
