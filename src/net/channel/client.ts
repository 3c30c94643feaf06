/**
 * The client side of the lancam channel. The device's key fingerprint is checked right after
 * the TLS handshake, before a single application byte (the WebSocket upgrade) is written.
 */
import tls from 'node:tls';
import WebSocket from 'ws';
import type { Identity } from '../keys';
import { certificateKeyProblem, fingerprintOfCertificate } from '../keys';
import { resolveLimits, type ChannelLimits } from './limits';
import { RpcError, RpcPeer } from './rpc-peer';
import { CHANNEL_PATH } from './server';

export interface ConnectOptions {
  host: string;
  port: number;
  identity: Identity;
  /**
   * Decides whether the device's key is acceptable; throw to refuse (the error is passed on).
   * Called after the TLS handshake and before any application data.
   */
  verifyDevice: (fingerprint: string) => void;
  /** Local source address (`--bind`). */
  localAddress?: string;
  limits?: Partial<ChannelLimits>;
  /** Connect + TLS + upgrade must finish within this (each attempt). */
  timeoutMs?: number;
  /**
   * Attempts again after a connection cut during the handshake (default 2 more, 200 ms then
   * 600 ms later). A camera under a connection flood evicts unfinished handshakes from the
   * busiest source, and before TLS is done it cannot tell a paired client from a squatter on the
   * same address (docs/security.md, "Paired keys always get in"): the real client tries again.
   */
  resetRetries?: number;
}

const RESET_BACKOFF_MS = [200, 600, 1000];

export async function connectChannel(options: ConnectOptions): Promise<ClientChannel> {
  const retries = options.resetRetries ?? 2;
  for (let attempt = 0; ; attempt++) {
    try {
      return await connectChannelOnce(options);
    } catch (err) {
      if (!(err instanceof ChannelConnectError) || err.code !== 'reset' || attempt >= retries) throw err;
      await new Promise((resolve) => setTimeout(resolve, RESET_BACKOFF_MS[Math.min(attempt, RESET_BACKOFF_MS.length - 1)]));
    }
  }
}

export interface ClientChannel {
  peer: RpcPeer;
  deviceFingerprint: string;
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer;
  close(): void;
}

export class ChannelConnectError extends Error {
  override name = 'ChannelConnectError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function connectChannelOnce(options: ConnectOptions): Promise<ClientChannel> {
  // A client does not close its own connections for being quiet (a stream may play for hours);
  // the device decides about idleness, and heartbeats cut a dead device.
  const limits = resolveLimits({ idleTimeoutMs: 0, ...options.limits });
  const timeoutMs = options.timeoutMs ?? limits.handshakeTimeoutMs;
  const where = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;

  const socket = tls.connect({
    host: options.host,
    port: options.port,
    secureContext: secureContextFor(options.identity),
    rejectUnauthorized: false, // self-signed: we pin the fingerprint below instead
    servername: '',
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });

  const deadline = setTimeout(() => socket.destroy(new ChannelConnectError('timeout', `no answer from ${where} within ${timeoutMs} ms`)), timeoutMs);
  try {
    const deviceFingerprint = await new Promise<string>((resolve, reject) => {
      socket.once('error', (err) => reject(describeSocketError(err, where)));
      socket.once('secureConnect', () => {
        const cert = socket.getPeerX509Certificate();
        if (!cert) return reject(new ChannelConnectError('no-certificate', `${where} presented no certificate`));
        const keyProblem = certificateKeyProblem(cert);
        if (keyProblem) return reject(new ChannelConnectError('bad-key-type', `${where} is not a lancam camera: ${keyProblem}`));
        const fingerprint = fingerprintOfCertificate(cert);
        try {
          options.verifyDevice(fingerprint);
        } catch (err) {
          return reject(err);
        }
        resolve(fingerprint);
      });
    });

    const ws = new WebSocket(`wss://${where}${CHANNEL_PATH}`, {
      createConnection: () => socket,
      maxPayload: limits.maxFrameBytes,
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', (err) => reject(describeSocketError(err, where)));
      ws.once('unexpected-response', (_req, res) => {
        const said = res.headers['x-lancam-error'];
        reject(new ChannelConnectError('bad-upgrade', `${where} refused the channel (HTTP ${res.statusCode})${typeof said === 'string' ? `: ${said}` : ''}`));
      });
    });
    const peer = new RpcPeer(ws, limits);
    return {
      peer,
      deviceFingerprint,
      exportKeyingMaterial: (length, label, context) => socket.exportKeyingMaterial(length, label, context ?? Buffer.alloc(0)),
      close: () => peer.close(),
    };
  } catch (err) {
    socket.destroy();
    throw err;
  } finally {
    clearTimeout(deadline);
  }
}

/** Parsing the key and certificate costs about a millisecond: do it once per identity. */
const secureContexts = new WeakMap<Identity, tls.SecureContext>();

function secureContextFor(identity: Identity): tls.SecureContext {
  let context = secureContexts.get(identity);
  if (!context) {
    context = tls.createSecureContext({ key: identity.keyPem, cert: identity.certPem, minVersion: 'TLSv1.3' });
    secureContexts.set(identity, context);
  }
  return context;
}

function describeSocketError(err: Error, where: string): Error {
  if (err instanceof ChannelConnectError || err instanceof RpcError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ECONNREFUSED':
      return new ChannelConnectError('unreachable', `nothing listens at ${where} (connection refused)`);
    case 'ECONNRESET':
    case 'EPIPE':
      return new ChannelConnectError('reset', `${where} closed the connection during the handshake`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new ChannelConnectError('unreachable', `${where} is unreachable (${code})`);
    case 'EADDRNOTAVAIL':
      return new ChannelConnectError('bad-bind', `cannot use that local address (${code})`);
    default:
      return new ChannelConnectError(code ?? 'connect-failed', `cannot connect to ${where}: ${err.message}`);
  }
}
