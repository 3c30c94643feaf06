import { describe, expect, it } from 'vitest';
import { chromaHeight, chromaWidth, createI420Frame, i420Planes, i420ToRgba, rgbaToI420, type I420Frame } from '../../../src/shared/video/i420';
import {
  benchmarkTestPattern,
  CAPTURE_TIME_MODULO,
  decodeI420,
  decodePatternStrip,
  decodeRgba,
  FRAME_NUMBER_MODULO,
  patternLayout,
  patternMatch,
  patternMatchScore,
  patternMatchScoreRgba,
  STRIP_COLUMNS,
  STRIP_ROWS,
  TestPattern,
} from '../../../src/shared/video/test-pattern';

const NOW = 1_732_000_000_123; // a realistic Date.now()

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

function copyFrame(frame: I420Frame): I420Frame {
  return { width: frame.width, height: frame.height, data: new Uint8Array(frame.data) };
}

/** Plane descriptors of a frame: [offset, width, height] for Y, U, V. */
function planesOf(width: number, height: number): [number, number, number][] {
  const cw = chromaWidth(width);
  const ch = chromaHeight(height);
  return [
    [0, width, height],
    [width * height, cw, ch],
    [width * height + cw * ch, cw, ch],
  ];
}

/** Adds uniform noise in [-amount, amount] to every luma sample. */
function addLumaNoise(frame: I420Frame, amount: number, seed: number): I420Frame {
  const out = copyFrame(frame);
  const random = prng(seed);
  for (let i = 0; i < frame.width * frame.height; i++) {
    const noisy = out.data[i]! + Math.round((random() * 2 - 1) * amount);
    out.data[i] = Math.max(0, Math.min(255, noisy));
  }
  return out;
}

/** 3x3 box blur of every plane (edges clamped), like a soft, lossy encoder. */
function boxBlur(frame: I420Frame): I420Frame {
  const out = copyFrame(frame);
  for (const [offset, w, h] of planesOf(frame.width, frame.height)) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let sum = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const sx = Math.min(w - 1, Math.max(0, x + dx));
            const sy = Math.min(h - 1, Math.max(0, y + dy));
            sum += frame.data[offset + sy * w + sx]!;
          }
        }
        out.data[offset + y * w + x] = Math.round(sum / 9);
      }
    }
  }
  return out;
}

/** Nearest-neighbour resize of every plane to width x height. */
function resizeNearest(frame: I420Frame, width: number, height: number): I420Frame {
  const out = createI420Frame(width, height);
  const from = planesOf(frame.width, frame.height);
  const to = planesOf(width, height);
  for (let p = 0; p < 3; p++) {
    const [so, sw, sh] = from[p]!;
    const [dof, dw, dh] = to[p]!;
    for (let y = 0; y < dh; y++) {
      const sy = Math.min(sh - 1, Math.floor(((y + 0.5) * sh) / dh));
      for (let x = 0; x < dw; x++) {
        const sx = Math.min(sw - 1, Math.floor(((x + 0.5) * sw) / dw));
        out.data[dof + y * dw + x] = frame.data[so + sy * sw + sx]!;
      }
    }
  }
  return out;
}

/** Halves every plane by averaging 2x2 blocks. */
function downscale2xAverage(frame: I420Frame): I420Frame {
  const width = frame.width >> 1;
  const height = frame.height >> 1;
  const out = createI420Frame(width, height);
  const from = planesOf(frame.width, frame.height);
  const to = planesOf(width, height);
  for (let p = 0; p < 3; p++) {
    const [so, sw, sh] = from[p]!;
    const [dof, dw, dh] = to[p]!;
    for (let y = 0; y < dh; y++) {
      for (let x = 0; x < dw; x++) {
        const x0 = 2 * x;
        const y0 = 2 * y;
        const x1 = Math.min(sw - 1, x0 + 1);
        const y1 = Math.min(sh - 1, y0 + 1);
        const sum = frame.data[so + y0 * sw + x0]! + frame.data[so + y0 * sw + x1]! + frame.data[so + y1 * sw + x0]! + frame.data[so + y1 * sw + x1]!;
        out.data[dof + y * dw + x] = (sum + 2) >> 2;
      }
    }
  }
  return out;
}

/** Inverts one strip cell (row, column) of a frame rendered at its own size. */
function flipCell(frame: I420Frame, column: number, row: number): I420Frame {
  const out = copyFrame(frame);
  const layout = patternLayout(frame.width, frame.height);
  const x0 = Math.round(column * layout.cellWidth);
  const x1 = Math.round((column + 1) * layout.cellWidth);
  const y0 = Math.round(row * layout.rowHeight);
  const y1 = Math.round((row + 1) * layout.rowHeight);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) out.data[y * frame.width + x] = 251 - out.data[y * frame.width + x]!;
  return out;
}

function flatFrame(width: number, height: number, luma: number, chroma = 128): I420Frame {
  const frame = createI420Frame(width, height);
  frame.data.fill(luma, 0, width * height);
  frame.data.fill(chroma, width * height);
  return frame;
}

function noiseFrame(width: number, height: number, seed: number): I420Frame {
  const frame = createI420Frame(width, height);
  const random = prng(seed);
  for (let i = 0; i < frame.data.length; i++) frame.data[i] = Math.floor(random() * 256);
  return frame;
}

const SIZES: [number, number][] = [
  [320, 240],
  [640, 480],
  [1280, 720],
  [1920, 1080],
  [320, 180],
  [160, 120],
  [64, 48],
  [240, 320],
];

describe('TestPattern.render', () => {
  it('reuses one frame object and buffer', () => {
    const pattern = new TestPattern(320, 240);
    const a = pattern.render(1, NOW);
    const b = pattern.render(2, NOW + 33);
    expect(b).toBe(a);
    expect(b.data).toBe(a.data);
    expect(a.data.length).toBe(320 * 240 * 1.5);
    expect(a.width).toBe(320);
    expect(a.height).toBe(240);
  });

  it('rejects sizes it cannot render', () => {
    expect(() => new TestPattern(321, 240)).toThrow(RangeError);
    expect(() => new TestPattern(320, 241)).toThrow(RangeError);
    expect(() => new TestPattern(32, 24)).toThrow(RangeError);
  });

  it('keeps strip cells at least 8 px wide and 16 px tall at 320x240, scaled with the frame', () => {
    const small = patternLayout(320, 240);
    expect(small.cellWidth).toBeGreaterThanOrEqual(8);
    expect(small.rowHeight).toBeGreaterThanOrEqual(16);
    const hd = patternLayout(1280, 720);
    expect(hd.cellWidth).toBe(32);
    expect(hd.rowHeight).toBe(48);
    expect(hd.text.scale).toBeGreaterThan(small.text.scale);
  });

  it('keeps the strip black and white with neutral chroma', () => {
    const pattern = new TestPattern(320, 240);
    const frame = pattern.render(123456, NOW);
    const { y, u, v, chromaWidth: cw } = i420Planes(frame);
    const stripBottom = pattern.layout.stripBottom;
    let notBlackOrWhite = 0;
    for (let i = 0; i < stripBottom * 320; i++) if (y[i] !== 16 && y[i] !== 235) notBlackOrWhite++;
    let notNeutral = 0;
    for (let i = 0; i < (stripBottom / 2) * cw; i++) if (u[i] !== 128 || v[i] !== 128) notNeutral++;
    expect(notBlackOrWhite).toBe(0);
    expect(notNeutral).toBe(0);
    expect(stripBottom).toBeGreaterThan(3 * 16);
  });

  it('moves: the gradient band and the sweep bar change with time, the text with the frame', () => {
    const pattern = new TestPattern(320, 240);
    const a = copyFrame(pattern.render(1, NOW));
    const b = copyFrame(pattern.render(1, NOW + 100));
    const c = copyFrame(pattern.render(2, NOW));
    const layout = pattern.layout;
    const differs = (f: I420Frame, g: I420Frame, y0: number, y1: number) => {
      let count = 0;
      for (let i = y0 * 320; i < y1 * 320; i++) if (f.data[i] !== g.data[i]) count++;
      return count;
    };
    expect(differs(a, b, layout.gradient.y0, layout.gradient.y1)).toBeGreaterThan(1000);
    expect(differs(a, b, layout.bars.y0, layout.bars.y1)).toBeGreaterThan(100); // the sweep bar moved
    expect(differs(a, c, layout.text.y0, layout.text.y1)).toBeGreaterThan(0);
    expect(differs(a, c, layout.bars.y0, 240)).toBe(0);
  });

  it('renders 1280x720 fast (smoke check; real numbers: benchmarkTestPattern in bench/)', () => {
    const pattern = new TestPattern(1280, 720);
    const start = performance.now();
    for (let i = 0; i < 200; i++) pattern.render(i, NOW + i * 33);
    expect(performance.now() - start).toBeLessThan(2000);
  });

  it('exports a benchmark hook that also checks every frame decodes', () => {
    const result = benchmarkTestPattern(640, 480, 20);
    expect(result.frames).toBe(20);
    expect(result.decodedOk).toBe(20);
    expect(result.renderMsPerFrame).toBeGreaterThan(0);
  });
});

describe('decodePatternStrip', () => {
  it.each(SIZES)('round-trips at %ix%i', (width, height) => {
    const pattern = new TestPattern(width, height);
    for (const [frameNumber, time] of [
      [0, 0],
      [1, NOW],
      [FRAME_NUMBER_MODULO - 1, CAPTURE_TIME_MODULO - 1],
      [0xaaaaaa, 0x555555555555],
      [0x555555, 0xaaaaaaaaaaaa],
    ] as const) {
      expect(decodeI420(pattern.render(frameNumber, time))).toEqual({ frameNumber, captureTimeMs: time });
    }
  });

  it('round-trips edge values and many random ones', () => {
    const pattern = new TestPattern(320, 240);
    const cases: [number, number][] = [
      [0, 0],
      [1, 1],
      [FRAME_NUMBER_MODULO - 1, NOW],
      [2 ** 32 - 1, 2 ** 32 - 1],
      [0, 2 ** 32],
      [12345, 2 ** 47],
      [FRAME_NUMBER_MODULO - 1, CAPTURE_TIME_MODULO - 1],
      [0, 8_640_000_000_000], // the largest Date
    ];
    const random = prng(42);
    for (let i = 0; i < 300; i++) cases.push([Math.floor(random() * FRAME_NUMBER_MODULO), Math.floor(random() * CAPTURE_TIME_MODULO)]);
    for (let i = 0; i < 100; i++) cases.push([i, NOW + i * 33]);
    for (const [frameNumber, time] of cases) {
      const stamp = decodeI420(pattern.render(frameNumber, time));
      expect(stamp).toEqual({ frameNumber: frameNumber % FRAME_NUMBER_MODULO, captureTimeMs: time % CAPTURE_TIME_MODULO });
    }
  });

  it('wraps the frame number at 2^24 and truncates fractional times', () => {
    const pattern = new TestPattern(320, 240);
    expect(decodeI420(pattern.render(FRAME_NUMBER_MODULO, NOW))?.frameNumber).toBe(0);
    expect(decodeI420(pattern.render(FRAME_NUMBER_MODULO + 5, NOW))?.frameNumber).toBe(5);
    expect(decodeI420(pattern.render(-1, NOW))?.frameNumber).toBe(FRAME_NUMBER_MODULO - 1);
    expect(decodeI420(pattern.render(7, NOW + 0.9))?.captureTimeMs).toBe(NOW);
    expect(() => pattern.render(Number.NaN, NOW)).toThrow(RangeError);
    expect(() => pattern.render(0, Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it('survives ±20 luma noise', () => {
    for (const [width, height] of [
      [320, 240],
      [1280, 720],
      [160, 120],
    ] as const) {
      const pattern = new TestPattern(width, height);
      for (let i = 0; i < 20; i++) {
        const time = NOW + i * 1001;
        expect(decodeI420(addLumaNoise(pattern.render(i * 7919, time), 20, i))).toEqual({ frameNumber: i * 7919, captureTimeMs: time });
      }
    }
  });

  it('survives a 3x3 box blur (twice)', () => {
    const pattern = new TestPattern(320, 240);
    for (let i = 0; i < 10; i++) {
      const frame = pattern.render(i * 99991, NOW + i * 37);
      expect(decodeI420(boxBlur(frame))).toEqual({ frameNumber: i * 99991, captureTimeMs: NOW + i * 37 });
      expect(decodeI420(boxBlur(boxBlur(addLumaNoise(frame, 20, i))))).toEqual({ frameNumber: i * 99991, captureTimeMs: NOW + i * 37 });
    }
  });

  it('survives downscaling 2x, nearest and averaging', () => {
    for (const [width, height] of [
      [320, 240],
      [640, 480],
      [1280, 720],
    ] as const) {
      const pattern = new TestPattern(width, height);
      const frame = pattern.render(4242, NOW);
      const expected = { frameNumber: 4242, captureTimeMs: NOW };
      expect(decodeI420(resizeNearest(frame, width / 2, height / 2))).toEqual(expected);
      expect(decodeI420(downscale2xAverage(frame))).toEqual(expected);
      expect(decodeI420(boxBlur(downscale2xAverage(frame)))).toEqual(expected);
    }
  });

  it('survives other scalings that keep the aspect ratio, and upscaling', () => {
    const pattern = new TestPattern(1280, 720);
    const frame = pattern.render(777, NOW);
    for (const [width, height] of [
      [960, 540],
      [854, 480],
      [640, 360],
      [427, 240],
      [320, 180],
      [1920, 1080],
    ] as const) {
      expect(decodeI420(resizeNearest(frame, width, height))).toEqual({ frameNumber: 777, captureTimeMs: NOW });
    }
    const small = new TestPattern(320, 240).render(778, NOW);
    expect(decodeI420(resizeNearest(small, 1280, 960))).toEqual({ frameNumber: 778, captureTimeMs: NOW });
  });

  it('decodes RGBA (canvas ImageData) and survives I420 -> RGBA -> I420', () => {
    for (const [width, height] of [
      [320, 240],
      [1280, 720],
    ] as const) {
      const frame = new TestPattern(width, height).render(99, NOW);
      const rgba = i420ToRgba(frame);
      expect(decodeRgba(rgba, width, height)).toEqual({ frameNumber: 99, captureTimeMs: NOW });
      expect(decodeI420(rgbaToI420(rgba, width, height))).toEqual({ frameNumber: 99, captureTimeMs: NOW });
    }
  });

  it('reads through any lumaAt function', () => {
    const frame = new TestPattern(320, 240).render(5, NOW);
    const calls: [number, number][] = [];
    const stamp = decodePatternStrip(
      (x, y) => {
        calls.push([x, y]);
        return frame.data[y * 320 + x]!;
      },
      320,
      240,
    );
    expect(stamp).toEqual({ frameNumber: 5, captureTimeMs: NOW });
    expect(calls.every(([x, y]) => Number.isInteger(x) && Number.isInteger(y) && x >= 0 && x < 320 && y >= 0 && y < 240)).toBe(true);
  });

  it('returns undefined when any single cell is flipped (sync, tag, data or CRC)', () => {
    const frame = copyFrame(new TestPattern(320, 240).render(0x123456, NOW));
    expect(decodeI420(frame)).toBeDefined();
    for (let row = 0; row < STRIP_ROWS; row++) {
      for (let column = 1; column < STRIP_COLUMNS - 1; column++) {
        expect(decodeI420(flipCell(frame, column, row)), `cell ${column},${row}`).toBeUndefined();
      }
    }
  });

  it('never returns a wrong value for randomly damaged strips', () => {
    const frame = copyFrame(new TestPattern(320, 240).render(31337, NOW));
    const random = prng(1);
    let undecoded = 0;
    for (let i = 0; i < 500; i++) {
      let damaged = frame;
      const flips = 1 + Math.floor(random() * 6);
      for (let f = 0; f < flips; f++) damaged = flipCell(damaged, Math.floor(random() * STRIP_COLUMNS), Math.floor(random() * STRIP_ROWS));
      const stamp = decodeI420(damaged);
      if (stamp === undefined) undecoded++;
      else expect(stamp).toEqual({ frameNumber: 31337, captureTimeMs: NOW });
    }
    expect(undecoded).toBeGreaterThan(400);
  });

  it('returns undefined for pictures that are not the pattern', () => {
    expect(decodeI420(flatFrame(320, 240, 16))).toBeUndefined();
    expect(decodeI420(flatFrame(320, 240, 235))).toBeUndefined();
    expect(decodeI420(flatFrame(320, 240, 128))).toBeUndefined();
    for (let seed = 0; seed < 50; seed++) expect(decodeI420(noiseFrame(320, 240, seed))).toBeUndefined();
    // The negative of the pattern has the sync cells the wrong way round.
    const frame = copyFrame(new TestPattern(320, 240).render(1, NOW));
    for (let i = 0; i < 320 * 240; i++) frame.data[i] = 251 - frame.data[i]!;
    expect(decodeI420(frame)).toBeUndefined();
    // Too small to hold a strip.
    expect(decodeI420(flatFrame(20, 16, 16))).toBeUndefined();
  });
});

describe('patternMatchScore', () => {
  it('is 1 for rendered frames wherever the sweep bar is', () => {
    const pattern = new TestPattern(320, 240);
    for (let t = 0; t < 2000; t += 50) expect(patternMatchScore(pattern.render(t, NOW + t))).toBe(1);
    expect(patternMatchScore(new TestPattern(1280, 720).render(0, NOW))).toBe(1);
  });

  it('is high after noise, blur, scaling and RGBA conversion', () => {
    const frame = copyFrame(new TestPattern(640, 480).render(3, NOW));
    expect(patternMatchScore(addLumaNoise(frame, 20, 3))).toBeGreaterThanOrEqual(6 / 7);
    expect(patternMatchScore(boxBlur(frame))).toBe(1);
    expect(patternMatchScore(downscale2xAverage(frame), 640, 480)).toBe(1);
    expect(patternMatchScore(resizeNearest(frame, 427, 320), 640, 480)).toBe(1);
    expect(patternMatchScoreRgba(i420ToRgba(frame), 640, 480)).toBe(1);
  });

  it('is low for noise, flat grey and other pictures', () => {
    for (let seed = 0; seed < 10; seed++) expect(patternMatchScore(noiseFrame(320, 240, seed))).toBeLessThanOrEqual(1 / 7);
    expect(patternMatchScore(flatFrame(320, 240, 128))).toBe(0);
    expect(patternMatchScore(flatFrame(320, 240, 16))).toBe(0);
    expect(patternMatchScore(flatFrame(320, 240, 235))).toBe(0);
    // The bars in the wrong order (mirrored) do not match.
    const frame = new TestPattern(320, 240).render(0, NOW);
    const mirrored = createI420Frame(320, 240);
    for (const [offset, w, h] of planesOf(320, 240)) {
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) mirrored.data[offset + y * w + x] = frame.data[offset + y * w + (w - 1 - x)]!;
    }
    expect(patternMatchScore(mirrored)).toBeLessThanOrEqual(1 / 7);
  });

  it('reports what it measured per region', () => {
    const frame = new TestPattern(320, 240).render(0, NOW);
    const match = patternMatch(
      (x, y, out) => {
        out[0] = frame.data[y * 320 + x]!;
        out[1] = frame.data[320 * 240 + (y >> 1) * 160 + (x >> 1)]!;
        out[2] = frame.data[320 * 240 + 160 * 120 + (y >> 1) * 160 + (x >> 1)]!;
      },
      320,
      240,
    );
    expect(match.score).toBe(1);
    expect(match.regions.map((r) => r.name)).toEqual(['white', 'yellow', 'cyan', 'green', 'magenta', 'red', 'blue']);
    expect(match.regions.every((r) => r.measured.every((m, c) => m === r.expected[c]))).toBe(true);
  });
});
