/**
 * The pieces of main/sub streams that are pure logic: RTCP feedback parsing (receiver reports,
 * NACK, PLI, REMB built byte by byte as RFC 3550/4585 and the REMB draft lay them out), the
 * congestion verdicts with their hysteresis, and the GOP cache's bounds. The streams themselves
 * run in test/e2e/video-streams.test.ts and test/browser/chromium-video-streams.test.ts.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { CongestionMonitor, parseRtcp } from '../../../src/device/video/h264/congestion';
import type { EncodedSource, EncodedSourceEvents, EncodedUnit } from '../../../src/device/video/h264/encoded-stream';
import { GopCache } from '../../../src/device/video/h264/gop-cache';
import { patternSubSize } from '../../../src/device/video/h264/sub-stream';
import { signalingMessageSchema } from '../../../src/shared/protocol/webrtc-api';

function rr(fractionLost: number): Buffer {
  const b = Buffer.alloc(32);
  b[0] = 0x81; // V=2, one report block
  b[1] = 201;
  b.writeUInt16BE(32 / 4 - 1, 2);
  b.writeUInt32BE(0x11111111, 4);
  b.writeUInt32BE(0x22222222, 8); // the block's SSRC
  b[12] = Math.round(fractionLost * 256);
  b.writeUInt32BE(90, 20); // jitter
  return b;
}

function nack(pid: number, blp: number): Buffer {
  const b = Buffer.alloc(16);
  b[0] = 0x81; // FMT 1
  b[1] = 205;
  b.writeUInt16BE(3, 2);
  b.writeUInt16BE(pid, 12);
  b.writeUInt16BE(blp, 14);
  return b;
}

function remb(bps: number): Buffer {
  const b = Buffer.alloc(24);
  b[0] = 0x8f; // FMT 15
  b[1] = 206;
  b.writeUInt16BE(5, 2);
  b.write('REMB', 12, 'ascii');
  let exp = 0;
  let mantissa = bps;
  while (mantissa > 0x3ffff) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  b.writeUInt32BE((1 << 24) | (exp << 18) | mantissa, 16);
  return b;
}

const pli = Buffer.from([0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);

describe('RTCP feedback', () => {
  it('reads loss, jitter, NACKed packets, PLI and REMB from one compound packet', () => {
    const f = parseRtcp(Buffer.concat([rr(0.25), nack(100, 0b101), pli, remb(1_500_000)]));
    expect(f.lossFractions).toEqual([64 / 256]);
    expect(f.jitters).toEqual([90]);
    expect(f.nackedPackets).toBe(3);
    expect(f.plis).toBe(1);
    expect(f.rembBps! / 1_500_000).toBeCloseTo(1, 3);
  });

  it('stops at a malformed or truncated header instead of reading past the packet', () => {
    const truncated = rr(0.5).subarray(0, 20);
    expect(parseRtcp(truncated).lossFractions).toEqual([]);
    expect(parseRtcp(Buffer.from([0x00, 201, 0, 7])).lossFractions).toEqual([]);
    expect(parseRtcp(Buffer.alloc(0))).toMatchObject({ lossFractions: [], plis: 0, rembBps: undefined });
  });
});

describe('congestion verdicts', () => {
  it('weak after two bad reports, recovered only after the hold time of good ones, longer hold after a relapse', () => {
    const m = new CongestionMonitor({ holdMs: 8000, relapseMs: 20_000 });
    const feed = (loss: number, t: number) => m.feed(parseRtcp(rr(loss)), t);
    expect(feed(0.2, 0)).toBeUndefined();
    expect(feed(0.2, 1000)).toBe('weak');
    expect(m.weak).toBe(true);
    // Good reports, but not yet for 8 s.
    for (let t = 2000; t < 9000; t += 1000) expect(feed(0, t)).toBeUndefined();
    // One bad report restarts the hold.
    expect(feed(0.2, 9000)).toBeUndefined();
    for (let t = 10_000; t < 17_000; t += 1000) expect(feed(0, t)).toBeUndefined();
    expect(feed(0, 17_000)).toBe('recovered');
    // Weak again within 20 s: the next hold is doubled.
    feed(0.3, 18_000);
    expect(feed(0.3, 19_000)).toBe('weak');
    expect(m.holdMs).toBe(16_000);
  });

  it('counts NACKed packets against the packets sent when reports hide recovered loss', () => {
    const m = new CongestionMonitor();
    m.feed(parseRtcp(nack(1, 0xffff)), 0); // 17 packets asked for again
    expect(m.feed(parseRtcp(rr(0)), 500, undefined, 100)).toBeUndefined();
    m.feed(parseRtcp(nack(40, 0xffff)), 900);
    expect(m.feed(parseRtcp(rr(0)), 1000, undefined, 100)).toBe('weak');
  });

  it('a REMB far below the main stream\'s bitrate is bad while on main', () => {
    const m = new CongestionMonitor();
    m.feed(parseRtcp(Buffer.concat([rr(0), remb(300_000)])), 0, 2_000_000);
    expect(m.feed(parseRtcp(Buffer.concat([rr(0), remb(300_000)])), 1000, 2_000_000)).toBe('weak');
  });
});

class FakeSource extends EventEmitter<EncodedSourceEvents> {
  readonly description = 'units';
  readonly keyframesOnRequest = false;
  start(): void {}
  async stop(): Promise<void> {}
  requestKeyframe(): void {}
}

function unit(bytes: number, keyframe: boolean, timestamp: number): EncodedUnit {
  return { data: Buffer.alloc(bytes), keyframe, timestamp };
}

describe('GOP cache', () => {
  it('keeps the pictures since the last IDR, drops a GOP past its byte bound until the next IDR, and empties when the source stops', () => {
    const source = new FakeSource();
    const cache = new GopCache(source as unknown as EncodedSource, 10_000, 100);
    source.emit('unit', unit(100, false, 0)); // before any IDR: nothing to start from
    expect(cache.snapshot()).toEqual([]);
    source.emit('unit', unit(3000, true, 1));
    source.emit('unit', unit(1000, false, 2));
    expect(cache.snapshot().map((u) => u.timestamp)).toEqual([1, 2]);
    source.emit('unit', unit(3000, true, 3));
    expect(cache.snapshot().map((u) => u.timestamp)).toEqual([3]);
    for (let i = 0; i < 8; i++) source.emit('unit', unit(1000, false, 4 + i));
    expect(cache.snapshot()).toEqual([]);
    expect(cache.overflowCount).toBe(1);
    source.emit('unit', unit(100, false, 20));
    expect(cache.snapshot()).toEqual([]);
    source.emit('unit', unit(100, true, 21));
    expect(cache.snapshot().map((u) => u.timestamp)).toEqual([21]);
    source.emit('status', { state: 'retrying', message: 'camera gone' });
    expect(cache.snapshot()).toEqual([]);
  });

  it('is bounded in pictures as well', () => {
    const source = new FakeSource();
    const cache = new GopCache(source as unknown as EncodedSource, 1_000_000, 3);
    source.emit('unit', unit(10, true, 0));
    for (let i = 1; i <= 3; i++) source.emit('unit', unit(10, false, i));
    expect(cache.snapshot()).toEqual([]);
  });
});

describe('the pattern\'s own sub stream', () => {
  it('is 640 wide in the main stream\'s shape, and none for a main stream that small', () => {
    expect(patternSubSize(1280, 720)).toEqual({ width: 640, height: 360 });
    expect(patternSubSize(1920, 1080)).toEqual({ width: 640, height: 360 });
    expect(patternSubSize(1280, 1024)).toEqual({ width: 640, height: 512 });
    expect(patternSubSize(640, 480)).toBeUndefined();
  });
});

describe('the stream choice in signaling', () => {
  it('takes main or sub in SETUP_REQUEST and STREAM, and nothing else', () => {
    expect(signalingMessageSchema.safeParse({ type: 'SETUP_REQUEST' }).success).toBe(true);
    expect(signalingMessageSchema.safeParse({ type: 'SETUP_REQUEST', stream: 'sub' }).success).toBe(true);
    expect(signalingMessageSchema.safeParse({ type: 'STREAM', stream: 'main' }).success).toBe(true);
    for (const bad of [{ type: 'SETUP_REQUEST', stream: '4k' }, { type: 'STREAM' }, { type: 'STREAM', stream: 'sub', bitrate: 1 }, { type: 'STREAM', stream: 7 }]) {
      expect(signalingMessageSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
