/**
 * I420 frames: YUV 4:2:0 planar, BT.601 limited range ("studio swing": Y 16..235, U/V 16..240,
 * neutral chroma 128), the layout and colour space libwebrtc uses for `RTCVideoSource.onFrame`
 * and `RTCVideoSink` frames.
 *
 * Layout of `data`: the Y plane (width * height bytes, row by row), then the U plane, then the V
 * plane, each chromaWidth * chromaHeight bytes where chromaWidth = ceil(width / 2) and
 * chromaHeight = ceil(height / 2) (libwebrtc's rule; for the even sizes we produce that is
 * exactly width/2 x height/2). No padding between rows.
 *
 * Pure TypeScript without I/O: the browser uses this too (canvas ImageData is RGBA).
 */

export interface I420Frame<Data extends Uint8Array | Uint8ClampedArray = Uint8Array | Uint8ClampedArray> {
  width: number;
  height: number;
  data: Data;
}

/** Luma of black and white in limited range, and neutral chroma. */
export const Y_BLACK = 16;
export const Y_WHITE = 235;
export const UV_NEUTRAL = 128;

export function chromaWidth(width: number): number {
  return (width + 1) >> 1;
}

export function chromaHeight(height: number): number {
  return (height + 1) >> 1;
}

/** Bytes of an I420 frame of this size. */
export function i420Size(width: number, height: number): number {
  checkDimensions(width, height);
  return width * height + 2 * chromaWidth(width) * chromaHeight(height);
}

function checkDimensions(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`invalid frame size ${width}x${height}`);
  }
}

/** Throws unless `frame.data` holds at least a whole frame of `frame.width` x `frame.height`. */
export function checkI420(frame: I420Frame): void {
  const size = i420Size(frame.width, frame.height);
  if (frame.data.length < size) throw new RangeError(`I420 ${frame.width}x${frame.height} needs ${size} bytes, got ${frame.data.length}`);
}

/** A new black frame (Y=16, U=V=128). */
export function createI420Frame(width: number, height: number): I420Frame<Uint8Array> {
  const data = new Uint8Array(i420Size(width, height));
  data.fill(Y_BLACK, 0, width * height);
  data.fill(UV_NEUTRAL, width * height);
  return { width, height, data };
}

export interface I420Planes {
  y: Uint8Array | Uint8ClampedArray;
  u: Uint8Array | Uint8ClampedArray;
  v: Uint8Array | Uint8ClampedArray;
  chromaWidth: number;
  chromaHeight: number;
}

/** Views (no copies) of the three planes. */
export function i420Planes(frame: I420Frame): I420Planes {
  checkI420(frame);
  const ySize = frame.width * frame.height;
  const cw = chromaWidth(frame.width);
  const ch = chromaHeight(frame.height);
  const cSize = cw * ch;
  return {
    y: frame.data.subarray(0, ySize),
    u: frame.data.subarray(ySize, ySize + cSize),
    v: frame.data.subarray(ySize + cSize, ySize + 2 * cSize),
    chromaWidth: cw,
    chromaHeight: ch,
  };
}

// ---------------------------------------------------------------------------------------------
// Single colours (BT.601 limited range, 8-bit fixed point as in libyuv / the ITU tables)

/** [Y, U, V] of an RGB colour (0..255 each). */
export function rgbToYuv(r: number, g: number, b: number): [number, number, number] {
  return [lumaOfRgb(r, g, b), ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128, ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128];
}

/** Y of an RGB colour (0..255 each): 16 for black, 235 for white. */
export function lumaOfRgb(r: number, g: number, b: number): number {
  return ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
}

/** [R, G, B] (0..255, clamped) of a Y, U, V triple. */
export function yuvToRgb(y: number, u: number, v: number): [number, number, number] {
  const c = 298 * (y - 16) + 128;
  const d = u - 128;
  const e = v - 128;
  return [clamp255((c + 409 * e) >> 8), clamp255((c - 100 * d - 208 * e) >> 8), clamp255((c + 516 * d) >> 8)];
}

function clamp255(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

// ---------------------------------------------------------------------------------------------
// Pixel access

/** Luma at (x, y) of an I420 frame (coordinates clamped to the frame). */
export function i420LumaAt(frame: I420Frame, x: number, y: number): number {
  const xi = clampIndex(x, frame.width);
  const yi = clampIndex(y, frame.height);
  return frame.data[yi * frame.width + xi]!;
}

/** Luma (limited range, as I420's Y) at (x, y) of RGBA pixels (coordinates clamped). */
export function rgbaLumaAt(rgba: ArrayLike<number>, width: number, height: number, x: number, y: number): number {
  const i = (clampIndex(y, height) * width + clampIndex(x, width)) * 4;
  return lumaOfRgb(rgba[i]!, rgba[i + 1]!, rgba[i + 2]!);
}

/** A `lumaAt(x, y)` function over an I420 frame, for the pattern decoders. */
export function i420LumaSampler(frame: I420Frame): (x: number, y: number) => number {
  checkI420(frame);
  const { width, height, data } = frame;
  return (x, y) => data[clampIndex(y, height) * width + clampIndex(x, width)]!;
}

/** A `lumaAt(x, y)` function over RGBA pixels (canvas ImageData.data), for the pattern decoders. */
export function rgbaLumaSampler(rgba: ArrayLike<number>, width: number, height: number): (x: number, y: number) => number {
  checkRgba(rgba, width, height);
  return (x, y) => rgbaLumaAt(rgba, width, height, x, y);
}

/** [Y, U, V] at (x, y) of an I420 frame (coordinates clamped). */
export function i420YuvAt(frame: I420Frame, x: number, y: number, out: number[] = [0, 0, 0]): number[] {
  const { width, height, data } = frame;
  const xi = clampIndex(x, width);
  const yi = clampIndex(y, height);
  const cw = chromaWidth(width);
  const cSize = cw * chromaHeight(height);
  const ci = width * height + (yi >> 1) * cw + (xi >> 1);
  out[0] = data[yi * width + xi]!;
  out[1] = data[ci]!;
  out[2] = data[ci + cSize]!;
  return out;
}

function clampIndex(v: number, size: number): number {
  const i = Math.floor(v);
  return i < 0 ? 0 : i >= size ? size - 1 : i;
}

function checkRgba(rgba: ArrayLike<number>, width: number, height: number): void {
  checkDimensions(width, height);
  if (rgba.length < width * height * 4) throw new RangeError(`RGBA ${width}x${height} needs ${width * height * 4} bytes, got ${rgba.length}`);
}

// ---------------------------------------------------------------------------------------------
// Whole frames

// Fixed-point tables (8 fractional bits) so the per-pixel work is adds, shifts and lookups.
const Y_TERM = new Int32Array(256);
const R_FROM_V = new Int32Array(256);
const G_FROM_U = new Int32Array(256);
const G_FROM_V = new Int32Array(256);
const B_FROM_U = new Int32Array(256);
/** clamp(v) = CLAMP[v + CLAMP_OFFSET] for every v the formulas can produce (-278..535). */
const CLAMP_OFFSET = 384;
const CLAMP = new Uint8Array(1024);
for (let i = 0; i < 256; i++) {
  Y_TERM[i] = 298 * (i - 16) + 128;
  R_FROM_V[i] = 409 * (i - 128);
  G_FROM_U[i] = -100 * (i - 128);
  G_FROM_V[i] = -208 * (i - 128);
  B_FROM_U[i] = 516 * (i - 128);
}
for (let i = 0; i < CLAMP.length; i++) CLAMP[i] = clamp255(i - CLAMP_OFFSET);
/** Added before the >> 8 so that the shifted value indexes CLAMP directly. */
const CLAMP_BIAS = CLAMP_OFFSET << 8;
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * I420 -> RGBA (alpha 255), one pass over the frame with integer arithmetic: each chroma sample
 * is looked up once for its 2x2 luma block. Writes into `out` when given (at least
 * width*height*4 bytes, e.g. a canvas ImageData's data), else into a new Uint8ClampedArray.
 */
export function i420ToRgba<T extends Uint8Array | Uint8ClampedArray = Uint8ClampedArray>(frame: I420Frame, out?: T): T {
  checkI420(frame);
  const { width, height, data } = frame;
  const rgba = (out ?? new Uint8ClampedArray(width * height * 4)) as T;
  if (rgba.length < width * height * 4) throw new RangeError(`RGBA output for ${width}x${height} needs ${width * height * 4} bytes, got ${rgba.length}`);
  const cw = chromaWidth(width);
  const ch = chromaHeight(height);
  const uBase = width * height;
  const vBase = uBase + cw * ch;
  // Little-endian machines (all we run on) store a pixel as one 32-bit word: R | G<<8 | B<<16 | A<<24.
  const words = LITTLE_ENDIAN && rgba.byteOffset % 4 === 0 ? new Uint32Array(rgba.buffer, rgba.byteOffset, width * height) : undefined;
  for (let cy = 0; cy < ch; cy++) {
    const rows = cy * 2 + 1 < height ? 2 : 1;
    for (let r = 0; r < rows; r++) {
      const yRow = cy * 2 + r;
      let yi = yRow * width;
      const ci0 = cy * cw;
      if (words) {
        let ci = ci0;
        for (let x = 0; x < width; x += 2, ci++) {
          const u = data[uBase + ci]!;
          const v = data[vBase + ci]!;
          const rv = R_FROM_V[v]! + CLAMP_BIAS;
          const guv = G_FROM_U[u]! + G_FROM_V[v]! + CLAMP_BIAS;
          const bu = B_FROM_U[u]! + CLAMP_BIAS;
          let t = Y_TERM[data[yi]!]!;
          words[yi++] = (CLAMP[(t + rv) >> 8]! | (CLAMP[(t + guv) >> 8]! << 8) | (CLAMP[(t + bu) >> 8]! << 16) | 0xff000000) >>> 0;
          if (x + 1 < width) {
            t = Y_TERM[data[yi]!]!;
            words[yi++] = (CLAMP[(t + rv) >> 8]! | (CLAMP[(t + guv) >> 8]! << 8) | (CLAMP[(t + bu) >> 8]! << 16) | 0xff000000) >>> 0;
          }
        }
        continue;
      }
      let o = yi * 4;
      let ci = ci0;
      for (let x = 0; x < width; x += 2, ci++) {
        const u = data[uBase + ci]!;
        const v = data[vBase + ci]!;
        const rv = R_FROM_V[v]! + CLAMP_BIAS;
        const guv = G_FROM_U[u]! + G_FROM_V[v]! + CLAMP_BIAS;
        const bu = B_FROM_U[u]! + CLAMP_BIAS;
        let t = Y_TERM[data[yi++]!]!;
        rgba[o] = CLAMP[(t + rv) >> 8]!;
        rgba[o + 1] = CLAMP[(t + guv) >> 8]!;
        rgba[o + 2] = CLAMP[(t + bu) >> 8]!;
        rgba[o + 3] = 255;
        o += 4;
        if (x + 1 < width) {
          t = Y_TERM[data[yi++]!]!;
          rgba[o] = CLAMP[(t + rv) >> 8]!;
          rgba[o + 1] = CLAMP[(t + guv) >> 8]!;
          rgba[o + 2] = CLAMP[(t + bu) >> 8]!;
          rgba[o + 3] = 255;
          o += 4;
        }
      }
    }
  }
  return rgba;
}

/**
 * RGBA (alpha ignored) -> I420. Chroma is computed from the average RGB of each 2x2 block (as
 * libyuv does). Writes into `out` when given (its width/height must match), else a new frame.
 */
export function rgbaToI420(rgba: ArrayLike<number>, width: number, height: number, out?: I420Frame): I420Frame {
  checkRgba(rgba, width, height);
  const frame = out ?? { width, height, data: new Uint8Array(i420Size(width, height)) };
  if (frame.width !== width || frame.height !== height) throw new RangeError(`output frame is ${frame.width}x${frame.height}, input ${width}x${height}`);
  checkI420(frame);
  const data = frame.data;
  const cw = chromaWidth(width);
  const ch = chromaHeight(height);
  const uBase = width * height;
  const vBase = uBase + cw * ch;
  for (let y = 0; y < height; y++) {
    let i = y * width * 4;
    let yi = y * width;
    for (let x = 0; x < width; x++, i += 4) {
      data[yi++] = ((66 * rgba[i]! + 129 * rgba[i + 1]! + 25 * rgba[i + 2]! + 128) >> 8) + 16;
    }
  }
  for (let cy = 0; cy < ch; cy++) {
    const y0 = cy * 2;
    const y1 = Math.min(y0 + 1, height - 1);
    for (let cx = 0; cx < cw; cx++) {
      const x0 = cx * 2;
      const x1 = Math.min(x0 + 1, width - 1);
      const a = (y0 * width + x0) * 4;
      const b = (y0 * width + x1) * 4;
      const c = (y1 * width + x0) * 4;
      const d = (y1 * width + x1) * 4;
      const r = (rgba[a]! + rgba[b]! + rgba[c]! + rgba[d]! + 2) >> 2;
      const g = (rgba[a + 1]! + rgba[b + 1]! + rgba[c + 1]! + rgba[d + 1]! + 2) >> 2;
      const bl = (rgba[a + 2]! + rgba[b + 2]! + rgba[c + 2]! + rgba[d + 2]! + 2) >> 2;
      const ci = cy * cw + cx;
      data[uBase + ci] = ((-38 * r - 74 * g + 112 * bl + 128) >> 8) + 128;
      data[vBase + ci] = ((112 * r - 94 * g - 18 * bl + 128) >> 8) + 128;
    }
  }
  return frame;
}
