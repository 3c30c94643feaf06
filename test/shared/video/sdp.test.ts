import { describe, expect, it } from 'vitest';
import { startBitrateKbps, withStartBitrate } from '../../../src/shared/video/sdp';

const ANSWER = [
  'v=0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:98 H264/90000',
  'a=fmtp:98 level-asymmetry-allowed=1;packetization-mode=1',
  '',
].join('\r\n');

describe('withStartBitrate', () => {
  it('adds the start bitrate to every video codec, and only to those', () => {
    const out = withStartBitrate(ANSWER, 1000);
    const lines = out.split('\r\n');
    expect(lines).toContain('a=fmtp:96 x-google-start-bitrate=1000');
    expect(lines[lines.indexOf('a=rtpmap:96 VP8/90000') + 1]).toBe('a=fmtp:96 x-google-start-bitrate=1000');
    expect(lines).toContain('a=fmtp:98 level-asymmetry-allowed=1;packetization-mode=1;x-google-start-bitrate=1000');
    expect(lines).toContain('a=fmtp:97 apt=96');
    expect(lines).toContain('a=fmtp:111 minptime=10;useinbandfec=1');
    expect(out.endsWith('\r\n')).toBe(true);
  });

  it('is idempotent', () => {
    const once = withStartBitrate(ANSWER, 1000);
    expect(withStartBitrate(once, 1000)).toBe(once);
  });

  it('scales with the frame size, within bounds', () => {
    expect(startBitrateKbps(640, 480)).toBe(1024);
    expect(startBitrateKbps(160, 120)).toBe(300);
    expect(startBitrateKbps(3840, 2160)).toBe(4000);
  });
});
