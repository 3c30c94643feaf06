/**
 * A camera's sub stream, from the device's options: the camera's own second stream
 * (`--sub-source rtsp://…/sub`, a file or /dev/videoN delivering H.264, passed through like the
 * main stream), or, for the test pattern (a source lancam encodes), a second encode of its own
 * at 640 pixels wide and a bitrate to match. Either is one SharedEncodedStream: it runs once for
 * every viewer of the sub stream and only while there is one.
 */
import type { Logger } from '../../../net/log';
import { SharedEncodedStream } from './encoded-stream';
import { createEncodedSource } from './camera-source';
import { StreamSet } from './stream-selector';

export interface SubStreamVideoOptions {
  source: string;
  width: number;
  height: number;
  fps: number;
  ffmpegPath?: string | undefined;
  /** The camera's sub stream; 'none' for none; unset: an own encode for the pattern, none otherwise. */
  subSource?: string | undefined;
  /** GOP cache bound for passed-through streams (bytes; 0: off; unset: the default). */
  gopCacheBytes?: number | undefined;
  /** Weak viewers move to the sub stream (default true). */
  congestion?: boolean | undefined;
}

/** The pattern's own sub stream: 640 wide, the main stream's aspect; none for a main that small. */
export function patternSubSize(width: number, height: number): { width: number; height: number } | undefined {
  if (width <= 640) return undefined;
  return { width: 640, height: Math.max(16, Math.round((640 * height) / width / 2) * 2) };
}

export function createStreamSet(video: SubStreamVideoOptions, main: SharedEncodedStream, log: Logger): StreamSet {
  let sub: SharedEncodedStream | undefined;
  const ffmpeg = video.ffmpegPath ? { ffmpegPath: video.ffmpegPath } : {};
  if (video.subSource !== undefined && video.subSource !== 'none' && video.subSource !== 'pattern') {
    sub = new SharedEncodedStream(createEncodedSource({ source: video.subSource, width: video.width, height: video.height, fps: video.fps, ...ffmpeg }, log), log);
  } else if (video.subSource !== 'none' && video.source === 'pattern') {
    const size = patternSubSize(video.width, video.height);
    if (size) sub = new SharedEncodedStream(createEncodedSource({ source: 'pattern', ...size, fps: video.fps }, log), log);
  }
  return new StreamSet(main, sub, { gopCacheBytes: video.gopCacheBytes, congestion: video.congestion === false ? false : undefined });
}
