/**
 * Resource limits of the lancam channel. Every one has a clear error or close when hit.
 */
import { FrameLimits } from '../../shared/protocol/frames';

export interface ChannelLimits {
  /** Largest frame accepted; a larger one closes the connection (WebSocket 1009). */
  maxFrameBytes: number;
  /** Requests being handled at once per connection; more get 429 at once. */
  maxPendingRequests: number;
  /** Sustained requests per second per connection (token bucket); more get 429. */
  requestsPerSecond: number;
  /** Token bucket size: the burst a connection may send at once. */
  requestBurst: number;
  /** Invalid frames tolerated on one connection before it is closed (1008). */
  maxProtocolErrors: number;
  /**
   * Connections still in the handshake plus unpaired channels from one source (an IPv4 address or
   * an IPv6 /64); beyond it the oldest of them is cut. Paired channels from one source have the
   * same cap of their own (a newcomer beyond it is refused with 1013).
   */
  maxConnectionsPerAddress: number;
  /** Open connections in all. */
  maxConnections: number;
  /**
   * Established channels whose key the device does not know (unpaired), in all. Together with
   * maxPendingHandshakes this stays below maxConnections, so the rest is reserved for paired keys:
   * a flood of unknown clients cannot lock the owner out. When full, the oldest unpaired channel
   * is evicted (newest wins), so a real newcomer can still pair.
   */
  maxUnpairedConnections: number;
  /** TCP connections still in TLS or the upgrade, in all; beyond it the oldest is cut. */
  maxPendingHandshakes: number;
  /** New TCP connections per second from one source (token bucket, burst = 4x); more are refused at accept. */
  newConnectionsPerSecondPerAddress: number;
  /** An unpaired channel that sends no frame for this long is closed (1001); pings do not count. */
  unpairedIdleTimeoutMs: number;
  /** From TCP accept to an established WebSocket (TLS + upgrade); slower clients are dropped. */
  handshakeTimeoutMs: number;
  /** A connection that sends no frame for this long is closed (1001); 0 = never. */
  idleTimeoutMs: number;
  /** Heartbeat: a ping every interval; a peer that misses one pong is gone (half-open). */
  heartbeatIntervalMs: number;
  /** Output the peer has not read yet; beyond it the peer is not reading and is closed. */
  maxBufferedBytes: number;
  /** How long a request waits for its response (client side). */
  requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: ChannelLimits = {
  maxFrameBytes: FrameLimits.maxFrameBytes,
  maxPendingRequests: 32,
  requestsPerSecond: 50,
  requestBurst: 100,
  maxProtocolErrors: 20,
  maxConnectionsPerAddress: 16,
  maxConnections: 256,
  maxUnpairedConnections: 128,
  maxPendingHandshakes: 64,
  newConnectionsPerSecondPerAddress: 10,
  unpairedIdleTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  heartbeatIntervalMs: 20_000,
  maxBufferedBytes: 1024 * 1024,
  requestTimeoutMs: 15_000,
};

export function resolveLimits(partial?: Partial<ChannelLimits>): ChannelLimits {
  const limits = { ...DEFAULT_LIMITS, ...partial };
  // Keep room for paired keys whatever the caller chose: unknown and half-open together get at
  // most three quarters of the total.
  const room = Math.max(1, Math.floor((limits.maxConnections * 3) / 4));
  if (limits.maxUnpairedConnections + limits.maxPendingHandshakes > room) {
    limits.maxPendingHandshakes = Math.max(1, Math.min(limits.maxPendingHandshakes, Math.floor(room / 4)));
    limits.maxUnpairedConnections = Math.max(1, room - limits.maxPendingHandshakes);
  }
  return limits;
}

/** Close codes (WebSocket) used by the channel. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  PolicyViolation: 1008,
  TooBig: 1009,
  TryAgainLater: 1013,
} as const;

/** A token bucket: `take(cost)` is true while the caller is within its rate (cost: 1 per request, or bytes). */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(cost = 1): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }
}
