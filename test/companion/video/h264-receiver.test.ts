import { describe, expect, it } from 'vitest';
import { H264Depacketizer, MAX_UNIT_BYTES, Y4mReader, offersH264Only } from '../../../src/companion/video/h264-receiver';

function rtp(seq: number, payload: number[] | Buffer, marker = false): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = (marker ? 0x80 : 0) | 96;
  header.writeUInt16BE(seq & 0xffff, 2);
  return Buffer.concat([header, Buffer.from(payload)]);
}

function collect(): { units: Buffer[]; losses: number; d: H264Depacketizer } {
  const out = { units: [] as Buffer[], losses: 0, d: undefined as unknown as H264Depacketizer };
  out.d = new H264Depacketizer(
    (u) => out.units.push(u),
    () => out.losses++,
  );
  return out;
}

describe('H264Depacketizer (RFC 6184)', () => {
  it('rebuilds single NAL units, STAP-A and FU-A into one Annex B unit per marker', () => {
    const c = collect();
    // STAP-A with SPS (3 bytes) and PPS (2 bytes).
    c.d.push(rtp(1, [24, 0, 3, 0x67, 1, 2, 0, 2, 0x68, 3]));
    // IDR fragmented: FU indicator (NRI 3, type 28), FU header start/end bits + type 5.
    c.d.push(rtp(2, [0x7c, 0x85, 10, 11]));
    c.d.push(rtp(3, [0x7c, 0x05, 12]));
    c.d.push(rtp(4, [0x7c, 0x45, 13], true));
    // A P slice in one packet.
    c.d.push(rtp(5, [0x41, 9, 9], true));
    expect(c.units.map((u) => [...u])).toEqual([
      [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 10, 11, 12, 13],
      [0, 0, 0, 1, 0x41, 9, 9],
    ]);
    expect(c.d.dropped).toBe(0);
  });

  it('drops a picture with a missing packet, asks for a keyframe, and goes on with the next', () => {
    const c = collect();
    c.d.push(rtp(10, [0x7c, 0x85, 1]));
    c.d.push(rtp(12, [0x7c, 0x45, 2], true)); // 11 lost
    c.d.push(rtp(13, [0x41, 7], true));
    expect(c.units.map((u) => [...u])).toEqual([[0, 0, 0, 1, 0x41, 7]]);
    expect(c.losses).toBe(1);
    expect(c.d.dropped).toBe(1);
  });

  it('ignores garbage and malformed payloads without throwing, and caps a unit', () => {
    const c = collect();
    for (const junk of [Buffer.alloc(0), Buffer.alloc(5), Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])]) c.d.push(junk);
    c.d.push(rtp(1, [24, 0xff, 0xff, 1], true)); // STAP-A size beyond the packet
    c.d.push(rtp(2, [0x7c, 0x05, 1], true)); // FU-A middle without a start
    c.d.push(rtp(3, [30, 1, 2], true)); // unsupported type
    expect(c.units).toEqual([]);
    const big = Buffer.alloc(60_000, 0x11);
    let seq = 4;
    c.d.push(rtp(seq++, Buffer.concat([Buffer.from([0x7c, 0x85]), big])));
    for (let n = 0; n * big.length < MAX_UNIT_BYTES + big.length; n++) c.d.push(rtp(seq++, Buffer.concat([Buffer.from([0x7c, 0x05]), big])));
    c.d.push(rtp(seq++, [0x7c, 0x45, 1], true));
    expect(c.units).toEqual([]);
    c.d.push(rtp(seq, [0x41, 5], true));
    expect(c.units).toHaveLength(1);
  });
});

describe('Y4mReader', () => {
  it('reads 4:2:0 pictures of the size in the header, across chunk boundaries', () => {
    const pictures: { width: number; height: number; data: number[] }[] = [];
    const r = new Y4mReader((p) => pictures.push({ width: p.width, height: p.height, data: [...p.data] }));
    const frame = (v: number) => Buffer.concat([Buffer.from('FRAME\n'), Buffer.alloc(4 * 2 + 2 * 2 * 1, v)]);
    const stream = Buffer.concat([Buffer.from('YUV4MPEG2 W4 H2 F30:1 Ip A1:1 C420jpeg\n'), frame(1), frame(2)]);
    for (let i = 0; i < stream.length; i += 5) r.push(stream.subarray(i, i + 5));
    expect(pictures.map((p) => [p.width, p.height, p.data.length, p.data[0]])).toEqual([
      [4, 2, 12, 1],
      [4, 2, 12, 2],
    ]);
    expect(() => new Y4mReader(() => undefined).push(Buffer.from('RIFF nonsense\n'))).toThrow(/not a YUV4MPEG2/);
  });
});

describe('offersH264Only', () => {
  it('is true for the h264 stack\'s offer, false when VP8 is offered', () => {
    expect(offersH264Only('m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n')).toBe(true);
    expect(offersH264Only('a=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000\r\n')).toBe(false);
  });
});
