/**
 * lancam-device: a pairable, access-controlled camera. This file wires the parts together:
 * identity and files, IAM, the channel server, mDNS, and the request handlers.
 */
import os from 'node:os';
import { identityFromKey, type Identity } from '../net/keys';
import { ChannelServer, type ChannelConnection } from '../net/channel/server';
import type { ChannelLimits } from '../net/channel/limits';
import { errorResponse, type RpcResponse } from '../net/channel/rpc-peer';
import { RpcRouter } from '../net/rpc-router';
import { advertise, type Advertisement } from '../net/mdns';
import { PROTOCOL_VERSION } from '../shared/protocol/frames';
import { Status } from '../shared/protocol/status';
import type { DeviceInfo, PairingInfo, PairingMode } from '../shared/protocol/device-api';
import { IamActions } from '../shared/iam/actions';
import { isLocalClient, type InterfaceAddress } from '../shared/net-address';
import { devicePaths, ensureStateDir, loadDeviceKey, loadOrCreateDeviceIds, type DevicePaths } from './state/device-files';
import { IamService, type Requester } from './iam/iam-service';
import { registerIamRoutes } from './iam/iam-routes';
import { registerPairingRoutes } from './pairing/pairing-routes';
import { AttemptLimiter, DEFAULT_ATTEMPT_LIMITS, type AttemptLimits } from './pairing/attempt-limiter';
import { PairingWindow } from './pairing/pairing-window';
import type { DeviceCore, RequestContext } from './request-context';
import { EVENTS } from '../shared/protocol/iam-api';
import type { Logger } from '../net/log';
import { ControlServer } from './control-socket';
import { SharedCapture, type FrameSource } from './video/capture';
import { PatternSource } from './video/pattern-source';
import { createFfmpegSource } from './video/ffmpeg-source';
import { VideoService, type VideoOptions } from './video/video-service';
import { WrtcMedia } from './video/wrtc-media';
import type { VideoMedia } from './video/video-peer';
import { NdcMedia } from './video/h264/ndc-media';
import { SharedEncodedStream, createEncodedSource } from './video/h264/encoded-stream';
import { RelayLink, type RelayLinkOptions } from './relay/relay-link';

export const APP_NAME = 'lancam-device';
export const APP_VERSION = '0.1.0';
export const DEFAULT_PORT = 5592;

export interface DeviceOptions {
  stateDir: string;
  host: string;
  port: number;
  /** Interface address for mDNS; undefined = all interfaces; null = no mDNS. */
  mdnsInterface: string | undefined | null;
  name?: string | undefined;
  keyFile?: string | undefined;
  iamConfigFile?: string | undefined;
  iamStateFile?: string | undefined;
  limits?: Partial<ChannelLimits> | undefined;
  attemptLimits?: AttemptLimits | undefined;
  video?: Partial<DeviceVideoOptions> | undefined;
  /** Connect out to a lancam-relay, so clients beyond the LAN can reach the camera. */
  relay?: RelayLinkOptions | undefined;
  log: Logger;
}

export interface DeviceVideoOptions extends VideoOptions {
  /** 'pattern' (the built-in test pattern), a file, an rtsp:// URL or /dev/videoN. */
  source: string;
  width: number;
  height: number;
  fps: number;
  ffmpegPath?: string | undefined;
  /**
   * 'vp8' (default): raw frames, one @roamhq/wrtc VP8 encoder per viewer. 'h264': one H.264
   * stream for every viewer over node-datachannel (the pattern encoded once, H.264 cameras
   * passed through); see docs/video.md.
   */
  stack?: VideoStack | undefined;
}

export type VideoStack = 'vp8' | 'h264';

export const DEFAULT_VIDEO: DeviceVideoOptions = {
  source: 'pattern',
  width: 640,
  height: 480,
  fps: 30,
  iceServers: [],
  iceAddresses: [],
  maxViewers: 16,
};

export class DeviceDaemon implements DeviceCore {
  private advertisement: Advertisement | undefined;
  private control: ControlServer | undefined;
  private relayLink: RelayLink | undefined;
  private listening: { host: string; port: number } | undefined;
  readonly pairingWindow = new PairingWindow();
  readonly attempts: AttemptLimiter;
  readonly log: Logger;
  readonly video: VideoService;
  /** Open channels, by the client key they authenticated with. */
  private readonly connections = new Map<string, Set<RequestContext>>();

  private constructor(
    readonly options: DeviceOptions,
    readonly paths: DevicePaths,
    readonly identity: Identity,
    readonly productId: string,
    readonly deviceId: string,
    readonly iam: IamService,
    readonly firstRun: boolean,
    private readonly server: ChannelServer,
    private readonly router: RpcRouter<RequestContext>,
  ) {
    this.log = options.log;
    this.attempts = new AttemptLimiter(options.attemptLimits ?? DEFAULT_ATTEMPT_LIMITS);
    const video = { ...DEFAULT_VIDEO, ...options.video };
    this.video = new VideoService(this, createMedia(video, this.log), video);
    this.pairingWindow.on('change', ({ open, seconds, reason }) => {
      this.log.info(open ? `pairing window OPEN for ${seconds} s (${reason}): local open pairing is possible` : `pairing window closed (${reason})`);
      this.broadcast(EVENTS.pairingWindow, { open, seconds });
    });
  }

  /** Loads (or on the first run creates) everything in the state directory. */
  static async open(options: DeviceOptions): Promise<DeviceDaemon> {
    const paths = devicePaths(options);
    await ensureStateDir(paths.stateDir);
    const ids = await loadOrCreateDeviceIds(paths.deviceJson);
    const { key, created: keyCreated } = await loadDeviceKey(paths, options.keyFile !== undefined);
    const identity = await identityFromKey(key, ids.deviceId);
    const { iam, created: iamCreated } = await IamService.open(paths, { friendlyName: options.name ?? defaultFriendlyName(), log: options.log });
    if (options.name !== undefined && !iamCreated && iam.friendlyName !== options.name) {
      await iam.mutate((s) => {
        s.FriendlyName = options.name;
      });
    }
    const server = new ChannelServer({ identity, host: options.host, port: options.port, ...(options.limits ? { limits: options.limits } : {}) });
    const router = new RpcRouter<RequestContext>();
    const daemon = new DeviceDaemon(options, paths, identity, ids.productId, ids.deviceId, iam, ids.created || keyCreated || iamCreated, server, router);
    daemon.registerRoutes();
    registerIamRoutes(router, daemon);
    registerPairingRoutes(router, daemon);
    daemon.video.register(router);
    server.on('connection', (connection) => daemon.onConnection(connection));
    server.on('rejected', ({ remoteAddress, reason }) => options.log.info(`refused connection from ${remoteAddress}: ${reason}`));
    return daemon;
  }

  get address(): { host: string; port: number } | undefined {
    return this.listening;
  }

  get fingerprint(): string {
    return this.identity.fingerprint;
  }

  async start(): Promise<{ host: string; port: number }> {
    this.control = await ControlServer.listen(this.paths.stateDir, (command) => {
      if (command.command === 'pair-window') {
        this.pairingWindow.open(command.seconds, 'lancam-device pair-window');
        return { ok: true, seconds: command.seconds };
      }
      return { ok: true, deviceId: this.deviceId, pairingWindowSeconds: this.pairingWindow.secondsLeft };
    });
    try {
      this.listening = await this.server.listen();
    } catch (err) {
      await this.control.close();
      throw err;
    }
    if (this.options.relay) {
      this.relayLink = new RelayLink({ deviceId: this.deviceId, identity: this.identity, iam: this.iam, video: this.video, log: this.log }, this.options.relay);
      this.relayLink.start();
    }
    if (this.options.mdnsInterface !== null) {
      this.advertisement = advertise({
        ...(this.options.mdnsInterface ? { interface: this.options.mdnsInterface } : {}),
        port: this.listening.port,
        txt: {
          deviceId: this.deviceId,
          productId: this.productId,
          friendlyName: this.iam.friendlyName,
          fingerprint: this.fingerprint,
          protocolVersion: PROTOCOL_VERSION,
        },
      });
    }
    return this.listening;
  }

  /** mDNS goodbye, every channel closed, the port freed. Bounded in time. */
  async stop(): Promise<void> {
    this.pairingWindow.close('device stopping');
    this.relayLink?.stop();
    await this.video.close();
    await Promise.all([this.advertisement?.stop(), this.server.close(), this.control?.close()]);
    this.advertisement = undefined;
  }

  /** The pairing modes a requester could use on this connection right now. */
  pairingModes(requester: Requester): PairingMode[] {
    const s = this.iam.state;
    const modes: PairingMode[] = [];
    const allowed = (action: string) => this.iam.authorize(requester, action).effect === 'allow';
    const initialUser = s.InitialPairingUsername ? this.iam.user(s.InitialPairingUsername) : undefined;
    if (s.LocalInitialPairing && requester.isLocal && initialUser && initialUser.Fingerprints.length === 0 && allowed(IamActions.PairingLocalInitial)) {
      modes.push('local-initial');
    }
    if (s.LocalOpenPairing && requester.isLocal && this.pairingWindow.isOpen && allowed(IamActions.PairingLocalOpen)) modes.push('local-open');
    if (s.PasswordOpenPairing && s.OpenPairingPassword && allowed(IamActions.PairingPasswordOpen)) modes.push('password-open');
    if (s.PasswordInvitePairing && allowed(IamActions.PairingPasswordInvite)) modes.push('password-invite');
    return modes;
  }

  /** The local-open pairing window (the camera's "button"). */
  get pairingWindowOpen(): boolean {
    return this.pairingWindow.isOpen;
  }

  accessChanged(fingerprints: readonly string[], reason: string): void {
    for (const fingerprint of fingerprints) {
      for (const context of this.connections.get(fingerprint) ?? []) {
        context.connection.peer.emitEvent(EVENTS.accessChanged, { reason });
      }
    }
    // Running streams are re-checked at once: a removed user or a lost role stops watching now.
    this.video.recheck();
  }

  friendlyNameChanged(name: string): void {
    void this.advertisement?.updateTxt({ friendlyName: name });
    this.broadcast(EVENTS.deviceInfo, { FriendlyName: name });
  }

  private broadcast(event: string, body: unknown): void {
    for (const set of this.connections.values()) for (const context of set) context.connection.peer.emitEvent(event, body);
  }

  private onConnection(connection: ChannelConnection): void {
    const requester: Requester = {
      fingerprint: connection.clientFingerprint,
      remoteAddress: connection.remoteAddress,
      isLocal: isLocalClient(connection.remoteAddress, localInterfaces()),
    };
    const context: RequestContext = { connection, requester, passwordAuth: {} };
    const set = this.connections.get(requester.fingerprint) ?? new Set();
    set.add(context);
    this.connections.set(requester.fingerprint, set);
    connection.peer.on('close', () => {
      // An exchange left unfinished counts as a failed guess.
      context.passwordAuth.pending?.ticket.settle(false);
      this.video.connectionClosed(context);
      set.delete(context);
      if (set.size === 0) this.connections.delete(requester.fingerprint);
    });
    connection.peer.serve((request) => this.router.dispatch(request, context));
  }

  private registerRoutes(): void {
    this.router.on('GET', '/device/info', (): RpcResponse => {
      const body: DeviceInfo = {
        ProductId: this.productId,
        DeviceId: this.deviceId,
        FriendlyName: this.iam.friendlyName,
        Fingerprint: this.fingerprint,
        ProtocolVersion: PROTOCOL_VERSION,
        AppName: APP_NAME,
        AppVersion: APP_VERSION,
      };
      return { status: Status.Content, body };
    });

    this.router.on('GET', '/iam/pairing', (_params, _body, { requester }): RpcResponse => {
      if (this.iam.authorize(requester, IamActions.GetPairing).effect !== 'allow') return forbidden(IamActions.GetPairing);
      const modes = this.pairingModes(requester);
      const body: PairingInfo = {
        Modes: modes,
        ...(modes.includes('local-open') ? { PairingWindowSeconds: this.pairingWindow.secondsLeft } : {}),
        NabtoVersion: `lancam/${PROTOCOL_VERSION}`,
        AppName: APP_NAME,
        AppVersion: APP_VERSION,
        ProductId: this.productId,
        DeviceId: this.deviceId,
        FriendlyName: this.iam.friendlyName,
      };
      return { status: Status.Content, body };
    });
  }
}

export function forbidden(action: string): RpcResponse {
  return errorResponse(Status.Forbidden, 'forbidden', `not allowed: ${action}`);
}

function createMedia(video: DeviceVideoOptions, log: Logger): VideoMedia {
  if (video.stack === 'h264') return new NdcMedia(new SharedEncodedStream(createEncodedSource(video, log), log), log);
  return new WrtcMedia(new SharedCapture(createSource(video, log), log), { width: video.width, height: video.height });
}

function createSource(video: DeviceVideoOptions, log: Logger): FrameSource {
  if (video.source === 'pattern') return new PatternSource(video.width, video.height, video.fps);
  return createFfmpegSource({
    input: video.source,
    width: video.width,
    height: video.height,
    fps: video.fps,
    ...(video.ffmpegPath ? { ffmpegPath: video.ffmpegPath } : {}),
    log,
  });
}

function defaultFriendlyName(): string {
  return `lancam on ${os.hostname()}`.slice(0, 64);
}

function localInterfaces(): InterfaceAddress[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((i): i is os.NetworkInterfaceInfo => i !== undefined)
    .map((i) => ({ address: i.address, netmask: i.netmask, family: i.family }));
}
