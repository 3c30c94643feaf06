/**
 * The device side of the lancam channel: WebSocket over mutual TLS 1.3.
 *
 * Every client must present a certificate (any self-signed one: unknown clients are allowed in
 * and get the unpaired role from IAM). TLS itself proves the client holds the key behind its
 * certificate (CertificateVerify); we identify the client by that key's fingerprint. Limits:
 * connections per source (an IPv4 address or an IPv6 /64) and in all, new connections per second
 * per source (checked at TCP accept, before any TLS work), time from accept to an established
 * WebSocket (slowloris), frame size, and everything RpcPeer checks.
 *
 * Paired keys must always get in (the owner cannot be locked out by strangers): connections still
 * in the handshake and channels of unknown keys each have their own cap, both together below the
 * total, and when one is full its oldest member is evicted rather than the newcomer refused (a
 * squatter must keep re-handshaking, which the per-source rate bounds, while a real newcomer gets
 * in and pairs). Unknown keys also get a short idle deadline that heartbeats do not extend.
 */
import { EventEmitter } from 'node:events';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import type { Identity } from '../keys';
import { certificateKeyProblem, fingerprintOfCertificate } from '../keys';
import { sourceKey } from '../../shared/net-address';
import { CloseCode, resolveLimits, TokenBucket, type ChannelLimits } from './limits';
import { RpcPeer } from './rpc-peer';

export const CHANNEL_PATH = '/lancam/v1';

export interface ChannelConnection {
  peer: RpcPeer;
  /** Fingerprint of the client's TLS key. */
  clientFingerprint: string;
  remoteAddress: string;
  remotePort: number;
  /** The local address the client reached us on (to decide whether it is on our subnets). */
  localAddress: string;
  /** TLS exporter for channel binding (RFC 5705 / RFC 8446 section 7.5). */
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer;
}

export interface ChannelServerOptions {
  identity: Identity;
  host: string;
  port: number;
  limits?: Partial<ChannelLimits>;
  /** Is this client key paired (known to IAM)? Asked when a channel opens and again before evicting it. */
  isKnownClient?: (fingerprint: string) => boolean;
}

type Stage = 'pending' | 'unpaired' | 'paired';

/** One accepted TCP connection through its life: handshake, then an unpaired or paired channel. */
interface Tracked {
  socket: Socket;
  source: string;
  address: string;
  stage: Stage;
  fingerprint?: string;
  peer?: RpcPeer;
}

export interface ChannelServerEvents {
  connection: [ChannelConnection];
  /** A connection refused or dropped before it became a channel; for logs. */
  rejected: [{ remoteAddress: string; reason: string }];
}

export class ChannelServer extends EventEmitter<ChannelServerEvents> {
  readonly limits: ChannelLimits;
  private readonly https: https.Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<Socket>();
  private readonly peers = new Set<RpcPeer>();
  private readonly handshakeTimers = new Map<string, NodeJS.Timeout>();
  /** Every accepted connection by connectionKey, oldest first (Map keeps insertion order). */
  private readonly tracked = new Map<string, Tracked>();
  /** New-connection budgets per source; entries are dropped once full again. */
  private readonly acceptBuckets = new Map<string, { bucket: TokenBucket; last: number }>();

  constructor(private readonly options: ChannelServerOptions) {
    super();
    this.limits = resolveLimits(options.limits);
    this.https = https.createServer({
      key: options.identity.keyPem,
      cert: options.identity.certPem,
      minVersion: 'TLSv1.3',
      requestCert: true,
      // Self-signed peers: chain checks mean nothing here; identity is the key fingerprint.
      rejectUnauthorized: false,
      handshakeTimeout: this.limits.handshakeTimeoutMs,
      headersTimeout: this.limits.handshakeTimeoutMs,
      requestTimeout: this.limits.handshakeTimeoutMs,
      maxHeaderSize: 8 * 1024,
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.limits.maxFrameBytes, perMessageDeflate: false });
    this.https.on('connection', (socket: Socket) => this.onTcp(socket));
    this.https.on('secureConnection', (socket: TLSSocket) => {
      const cert = socket.getPeerX509Certificate();
      if (!cert) return this.drop(socket, 'client presented no certificate');
      // A paired key is known as soon as TLS is done: from here on no flood of strangers'
      // handshakes can evict it (admit() checks its per-source cap when the channel opens).
      const tracked = this.tracked.get(connectionKey(socket));
      const fingerprint = fingerprintOfCertificate(cert);
      if (tracked?.stage === 'pending' && this.isKnown(fingerprint)) {
        tracked.stage = 'paired';
        tracked.fingerprint = fingerprint;
      }
    });
    this.https.on('tlsClientError', (err, socket) => this.drop(socket, `TLS handshake failed: ${err.message}`));
    this.https.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
      res.end('lancam: this port speaks the lancam channel (WebSocket) only\n');
    });
    this.https.on('upgrade', (req, socket: TLSSocket, head) => {
      const cert = socket.getPeerX509Certificate();
      if (!cert) return this.drop(socket, 'client presented no certificate');
      // Only P-256 identities (the architecture's one key type): an RSA, Ed25519 or P-384 key is
      // refused before it can be paired, with the reason in the answer.
      const keyProblem = certificateKeyProblem(cert);
      if (keyProblem) {
        const reason = `client certificate refused: ${keyProblem}`;
        socket.end(`HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-type: text/plain\r\nx-lancam-error: ${reason}\r\ncontent-length: ${Buffer.byteLength(reason) + 1}\r\n\r\n${reason}\n`);
        return this.emit('rejected', { remoteAddress: normalizeAddress(socket.remoteAddress), reason });
      }
      if (req.url !== CHANNEL_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
        return this.emit('rejected', { remoteAddress: socket.remoteAddress ?? '', reason: `unknown path ${req.url ?? ''}` });
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        // Established in time: the handshake deadline no longer applies.
        const key = connectionKey(socket);
        clearTimeout(this.handshakeTimers.get(key));
        this.handshakeTimers.delete(key);
        const peer = new RpcPeer(ws, this.limits);
        this.peers.add(peer);
        peer.on('close', () => this.peers.delete(peer));
        const fingerprint = fingerprintOfCertificate(cert);
        if (!this.admit(key, fingerprint, peer)) return;
        this.emit('connection', {
          peer,
          clientFingerprint: fingerprint,
          remoteAddress: normalizeAddress(socket.remoteAddress),
          remotePort: socket.remotePort ?? 0,
          localAddress: normalizeAddress(socket.localAddress),
          exportKeyingMaterial: (length, label, context) => socket.exportKeyingMaterial(length, label, context ?? Buffer.alloc(0)),
        });
      });
    });
  }

  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.https.once('error', onError);
      this.https.listen(this.options.port, this.options.host, () => {
        this.https.off('error', onError);
        resolve();
      });
    });
    const address = this.https.address();
    if (!address || typeof address === 'string') throw new Error('server has no TCP address');
    return { host: address.address, port: address.port };
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Every established channel, for pushing events. */
  get openPeers(): ReadonlySet<RpcPeer> {
    return this.peers;
  }

  /** Stops accepting, closes every channel (bounded in time) and frees the port. */
  async close(): Promise<void> {
    for (const peer of this.peers) peer.close(1001, 'device shutting down');
    const closed = new Promise<void>((resolve) => this.https.close(() => resolve()));
    const deadline = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, 1500);
    // Give close frames a moment to leave, then cut whatever remains.
    setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, 300).unref();
    await closed;
    clearTimeout(deadline);
    this.wss.close();
  }

  /** Open connections by stage, for tests and logs. */
  get stageCounts(): Record<Stage, number> {
    const counts: Record<Stage, number> = { pending: 0, unpaired: 0, paired: 0 };
    for (const t of this.tracked.values()) counts[t.stage]++;
    return counts;
  }

  private onTcp(socket: Socket): void {
    const address = normalizeAddress(socket.remoteAddress);
    const source = sourceKey(address);
    if (this.sockets.size >= this.limits.maxConnections) {
      socket.destroy();
      return void this.emit('rejected', { remoteAddress: address, reason: `connection limit (${this.limits.maxConnections}) reached` });
    }
    if (!this.takeAcceptToken(source)) {
      socket.destroy();
      return void this.emit('rejected', { remoteAddress: address, reason: `too many new connections from ${source} (limit ${this.limits.newConnectionsPerSecondPerAddress}/s)` });
    }
    const key = connectionKey(socket);
    const tracked: Tracked = { socket, source, address, stage: 'pending' };
    this.tracked.set(key, tracked);
    this.sockets.add(socket);
    // TLS handshake and WebSocket upgrade must both finish in time (slowloris).
    const timer = setTimeout(() => {
      if (!socket.destroyed) {
        socket.destroy();
        this.emit('rejected', { remoteAddress: address, reason: 'handshake timeout' });
      }
    }, this.limits.handshakeTimeoutMs);
    timer.unref();
    this.handshakeTimers.set(key, timer);
    socket.once('close', () => {
      clearTimeout(timer);
      this.handshakeTimers.delete(key);
      this.sockets.delete(socket);
      if (this.tracked.get(key) === tracked) this.tracked.delete(key);
    });
    // Unfinished handshakes: per source (together with its unpaired channels) and in all; the
    // oldest goes, so a parked slow client cannot keep a quick one out.
    this.enforce((t) => t.stage === 'pending', this.limits.maxPendingHandshakes, 'too many connections in the handshake', true);
    this.enforce((t) => t.source === source && t.stage !== 'paired', this.limits.maxConnectionsPerAddress, `too many connections from ${source} (limit ${this.limits.maxConnectionsPerAddress})`);
  }

  /** Classifies a channel that just opened; false when it was refused. */
  private admit(key: string, fingerprint: string, peer: RpcPeer): boolean {
    const tracked = this.tracked.get(key);
    if (!tracked) {
      peer.close(CloseCode.TryAgainLater, 'connection no longer tracked');
      return false;
    }
    tracked.fingerprint = fingerprint;
    tracked.peer = peer;
    if (this.isKnown(fingerprint)) {
      tracked.stage = 'paired';
      const fromSource = [...this.tracked.values()].filter((t) => t.stage === 'paired' && t.source === tracked.source).length;
      if (fromSource > this.limits.maxConnectionsPerAddress) {
        tracked.stage = 'pending';
        this.tracked.delete(key);
        peer.close(CloseCode.TryAgainLater, `too many connections from ${tracked.source}`);
        this.emit('rejected', { remoteAddress: tracked.address, reason: `too many paired connections from ${tracked.source} (limit ${this.limits.maxConnectionsPerAddress})` });
        return false;
      }
      return true;
    }
    tracked.stage = 'unpaired';
    // Unknown keys: short idle deadline, heartbeats do not count; paired meanwhile -> normal deadline.
    const { idleTimeoutMs, unpairedIdleTimeoutMs } = this.limits;
    peer.setIdleTimeout(idleTimeoutMs > 0 ? Math.min(idleTimeoutMs, unpairedIdleTimeoutMs) : unpairedIdleTimeoutMs, () => {
      if (!this.isKnown(fingerprint)) return undefined;
      tracked.stage = 'paired';
      return this.limits.idleTimeoutMs;
    });
    this.enforce((t) => t.stage === 'unpaired', this.limits.maxUnpairedConnections, 'too many unpaired channels', true);
    return !peer.closeInfo && this.tracked.get(key) === tracked;
  }

  /**
   * While more than `limit` tracked connections match, evicts one: with `fair`, the oldest of the
   * source holding the most of them (a flood from a few sources cannot evict a newcomer from
   * another); otherwise the oldest, unpaired channels before handshakes. An unpaired channel whose key has
   * been paired since is promoted instead of evicted.
   */
  private enforce(match: (t: Tracked) => boolean, limit: number, reason: string, fair = false): void {
    for (;;) {
      const members = [...this.tracked.entries()].filter(([, t]) => match(t));
      if (members.length <= limit) return;
      let candidates = members;
      if (fair) {
        const perSource = new Map<string, number>();
        for (const [, t] of members) perSource.set(t.source, (perSource.get(t.source) ?? 0) + 1);
        const most = Math.max(...perSource.values());
        candidates = members.filter(([, t]) => perSource.get(t.source) === most);
      } else {
        // Established unknown channels before handshakes: a handshake may be a paired key's.
        const unpaired = members.filter(([, t]) => t.stage === 'unpaired');
        if (unpaired.length > 0) candidates = unpaired;
      }
      const [key, victim] = candidates[0]!;
      if (victim.stage === 'unpaired' && victim.fingerprint && this.isKnown(victim.fingerprint)) {
        victim.stage = 'paired';
        victim.peer?.setIdleTimeout(this.limits.idleTimeoutMs);
        continue;
      }
      this.tracked.delete(key);
      this.emit('rejected', { remoteAddress: victim.address, reason: `evicted (${reason})` });
      if (victim.peer) victim.peer.close(CloseCode.TryAgainLater, `evicted: ${reason}`);
      else victim.socket.destroy();
    }
  }

  private isKnown(fingerprint: string): boolean {
    return this.options.isKnownClient?.(fingerprint) ?? false;
  }

  private takeAcceptToken(source: string): boolean {
    const rate = this.limits.newConnectionsPerSecondPerAddress;
    if (rate <= 0) return true;
    const now = performance.now();
    // Forget sources whose budget is full again, so the map stays small.
    if (this.acceptBuckets.size > 1024) {
      for (const [k, v] of this.acceptBuckets) if (now - v.last > 4000) this.acceptBuckets.delete(k);
    }
    let entry = this.acceptBuckets.get(source);
    if (!entry) {
      entry = { bucket: new TokenBucket(rate, rate * 4), last: now };
      this.acceptBuckets.set(source, entry);
    }
    entry.last = now;
    return entry.bucket.take();
  }

  private drop(socket: Socket, reason: string): void {
    this.emit('rejected', { remoteAddress: normalizeAddress(socket.remoteAddress), reason });
    socket.destroy();
  }
}

/** Identifies one TCP connection across its raw and TLS socket objects. */
function connectionKey(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`;
}

/** "::ffff:127.0.0.1" -> "127.0.0.1", so one client counts as one address. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
