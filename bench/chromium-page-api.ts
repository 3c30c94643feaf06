/**
 * What the page of the "chromium" benchmark (test/browser/chromium-bench-page.ts, bundled with
 * esbuild and run in Chromium) exposes as `window.lancamBench`, and what bench/chromium.ts calls
 * through page.evaluate. Types only and no DOM, so both tsconfig.json (bench) and
 * tsconfig.web.json (the page) check it.
 */

/** One time-to-first-frame run. All times in ms from just before `LiveVideo.start()`. */
export interface ChromiumFirstFrame {
  /** The first `requestVideoFrameCallback` callback on the video element (performance.now() in it). */
  firstFrame: number;
  /** `api.openVideo` resolved: the companion (lancam ui) opened the video session with the device. */
  sessionOpened: number;
  /** `LiveVideo.start()` resolved: SETUP_REQUEST was accepted. */
  started: number;
  /** The page's RTCPeerConnection reached connectionState "connected" (ICE + DTLS). */
  connected: number | null;
  /** The first frame's `receiveTime` from the callback metadata (its last packet arrived). */
  received: number | null;
  /** The first frame's `presentationTime` (handed to the compositor). */
  presented: number | null;
  width: number;
  height: number;
  /** The pattern's frame number of the first frame shown (null: not readable). */
  firstFrameNumber: number | null;
  /** Why the LiveVideo ended after stop() (null: it did not say within the wait). */
  closedReason: string | null;
}

/** One viewer watched for a while: glass-to-glass latency from the pattern's capture time stamp. */
export interface ChromiumWatch {
  /** Date.now() in the frame callback minus the capture time drawn into the pattern (every 2nd frame). */
  presentedLatencyMs: number[];
  /** `performance.timeOrigin + receiveTime` minus the capture time (the frame's packets arrived, before decode). */
  receivedLatencyMs: number[];
  /** `LiveVideo.stats.latencyMs` as its once-a-second stats report it. */
  liveVideoLatencyMs: number[];
  /** Frames shown during the measured window, and that window's length. */
  frames: number;
  windowMs: number;
  /** The last LiveVideo stats. */
  stats: { frames: number; fps: number; bitrateKbps: number; width: number; height: number } | null;
  /** The negotiated video codec, from the page's RTCPeerConnection getStats. */
  codec: string | null;
}

/** The pattern's beeps against its pictures in one Chromium viewer (test/browser/av-offset-probe.ts). */
export interface ChromiumAvOffset {
  /** One per beep matched to the second on screen, ms (+ = sound after picture). */
  offsets: number[];
  onsets: number;
  secondsShown: number;
  framesPresented: number;
  undecodedFrames: number;
  /** AudioContext.baseLatency / outputLatency (s). */
  baseLatency: number;
  outputLatency: number | null;
  windowMs: number;
  /** Chromium's inbound-rtp video framesDecoded over the window (against framesPresented). */
  framesDecoded: number | null;
  /** The received audio codec (inbound-rtp audio's codec mime type). */
  audioCodec: string | null;
  /** Mean jitterBufferDelay per emitted sample/frame over the window (inbound-rtp), ms. */
  jitterBufferMs: { audio: number | null; video: number | null };
}

export interface ChromiumBenchPage {
  ready: Promise<void>;
  devices(): Promise<{ deviceId: string; paired: boolean; status: string }[]>;
  /** Starts a LiveVideo on a fresh <video>, waits for its first frame, stops it (the stop is not timed). */
  firstFrame(deviceId: string, timeoutMs: number): Promise<ChromiumFirstFrame>;
  /** Watches for `settleMs + windowMs`, sampling latency in the window, then stops. */
  watch(deviceId: string, settleMs: number, windowMs: number): Promise<ChromiumWatch>;
  /** A LiveVideo with sound (element unmuted), `settleMs`, then the A/V offset over `windowMs`; then stops. */
  avOffset(deviceId: string, settleMs: number, windowMs: number): Promise<ChromiumAvOffset>;
}

/** `globalThis` in the page. */
export interface ChromiumBenchWindow {
  lancamBench: ChromiumBenchPage;
}
