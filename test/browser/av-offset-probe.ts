/**
 * The A/V offset of the test pattern as Chromium delivers picture and sound, shared by the audio
 * test page (test/browser/audio-page.ts) and the benchmark page (chromium-bench-page.ts).
 *
 *   picture: on every frame the <video> presents (requestVideoFrameCallback), the capture time is
 *            read from the pattern's strip rows only (patternLayout().stripBottom, ~3 % of the
 *            picture, so the read-back does not slow a 1080p picture down). For the first frame
 *            of each whole second of the capture clock: its expectedDisplayTime minus how far
 *            into the second it was captured = when the second's instant is on screen.
 *   sound:   the received track through a WebAudio ScriptProcessor; ToneOnsetDetector finds each
 *            beep's first sample (src/shared/video/pattern-tone.ts); its time is where that sample
 *            plays at the AudioContext's output (getOutputTimestamp), so WebAudio's own path (the
 *            processor's block, the context's output latency estimate) is in it.
 *
 * Each onset is matched to the nearest second on screen (within 500 ms). Positive: sound after
 * picture. Browser-only (DOM, WebAudio); pure measurement, no lancam calls.
 */
import { ToneOnsetDetector } from '../../src/shared/video/pattern-tone';
import { decodePatternStrip, patternLayout, type PatternStamp } from '../../src/shared/video/test-pattern';
import { rgbaLumaSampler } from '../../src/shared/video/i420';

export interface AvOffsetResult {
  /** One per beep matched to a second on screen, ms (+ = sound after picture). */
  offsets: number[];
  /** Beep onsets heard, whole seconds seen on screen, frames presented, frames whose strip did not decode. */
  onsets: number;
  secondsShown: number;
  framesPresented: number;
  undecodedFrames: number;
  /** The AudioContext's own latency figures (s), for reading the offsets. */
  baseLatency: number;
  outputLatency: number | null;
}

/** The pattern stamp of the picture the element shows now, from its strip rows only. */
export function readStripStamp(video: HTMLVideoElement, canvas: HTMLCanvasElement): PatternStamp | undefined {
  const { videoWidth: w, videoHeight: h } = video;
  if (!w || !h) return undefined;
  const bottom = Math.min(h, Math.ceil(patternLayout(w, h).stripBottom));
  if (canvas.width !== w || canvas.height !== bottom) {
    canvas.width = w;
    canvas.height = bottom;
  }
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return undefined;
  ctx.drawImage(video, 0, 0, w, bottom, 0, 0, w, bottom);
  return decodePatternStrip(rgbaLumaSampler(ctx.getImageData(0, 0, w, bottom).data, w, bottom), w, h);
}

/** Measures for `ms` on `video`, whose srcObject carries the pattern's video and audio tracks. */
export async function measureAvOffsets(video: HTMLVideoElement, ms: number): Promise<AvOffsetResult> {
  const track = (video.srcObject as MediaStream | null)?.getAudioTracks()[0];
  const result: AvOffsetResult = { offsets: [], onsets: 0, secondsShown: 0, framesPresented: 0, undecodedFrames: 0, baseLatency: 0, outputLatency: null };
  if (!track) return result;
  const shown = new Map<number, number>(); // whole second (capture clock) -> perf time shown
  const heard: number[] = []; // perf time of each onset
  const canvas = document.createElement('canvas');
  let last: number | undefined;
  let running = true;
  const onFrame = (_now: number, meta: VideoFrameCallbackMetadata): void => {
    if (!running) return;
    result.framesPresented++;
    const stamp = readStripStamp(video, canvas);
    if (stamp) {
      const second = Math.floor(stamp.captureTimeMs / 1000) * 1000;
      if (last !== undefined && Math.floor(last / 1000) * 1000 < second) shown.set(second, meta.expectedDisplayTime - (stamp.captureTimeMs - second));
      last = stamp.captureTimeMs;
    } else if (video.videoWidth) {
      result.undecodedFrames++;
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  const ctx = new AudioContext({ latencyHint: 'interactive' });
  await ctx.resume();
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const size = 256;
  const proc = ctx.createScriptProcessor(size, 1, 1);
  const silent = ctx.createGain();
  silent.gain.value = 0;
  source.connect(proc);
  proc.connect(silent);
  silent.connect(ctx.destination);
  let block: { start: number } = { start: 0 };
  let seen = 0;
  const detector = new ToneOnsetDetector((index) => {
    // The input block came in one block before its output plays; the onset is `index` into the stream.
    const contextTime = block.start + (index - seen) / ctx.sampleRate;
    const stamp = ctx.getOutputTimestamp();
    heard.push((stamp.performanceTime ?? 0) + (contextTime - (stamp.contextTime ?? 0)) * 1000);
  }, ctx.sampleRate);
  proc.onaudioprocess = (e) => {
    block = { start: e.playbackTime - size / ctx.sampleRate };
    const data = e.inputBuffer.getChannelData(0);
    detector.push(data);
    seen += data.length;
  };
  await new Promise((resolve) => setTimeout(resolve, ms));
  running = false;
  proc.onaudioprocess = null;
  result.baseLatency = ctx.baseLatency;
  result.outputLatency = typeof ctx.outputLatency === 'number' ? ctx.outputLatency : null;
  await ctx.close();
  result.onsets = heard.length;
  result.secondsShown = shown.size;
  for (const at of heard) {
    let best: number | undefined;
    for (const t of shown.values()) if (best === undefined || Math.abs(at - t) < Math.abs(at - best)) best = t;
    if (best !== undefined && Math.abs(at - best) < 500) result.offsets.push(Math.round(at - best));
  }
  return result;
}
