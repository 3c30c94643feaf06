/**
 * One Opus stream for every viewer, like the video (h264/encoded-stream.ts): a source gives Opus
 * packets once, each viewer's peer only packetizes and encrypts them (opus-track.ts). The source
 * starts with the first viewer and stops after the last. Audio is optional: a source without
 * sound, or one that fails, leaves the video alone (its status is logged, viewers keep watching).
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from '../../../net/log';

export interface AudioPacket {
  /** One Opus packet (RFC 6716), sent as one RTP payload (RFC 7587). */
  data: Buffer;
  /** RTP timestamp, 48 kHz. */
  timestamp: number;
  /** Duration in samples at 48 kHz. */
  samples: number;
}

export type AudioSourceState = 'starting' | 'running' | 'retrying' | 'failed' | 'stopped' | 'absent';

export interface AudioSourceStatus {
  state: AudioSourceState;
  message: string;
  retryInMs?: number;
}

export interface AudioSourceEvents {
  packet: [AudioPacket];
  status: [AudioSourceStatus];
}

export interface AudioSource extends EventEmitter<AudioSourceEvents> {
  /** For logs, e.g. "the pattern's tone (Opus)"; never a password. */
  readonly description: string;
  start(): void;
  stop(): Promise<void>;
}

export interface AudioViewer {
  onPacket(packet: AudioPacket): void;
}

/** The one audio stream and its viewers: starts the source for the first, stops it after the last. */
export class SharedAudioStream {
  private readonly viewers = new Set<AudioViewer>();
  /** Viewers waiting in acquire() for a stop in progress; release() cancels them. */
  private readonly pending = new Set<AudioViewer>();
  private running = false;
  private stopping: Promise<void> | undefined;
  private lastStatus: AudioSourceStatus = { state: 'stopped', message: 'no viewers' };
  private packets = 0;

  constructor(
    readonly source: AudioSource,
    private readonly log: Logger,
  ) {
    source.on('packet', (packet) => {
      this.packets++;
      for (const viewer of this.viewers) viewer.onPacket(packet);
    });
    source.on('status', (status) => {
      this.lastStatus = status;
      // A failed source is not running: the next viewer starts it again (as SharedSource does).
      if (status.state === 'failed') this.running = false;
      const text = `audio: ${source.description}: ${status.message}`;
      if (status.state === 'failed' || status.state === 'retrying') log.warn(text);
      else if (status.state !== 'stopped') log.info(text);
    });
  }

  get status(): AudioSourceStatus {
    return this.lastStatus;
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Packets the source has delivered (once each, however many viewers). */
  get packetsDelivered(): number {
    return this.packets;
  }

  async acquire(viewer: AudioViewer): Promise<void> {
    if (this.stopping) {
      this.pending.add(viewer);
      await this.stopping;
      if (!this.pending.delete(viewer)) return;
    }
    this.viewers.add(viewer);
    if (!this.running) {
      this.running = true;
      this.log.info(`audio: first viewer, starting ${this.source.description}`);
      this.source.start();
    }
  }

  release(viewer: AudioViewer): void {
    if (this.pending.delete(viewer)) return;
    if (!this.viewers.delete(viewer)) return;
    if (this.viewers.size === 0 && this.running) {
      this.running = false;
      this.log.info('audio: last viewer left, stopping the audio source');
      this.stopping = this.source
        .stop()
        .catch((err: unknown) => this.log.warn(`audio: stopping ${this.source.description} failed: ${(err as Error).message}`))
        .finally(() => {
          this.stopping = undefined;
        });
    }
  }

  async close(): Promise<void> {
    this.pending.clear();
    for (const viewer of [...this.viewers]) this.release(viewer);
    await this.stopping;
  }
}
