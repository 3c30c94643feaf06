/**
 * A test page for the browser path: the real renderer modules (bridge client and live video)
 * without the React shell, so the video test does not depend on the UI's layout.
 */
import { connectBridge, takeTokenFromLocation } from '../../src/renderer/api/bridge-client';
import { LiveVideo } from '../../src/renderer/video/live-video';
import { watchStreamChoice } from '../../src/renderer/live/stream-choice';

declare global {
  interface Window {
    lancamTest: {
      ready: Promise<void>;
      devices(): Promise<{ deviceId: string; paired: boolean; status: string }[]>;
      start(deviceId: string, stream?: 'main' | 'sub'): Promise<void>;
      /** Main/sub by the <video> element's rendered size, as the desktop tile does (stream-choice.ts). */
      startAuto(deviceId: string): Promise<void>;
      selectStream(stream: 'main' | 'sub'): void;
      /** Streams asked for by startAuto's size watch, in order. */
      autoChoices(): string[];
      /** Date.now() of the first picture, and of every keyframe Chromium decoded (polled every 20 ms). */
      timeline(): { firstFrameAt: number | undefined; keyframesAt: number[] };
      peerCount(): number;
      stats(): { frames: number; fps: number; latencyMs: number | null; width: number; height: number; firstFrameMs: number | null } | undefined;
      closedReason(): string | undefined;
      stop(): void;
      /** What Chromium's own stats say about the received video (codec, size, keyframes). */
      inbound(): Promise<{ mimeType: string | undefined; frameWidth: number; frameHeight: number; framesDecoded: number; keyFramesDecoded: number; pliCount: number; nackCount: number; jitterBufferDelay: number; jitterBufferEmittedCount: number; packetsLost: number; ssrc: number } | undefined>;
    };
  }
}

// Every peer connection the page makes is remembered, so the test can read Chromium's own stats.
const peers: RTCPeerConnection[] = [];
const NativePeerConnection = window.RTCPeerConnection;
window.RTCPeerConnection = class extends NativePeerConnection {
  constructor(config?: RTCConfiguration) {
    super(config);
    peers.push(this);
  }
};

let live: LiveVideo | undefined;
let closedReason: string | undefined;
const token = takeTokenFromLocation();
const apiPromise = token ? connectBridge(token) : Promise.reject(new Error('no token in the address'));

let firstFrameAt: number | undefined;
const keyframesAt: number[] = [];
const autoChoices: string[] = [];
function watchTimeline(video: HTMLVideoElement): void {
  video.requestVideoFrameCallback(() => (firstFrameAt ??= Date.now()));
  let keys = 0;
  const poll = async (): Promise<void> => {
    const inbound = await window.lancamTest.inbound().catch(() => undefined);
    const now = Date.now();
    for (; inbound && keys < inbound.keyFramesDecoded; keys++) keyframesAt.push(now);
    window.setTimeout(() => void poll(), 20);
  };
  void poll();
}

window.lancamTest = {
  ready: apiPromise.then(() => undefined),
  devices: async () => (await apiPromise).listDevices(),
  start: async (deviceId, stream) => {
    const video = document.querySelector('video')!;
    live = new LiveVideo(await apiPromise, deviceId, video, { onClosed: (reason) => (closedReason = reason), ...(stream ? { stream } : {}) });
    watchTimeline(video);
    await live.start();
  },
  startAuto: async (deviceId) => {
    const video = document.querySelector('video')!;
    const api = await apiPromise;
    let stream: 'main' | 'sub' = 'sub';
    watchStreamChoice(video, (choice) => {
      autoChoices.push(choice);
      stream = choice;
      live?.selectStream(choice);
    });
    live = new LiveVideo(api, deviceId, video, { onClosed: (reason) => (closedReason = reason), stream });
    watchTimeline(video);
    await live.start();
  },
  selectStream: (stream) => live?.selectStream(stream),
  autoChoices: () => [...autoChoices],
  timeline: () => ({ firstFrameAt, keyframesAt: [...keyframesAt] }),
  peerCount: () => peers.length,
  stats: () => live?.stats,
  closedReason: () => closedReason,
  stop: () => live?.stop(),
  inbound: async () => {
    const pc = peers.at(-1);
    if (!pc) return undefined;
    const report = await pc.getStats();
    let inbound: (RTCInboundRtpStreamStats & { keyFramesDecoded?: number; codecId?: string }) | undefined;
    report.forEach((s: RTCStats) => {
      if (s.type === 'inbound-rtp' && (s as RTCInboundRtpStreamStats).kind === 'video') inbound = s as RTCInboundRtpStreamStats;
    });
    if (!inbound) return undefined;
    const codec = inbound.codecId ? (report.get(inbound.codecId) as { mimeType?: string } | undefined) : undefined;
    return {
      mimeType: codec?.mimeType,
      frameWidth: inbound.frameWidth ?? 0,
      frameHeight: inbound.frameHeight ?? 0,
      framesDecoded: inbound.framesDecoded ?? 0,
      keyFramesDecoded: inbound.keyFramesDecoded ?? 0,
      pliCount: inbound.pliCount ?? 0,
      nackCount: inbound.nackCount ?? 0,
      jitterBufferDelay: (inbound as { jitterBufferDelay?: number }).jitterBufferDelay ?? 0,
      jitterBufferEmittedCount: (inbound as { jitterBufferEmittedCount?: number }).jitterBufferEmittedCount ?? 0,
      packetsLost: inbound.packetsLost ?? 0,
      ssrc: inbound.ssrc,
    };
  },
};
