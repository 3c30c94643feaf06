/**
 * The sound of a camera or file read by the same ffmpeg as its pictures (h264/camera-source.ts):
 * the ffmpeg that copies or decodes the video also writes the Opus (copied, or AAC/G.711/…
 * transcoded once) as Ogg on pipe fd 3, so an RTSP camera is opened once, not once for the
 * picture and once for the sound, and both come off the same connection.
 *
 * This is the audio half of that one process: the camera source starts the process while either
 * half has a viewer (a viewer on the sub stream still hears the main stream's sound) and stops it
 * after the last of both; this object only says whether the sound is wanted, turns fd 3's bytes
 * into timestamped packets (AudioClock, like FfmpegAudioSource) and reports status. The camera's
 * retries, backoff and failures are the video source's; they are passed on here.
 */
import { EventEmitter } from 'node:events';
import type { AudioPacket, AudioSource, AudioSourceEvents, AudioSourceStatus } from './audio-stream';
import { AudioClock, audioHow, audioOutputArgs } from './ffmpeg-audio-source';
import { OggOpusReader } from './ogg-opus';

/** What the camera source does for its audio half. */
export interface CameraAudioHost {
  /** The sound is wanted (true) or not (false): the host starts or stops its process as needed. */
  setAudioWanted(wanted: boolean): Promise<void>;
  /**
   * How much later than the sound the pictures leave (a transcoded camera's encode latency, ms;
   * 0 when passed through): packets are held back by it, so both leave together (lip-sync).
   */
  readonly audioHoldBackMs: number;
}

export class CameraAudio extends EventEmitter<AudioSourceEvents> implements AudioSource {
  private wanted = false;
  /** The codec found by the camera's probe: undefined before it, null for a source without sound. */
  private codec: string | null | undefined;
  private readonly clock = new AudioClock();
  private running = false;
  private lastState: AudioSourceStatus['state'] = 'stopped';
  /** Held-back packets leave in order: never before the one before them. */
  private lastSendAt = 0;
  /** Packets held back, in the order they came, each with when it may leave (one timer for all). */
  private readonly held: { at: number; packet: AudioPacket }[] = [];
  private heldTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly description: string,
    private readonly host: CameraAudioHost,
  ) {
    super();
  }

  get isWanted(): boolean {
    return this.wanted;
  }

  /** The codec found by the probe ('opus', 'aac' …), null without sound, undefined before. */
  get sourceCodec(): string | null | undefined {
    return this.codec;
  }

  start(): void {
    if (this.wanted) return;
    this.wanted = true;
    if (this.codec === null) {
      // Known to have no sound: nothing to start for it.
      this.status({ state: 'absent', message: 'the source has no audio; sending video only' });
      return;
    }
    this.status({ state: 'starting', message: `opening ${this.description} (with the video, one ffmpeg)` });
    void this.host.setAudioWanted(true);
  }

  async stop(): Promise<void> {
    if (!this.wanted) return;
    this.wanted = false;
    this.running = false;
    clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    this.held.length = 0;
    await this.host.setAudioWanted(false);
    this.status({ state: 'stopped', message: 'no viewers' });
  }

  /** The probe's answer, before the process starts. */
  setCodec(codec: string | null): void {
    this.codec = codec;
    if (codec === null && this.wanted && this.lastState !== 'absent') this.status({ state: 'absent', message: 'the source has no audio; sending video only' });
  }

  /** The extra ffmpeg output for this codec (Ogg Opus on fd 3), or undefined without sound. */
  extraOutput(): { args: string[]; onRun(): (chunk: Buffer) => void } | undefined {
    if (this.codec === undefined || this.codec === null) return undefined;
    return { args: audioOutputArgs(this.codec, 'pipe:3'), onRun: () => this.onRun() };
  }

  /** The camera's state, passed on (a camera retrying or failing retries or fails its sound). */
  onVideoStatus(status: { state: string; message: string; retryInMs?: number }): void {
    if (!this.wanted || this.codec === null) return;
    if (status.state === 'retrying' || status.state === 'failed') {
      this.running = false;
      this.status({ state: status.state, message: status.message, ...(status.retryInMs !== undefined ? { retryInMs: status.retryInMs } : {}) });
    }
  }

  /** A new ffmpeg: its own Ogg stream on fd 3. */
  private onRun(): (chunk: Buffer) => void {
    this.clock.reset();
    this.running = false;
    const reader = new OggOpusReader((packet) => {
      // Read always (the pipe must not fill), sent only while someone listens.
      if (!this.wanted) return;
      if (!this.running) {
        this.running = true;
        this.status({ state: 'running', message: `running (${audioHow(this.codec)}) from the video's ffmpeg` });
      }
      const timestamp = this.clock.stamp(packet.samples);
      if (timestamp !== undefined) this.send({ data: packet.data, samples: packet.samples, timestamp });
    });
    let broken = false;
    return (chunk) => {
      if (broken) return;
      try {
        reader.push(chunk);
      } catch (err) {
        // A broken Ogg stream: the sound stops (until the next ffmpeg), the picture goes on.
        broken = true;
        if (this.wanted) this.status({ state: 'failed', message: `the audio from ffmpeg is broken: ${(err as Error).message}` });
      }
    };
  }

  private send(packet: AudioPacket): void {
    const raw = this.host.audioHoldBackMs;
    const hold = Number.isFinite(raw) ? Math.min(500, Math.max(0, raw)) : 0;
    const now = performance.now();
    const at = Math.max(now + hold, this.lastSendAt);
    this.lastSendAt = at;
    if (at - now < 1 && this.held.length === 0) {
      this.emit('packet', packet);
      return;
    }
    // One queue and one timer, so packets leave in the order they came (timers of slightly
    // different delays may fire out of order on a loaded machine).
    this.held.push({ at, packet });
    if (!this.heldTimer) this.heldTimer = setTimeout(() => this.releaseHeld(), Math.max(0, this.held[0]!.at - now));
  }

  private releaseHeld(): void {
    this.heldTimer = undefined;
    const now = performance.now();
    while (this.held.length > 0 && this.held[0]!.at - now < 1) {
      const { packet } = this.held.shift()!;
      if (this.wanted) this.emit('packet', packet);
    }
    if (this.held.length > 0) this.heldTimer = setTimeout(() => this.releaseHeld(), Math.max(0, this.held[0]!.at - now));
  }

  private status(status: AudioSourceStatus): void {
    this.lastState = status.state;
    this.emit('status', status);
  }
}
