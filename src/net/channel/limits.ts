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
  /** Open connections from one source address; more are closed before TLS. */
  maxConnectionsPerAddress: number;
  /** Open connections in all. */
  maxConnections: number;
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
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  heartbeatIntervalMs: 20_000,
  maxBufferedBytes: 1024 * 1024,
  requestTimeoutMs: 15_000,
};

export function resolveLimits(partial?: Partial<ChannelLimits>): ChannelLimits {
  return { ...DEFAULT_LIMITS, ...partial };
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
