/**
 * Resource limits of lancam-relay. The relay faces the internet and trusts nobody, so every
 * resource a peer can make it spend has a cap, and every cap has a clear error frame or close.
 */
import { RELAY_MAX_FRAME } from '../shared/protocol/relay-api';

/** Close code sent to a camera connection that a newer connection with the same key replaced. */
export const CLOSE_REPLACED = 4001;

export interface RelayLimits {
  /** Largest WebSocket frame; a larger one closes the connection (1009). */
  maxFrameBytes: number;
  /** Sustained frames per second per connection (token bucket); more are dropped with an error frame. */
  messagesPerSecond: number;
  /** Token bucket size: the burst one connection may send at once. */
  messageBurst: number;
  /** Sustained bytes per second per connection; more are dropped with an error frame. */
  bytesPerSecond: number;
  /** Byte bucket size. */
  byteBurst: number;
  /**
   * Frames dropped for rate that a connection may accumulate (the budget refills at a tenth of
   * this per second); a connection that keeps sending past its rate is closed (1008).
   */
  maxDroppedFrames: number;
  /** Invalid frames (bad JSON, wrong schema, wrong state) tolerated before a close (1008). */
  maxProtocolErrors: number;
  /** Client channels open at once on one camera; more get `too-many-channels`. */
  maxChannelsPerDevice: number;
  /**
   * A client channel must carry a message the camera verified (the camera says `channel-verified`)
   * within this, or it is closed: knowing a device id and fingerprint is not enough to hold one.
   */
  channelVerifyTimeoutMs: number;
  /** Channels not yet verified from one source (IPv4 address or IPv6 /64), over all cameras. */
  maxUnverifiedChannelsPerSource: number;
  /** TURN credential requests per camera key: sustained per minute (burst the same). */
  turnRequestsPerMinute: number;
  /** Open connections (cameras and clients) from one source address; more are refused at accept. */
  maxConnectionsPerAddress: number;
  /** Open connections in all. */
  maxConnections: number;
  /**
   * From TCP accept to the first valid frame (TLS, upgrade and device-hello or connect): a camera
   * must prove its key, a client must name its camera, within this.
   */
  handshakeTimeoutMs: number;
  /** A ping every interval; a peer that has not answered the previous one is gone (half-open, NAT timeout). */
  heartbeatIntervalMs: number;
  /**
   * Output a receiver has not read yet. Past it, a client's frames to a busy camera are dropped
   * (with `device-busy`), and a client that does not read its own channel is closed.
   */
  maxBufferedBytes: number;
  /** Lifetime accepted for a device-hello token (exp - iat, and age at arrival). */
  maxTokenAgeSeconds: number;
  /** Clock difference tolerated between a camera and the relay when checking iat/exp. */
  clockToleranceSeconds: number;
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  maxFrameBytes: RELAY_MAX_FRAME,
  messagesPerSecond: 50,
  messageBurst: 100,
  bytesPerSecond: 1024 * 1024,
  byteBurst: 2 * 1024 * 1024,
  maxDroppedFrames: 100,
  maxProtocolErrors: 10,
  maxChannelsPerDevice: 16,
  channelVerifyTimeoutMs: 10_000,
  maxUnverifiedChannelsPerSource: 4,
  turnRequestsPerMinute: 30,
  maxConnectionsPerAddress: 64,
  maxConnections: 10_000,
  handshakeTimeoutMs: 10_000,
  heartbeatIntervalMs: 30_000,
  maxBufferedBytes: 1024 * 1024,
  maxTokenAgeSeconds: 120,
  clockToleranceSeconds: 30,
};

export function resolveRelayLimits(partial?: Partial<RelayLimits>): RelayLimits {
  const limits = { ...DEFAULT_RELAY_LIMITS, ...partial };
  if (limits.maxFrameBytes > RELAY_MAX_FRAME) throw new Error(`maxFrameBytes cannot exceed RELAY_MAX_FRAME (${RELAY_MAX_FRAME})`);
  return limits;
}

