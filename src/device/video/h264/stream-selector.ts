/**
 * Main and sub streams, and which one each viewer gets. A camera may offer a sub stream (the
 * camera's own second stream passed through, or for sources lancam encodes a smaller encode of
 * its own); each is a SharedEncodedStream, so it runs once for all its viewers and only while
 * someone watches it. A viewer's StreamSelector sends it exactly one of them on one track (one
 * SSRC, one packetizer, so RTP sequence numbers simply continue): a switch waits for the other
 * stream's next IDR (asked for at once where lancam encodes), or, for a passed-through camera,
 * starts with the other stream's cached GOP (gop-cache.ts).
 *
 * Timestamps: every picture is stamped from the one monotonic 90 kHz clock when it leaves its
 * source, so the two streams share a timeline. A cached GOP is sent in one burst stamped 1 tick
 * apart just before "now": the viewer's decoder decodes it all at once and shows its last picture,
 * and the live pictures that follow carry their own (later) stamps, so no latency is carried over
 * from the cache's age (docs/video.md "First frame").
 */
import type { Logger } from '../../../net/log';
import type { VideoStreamChoice } from '../../../shared/protocol/webrtc-api';
import { CongestionMonitor, parseRtcp, type CongestionOptions } from './congestion';
import type { SourceStatus } from '../capture';
import type { EncodedUnit, SharedEncodedStream, StreamViewer } from './encoded-stream';
import { GopCache } from './gop-cache';

export interface StreamSetOptions {
  /** The GOP cache's bound for passed-through streams (bytes; 0 turns the cache off). */
  gopCacheBytes?: number | undefined;
  /** Weak viewers move to the sub stream (default true when there is one). */
  congestion?: CongestionOptions | false | undefined;
}

/** The streams of one camera, with a GOP cache for each stream lancam cannot ask for keyframes. */
export class StreamSet {
  readonly caches = new Map<SharedEncodedStream, GopCache>();
  /** Recent bytes per stream, for its bitrate (compared with a viewer's REMB). */
  private readonly rates = new Map<SharedEncodedStream, { at: number; bytes: number }[]>();

  constructor(
    readonly main: SharedEncodedStream,
    readonly sub: SharedEncodedStream | undefined,
    readonly options: StreamSetOptions = {},
  ) {
    // Every viewer's selector listens for the sub stream's failures.
    sub?.setMaxListeners(0);
    for (const stream of sub ? [main, sub] : [main]) {
      const bytes = options.gopCacheBytes;
      if (!stream.source.keyframesOnRequest && bytes !== 0) this.caches.set(stream, new GopCache(stream.source, bytes));
      const window: { at: number; bytes: number }[] = [];
      this.rates.set(stream, window);
      stream.source.on('unit', (unit) => {
        const now = performance.now();
        window.push({ at: now, bytes: unit.data.length });
        while (window.length && window[0]!.at < now - 2000) window.shift();
      });
    }
  }

  stream(choice: VideoStreamChoice): SharedEncodedStream {
    return choice === 'sub' && this.sub ? this.sub : this.main;
  }

  /** A stream's bitrate over the last 2 s (bit/s), or undefined while it is not running. */
  bitrate(stream: SharedEncodedStream): number | undefined {
    const window = this.rates.get(stream);
    if (!window || window.length < 2) return undefined;
    const span = (window.at(-1)!.at - window[0]!.at) / 1000;
    if (span <= 0.5) return undefined;
    return (window.reduce((n, w) => n + w.bytes, 0) * 8) / span;
  }
}

/**
 * How a cached GOP is sent: 'compressed' (the default: one burst stamped 1 tick apart), or, only
 * to measure the alternatives (docs/video.md "First frame"; LANCAM_GOP_BURST), 'original' (one
 * burst with the pictures' own timestamps) and 'idr' (the cached IDR alone, then the next IDR).
 */
export type GopBurst = 'compressed' | 'original' | 'idr';

function gopBurst(): GopBurst {
  const value = process.env.LANCAM_GOP_BURST;
  return value === 'original' || value === 'idr' ? value : 'compressed';
}

/**
 * A cached GOP leaves paced: at most this many bytes per tick (64 KB per 10 ms, about 50 Mbit/s),
 * so a 1080p camera's 2 MB GOP does not hit the viewer as one burst of ~1700 packets (more than
 * its socket buffer or the NACK responder's history of 512 packets would survive). Live pictures
 * queue behind it, in order.
 */
const BURST_BYTES_PER_TICK = 64 * 1024;
const BURST_TICK_MS = 10;

/** A sub stream whose source failed is not asked for again for this long (ms). */
const SUB_DOWN_MS = 30_000;

/** One viewer's choice of stream and the switch between them. */
export class StreamSelector {
  /** The stream being sent; undefined before start and after close. */
  private current: SharedEncodedStream | undefined;
  /** The stream being switched to (held, waiting for its IDR). */
  private target: SharedEncodedStream | undefined;
  private waitingForKeyframe = true;
  private open = false;
  private closed = false;
  private lastTimestamp: number | undefined;
  private preference: VideoStreamChoice;
  private readonly congestion: CongestionMonitor | undefined;
  private readonly adaptors = new Map<SharedEncodedStream, StreamViewer>();
  /** Pictures sent from GOP caches (a joining viewer's burst or a switch), for logs and tests. */
  burstUnits = 0;
  /** RTP packets sent since the viewer's last receiver report (estimated from the pictures' sizes). */
  private packetsSinceReport = 0;
  /** Pictures waiting behind a paced burst (already stamped). */
  private readonly queue: EncodedUnit[] = [];
  private drainTimer: NodeJS.Timeout | undefined;
  /** The sub stream's source failed or is being retried: main until then (performance.now()). */
  private subDownUntil = 0;
  private subDownTimer: NodeJS.Timeout | undefined;
  private readonly onSubStatus = (status: SourceStatus): void => {
    if (this.closed || (status.state !== 'failed' && status.state !== 'retrying')) return;
    this.subDownUntil = performance.now() + SUB_DOWN_MS;
    this.update(`the sub stream's source is ${status.state} (${status.message}), main stream`);
    // Asked again once the pause is over (a viewer that wants sub goes back to it).
    clearTimeout(this.subDownTimer);
    this.subDownTimer = setTimeout(() => this.update('the sub stream may be tried again'), SUB_DOWN_MS + 10);
    this.subDownTimer.unref?.();
  };

  constructor(
    private readonly set: StreamSet,
    initial: VideoStreamChoice,
    private readonly send: (unit: EncodedUnit) => void,
    private readonly log: Logger,
    private readonly name: string,
  ) {
    this.preference = initial;
    const congestion = set.options.congestion;
    if (set.sub && congestion !== false) this.congestion = new CongestionMonitor(congestion ?? {});
    set.sub?.on('status', this.onSubStatus);
  }

  /** The stream the viewer should get now: its preference, or sub while its link is weak. */
  get wanted(): VideoStreamChoice {
    if (performance.now() < this.subDownUntil) return 'main';
    return this.preference === 'sub' || this.congestion?.weak ? 'sub' : 'main';
  }

  /** Which stream is being sent ('sub' only when the camera has one). */
  get sending(): VideoStreamChoice {
    return this.current && this.current === this.set.sub ? 'sub' : 'main';
  }

  /** Starts the wanted stream for this viewer (its source starts if this is its first viewer). */
  async start(): Promise<void> {
    const stream = this.set.stream(this.wanted);
    this.current = stream;
    await stream.acquire(this.adaptor(stream));
  }

  /** The viewer's track opened: start at a keyframe (cached, or asked for). */
  onOpen(): void {
    this.open = true;
    const stream = this.current;
    if (!stream || this.closed) return;
    this.waitingForKeyframe = true;
    if (this.replayCache(stream)) return;
    stream.requestKeyframe();
  }

  /** The viewer asked for the main or sub stream (STREAM message). */
  prefer(choice: VideoStreamChoice): void {
    this.preference = choice;
    this.update(`the viewer asked for the ${choice} stream`);
  }

  /** The viewer's RTCP: PLIs ask for a keyframe, reports feed congestion control. */
  onRtcp(buf: Uint8Array): void {
    const feedback = parseRtcp(buf);
    if (feedback.plis > 0) (this.target ?? this.current)?.requestKeyframe();
    if (!this.congestion || this.closed) return;
    const packets = this.packetsSinceReport;
    if (feedback.lossFractions.length) this.packetsSinceReport = 0;
    const verdict = this.congestion.feed(feedback, performance.now(), this.set.bitrate(this.set.main), packets);
    if (verdict === 'weak') this.update(`weak link (${this.congestion.summary}), sub stream`);
    else if (verdict === 'recovered') this.update(`link recovered (${this.congestion.summary}), main stream`);
  }

  requestKeyframe(): void {
    (this.target ?? this.current)?.requestKeyframe();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.set.sub?.off('status', this.onSubStatus);
    clearTimeout(this.subDownTimer);
    clearTimeout(this.drainTimer);
    this.queue.length = 0;
    for (const stream of [this.current, this.target]) if (stream) stream.release(this.adaptor(stream));
    this.current = undefined;
    this.target = undefined;
  }

  private update(why: string): void {
    if (this.closed || !this.current) return;
    const want = this.set.stream(this.wanted);
    if (want === (this.target ?? this.current)) return;
    this.log.info(`video: ${this.name}: ${why}${this.set.sub ? '' : ' (this camera has no sub stream: main stays)'}`);
    if (want === this.current) {
      // Back to the stream still being sent: forget the switch under way.
      const target = this.target;
      this.target = undefined;
      if (target) target.release(this.adaptor(target));
      return;
    }
    if (this.target) this.target.release(this.adaptor(this.target));
    if (!this.open) {
      // Nothing sent yet: take the other stream from its start.
      const old = this.current;
      this.target = undefined;
      this.current = want;
      want.acquire(this.adaptor(want)).catch((err: unknown) => this.log.warn(`video: ${this.name}: ${(err as Error).message}`));
      old.release(this.adaptor(old));
      return;
    }
    this.target = want;
    want
      .acquire(this.adaptor(want))
      .then(() => {
        if (this.target !== want || this.closed) return;
        if (this.open && this.replayCache(want)) return;
        want.requestKeyframe();
      })
      .catch((err: unknown) => this.log.warn(`video: ${this.name}: ${(err as Error).message}`));
  }

  private adaptor(stream: SharedEncodedStream): StreamViewer {
    let viewer = this.adaptors.get(stream);
    if (!viewer) {
      viewer = { onUnit: (unit) => this.onUnit(stream, unit) };
      this.adaptors.set(stream, viewer);
    }
    return viewer;
  }

  private onUnit(stream: SharedEncodedStream, unit: EncodedUnit): void {
    if (this.closed || !this.open) return;
    if (stream === this.target) {
      if (!unit.keyframe) return;
      this.switchTo(stream);
    } else if (stream !== this.current) return;
    if (this.waitingForKeyframe) {
      if (!unit.keyframe) return;
      this.waitingForKeyframe = false;
    }
    this.emit(unit, unit.timestamp);
  }

  /** The target's IDR (live or cached) is here: it becomes the stream sent, the old one is let go. */
  private switchTo(stream: SharedEncodedStream): void {
    const old = this.current;
    this.current = stream;
    this.target = undefined;
    this.waitingForKeyframe = false;
    if (old && old !== stream) old.release(this.adaptor(old));
    this.log.info(`video: ${this.name}: now sending the ${stream === this.set.sub ? 'sub' : 'main'} stream`);
  }

  /** Sends `stream`'s cached GOP as a burst and switches to it; false when there is none. */
  private replayCache(stream: SharedEncodedStream): boolean {
    // A source lancam encodes (the pattern, or a camera found after its probe to need a transcode)
    // gives a fresh IDR on request: better than replaying an up to a GOP old burst.
    if (stream.source.keyframesOnRequest) return false;
    let units = this.set.caches.get(stream)?.snapshot() ?? [];
    if (units.length === 0 || !units[0]!.keyframe) return false;
    if (stream !== this.current) this.switchTo(stream);
    this.waitingForKeyframe = false;
    // What is still queued (an earlier burst, the stream switched from) is superseded by this GOP:
    // dropped, so switching back and forth cannot pile up GOPs in memory or in the viewer's latency.
    this.queue.length = 0;
    const burst = gopBurst();
    if (burst === 'idr') {
      // The cached IDR alone; the rest of this GOP cannot be decoded without the pictures skipped.
      units = units.slice(0, 1);
      this.waitingForKeyframe = true;
    }
    if (burst === 'original' && this.lastTimestamp === undefined) {
      for (const unit of units) this.emit(unit, unit.timestamp, true);
      this.burstUnits += units.length;
      this.drain();
      this.log.info(`video: ${this.name}: started with ${units.length} cached picture(s) of the current GOP (own timestamps)`);
      return true;
    }
    // Stamped 1 tick apart and ending just before now, after anything already sent.
    const early = (Math.round(performance.now() * 90) - units.length) >>> 0;
    const last = this.lastTimestamp;
    let ts = last === undefined || ((early - last) | 0) > 0 ? early : last + 1;
    for (const unit of units) this.emit(unit, ts++ >>> 0, true);
    this.burstUnits += units.length;
    this.drain();
    this.log.info(`video: ${this.name}: started with ${units.length} cached picture(s) of the current GOP`);
    return true;
  }

  private emit(unit: EncodedUnit, timestamp: number, queued = false): void {
    // Never backwards (units of two streams, or a burst, just before live pictures).
    let ts = timestamp;
    if (this.lastTimestamp !== undefined && ((ts - this.lastTimestamp) | 0) <= 0) ts = this.lastTimestamp + 1;
    ts >>>= 0;
    this.lastTimestamp = ts;
    this.packetsSinceReport += Math.ceil(unit.data.length / 1200);
    const out = ts === unit.timestamp >>> 0 ? unit : { ...unit, timestamp: ts };
    if (queued || this.queue.length > 0) this.queue.push(out);
    else this.send(out);
  }

  /** Sends queued pictures, BURST_BYTES_PER_TICK per tick (at least one), until none are left. */
  private drain(): void {
    // One chain of ticks at a time (a second replay while one is draining must not add another).
    clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    let bytes = 0;
    while (this.queue.length > 0 && !this.closed && (bytes === 0 || bytes + this.queue[0]!.data.length <= BURST_BYTES_PER_TICK)) {
      const unit = this.queue.shift()!;
      bytes += unit.data.length;
      this.send(unit);
    }
    if (this.queue.length > 0 && !this.closed) this.drainTimer = setTimeout(() => this.drain(), BURST_TICK_MS);
  }
}
