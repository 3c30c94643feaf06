/**
 * The camera's link to a lancam-relay (`--relay wss://…`): it connects out (so a camera behind NAT
 * can be watched), and each client channel the relay opens becomes a video signaling endpoint.
 * The relay is not trusted: every message is a JWT signed with the shared secret of one IAM user
 * (resolved from its kid), checked for sequence and nonces; the first failure ends the channel.
 */
import { decodeProtectedHeader } from 'jose';
import { SourceLog } from '../../net/log';
import { RouteError } from '../../net/rpc-router';
import { NonceCache, SignedSignalingDevice, SignedSignalingError } from '../../net/signed-signaling';
import { connectDeviceToRelay, type DeviceRelayConnection } from '../../relay/relay-client';
import type { IceServer, SignalingMessage, SignedMessage } from '../../shared/protocol/webrtc-api';
import type { Identity } from '../../net/keys';
import type { IamService, Requester } from '../iam/iam-service';
import type { Logger } from '../../net/log';
import type { SignalingEndpoint, VideoService } from '../video/video-service';

export interface RelayLinkOptions {
  url: string;
  /** The relay's TLS key fingerprint, when pinned. */
  pinFingerprint?: string | undefined;
}

interface LinkContext {
  deviceId: string;
  identity: Identity;
  iam: IamService;
  video: VideoService;
  log: Logger;
}

class RelayEndpoint implements SignalingEndpoint {
  readonly signer: SignedSignalingDevice;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly link: RelayLink,
    readonly channel: string,
    replayCache: NonceCache,
  ) {
    // The HMAC key is the secret string's UTF-8 bytes (Nabto WebRTC's rule). A message without a
    // kid (a Nabto peer with one secret) uses the camera's only remote secret, if it has exactly one.
    this.signer = new SignedSignalingDevice((kid) => {
      if (kid === undefined) {
        const all = link.context.iam.state.Users.flatMap((u) => u.RemoteSecrets ?? []);
        const only = all.length === 1 ? all[0] : undefined;
        return only ? { kid: only.Kid, secret: only.Secret } : undefined;
      }
      return link.context.iam.remoteSecret(kid)?.secret;
    }, { replayCache });
  }

  get requester(): Requester {
    return { fingerprint: '', remoteAddress: 'relay', isLocal: false, remoteKid: this.signer.kid ?? '' };
  }

  /** Messages are verified and handled one at a time, in order. */
  receive(token: SignedMessage): void {
    this.queue = this.queue.then(() => this.handle(token));
  }

  send(_sessionId: string, message: SignalingMessage): void {
    if (this.closed) return;
    this.signer
      .sign(message)
      .then((token) => this.link.connection?.send(this.channel, token))
      .catch((err: unknown) => this.link.context.log.warn(`relay channel ${this.channel}: cannot send: ${(err as Error).message}`));
  }

  async extraIceServers(): Promise<IceServer[]> {
    const user = this.link.context.iam.userOf(this.requester);
    if (!user || !this.link.connection) return [];
    try {
      return await this.link.connection.requestTurn(user.Username, this.channel);
    } catch (err) {
      this.link.context.log.warn(`relay: no TURN credentials: ${(err as Error).message}`);
      return [];
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.link.context.video.endpointClosed(this);
  }

  private async handle(token: SignedMessage): Promise<void> {
    if (this.closed) return;
    let message: SignalingMessage;
    const first = this.signer.kid === undefined;
    try {
      message = await this.signer.verify(token);
      // The relay learns that this channel carries a real client (it cannot check the JWT itself).
      if (first) this.link.connection?.channelVerified(this.channel);
    } catch (err) {
      const code = err instanceof SignedSignalingError ? err.code : 'error';
      // Per claimed kid and in all, rate-limited and summed up: a flood of refused first messages
      // (a secret holder out of his replay share, forged tokens) keeps the log readable.
      this.link.refusals.info(refusalSource(token, (kid) => this.link.context.iam.remoteSecret(kid) !== undefined), `relay channel ${this.channel}: refused a message (${code}): ${(err as Error).message}; ending the channel`);
      this.link.connection?.closeChannel(this.channel);
      this.close();
      return;
    }
    try {
      await this.link.context.video.handle(this, this.channel, message);
      if (message.type === 'CLOSE') this.link.connection?.closeChannel(this.channel);
    } catch (err) {
      const reason = err instanceof RouteError ? err.message : `internal error: ${(err as Error).message}`;
      this.send(this.channel, { type: 'CLOSE', reason });
      // Give the signed CLOSE a moment to leave before the channel goes.
      setTimeout(() => this.link.connection?.closeChannel(this.channel), 200).unref();
      this.close();
    }
  }
}

export class RelayLink {
  connection: DeviceRelayConnection | undefined;
  private readonly endpoints = new Map<string, RelayEndpoint>();
  private readonly replayCache = new NonceCache();
  /** Refused relay messages, logged per claimed kid (see RelayEndpoint.handle). */
  readonly refusals: SourceLog;

  constructor(
    readonly context: LinkContext,
    private readonly options: RelayLinkOptions,
  ) {
    this.refusals = new SourceLog(context.log);
  }

  start(): void {
    const connection = connectDeviceToRelay({
      url: this.options.url,
      identity: this.context.identity,
      deviceId: this.context.deviceId,
      ...(this.options.pinFingerprint ? { pinFingerprint: this.options.pinFingerprint } : {}),
    });
    this.connection = connection;
    connection.on('ready', () => this.context.log.info(`relay: registered at ${this.options.url}; reachable through it`));
    connection.on('disconnected', ({ error, retryInMs }) =>
      this.context.log.warn(`relay: ${error.message}${retryInMs !== undefined ? `; retrying in ${Math.round(retryInMs / 1000)} s` : ''}`),
    );
    connection.on('relay-error', ({ code, message }) => this.context.log.warn(`relay said ${code}: ${message}`));
    connection.on('channel-open', (channel) => {
      this.endpoints.set(channel, new RelayEndpoint(this, channel, this.replayCache));
    });
    connection.on('message', (channel, data) => this.endpoints.get(channel)?.receive(data));
    connection.on('channel-closed', (channel) => {
      this.endpoints.get(channel)?.close();
      this.endpoints.delete(channel);
    });
  }

  stop(): void {
    this.refusals.close();
    for (const endpoint of this.endpoints.values()) endpoint.close();
    this.endpoints.clear();
    this.connection?.close();
    this.connection = undefined;
  }
}

/**
 * Who a refused message claims to come from, for the log's rate limit: a kid this camera issued
 * (unverified: the message was refused), or one bucket for everything else (forged kids cannot
 * make one bucket each).
 */
function refusalSource(token: SignedMessage, known: (kid: string) => boolean): string {
  try {
    const kid = decodeProtectedHeader(token.jwt).kid;
    return typeof kid === 'string' && known(kid) ? `relay kid ${kid.slice(0, 12)}` : 'relay (no known kid)';
  } catch {
    return 'relay (no known kid)';
  }
}
