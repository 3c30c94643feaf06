/**
 * Which sound goes with the video (`lancam-device --audio`, `--no-audio`):
 *   - by default, the source's own: the test pattern's tone, an RTSP camera's or a file's audio
 *     track (none if it has none); a V4L2 camera has no sound of its own;
 *   - `--audio <device>`: a capture device instead (ALSA `hw:1,0`, `default`; `pulse[:<source>]`);
 *   - `--no-audio`: none.
 * Audio rides on the H.264 stack only (node-datachannel); see docs/video.md "Audio".
 */
import type { Logger } from '../../../net/log';
import { classifyInput } from '../ffmpeg/args';
import { SharedAudioStream, type AudioSource } from './audio-stream';
import { FfmpegAudioSource, parseAudioDevice } from './ffmpeg-audio-source';
import { PatternToneSource } from './pattern-tone-source';
import { CameraSource } from '../h264/camera-source';
import { EncodeOnceSource, type EncodedSource } from '../h264/encoded-stream';

export interface AudioChoice {
  /** The video source ('pattern', a file, rtsp://…, /dev/videoN). */
  source: string;
  /** undefined or true: the source's own sound; a string: a capture device; false: none. */
  audio?: string | boolean | undefined;
  ffmpegPath?: string | undefined;
}

/**
 * `video`, the video's own source, when given: a camera or file's sound is then read by the same
 * ffmpeg as its pictures (one process, one RTSP session; audio/camera-audio.ts), and the pattern's
 * beep is held back by the encoder's latency (lip-sync, docs/video.md "Audio").
 */
export function createAudioSource(choice: AudioChoice, video?: EncodedSource): AudioSource | undefined {
  const ffmpegPath = choice.ffmpegPath;
  if (choice.audio === false) return undefined;
  if (typeof choice.audio === 'string') return new FfmpegAudioSource({ input: parseAudioDevice(choice.audio), ffmpegPath });
  if (choice.source === 'pattern') {
    const encoder = video instanceof EncodeOnceSource ? video : undefined;
    return new PatternToneSource(ffmpegPath, undefined, encoder ? () => encoder.encodeLatencyMs : undefined);
  }
  if (classifyInput(choice.source) === 'v4l2') return undefined;
  if (video instanceof CameraSource) return video.audioSource();
  return new FfmpegAudioSource({ input: { kind: 'source', input: choice.source }, ffmpegPath });
}

export function createAudioStream(choice: AudioChoice, log: Logger, video?: EncodedSource): SharedAudioStream | undefined {
  const source = createAudioSource(choice, video);
  return source ? new SharedAudioStream(source, log) : undefined;
}
