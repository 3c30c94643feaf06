import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AccessUnitSplitter, MAX_ACCESS_UNIT_BYTES, nalTypes, type AccessUnit } from '../../../src/device/video/h264/annexb';

const aud = [0, 0, 0, 1, 9, 0xf0];
const nal = (type: number, size: number, four = true): number[] => [...(four ? [0] : []), 0, 0, 1, type | 0x60, ...Array<number>(size).fill(0xaa)];

function split(chunks: Uint8Array[]): AccessUnit[] {
  const units: AccessUnit[] = [];
  const s = new AccessUnitSplitter((u) => units.push(u));
  for (const c of chunks) s.push(c);
  return units;
}

describe('AccessUnitSplitter', () => {
  it('cuts at delimiters, marks IDR units, however the bytes are chunked', () => {
    const stream = Uint8Array.from([...aud, ...nal(7, 5), ...nal(8, 3), ...nal(5, 40), ...aud, ...nal(1, 30, false), ...aud, ...nal(1, 20), ...aud]);
    const whole = split([stream]);
    expect(whole.map((u) => [u.keyframe, nalTypes(u.data)])).toEqual([
      [true, [9, 7, 8, 5]],
      [false, [9, 1]],
      [false, [9, 1]],
    ]);
    // One byte at a time gives the very same units.
    const bytewise = split([...stream].map((b) => Uint8Array.of(b)));
    expect(bytewise.map((u) => [...u.data])).toEqual(whole.map((u) => [...u.data]));
  });

  it('drops bytes before the first start code and caps an endless unit', () => {
    const units = split([Uint8Array.from([7, 7, 7, ...nal(1, 10), ...aud, ...nal(5, 4), ...aud])]);
    expect(units.map((u) => [u.keyframe, nalTypes(u.data)])).toEqual([
      [false, [1]],
      [true, [9, 5]],
    ]);
    const s = new AccessUnitSplitter(() => undefined);
    s.push(Uint8Array.from(aud));
    s.push(new Uint8Array(MAX_ACCESS_UNIT_BYTES + 10));
    expect(s.droppedBytes).toBeGreaterThan(MAX_ACCESS_UNIT_BYTES);
  });

  it('starts a unit at a slice with first_mb_in_slice = 0 when there is no delimiter', () => {
    // Two pictures of two slices each: the second slice of a picture (first_mb > 0: first bit 0) continues it.
    const slice = (type: number, first: boolean): number[] => [0, 0, 0, 1, type | 0x60, first ? 0x88 : 0x08, 1, 2, 3];
    const units = split([Uint8Array.from([...slice(5, true), ...slice(5, false), ...slice(1, true), ...slice(1, false), ...slice(1, true)])]);
    expect(units.map((u) => [u.keyframe, nalTypes(u.data)])).toEqual([
      [true, [5, 5]],
      [false, [1, 1]],
    ]);
  });

  it.each([
    ['with', ['-x264-params', 'aud=1']],
    ['without', []],
  ])('splits a real x264 stream %s delimiters into one unit per picture, IDRs where the GOP says', (_, extra) => {
    const h264 = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-frames:v', '45', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-bf', '0', '-slices', '2', ...extra, '-f', 'h264', 'pipe:1'], { maxBuffer: 64 << 20 });
    const units = split([h264.subarray(0, 1000), h264.subarray(1000)]);
    // The last unit is complete only when a next one begins: 44 of 45 pictures come out.
    expect(units).toHaveLength(44);
    expect(units.flatMap((u, i) => (u.keyframe ? [i] : []))).toEqual([0, 15, 30]);
    // Two slices in every picture.
    for (const u of units) expect(nalTypes(u.data).filter((t) => t === 1 || t === 5)).toHaveLength(2);
  });
});
