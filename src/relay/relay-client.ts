/**
 * The two ends that talk to lancam-relay: a camera (`connectDeviceToRelay`: stays registered,
 * reconnecting with backoff, and multiplexes client channels) and a client
 * (`connectClientToRelay`: one channel to one camera named by device id and key fingerprint).
 *
 * The relay is untrusted: frames from it are schema-checked and invalid ones ignored, and the
 * payload (`data`) is whatever the two ends signed; these helpers never look inside it. When
 * `pinFingerprint` is given, the relay's TLS key must have that fingerprint, checked right after
 * the TLS handshake and before a single application byte (the WebSocket upgrade) is written;
 * without it, wss:// uses the usual certificate authority checks (an operator's certificate).
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import tls from 'node:tls';
import WebSocket, { type RawData } from 'ws';
import type { Identity } from '../net/keys';
import { fingerprintOfCertificate } from '../net/keys';
import { FINGERPRINT_RE } from '../shared/fingerprint';
import { RELAY_MAX_FRAME, RELAY_PATH, deviceToRelay, clientToRelay, relayToClient, relayToDevice, type DeviceToRelay, type ClientToRelay } from '../shared/protocol/relay-api';
import type { IceServer, SignedMessage } from '../shared/protocol/webrtc-api';
import { makeDeviceHelloToken } from './device-hello';
import { CLOSE_REPLACED } from './limits';

export class RelayError extends Error {
  override name = 'RelayError';
  constructor(
    /** The relay's error code (`device-offline`, `too-many-channels`, `unauthorized`, …) or a local one (`timeout`, `unreachable`, `relay-fingerprint-mismatch`, `closed`, `not-connected`). */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RelayConnectOptions {
  /** `wss://host:port` (path defaults to /v1) or `ws://…` for a relay behind a TLS terminator. */
  url: string;
  /** Required fingerprint of the relay's TLS key (64 hex), as `lancam-relay` prints it. */
  pinFingerprint?: string;
  /** Extra trusted CA certificates (PEM) for an operator certificate without a pin. */
  ca?: string | string[];
  /** Connect + TLS + upgrade (+ the first answer) must finish within this; default 10 s. */
  timeoutMs?: number;
  /** Ping the relay this often; a relay that answered nothing since the last ping is gone. Default 25 s. */
  keepaliveMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_KEEPALIVE_MS = 25_000;

export interface RelaySocket {
  ws: WebSocket;
  /** Fingerprint of the TLS key the relay presented (wss); undefined over plain ws. */
  relayFingerprint: string | undefined;
  /**
   * Sets the handler of incoming frames (parsed JSON; undefined for binary or non-JSON frames).
   * Frames that arrived before (the relay's challenge can share a TCP segment with the upgrade
   * response) are delivered first, in order.
   */
  onFrame(handler: (json: unknown) => void): void;
}

/** Opens the WebSocket to the relay, checking the pin (when given) before the upgrade is sent. */
export async function openRelaySocket(options: RelayConnectOptions): Promise<RelaySocket> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new RelayError('bad-url', `not a relay URL: ${options.url}`);
  }
  if (url.protocol !== 'wss:' && url.protocol !== 'ws:') throw new RelayError('bad-url', `the relay URL must be wss:// or ws://, not ${url.protocol}`);
  if (url.pathname === '/' || url.pathname === '') url.pathname = RELAY_PATH;
  const pin = options.pinFingerprint?.toLowerCase();
  if (pin !== undefined && !FINGERPRINT_RE.test(pin)) throw new RelayError('bad-pin', 'the relay fingerprint must be 64 hex characters');
  if (pin !== undefined && url.protocol !== 'wss:') throw new RelayError('bad-url', 'a relay fingerprint can only be checked over wss://');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || (url.protocol === 'wss:' ? 443 : 80));
  const where = `${url.host}`;
  const wsOptions: WebSocket.ClientOptions = { perMessageDeflate: false, maxPayload: RELAY_MAX_FRAME, handshakeTimeout: timeoutMs };

  let ws: WebSocket;
  if (pin !== undefined) {
    const socket = tls.connect({ host, port, servername: isIP(host) ? '' : host, rejectUnauthorized: false /* pinned below instead */ });
    const deadline = setTimeout(() => socket.destroy(new RelayError('timeout', `no TLS handshake with ${where} within ${timeoutMs} ms`)), timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', (err) => reject(describeError(err, where)));
        socket.once('secureConnect', () => {
          const cert = socket.getPeerX509Certificate();
          if (!cert) return reject(new RelayError('no-certificate', `${where} presented no certificate`));
          const seen = fingerprintOfCertificate(cert);
          if (seen !== pin) return reject(new RelayError('relay-fingerprint-mismatch', `the relay at ${where} presented key ${seen}, not the pinned ${pin}`));
          resolve();
        });
      });
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      clearTimeout(deadline);
    }
    ws = new WebSocket(url, { ...wsOptions, createConnection: () => socket });
  } else {
    ws = new WebSocket(url, { ...wsOptions, ...(options.ca ? { ca: options.ca } : {}) });
  }
  const early: unknown[] = [];
  let handler: ((json: unknown) => void) | undefined;
  // The key this connection's relay presented: the pinned one, else what the TLS socket saw.
  let relayFingerprint: string | undefined = pin;
  ws.once('upgrade', (res) => {
    const socket = res.socket as Partial<tls.TLSSocket> | null;
    const cert = typeof socket?.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate() : undefined;
    if (cert) relayFingerprint = fingerprintOfCertificate(cert);
  });
  ws.on('message', (raw, isBinary) => {
    const json = parseJson(raw, isBinary);
    if (handler) handler(json);
    else if (early.length < 64) early.push(json);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new RelayError('timeout', `no WebSocket upgrade from ${where} within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(describeError(err, where));
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      ws.terminate();
      reject(new RelayError('bad-upgrade', `${where} refused the WebSocket (HTTP ${res.statusCode})`));
    });
  });
  return {
    ws,
    relayFingerprint,
    onFrame(h) {
      handler = h;
      for (const json of early.splice(0)) h(json);
    },
  };
}

/** Client-side keepalive: ping regularly; a relay that has been silent since the last ping is gone. */
function keepAlive(ws: WebSocket, intervalMs: number): () => void {
  let heard = true;
  const hear = () => (heard = true);
  ws.on('pong', hear);
  ws.on('ping', hear);
  ws.on('message', hear);
  const timer = setInterval(() => {
    if (!heard) return ws.terminate();
    heard = false;
    if (ws.readyState === WebSocket.OPEN) ws.ping();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

function parseJson(raw: RawData, isBinary: boolean): unknown {
  if (isBinary) return undefined;
  try {
    return JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : Buffer.concat(raw as Buffer[]).toString('utf8'));
  } catch {
    return undefined;
  }
}

function closeReason(code: number, reason: Buffer): string {
  const text = reason.toString();
  return text ? `${text} (${code})` : `connection closed (${code})`;
}

// ---- camera side ------------------------------------------------------------------------------

export interface DeviceRelayOptions extends RelayConnectOptions {
  identity: Identity;
  deviceId: string;
  /** First reconnect delay; doubles up to maxBackoffMs (with ±20 % jitter). Default 500 ms. */
  initialBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
}

export type DeviceRelayState = 'connecting' | 'ready' | 'waiting' | 'closed';

export interface DeviceRelayEvents {
  /** Registered: clients can reach this camera now. */
  ready: [];
  'channel-open': [channel: string];
  message: [channel: string, data: SignedMessage];
  'channel-closed': [channel: string];
  /** Lost or could not reach the relay; retries after `retryInMs` (undefined: stopped for good). */
  disconnected: [{ error: RelayError; retryInMs: number | undefined }];
  /** An error frame from the relay that ended no connection (rate limit, unknown channel, …). */
  'relay-error': [{ code: string; message: string }];
}

interface PendingTurn {
  resolve: (servers: IceServer[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class DeviceRelayConnection extends EventEmitter<DeviceRelayEvents> {
  private ws: WebSocket | undefined;
  private stateValue: DeviceRelayState = 'connecting';
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private stopKeepalive: (() => void) | undefined;
  private lastError: RelayError | undefined;
  private readonly openChannels = new Set<string>();
  private readonly turns = new Map<string, PendingTurn>();
  private nextRequest = 1;

  constructor(private readonly options: DeviceRelayOptions) {
    super();
    void this.connect();
  }

  get state(): DeviceRelayState {
    return this.stateValue;
  }

  get channels(): ReadonlySet<string> {
    return this.openChannels;
  }

  /** Resolves once registered (at once when it is); rejects with the last error after `timeoutMs`. */
  ready(timeoutMs = 15_000): Promise<void> {
    if (this.stateValue === 'ready') return Promise.resolve();
    if (this.stateValue === 'closed') return Promise.reject(this.lastError ?? new RelayError('closed', 'relay connection closed'));
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.off('ready', onReady);
        this.off('disconnected', onGone);
      };
      const onReady = () => {
        done();
        resolve();
      };
      const onGone = ({ retryInMs, error }: { retryInMs: number | undefined; error: RelayError }) => {
        if (retryInMs !== undefined) return;
        done();
        reject(error);
      };
      const timer = setTimeout(() => {
        done();
        reject(this.lastError ?? new RelayError('timeout', `not registered with the relay within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('ready', onReady);
      this.on('disconnected', onGone);
    });
  }

  /** Sends a signed message to a client; false when the channel is not open (or the relay is away). */
  send(channel: string, data: SignedMessage): boolean {
    return this.sendFrame({ type: 'message', channel, data }, channel);
  }

  closeChannel(channel: string): void {
    if (!this.openChannels.delete(channel)) return;
    this.sendFrame({ type: 'channel-close', channel });
  }

  /** Tells the relay that a signed client message on `channel` verified (ends its squatting deadline). */
  channelVerified(channel: string): void {
    this.sendFrame({ type: 'channel-verified', channel }, channel);
  }

  /**
   * Short-lived TURN credentials from the relay for `user`, a client verified on `channel` ([]
   * when the relay has no TURN server or refuses).
   */
  requestTurn(user: string, channel: string, timeoutMs = 10_000): Promise<IceServer[]> {
    const requestId = String(this.nextRequest++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.turns.delete(requestId);
        reject(new RelayError('timeout', `no TURN credentials from the relay within ${timeoutMs} ms`));
      }, timeoutMs);
      this.turns.set(requestId, { resolve, reject, timer });
      if (!this.sendFrame({ type: 'turn-request', requestId, user, channel })) {
        clearTimeout(timer);
        this.turns.delete(requestId);
        reject(new RelayError('not-connected', 'not registered with the relay'));
      }
    });
  }

  /** Leaves the relay for good (no reconnect). */
  close(): void {
    if (this.stateValue === 'closed') return;
    this.stateValue = 'closed';
    clearTimeout(this.retryTimer);
    const ws = this.ws;
    this.teardown(new RelayError('closed', 'relay connection closed'));
    ws?.close(1000, 'camera leaving');
  }

  private sendFrame(frame: DeviceToRelay, channel?: string): boolean {
    const parsed = deviceToRelay.safeParse(frame);
    if (!parsed.success) throw new TypeError(`not a valid relay frame: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    if (this.stateValue !== 'ready' || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    if (channel !== undefined && !this.openChannels.has(channel)) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  private async connect(): Promise<void> {
    if (this.stateValue === 'closed') return;
    this.stateValue = 'connecting';
    let socket: RelaySocket;
    try {
      socket = await openRelaySocket(this.options);
    } catch (err) {
      return this.lost(err instanceof RelayError ? err : new RelayError('unreachable', (err as Error).message));
    }
    // close() may have run while the socket was opening.
    const ws = socket.ws;
    if ((this.stateValue as DeviceRelayState) === 'closed') return void ws.close(1000, 'camera leaving');
    this.ws = ws;
    this.lastError = undefined;
    this.stopKeepalive = keepAlive(ws, this.options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS);
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.handshakeTimer = setTimeout(() => {
      this.lastError ??= new RelayError('timeout', `the relay did not accept the device-hello within ${timeoutMs} ms`);
      ws.terminate();
    }, timeoutMs);
    let helloSent = false;
    socket.onFrame((json) => {
      if (ws !== this.ws) return;
      const parsed = relayToDevice.safeParse(json);
      if (!parsed.success) return; // an untrusted relay's noise: ignore
      const frame = parsed.data;
      switch (frame.type) {
        case 'challenge':
          if (helloSent) return;
          helloSent = true;
          // The proof names the relay it is for (the key this TLS connection presented), so another
          // relay that got hold of it cannot use it.
          void makeDeviceHelloToken(this.options.identity.privateKey, { deviceId: this.options.deviceId, nonce: frame.nonce, relayFingerprint: socket.relayFingerprint }).then(
            (token) => {
              if (ws === this.ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'device-hello', token } satisfies DeviceToRelay));
            },
            (err: Error) => {
              this.lastError = new RelayError('bad-identity', `cannot sign the device-hello: ${err.message}`);
              ws.terminate();
            },
          );
          return;
        case 'device-ready':
          if (this.stateValue !== 'connecting') return;
          clearTimeout(this.handshakeTimer);
          this.stateValue = 'ready';
          this.attempt = 0;
          this.emit('ready');
          return;
        case 'channel-open':
          if (this.stateValue !== 'ready' || this.openChannels.has(frame.channel)) return;
          this.openChannels.add(frame.channel);
          this.emit('channel-open', frame.channel);
          return;
        case 'message':
          if (this.openChannels.has(frame.channel)) this.emit('message', frame.channel, frame.data);
          return;
        case 'channel-closed':
          if (this.openChannels.delete(frame.channel)) this.emit('channel-closed', frame.channel);
          return;
        case 'turn-credentials': {
          const pending = this.turns.get(frame.requestId);
          if (!pending) return;
          this.turns.delete(frame.requestId);
          clearTimeout(pending.timer);
          pending.resolve(frame.iceServers);
          return;
        }
        case 'error':
          if (this.stateValue === 'connecting') this.lastError = new RelayError(frame.code, `relay: ${frame.message}`);
          else this.emit('relay-error', { code: frame.code, message: frame.message });
          return;
      }
    });
    ws.on('error', () => {
      // 'close' follows every error.
    });
    ws.on('close', (code, reason) => {
      if (ws !== this.ws) return;
      const error = this.lastError ?? new RelayError(code === CLOSE_REPLACED ? 'replaced' : 'closed', `relay: ${closeReason(code, reason)}`);
      this.teardown(error);
      if (code === CLOSE_REPLACED) {
        // Another connection with this camera's key took over: two instances of one camera would
        // otherwise replace each other forever. Stop and say so.
        this.stateValue = 'closed';
        this.emit('disconnected', { error: new RelayError('replaced', 'another connection with this camera\'s key registered at the relay; stopped'), retryInMs: undefined });
        return;
      }
      this.lost(error);
    });
  }

  /** Drops the current connection's state: its channels end, its TURN requests fail. */
  private teardown(error: RelayError): void {
    clearTimeout(this.handshakeTimer);
    this.stopKeepalive?.();
    this.stopKeepalive = undefined;
    this.ws = undefined;
    this.lastError = error;
    for (const channel of [...this.openChannels]) {
      this.openChannels.delete(channel);
      this.emit('channel-closed', channel);
    }
    for (const [id, pending] of this.turns) {
      this.turns.delete(id);
      clearTimeout(pending.timer);
      pending.reject(error);
    }
  }

  private lost(error: RelayError): void {
    this.lastError = error;
    if (this.stateValue === 'closed') return;
    const initial = this.options.initialBackoffMs ?? 500;
    const max = this.options.maxBackoffMs ?? 30_000;
    const base = Math.min(max, initial * 2 ** Math.min(this.attempt, 20));
    const retryInMs = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt += 1;
    this.stateValue = 'waiting';
    this.emit('disconnected', { error, retryInMs });
    this.retryTimer = setTimeout(() => void this.connect(), retryInMs);
  }
}

/**
 * Registers this camera with the relay and keeps it registered (reconnecting with backoff) until
 * close(). Returns at once; wait for `ready` (event or method) to know clients can reach it.
 */
export function connectDeviceToRelay(options: DeviceRelayOptions): DeviceRelayConnection {
  return new DeviceRelayConnection(options);
}

// ---- client side ------------------------------------------------------------------------------

export interface ClientRelayOptions extends RelayConnectOptions {
  deviceId: string;
  /** The camera's key fingerprint: the relay routes only to a camera that proved this key. */
  fingerprint: string;
}

export interface ClientRelayEvents {
  message: [data: SignedMessage];
  /** The channel ended (by the camera, the relay or the network); no more messages. */
  closed: [reason: string];
  'relay-error': [{ code: string; message: string }];
}

export class RelayClientConnection extends EventEmitter<ClientRelayEvents> {
  private closedReason: string | undefined;
  private readonly early: SignedMessage[] = [];

  constructor(
    private readonly ws: WebSocket,
    readonly channel: string,
    private readonly stopKeepalive: () => void,
  ) {
    super();
    // Messages that arrive before anyone listens are kept (bounded) and delivered to the first listener.
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event === 'message' && this.early.length > 0) {
        setImmediate(() => {
          for (const data of this.early.splice(0)) this.emit('message', data);
        });
      }
      if (event === 'closed' && this.closedReason !== undefined) {
        const reason = this.closedReason;
        setImmediate(() => this.emit('closed', reason));
      }
    });
  }

  get isOpen(): boolean {
    return this.closedReason === undefined;
  }

  /** Sends a signed message to the camera; false once the channel is closed. */
  send(data: SignedMessage): boolean {
    const frame: ClientToRelay = { type: 'message', data };
    const parsed = clientToRelay.safeParse(frame);
    if (!parsed.success) throw new TypeError(`not a valid relay message: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    if (this.closedReason !== undefined || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  close(): void {
    this.finish('closed by this client');
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000, 'client leaving');
  }

  /** @internal */
  deliver(data: SignedMessage): void {
    if (this.closedReason !== undefined) return;
    if (this.listenerCount('message') === 0) {
      if (this.early.length < 256) this.early.push(data);
      return;
    }
    this.emit('message', data);
  }

  /** @internal */
  finish(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.stopKeepalive();
    if (this.listenerCount('closed') > 0) this.emit('closed', reason);
  }
}

/**
 * Opens a channel through the relay to camera (deviceId, fingerprint). Rejects with a RelayError:
 * `device-offline` (no such camera with that key is registered), `too-many-channels`,
 * `relay-fingerprint-mismatch`, `timeout`, `unreachable`, …
 */
export async function connectClientToRelay(options: ClientRelayOptions): Promise<RelayClientConnection> {
  const socket = await openRelaySocket(options);
  const ws = socket.ws;
  const stopKeepalive = keepAlive(ws, options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let connection: RelayClientConnection | undefined;
  let settle: { resolve: (c: RelayClientConnection) => void; reject: (e: Error) => void } | undefined;
  const result = new Promise<RelayClientConnection>((resolve, reject) => (settle = { resolve, reject }));
  const fail = (err: RelayError) => {
    if (!settle) return;
    clearTimeout(timer);
    settle.reject(err);
    settle = undefined;
    stopKeepalive();
    ws.close(1000, 'client leaving');
    setTimeout(() => ws.terminate(), 1000).unref();
  };
  const timer = setTimeout(() => fail(new RelayError('timeout', `the relay did not connect us within ${timeoutMs} ms`)), timeoutMs);

  socket.onFrame((json) => {
    if ((json as { type?: unknown } | undefined)?.type === 'challenge') return; // for cameras
    const parsed = relayToClient.safeParse(json);
    if (!parsed.success) return; // an untrusted relay's noise: ignore
    const frame = parsed.data;
    switch (frame.type) {
      case 'connected':
        if (!settle || connection) return;
        clearTimeout(timer);
        connection = new RelayClientConnection(ws, frame.channel, stopKeepalive);
        settle.resolve(connection);
        settle = undefined;
        return;
      case 'message':
        connection?.deliver(frame.data);
        return;
      case 'channel-closed':
        connection?.finish(frame.reason);
        return;
      case 'error':
        if (!connection) return fail(new RelayError(frame.code, frame.message));
        connection.emit('relay-error', { code: frame.code, message: frame.message });
        return;
    }
  });
  ws.on('error', () => {
    // 'close' follows every error.
  });
  ws.on('close', (code, reason) => {
    fail(new RelayError('closed', `relay: ${closeReason(code, reason)}`));
    connection?.finish(`relay connection closed: ${closeReason(code, reason)}`);
  });
  const connect: ClientToRelay = { type: 'connect', deviceId: options.deviceId, fingerprint: options.fingerprint.toLowerCase() };
  const parsed = clientToRelay.safeParse(connect);
  if (!parsed.success) {
    fail(new RelayError('bad-request', `invalid device id or fingerprint: ${parsed.error.issues[0]?.message ?? 'invalid'}`));
    return result;
  }
  ws.send(JSON.stringify(connect));
  return result;
}

function describeError(err: Error, where: string): Error {
  if (err instanceof RelayError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ECONNREFUSED':
      return new RelayError('unreachable', `nothing listens at ${where} (connection refused)`);
    case 'ECONNRESET':
    case 'EPIPE':
      return new RelayError('reset', `${where} closed the connection during the handshake`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new RelayError('unreachable', `${where} is unreachable (${code})`);
    default:
      return new RelayError(code ?? 'connect-failed', `cannot connect to ${where}: ${err.message}`);
  }
}
