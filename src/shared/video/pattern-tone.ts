/**
 * The test pattern's sound: a beep at every whole second of the capture clock, so audio/video
 * sync can be measured against the capture time the pattern carries in its pixels
 * (test-pattern.ts). The encoding:
 *
 *   - 48 kHz mono; a 1 kHz sine at -12 dBFS (peak 0.25 of full scale) for the first 100 ms of
 *     every second of the capture clock (ms since the epoch), silence (digital zero) for the other
 *     900 ms. The beep's first sample is the instant t = k * 1000 ms exactly; the video frame
 *     whose strip says captureTimeMs = k * 1000 (or the first after it) shows the same instant.
 *   - No ramp: the onset is a step, so a receiver finds it to within a millisecond.
 *
 * A receiver finds onsets with `ToneOnsetDetector` (energy in 1 ms blocks crossing a threshold
 * after at least 500 ms of quiet) and reads the level with `RmsMeter` (RMS over the last second,
 * dBFS: about -25 dBFS for the pattern's beep, -15 dBFS during it).
 *
 * Pure TypeScript, no I/O.
 */

export const TONE_SAMPLE_RATE = 48_000;
export const TONE_FREQUENCY_HZ = 1000;
export const TONE_DURATION_MS = 100;
/** Peak amplitude as a fraction of full scale (-12 dBFS). */
export const TONE_AMPLITUDE = 0.25;

/** The pattern's sound at one instant of the capture clock, -1..1. */
export function toneSampleAt(timeMs: number): number {
  const inSecond = ((timeMs % 1000) + 1000) % 1000;
  if (inSecond >= TONE_DURATION_MS) return 0;
  return TONE_AMPLITUDE * Math.sin((2 * Math.PI * TONE_FREQUENCY_HZ * inSecond) / 1000);
}

/**
 * `count` samples of 16-bit PCM at 48 kHz starting at sample `first` of a clock whose sample 0
 * is a whole second (sample n is n / 48 ms after it).
 */
export function renderToneS16(first: number, count: number): Int16Array {
  const out = new Int16Array(count);
  for (let i = 0; i < count; i++) {
    const n = first + i;
    const inSecond = ((n % TONE_SAMPLE_RATE) + TONE_SAMPLE_RATE) % TONE_SAMPLE_RATE;
    if (inSecond >= (TONE_SAMPLE_RATE * TONE_DURATION_MS) / 1000) continue;
    out[i] = Math.round(32767 * TONE_AMPLITUDE * Math.sin((2 * Math.PI * TONE_FREQUENCY_HZ * inSecond) / TONE_SAMPLE_RATE));
  }
  return out;
}

/** RMS level of the last second of samples (any rate), in dBFS; -Infinity for digital silence. */
export class RmsMeter {
  private readonly blocks: { sumSquares: number; count: number; atMs: number }[] = [];

  /** Adds samples (-1..1) that arrived at `atMs`; blocks older than `windowMs` before it drop out. */
  add(samples: ArrayLike<number>, atMs: number, windowMs = 1000): void {
    let sum = 0;
    for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
    this.blocks.push({ sumSquares: sum, count: samples.length, atMs });
    while (this.blocks.length > 0 && this.blocks[0]!.atMs < atMs - windowMs) this.blocks.shift();
  }

  get dbfs(): number | null {
    let sum = 0;
    let count = 0;
    for (const b of this.blocks) {
      sum += b.sumSquares;
      count += b.count;
    }
    if (count === 0) return null;
    return sum === 0 ? -Infinity : 10 * Math.log10(sum / count);
  }
}

/**
 * Finds the start of each beep in a stream of samples: the first 1 ms block whose RMS exceeds
 * `threshold` after at least `quietMs` of blocks below it. Reports the onset's sample index
 * (counted from the first sample pushed), to the block's first sample above half the threshold.
 */
export class ToneOnsetDetector {
  private index = 0;
  private quietBlocks = 0;
  private readonly block: number;
  private readonly pending: number[] = [];

  constructor(
    private readonly onOnset: (sampleIndex: number) => void,
    private readonly sampleRate = TONE_SAMPLE_RATE,
    private readonly threshold = TONE_AMPLITUDE / 4,
    private readonly quietMs = 500,
  ) {
    this.block = Math.round(sampleRate / 1000);
  }

  /** Samples -1..1, in order. */
  push(samples: ArrayLike<number>): void {
    for (let i = 0; i < samples.length; i++) {
      this.pending.push(samples[i]!);
      if (this.pending.length === this.block) this.flush();
    }
  }

  private flush(): void {
    let sum = 0;
    for (const s of this.pending) sum += s * s;
    const rms = Math.sqrt(sum / this.pending.length);
    const start = this.index;
    if (rms >= this.threshold) {
      // Each block is 1 ms.
      if (this.quietBlocks >= this.quietMs) {
        const first = this.pending.findIndex((s) => Math.abs(s) >= this.threshold / 2);
        this.onOnset(start + Math.max(0, first));
      }
      this.quietBlocks = 0;
    } else {
      this.quietBlocks++;
    }
    this.index += this.pending.length;
    this.pending.length = 0;
  }
}
