/**
 * The test pattern through a real encoder: two @roamhq/wrtc peer connections in this process,
 * rendered 320x240 frames in, decoded frames out, and the strip read back from the pixels.
 *
 * Network safety (ARCHITECTURE.md): `iceServers: []`, and the only candidates exchanged are UDP
 * host candidates on 127.0.0.1 (checked field by field, not by substring); the descriptions are
 * exchanged as createOffer/createAnswer return them (before gathering, so without candidates)
 * and any a=candidate line is stripped anyway. Nothing is sent anywhere but loopback.
 */
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, it } from 'vitest';
import type { I420Frame } from '../../../src/shared/video/i420';
import { decodeI420, patternMatchScore, TestPattern, type PatternStamp } from '../../../src/shared/video/test-pattern';

const { RTCPeerConnection, nonstandard } = wrtc;

// wrtc's declarations lean on the DOM lib, which this Node project does not load: the few shapes
// used here, spelled out.
type PeerConnection = InstanceType<typeof RTCPeerConnection>;
type SdpType = 'offer' | 'answer' | 'pranswer' | 'rollback';
interface IceCandidateLike {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

const WIDTH = 320;
const HEIGHT = 240;
const FPS = 30;

/** `candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...` */
function isLoopbackUdpHost(candidate: string): boolean {
  const fields = candidate.replace(/^candidate:/, '').split(' ');
  return fields[2]?.toLowerCase() === 'udp' && fields[4] === '127.0.0.1' && fields[6] === 'typ' && fields[7] === 'host';
}

function withoutCandidates(description: { type: SdpType; sdp?: string }): { type: SdpType; sdp: string } {
  const sdp = (description.sdp ?? '')
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') && !line.startsWith('a=end-of-candidates'))
    .join('\r\n');
  return { type: description.type, sdp };
}

interface Received {
  width: number;
  height: number;
  stamp: PatternStamp | undefined;
  receivedAt: number;
  score: number | undefined;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      cleanup();
    } catch {
      // keep cleaning up
    }
  }
});

/** Sends the pattern from one peer connection to another; resolves with what arrived. */
async function sendPattern(options: { frames: number; maxBitrate?: number; timeoutMs: number }): Promise<{ sent: number; received: Received[]; codec: string | undefined; kbitPerSecond: number }> {
  const sender = new RTCPeerConnection({ iceServers: [] });
  const receiver = new RTCPeerConnection({ iceServers: [] });
  cleanups.push(() => sender.close(), () => receiver.close());

  const forward = (to: PeerConnection) => (event: { candidate: IceCandidateLike | null }) => {
    const candidate = event.candidate;
    if (!candidate || !isLoopbackUdpHost(candidate.candidate)) return;
    void to.addIceCandidate(candidate).catch(() => undefined);
  };
  sender.onicecandidate = forward(receiver);
  receiver.onicecandidate = forward(sender);

  const source = new nonstandard.RTCVideoSource();
  const track = source.createTrack();
  cleanups.push(() => track.stop());
  sender.addTransceiver(track, { direction: 'sendonly' });

  const received: Received[] = [];
  const done = new Promise<void>((resolve) => {
    receiver.ontrack = (event: { track: unknown }) => {
      const sink = new nonstandard.RTCVideoSink(event.track);
      cleanups.push(() => sink.stop());
      sink.onframe = ({ frame }: { frame: I420Frame }) => {
        const receivedAt = Date.now();
        const stamp = decodeI420(frame);
        // Scoring every frame is not needed; a few spread over the run are enough.
        const score = received.length % 10 === 0 ? patternMatchScore(frame, WIDTH, HEIGHT) : undefined;
        received.push({ width: frame.width, height: frame.height, stamp, receivedAt, score });
        if (received.length >= options.frames) resolve();
      };
    };
  });

  const offer = await sender.createOffer();
  await sender.setLocalDescription(offer);
  await receiver.setRemoteDescription(withoutCandidates(offer));
  const answer = await receiver.createAnswer();
  await receiver.setLocalDescription(answer);
  // wrtc's RTCRtpSender.setParameters refuses any change (its getParameters omits the SSRC), so
  // a bitrate cap is asked for the standard way: b=AS in the receiver's answer.
  const capped = withoutCandidates(answer);
  if (options.maxBitrate !== undefined) capped.sdp = capped.sdp.replace(/(m=video[^\r]*\r\n(?:[^m][^\r]*\r\n)*?c=[^\r]*\r\n)/, `$1b=AS:${Math.round(options.maxBitrate / 1000)}\r\n`);
  await sender.setRemoteDescription(capped);

  const pattern = new TestPattern(WIDTH, HEIGHT);
  let sent = 0;
  const timer = setInterval(() => {
    source.onFrame(pattern.render(sent++, Date.now()));
  }, 1000 / FPS);
  cleanups.push(() => clearInterval(timer));

  let timeout: NodeJS.Timeout | undefined;
  await Promise.race([
    done,
    new Promise<void>((resolve) => {
      timeout = setTimeout(resolve, options.timeoutMs);
    }),
  ]);
  clearTimeout(timeout);
  clearInterval(timer);
  const inbound = await inboundVideo(receiver);
  const seconds = received.length > 1 ? (received[received.length - 1]!.receivedAt - received[0]!.receivedAt) / 1000 : NaN;
  return { sent, received, codec: inbound.codec, kbitPerSecond: Math.round((inbound.bytesReceived * 8) / 1000 / seconds) };
}

/** Bytes received and codec of the receiver's video, from getStats(). */
async function inboundVideo(pc: PeerConnection): Promise<{ bytesReceived: number; codec: string | undefined }> {
  const report = await pc.getStats();
  let bytesReceived = 0;
  let codecId: string | undefined;
  const codecs = new Map<string, string>();
  report.forEach((stat: { type: string; kind?: string; bytesReceived?: number; codecId?: string; id: string; mimeType?: string }) => {
    if (stat.type === 'inbound-rtp' && stat.kind === 'video') {
      bytesReceived += stat.bytesReceived ?? 0;
      codecId = stat.codecId;
    }
    if (stat.type === 'codec' && stat.mimeType) codecs.set(stat.id, stat.mimeType);
  });
  return { bytesReceived, codec: codecId === undefined ? undefined : codecs.get(codecId) };
}

function summarize(received: Received[]) {
  const decoded = received.filter((r) => r.stamp !== undefined);
  const latencies = decoded.map((r) => r.receivedAt - r.stamp!.captureTimeMs).sort((a, b) => a - b);
  return {
    received: received.length,
    decoded: decoded.length,
    rate: decoded.length / Math.max(1, received.length),
    sizes: [...new Set(received.map((r) => `${r.width}x${r.height}`))],
    latencyMedian: latencies[latencies.length >> 1],
    latencyMax: latencies[latencies.length - 1],
    scores: received.flatMap((r) => (r.score === undefined ? [] : [r.score])),
  };
}

function expectIncreasingAndFresh(received: Received[]): void {
  let previous = -1;
  let previousTime = -Infinity;
  for (const r of received) {
    if (!r.stamp) continue;
    expect(r.stamp.frameNumber).toBeGreaterThan(previous);
    expect(r.stamp.captureTimeMs).toBeGreaterThanOrEqual(previousTime);
    const latency = r.receivedAt - r.stamp.captureTimeMs;
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(latency).toBeLessThan(1000);
    previous = r.stamp.frameNumber;
    previousTime = r.stamp.captureTimeMs;
  }
}

describe('the test pattern over WebRTC (loopback only)', () => {
  it('decodes frame numbers and capture times from encoded, decoded frames', async () => {
    const { sent, received, codec, kbitPerSecond } = await sendPattern({ frames: 90, timeoutMs: 15_000 });
    const summary = summarize(received);
    console.log(`pattern over WebRTC (${codec}, ~${kbitPerSecond} kbit/s): sent ${sent}, ${JSON.stringify(summary)}`);
    expect(summary.received).toBeGreaterThanOrEqual(30);
    expect(summary.decoded).toBeGreaterThanOrEqual(30);
    expect(summary.rate).toBeGreaterThanOrEqual(0.9);
    expectIncreasingAndFresh(received);
    expect(Math.min(...summary.scores)).toBeGreaterThanOrEqual(6 / 7);
  });

  it('still decodes at a low bitrate (150 kbit/s)', async () => {
    const { sent, received, codec, kbitPerSecond } = await sendPattern({ frames: 90, maxBitrate: 150_000, timeoutMs: 15_000 });
    const summary = summarize(received);
    console.log(`pattern over WebRTC capped at 150 kbit/s (${codec}, ~${kbitPerSecond} kbit/s): sent ${sent}, ${JSON.stringify(summary)}`);
    expect(kbitPerSecond).toBeLessThan(300); // the cap took effect
    expect(summary.decoded).toBeGreaterThanOrEqual(30);
    expect(summary.rate).toBeGreaterThanOrEqual(0.8);
    expectIncreasingAndFresh(received);
  });
});
