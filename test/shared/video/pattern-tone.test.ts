/** The pattern's beep: where it is, its level, and finding its onset in decoded samples. */
import { describe, expect, it } from 'vitest';
import { renderToneS16, RmsMeter, TONE_SAMPLE_RATE, ToneOnsetDetector, toneSampleAt } from '../../../src/shared/video/pattern-tone';

describe('the pattern tone', () => {
  it('beeps for the first 100 ms of every whole second, silent otherwise', () => {
    const pcm = renderToneS16(0, 2 * TONE_SAMPLE_RATE);
    const loud = (from: number, to: number) => pcm.subarray(from, to).some((v) => Math.abs(v) > 1000);
    expect(loud(0, 4800)).toBe(true);
    expect(loud(4800, 48_000)).toBe(false);
    expect(loud(48_000, 52_800)).toBe(true);
    expect(Math.max(...pcm)).toBeLessThanOrEqual(Math.round(32767 * 0.25));
    expect(toneSampleAt(1_700_000_000_050)).not.toBe(0);
    expect(toneSampleAt(1_700_000_000_150)).toBe(0);
  });

  it('measures -25 dBFS over a second with a beep, -Infinity for silence', () => {
    const meter = new RmsMeter();
    const pcm = renderToneS16(0, TONE_SAMPLE_RATE);
    meter.add(Array.from(pcm, (v) => v / 32768), 1000);
    expect(meter.dbfs!).toBeCloseTo(-25.05, 0);
    const quiet = new RmsMeter();
    quiet.add(new Float32Array(480), 0);
    expect(quiet.dbfs).toBe(-Infinity);
    expect(new RmsMeter().dbfs).toBeNull();
  });

  it('finds each beep\'s first sample to within a millisecond, and only after quiet', () => {
    const onsets: number[] = [];
    const detector = new ToneOnsetDetector((i) => onsets.push(i));
    const shift = 777; // the stream starts 777 samples before a whole second
    const pcm = renderToneS16(TONE_SAMPLE_RATE - shift, 3 * TONE_SAMPLE_RATE);
    // In uneven pieces, as a pipe delivers them.
    for (let i = 0; i < pcm.length; i += 1234) detector.push(Array.from(pcm.subarray(i, i + 1234), (v) => v / 32768));
    // The beep 16 ms into the stream follows no 500 ms of quiet: not counted (it may be a tail).
    expect(onsets).toHaveLength(2);
    onsets.forEach((at, k) => expect(Math.abs(at - (shift + (k + 1) * TONE_SAMPLE_RATE))).toBeLessThanOrEqual(48));
  });
});
