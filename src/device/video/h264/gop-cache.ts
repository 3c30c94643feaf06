/**
 * The pictures of a passed-through camera since its last IDR (one GOP), so a viewer joining a
 * running camera gets a picture at once instead of waiting up to a GOP for the camera's next IDR
 * (lancam cannot ask a camera behind ffmpeg's `-c:v copy` for one; see docs/video.md "First
 * frame"). Bounded in bytes and in pictures: a GOP that grows past either bound is dropped and
 * nothing is cached until the next IDR (a joining viewer then waits for it, as without a cache).
 * One cache per source, shared by every viewer; it holds references to the units the source
 * emitted, nothing is copied.
 */
import type { EncodedSource, EncodedUnit } from './encoded-stream';

/** Default bound: a 1080p camera at 8 Mbit/s with a 4 s GOP is about 4 MB. */
export const DEFAULT_GOP_CACHE_BYTES = 6 * 1024 * 1024;
/** At most this many pictures (4 s at 60 fps): the burst's timestamps stay 1 tick apart within a frame interval. */
export const MAX_GOP_CACHE_UNITS = 240;

export class GopCache {
  private units: EncodedUnit[] = [];
  private bytes = 0;
  /** The current GOP outgrew a bound: wait for the next IDR. */
  private overflowed = false;
  private overflows = 0;

  constructor(
    source: EncodedSource,
    readonly maxBytes: number = DEFAULT_GOP_CACHE_BYTES,
    readonly maxUnits: number = MAX_GOP_CACHE_UNITS,
  ) {
    source.on('unit', (unit) => this.push(unit));
    source.on('status', (status) => {
      // A restarted or stopped source begins a new stream: old pictures must not be replayed.
      if (status.state !== 'running') this.clear();
    });
  }

  /** GOPs dropped for outgrowing the bounds. */
  get overflowCount(): number {
    return this.overflows;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  push(unit: EncodedUnit): void {
    if (unit.keyframe) {
      this.units = [unit];
      this.bytes = unit.data.length;
      this.overflowed = false;
    } else if (this.overflowed || this.units.length === 0) {
      return;
    } else {
      this.units.push(unit);
      this.bytes += unit.data.length;
    }
    if (this.bytes > this.maxBytes || this.units.length > this.maxUnits) {
      this.overflows++;
      this.overflowed = true;
      this.units = [];
      this.bytes = 0;
    }
  }

  /** The cached GOP, IDR first, or an empty list. */
  snapshot(): EncodedUnit[] {
    return [...this.units];
  }

  clear(): void {
    this.units = [];
    this.bytes = 0;
    this.overflowed = false;
  }
}
