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

export interface AudioChoice {
  /** The video source ('pattern', a file, rtsp://…, /dev/videoN). */
  source: string;
  /** undefined or true: the source's own sound; a string: a capture device; false: none. */
  audio?: string | boolean | undefined;
  ffmpegPath?: string | undefined;
}

export function createAudioSource(choice: AudioChoice): AudioSource | undefined {
  const ffmpegPath = choice.ffmpegPath;
  if (choice.audio === false) return undefined;
  if (typeof choice.audio === 'string') return new FfmpegAudioSource({ input: parseAudioDevice(choice.audio), ffmpegPath });
  if (choice.source === 'pattern') return new PatternToneSource(ffmpegPath);
  if (classifyInput(choice.source) === 'v4l2') return undefined;
  return new FfmpegAudioSource({ input: { kind: 'source', input: choice.source }, ffmpegPath });
}

export function createAudioStream(choice: AudioChoice, log: Logger): SharedAudioStream | undefined {
  const source = createAudioSource(choice);
  return source ? new SharedAudioStream(source, log) : undefined;
}
