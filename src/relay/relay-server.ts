/**
 * lancam-relay's server: a WebSocket router between cameras that connect out to it (behind NAT)
 * and clients that want to reach them. See src/shared/protocol/relay-api.ts for the wire contract.
 *
 * The relay is untrusted by design: it holds no secret, never parses or changes the signaling
 * payload (`data`, an HS256 JWT only the client and the camera can make), and routes a client only
 * to a camera that proved, on this connection, the key whose fingerprint the client named. What it
 * must guarantee is its own survival: every frame is schema-checked and every resource capped (see
 * RelayLimits).
 *
 * Roles: every connection gets a `challenge` on open; its first valid frame decides what it is:
 * `device-hello` (a camera proving its key) or `connect` (a client naming a camera).
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { X509Certificate, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { z } from 'zod';
import { fingerprintOfCertificate } from '../net/keys';
import { CloseCode, TokenBucket } from '../net/channel/limits';
import { normalizeAddress } from '../net/channel/server';
import { sourceKey } from '../shared/net-address';
import { RELAY_PATH, clientToRelay, deviceToRelay, type RelayToClient, type RelayToDevice } from '../shared/protocol/relay-api';
import { DeviceHelloError, makeChallengeNonce, verifyDeviceHello } from './device-hello';
import { CLOSE_REPLACED, resolveRelayLimits, type RelayLimits } from './limits';
import { iceServersFor, type TurnConfig } from './turn';

export interface RelayTls {
  keyPem: string;
  certPem: string;
}

export interface RelayLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface RelayServerOptions {
  host: string;
  port: number;
  /** Serve wss with this key and certificate; null serves plain ws (only behind a TLS terminator). */
  tls: RelayTls | null;
  limits?: Partial<RelayLimits>;
  turn?: TurnConfig;
  log?: RelayLog;
}

export interface RelayServerEvents {
  'device-registered': [{ deviceId: string; fingerprint: string; remoteAddress: string }];
  'device-unregistered': [{ deviceId: string; fingerprint: string; reason: string }];
  /** A connection refused or closed for a limit or a protocol error; for logs and tests. */
  rejected: [{ remoteAddress: string; reason: string }];
}

export interface RelayStats {
  connections: number;
  devices: number;
  channels: number;
}

type Role = 'pending' | 'authenticating' | 'device' | 'client';

interface Conn {
  ws: WebSocket;
  address: string;
  role: Role;
  nonce: string;
  closed: boolean;
  alive: boolean;
  messages: TokenBucket;
  bytes: TokenBucket;
  dropBudget: TokenBucket;
  rateNotified: boolean;
  protocolErrors: number;
  handshakeTimer?: NodeJS.Timeout;
  device?: DeviceEntry;
  channel?: Channel;
}

interface DeviceEntry {
  conn: Conn;
  deviceId: string;
  fingerprint: string;
  channels: Map<string, Channel>;
}

interface Channel {
  id: string;
  device: DeviceEntry;
  client: Conn;
  /** The camera verified a signed client message on it. */
  verified: boolean;
  /** Until verified: closed when this fires. */
  verifyTimer?: NodeJS.Timeout;
}

type ErrorFrame = Extract<RelayToClient, { type: 'error' }>;

export class RelayServer extends EventEmitter<RelayServerEvents> {
  readonly limits: RelayLimits;
  /** SHA-256 of the SPKI of the relay's TLS certificate key (what clients and cameras pin); undefined for plain ws. */
  readonly fingerprint: string | undefined;
  private readonly server: http.Server | https.Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<Socket>();
  private readonly perAddress = new Map<string, number>();
  private readonly deadlines = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  private readonly conns = new Set<Conn>();
  /** Registered cameras by key fingerprint: one live connection per key. */
  private readonly devices = new Map<string, DeviceEntry>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly log: RelayLog;
  /** TURN requests per camera key (survives a camera's reconnects). */
  private readonly turnBuckets = new Map<string, TokenBucket>();

  constructor(private readonly options: RelayServerOptions) {
    super();
    this.limits = resolveRelayLimits(options.limits);
    this.log = options.log ?? { info: () => {}, warn: () => {} };
    const timeouts = {
      headersTimeout: this.limits.handshakeTimeoutMs,
      requestTimeout: this.limits.handshakeTimeoutMs,
      maxHeaderSize: 8 * 1024,
    };
    if (options.tls) {
      this.fingerprint = fingerprintOfCertificate(new X509Certificate(options.tls.certPem));
      this.server = https.createServer({
        key: options.tls.keyPem,
        cert: options.tls.certPem,
        minVersion: 'TLSv1.3',
        handshakeTimeout: this.limits.handshakeTimeoutMs,
        ...timeouts,
      });
      this.server.on('tlsClientError', (err, socket) => this.reject(socket, `TLS handshake failed: ${err.message}`));
    } else {
      this.fingerprint = undefined;
      this.server = http.createServer(timeouts);
    }
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.limits.maxFrameBytes, perMessageDeflate: false });
    this.server.on('connection', (socket: Socket) => this.onTcp(socket));
    this.server.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
      res.end('lancam-relay: WebSocket only\n');
    });
    this.server.on('upgrade', (req, socket: Socket, head) => {
      const url = (req.url ?? '').split('?')[0];
      if (url !== RELAY_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        return this.emit('rejected', { remoteAddress: normalizeAddress(socket.remoteAddress), reason: `unknown path ${req.url ?? ''}` });
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onWebSocket(ws, socket));
    });
    this.heartbeat = setInterval(() => this.beat(), this.limits.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('server has no TCP address');
    return { host: address.address, port: address.port };
  }

  get stats(): RelayStats {
    let channels = 0;
    for (const device of this.devices.values()) channels += device.channels.size;
    return { connections: this.sockets.size, devices: this.devices.size, channels };
  }

  /** Stops accepting, closes every connection (bounded in time) and frees the port. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const conn of this.conns) this.closeConn(conn, CloseCode.GoingAway, 'relay shutting down');
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const cut = () => {
      for (const socket of this.sockets) socket.destroy();
    };
    // Give close frames a moment to leave, then cut whatever remains.
    const soon = setTimeout(cut, 300);
    const late = setTimeout(cut, 1500);
    await closed;
    clearTimeout(soon);
    clearTimeout(late);
    for (const { timer } of this.deadlines.values()) clearTimeout(timer);
    this.deadlines.clear();
    this.wss.close();
  }

  // ---- transport ----------------------------------------------------------------------------

  private onTcp(socket: Socket): void {
    const address = normalizeAddress(socket.remoteAddress);
    if (this.sockets.size >= this.limits.maxConnections) {
      socket.destroy();
      return void this.emit('rejected', { remoteAddress: address, reason: `connection limit (${this.limits.maxConnections}) reached` });
    }
    const count = this.perAddress.get(address) ?? 0;
    if (count >= this.limits.maxConnectionsPerAddress) {
      socket.destroy();
      return void this.emit('rejected', { remoteAddress: address, reason: `too many connections from ${address} (limit ${this.limits.maxConnectionsPerAddress})` });
    }
    this.perAddress.set(address, count + 1);
    this.sockets.add(socket);
    // TLS, upgrade and the first valid frame must all happen in time (slowloris, idle squatters).
    const key = connectionKey(socket);
    const timer = setTimeout(() => {
      if (!socket.destroyed) {
        socket.destroy();
        this.emit('rejected', { remoteAddress: address, reason: 'handshake timeout' });
      }
    }, this.limits.handshakeTimeoutMs);
    this.deadlines.set(key, { timer, at: Date.now() + this.limits.handshakeTimeoutMs });
    socket.once('close', () => {
      clearTimeout(timer);
      if (this.deadlines.get(key)?.timer === timer) this.deadlines.delete(key);
      this.sockets.delete(socket);
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    });
  }

  private reject(socket: { remoteAddress?: string | undefined; destroy(): void }, reason: string): void {
    this.emit('rejected', { remoteAddress: normalizeAddress(socket.remoteAddress), reason });
    socket.destroy();
  }

  private onWebSocket(ws: WebSocket, socket: Socket): void {
    const key = connectionKey(socket);
    const deadline = this.deadlines.get(key);
    if (deadline) {
      clearTimeout(deadline.timer);
      this.deadlines.delete(key);
    }
    const now = () => performance.now();
    const conn: Conn = {
      ws,
      address: normalizeAddress(socket.remoteAddress),
      role: 'pending',
      nonce: makeChallengeNonce(),
      closed: false,
      alive: true,
      messages: new TokenBucket(this.limits.messagesPerSecond, this.limits.messageBurst, now),
      bytes: new TokenBucket(this.limits.bytesPerSecond, this.limits.byteBurst, now),
      dropBudget: new TokenBucket(this.limits.maxDroppedFrames / 10, this.limits.maxDroppedFrames, now),
      rateNotified: false,
      protocolErrors: 0,
    };
    this.conns.add(conn);
    const remaining = Math.max(0, (deadline?.at ?? Date.now() + this.limits.handshakeTimeoutMs) - Date.now());
    conn.handshakeTimer = setTimeout(() => {
      const what = conn.role === 'client' ? 'no connect to an online camera' : 'no device-hello or connect';
      this.emit('rejected', { remoteAddress: conn.address, reason: `handshake timeout (${what})` });
      this.closeConn(conn, CloseCode.PolicyViolation, `handshake timeout: ${what} within ${this.limits.handshakeTimeoutMs} ms`);
    }, remaining);
    ws.on('pong', () => (conn.alive = true));
    ws.on('message', (data, isBinary) => this.onFrame(conn, data, isBinary));
    ws.on('error', (err) => {
      // ws reports oversize frames (1009) and protocol violations here before closing.
      this.emit('rejected', { remoteAddress: conn.address, reason: err.message });
    });
    ws.on('close', () => this.onClosed(conn));
    this.send(conn, { type: 'challenge', nonce: conn.nonce });
  }

  private beat(): void {
    for (const conn of this.conns) {
      if (!conn.alive) {
        this.emit('rejected', { remoteAddress: conn.address, reason: 'heartbeat: no pong' });
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  private send(conn: Conn, frame: RelayToDevice | RelayToClient): void {
    if (conn.closed || conn.ws.readyState !== WebSocket.OPEN) return;
    conn.ws.send(JSON.stringify(frame));
    // A peer that does not read even the relay's own small frames is gone or hostile.
    if (conn.ws.bufferedAmount > 2 * this.limits.maxBufferedBytes) {
      this.emit('rejected', { remoteAddress: conn.address, reason: 'peer is not reading' });
      conn.ws.terminate();
    }
  }

  private sendError(conn: Conn, code: string, message: string): void {
    const frame: ErrorFrame = { type: 'error', code, message: message.slice(0, 512) };
    this.send(conn, frame);
  }

  private closeConn(conn: Conn, code: number, reason: string): void {
    if (conn.closed) return;
    conn.closed = true;
    clearTimeout(conn.handshakeTimer);
    // Close reasons are limited to 123 bytes.
    conn.ws.close(code, Buffer.from(reason).subarray(0, 123).toString());
    // A peer that never answers the close handshake is cut.
    setTimeout(() => conn.ws.terminate(), 2000).unref();
  }

  // ---- frames -------------------------------------------------------------------------------

  private onFrame(conn: Conn, data: RawData, isBinary: boolean): void {
    if (conn.closed) return;
    const size = rawSize(data);
    if (!conn.messages.take() || !conn.bytes.take(size)) {
      if (!conn.dropBudget.take()) {
        this.emit('rejected', { remoteAddress: conn.address, reason: 'kept sending past the rate limit' });
        return this.closeConn(conn, CloseCode.PolicyViolation, 'rate limit exceeded repeatedly');
      }
      if (!conn.rateNotified) {
        conn.rateNotified = true;
        this.sendError(conn, 'rate-limited', `frames dropped: at most ${this.limits.messagesPerSecond} frames and ${this.limits.bytesPerSecond} bytes per second`);
      }
      return;
    }
    conn.rateNotified = false;
    if (isBinary) return this.protocolError(conn, 'binary frames are not part of the relay protocol');
    let json: unknown;
    try {
      json = JSON.parse(rawText(data));
    } catch {
      return this.protocolError(conn, 'frame is not JSON');
    }
    const type = typeof json === 'object' && json !== null ? (json as { type?: unknown }).type : undefined;
    switch (conn.role) {
      case 'pending':
        if (type === 'device-hello') return this.onDeviceFrame(conn, json);
        if (type === 'connect') return this.onClientFrame(conn, json);
        return this.protocolError(conn, 'the first frame must be device-hello (camera) or connect (client)');
      case 'authenticating':
        return this.protocolError(conn, 'wait for device-ready before sending');
      case 'device':
        return this.onDeviceFrame(conn, json);
      case 'client':
        return this.onClientFrame(conn, json);
    }
  }

  private protocolError(conn: Conn, message: string): void {
    conn.protocolErrors += 1;
    this.sendError(conn, 'bad-frame', message);
    if (conn.protocolErrors >= this.limits.maxProtocolErrors) {
      this.emit('rejected', { remoteAddress: conn.address, reason: `too many invalid frames (last: ${message})` });
      this.closeConn(conn, CloseCode.PolicyViolation, 'too many invalid frames');
    }
  }

  private onDeviceFrame(conn: Conn, json: unknown): void {
    const parsed = deviceToRelay.safeParse(json);
    if (!parsed.success) return this.protocolError(conn, describeIssues(parsed.error));
    const frame = parsed.data;
    if (frame.type === 'device-hello') {
      if (conn.role !== 'pending') return this.protocolError(conn, 'device-hello was already sent on this connection');
      conn.role = 'authenticating';
      return void this.onDeviceHello(conn, frame.token);
    }
    const device = conn.device;
    if (!device) return this.protocolError(conn, 'send device-hello first');
    switch (frame.type) {
      case 'message': {
        const channel = device.channels.get(frame.channel);
        // A message racing the client's close is normal: say so without counting it as an error.
        if (!channel) return this.sendError(conn, 'unknown-channel', `channel ${frame.channel} is not open`);
        const client = channel.client;
        if (client.ws.bufferedAmount > this.limits.maxBufferedBytes) {
          this.emit('rejected', { remoteAddress: client.address, reason: 'client is not reading its channel' });
          this.closeChannel(channel, 'the client is not reading', 'client');
          return this.closeConn(client, CloseCode.PolicyViolation, 'not reading');
        }
        return this.send(client, { type: 'message', data: frame.data });
      }
      case 'channel-close': {
        const channel = device.channels.get(frame.channel);
        if (channel) this.closeChannel(channel, 'closed by the camera', 'device');
        return;
      }
      case 'channel-verified': {
        const channel = device.channels.get(frame.channel);
        if (!channel) return this.sendError(conn, 'unknown-channel', `channel ${frame.channel} is not open`);
        channel.verified = true;
        clearTimeout(channel.verifyTimer);
        return;
      }
      case 'turn-request': {
        // Credentials only for a client the camera verified on a channel it holds, and not too often.
        const channel = device.channels.get(frame.channel);
        const refuse = (code: string, message: string) => {
          this.emit('rejected', { remoteAddress: conn.address, reason: `${code}: ${message}` });
          this.sendError(conn, code, message);
          this.send(conn, { type: 'turn-credentials', requestId: frame.requestId, iceServers: [] });
        };
        if (!channel?.verified) return refuse('turn-refused', `channel ${frame.channel} has no verified client; no TURN credentials`);
        // Per camera key and per camera source address (throw-away keys are free; addresses less so).
        const bucketOf = (key: string) => {
          let bucket = this.turnBuckets.get(key);
          if (!bucket) {
            if (this.turnBuckets.size > 10_000) this.turnBuckets.clear();
            bucket = new TokenBucket(this.limits.turnRequestsPerMinute / 60, this.limits.turnRequestsPerMinute);
            this.turnBuckets.set(key, bucket);
          }
          return bucket;
        };
        if (!bucketOf(`key ${device.fingerprint}`).take() || !bucketOf(`source ${sourceKey(conn.address)}`).take()) {
          return refuse('turn-rate-limited', `at most ${this.limits.turnRequestsPerMinute} TURN credential requests a minute per camera and per source address`);
        }
        return this.send(conn, { type: 'turn-credentials', requestId: frame.requestId, iceServers: iceServersFor(this.options.turn, frame.user) });
      }
    }
  }

  private async onDeviceHello(conn: Conn, token: string): Promise<void> {
    let verified;
    try {
      verified = await verifyDeviceHello(token, conn.nonce, { ...this.limits, relayFingerprint: this.fingerprint });
    } catch (err) {
      const message = err instanceof DeviceHelloError ? err.message : 'invalid token';
      this.emit('rejected', { remoteAddress: conn.address, reason: `device-hello refused: ${message}` });
      this.sendError(conn, 'unauthorized', `device-hello refused: ${message}`);
      return this.closeConn(conn, CloseCode.PolicyViolation, 'device-hello refused');
    }
    if (conn.closed) return;
    const previous = this.devices.get(verified.fingerprint);
    if (previous) {
      // Only the holder of this key can get here: its newer connection wins (the old one is
      // usually a half-open socket the camera already gave up on).
      this.unregister(previous, 'replaced by a newer connection of this camera');
      this.closeConn(previous.conn, CLOSE_REPLACED, 'replaced by a newer connection of this camera');
    }
    const entry: DeviceEntry = { conn, deviceId: verified.deviceId, fingerprint: verified.fingerprint, channels: new Map() };
    this.devices.set(entry.fingerprint, entry);
    conn.device = entry;
    conn.role = 'device';
    // A camera's one connection carries the answers to up to maxChannelsPerDevice clients, each
    // limited as above: it gets their budgets together, so a client making the camera talk (a
    // flood of first messages) cannot get the camera's frames to everyone else dropped, or the
    // camera cut for "rate limit exceeded repeatedly".
    const share = Math.max(1, this.limits.maxChannelsPerDevice);
    conn.messages = new TokenBucket(this.limits.messagesPerSecond * share, this.limits.messageBurst * share);
    conn.bytes = new TokenBucket(this.limits.bytesPerSecond * share, this.limits.byteBurst * share);
    clearTimeout(conn.handshakeTimer);
    this.send(conn, { type: 'device-ready' });
    this.log.info(`camera ${entry.deviceId} (${entry.fingerprint.slice(0, 16)}…) registered from ${conn.address}`);
    this.emit('device-registered', { deviceId: entry.deviceId, fingerprint: entry.fingerprint, remoteAddress: conn.address });
  }

  private onClientFrame(conn: Conn, json: unknown): void {
    const parsed = clientToRelay.safeParse(json);
    if (!parsed.success) return this.protocolError(conn, describeIssues(parsed.error));
    const frame = parsed.data;
    conn.role = 'client';
    if (frame.type === 'connect') {
      if (conn.channel) return this.protocolError(conn, 'this connection already has a channel');
      const device = this.devices.get(frame.fingerprint);
      if (!device || device.deviceId !== frame.deviceId) {
        return this.sendError(conn, 'device-offline', `no camera ${frame.deviceId} with that fingerprint is connected to this relay`);
      }
      const source = sourceKey(conn.address);
      const unverifiedFromSource = [...this.devices.values()].reduce((n, d) => n + [...d.channels.values()].filter((c) => !c.verified && sourceKey(c.client.address) === source).length, 0);
      if (unverifiedFromSource >= this.limits.maxUnverifiedChannelsPerSource) {
        this.emit('rejected', { remoteAddress: conn.address, reason: `too many unverified channels from ${source}` });
        return this.sendError(conn, 'too-many-channels', `${source} has ${this.limits.maxUnverifiedChannelsPerSource} channels without a verified message already`);
      }
      if (device.channels.size >= this.limits.maxChannelsPerDevice) {
        // Squatters first: the oldest channel the camera never verified gives way.
        const squatter = [...device.channels.values()].find((c) => !c.verified);
        if (!squatter) return this.sendError(conn, 'too-many-channels', `camera ${frame.deviceId} has ${this.limits.maxChannelsPerDevice} channels open already`);
        this.emit('rejected', { remoteAddress: squatter.client.address, reason: 'unverified channel evicted for a newcomer' });
        this.closeChannel(squatter, 'evicted: no verified message, and the camera is full', 'relay');
      }
      if (device.conn.ws.bufferedAmount > this.limits.maxBufferedBytes) {
        return this.sendError(conn, 'device-busy', `camera ${frame.deviceId} is not keeping up; try again later`);
      }
      const channel: Channel = { id: randomBytes(16).toString('base64url'), device, client: conn, verified: false };
      channel.verifyTimer = setTimeout(() => {
        if (channel.verified) return;
        this.emit('rejected', { remoteAddress: conn.address, reason: 'channel without a verified message in time' });
        this.closeChannel(channel, `no message the camera verified within ${Math.round(this.limits.channelVerifyTimeoutMs / 1000)} s`, 'relay');
      }, this.limits.channelVerifyTimeoutMs);
      channel.verifyTimer.unref();
      device.channels.set(channel.id, channel);
      conn.channel = channel;
      clearTimeout(conn.handshakeTimer);
      this.send(device.conn, { type: 'channel-open', channel: channel.id });
      this.send(conn, { type: 'connected', channel: channel.id });
      return;
    }
    const channel = conn.channel;
    if (!channel) return this.protocolError(conn, 'send connect first');
    const device = channel.device.conn;
    if (device.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      return this.sendError(conn, 'device-busy', 'the camera is not keeping up: message dropped');
    }
    this.send(device, { type: 'message', channel: channel.id, data: frame.data });
  }

  // ---- channels and registry ----------------------------------------------------------------

  /** Ends a channel and tells the side that did not end it. */
  private closeChannel(channel: Channel, reason: string, closedBy: 'device' | 'client' | 'relay'): void {
    if (channel.device.channels.get(channel.id) !== channel) return;
    clearTimeout(channel.verifyTimer);
    channel.device.channels.delete(channel.id);
    channel.client.channel = undefined;
    if (closedBy !== 'device') this.send(channel.device.conn, { type: 'channel-closed', channel: channel.id });
    if (closedBy !== 'client') {
      this.send(channel.client, { type: 'channel-closed', reason });
      this.closeConn(channel.client, CloseCode.Normal, 'channel closed');
    }
  }

  private unregister(entry: DeviceEntry, reason: string): void {
    if (this.devices.get(entry.fingerprint) !== entry) return;
    this.devices.delete(entry.fingerprint);
    for (const channel of [...entry.channels.values()]) this.closeChannel(channel, reason, 'device');
    this.log.info(`camera ${entry.deviceId} (${entry.fingerprint.slice(0, 16)}…) unregistered: ${reason}`);
    this.emit('device-unregistered', { deviceId: entry.deviceId, fingerprint: entry.fingerprint, reason });
  }

  private onClosed(conn: Conn): void {
    conn.closed = true;
    clearTimeout(conn.handshakeTimer);
    this.conns.delete(conn);
    if (conn.device) this.unregister(conn.device, 'camera disconnected from the relay');
    if (conn.channel) this.closeChannel(conn.channel, 'client disconnected', 'client');
  }
}

/** Identifies one TCP connection across its raw and TLS socket objects. */
function connectionKey(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`;
}

function rawSize(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data).toString('utf8');
}

function describeIssues(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid frame';
  const where = issue.path.length > 0 ? issue.path.join('.') : 'frame';
  return `invalid frame: ${where}: ${issue.message}`.slice(0, 300);
}
