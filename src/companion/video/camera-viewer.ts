/**
 * Watching a camera from Node (the CLI, tests, benchmarks): WebRTC signaled over the device
 * session, frames delivered as I420 with the time they arrived. The camera's offer decides the
 * receiver: H.264 only (the device's default stack) by node-datachannel and one ffmpeg decoder
 * (h264-receiver.ts); VP8 (`--video-stack vp8`) is received and decoded by @roamhq/wrtc.
 * Measures what `lancam watch` reports: time to first frame, frame rate, bitrate, dropped frames, round-trip
 * time, and glass-to-glass latency read from the test pattern's pixels.
 */
import { randomBytes } from 'node:crypto';
import wrtc from '@roamhq/wrtc';
import { lanTransport, type SignalingTransport } from './signaling-transport';
import { ViewerPeer, type PeerConnectionLike } from '../../shared/video/viewer-peer';
import type { IceServer } from '../../shared/protocol/webrtc-api';
import { H264Track, NdcPeerConnection, loadNdc, offersH264Only } from './h264-receiver';
import { OpusAudioTrack, type AudioStats } from './audio-receiver';
import { decodeI420 } from '../../shared/video/test-pattern';
import { CompanionError } from '../errors';
import { localBindAddress } from '../../net/local-address';
import type { DeviceSession } from '../device-session';

export { lanTransport, type SignalingTransport };

export interface I420Frame {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface ViewerOptions {
  /** Only use WebRTC candidates with these addresses (empty: all). */
  iceAddresses?: string[];
  /** Called for every decoded frame; the frame's buffer is only valid during the call. */
  onFrame?: (frame: I420Frame, receivedAtMs: number) => void;
  /** The camera's main (default) or sub stream. */
  stream?: 'main' | 'sub';
}

export interface WatchStats {
  timeToFirstFrameMs: number | null;
  fps: number;
  bitrateKbps: number;
  framesDropped: number;
  rttMs: number | null;
  glassToGlassMs: number | null;
  width: number;
  height: number;
  frames: number;
  /** The camera's sound (H.264 stack): codec, level, and the A/V offset from the pattern's beeps; null without audio. */
  audio: AudioStats | null;
}

interface Sink {
  stop(): void;
}

interface WrtcSink extends Sink {
  onframe: ((event: { frame: I420Frame }) => void) | null;
}

/**
 * The peer connection ViewerPeer talks to, made when the camera's offer arrives: node-datachannel
 * for an H.264-only offer, @roamhq/wrtc otherwise. Handlers set before then are forwarded.
 */
class OfferDrivenPeerConnection implements PeerConnectionLike {
  onicecandidate: PeerConnectionLike['onicecandidate'] = null;
  ontrack: PeerConnectionLike['ontrack'] = null;
  onconnectionstatechange: (() => void) | null = null;
  private inner: PeerConnectionLike | undefined;
  private closed = false;
  /** Settles once the first remote description is applied: candidates that come sooner wait for it. */
  private readonly ready: Promise<void>;
  private settleReady!: (error?: Error) => void;

  constructor(
    private readonly iceServers: IceServer[],
    private readonly iceAddresses: readonly string[],
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (error) => (error ? reject(error) : resolve());
    });
    this.ready.catch(() => undefined);
  }

  get signalingState(): string {
    return this.inner?.signalingState ?? 'stable';
  }

  get connectionState(): string {
    return this.inner?.connectionState ?? (this.closed ? 'closed' : 'new');
  }

  async setRemoteDescription(description: { type: 'offer' | 'answer' | 'pranswer' | 'rollback'; sdp?: string }): Promise<void> {
    if (!this.inner) {
      const h264 = description.type === 'offer' && description.sdp !== undefined && offersH264Only(description.sdp);
      const bindAddress = localBindAddress(this.iceAddresses);
      const inner = h264 ? new NdcPeerConnection(await loadNdc(), this.iceServers, bindAddress) : (new wrtc.RTCPeerConnection({ iceServers: this.iceServers }) as unknown as PeerConnectionLike);
      if (this.closed) {
        inner.close();
        throw new Error('the viewer closed');
      }
      inner.onicecandidate = (e) => this.onicecandidate?.(e);
      inner.ontrack = (e) => this.ontrack?.(e);
      inner.onconnectionstatechange = () => this.onconnectionstatechange?.();
      this.inner = inner;
      try {
        await inner.setRemoteDescription(description);
      } catch (err) {
        this.settleReady(err as Error);
        throw err;
      }
      this.settleReady();
      return;
    }
    await this.inner.setRemoteDescription(description);
  }

  setLocalDescription(description: { type: 'offer' | 'answer' | 'pranswer' | 'rollback'; sdp?: string }): Promise<void> {
    return this.need().setLocalDescription(description);
  }

  createAnswer(): Promise<{ type: 'offer' | 'answer' | 'pranswer' | 'rollback'; sdp?: string }> {
    return this.need().createAnswer();
  }

  async addIceCandidate(candidate: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null }): Promise<void> {
    await this.ready;
    await this.need().addIceCandidate(candidate);
  }

  async getStats(): Promise<unknown> {
    return this.inner ? this.inner.getStats() : new Map();
  }

  close(): void {
    this.closed = true;
    this.settleReady(new Error('the viewer closed'));
    this.inner?.close();
  }

  private need(): PeerConnectionLike {
    if (!this.inner) throw new Error('the camera has not sent its offer yet');
    return this.inner;
  }
}

export class CameraViewer {
  private readonly sessionId = randomBytes(8).toString('base64url');
  private readonly peer: ViewerPeer;
  private sink: Sink | undefined;
  private readonly startedAt = performance.now();
  private firstFrameAt: number | undefined;
  private frames = 0;
  private width = 0;
  private height = 0;
  private lastFrameNumber: number | undefined;
  private patternGaps = 0;
  private readonly latencies: number[] = [];
  private readonly frameWaiters: ((frame: I420Frame) => void)[] = [];
  private closeReason: string | undefined;
  private readonly closeWaiters: ((reason: string) => void)[] = [];
  private readonly offEvent: () => void;
  private audio: OpusAudioTrack | undefined;

  private constructor(
    private readonly transport: SignalingTransport,
    private readonly options: ViewerOptions,
  ) {
    this.peer = new ViewerPeer({
      createPeerConnection: (config) => new OfferDrivenPeerConnection(config.iceServers, options.iceAddresses ?? []),
      send: (message) => this.transport.send(this.sessionId, message),
      iceAddresses: options.iceAddresses ?? [],
      onTrack: (track) => this.attach(track),
      onClose: (reason) => this.onClosed(reason),
      ...(options.stream ? { stream: options.stream } : {}),
    });
    this.offEvent = transport.subscribe(
      this.sessionId,
      (message) => this.peer.receive(message).catch((err: unknown) => this.peer.close(`signaling failed: ${(err as Error).message}`)),
      (reason) => this.peer.close(reason, false),
    );
  }

  /**
   * Asks the camera for video over a LAN session or another transport; resolves once the camera
   * accepted (frames follow).
   */
  static async open(via: DeviceSession | SignalingTransport, options: ViewerOptions = {}): Promise<CameraViewer> {
    const viewer = new CameraViewer('send' in via ? via : lanTransport(via), options);
    try {
      await viewer.peer.start();
    } catch (err) {
      viewer.offEvent();
      throw err;
    }
    return viewer;
  }

  get closedReason(): string | undefined {
    return this.closeReason;
  }

  /** The next decoded frame (a copy), or an error after `timeoutMs` or when the session ends. */
  nextFrame(timeoutMs: number): Promise<I420Frame> {
    return new Promise((resolve, reject) => {
      if (this.closeReason) return reject(new CompanionError('video-closed', `video ended: ${this.closeReason}`));
      const timer = setTimeout(() => {
        remove();
        reject(new CompanionError('timeout', `no video frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const onClose = (reason: string) => {
        clearTimeout(timer);
        remove();
        reject(new CompanionError('video-closed', `video ended: ${reason}`));
      };
      const waiter = (frame: I420Frame) => {
        clearTimeout(timer);
        remove();
        resolve({ width: frame.width, height: frame.height, data: Uint8Array.from(frame.data) });
      };
      const remove = () => {
        this.frameWaiters.splice(this.frameWaiters.indexOf(waiter) >>> 0, 1);
        this.closeWaiters.splice(this.closeWaiters.indexOf(onClose) >>> 0, 1);
      };
      this.frameWaiters.push(waiter);
      this.closeWaiters.push(onClose);
    });
  }

  /** Resolves with the reason when the session ends (revoked, camera gone, closed). */
  closed(): Promise<string> {
    if (this.closeReason) return Promise.resolve(this.closeReason);
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  /** Statistics since the session started. */
  async stats(): Promise<WatchStats> {
    const elapsed = this.firstFrameAt === undefined ? 0 : (performance.now() - this.firstFrameAt) / 1000;
    const report = await this.rawStats();
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      timeToFirstFrameMs: this.firstFrameAt === undefined ? null : round(this.firstFrameAt - this.startedAt),
      fps: elapsed > 0 ? round((this.frames - 1) / elapsed) : 0,
      bitrateKbps: elapsed > 0 ? round((report.bytesReceived * 8) / 1000 / elapsed) : 0,
      framesDropped: Math.max(report.framesDropped, this.patternGaps),
      rttMs: report.rttMs,
      glassToGlassMs: sorted.length ? round(sorted[Math.floor(sorted.length / 2)]!) : null,
      width: this.width,
      height: this.height,
      frames: this.frames,
      audio: this.audio ? this.audio.stats() : null,
    };
  }

  close(): void {
    this.peer.close();
  }

  private attach(track: unknown): void {
    if (track instanceof OpusAudioTrack) {
      this.audio = track;
      // The video's latency now: the median of the last few frames read from the pattern.
      track.videoLatencyMs = () => {
        const recent = this.latencies.slice(-30).sort((a, b) => a - b);
        return recent.length ? recent[recent.length >> 1]! : null;
      };
      return;
    }
    if (track instanceof H264Track) {
      track.onpicture = (picture) => this.onFrame(picture);
      this.sink = track;
      return;
    }
    const sink = new wrtc.nonstandard.RTCVideoSink(track as never) as unknown as WrtcSink;
    this.sink = sink;
    sink.onframe = ({ frame }) => this.onFrame(frame);
  }

  private onFrame(frame: I420Frame): void {
    const now = Date.now();
    if (this.firstFrameAt === undefined) this.firstFrameAt = performance.now();
    this.frames++;
    this.width = frame.width;
    this.height = frame.height;
    const stamp = decodeI420(frame);
    if (stamp) {
      this.latencies.push(now - stamp.captureTimeMs);
      if (this.latencies.length > 10_000) this.latencies.shift();
      if (this.lastFrameNumber !== undefined && stamp.frameNumber > this.lastFrameNumber + 1) this.patternGaps += stamp.frameNumber - this.lastFrameNumber - 1;
      this.lastFrameNumber = stamp.frameNumber;
    }
    this.options.onFrame?.(frame, now);
    for (const waiter of this.frameWaiters.slice()) waiter(frame);
  }

  private onClosed(reason: string): void {
    this.closeReason = reason;
    this.sink?.stop();
    this.audio?.stop();
    this.offEvent();
    for (const waiter of this.closeWaiters.splice(0)) waiter(reason);
  }

  private async rawStats(): Promise<{ bytesReceived: number; framesDropped: number; rttMs: number | null }> {
    const out = { bytesReceived: 0, framesDropped: 0, rttMs: null as number | null };
    const pc = this.peer.peerConnection;
    if (!pc) return out;
    try {
      const report = (await pc.getStats()) as Map<string, Record<string, unknown>>;
      for (const stat of report.values()) {
        if (stat.type === 'inbound-rtp' && stat.kind === 'video') {
          out.bytesReceived += Number(stat.bytesReceived ?? 0);
          out.framesDropped += Number(stat.framesDropped ?? 0);
        }
        if (stat.type === 'candidate-pair' && stat.nominated && typeof stat.currentRoundTripTime === 'number') {
          out.rttMs = round(stat.currentRoundTripTime * 1000);
        }
      }
    } catch {
      // Stats are best effort; the frame counts above do not depend on them.
    }
    return out;
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
