/**
 * Congestion control for the shared H.264 streams. With one encode (or one passed-through camera
 * stream) for every viewer, a viewer's bitrate cannot be changed on its own: a viewer on a weak
 * link moves to the sub stream (encoded once for all weak viewers, or the camera's own sub
 * stream) and back to the main stream when its link recovers, with hysteresis (a hold time that
 * doubles when a return to main fails soon after).
 *
 * What the viewer tells us, from the RTCP it sends (parsed here, nothing decoded):
 *   - receiver reports (RFC 3550 6.4): fraction lost since the previous report, jitter;
 *   - generic NACKs (RFC 4585 6.2.1): packets it asked to have resent;
 *   - REMB (draft-alvestrand-rmcat-remb): its receive-side bandwidth estimate, when it sends one.
 */

export interface RtcpFeedback {
  /** Fraction lost (0..1) of every report block in the packet. */
  lossFractions: number[];
  /** Interarrival jitter, in RTP timestamp units, of every report block. */
  jitters: number[];
  /** Packets asked for by generic NACKs. */
  nackedPackets: number;
  plis: number;
  /** REMB bitrate (bit/s), if the packet carries one. */
  rembBps: number | undefined;
}

/** Reads an RTCP compound packet; stops at the first malformed header (the rest is ignored). */
export function parseRtcp(buf: Uint8Array): RtcpFeedback {
  const out: RtcpFeedback = { lossFractions: [], jitters: [], nackedPackets: 0, plis: 0, rembBps: undefined };
  let off = 0;
  while (off + 4 <= buf.length) {
    if (buf[off]! >> 6 !== 2) break;
    const count = buf[off]! & 0x1f;
    const pt = buf[off + 1]!;
    const end = off + (((buf[off + 2]! << 8) | buf[off + 3]!) + 1) * 4;
    if (end > buf.length) break;
    const view = new DataView(buf.buffer, buf.byteOffset + off, end - off);
    // SR (200) has 20 bytes of sender info after the SSRC; RR (201) none.
    const blocksAt = pt === 200 ? 28 : pt === 201 ? 8 : -1;
    if (blocksAt >= 0) {
      for (let i = 0; i < count && blocksAt + (i + 1) * 24 <= view.byteLength; i++) {
        const b = blocksAt + i * 24;
        out.lossFractions.push(view.getUint8(b + 4) / 256);
        out.jitters.push(view.getUint32(b + 12));
      }
    } else if (pt === 205 && count === 1) {
      // Generic NACK: FCI entries of PID (16) and BLP (16) after the two SSRCs.
      for (let f = 12; f + 4 <= view.byteLength; f += 4) {
        let blp = view.getUint16(f + 2);
        let n = 1;
        while (blp) {
          n += blp & 1;
          blp >>>= 1;
        }
        out.nackedPackets += n;
      }
    } else if (pt === 206 && count === 1) {
      out.plis++;
    } else if (pt === 206 && count === 15 && view.byteLength >= 20 && view.getUint32(12) === 0x52454d42) {
      // 'REMB', num SSRC (8), BR exp (6), BR mantissa (18).
      const word = view.getUint32(16);
      const exp = (word >>> 18) & 0x3f;
      const mantissa = word & 0x3ffff;
      out.rembBps = mantissa * 2 ** exp;
    }
    off = end;
  }
  return out;
}

export interface CongestionOptions {
  /** A report with at least this fraction lost counts as bad (default 0.08). */
  lossBad?: number;
  /** A report with at most this fraction lost counts as good (default 0.02). */
  lossGood?: number;
  /** Bad reports in a row that make a link weak (default 2). */
  badReports?: number;
  /** First hold time on the sub stream before trying main again (ms, default 8000). */
  holdMs?: number;
  /** The hold time doubles up to this (ms, default 64000). */
  maxHoldMs?: number;
  /** Going weak again within this long of a return to main doubles the hold (ms, default 20000). */
  relapseMs?: number;
}

/** Packets sent between two receiver reports below which the NACK ratio is not used. */
const MIN_PACKETS_FOR_NACK_RATIO = 30;

export type LinkVerdict = 'weak' | 'recovered' | undefined;

/**
 * One viewer's link, from its RTCP. `feed` returns 'weak' when the viewer should move to the sub
 * stream, 'recovered' when it may go back to main, undefined when nothing changes.
 */
export class CongestionMonitor {
  private bad = 0;
  private weakSince: number | undefined;
  private lastGoodBadAt = 0;
  private recoveredAt = -Infinity;
  private hold: number;
  private readonly o: Required<CongestionOptions>;
  private lastLoss = 0;
  private lastRemb: number | undefined;
  private nacks = 0;
  private nacksSinceReport = 0;
  private lastNackRatio = 0;

  constructor(options: CongestionOptions = {}) {
    this.o = { lossBad: 0.08, lossGood: 0.02, badReports: 2, holdMs: 8000, maxHoldMs: 64_000, relapseMs: 20_000, ...options };
    this.hold = this.o.holdMs;
  }

  get weak(): boolean {
    return this.weakSince !== undefined;
  }

  /** The last report's numbers, for logs. */
  get summary(): string {
    return `reported loss ${Math.round(this.lastLoss * 100)} %, NACKed ${Math.round(this.lastNackRatio * 100)} % of packets${this.lastRemb !== undefined ? `, REMB ${Math.round(this.lastRemb / 1000)} kbit/s` : ''}, ${this.nacks} packets NACKed`;
  }

  /**
   * One RTCP packet from the viewer. `mainBps` is the main stream's bitrate now, if known: while
   * the viewer gets main, a REMB below half of it counts as bad (not in the first 10 s after a
   * return to main: a receiver's estimate grows only with what it receives, so it is low then).
   * Recovery is judged by loss alone, for the same reason: a viewer on the sub stream cannot
   * estimate more than it gets; a failed return is caught by the relapse rule (longer hold).
   */
  feed(feedback: RtcpFeedback, now: number, mainBps?: number, packetsSentSinceReport?: number): LinkVerdict {
    this.nacks += feedback.nackedPackets;
    this.nacksSinceReport += feedback.nackedPackets;
    if (feedback.rembBps !== undefined) this.lastRemb = feedback.rembBps;
    if (feedback.lossFractions.length === 0 && feedback.rembBps === undefined) return undefined;
    // A receiver report's loss counts packets recovered by NACK as received: the NACK ratio
    // (packets asked for again per packet sent since the last report) shows the loss underneath.
    // (Only over enough packets: 3 NACKs against 3 packets sent says little.)
    const nackRatio = packetsSentSinceReport !== undefined && packetsSentSinceReport >= MIN_PACKETS_FOR_NACK_RATIO ? Math.min(1, this.nacksSinceReport / packetsSentSinceReport) : 0;
    if (feedback.lossFractions.length) {
      this.nacksSinceReport = 0;
      this.lastNackRatio = nackRatio;
    }
    const reported = feedback.lossFractions.length ? Math.max(...feedback.lossFractions) : this.lastLoss;
    this.lastLoss = reported;
    const loss = Math.max(nackRatio, reported);
    const remb = this.lastRemb;
    const onMain = this.weakSince === undefined && now - this.recoveredAt >= 10_000;
    const rembBad = onMain && remb !== undefined && mainBps !== undefined && mainBps > 0 && remb < mainBps * 0.5;
    const bad = loss >= this.o.lossBad || rembBad;
    const good = loss <= this.o.lossGood;
    if (bad) {
      this.bad++;
      this.lastGoodBadAt = now;
    } else this.bad = 0;
    if (this.weakSince === undefined) {
      if (this.bad >= this.o.badReports) {
        // A relapse soon after coming back: stay on sub longer next time.
        if (now - this.recoveredAt < this.o.relapseMs) this.hold = Math.min(this.o.maxHoldMs, this.hold * 2);
        else this.hold = this.o.holdMs;
        this.weakSince = now;
        this.bad = 0;
        return 'weak';
      }
      return undefined;
    }
    if (!good) {
      this.lastGoodBadAt = now;
      return undefined;
    }
    if (now - this.lastGoodBadAt >= this.hold) {
      this.weakSince = undefined;
      this.recoveredAt = now;
      return 'recovered';
    }
    return undefined;
  }

  /** Current hold time on the sub stream (ms). */
  get holdMs(): number {
    return this.hold;
  }
}
