/**
 * A camera or file on the H.264 pipeline: asked what it sends (ffprobe, ffmpeg/probe.ts), then
 * either passed through untouched (H.264 within the caps) or decoded by ffmpeg and encoded once
 * for every viewer (anything else: raw or MJPEG webcams, VP8/VP9/HEVC/MPEG-4 files, a picture or
 * rate above `--size`/`--fps`), fitted inside the caps with its aspect ratio kept
 * (video-plan.ts). The probe result is kept while the source works, so a viewer arriving at an
 * idle camera does not wait for a new probe; a source that failed or had to retry is probed again
 * at its next start (the camera may have changed).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../../net/log';
import { checkFfmpegCached, classifyInput, createFfmpegSource, majorVersion, redactor, retryDelayMs, type InputKind } from '../ffmpeg-source';
import { ffprobeFor, probeVideo, type ProbedVideo } from '../ffmpeg/probe';
import { planVideo, type VideoCaps, type VideoPlan } from '../video-plan';
import { EncodeOnceSource, PassthroughSource, PatternH264Source, type EncodedSource, type EncodedSourceEvents } from './encoded-stream';
import { CameraAudio, type CameraAudioHost } from '../audio/camera-audio';
import { describeInput } from '../audio/ffmpeg-audio-source';
import type { SourceStatus } from '../shared-source';

export interface CameraSourceOptions {
  input: string;
  caps: VideoCaps;
  ffmpegPath?: string | undefined;
  log: Logger;
}

export class CameraSource extends EventEmitter<EncodedSourceEvents> implements EncodedSource, CameraAudioHost {
  readonly kind: InputKind;
  private readonly redact: (text: string) => string;
  private readonly ffmpegPath: string;
  private probed: ProbedVideo | undefined;
  private plan: VideoPlan | undefined;
  private inner: EncodedSource | undefined;
  private generation = 0;
  /** The inner source's stop, while it runs (a restart waits for it). */
  private innerStopping: Promise<void> | undefined;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The running plan's source failed or retried: probe again at the next start. */
  private stale = false;
  /** V4L2: 'h264' when the camera gave H.264 when asked for it. */
  private v4l2Format: string | undefined;
  /** The sound read by the same ffmpeg (audioSource()); the process runs while video or sound is wanted. */
  private audio: CameraAudio | undefined;
  private videoWanted = false;
  /** Between startProcess() and stopProcess() (or a failure). */
  private processOn = false;
  private lastStatus: SourceStatus | undefined;

  constructor(private readonly options: CameraSourceOptions) {
    super();
    this.kind = classifyInput(options.input);
    this.redact = redactor(options.input);
    this.ffmpegPath = options.ffmpegPath ?? 'ffmpeg';
    this.on('status', (status) => {
      this.lastStatus = status;
      if (status.state === 'failed') this.processOn = false;
      this.audio?.onVideoStatus(status);
    });
  }

  /**
   * The camera's sound from this source's own ffmpeg (a second output on fd 3): one process, one
   * RTSP session for picture and sound. Files, RTSP and URLs only (a V4L2 camera has no sound).
   */
  audioSource(): CameraAudio {
    this.audio ??= new CameraAudio(describeInput({ kind: 'source', input: this.options.input }), this);
    return this.audio;
  }

  /** The audio half wants the process (or no longer): it runs while either half is wanted. */
  async setAudioWanted(wanted: boolean): Promise<void> {
    if (wanted) {
      if (!this.processOn) this.startProcess();
      return;
    }
    if (!this.videoWanted && this.processOn) await this.stopProcess();
  }

  /** A transcoded camera's pictures leave after their encode: its sound is held back by that (lip-sync). */
  get audioHoldBackMs(): number {
    return this.inner instanceof EncodeOnceSource ? this.inner.encodeLatencyMs : 0;
  }

  private get audioKeepsRunning(): boolean {
    return this.audio !== undefined && this.audio.isWanted && this.audio.sourceCodec !== null;
  }

  get description(): string {
    return this.inner?.description ?? `${this.kind} ${this.redact(this.options.input)}`;
  }

  get keyframesOnRequest(): boolean {
    return this.inner?.keyframesOnRequest ?? false;
  }

  /** What was decided at the last start (for logs and tests). */
  get currentPlan(): VideoPlan | undefined {
    return this.plan;
  }

  start(): void {
    this.videoWanted = true;
    if (this.processOn) {
      // Running for the sound already: tell the viewers where it is.
      if (this.lastStatus && this.lastStatus.state !== 'stopped') this.emit('status', { ...this.lastStatus });
      return;
    }
    this.startProcess();
  }

  async stop(): Promise<void> {
    this.videoWanted = false;
    if (this.processOn && this.audioKeepsRunning) {
      // The sound still has listeners (a viewer on the sub stream): the process goes on.
      const running = this.lastStatus;
      this.emit('status', { state: 'stopped', message: 'no video viewers (still reading the sound)' });
      this.lastStatus = running;
      return;
    }
    await this.stopProcess();
  }

  private startProcess(): void {
    this.processOn = true;
    const generation = ++this.generation;
    if (this.inner && !this.stale) {
      const inner = this.inner;
      // A stop still in progress (the sound's half may stop the process after the video's):
      // start again only once it is done, so that stop cannot end the new run.
      if (this.innerStopping) {
        void this.innerStopping.then(() => {
          if (generation === this.generation && this.processOn && this.inner === inner) inner.start();
        });
      } else inner.start();
      return;
    }
    // First start, or the last run failed or had to retry: ask the camera again.
    this.inner = undefined;
    this.stale = false;
    this.probed = undefined;
    this.emit('status', { state: 'starting', message: `probing ${this.description}` });
    void this.probeAndStart(generation);
  }

  private async stopProcess(): Promise<void> {
    this.processOn = false;
    this.generation++;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const inner = this.inner;
    if (!inner) {
      this.emit('status', { state: 'stopped', message: 'no viewers' });
      return;
    }
    const stopping = inner.stop().finally(() => {
      if (this.innerStopping === stopping) this.innerStopping = undefined;
    });
    this.innerStopping = stopping;
    await stopping;
  }

  requestKeyframe(): void {
    this.inner?.requestKeyframe();
  }

  private async probeAndStart(generation: number): Promise<void> {
    const check = await checkFfmpegCached(this.ffmpegPath);
    if (generation !== this.generation) return;
    if (!check.ok) {
      this.emit('status', { state: 'failed', message: check.message });
      return;
    }
    const major = majorVersion(check.version);
    const started = performance.now();
    const video = this.probed ?? (await this.probe(major));
    if (generation !== this.generation) return;
    if (video === 'failed') return;
    this.probed = video ?? undefined;
    // Without ffprobe the sound is not known: video only.
    this.audio?.setCodec(video?.audio ?? null);
    if (!this.videoWanted && !this.audioKeepsRunning) {
      // Started for the sound alone, and there is none.
      void this.stopProcess();
      return;
    }
    const plan = planVideo(video ?? undefined, this.options.caps);
    this.plan = plan;
    const what = video ? `${video.codec} ${video.width}x${video.height}${video.fps ? `@${Math.round(video.fps * 100) / 100}` : ''}` : 'unknown';
    this.options.log.info(`video: ${this.description} sends ${what} (probed in ${Math.round(performance.now() - started)} ms): ${plan.mode === 'passthrough' ? 'passed through' : `transcoded once to H.264 ${plan.width}x${plan.height}@${plan.fps}`} (${plan.reason})`);
    const inner = this.makeInner(plan, video ?? undefined);
    inner.on('unit', (unit) => {
      if (this.inner === inner) this.emit('unit', unit);
    });
    inner.on('status', (status) => {
      if (this.inner !== inner) return;
      if (status.state === 'failed' || status.state === 'retrying') this.stale = true;
      this.emit('status', status);
    });
    this.inner = inner;
    inner.start();
  }

  /** Probe result; null when ffprobe is missing (transcode at the caps); 'failed' when reported. */
  private async probe(major: number | undefined): Promise<ProbedVideo | null | 'failed'> {
    const { caps } = this.options;
    const base = { input: this.options.input, kind: this.kind, loop: false, legacyRtspTimeout: major !== undefined && major < 5 };
    const v4l2Size = caps.maxWidth && caps.maxHeight ? { width: caps.maxWidth, height: caps.maxHeight, fps: caps.maxFps ?? 30 } : { width: 0, height: 0, fps: caps.maxFps ?? 30, v4l2OwnSize: true };
    const attempts = this.kind === 'v4l2' ? [{ ...base, ...v4l2Size, v4l2InputFormat: 'h264' }, { ...base, ...v4l2Size }] : [{ ...base, width: 0, height: 0, fps: 0 }];
    let message = '';
    for (const args of attempts) {
      const result = await probeVideo(ffprobeFor(this.ffmpegPath), args, this.redact);
      if (result.ok) {
        this.attempt = 0;
        if (this.kind === 'v4l2') this.v4l2Format = 'v4l2InputFormat' in args ? 'h264' : undefined;
        return result.video;
      }
      if (result.missing) {
        this.options.log.warn(`video: ${result.message}; ${this.description} is transcoded at the caps without knowing what it sends`);
        return null;
      }
      message = result.message;
    }
    if (this.kind === 'file') {
      this.emit('status', { state: 'failed', message });
      return 'failed';
    }
    // A live camera that cannot be read now: try again, as the ffmpeg source would.
    const delay = retryDelayMs(this.attempt++);
    const generation = this.generation;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (generation === this.generation) void this.probeAndStart(generation);
    }, delay);
    this.emit('status', { state: 'retrying', message, retryInMs: delay });
    return 'failed';
  }

  private makeInner(plan: VideoPlan, video: ProbedVideo | undefined): EncodedSource {
    const { input, caps, log } = this.options;
    const ffmpegPath = this.options.ffmpegPath ? { ffmpegPath: this.options.ffmpegPath } : {};
    const extra = this.audio?.extraOutput();
    const extraOutput = extra ? { extraOutput: extra } : {};
    const ownSize = !(caps.maxWidth && caps.maxHeight);
    if (plan.mode === 'passthrough') {
      const size = video ? { width: even(video.width), height: even(video.height) } : { width: 1280, height: 720 };
      return new PassthroughSource({ input, ...clampSize(size), fps: Math.min(60, Math.max(1, Math.round(video?.fps ?? 30))), ...ffmpegPath, ...extraOutput, log, ...(this.kind === 'v4l2' ? { v4l2: { inputFormat: this.v4l2Format, ownSize } } : {}) });
    }
    const frames = createFfmpegSource({ input, width: plan.width, height: plan.height, fps: plan.fps, ...ffmpegPath, ...extraOutput, log, ...(this.kind === 'v4l2' ? { v4l2: { ownSize } } : {}) });
    const from = video ? `${video.codec} ${video.width}x${video.height}` : 'unknown';
    return new EncodeOnceSource(frames, { width: plan.width, height: plan.height, fps: plan.fps, description: `${frames.description.replace(/ -> .*$/, '')} (${from}) -> H.264 ${plan.width}x${plan.height}@${plan.fps}, transcoded once` });
  }

}

function even(n: number): number {
  return Math.max(16, 2 * Math.floor(n / 2));
}

function clampSize(size: { width: number; height: number }): { width: number; height: number } {
  return { width: Math.min(3840, size.width), height: Math.min(2160, size.height) };
}

export function createEncodedSource(video: { source: string; width: number; height: number; fps: number; caps?: VideoCaps | undefined; ffmpegPath?: string | undefined }, log: Logger): EncodedSource {
  if (video.source === 'pattern') return new PatternH264Source(video.width, video.height, video.fps);
  return new CameraSource({ input: video.source, caps: video.caps ?? {}, ffmpegPath: video.ffmpegPath, log });
}
