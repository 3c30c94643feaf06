/**
 * The ffmpeg command line for one video source: how an input is opened (file, RTSP, V4L2 or
 * another URL) and how its pictures come out (raw I420 at exactly the requested size and rate).
 */

export type InputKind = 'file' | 'rtsp' | 'v4l2' | 'url';

/** What kind of input a source string names; decides the ffmpeg options and the retry policy. */
export function classifyInput(input: string): InputKind {
  if (/^rtsps?:\/\//i.test(input)) return 'rtsp';
  if (/^\/dev\/(video\d+$|v4l\/)/.test(input)) return 'v4l2';
  if (/^file:/i.test(input)) return 'file';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) return 'url';
  return 'file';
}

export interface FfmpegArgsOptions {
  input: string;
  kind: InputKind;
  width: number;
  height: number;
  fps: number;
  /** Files only: play again from the start at the end (default true). */
  loop: boolean;
  /** ffmpeg before 5 calls the RTSP socket timeout `-stimeout` (`-timeout` there means listen). */
  legacyRtspTimeout?: boolean;
  /** V4L2 only: the pixel format to ask the camera for (`h264` for passthrough). */
  v4l2InputFormat?: string;
  /** V4L2 only: do not ask for a size and rate (the camera's own are wanted). */
  v4l2OwnSize?: boolean;
}

/** RTSP and URL sources give up on a silent socket after this long (then the source retries). */
export const NETWORK_TIMEOUT_US = 10_000_000;

export function buildFfmpegArgs(o: FfmpegArgsOptions): string[] {
  return [
    ...inputArgs(o),
    '-map', '0:v:0',
    '-an', '-sn', '-dn',
    '-vf', videoFilter(o.width, o.height, o.fps),
    '-pix_fmt', 'yuv420p',
    '-r', String(o.fps),
    '-f', 'rawvideo',
    'pipe:1',
  ];
}

/**
 * The camera's own H.264, not decoded: copied out as an Annex B byte stream (cut into pictures
 * by h264/annexb.ts). Size and rate are the camera's; `width`/`height`/`fps` only shape how a V4L2 camera is
 * asked.
 */
export function buildPassthroughArgs(o: FfmpegArgsOptions): string[] {
  return [
    ...inputArgs(o),
    '-map', '0:v:0',
    '-an', '-sn', '-dn',
    '-c:v', 'copy',
    // No explicit -bsf: with -stream_loop, ffmpeg 5.1 breaks on any bitstream filter after the
    // first loop ("A non-NULL packet sent after an EOF"); the h264 muxer's own mp4toannexb works.
    '-flush_packets', '1',
    '-f', 'h264',
    'pipe:1',
  ];
}

/**
 * ffprobe's command line for the first video stream's codec, size and rate (JSON on stdout), with
 * the same input options as the source (no -re / loop: a probe reads only the start).
 */
export function buildProbeArgs(o: FfmpegArgsOptions): string[] {
  const input = inputArgs(o).filter((a, i, all) => a !== '-nostdin' && a !== '-re' && a !== '-stream_loop' && all[i - 1] !== '-stream_loop');
  // Every stream (not only v:0): the first audio stream's codec decides how the sound is sent.
  return [...input, '-show_entries', 'stream=codec_type,codec_name,profile,width,height,avg_frame_rate,r_frame_rate', '-of', 'json'];
}

function inputArgs(o: FfmpegArgsOptions): string[] {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error'];
  switch (o.kind) {
    case 'file':
      // -re: read at the file's own rate, so a file behaves like a camera rather than a decoder benchmark.
      args.push('-re');
      if (o.loop) args.push('-stream_loop', '-1');
      // A bare path with a colon would otherwise be read as a protocol name ("a:b.mp4").
      args.push('-i', o.input.includes(':') && !/^file:/i.test(o.input) ? `file:${o.input}` : o.input);
      break;
    case 'rtsp':
      args.push(
        '-rtsp_transport', 'tcp',
        o.legacyRtspTimeout ? '-stimeout' : '-timeout', String(NETWORK_TIMEOUT_US),
        // Live: do not hold frames back for probing or reordering longer than needed.
        '-fflags', 'nobuffer', '-flags', 'low_delay',
        '-i', o.input,
      );
      break;
    case 'v4l2':
      // Ask the camera for the size and rate we want; the driver picks the nearest it has and the
      // filters below make the result exact.
      args.push('-f', 'v4l2');
      if (o.v4l2InputFormat) args.push('-input_format', o.v4l2InputFormat);
      if (!o.v4l2OwnSize) args.push('-framerate', String(o.fps), '-video_size', `${o.width}x${o.height}`);
      args.push('-i', o.input);
      break;
    case 'url':
      args.push('-rw_timeout', String(NETWORK_TIMEOUT_US), '-fflags', 'nobuffer', '-i', o.input);
      break;
  }
  return args;
}

/**
 * Rate first (so dropped frames are never scaled), then fit inside W x H keeping the aspect ratio,
 * and pad the rest black, centred: every output frame is exactly W x H.
 */
export function videoFilter(width: number, height: number, fps: number): string {
  return [
    `fps=${fps}`,
    `scale=${width}:${height}:force_original_aspect_ratio=decrease:force_divisible_by=2:flags=bilinear`,
    `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2:color=black`,
    'setsar=1',
    'format=yuv420p',
  ].join(',');
}
