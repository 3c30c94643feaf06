/**
 * One end of a lancam channel: JSON request/response/event frames over an established,
 * authenticated WebSocket. Both ends use it; either may serve requests.
 *
 * Incoming frames are size-capped (by the WebSocket), schema-validated, rate-limited and
 * bounded in how many are in flight; the peer is closed when it misbehaves persistently,
 * stops reading, goes idle or stops answering heartbeats.
 */
import { EventEmitter } from 'node:events';
import type WebSocket from 'ws';
import { parseFrame, type EventFrame, type Method, type RequestFrame, type ResponseFrame } from '../../shared/protocol/frames';
import { Status } from '../../shared/protocol/status';
import { CloseCode, TokenBucket, type ChannelLimits } from './limits';

export interface RpcResponse {
  status: number;
  body?: unknown;
}

export interface RpcRequest {
  method: Method;
  path: string;
  body: unknown;
}

export type RpcHandler = (request: RpcRequest) => Promise<RpcResponse> | RpcResponse;

export class RpcError extends Error {
  override name = 'RpcError';
  constructor(
    readonly status: number | string,
    message: string,
  ) {
    super(message);
  }
}

export function errorResponse(status: number, code: string, message: string): RpcResponse {
  return { status, body: { error: { code, message } } };
}

interface PendingCall {
  resolve: (r: RpcResponse) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface RpcPeerEvents {
  event: [EventFrame];
  close: [{ code: number; reason: string }];
}

export class RpcPeer extends EventEmitter<RpcPeerEvents> {
  private nextId = 1;
  private readonly calls = new Map<number, PendingCall>();
  private handling = 0;
  private protocolErrors = 0;
  private readonly bucket: TokenBucket;
  private handler: RpcHandler | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private awaitingPong = false;
  private closed = false;
  /** While held (a live video session, say), a quiet connection is not idle. */
  private holds = 0;
  private idleTimeoutMs: number;
  /** Asked when the idle deadline passes; returning a new deadline keeps the channel (see setIdleTimeout). */
  private onIdle: (() => number | undefined) | undefined;
  closeInfo: { code: number; reason: string } | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly limits: ChannelLimits,
  ) {
    super();
    this.idleTimeoutMs = limits.idleTimeoutMs;
    this.bucket = new TokenBucket(limits.requestsPerSecond, limits.requestBurst);
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => {
      this.awaitingPong = false;
    });
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
    ws.on('error', () => {
      // 'close' follows every error; the reason is reported there.
    });
    this.resetIdle();
    this.heartbeat = setInterval(() => this.beat(), limits.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /**
   * Keeps a quiet connection from being closed as idle while something lives on it (a video
   * session sends nothing for as long as it plays). Heartbeats still cut a dead peer. Returns the
   * release function; release is idempotent.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.resetIdle();
    };
  }

  /**
   * Changes the idle deadline (0 = never), counted from the last frame received. `onIdle`, when
   * given, is asked as the deadline passes: a number is a new deadline to apply instead of closing
   * (the server uses it to give a channel whose key got paired meanwhile the normal deadline).
   */
  setIdleTimeout(ms: number, onIdle?: () => number | undefined): void {
    this.idleTimeoutMs = ms;
    this.onIdle = onIdle;
    this.resetIdle();
  }

  /** Serve requests from the other end. */
  serve(handler: RpcHandler): void {
    this.handler = handler;
  }

  request(method: Method, path: string, body?: unknown, timeoutMs = this.limits.requestTimeoutMs): Promise<RpcResponse> {
    if (this.closed) return Promise.reject(new RpcError('closed', `connection closed${this.closeInfo ? `: ${describeClose(this.closeInfo)}` : ''}`));
    const id = this.nextId++;
    const frame: RequestFrame = { type: 'req', id, method, path, ...(body === undefined ? {} : { body }) };
    return new Promise<RpcResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.calls.delete(id);
        reject(new RpcError('timeout', `no answer to ${method} ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.calls.set(id, { resolve, reject, timer });
      this.send(frame);
    });
  }

  emitEvent(event: string, body?: unknown): void {
    this.send({ type: 'evt', event, ...(body === undefined ? {} : { body }) });
  }

  close(code: number = CloseCode.Normal, reason = ''): void {
    if (this.closed) return;
    this.ws.close(code, reason.slice(0, 120));
    // A peer that never completes the closing handshake is cut off.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  private send(frame: RequestFrame | ResponseFrame | EventFrame): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.close(CloseCode.PolicyViolation, 'peer is not reading its answers');
      return;
    }
    this.ws.send(JSON.stringify(frame));
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    this.resetIdle();
    if (isBinary) return this.protocolError(undefined, 'binary frames are not part of the protocol');
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    const parsed = parseFrame(text);
    if (!parsed.ok) return this.protocolError(salvageId(text), parsed.message);
    const frame = parsed.frame;
    switch (frame.type) {
      case 'req':
        return void this.onRequest(frame);
      case 'res': {
        const call = this.calls.get(frame.id);
        if (!call) return this.protocolError(undefined, `response to unknown request ${frame.id}`);
        this.calls.delete(frame.id);
        clearTimeout(call.timer);
        call.resolve({ status: frame.status, body: frame.body });
        return;
      }
      case 'evt':
        this.emit('event', frame);
        return;
    }
  }

  private async onRequest(frame: RequestFrame): Promise<void> {
    if (!this.bucket.take()) {
      return this.respond(frame.id, errorResponse(Status.TooManyRequests, 'rate-limited', 'too many requests on this connection; slow down'));
    }
    if (this.handling >= this.limits.maxPendingRequests) {
      return this.respond(frame.id, errorResponse(Status.TooManyRequests, 'too-many-pending', `at most ${this.limits.maxPendingRequests} requests may be in flight`));
    }
    if (!this.handler) {
      return this.respond(frame.id, errorResponse(Status.NotFound, 'not-found', 'this end serves no requests'));
    }
    this.handling++;
    let response: RpcResponse;
    try {
      response = await this.handler({ method: frame.method, path: frame.path, body: frame.body });
    } catch (err) {
      response = errorResponse(Status.InternalError, 'internal', `internal error: ${(err as Error).message}`);
    } finally {
      this.handling--;
    }
    this.respond(frame.id, response);
  }

  private respond(id: number, response: RpcResponse): void {
    this.send({ type: 'res', id, status: response.status, ...(response.body === undefined ? {} : { body: response.body }) });
  }

  private protocolError(id: number | undefined, message: string): void {
    this.protocolErrors++;
    if (id !== undefined) this.respond(id, errorResponse(Status.BadRequest, 'bad-frame', message));
    else this.emitEvent('error', { code: 'bad-frame', message });
    if (this.protocolErrors >= this.limits.maxProtocolErrors) {
      this.close(CloseCode.PolicyViolation, `too many invalid frames (last: ${message})`);
    }
  }

  private resetIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.closed || this.idleTimeoutMs <= 0) return;
    this.idleTimer = setTimeout(() => {
      if (this.holds > 0) return this.resetIdle();
      const next = this.onIdle?.();
      if (next !== undefined && next !== this.idleTimeoutMs) return this.setIdleTimeout(next);
      this.close(CloseCode.GoingAway, 'idle timeout');
    }, this.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private beat(): void {
    if (this.awaitingPong) {
      // No pong since the last ping: the other end is gone (half-open connection).
      this.ws.terminate();
      return;
    }
    this.awaitingPong = true;
    try {
      this.ws.ping();
    } catch {
      this.ws.terminate();
    }
  }

  private onClose(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeInfo = { code, reason };
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const [, call] of this.calls) {
      clearTimeout(call.timer);
      call.reject(new RpcError('closed', `connection closed: ${describeClose(this.closeInfo)}`));
    }
    this.calls.clear();
    this.emit('close', this.closeInfo);
  }
}

export function describeClose(info: { code: number; reason: string }): string {
  return info.reason ? `${info.reason} (${info.code})` : `code ${info.code}`;
}

/** Best effort: the id of a request whose frame failed validation, so the error can be answered. */
function salvageId(text: string): number | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'req') {
      const id = (value as { id?: unknown }).id;
      if (typeof id === 'number' && Number.isSafeInteger(id) && id > 0) return id;
    }
  } catch {
    // not JSON: nothing to salvage
  }
  return undefined;
}
