/**
 * The device side of the lancam channel: WebSocket over mutual TLS 1.3.
 *
 * Every client must present a certificate (any self-signed one: unknown clients are allowed in
 * and get the unpaired role from IAM). TLS itself proves the client holds the key behind its
 * certificate (CertificateVerify); we identify the client by that key's fingerprint. Limits:
 * connections per source address and in all (checked at TCP accept, before any TLS work), time
 * from accept to an established WebSocket (slowloris), frame size, and everything RpcPeer checks.
 */
import { EventEmitter } from 'node:events';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import type { Identity } from '../keys';
import { certificateKeyProblem, fingerprintOfCertificate } from '../keys';
import { resolveLimits, type ChannelLimits } from './limits';
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
  private readonly perAddress = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private readonly peers = new Set<RpcPeer>();
  private readonly handshakeTimers = new Map<string, NodeJS.Timeout>();

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
      if (!socket.getPeerX509Certificate()) this.drop(socket, 'client presented no certificate');
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
        this.emit('connection', {
          peer,
          clientFingerprint: fingerprintOfCertificate(cert),
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

  private onTcp(socket: Socket): void {
    const address = normalizeAddress(socket.remoteAddress);
    const count = this.perAddress.get(address) ?? 0;
    if (this.sockets.size >= this.limits.maxConnections) {
      socket.destroy();
      return void this.emit('rejected', { remoteAddress: address, reason: `connection limit (${this.limits.maxConnections}) reached` });
    }
    if (count >= this.limits.maxConnectionsPerAddress) {
      socket.destroy();
      return void this.emit('rejected', { remoteAddress: address, reason: `too many connections from ${address} (limit ${this.limits.maxConnectionsPerAddress})` });
    }
    this.perAddress.set(address, count + 1);
    this.sockets.add(socket);
    // TLS handshake and WebSocket upgrade must both finish in time (slowloris).
    const timer = setTimeout(() => {
      if (!socket.destroyed) {
        socket.destroy();
        this.emit('rejected', { remoteAddress: address, reason: 'handshake timeout' });
      }
    }, this.limits.handshakeTimeoutMs);
    timer.unref();
    const key = connectionKey(socket);
    this.handshakeTimers.set(key, timer);
    socket.once('close', () => {
      clearTimeout(timer);
      this.handshakeTimers.delete(key);
      this.sockets.delete(socket);
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    });
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
