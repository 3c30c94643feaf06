/**
 * The page of the "chromium" benchmark (bench/chromium.ts): the real renderer modules (bridge
 * client and LiveVideo) without the React shell, plus the timing. Bundled with esbuild and served
 * by `lancam ui` inside the benchmark's network namespace; type-checked by tsconfig.web.json.
 */
import type { ChromiumAvOffset, ChromiumBenchPage, ChromiumBenchWindow, ChromiumFirstFrame, ChromiumWatch } from '../../bench/chromium-page-api';
import { connectBridge, takeTokenFromLocation } from '../../src/renderer/api/bridge-client';
import { LiveVideo } from '../../src/renderer/video/live-video';
import type { LancamApi } from '../../src/shared/ui/api';
import { decodeRgba } from '../../src/shared/video/test-pattern';
import { measureAvOffsets } from './av-offset-probe';

const token = takeTokenFromLocation();
const apiPromise = token ? connectBridge(token) : Promise.reject(new Error('no token in the address'));

// Every RTCPeerConnection LiveVideo makes is reported here, for the "connected" phase.
let onPeerConnection: ((pc: RTCPeerConnection) => void) | undefined;
const NativePeerConnection = window.RTCPeerConnection;
class ObservedPeerConnection extends NativePeerConnection {
  constructor(config?: RTCConfiguration) {
    super(config);
    onPeerConnection?.(this);
  }
}
window.RTCPeerConnection = ObservedPeerConnection;

const canvas = document.createElement('canvas');

/** The pattern stamp (frame number, capture time) of the picture the element shows now. */
function readStamp(video: HTMLVideoElement): { frameNumber: number; captureTimeMs: number } | undefined {
  const { videoWidth: w, videoHeight: h } = video;
  if (!w || !h) return undefined;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return undefined;
  ctx.drawImage(video, 0, 0);
  return decodeRgba(ctx.getImageData(0, 0, w, h).data, w, h);
}

function freshVideo(): HTMLVideoElement {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.autoplay = true;
  video.width = 640;
  video.height = 480;
  document.body.append(video);
  return video;
}

function timeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: number | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_resolve, reject) => {
      timer = window.setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => window.clearTimeout(timer));
}

/** Stops the LiveVideo and waits (bounded) until it reports itself closed. */
async function stopLive(live: LiveVideo, closed: Promise<string>): Promise<string | null> {
  live.stop();
  return timeout(closed, 3000, 'not closed').catch(() => null);
}

async function firstFrame(deviceId: string, timeoutMs: number): Promise<ChromiumFirstFrame> {
  const api = await apiPromise;
  const video = freshVideo();
  let sessionOpenedAt = NaN;
  let connectedAt: number | null = null;
  const timedApi: LancamApi = {
    ...api,
    openVideo: async (id) => {
      const result = await api.openVideo(id);
      sessionOpenedAt = performance.now();
      return result;
    },
  };
  onPeerConnection = (pc) =>
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected' && connectedAt === null) connectedAt = performance.now();
    });
  const first = new Promise<{ at: number; metadata: VideoFrameCallbackMetadata }>((resolve) =>
    video.requestVideoFrameCallback((_now, metadata) => resolve({ at: performance.now(), metadata })),
  );
  let resolveClosed!: (reason: string) => void;
  const closed = new Promise<string>((resolve) => (resolveClosed = resolve));
  const live = new LiveVideo(timedApi, deviceId, video, { onClosed: (reason) => resolveClosed(reason) });
  try {
    const t0 = performance.now();
    await timeout(live.start(), timeoutMs, 'LiveVideo.start() did not resolve');
    const startedAt = performance.now();
    const frame = await timeout(first, timeoutMs, 'no frame in the video element');
    const stamp = readStamp(video);
    const closedReason = await stopLive(live, closed);
    const since = (at: number | null | undefined) => (at === null || at === undefined ? null : at - t0);
    return {
      firstFrame: frame.at - t0,
      sessionOpened: sessionOpenedAt - t0,
      started: startedAt - t0,
      connected: since(connectedAt),
      received: since(frame.metadata.receiveTime),
      presented: since(frame.metadata.presentationTime),
      width: frame.metadata.width,
      height: frame.metadata.height,
      firstFrameNumber: stamp?.frameNumber ?? null,
      closedReason,
    };
  } catch (err) {
    await stopLive(live, closed);
    throw err;
  } finally {
    onPeerConnection = undefined;
    video.remove();
  }
}

/** The negotiated video codec (mime type and fmtp line). */
async function inboundCodec(pc: RTCPeerConnection): Promise<string | null> {
  const entries: Record<string, unknown>[] = [];
  (await pc.getStats()).forEach((s: Record<string, unknown>) => entries.push(s));
  const inbound = entries.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
  const codec = inbound && entries.find((s) => s.id === inbound.codecId);
  const fmtp = typeof codec?.sdpFmtpLine === 'string' && codec.sdpFmtpLine ? ` ${codec.sdpFmtpLine}` : '';
  return typeof codec?.mimeType === 'string' ? `${codec.mimeType}${fmtp}` : null;
}

async function watch(deviceId: string, settleMs: number, windowMs: number): Promise<ChromiumWatch> {
  const api = await apiPromise;
  const video = freshVideo();
  const result: ChromiumWatch = { presentedLatencyMs: [], receivedLatencyMs: [], liveVideoLatencyMs: [], frames: 0, windowMs, stats: null, codec: null };
  let peer: RTCPeerConnection | undefined;
  onPeerConnection = (pc) => (peer = pc);
  let measuring = false;
  let shown = 0;
  let resolveClosed!: (reason: string) => void;
  const closed = new Promise<string>((resolve) => (resolveClosed = resolve));
  const live = new LiveVideo(api, deviceId, video, {
    onClosed: (reason) => resolveClosed(reason),
    onStats: (stats) => {
      if (measuring && stats.latencyMs !== null) result.liveVideoLatencyMs.push(stats.latencyMs);
    },
  });
  let stopped = false;
  const onFrame = (_now: number, metadata: VideoFrameCallbackMetadata): void => {
    if (stopped) return;
    const presentedAt = Date.now();
    if (measuring) {
      result.frames++;
      if (shown++ % 2 === 0) {
        const stamp = readStamp(video);
        if (stamp) {
          result.presentedLatencyMs.push(presentedAt - stamp.captureTimeMs);
          if (metadata.receiveTime !== undefined) result.receivedLatencyMs.push(performance.timeOrigin + metadata.receiveTime - stamp.captureTimeMs);
        }
      }
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  try {
    await timeout(live.start(), 10_000, 'LiveVideo.start() did not resolve');
    await new Promise((resolve) => window.setTimeout(resolve, settleMs));
    measuring = true;
    await new Promise((resolve) => window.setTimeout(resolve, windowMs));
    measuring = false;
    const s = live.stats;
    result.stats = { frames: s.frames, fps: s.fps, bitrateKbps: s.bitrateKbps, width: s.width, height: s.height };
    if (peer) result.codec = await inboundCodec(peer);
    return result;
  } finally {
    onPeerConnection = undefined;
    stopped = true;
    await stopLive(live, closed);
    video.remove();
  }
}

/** inbound-rtp of `kind`: framesDecoded and the codec's mime type. */
async function inbound(pc: RTCPeerConnection, kind: 'audio' | 'video'): Promise<{ framesDecoded: number | null; mimeType: string | null; jitterBufferDelay: number; jitterBufferEmittedCount: number }> {
  const entries: Record<string, unknown>[] = [];
  (await pc.getStats()).forEach((s: Record<string, unknown>) => entries.push(s));
  const found = entries.find((s) => s.type === 'inbound-rtp' && s.kind === kind);
  const codec = found && entries.find((s) => s.id === found.codecId);
  const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
  return { framesDecoded: typeof found?.framesDecoded === 'number' ? found.framesDecoded : null, mimeType: typeof codec?.mimeType === 'string' ? codec.mimeType : null, jitterBufferDelay: num(found?.jitterBufferDelay), jitterBufferEmittedCount: num(found?.jitterBufferEmittedCount) };
}

async function avOffset(deviceId: string, settleMs: number, windowMs: number): Promise<ChromiumAvOffset> {
  const api = await apiPromise;
  const video = freshVideo();
  // Unmuted, as a viewer who turned the sound on (Chromium then plays the track out).
  video.muted = false;
  let peer: RTCPeerConnection | undefined;
  onPeerConnection = (pc) => (peer = pc);
  let resolveClosed!: (reason: string) => void;
  const closed = new Promise<string>((resolve) => (resolveClosed = resolve));
  const live = new LiveVideo(api, deviceId, video, { onClosed: (reason) => resolveClosed(reason) });
  try {
    await timeout(live.start(), 10_000, 'LiveVideo.start() did not resolve');
    await new Promise((resolve) => window.setTimeout(resolve, settleMs));
    const both = async () => (peer ? { video: await inbound(peer, 'video'), audio: await inbound(peer, 'audio') } : null);
    const before = await both();
    const measured = await measureAvOffsets(video, windowMs);
    const after = await both();
    const framesDecoded = before?.video.framesDecoded != null && after?.video.framesDecoded != null ? after.video.framesDecoded - before.video.framesDecoded : null;
    // Mean jitter buffer delay over the window (Chromium's lip-sync raises the leading stream's).
    const jb = (kind: 'audio' | 'video'): number | null => {
      if (!before || !after) return null;
      const count = after[kind].jitterBufferEmittedCount - before[kind].jitterBufferEmittedCount;
      return count > 0 ? Math.round(((after[kind].jitterBufferDelay - before[kind].jitterBufferDelay) / count) * 10000) / 10 : null;
    };
    return { ...measured, windowMs, framesDecoded, audioCodec: after?.audio.mimeType ?? null, jitterBufferMs: { audio: jb('audio'), video: jb('video') } };
  } finally {
    onPeerConnection = undefined;
    await stopLive(live, closed);
    video.remove();
  }
}

const page: ChromiumBenchPage = {
  ready: apiPromise.then(() => undefined),
  devices: async () => (await apiPromise).listDevices(),
  firstFrame,
  watch,
  avOffset,
};
(globalThis as unknown as ChromiumBenchWindow).lancamBench = page;
