/**
 * The pattern's one H.264 encoder (x264 through GStreamer, a real child process): framed pictures,
 * a keyframe when asked (well inside the 2 s GOP), merged requests, and nothing left after stop().
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { nalTypes } from '../../../src/device/video/h264/annexb';
import { LengthPrefixedReader, PatternH264Source, type EncodedUnit } from '../../../src/device/video/h264/encoded-stream';
import type { SourceStatus } from '../../../src/device/video/capture';

const FPS = 30;

describe.skipIf(!existsSync('/usr/bin/python3'))('PatternH264Source', () => {
  it('encodes once, starts with an IDR, and gives one more IDR when asked, long before the GOP ends', async () => {
    const source = new PatternH264Source(320, 240, FPS);
    const units: EncodedUnit[] = [];
    const statuses: SourceStatus[] = [];
    source.on('status', (s) => statuses.push(s));
    let askedAt: number | undefined;
    const done = new Promise<void>((resolve) => {
      source.on('unit', (unit) => {
        units.push(unit);
        if (units.length === 15) {
          askedAt = units.length;
          source.requestKeyframe();
          source.requestKeyframe(); // merged with the first (rate limit)
        }
        if (units.length === 50) resolve();
      });
    });
    source.start();
    await done;
    await source.stop();
    expect(statuses.map((s) => s.state)).toEqual(['starting', 'running', 'stopped']);
    expect(units[0]!.keyframe).toBe(true);
    // Every unit is one whole picture beginning with its access unit delimiter.
    for (const u of units) expect(nalTypes(u.data)[0]).toBe(9);
    const keyframes = units.flatMap((u, i) => (u.keyframe ? [i] : []));
    // (Frames offered while the encoder process starts up are dropped, not queued: a live source.)
    console.log(`pattern h264: keyframes at ${keyframes.join(', ')} of ${units.length} pictures (GOP ${2 * FPS}), ${source.framesDropped} frames dropped while the encoder started`);
    // The natural next IDR would be picture 60; the requested one comes within a few pictures.
    expect(keyframes.filter((i) => i > askedAt! && i < 2 * FPS).length).toBe(1);
  }, 30_000);

  it('says why when the encoder cannot start', async () => {
    const source = new PatternH264Source(320, 240, FPS, '/nonexistent/python3');
    const failed = new Promise<SourceStatus>((resolve) => source.on('status', (s) => s.state === 'failed' && resolve(s)));
    source.start();
    const status = await failed;
    expect(status.message).toMatch(/could not start.*python3-gi/);
    await source.stop();
  });
});

describe('LengthPrefixedReader', () => {
  it('cuts records across chunks and refuses an absurd length', () => {
    const records: number[][] = [];
    const r = new LengthPrefixedReader((rec) => records.push([...rec]));
    const stream = Buffer.from([0, 0, 0, 2, 7, 8, 0, 0, 0, 0, 0, 0, 0, 1, 9]);
    for (const b of stream) r.push(Buffer.from([b]));
    expect(records).toEqual([[7, 8], [], [9]]);
    expect(() => new LengthPrefixedReader(() => undefined).push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(/at most/);
  });
});
