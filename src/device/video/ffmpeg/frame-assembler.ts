/**
 * Cuts ffmpeg's raw video byte stream into whole frames.
 *
 * Pipe chunks (typically up to 64 KiB) rarely line up with frames (115 200 bytes for 320x240
 * I420), so each chunk is copied once into a preallocated frame buffer; a full buffer is handed
 * to `onFrame` and the next buffer of a small pool is filled. Nothing is allocated per chunk or
 * per frame.
 *
 * Ownership: the buffer passed to `onFrame` belongs to the assembler. It stays unchanged while
 * `onFrame` runs (synchronously) and is overwritten a few frames later: copy it to keep it.
 */
export class FrameAssembler {
  private readonly pool: Uint8Array[];
  private index = 0;
  private filled = 0;

  constructor(
    readonly frameSize: number,
    private readonly onFrame: (frame: Uint8Array) => void,
    poolSize = 2,
  ) {
    if (!Number.isInteger(frameSize) || frameSize <= 0) throw new RangeError(`frame size must be a positive integer, got ${frameSize}`);
    this.pool = Array.from({ length: Math.max(1, poolSize) }, () => new Uint8Array(frameSize));
  }

  /** Bytes of a frame received so far (0 right after a whole frame). */
  get pending(): number {
    return this.filled;
  }

  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      const current = this.pool[this.index]!;
      const n = Math.min(this.frameSize - this.filled, chunk.length - offset);
      current.set(n === chunk.length ? chunk : chunk.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.frameSize) {
        // Advance before calling out, so a listener that throws leaves a consistent state.
        this.filled = 0;
        this.index = (this.index + 1) % this.pool.length;
        this.onFrame(current);
      }
    }
  }

  /** Drops a partial frame (a new ffmpeg process starts on a frame boundary). */
  reset(): void {
    this.filled = 0;
  }
}
