/**
 * H.264 Annex B byte streams (what `ffmpeg -f h264` and x264enc byte-stream write) cut into
 * access units, one per picture, without decoding anything (on the device): the boundaries of
 * H.264 7.4.1.2.3 (AUD, SPS, PPS, SEI, or a slice with first_mb_in_slice = 0 after a picture's
 * slices), read from NAL headers and the slice header's first bit. A picture is handed on as
 * soon as the first bytes of the next one arrive.
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
  /** Complete NAL units (with their start codes) of the picture being collected. */
  private unit: Buffer[] = [];
  private unitBytes = 0;
  private unitHasVcl = false;
  private unitHasIdr = false;
  /**
   * SPS/PPS after a picture's slices: they begin the next picture, unless the next slice continues
   * this one (first_mb_in_slice > 0: GStreamer's rtph264pay repeats SPS/PPS before every slice of
   * an IDR). Decided when that slice's header arrives.
   */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private dropped = 0;

  constructor(private readonly onUnit: (unit: AccessUnit) => void) {}

  /** Bytes thrown away: before the first start code, or in oversized units. */
  get droppedBytes(): number {
    return this.dropped;
  }

  push(chunk: Uint8Array): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    const first = findStartCode(this.pending, 0);
    if (first < 0) {
      // No start code yet: keep only what could be the beginning of one.
      if (this.pending.length > 3) {
        this.dropped += this.pending.length - 3;
        this.pending = Buffer.from(this.pending.subarray(this.pending.length - 3));
      }
      return;
    }
    if (first > 0) {
      this.dropped += first;
      this.pending = this.pending.subarray(first);
    }
    // Every NAL unit followed by another start code is complete.
    let at = 0;
    for (;;) {
      const next = findStartCode(this.pending, at + 3);
      if (next < 0) break;
      this.nal(this.pending.subarray(at, next));
      at = next;
    }
    this.pending = Buffer.from(this.pending.subarray(at));
    // The next NAL unit's header is enough to know the picture before it is complete: hand it on
    // now rather than when that NAL unit ends.
    if (this.unitHasVcl && startsUnit(this.pending)) this.emitUnit();
    if (this.pending.length + this.unitBytes + this.heldBytes > MAX_ACCESS_UNIT_BYTES) {
      this.dropped += this.pending.length + this.unitBytes;
      this.pending = Buffer.alloc(0);
      this.clearUnit();
    }
  }

  /** A new stream (a restarted encoder): forget any partial unit. */
  reset(): void {
    this.pending = Buffer.alloc(0);
    this.clearUnit();
    this.dropped = 0;
  }

  /** One complete NAL unit (start code included): it either continues the picture or begins the next. */
  private nal(bytes: Buffer): void {
    const type = bytes[bytes[2] === 1 ? 3 : 4]! & 0x1f;
    const vcl = type === 1 || type === 5;
    if (this.unitHasVcl && (type === 7 || type === 8)) {
      this.held.push(Buffer.from(bytes));
      this.heldBytes += bytes.length;
      return;
    }
    if (this.unitHasVcl && startsUnit(bytes)) this.emitUnit();
    // Held parameter sets go with what follows them (the next picture, or this one continued).
    for (const h of this.held) this.unit.push(h);
    this.unitBytes += this.heldBytes;
    this.held = [];
    this.heldBytes = 0;
    this.unit.push(Buffer.from(bytes));
    this.unitBytes += bytes.length;
    if (vcl) this.unitHasVcl = true;
    if (type === NAL_IDR) this.unitHasIdr = true;
  }

  private emitUnit(): void {
    const data = Buffer.concat(this.unit);
    const keyframe = this.unitHasIdr;
    const [held, heldBytes] = [this.held, this.heldBytes];
    this.clearUnit();
    // Parameter sets held back after the picture begin the next one.
    this.unit = held;
    this.unitBytes = heldBytes;
    this.onUnit({ data, keyframe });
  }

  private clearUnit(): void {
    this.unit = [];
    this.unitBytes = 0;
    this.unitHasVcl = false;
    this.unitHasIdr = false;
    this.held = [];
    this.heldBytes = 0;
  }
}

/**
 * Does the NAL unit at the start of `bytes` (start code first) begin a new access unit, once a
 * picture's slices have been seen? H.264 7.4.1.2.3: an AUD, SEI or types 14..18 do, and so does a
 * slice with first_mb_in_slice = 0 (ue(v) 0 is the single bit '1'); SPS and PPS are decided by the
 * slice after them (AccessUnitSplitter.held). False while the header bytes have not arrived.
 */
function startsUnit(bytes: Buffer): boolean {
  const header = bytes[2] === 1 ? 3 : 4;
  if (bytes.length < header + 2) return false;
  const type = bytes[header]! & 0x1f;
  if (type === NAL_AUD || type === 6 || (type >= 14 && type <= 18)) return true;
  return (type === 1 || type === 5) && (bytes[header + 1]! & 0x80) !== 0;
}

/** Index of the next start code (00 00 01, or 00 00 00 01 counted from its first zero) at or after `from`, or -1. */
function findStartCode(buf: Buffer, from: number): number {
  const i = buf.indexOf(START3, from);
  if (i < 0) return -1;
  return i > from && buf[i - 1] === 0 ? i - 1 : i;
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
