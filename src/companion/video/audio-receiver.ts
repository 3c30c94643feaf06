/**
 * Receiving a camera's Opus in Node (the CLI viewer, `lancam watch`): RTP packets (RFC 7587, one
 * Opus packet each) from node-datachannel are written as an Ogg Opus stream (RFC 7845) into one
 * ffmpeg, which decodes them to 48 kHz mono PCM. From the PCM:
 *   - the level: RMS over the last second, dBFS;
 *   - the test pattern's beeps (src/shared/video/pattern-tone.ts): each onset is traced back to
 *     the packet it arrived in, giving the beep's arrival time; the beep stands for a whole second
 *     of the capture clock, so its audio latency is arrival - that second. The A/V offset is that
 *     minus the video's glass-to-glass latency (read from the pattern's pixels): positive when the
 *     sound comes later than the picture.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { RmsMeter, TONE_SAMPLE_RATE, ToneOnsetDetector } from '../../shared/video/pattern-tone';

export interface AudioStats {
  /** The negotiated codec, e.g. "opus". */
  codec: string;
  packets: number;
  bytes: number;
  /** RMS level over the last second of decoded sound, dBFS (null before any; -Infinity is silence, shown as null in JSON). */
  levelDbfs: number | null;
  /** Pattern beeps found. */
  beeps: number;
  /** Median of (audio latency - video glass-to-glass) over the beeps, ms; null without beeps or video latency. */
  avOffsetMs: number | null;
  /** Median audio latency (beep arrival - its whole second), ms. */
  audioLatencyMs: number | null;
}

// ---------------------------------------------------------------------------------------------
// Ogg writing (RFC 3533 pages, RFC 7845 Opus mapping)

const OGG_CRC = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

function oggCrc(buf: Buffer): number {
  let crc = 0;
  for (let i = 0; i < buf.length; i++) crc = ((crc << 8) ^ OGG_CRC[((crc >>> 24) ^ buf[i]!) & 0xff]!) >>> 0;
  return crc >>> 0;
}

/** One Ogg page holding exactly one packet (at most 255 * 255 bytes). */
export function oggPage(packet: Buffer, options: { serial: number; sequence: number; granule: bigint; first?: boolean }): Buffer {
  if (packet.length > 255 * 255) throw new RangeError('packet too large for one Ogg page');
  const lacing: number[] = [];
  let left = packet.length;
  while (left >= 255) {
    lacing.push(255);
    left -= 255;
  }
  lacing.push(left);
  const header = Buffer.alloc(27 + lacing.length);
  header.write('OggS', 0, 'latin1');
  header[4] = 0;
  header[5] = options.first ? 2 : 0;
  header.writeBigInt64LE(options.granule, 6);
  header.writeUInt32LE(options.serial >>> 0, 14);
  header.writeUInt32LE(options.sequence >>> 0, 18);
  header[26] = lacing.length;
  for (let i = 0; i < lacing.length; i++) header[27 + i] = lacing[i]!;
  const page = Buffer.concat([header, packet]);
  page.writeUInt32LE(oggCrc(page), 22);
  return page;
}

function opusHead(): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1; // version
  head[9] = 1; // channels (decoded to mono)
  head.writeUInt16LE(0, 10); // pre-skip: none, so decoded sample n is the n-th sample sent
  head.writeUInt32LE(48000, 12);
  head.writeInt16LE(0, 16);
  head[18] = 0;
  return head;
}

function opusTags(): Buffer {
  const vendor = Buffer.from('lancam', 'latin1');
  const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
  tags.write('OpusTags', 0, 'latin1');
  tags.writeUInt32LE(vendor.length, 8);
  vendor.copy(tags, 12);
  tags.writeUInt32LE(0, 12 + vendor.length);
  return tags;
}

/** RTP header fields of one packet, or undefined for RTCP and malformed packets. */
export function parseRtp(packet: Uint8Array): { payloadType: number; sequence: number; timestamp: number; payload: Buffer } | undefined {
  const rtp = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (rtp.length < 12 || rtp[0]! >> 6 !== 2) return undefined;
  const pt = rtp[1]! & 0x7f;
  if (pt >= 72 && pt <= 79) return undefined;
  let offset = 12 + (rtp[0]! & 0x0f) * 4;
  if (rtp[0]! & 0x10) {
    if (offset + 4 > rtp.length) return undefined;
    offset += 4 + rtp.readUInt16BE(offset + 2) * 4;
  }
  let end = rtp.length;
  if (rtp[0]! & 0x20) end -= rtp[end - 1]!;
  if (offset >= end) return undefined;
  return { payloadType: pt, sequence: rtp.readUInt16BE(2), timestamp: rtp.readUInt32BE(4), payload: rtp.subarray(offset, end) };
}

/** The codec of the audio m-section of an SDP ("opus", "pcmu" …), or undefined without audio. */
export function audioCodecOf(sdp: string): string | undefined {
  const section = /(^|\n)m=audio [^\n]*\n([\s\S]*?)(?=\nm=|$)/.exec(sdp);
  if (!section || /^m=audio 0 /m.test(section[0].trim())) return undefined;
  const m = /a=rtpmap:\d+ ([A-Za-z0-9_-]+)\//.exec(section[2]!);
  return m ? m[1]!.toLowerCase() : undefined;
}

const median = (values: number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
};

/** One ffmpeg that decodes Ogg Opus on stdin to s16le mono 48 kHz on stdout. */
class OpusDecoder {
  private readonly child: ChildProcess;
  private closed = false;

  constructor(onPcm: (pcm: Int16Array) => void, ffmpegPath = 'ffmpeg') {
    this.child = spawn(
      ffmpegPath,
      ['-hide_banner', '-nostdin', '-loglevel', 'error', // No -fflags nobuffer: it throws away the packets read while probing (the first 20 ms).
        '-probesize', '32', '-analyzeduration', '0', '-f', 'ogg', '-i', 'pipe:0', '-f', 's16le', '-ac', '1', '-ar', String(TONE_SAMPLE_RATE), 'pipe:1'],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    this.child.on('error', () => undefined);
    this.child.stdin!.on('error', () => undefined);
    let carry: Buffer = Buffer.alloc(0);
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const whole = data.length & ~1;
      carry = Buffer.from(data.subarray(whole));
      const samples = new Int16Array(whole / 2);
      for (let i = 0; i < samples.length; i++) samples[i] = data.readInt16LE(i * 2);
      onPcm(samples);
    });
  }

  write(page: Buffer): void {
    if (this.closed) return;
    // Behind by seconds: drop rather than queue.
    if (this.child.stdin!.writableLength > 1024 * 1024) return;
    this.child.stdin!.write(page);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.child.stdin!.end();
    this.child.kill('SIGKILL');
  }
}

/** The audio track of a CLI viewer: RTP in, level and pattern beeps out. */
export class OpusAudioTrack {
  private readonly decoder: OpusDecoder;
  private readonly meter = new RmsMeter();
  private readonly detector: ToneOnsetDetector;
  private sequence = 0;
  private granule = 0n;
  /** Per packet written to the decoder: its first decoded sample and when it arrived. */
  private readonly written: { firstSample: number; arrivedAt: number }[] = [];
  private samplesWritten = 0;
  private packets = 0;
  private bytes = 0;
  private lastTimestamp: number | undefined;
  private readonly offsets: number[] = [];
  private readonly latencies: number[] = [];
  private beeps = 0;
  /** The video's current glass-to-glass latency (set by the viewer; null while unknown). */
  videoLatencyMs: () => number | null = () => null;

  constructor(
    readonly codec: string,
    ffmpegPath = 'ffmpeg',
  ) {
    this.detector = new ToneOnsetDetector((sample) => this.onOnset(sample));
    this.decoder = new OpusDecoder((pcm) => this.onPcm(pcm), ffmpegPath);
    const serial = 0x6c616e63;
    this.decoder.write(oggPage(opusHead(), { serial, sequence: this.sequence++, granule: 0n, first: true }));
    this.decoder.write(oggPage(opusTags(), { serial, sequence: this.sequence++, granule: 0n }));
  }

  /** One RTP packet from the track. */
  push(packet: Uint8Array): void {
    const rtp = parseRtp(packet);
    if (!rtp) return;
    const arrivedAt = Date.now();
    this.packets++;
    this.bytes += packet.byteLength;
    // Samples this packet stands for, from the timestamp step (20 ms when unknown).
    const step = this.lastTimestamp === undefined ? 960 : (rtp.timestamp - this.lastTimestamp) >>> 0;
    if (this.lastTimestamp !== undefined && (step === 0 || step > 48_000)) return; // duplicate or out of order
    this.lastTimestamp = rtp.timestamp;
    this.written.push({ firstSample: this.samplesWritten, arrivedAt });
    if (this.written.length > 500) this.written.shift();
    this.samplesWritten += step;
    this.granule += BigInt(step);
    this.decoder.write(oggPage(Buffer.from(rtp.payload), { serial: 0x6c616e63, sequence: this.sequence++, granule: this.granule }));
  }

  stats(): AudioStats {
    const level = this.meter.dbfs;
    return {
      codec: this.codec,
      packets: this.packets,
      bytes: this.bytes,
      levelDbfs: level === null ? null : Number.isFinite(level) ? Math.round(level * 10) / 10 : -Infinity,
      beeps: this.beeps,
      avOffsetMs: median(this.offsets),
      audioLatencyMs: median(this.latencies),
    };
  }

  stop(): void {
    this.decoder.close();
  }

  private onPcm(pcm: Int16Array): void {
    const floats = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) floats[i] = pcm[i]! / 32768;
    this.meter.add(floats, Date.now());
    this.detector.push(floats);
  }

  private onOnset(sample: number): void {
    // The packet the onset was in (decoded samples follow the packets' timestamp steps).
    let entry: { firstSample: number; arrivedAt: number } | undefined;
    for (let i = this.written.length - 1; i >= 0; i--) {
      if (this.written[i]!.firstSample <= sample) {
        entry = this.written[i];
        break;
      }
    }
    if (!entry) return;
    this.beeps++;
    // The beep's sound had arrived once its packet had; the instant within the packet is added.
    const arrived = entry.arrivedAt + (sample - entry.firstSample) / 48;
    const video = this.videoLatencyMs();
    const second = Math.round((arrived - (video ?? 0)) / 1000) * 1000;
    const latency = arrived - second;
    this.latencies.push(Math.round(latency));
    if (this.latencies.length > 600) this.latencies.shift();
    if (video !== null) {
      this.offsets.push(Math.round(latency - video));
      if (this.offsets.length > 600) this.offsets.shift();
    }
  }
}
