/**
 * SDP adjustments the camera applies to a viewer's answer before using it.
 *
 * Start bitrate: libwebrtc starts video at 300 kbit/s and, when that is too little for the frame
 * size, drops the first frames until its estimate grows (about 200 ms at 640x480). Telling it a
 * realistic start bitrate (`x-google-start-bitrate`, in the fmtp of the video codecs of the remote
 * description) makes the first frame come right away. Bandwidth estimation still adapts after.
 */

const VIDEO_CODECS = /^(VP8|VP9|H264|AV1)\//i;

/** A start bitrate (kbit/s) that fits the frame size: about 3.3 bits per pixel per second. */
export function startBitrateKbps(width: number, height: number): number {
  return Math.max(300, Math.min(4000, Math.round((width * height) / 300)));
}

/** Adds x-google-start-bitrate to every video codec of the description (idempotent). */
export function withStartBitrate(sdp: string, kbps: number): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(eol);
  const videoPayloads = new Set<string>();
  let inVideo = false;
  for (const line of lines) {
    if (line.startsWith('m=')) inVideo = line.startsWith('m=video');
    const rtpmap = /^a=rtpmap:(\d+) (.+)$/.exec(line);
    if (inVideo && rtpmap && VIDEO_CODECS.test(rtpmap[2]!)) videoPayloads.add(rtpmap[1]!);
  }
  const withFmtp = new Set<string>();
  const out = lines.map((line) => {
    const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (!fmtp || !videoPayloads.has(fmtp[1]!)) return line;
    withFmtp.add(fmtp[1]!);
    return fmtp[2]!.includes('x-google-start-bitrate') ? line : `${line};x-google-start-bitrate=${kbps}`;
  });
  // Codecs without an fmtp line get one, right after their rtpmap.
  const result: string[] = [];
  for (const line of out) {
    result.push(line);
    const rtpmap = /^a=rtpmap:(\d+) /.exec(line);
    if (rtpmap && videoPayloads.has(rtpmap[1]!) && !withFmtp.has(rtpmap[1]!)) result.push(`a=fmtp:${rtpmap[1]} x-google-start-bitrate=${kbps}`);
  }
  return result.join(eol);
}
