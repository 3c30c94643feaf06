/**
 * A test page for the browser path: the real renderer modules (bridge client and live video)
 * without the React shell, so the video test does not depend on the UI's layout.
 */
import { connectBridge, takeTokenFromLocation } from '../../src/renderer/api/bridge-client';
import { LiveVideo } from '../../src/renderer/video/live-video';

declare global {
  interface Window {
    lancamTest: {
      ready: Promise<void>;
      devices(): Promise<{ deviceId: string; paired: boolean; status: string }[]>;
      start(deviceId: string): Promise<void>;
      stats(): { frames: number; fps: number; latencyMs: number | null; width: number; height: number; firstFrameMs: number | null } | undefined;
      closedReason(): string | undefined;
      stop(): void;
      /** What Chromium's own stats say about the received video (codec, size, keyframes). */
      inbound(): Promise<{ mimeType: string | undefined; frameWidth: number; frameHeight: number; framesDecoded: number; keyFramesDecoded: number; pliCount: number; nackCount: number } | undefined>;
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

window.lancamTest = {
  ready: apiPromise.then(() => undefined),
  devices: async () => (await apiPromise).listDevices(),
  start: async (deviceId) => {
    const video = document.querySelector('video')!;
    live = new LiveVideo(await apiPromise, deviceId, video, { onClosed: (reason) => (closedReason = reason) });
    await live.start();
  },
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
    };
  },
};
