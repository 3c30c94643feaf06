/**
 * Opus packets out of an Ogg stream (RFC 7845), as ffmpeg writes it on a pipe: pages are cut into
 * packets by their lacing values, the two header packets (OpusHead, OpusTags) are read for the
 * pre-skip and dropped, and each audio packet's duration comes from its TOC byte (RFC 6716 3.1),
 * so the sender can stamp RTP timestamps without decoding anything.
 *
 * Bounded: a packet larger than MAX_OPUS_PACKET_BYTES or a page that does not start with "OggS"
 * is an error (the caller restarts or fails the source); a broken stream cannot grow memory.
 */

/** RFC 6716 allows at most 1275 bytes per frame and 48 frames per packet; ffmpeg's are far smaller. */
export const MAX_OPUS_PACKET_BYTES = 64 * 1024;

export interface OpusPacket {
  data: Buffer;
  /** Duration in samples at 48 kHz (the RTP clock of Opus). */
  samples: number;
}

/** Samples (48 kHz) in one Opus packet, from its TOC byte; 0 for a packet that is not valid. */
export function opusPacketSamples(packet: Uint8Array): number {
  if (packet.length < 1) return 0;
  const toc = packet[0]!;
  const config = toc >> 3;
  // Frame size in units of 2.5 ms (120 samples).
  let units: number;
  if (config < 12) units = [4, 8, 16, 24][config & 3]!; // SILK: 10, 20, 40, 60 ms
  else if (config < 16) units = [4, 8][config & 1]!; // hybrid: 10, 20 ms
  else units = [1, 2, 4, 8][config & 3]!; // CELT: 2.5, 5, 10, 20 ms
  const code = toc & 3;
  let frames: number;
  if (code === 0) frames = 1;
  else if (code === 1 || code === 2) frames = 2;
  else {
    if (packet.length < 2) return 0;
    frames = packet[1]! & 0x3f;
  }
  const samples = frames * units * 120;
  // At most 120 ms per packet (RFC 6716 3.2.5).
  return samples > 0 && samples <= 5760 ? samples : 0;
}

export class OggOpusReader {
  private buf: Buffer = Buffer.alloc(0);
  private partial: Buffer[] = [];
  private partialSize = 0;
  private serial: number | undefined;
  private headers = 0;
  /** Samples to drop at the start of the decoded stream (OpusHead's pre-skip). */
  preSkip = 0;
  channels = 0;

  constructor(private readonly onPacket: (packet: OpusPacket) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.buf.length < 27) return;
      if (this.buf.readUInt32BE(0) !== 0x4f676753) throw new Error('not an Ogg stream (no "OggS" page)');
      const segments = this.buf[26]!;
      if (this.buf.length < 27 + segments) return;
      let bodySize = 0;
      for (let i = 0; i < segments; i++) bodySize += this.buf[27 + i]!;
      const pageSize = 27 + segments + bodySize;
      if (this.buf.length < pageSize) return;
      const serial = this.buf.readUInt32LE(14);
      const continued = (this.buf[5]! & 1) !== 0;
      this.serial ??= serial;
      if (serial === this.serial) {
        if (!continued) this.dropPartial();
        let offset = 27 + segments;
        for (let i = 0; i < segments; i++) {
          const lace = this.buf[27 + i]!;
          this.appendPartial(this.buf.subarray(offset, offset + lace));
          offset += lace;
          if (lace < 255) this.finishPacket();
        }
      }
      this.buf = this.buf.subarray(pageSize);
    }
  }

  private appendPartial(part: Buffer): void {
    if (part.length === 0) return;
    this.partialSize += part.length;
    if (this.partialSize > MAX_OPUS_PACKET_BYTES) throw new Error(`an Opus packet over ${MAX_OPUS_PACKET_BYTES} bytes`);
    this.partial.push(Buffer.from(part));
  }

  private dropPartial(): void {
    this.partial = [];
    this.partialSize = 0;
  }

  private finishPacket(): void {
    const data = this.partial.length === 1 ? this.partial[0]! : Buffer.concat(this.partial);
    this.dropPartial();
    if (data.length === 0) return;
    if (this.headers === 0) {
      if (data.length < 19 || data.toString('latin1', 0, 8) !== 'OpusHead') throw new Error('the Ogg stream is not Opus (no OpusHead)');
      this.channels = data[9]!;
      this.preSkip = data.readUInt16LE(10);
      this.headers = 1;
      return;
    }
    if (this.headers === 1) {
      this.headers = 2;
      if (data.toString('latin1', 0, 8) === 'OpusTags') return;
    }
    const samples = opusPacketSamples(data);
    if (samples > 0) this.onPacket({ data, samples });
  }

  reset(): void {
    this.buf = Buffer.alloc(0);
    this.dropPartial();
    this.serial = undefined;
    this.headers = 0;
  }
}
