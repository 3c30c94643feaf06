/**
 * Pass through or transcode once: what the H.264 pipeline does with a camera's (or file's) video.
 * Browsers decode H.264, so an H.264 stream within the caps (`--size`, `--fps`) goes to every
 * viewer untouched. Anything else (another codec, or a picture or rate above the caps) is decoded
 * and encoded to H.264 once, for all viewers, fitted inside the caps with its aspect ratio kept.
 * H.265 is transcoded too: Debian's Chromium does not offer H.265 for WebRTC (docs/video.md).
 */
import type { ProbedVideo } from './ffmpeg/probe';

export interface VideoCaps {
  /** The picture must fit inside maxWidth x maxHeight (either may be absent: no cap). */
  maxWidth?: number | undefined;
  maxHeight?: number | undefined;
  maxFps?: number | undefined;
}

export type VideoPlan =
  | { mode: 'passthrough'; reason: string }
  | { mode: 'transcode'; width: number; height: number; fps: number; reason: string };

/** What the one encode makes of a source whose size or rate is unknown. */
export const FALLBACK_SIZE = { width: 1280, height: 720, fps: 30 } as const;
/** The largest picture lancam encodes. */
export const MAX_SIZE = { width: 3840, height: 2160 } as const;
/** Codecs passed through (what every browser's WebRTC takes). */
export const PASSTHROUGH_CODECS = new Set(['h264']);

const even = (n: number): number => Math.max(16, 2 * Math.floor(n / 2));

/** The largest even size with the source's aspect ratio inside the caps (never larger than the source). */
export function fitInside(width: number, height: number, caps: VideoCaps): { width: number; height: number } {
  // Never above what the encoder takes (3840x2160), whatever the caps say.
  const maxWidth = Math.min(caps.maxWidth ?? MAX_SIZE.width, MAX_SIZE.width);
  const maxHeight = Math.min(caps.maxHeight ?? MAX_SIZE.height, MAX_SIZE.height);
  const scale = Math.min(1, maxWidth / width, maxHeight / height);
  return { width: Math.min(maxWidth, even(Math.round(width * scale))), height: Math.min(maxHeight, even(Math.round(height * scale))) };
}

function withinCaps(video: ProbedVideo, caps: VideoCaps): string | undefined {
  if (caps.maxWidth && video.width > caps.maxWidth) return `${video.width}x${video.height} is wider than the ${caps.maxWidth} cap`;
  if (caps.maxHeight && video.height > caps.maxHeight) return `${video.width}x${video.height} is taller than the ${caps.maxHeight} cap`;
  // A camera at 30000/1001 is at 30 for a cap of 30.
  if (caps.maxFps && video.fps !== undefined && video.fps > caps.maxFps + 0.5) return `${video.fps.toFixed(2)} fps is above the ${caps.maxFps} fps cap`;
  return undefined;
}

export function planVideo(video: ProbedVideo | undefined, caps: VideoCaps): VideoPlan {
  if (!video) {
    const size = fitInside(caps.maxWidth ?? FALLBACK_SIZE.width, caps.maxHeight ?? FALLBACK_SIZE.height, caps);
    return { mode: 'transcode', ...size, fps: caps.maxFps ?? FALLBACK_SIZE.fps, reason: 'the source could not be probed' };
  }
  const above = withinCaps(video, caps);
  if (PASSTHROUGH_CODECS.has(video.codec) && !above) return { mode: 'passthrough', reason: `H.264 ${video.width}x${video.height} within the caps` };
  const size = fitInside(video.width, video.height, caps);
  const sourceFps = video.fps === undefined ? FALLBACK_SIZE.fps : Math.round(video.fps);
  const fps = Math.max(1, Math.min(60, caps.maxFps ? Math.min(caps.maxFps, sourceFps) : sourceFps));
  const reason = PASSTHROUGH_CODECS.has(video.codec) ? (above ?? '') : `${video.codec} is not H.264${above ? `, and ${above}` : ''}`;
  return { mode: 'transcode', ...size, fps, reason };
}
