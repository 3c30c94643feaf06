/**
 * The built-in test pattern (the camera daemon's default video source) and reading it back
 * from pixels (tests, the CLI and the desktop renderer measure glass-to-glass latency with it).
 *
 * Picture, top to bottom (all positions are fractions of the frame size, see `patternLayout`):
 *
 *   - The machine-readable strip: 3 rows x 40 columns of equal cells, each black (Y=16) or white
 *     (Y=235), chroma neutral (U=V=128). Columns 0 and 39 and a band below the rows are a black
 *     quiet zone. Columns 1..38 of each row hold 2 sync cells (row 0: white, black; row 1: black,
 *     white; row 2: white, black) and 36 data cells: 108 data bits, most significant first,
 *     row by row: a 4-bit format tag (0b1010), the capture time (48 bits, ms since the epoch),
 *     the frame number (24 bits) and a CRC-32 (IEEE) of the 10 bytes [tag, time (6, big
 *     endian), frame (3, big endian)]. A cell is width/40 wide and min(width/20, height/15)
 *     tall: 8 x 16 px at 320x240, 16 x 32 at 640x480, 32 x 48 at 1280x720, so it survives
 *     low-bitrate VP8/H.264 (cells are sampled at their centre).
 *   - A text band: "#<frame number, 8 digits>  HH:MM:SS.mmm" (capture time, UTC unless an
 *     offset is given) in a built-in 5x7 digit font scaled to whole pixels, white on black.
 *   - 75% colour bars (white, yellow, cyan, green, magenta, red, blue), static, so a received
 *     picture can be checked against them (`patternMatchScore`).
 *   - A moving gradient: a luma ramp travelling diagonally one period per second and a chroma
 *     wave travelling the other way, so an encoder has real motion everywhere in that band.
 *   - A white vertical bar sweeping across the bars and the gradient, one full width per 2 s.
 *
 * The decoder derives every position from the width and height of the frame it is given, so a
 * frame that the sender or receiver scaled (keeping the aspect ratio, as WebRTC does) still
 * decodes. It returns undefined unless the sync cells, the tag and the CRC all check out: a
 * damaged strip gives no value rather than a wrong one.
 *
 * Pure TypeScript without I/O: the browser decodes the strip from canvas pixels with this too.
 */
import {
  chromaHeight,
  chromaWidth,
  createI420Frame,
  i420LumaSampler,
  i420YuvAt,
  rgbaLumaSampler,
  rgbToYuv,
  UV_NEUTRAL,
  Y_BLACK,
  Y_WHITE,
  type I420Frame,
} from './i420';

/** What the strip carries. */
export interface PatternStamp {
  /** Milliseconds since the epoch when the frame was rendered (48 bits). */
  captureTimeMs: number;
  /** The frame number modulo 2^24. */
  frameNumber: number;
}

export const STRIP_COLUMNS = 40;
export const STRIP_ROWS = 3;
const DATA_CELLS_PER_ROW = 36;
const SYNC_CELLS_PER_ROW = 2;
/** Sync cells per row (1 = white): row 0 WB, row 1 BW, row 2 WB. */
const SYNC: readonly (readonly [number, number])[] = [
  [1, 0],
  [0, 1],
  [1, 0],
];
const FORMAT_TAG = 0b1010;
const TAG_BITS = 4;
const TIME_BITS = 48;
const FRAME_BITS = 24;
const CRC_BITS = 32;
const DATA_BITS = TAG_BITS + TIME_BITS + FRAME_BITS + CRC_BITS; // 108 = 3 * 36
export const FRAME_NUMBER_MODULO = 2 ** FRAME_BITS;
export const CAPTURE_TIME_MODULO = 2 ** TIME_BITS;
/** The strip's quiet band below the rows, in row heights. */
const QUIET_BAND_ROWS = 0.25;
/** Smallest frame the pattern renders at. */
export const MIN_PATTERN_WIDTH = 64;
export const MIN_PATTERN_HEIGHT = 48;
/** Smallest frame the decoder tries (cells of 1 x 2 px). */
const MIN_DECODE_WIDTH = 40;
const MIN_DECODE_HEIGHT = 30;
/** The sync cells must differ by at least this much luma (nominal: 219). */
const MIN_SYNC_CONTRAST = 60;

const SWEEP_PERIOD_MS = 2000;

// ---------------------------------------------------------------------------------------------
// Layout

export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface PatternLayout {
  width: number;
  height: number;
  /** Width of a strip cell (width / 40) and height of a strip row, in px (fractional). */
  cellWidth: number;
  rowHeight: number;
  /** The strip including its quiet band: rows [0, stripBottom). */
  stripBottom: number;
  text: Rect & { scale: number; originX: number; originY: number };
  bars: Rect;
  /** x boundaries of the 7 colour bars (8 values). */
  barEdges: number[];
  gradient: Rect;
  sweepWidth: number;
}

/** Number of characters in the text line: "#" + 8 digits + 2 spaces + "HH:MM:SS.mmm". */
const TEXT_CHARS = 1 + 8 + 2 + 12;
const GLYPH_W = 5;
const GLYPH_H = 7;
const GLYPH_ADVANCE = 6;

/** The row height of the strip for a frame of this size (the same formula for render and decode). */
function stripRowHeight(width: number, height: number): number {
  return Math.min(width / 20, height / 15);
}

const even = (v: number) => 2 * Math.round(v / 2);

/** Where render() puts everything in a frame of this size. */
export function patternLayout(width: number, height: number): PatternLayout {
  const cellWidth = width / STRIP_COLUMNS;
  const rowHeight = stripRowHeight(width, height);
  const stripBottom = even((STRIP_ROWS + QUIET_BAND_ROWS) * rowHeight);
  const scale = Math.max(1, Math.floor(Math.min(rowHeight / 8, width / (GLYPH_ADVANCE * TEXT_CHARS + 4))));
  const pad = 2 * scale;
  const textBottom = Math.min(height, even(stripBottom + GLYPH_H * scale + 2 * pad));
  const textWidth = (GLYPH_ADVANCE * TEXT_CHARS - 1) * scale;
  const barsTop = textBottom;
  const barsBottom = Math.min(height, even(barsTop + (height - barsTop) * 0.6));
  const barEdges = Array.from({ length: 8 }, (_, i) => even((i * width) / 7));
  return {
    width,
    height,
    cellWidth,
    rowHeight,
    stripBottom,
    text: { x0: 0, y0: stripBottom, x1: width, y1: textBottom, scale, originX: even(Math.max(0, (width - textWidth) / 2)), originY: stripBottom + pad },
    bars: { x0: 0, y0: barsTop, x1: width, y1: barsBottom },
    barEdges,
    gradient: { x0: 0, y0: barsBottom, x1: width, y1: height },
    sweepWidth: Math.max(2, even(cellWidth)),
  };
}

/** 75% colour bars, left to right. */
export const COLOUR_BARS: readonly { name: string; rgb: readonly [number, number, number] }[] = [
  { name: 'white', rgb: [191, 191, 191] },
  { name: 'yellow', rgb: [191, 191, 0] },
  { name: 'cyan', rgb: [0, 191, 191] },
  { name: 'green', rgb: [0, 191, 0] },
  { name: 'magenta', rgb: [191, 0, 191] },
  { name: 'red', rgb: [191, 0, 0] },
  { name: 'blue', rgb: [0, 0, 191] },
];
const BAR_YUV = COLOUR_BARS.map((bar) => rgbToYuv(...bar.rgb));

// ---------------------------------------------------------------------------------------------
// Font: 5x7 digits and the few signs the text line needs

const FONT_SOURCE: Record<string, string> = {
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  '#': '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.',
  ' ': '..... ..... ..... ..... ..... ..... .....',
};
const GLYPH_CHARS = Object.keys(FONT_SOURCE);
/** Per glyph index: the set pixels as [col, row] pairs, flattened. */
const GLYPHS: readonly Uint8Array[] = GLYPH_CHARS.map((ch) => {
  const rows = FONT_SOURCE[ch]!.split(' ');
  const pixels: number[] = [];
  rows.forEach((row, y) => {
    for (let x = 0; x < GLYPH_W; x++) if (row[x] === '#') pixels.push(x, y);
  });
  return Uint8Array.from(pixels);
});
const G = (ch: string) => GLYPH_CHARS.indexOf(ch);
const G_DIGIT0 = G('0');
const G_HASH = G('#');
const G_SPACE = G(' ');
const G_COLON = G(':');
const G_DOT = G('.');

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected, as zlib)

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Writes the 108 data bits for (time, frame) into `bits`, using `bytes` (10) as scratch. */
function encodeBits(captureTimeMs: number, frameNumber: number, bits: Uint8Array, bytes: Uint8Array): void {
  const hi = Math.floor(captureTimeMs / 2 ** 32); // 16 bits
  const lo = captureTimeMs >>> 0;
  bytes[0] = FORMAT_TAG;
  bytes[1] = (hi >>> 8) & 0xff;
  bytes[2] = hi & 0xff;
  bytes[3] = (lo >>> 24) & 0xff;
  bytes[4] = (lo >>> 16) & 0xff;
  bytes[5] = (lo >>> 8) & 0xff;
  bytes[6] = lo & 0xff;
  bytes[7] = (frameNumber >>> 16) & 0xff;
  bytes[8] = (frameNumber >>> 8) & 0xff;
  bytes[9] = frameNumber & 0xff;
  const crc = crc32(bytes);
  let i = 0;
  const put = (value: number, count: number) => {
    for (let b = count - 1; b >= 0; b--) bits[i++] = (value >>> b) & 1;
  };
  put(FORMAT_TAG, TAG_BITS);
  put(hi, 16);
  put(lo, 32);
  put(frameNumber, FRAME_BITS);
  put(crc, CRC_BITS);
}

function normalizeTime(captureTimeMs: number): number {
  if (!Number.isFinite(captureTimeMs)) throw new RangeError(`capture time must be finite, got ${captureTimeMs}`);
  const t = Math.floor(captureTimeMs) % CAPTURE_TIME_MODULO;
  return t < 0 ? t + CAPTURE_TIME_MODULO : t;
}

function normalizeFrameNumber(frameNumber: number): number {
  if (!Number.isFinite(frameNumber)) throw new RangeError(`frame number must be finite, got ${frameNumber}`);
  const n = Math.floor(frameNumber) % FRAME_NUMBER_MODULO;
  return n < 0 ? n + FRAME_NUMBER_MODULO : n;
}

const mod = (a: number, m: number) => ((a % m) + m) % m;

// ---------------------------------------------------------------------------------------------
// Rendering

export interface TestPatternOptions {
  /** Added to the capture time for the human-readable clock only (e.g. local time); default 0 (UTC). */
  clockOffsetMinutes?: number;
}

/**
 * Renders the pattern into one reused I420 buffer: `render()` returns the same frame object
 * every time, so use (or copy) it before the next call. `RTCVideoSource.onFrame` copies.
 */
export class TestPattern {
  readonly width: number;
  readonly height: number;
  readonly layout: PatternLayout;
  private readonly frame: I420Frame<Uint8Array>;
  /** Everything static (strip background, text band, colour bars), copied in each frame. */
  private readonly base: Uint8Array;
  private readonly bits = new Uint8Array(DATA_BITS);
  private readonly bytes = new Uint8Array(10);
  private readonly text = new Uint8Array(TEXT_CHARS);
  private readonly lumaRamp: Uint8Array;
  private readonly chromaWaveU: Uint8Array;
  private readonly chromaWaveV: Uint8Array;
  private readonly clockOffsetMs: number;

  constructor(width: number, height: number, options: TestPatternOptions = {}) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width % 2 || height % 2 || width < MIN_PATTERN_WIDTH || height < MIN_PATTERN_HEIGHT) {
      throw new RangeError(`test pattern size must be even and at least ${MIN_PATTERN_WIDTH}x${MIN_PATTERN_HEIGHT}, got ${width}x${height}`);
    }
    this.width = width;
    this.height = height;
    this.clockOffsetMs = (options.clockOffsetMinutes ?? 0) * 60_000;
    this.layout = patternLayout(width, height);
    this.frame = createI420Frame(width, height);
    this.base = new Uint8Array(this.frame.data.length);
    this.drawStatic();
    const gradientRows = this.layout.gradient.y1 - this.layout.gradient.y0;
    this.lumaRamp = new Uint8Array(width + gradientRows);
    const chromaRows = gradientRows >> 1;
    this.chromaWaveU = new Uint8Array((width >> 1) + chromaRows);
    this.chromaWaveV = new Uint8Array((width >> 1) + chromaRows);
  }

  /** The frame for (frameNumber mod 2^24, captureTimeMs mod 2^48); the same object every call. */
  render(frameNumber: number, captureTimeMs: number): I420Frame<Uint8Array> {
    const t = normalizeTime(captureTimeMs);
    const n = normalizeFrameNumber(frameNumber);
    const { width, height, layout } = this;
    const data = this.frame.data;
    const ySize = width * height;
    const cw = chromaWidth(width);
    const cSize = cw * chromaHeight(height);
    // Static part above the gradient (the gradient band is overwritten completely).
    const staticRows = layout.gradient.y0;
    data.set(this.base.subarray(0, staticRows * width), 0);
    data.set(this.base.subarray(ySize, ySize + (staticRows >> 1) * cw), ySize);
    data.set(this.base.subarray(ySize + cSize, ySize + cSize + (staticRows >> 1) * cw), ySize + cSize);
    this.drawGradient(t);
    this.drawSweep(t);
    this.drawStrip(t, n);
    this.drawText(t, n);
    return this.frame;
  }

  private drawStatic(): void {
    const { width, height, layout } = this;
    const base = this.base;
    const ySize = width * height;
    const cw = chromaWidth(width);
    const cSize = cw * chromaHeight(height);
    base.fill(Y_BLACK, 0, ySize);
    base.fill(UV_NEUTRAL, ySize);
    // Colour bars (edges are even, so chroma columns never straddle two bars).
    const { y0, y1 } = layout.bars;
    for (let i = 0; i < 7; i++) {
      const [yy, uu, vv] = BAR_YUV[i]!;
      const x0 = layout.barEdges[i]!;
      const x1 = layout.barEdges[i + 1]!;
      for (let y = y0; y < y1; y++) base.fill(yy, y * width + x0, y * width + x1);
      for (let cy = y0 >> 1; cy < y1 >> 1; cy++) {
        base.fill(uu, ySize + cy * cw + (x0 >> 1), ySize + cy * cw + (x1 >> 1));
        base.fill(vv, ySize + cSize + cy * cw + (x0 >> 1), ySize + cSize + cy * cw + (x1 >> 1));
      }
    }
  }

  /** Luma ramp moving along x+y, chroma wave along x-y the other way; one row = a slice of a LUT. */
  private drawGradient(t: number): void {
    const { width, height, layout } = this;
    const data = this.frame.data;
    const { y0, y1 } = layout.gradient;
    const rows = y1 - y0;
    if (rows <= 0) return;
    const period = Math.max(16, even(width / 5));
    const phase = (mod(t, 1000) / 1000) * period;
    const ramp = this.lumaRamp;
    for (let k = 0; k < ramp.length; k++) {
      const p = mod(k - phase, period) / period; // 0..1
      const tri = p < 0.5 ? p * 2 : 2 - p * 2;
      ramp[k] = Y_BLACK + Math.round(tri * (Y_WHITE - Y_BLACK));
    }
    for (let r = 0; r < rows; r++) {
      const start = (y0 + r) * width;
      data.set(ramp.subarray(r, r + width), start);
    }
    const cw = chromaWidth(width);
    const ySize = width * height;
    const cSize = cw * chromaHeight(height);
    const cRows = rows >> 1;
    const cPeriod = Math.max(8, period);
    const cPhase = (mod(t, 4000) / 4000) * cPeriod;
    const waveU = this.chromaWaveU;
    const waveV = this.chromaWaveV;
    for (let k = 0; k < waveU.length; k++) {
      const a = (2 * Math.PI * (k + cPhase)) / cPeriod;
      waveU[k] = UV_NEUTRAL + Math.round(96 * Math.sin(a));
      waveV[k] = UV_NEUTRAL + Math.round(96 * Math.cos(a));
    }
    const cy0 = y0 >> 1;
    for (let r = 0; r < cRows; r++) {
      const offset = cRows - r; // x - y: rows further down start further left in the wave
      const at = (cy0 + r) * cw;
      data.set(waveU.subarray(offset, offset + cw), ySize + at);
      data.set(waveV.subarray(offset, offset + cw), ySize + cSize + at);
    }
  }

  /** A white bar over the bars and the gradient, one width per SWEEP_PERIOD_MS. */
  private drawSweep(t: number): void {
    const { width, layout } = this;
    const data = this.frame.data;
    const ySize = width * this.height;
    const cw = chromaWidth(width);
    const cSize = cw * chromaHeight(this.height);
    const x = even((mod(t, SWEEP_PERIOD_MS) / SWEEP_PERIOD_MS) * width) % width;
    const w = layout.sweepWidth;
    const spans: [number, number][] = x + w <= width ? [[x, x + w]] : [[x, width], [0, x + w - width]];
    const y0 = layout.bars.y0;
    const y1 = this.height;
    for (const [a, b] of spans) {
      for (let y = y0; y < y1; y++) data.fill(Y_WHITE, y * width + a, y * width + b);
      for (let cy = y0 >> 1; cy < y1 >> 1; cy++) {
        data.fill(UV_NEUTRAL, ySize + cy * cw + (a >> 1), ySize + cy * cw + (b >> 1));
        data.fill(UV_NEUTRAL, ySize + cSize + cy * cw + (a >> 1), ySize + cSize + cy * cw + (b >> 1));
      }
    }
  }

  /** White cells on the (static, black) strip background. */
  private drawStrip(t: number, n: number): void {
    encodeBits(t, n, this.bits, this.bytes);
    const { width, layout } = this;
    const data = this.frame.data;
    const cell = (column: number, row: number) => {
      const x0 = Math.round(column * layout.cellWidth);
      const x1 = Math.round((column + 1) * layout.cellWidth);
      const y0 = Math.round(row * layout.rowHeight);
      const y1 = Math.round((row + 1) * layout.rowHeight);
      for (let y = y0; y < y1; y++) data.fill(Y_WHITE, y * width + x0, y * width + x1);
    };
    for (let row = 0; row < STRIP_ROWS; row++) {
      const sync = SYNC[row]!;
      for (let k = 0; k < SYNC_CELLS_PER_ROW; k++) if (sync[k]) cell(1 + k, row);
      for (let k = 0; k < DATA_CELLS_PER_ROW; k++) {
        if (this.bits[row * DATA_CELLS_PER_ROW + k]) cell(1 + SYNC_CELLS_PER_ROW + k, row);
      }
    }
  }

  /** "#nnnnnnnn  HH:MM:SS.mmm" in white on the black text band. */
  private drawText(t: number, n: number): void {
    const text = this.text;
    let i = 0;
    text[i++] = G_HASH;
    for (let d = 7; d >= 0; d--) text[i++] = G_DIGIT0 + (Math.floor(n / 10 ** d) % 10);
    text[i++] = G_SPACE;
    text[i++] = G_SPACE;
    const ms = mod(t + this.clockOffsetMs, 86_400_000);
    const fields = [Math.floor(ms / 3_600_000), Math.floor(ms / 60_000) % 60, Math.floor(ms / 1000) % 60];
    for (let f = 0; f < 3; f++) {
      text[i++] = G_DIGIT0 + Math.floor(fields[f]! / 10);
      text[i++] = G_DIGIT0 + (fields[f]! % 10);
      text[i++] = f < 2 ? G_COLON : G_DOT;
    }
    const millis = ms % 1000;
    text[i++] = G_DIGIT0 + Math.floor(millis / 100);
    text[i++] = G_DIGIT0 + (Math.floor(millis / 10) % 10);
    text[i] = G_DIGIT0 + (millis % 10);

    const { width, layout } = this;
    const { scale, originX, originY } = layout.text;
    const yLimit = layout.text.y1;
    const data = this.frame.data;
    for (let c = 0; c < TEXT_CHARS; c++) {
      const glyph = GLYPHS[text[c]!]!;
      const gx = originX + c * GLYPH_ADVANCE * scale;
      for (let p = 0; p < glyph.length; p += 2) {
        const x0 = gx + glyph[p]! * scale;
        const y0 = originY + glyph[p + 1]! * scale;
        const x1 = Math.min(width, x0 + scale);
        const y1 = Math.min(yLimit, y0 + scale);
        for (let y = y0; y < y1; y++) if (x0 < x1) data.fill(Y_WHITE, y * width + x0, y * width + x1);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding the strip

/** Sample fractions inside a cell (3 x 3 points around its centre). */
const SAMPLE_FRACTIONS = [0.3, 0.5, 0.7];

/**
 * Reads the strip of a frame of `width` x `height` through `lumaAt` (limited-range luma, 16 =
 * black, 235 = white, at integer pixel coordinates). Undefined unless sync, tag and CRC check.
 */
export function decodePatternStrip(lumaAt: (x: number, y: number) => number, width: number, height: number): PatternStamp | undefined {
  if (!(width >= MIN_DECODE_WIDTH && height >= MIN_DECODE_HEIGHT)) return undefined;
  const cellWidth = width / STRIP_COLUMNS;
  const rowHeight = stripRowHeight(width, height);
  const cell = (column: number, row: number): number => {
    let sum = 0;
    for (const fy of SAMPLE_FRACTIONS) {
      const y = Math.floor((row + fy) * rowHeight);
      for (const fx of SAMPLE_FRACTIONS) sum += lumaAt(Math.floor((column + fx) * cellWidth), y);
    }
    return sum / (SAMPLE_FRACTIONS.length * SAMPLE_FRACTIONS.length);
  };

  // References: the sync cells and the quiet columns.
  let whiteMin = Infinity;
  let whiteSum = 0;
  let whiteCount = 0;
  let blackMax = -Infinity;
  let blackSum = 0;
  let blackCount = 0;
  const reference = (value: number, white: boolean) => {
    if (white) {
      whiteMin = Math.min(whiteMin, value);
      whiteSum += value;
      whiteCount++;
    } else {
      blackMax = Math.max(blackMax, value);
      blackSum += value;
      blackCount++;
    }
  };
  for (let row = 0; row < STRIP_ROWS; row++) {
    reference(cell(0, row), false);
    reference(cell(STRIP_COLUMNS - 1, row), false);
    const sync = SYNC[row]!;
    for (let k = 0; k < SYNC_CELLS_PER_ROW; k++) reference(cell(1 + k, row), sync[k] === 1);
  }
  if (!(whiteMin - blackMax >= MIN_SYNC_CONTRAST)) return undefined;
  const threshold = (whiteSum / whiteCount + blackSum / blackCount) / 2;

  let i = 0;
  const read = (count: number): number => {
    let value = 0;
    for (let b = 0; b < count; b++, i++) {
      const row = Math.floor(i / DATA_CELLS_PER_ROW);
      const column = 1 + SYNC_CELLS_PER_ROW + (i % DATA_CELLS_PER_ROW);
      value = value * 2 + (cell(column, row) > threshold ? 1 : 0);
    }
    return value;
  };
  if (read(TAG_BITS) !== FORMAT_TAG) return undefined;
  const hi = read(16);
  const lo = read(32);
  const frameNumber = read(FRAME_BITS);
  const crc = read(CRC_BITS);
  const bytes = Uint8Array.of(
    FORMAT_TAG,
    (hi >>> 8) & 0xff,
    hi & 0xff,
    (lo >>> 24) & 0xff,
    (lo >>> 16) & 0xff,
    (lo >>> 8) & 0xff,
    lo & 0xff,
    (frameNumber >>> 16) & 0xff,
    (frameNumber >>> 8) & 0xff,
    frameNumber & 0xff,
  );
  if (crc32(bytes) !== crc) return undefined;
  return { captureTimeMs: hi * 2 ** 32 + lo, frameNumber };
}

/** decodePatternStrip over an I420 frame (any size: the strip scales with the frame). */
export function decodeI420(frame: I420Frame): PatternStamp | undefined {
  return decodePatternStrip(i420LumaSampler(frame), frame.width, frame.height);
}

/** decodePatternStrip over RGBA pixels, e.g. a canvas ImageData's `data`. */
export function decodeRgba(rgba: ArrayLike<number>, width: number, height: number): PatternStamp | undefined {
  return decodePatternStrip(rgbaLumaSampler(rgba, width, height), width, height);
}

// ---------------------------------------------------------------------------------------------
// Does a picture look like the pattern (beyond the strip)?

export interface PatternRegionCheck {
  name: string;
  expected: [number, number, number];
  /** Per-channel median of the samples, [Y, U, V]. */
  measured: [number, number, number];
  ok: boolean;
}

export interface PatternMatch {
  /** Fraction of the regions whose colour matched (0..1). */
  score: number;
  regions: PatternRegionCheck[];
}

/** Largest per-channel difference (Y, U, V) at which a region still matches. */
export const PATTERN_MATCH_TOLERANCE = 32;
const GRID = 7;

/**
 * Compares the colour bars of a picture with what render() draws: the median Y, U and V over a
 * 7x7 grid in the middle of each bar (the median ignores the sweeping bar and the odd outlier)
 * must be within PATTERN_MATCH_TOLERANCE of the bar's colour. `yuvAt(x, y, out)` writes [Y, U, V]
 * of the picture at integer coordinates; the picture is `width` x `height`, the pattern was
 * rendered at `patternWidth` x `patternHeight` (default: the same), and positions are scaled.
 */
export function patternMatch(
  yuvAt: (x: number, y: number, out: number[]) => void,
  width: number,
  height: number,
  patternWidth = width,
  patternHeight = height,
): PatternMatch {
  const layout = patternLayout(patternWidth, patternHeight);
  const sx = width / patternWidth;
  const sy = height / patternHeight;
  const barHeight = layout.bars.y1 - layout.bars.y0;
  const sample = [0, 0, 0];
  const channels: number[][] = [[], [], []];
  const regions = COLOUR_BARS.map((bar, i): PatternRegionCheck => {
    const x0 = layout.barEdges[i]!;
    const barWidth = layout.barEdges[i + 1]! - x0;
    for (const c of channels) c.length = 0;
    for (let gy = 0; gy < GRID; gy++) {
      const py = (layout.bars.y0 + barHeight * (0.2 + (0.6 * gy) / (GRID - 1))) * sy;
      for (let gx = 0; gx < GRID; gx++) {
        const px = (x0 + barWidth * (0.2 + (0.6 * gx) / (GRID - 1))) * sx;
        yuvAt(Math.min(width - 1, Math.max(0, Math.floor(px))), Math.min(height - 1, Math.max(0, Math.floor(py))), sample);
        for (let c = 0; c < 3; c++) channels[c]!.push(sample[c]!);
      }
    }
    const measured = channels.map(median) as [number, number, number];
    const expected = BAR_YUV[i]!;
    const ok = measured.every((m, c) => Math.abs(m - expected[c]!) <= PATTERN_MATCH_TOLERANCE);
    return { name: bar.name, expected: [...expected], measured, ok };
  });
  return { score: regions.filter((r) => r.ok).length / regions.length, regions };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/**
 * How well an I420 frame matches the pattern (0..1, 1 = every colour bar where and as render()
 * draws it). `patternWidth` x `patternHeight` is the size it was rendered at (default: the
 * frame's own size); a scaled frame is compared at scaled positions.
 */
export function patternMatchScore(frame: I420Frame, patternWidth = frame.width, patternHeight = frame.height): number {
  return patternMatch((x, y, out) => i420YuvAt(frame, x, y, out), frame.width, frame.height, patternWidth, patternHeight).score;
}

/** patternMatchScore for RGBA pixels (canvas ImageData). */
export function patternMatchScoreRgba(rgba: ArrayLike<number>, width: number, height: number, patternWidth = width, patternHeight = height): number {
  if (rgba.length < width * height * 4) throw new RangeError(`RGBA ${width}x${height} needs ${width * height * 4} bytes, got ${rgba.length}`);
  return patternMatch(
    (x, y, out) => {
      const i = (y * width + x) * 4;
      const [yy, uu, vv] = rgbToYuv(rgba[i]!, rgba[i + 1]!, rgba[i + 2]!);
      out[0] = yy;
      out[1] = uu;
      out[2] = vv;
    },
    width,
    height,
    patternWidth,
    patternHeight,
  ).score;
}

// ---------------------------------------------------------------------------------------------
// Benchmark hook (bench/ calls this; no I/O here)

export interface PatternBenchmark {
  width: number;
  height: number;
  frames: number;
  /** Mean render time per frame, ms. */
  renderMsPerFrame: number;
  /** Slowest single render, ms. */
  renderMsMax: number;
  /** Mean decodeI420 time per frame, ms. */
  decodeMsPerFrame: number;
  /** Frames whose strip decoded to exactly what was rendered. */
  decodedOk: number;
}

/**
 * Renders `frames` frames at `width` x `height` (after a few uncounted warm-up frames), times
 * each with performance.now(), and decodes each to check it.
 */
export function benchmarkTestPattern(width: number, height: number, frames = 200, startTimeMs = 1_700_000_000_000): PatternBenchmark {
  const pattern = new TestPattern(width, height);
  for (let i = 0; i < 10; i++) pattern.render(i, startTimeMs + i * 33);
  let renderTotal = 0;
  let renderMax = 0;
  let decodeTotal = 0;
  let decodedOk = 0;
  for (let i = 0; i < frames; i++) {
    const time = startTimeMs + i * 33;
    const t0 = performance.now();
    const frame = pattern.render(i, time);
    const t1 = performance.now();
    const stamp = decodeI420(frame);
    const t2 = performance.now();
    renderTotal += t1 - t0;
    renderMax = Math.max(renderMax, t1 - t0);
    decodeTotal += t2 - t1;
    if (stamp && stamp.frameNumber === i && stamp.captureTimeMs === time) decodedOk++;
  }
  return { width, height, frames, renderMsPerFrame: renderTotal / frames, renderMsMax: renderMax, decodeMsPerFrame: decodeTotal / frames, decodedOk };
}
