/**
 * The test pattern's sound as Opus: the beep of src/shared/video/pattern-tone.ts (1 kHz, 100 ms,
 * at every whole second of the capture clock). One second of it is encoded once, when the source
 * first starts (ffmpeg's libopus, 20 ms packets, 32 kbit/s), and those 50 packets are sent again
 * every second, each at the instant its audio stands for, so the beep leaves the device at the
 * whole second that the video frames stamped with that second show. Nothing is encoded while it
 * runs and nothing per viewer.
 *
 * Timestamps: packet slot s (s = floor(epoch ms / 20)) carries RTP timestamp s * 960 minus the
 * encoder's pre-skip (the samples a decoder outputs before the input's first one), so the
 * decoded beep starts exactly at the whole second's timestamp.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { renderToneS16, TONE_SAMPLE_RATE } from '../../../shared/video/pattern-tone';
import type { AudioSource, AudioSourceEvents } from './audio-stream';
import { OggOpusReader, type OpusPacket } from './ogg-opus';

const PACKET_MS = 20;
const PACKET_SAMPLES = (TONE_SAMPLE_RATE * PACKET_MS) / 1000; // 960
const PACKETS_PER_SECOND = 1000 / PACKET_MS;
/** Behind by more than this many packets (a stalled event loop): skip ahead rather than burst. */
const MAX_CATCH_UP = 10;

export interface EncodedLoop {
  packets: Buffer[];
  preSkip: number;
}

/**
 * Encodes three seconds of the tone and keeps the middle second: its packets were encoded after
 * a second of the same signal, so they loop seamlessly (the end of a second is silence).
 */
export function encodeToneLoop(ffmpegPath: string): Promise<EncodedLoop> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      ffmpegPath,
      ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 's16le', '-ar', String(TONE_SAMPLE_RATE), '-ac', '1', '-i', 'pipe:0', '-c:a', 'libopus', '-b:a', '32k', '-application', 'lowdelay', '-frame_duration', String(PACKET_MS), '-f', 'ogg', 'pipe:1'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const packets: OpusPacket[] = [];
    const reader = new OggOpusReader((p) => packets.push(p));
    let stderr = '';
    let failure: Error | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (err) {
        failure = err as Error;
      }
    });
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr = (stderr + t).slice(-400)));
    child.stdin.on('error', () => undefined);
    child.on('error', (err) => reject(new Error(`ffmpeg could not start (${ffmpegPath}: ${err.message}); install ffmpeg or use --no-audio`)));
    child.on('close', (code) => {
      if (failure) return reject(failure);
      if (code !== 0) return reject(new Error(`ffmpeg could not encode the tone (exit ${code}): ${stderr.trim() || 'no message'}; its build needs libopus`));
      const second = packets.slice(PACKETS_PER_SECOND, 2 * PACKETS_PER_SECOND);
      if (second.length !== PACKETS_PER_SECOND || second.some((p) => p.samples !== PACKET_SAMPLES)) {
        return reject(new Error(`ffmpeg's Opus did not come in ${PACKET_MS} ms packets`));
      }
      resolve({ packets: second.map((p) => p.data), preSkip: reader.preSkip });
    });
    const pcm = renderToneS16(0, 3 * TONE_SAMPLE_RATE);
    child.stdin.end(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  });
}

export class PatternToneSource extends EventEmitter<AudioSourceEvents> implements AudioSource {
  readonly description = "the test pattern's tone (Opus, encoded once)";
  private loop: Promise<EncodedLoop> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextSlot = 0;
  private generation = 0;
  private reportedHold = 0;
  private reportedHoldAt = 0;

  constructor(
    private readonly ffmpegPath = 'ffmpeg',
    private readonly now: () => number = Date.now,
    /**
     * How long the pattern's pictures take to leave (the encoder's latency, ms): each packet is held
     * back by it, so sound and picture of one instant leave the device together (a browser syncs
     * by the send time its RTCP sender reports give; docs/video.md "Audio"). Timestamps unchanged.
     */
    private readonly delayMs?: () => number,
  ) {
    super();
  }

  start(): void {
    if (this.timer) return;
    const generation = ++this.generation;
    this.emit('status', { state: 'starting', message: 'encoding one second of the tone' });
    this.loop ??= encodeToneLoop(this.ffmpegPath);
    this.loop.then(
      (loop) => {
        if (generation !== this.generation) return;
        this.emit('status', { state: 'running', message: 'sending a beep at every whole second' });
        this.nextSlot = Math.floor((this.now() + loop.preSkip / 48) / PACKET_MS);
        this.tick(loop);
      },
      (err: unknown) => {
        this.loop = undefined;
        if (generation !== this.generation) return;
        this.emit('status', { state: 'failed', message: (err as Error).message });
      },
    );
  }

  async stop(): Promise<void> {
    this.generation++;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.emit('status', { state: 'stopped', message: 'no viewers' });
  }

  private holdBackMs(): number {
    const raw = this.delayMs?.() ?? 0;
    const ms = Number.isFinite(raw) ? Math.min(500, Math.max(0, raw)) : 0;
    const now = this.now();
    if (ms > 0 && (this.reportedHoldAt === 0 || (Math.abs(ms - this.reportedHold) >= 5 && now - this.reportedHoldAt >= 10_000))) {
      this.reportedHold = ms;
      this.reportedHoldAt = now;
      this.emit('status', { state: 'running', message: `holding the sound back by ${ms.toFixed(1)} ms, the pictures' encode latency (lip-sync)` });
    }
    return ms;
  }

  /** Sends every packet whose instant has come, then sleeps until the next one. */
  private tick(loop: EncodedLoop): void {
    const generation = this.generation;
    // A packet leaves at the instant of its first sample (its slot's start less the pre-skip),
    // plus the picture's encode latency.
    const lead = loop.preSkip / 48 - this.holdBackMs();
    const current = Math.floor((this.now() + lead) / PACKET_MS);
    if (current - this.nextSlot > MAX_CATCH_UP) this.nextSlot = current;
    for (; this.nextSlot <= current; this.nextSlot++) {
      const slot = this.nextSlot;
      const index = ((slot % PACKETS_PER_SECOND) + PACKETS_PER_SECOND) % PACKETS_PER_SECOND;
      this.emit('packet', { data: loop.packets[index]!, timestamp: (slot * PACKET_SAMPLES - loop.preSkip) >>> 0, samples: PACKET_SAMPLES });
    }
    if (generation !== this.generation) return;
    const wait = Math.max(1, this.nextSlot * PACKET_MS - lead - this.now());
    this.timer = setTimeout(() => this.tick(loop), wait);
  }
}
