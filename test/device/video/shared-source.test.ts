/**
 * The start/stop bookkeeping both pipelines share (shared-source.ts, audio-stream.ts), with the
 * races a review found: a viewer released while it waited for a stop in progress must not start
 * the source afterwards (it would run with nobody watching), and a source that failed must start
 * again for the next viewer. The sources here are minimal in-test sources whose stop() the test
 * finishes by hand, so the race happens every run instead of by chance.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/net/log';
import { SharedSource, type SourceStatus } from '../../../src/device/video/shared-source';
import { SharedAudioStream } from '../../../src/device/video/audio/audio-stream';

class HandStoppedSource extends EventEmitter {
  readonly description = 'hand-stopped source';
  starts = 0;
  stops = 0;
  private finishStop: (() => void) | undefined;
  start(): void {
    this.starts++;
  }
  stop(): Promise<void> {
    this.stops++;
    return new Promise((resolve) => (this.finishStop = resolve));
  }
  finish(): void {
    this.finishStop?.();
  }
  fail(): void {
    this.emit('status', { state: 'failed', message: 'gone' } satisfies SourceStatus);
  }
}

const log = createLogger({ quiet: true });
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('SharedSource', () => {
  it('a viewer released while it waits for a stop in progress starts nothing', async () => {
    const source = new HandStoppedSource();
    const shared = new SharedSource<object>(source, log);
    const a = {};
    await shared.acquire(a);
    shared.release(a); // stop in progress
    const b = {};
    const waiting = shared.acquire(b);
    expect(shared.release(b)).toBe(true); // gave up before the stop finished
    source.finish();
    await waiting;
    await tick();
    expect(source.starts).toBe(1);
    expect(shared.viewerCount).toBe(0);
  });

  it('a viewer that keeps waiting starts the source again after the stop', async () => {
    const source = new HandStoppedSource();
    const shared = new SharedSource<object>(source, log);
    const a = {};
    await shared.acquire(a);
    shared.release(a);
    const b = {};
    const waiting = shared.acquire(b);
    source.finish();
    await waiting;
    expect(source.starts).toBe(2);
    expect(shared.viewerCount).toBe(1);
  });
});

describe('SharedAudioStream', () => {
  it('starts a failed source again for the next viewer', async () => {
    const source = new HandStoppedSource();
    const shared = new SharedAudioStream(source as never, log);
    const a = { onPacket: () => undefined };
    await shared.acquire(a);
    source.fail();
    const b = { onPacket: () => undefined };
    await shared.acquire(b);
    expect(source.starts).toBe(2);
  });

  it('a viewer released while it waits for a stop in progress starts nothing', async () => {
    const source = new HandStoppedSource();
    const shared = new SharedAudioStream(source as never, log);
    const a = { onPacket: () => undefined };
    await shared.acquire(a);
    shared.release(a);
    const b = { onPacket: () => undefined };
    const waiting = shared.acquire(b);
    shared.release(b);
    source.finish();
    await waiting;
    await tick();
    expect(source.starts).toBe(1);
    expect(shared.viewerCount).toBe(0);
  });
});
