/**
 * Live video in the renderer: Chromium's own RTCPeerConnection, signaled through LancamApi (the
 * preload in Electron, the bridge in the browser harness), decoded into a <video> element. Stats
 * (fps, bitrate, latency read from the test pattern's pixels) come from getStats and a canvas.
 */
import type { LancamApi } from '../../shared/ui/api';
import { ViewerPeer, type PeerConnectionLike } from '../../shared/video/viewer-peer';
import { decodeRgba } from '../../shared/video/test-pattern';
import type { VideoStreamChoice } from '../../shared/protocol/webrtc-api';

export interface LiveVideoStats {
  frames: number;
  fps: number;
  bitrateKbps: number;
  latencyMs: number | null;
  width: number;
  height: number;
  firstFrameMs: number | null;
}

export interface LiveVideoOptions {
  onStats?: (stats: LiveVideoStats) => void;
  onClosed?: (reason: string) => void;
  /** The camera sends sound (an audio track arrived). */
  onAudio?: () => void;
  /** The camera's main (default) or sub stream to start with; selectStream() switches. */
  stream?: VideoStreamChoice;
}

export class LiveVideo {
  private peer: ViewerPeer | undefined;
  private sessionId: string | undefined;
  private offs: (() => void)[] = [];
  private statsTimer: number | undefined;
  private readonly canvas = document.createElement('canvas');
  private readonly startedAt = performance.now();
  private firstFrameAt: number | undefined;
  private frames = 0;
  private lastBytes = 0;
  private lastStatsAt = performance.now();
  private lastFrames = 0;
  private latency: number | null = null;
  private current: LiveVideoStats = { frames: 0, fps: 0, bitrateKbps: 0, latencyMs: null, width: 0, height: 0, firstFrameMs: null };
  private closed = false;
  private stopRequested = false;
  private stream: MediaStream | undefined;

  /** Whether the camera sends sound in this session. */
  get hasAudio(): boolean {
    return (this.stream?.getAudioTracks().length ?? 0) > 0;
  }

  constructor(
    private readonly api: LancamApi,
    private readonly deviceId: string,
    private readonly video: HTMLVideoElement,
    private readonly options: LiveVideoOptions = {},
  ) {}

  get stats(): LiveVideoStats {
    return this.current;
  }

  async start(): Promise<void> {
    const { sessionId } = await this.api.openVideo(this.deviceId);
    this.sessionId = sessionId;
    // Stopped while the session was being opened: end it at once, and never touch the element.
    if (this.stopRequested) {
      void this.api.closeVideo(sessionId).catch(() => undefined);
      this.finish('closed by the viewer');
      return;
    }
    this.peer = new ViewerPeer({
      createPeerConnection: (config) => new RTCPeerConnection(config) as unknown as PeerConnectionLike,
      send: (message) => this.api.sendVideoSignal(sessionId, message),
      onTrack: (track) => {
        // Video and the camera's sound (when it sends any) play in one element, from one stream.
        const media = track as MediaStreamTrack;
        if (this.stream) {
          this.stream.addTrack(media);
        } else {
          this.stream = new MediaStream([media]);
          this.video.srcObject = this.stream;
          void this.video.play().catch(() => undefined);
        }
        if (media.kind === 'audio') this.options.onAudio?.();
        else this.watchFrames();
      },
      onClose: (reason) => this.finish(reason),
      ...(this.options.stream ? { stream: this.options.stream } : {}),
    });
    this.offs.push(
      this.api.on('videoSignal', ({ sessionId: id, message }) => {
        if (id === sessionId) void this.peer?.receive(message).catch((err: unknown) => this.peer?.close(`signaling failed: ${(err as Error).message}`));
      }),
      this.api.on('videoClosed', ({ sessionId: id, reason }) => {
        if (id === sessionId) this.peer?.close(reason, false);
      }),
    );
    await this.peer.start();
    if (!this.closed) this.statsTimer = window.setInterval(() => void this.updateStats(), 1000);
  }

  /** Switches to the camera's main or sub stream (same session; a camera without a sub stream stays on main). */
  selectStream(stream: VideoStreamChoice): void {
    this.options.stream = stream;
    void this.peer?.selectStream(stream).catch(() => undefined);
  }

  /** The current picture as a PNG (for snapshots). */
  async snapshotPng(): Promise<Blob> {
    const { videoWidth: w, videoHeight: h } = this.video;
    if (!w || !h) throw new Error('no picture yet');
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    canvas.getContext('2d')!.drawImage(this.video, 0, 0);
    return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('could not encode the picture'))), 'image/png'));
  }

  stop(): void {
    this.stopRequested = true;
    this.peer?.close('closed by the viewer');
    if (this.sessionId) void this.api.closeVideo(this.sessionId).catch(() => undefined);
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.offs) off();
    if (this.statsTimer !== undefined) window.clearInterval(this.statsTimer);
    // Another session may show in the same element by now: clear only our own picture.
    if (this.stream !== undefined && this.video.srcObject === this.stream) this.video.srcObject = null;
    this.options.onClosed?.(reason);
  }

  private watchFrames(): void {
    const onFrame = () => {
      if (this.closed) return;
      this.frames++;
      if (this.firstFrameAt === undefined) this.firstFrameAt = performance.now();
      // Read the pattern's time strip every 10th frame (cheap enough, and enough for a median).
      if (this.frames % 10 === 1) this.readLatency();
      this.video.requestVideoFrameCallback(onFrame);
    };
    this.video.requestVideoFrameCallback(onFrame);
  }

  private readLatency(): void {
    const { videoWidth: w, videoHeight: h } = this.video;
    if (!w || !h) return;
    this.canvas.width = w;
    this.canvas.height = h;
    const ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) return;
    ctx.drawImage(this.video, 0, 0);
    const stamp = decodeRgba(ctx.getImageData(0, 0, w, h).data, w, h);
    if (stamp) this.latency = Date.now() - stamp.captureTimeMs;
  }

  private async updateStats(): Promise<void> {
    const pc = this.peer?.peerConnection as unknown as RTCPeerConnection | undefined;
    let bytes = this.lastBytes;
    if (pc) {
      const report = await pc.getStats();
      report.forEach((s: { type: string; kind?: string; bytesReceived?: number }) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') bytes = s.bytesReceived ?? bytes;
      });
    }
    const now = performance.now();
    const seconds = (now - this.lastStatsAt) / 1000;
    this.current = {
      frames: this.frames,
      fps: Math.round(((this.frames - this.lastFrames) / seconds) * 10) / 10,
      bitrateKbps: Math.round(((bytes - this.lastBytes) * 8) / 1000 / seconds),
      latencyMs: this.latency,
      width: this.video.videoWidth,
      height: this.video.videoHeight,
      firstFrameMs: this.firstFrameAt === undefined ? null : Math.round(this.firstFrameAt - this.startedAt),
    };
    this.lastBytes = bytes;
    this.lastFrames = this.frames;
    this.lastStatsAt = now;
    this.options.onStats?.(this.current);
  }
}
