import { describe, expect, it } from 'vitest';
import {
  checkI420,
  chromaHeight,
  chromaWidth,
  createI420Frame,
  i420LumaAt,
  i420LumaSampler,
  i420Planes,
  i420Size,
  i420ToRgba,
  i420YuvAt,
  lumaOfRgb,
  rgbaLumaAt,
  rgbaLumaSampler,
  rgbaToI420,
  rgbToYuv,
  yuvToRgb,
} from '../../../src/shared/video/i420';

function solidRgba(width: number, height: number, [r, g, b]: readonly number[]): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < rgba.length; i += 4) {
    rgba[i] = r!;
    rgba[i + 1] = g!;
    rgba[i + 2] = b!;
    rgba[i + 3] = 255;
  }
  return rgba;
}

/** Deterministic pseudo-random numbers (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('I420 layout', () => {
  it('sizes planes as libwebrtc does', () => {
    expect(i420Size(320, 240)).toBe(320 * 240 * 1.5);
    expect(i420Size(1280, 720)).toBe(1280 * 720 * 1.5);
    expect(chromaWidth(5)).toBe(3);
    expect(chromaHeight(3)).toBe(2);
    expect(i420Size(5, 3)).toBe(15 + 2 * 3 * 2);
    expect(() => i420Size(0, 10)).toThrow(RangeError);
    expect(() => i420Size(10.5, 10)).toThrow(RangeError);
  });

  it('creates black frames and exposes plane views', () => {
    const frame = createI420Frame(8, 4);
    const planes = i420Planes(frame);
    expect(planes.y.length).toBe(32);
    expect(planes.u.length).toBe(8);
    expect(planes.v.length).toBe(8);
    expect([...planes.y].every((v) => v === 16)).toBe(true);
    expect([...planes.u, ...planes.v].every((v) => v === 128)).toBe(true);
    planes.y[9] = 200;
    expect(i420LumaAt(frame, 1, 1)).toBe(200);
    expect(i420LumaSampler(frame)(1, 1)).toBe(200);
    expect(i420LumaAt(frame, -5, 99)).toBe(frame.data[3 * 8]); // clamped to (0, 3)
    expect(() => checkI420({ width: 8, height: 4, data: new Uint8Array(47) })).toThrow(RangeError);
  });
});

describe('colour conversion (BT.601 limited range)', () => {
  const known: [string, [number, number, number], [number, number, number]][] = [
    ['black', [0, 0, 0], [16, 128, 128]],
    ['white', [255, 255, 255], [235, 128, 128]],
    ['red', [255, 0, 0], [82, 90, 240]],
    ['green', [0, 255, 0], [144, 54, 34]],
    ['blue', [0, 0, 255], [41, 240, 110]],
  ];

  it.each(known)('%s has the standard Y, U, V', (_name, rgb, yuv) => {
    expect(rgbToYuv(...rgb)).toEqual(yuv);
    expect(lumaOfRgb(...rgb)).toBe(yuv[0]);
  });

  it.each(known)('%s survives rgba -> i420 -> rgba within 3 per channel', (_name, rgb, yuv) => {
    const rgba = solidRgba(6, 4, rgb);
    const frame = rgbaToI420(rgba, 6, 4);
    const planes = i420Planes(frame);
    expect(new Set(planes.y)).toEqual(new Set([yuv[0]]));
    expect(new Set(planes.u)).toEqual(new Set([yuv[1]]));
    expect(new Set(planes.v)).toEqual(new Set([yuv[2]]));
    const back = i420ToRgba(frame);
    expect(back).toBeInstanceOf(Uint8ClampedArray);
    for (let i = 0; i < back.length; i += 4) {
      for (let c = 0; c < 3; c++) expect(Math.abs(back[i + c]! - rgb[c]!)).toBeLessThanOrEqual(3);
      expect(back[i + 3]).toBe(255);
    }
    expect(yuvToRgb(...yuv).every((v, c) => Math.abs(v - rgb[c]!) <= 3)).toBe(true);
  });

  it('clamps out-of-gamut YUV', () => {
    expect(yuvToRgb(255, 255, 255)).toEqual([255, 125, 255]);
    expect(yuvToRgb(0, 0, 0).every((v) => v >= 0 && v <= 255)).toBe(true);
    expect(yuvToRgb(0, 128, 128)).toEqual([0, 0, 0]);
  });

  it('converts every pixel of a random frame like the single-pixel formula, on every output path', () => {
    const width = 34;
    const height = 22;
    const random = prng(7);
    const frame = createI420Frame(width, height);
    for (let i = 0; i < frame.data.length; i++) frame.data[i] = Math.floor(random() * 256);
    const clamped = i420ToRgba(frame);
    const plain = i420ToRgba(frame, new Uint8Array(width * height * 4));
    // An output that is not 4-byte aligned takes the byte-by-byte path.
    const unaligned = i420ToRgba(frame, new Uint8Array(width * height * 4 + 1).subarray(1));
    const yuv = [0, 0, 0];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        i420YuvAt(frame, x, y, yuv);
        const expected = [...yuvToRgb(yuv[0]!, yuv[1]!, yuv[2]!), 255];
        const i = (y * width + x) * 4;
        expect([...clamped.subarray(i, i + 4)]).toEqual(expected);
        expect([...plain.subarray(i, i + 4)]).toEqual(expected);
        expect([...unaligned.subarray(i, i + 4)]).toEqual(expected);
      }
    }
  });

  it('handles odd sizes (chroma rounded up, as libwebrtc)', () => {
    const rgba = solidRgba(5, 3, [255, 0, 0]);
    const frame = rgbaToI420(rgba, 5, 3);
    expect(frame.data.length).toBe(i420Size(5, 3));
    const back = i420ToRgba(frame);
    expect(back.length).toBe(5 * 3 * 4);
    expect(Math.abs(back[back.length - 4]! - 255)).toBeLessThanOrEqual(3);
  });

  it('averages chroma over 2x2 blocks and keeps luma per pixel', () => {
    const rgba = new Uint8ClampedArray(2 * 2 * 4);
    rgba.set([255, 255, 255, 255, 0, 0, 0, 255, 255, 255, 255, 255, 0, 0, 0, 255]);
    const frame = rgbaToI420(rgba, 2, 2);
    expect([...frame.data.subarray(0, 4)]).toEqual([235, 16, 235, 16]);
    expect(frame.data[4]).toBe(128);
    expect(frame.data[5]).toBe(128);
  });

  it('reads luma from RGBA in the same scale as I420', () => {
    const rgba = solidRgba(4, 2, [255, 255, 255]);
    rgba.set([0, 0, 0, 255], 4 * 5);
    expect(rgbaLumaAt(rgba, 4, 2, 0, 0)).toBe(235);
    expect(rgbaLumaAt(rgba, 4, 2, 1, 1)).toBe(16);
    expect(rgbaLumaSampler(rgba, 4, 2)(1, 1)).toBe(16);
    expect(() => rgbaLumaSampler(rgba, 4, 3)).toThrow(RangeError);
  });

  it('reuses the output buffers it is given', () => {
    const rgba = solidRgba(4, 4, [0, 0, 255]);
    const frame = createI420Frame(4, 4);
    expect(rgbaToI420(rgba, 4, 4, frame)).toBe(frame);
    const out = new Uint8ClampedArray(64);
    expect(i420ToRgba(frame, out)).toBe(out);
    expect(() => rgbaToI420(rgba, 4, 4, createI420Frame(2, 2))).toThrow(RangeError);
    expect(() => i420ToRgba(frame, new Uint8ClampedArray(8))).toThrow(RangeError);
  });
});
