/**
 * H.264 Annex B byte streams (what `ffmpeg -f h264` and x264enc byte-stream write) cut into
 * access units, one per picture, without decoding anything (on the device). A unit starts at an access unit
 * delimiter (NAL type 9: the encoders here are told to write one, and ffmpeg's
 * h264_metadata=aud=insert adds them to a camera's stream).
 */

export interface AccessUnit {
  /** The unit's bytes, start codes included (a copy: the caller may keep it). */
  data: Buffer;
  /** Carries an IDR slice: a viewer can start decoding here. */
  keyframe: boolean;
}

const NAL_IDR = 5;
const NAL_AUD = 9;

/** The largest unit accepted; a stream without delimiters would otherwise grow without bound. */
export const MAX_ACCESS_UNIT_BYTES = 8 * 1024 * 1024;

export class AccessUnitSplitter {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes before the first delimiter are not a whole unit and are dropped. */
  private synced = false;
  private dropped = 0;

  constructor(private readonly onUnit: (unit: AccessUnit) => void) {}

  /** Units (of the current run) thrown away as oversized or before the first delimiter. */
  get droppedBytes(): number {
    return this.dropped;
  }

  push(chunk: Uint8Array): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    let unitStart = this.synced ? 0 : -1;
    // Search from 1 so that a unit's own leading delimiter is not found again.
    let from = this.synced ? 1 : 0;
    for (;;) {
      const at = findDelimiter(this.pending, from);
      if (at < 0) break;
      if (unitStart >= 0 && at > unitStart) this.emitUnit(this.pending.subarray(unitStart, at));
      else if (unitStart < 0) this.dropped += at;
      unitStart = at;
      this.synced = true;
      from = at + 4;
    }
    if (unitStart < 0) {
      // No delimiter yet: keep only a possible partial start code.
      this.dropped += Math.max(0, this.pending.length - 4);
      this.pending = Buffer.from(this.pending.subarray(Math.max(0, this.pending.length - 4)));
      return;
    }
    this.pending = Buffer.from(this.pending.subarray(unitStart));
    if (this.pending.length > MAX_ACCESS_UNIT_BYTES) {
      this.dropped += this.pending.length;
      this.pending = Buffer.alloc(0);
      this.synced = false;
    }
  }

  /** A new stream (a restarted encoder): forget any partial unit. */
  reset(): void {
    this.pending = Buffer.alloc(0);
    this.synced = false;
    this.dropped = 0;
  }

  private emitUnit(bytes: Buffer): void {
    this.onUnit({ data: Buffer.from(bytes), keyframe: nalTypes(bytes).includes(NAL_IDR) });
  }
}

/** Index of the start code (3- or 4-byte) of the next access unit delimiter at or after `from`, or -1. */
function findDelimiter(buf: Buffer, from: number): number {
  let i = from;
  for (;;) {
    i = buf.indexOf(START3, i);
    if (i < 0 || i + 3 >= buf.length) return -1;
    if ((buf[i + 3]! & 0x1f) === NAL_AUD) return i > 0 && buf[i - 1] === 0 ? i - 1 : i;
    i += 3;
  }
}

const START3 = Buffer.from([0, 0, 1]);

/** The NAL unit types in an Annex B buffer, in order. */
export function nalTypes(bytes: Uint8Array): number[] {
  const types: number[] = [];
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1) {
      types.push(bytes[i + 3]! & 0x1f);
      i += 3;
    }
  }
  return types;
}
