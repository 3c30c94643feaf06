/**
 * What a camera or file sends, asked of ffprobe before the source starts: the first video
 * stream's codec, size and rate. The H.264 pipeline decides from it whether the stream can be
 * passed through untouched or must be transcoded once (video-plan.ts).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { buildProbeArgs, type FfmpegArgsOptions } from './args';

export interface ProbedVideo {
  /** ffmpeg's codec name: h264, hevc, vp8, vp9, mjpeg, rawvideo, mpeg4, … */
  codec: string;
  width: number;
  height: number;
  /** Frames per second, when the stream says (undefined for 0/0 or a missing rate). */
  fps: number | undefined;
  /** The first audio stream's codec (opus, aac, pcm_alaw …), when the source has one. */
  audio?: string;
}

export type ProbeResult = { ok: true; video: ProbedVideo } | { ok: false; message: string; missing?: boolean };

/** Longest a probe may take (an RTSP camera that connects but sends nothing). */
export const PROBE_TIMEOUT_MS = 20_000;

/** ffprobe next to the given ffmpeg (`ffmpeg` -> `ffprobe`, `/opt/x/ffmpeg` -> `/opt/x/ffprobe`). */
export function ffprobeFor(ffmpegPath: string): string {
  const base = path.basename(ffmpegPath);
  if (!base.includes('ffmpeg')) return 'ffprobe';
  const probe = base.replace('ffmpeg', 'ffprobe');
  return ffmpegPath === base ? probe : path.join(path.dirname(ffmpegPath), probe);
}

/** A rate as ffprobe writes it ("30000/1001", "25/1", "0/0"). */
export function parseRate(rate: unknown): number | undefined {
  if (typeof rate !== 'string') return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(rate);
  if (!m || Number(m[2]) === 0 || Number(m[1]) === 0) return undefined;
  const fps = Number(m[1]) / Number(m[2]);
  return fps > 0 && fps <= 1000 ? fps : undefined;
}

/** ffprobe's JSON (-show_entries stream=… -of json) to a ProbedVideo, or why not. */
export function parseProbeOutput(json: string): ProbedVideo | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return 'ffprobe did not write JSON';
  }
  const streams = ((parsed as { streams?: unknown[] } | null)?.streams ?? []) as Record<string, unknown>[];
  // A stream without codec_type is taken as video (older callers asked for v:0 only).
  const stream = streams.find((st) => st && typeof st === 'object' && (st.codec_type === undefined || st.codec_type === 'video'));
  const audio = streams.find((st) => st && typeof st === 'object' && st.codec_type === 'audio')?.codec_name;
  if (!stream) return 'no video stream';
  const { codec_name: codec, width, height } = stream;
  if (typeof codec !== 'string' || !Number.isInteger(width) || !Number.isInteger(height) || (width as number) <= 0 || (height as number) <= 0) {
    return 'the video stream has no codec or size';
  }
  const fps = parseRate(stream.avg_frame_rate) ?? parseRate(stream.r_frame_rate);
  return { codec, width: width as number, height: height as number, fps, ...(typeof audio === 'string' ? { audio: audio.toLowerCase() } : {}) };
}

export function probeVideo(ffprobePath: string, input: FfmpegArgsOptions, redact: (text: string) => string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(ffprobePath, buildProbeArgs(input), { timeout: PROBE_TIMEOUT_MS, maxBuffer: 1 << 20, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        resolve({ ok: false, missing: true, message: `${ffprobePath} was not found (Debian: it comes with the ffmpeg package)` });
        return;
      }
      if (err) {
        const said = redact(String(stderr).trim().split('\n').slice(-2).join(' / '));
        const why = err.killed ? `no answer within ${PROBE_TIMEOUT_MS / 1000} s` : said || err.message;
        resolve({ ok: false, message: `cannot play ${redact(input.input)}: ${why}` });
        return;
      }
      const video = parseProbeOutput(String(stdout));
      resolve(typeof video === 'string' ? { ok: false, message: `cannot play ${redact(input.input)}: ${video}` } : { ok: true, video });
    });
  });
}
