/**
 * Can this machine run lancam's own H.264 encoder (x264-encoder.py: Python with python3-gi and
 * GStreamer's fdsrc, rawvideoparse, h264parse, appsink, and x264enc or a hardware encoder)?
 * Asked once at start when the video stack was not chosen, so that a camera on a machine without
 * GStreamer still starts with a working picture (the vp8 stack needs none) instead of failing at
 * the first viewer.
 */
import { execFile } from 'node:child_process';

const CHECK = [
  'import sys',
  'try:',
  '    import gi',
  '    gi.require_version("Gst", "1.0")',
  '    from gi.repository import Gst',
  'except Exception as e:',
  '    print("python3-gi with GStreamer is missing (" + str(e) + ")"); sys.exit(3)',
  'Gst.init(None)',
  'need = ["fdsrc", "rawvideoparse", "h264parse", "appsink"]',
  'missing = [n for n in need if Gst.ElementFactory.find(n) is None]',
  'if not any(Gst.ElementFactory.find(n) for n in ("x264enc", "v4l2h264enc", "vah264enc", "vaapih264enc")): missing.append("x264enc")',
  'if missing: print("GStreamer elements missing: " + ", ".join(missing)); sys.exit(3)',
].join('\n');

/** Undefined when the encoder can run; otherwise why not, in words for the log. */
export function h264EncoderProblem(python = '/usr/bin/python3', env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(python, ['-c', CHECK], { timeout: 10_000, env }, (err, stdout) => {
      if (!err) return resolve(undefined);
      const said = String(stdout).trim();
      resolve(said || `${python} could not run (${(err as NodeJS.ErrnoException).code ?? err.message})`);
    });
  });
}

/** The packages that give the encoder on Debian/Raspberry Pi OS. */
export const H264_ENCODER_PACKAGES = 'python3-gi gir1.2-gstreamer-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly';
