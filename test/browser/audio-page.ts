/**
 * A test page for sound in the browser path: the real renderer modules (bridge client and live
 * video) without the React shell. It reads what Chromium itself says about the received audio
 * (getStats: codec, audioLevel, totalAudioEnergy) and measures the sound with a WebAudio
 * AnalyserNode on the received track. `start(id, { audio: false })` makes a viewer that refuses
 * the audio (its answer rejects the audio m-line), to show it still gets the video.
 */
import { connectBridge, takeTokenFromLocation } from '../../src/renderer/api/bridge-client';
import { LiveVideo } from '../../src/renderer/video/live-video';
import { measureAvOffsets } from './av-offset-probe';

export interface AudioInbound {
  mimeType: string | undefined;
  packetsReceived: number;
  audioLevel: number;
  totalAudioEnergy: number;
  totalSamplesReceived: number;
}

declare global {
  interface Window {
    lancamAudio: {
      ready: Promise<void>;
      start(deviceId: string, options?: { audio?: boolean }): Promise<void>;
      stats(): { frames: number; latencyMs: number | null } | undefined;
      hasAudio(): boolean;
      stop(): void;
      /** Unmutes the element (Chromium's audioLevel/totalAudioEnergy measure what is played out). */
      unmute(): void;
      videoCodec(): Promise<string | undefined>;
      audioInbound(): Promise<AudioInbound | undefined>;
      /** Peak RMS (0..1) the analyser saw on the received track over `ms`. */
      analyse(ms: number): Promise<number>;
      /**
       * A/V offset as Chromium delivers the two: each beep's onset as the received track reaches
       * WebAudio, against the presentation time of the frame that shows the beep's whole second
       * (read from the pattern's pixels). Positive: sound after picture. Estimates, in ms.
       */
      avOffsets(ms: number): Promise<number[]>;
      /** RTCP sender reports Chromium got per kind (remote-outbound-rtp reportsSent). */
      senderReports(): Promise<{ audio: number; video: number }>;
      /** Transceivers of the peer connection: kind, direction, currentDirection. */
      transceivers(): { kind: string; currentDirection: string | null }[];
    };
  }
}

let refuseAudio = false;
const peers: RTCPeerConnection[] = [];
const NativePeerConnection = window.RTCPeerConnection;
window.RTCPeerConnection = class extends NativePeerConnection {
  constructor(config?: RTCConfiguration) {
    super(config);
    peers.push(this);
    const answer = NativePeerConnection.prototype.createAnswer.bind(this) as (options?: RTCAnswerOptions) => Promise<RTCSessionDescriptionInit>;
    // A viewer that does not take sound: its answer rejects the audio m-line.
    (this as unknown as { createAnswer: (options?: RTCAnswerOptions) => Promise<RTCSessionDescriptionInit> }).createAnswer = (options) => {
      if (refuseAudio) for (const t of this.getTransceivers()) if (t.receiver.track.kind === 'audio') t.stop();
      return answer(options);
    };
  }
};

let live: LiveVideo | undefined;
const token = takeTokenFromLocation();
const apiPromise = token ? connectBridge(token) : Promise.reject(new Error('no token in the address'));

async function inboundOf(kind: 'audio' | 'video'): Promise<{ stat: Record<string, unknown>; mimeType: string | undefined } | undefined> {
  const pc = peers.at(-1);
  if (!pc) return undefined;
  const report = await pc.getStats();
  let found: Record<string, unknown> | undefined;
  report.forEach((s: Record<string, unknown>) => {
    if (s.type === 'inbound-rtp' && s.kind === kind) found = s;
  });
  if (!found) return undefined;
  const codec = typeof found.codecId === 'string' ? (report.get(found.codecId) as { mimeType?: string } | undefined) : undefined;
  return { stat: found, mimeType: codec?.mimeType };
}

window.lancamAudio = {
  ready: apiPromise.then(() => undefined),
  start: async (deviceId, options = {}) => {
    refuseAudio = options.audio === false;
    const video = document.querySelector('video')!;
    live = new LiveVideo(await apiPromise, deviceId, video);
    await live.start();
  },
  stats: () => live?.stats,
  hasAudio: () => live?.hasAudio ?? false,
  stop: () => live?.stop(),
  unmute: () => {
    document.querySelector('video')!.muted = false;
  },
  videoCodec: async () => (await inboundOf('video'))?.mimeType,
  audioInbound: async () => {
    const found = await inboundOf('audio');
    if (!found) return undefined;
    const s = found.stat;
    return {
      mimeType: found.mimeType,
      packetsReceived: Number(s.packetsReceived ?? 0),
      audioLevel: Number(s.audioLevel ?? 0),
      totalAudioEnergy: Number(s.totalAudioEnergy ?? 0),
      totalSamplesReceived: Number(s.totalSamplesReceived ?? 0),
    };
  },
  analyse: async (ms) => {
    const video = document.querySelector('video')!;
    const track = (video.srcObject as MediaStream | null)?.getAudioTracks()[0];
    if (!track) return 0;
    const ctx = new AudioContext();
    await ctx.resume();
    const source = ctx.createMediaStreamSource(new MediaStream([track]));
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    source.connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    let peak = 0;
    const until = performance.now() + ms;
    while (performance.now() < until) {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      peak = Math.max(peak, Math.sqrt(sum / buf.length));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await ctx.close();
    return peak;
  },
  avOffsets: async (ms) => (await measureAvOffsets(document.querySelector('video')!, ms)).offsets,
  senderReports: async () => {
    const out = { audio: 0, video: 0 };
    const report = await peers.at(-1)?.getStats();
    report?.forEach((s: Record<string, unknown>) => {
      if (s.type === 'remote-outbound-rtp' && (s.kind === 'audio' || s.kind === 'video')) out[s.kind] = Number(s.reportsSent ?? 0);
    });
    return out;
  },
  transceivers: () => (peers.at(-1)?.getTransceivers() ?? []).map((t) => ({ kind: t.receiver.track.kind, currentDirection: t.currentDirection })),
};
