/**
 * lancam-device: a pairable, access-controlled camera. This file wires the parts together:
 * identity and files, IAM, the channel server, mDNS, and the request handlers.
 */
import os from 'node:os';
import { identityFromKey, type Identity } from '../net/keys';
import { ChannelServer, type ChannelConnection } from '../net/channel/server';
import type { ChannelLimits } from '../net/channel/limits';
import { errorResponse, type RpcRequest, type RpcResponse } from '../net/channel/rpc-peer';
import { UserPresence } from './user-presence';
import { RpcRouter } from '../net/rpc-router';
import { advertise, type Advertisement } from '../net/mdns';
import { PROTOCOL_VERSION } from '../shared/protocol/frames';
import { Status } from '../shared/protocol/status';
import { NABTO_PAIRING_MODE_NAMES, type DeviceInfo, type PairingInfoWire, type PairingMode } from '../shared/protocol/device-api';
import { IamActions } from '../shared/iam/actions';
import { isLocalClient, sourceKey, type InterfaceAddress } from '../shared/net-address';
import { devicePaths, ensureStateDir, loadDeviceKey, loadOrCreateDeviceIds, type DevicePaths } from './state/device-files';
import { IamService, type Requester } from './iam/iam-service';
import { registerIamRoutes } from './iam/iam-routes';
import { registerPairingRoutes } from './pairing/pairing-routes';
import { AttemptLimiter, DEFAULT_ATTEMPT_LIMITS, type AttemptLimits } from './pairing/attempt-limiter';
import { PairingWindow } from './pairing/pairing-window';
import { DEFAULT_PROOF_LIFETIME_MS, PasswordProofs } from './pairing/password-proof';
import { DEFAULT_LOCAL_OPEN_TIMING, LocalOpenGuard, type LocalOpenTiming } from './pairing/local-open-guard';
import { describePairing, PairingHistory, registerPairingHistoryRoutes, undoPairing } from './pairing/pairing-history';
import { groupFingerprint } from '../shared/fingerprint';
import type { PairingRecord } from '../shared/protocol/iam-api';
import type { DeviceCore, RequestContext } from './request-context';
import { EVENTS } from '../shared/protocol/iam-api';
import { SourceLog, type Logger } from '../net/log';
import { ControlServer } from './control-socket';
import { SharedCapture, type FrameSource } from './video/capture';
import { PatternSource } from './video/pattern-source';
import { createFfmpegSource } from './video/ffmpeg-source';
import { VideoService, type VideoOptions } from './video/video-service';
import { WrtcMedia } from './video/wrtc-media';
import type { VideoMedia } from './video/video-peer';
import { NdcMedia } from './video/h264/ndc-media';
import { SharedEncodedStream } from './video/h264/encoded-stream';
import { createEncodedSource } from './video/h264/camera-source';
import type { VideoCaps } from './video/video-plan';
import { createAudioStream } from './video/audio/create-audio';
import { createStreamSet } from './video/h264/sub-stream';
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
  /** A device.json (Nabto's: ProductId, DeviceId, optional Server, Client, …) used as is. */
  deviceJsonFile?: string | undefined;
  keyFile?: string | undefined;
  iamConfigFile?: string | undefined;
  iamStateFile?: string | undefined;
  limits?: Partial<ChannelLimits> | undefined;
  attemptLimits?: AttemptLimits | undefined;
  /** How long a password proof (a finished SPAKE2 exchange) may wait for its pairing. */
  passwordProofMs?: number | undefined;
  /** The local-open overlap check's timing (see local-open-guard.ts). */
  localOpenTiming?: Partial<LocalOpenTiming> | undefined;
  /** What the person at the camera must read (pairings, overlap alarms); default: the log. */
  announce?: ((lines: string[]) => void) | undefined;
  /** How the console tells its user to undo the last pairing. */
  undoHint?: string | undefined;
  video?: Partial<DeviceVideoOptions> | undefined;
  /** Notification categories users may subscribe to (PUT /iam/users/{u}/notification-categories). */
  notificationCategories?: readonly string[] | undefined;
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
   * 'h264' (default): one H.264 stream for every viewer over node-datachannel (the pattern and
   * non-H.264 sources encoded once, H.264 cameras within the caps passed through). 'vp8': raw
   * frames, one @roamhq/wrtc VP8 encoder per viewer; see docs/video.md.
   */
  stack?: VideoStack | undefined;
  /**
   * H.264 stack, cameras and files: the largest picture and rate passed on (`--size`, `--fps`);
   * a source above them is transcoded once to fit. None: the source's own size and rate.
   * (`width`/`height`/`fps` are the pattern's size and rate, and the vp8 stack's output.)
   */
  caps?: VideoCaps | undefined;
  /** `h264` stack only: undefined/true the source's own sound, a capture device (ALSA/pulse), or false for none (audio/create-audio.ts). */
  audio?: string | boolean | undefined;
  /**
   * h264 only (h264/sub-stream.ts): the camera's sub stream (a file, rtsp:// URL or /dev/videoN
   * with H.264), or 'none'; unset: the pattern gets a 640-wide sub encode of its own, other
   * sources none.
   */
  subSource?: string | undefined;
  /** h264 only: the GOP cache's bound for passed-through streams (bytes; 0 turns it off). */
  gopCacheBytes?: number | undefined;
  /** h264 only: viewers on a weak link move to the sub stream (default true). */
  congestion?: boolean | undefined;
}

export type VideoStack = 'vp8' | 'h264';

export const DEFAULT_VIDEO: DeviceVideoOptions = {
  source: 'pattern',
  width: 1280,
  height: 720,
  fps: 30,
  iceServers: [],
  iceAddresses: [],
  maxViewers: 16,
};

/** What the start found and what it had to create, for an honest start-up message. */
export interface StartupReport {
  deviceJson: 'created' | 'kept';
  key: 'created' | 'kept';
  iam: 'created' | 'kept';
  /** The friendly name came from --name and was saved in the IAM state. */
  nameSaved: boolean;
}

export class DeviceDaemon implements DeviceCore {
  private advertisement: Advertisement | undefined;
  private control: ControlServer | undefined;
  private relayLink: RelayLink | undefined;
  private listening: { host: string; port: number } | undefined;
  readonly pairingWindow = new PairingWindow();
  readonly attempts: AttemptLimiter;
  readonly proofs: PasswordProofs;
  readonly localOpen: LocalOpenGuard;
  readonly pairingHistory = new PairingHistory();
  readonly log: Logger;
  readonly video: VideoService;
  /** Open channels, by the client key they authenticated with. */
  private readonly connections = new Map<string, Set<RequestContext>>();
  /** Watching now, last seen, key added times (the IAM user object's `Lancam` extension). */
  private presence: UserPresence | undefined;

  private constructor(
    readonly options: DeviceOptions,
    readonly paths: DevicePaths,
    readonly identity: Identity,
    readonly productId: string,
    readonly deviceId: string,
    readonly iam: IamService,
    readonly startup: StartupReport,
    private readonly server: ChannelServer,
    private readonly router: RpcRouter<RequestContext>,
  ) {
    this.log = options.log;
    this.attempts = new AttemptLimiter(options.attemptLimits ?? DEFAULT_ATTEMPT_LIMITS);
    this.proofs = new PasswordProofs(options.passwordProofMs ?? DEFAULT_PROOF_LIFETIME_MS);
    iam.onChange((state) => this.proofs.stateChanged(state));
    const video = { ...DEFAULT_VIDEO, ...options.video };
    this.video = new VideoService(this, createMedia(video, this.log), video);
    this.localOpen = new LocalOpenGuard(
      this.pairingWindow,
      {
        overlap: (fingerprints) => {
          this.announce([
            `PAIRING REFUSED: ${fingerprints.length} different keys tried local open pairing in one window; nobody was paired and the window is closed.`,
            ...fingerprints.map((f) => `  key   ${groupFingerprint(f)}`),
            '  If only you were pairing, someone else on the network tried as well. Press the pairing button again when ready.',
          ]);
          this.broadcastToManagers(EVENTS.pairingAlert, { Reason: 'overlap', Fingerprints: fingerprints });
        },
        lateAttempt: (fingerprint, usedBy) => {
          const last = this.pairingHistory.last;
          this.announce([
            `WARNING: the key ${groupFingerprint(fingerprint)} tried local open pairing after the window was used by ${groupFingerprint(usedBy)}${last ? ` ("${last.Username}")` : ''}.`,
            `  If that was the person you meant to pair, the pairing went to someone else: ${this.undoHint}`,
          ]);
          this.broadcastToManagers(EVENTS.pairingAlert, { Reason: 'late-attempt', Fingerprints: [fingerprint], PairedFingerprint: usedBy });
        },
      },
      { ...DEFAULT_LOCAL_OPEN_TIMING, ...options.localOpenTiming },
    );
    this.pairingWindow.on('change', ({ open, seconds, reason }) => {
      this.log.info(open ? `pairing window OPEN for ${seconds} s (${reason}): local open pairing is possible` : `pairing window closed (${reason})`);
      // Only those who manage pairing are told: a parked attacker must not learn when to strike.
      this.broadcastToManagers(EVENTS.pairingWindow, { open, seconds, reason });
    });
  }

  /** Loads (or on the first run creates) everything in the state directory. */
  static async open(options: DeviceOptions): Promise<DeviceDaemon> {
    const paths = devicePaths(options);
    await ensureStateDir(paths.stateDir);
    const ids = await loadOrCreateDeviceIds(paths.deviceJson, options.deviceJsonFile !== undefined);
    const { key, created: keyCreated } = await loadDeviceKey(paths, options.keyFile !== undefined);
    const identity = await identityFromKey(key, ids.deviceId);
    const { iam, created: iamCreated } = await IamService.open(paths, { friendlyName: options.name ?? defaultFriendlyName(), log: options.log });
    const nameSaved = options.name !== undefined && !iamCreated && iam.friendlyName !== options.name;
    if (nameSaved) {
      await iam.mutate((s) => {
        s.FriendlyName = options.name;
      });
    }
    const startup: StartupReport = {
      deviceJson: ids.created ? 'created' : 'kept',
      key: keyCreated ? 'created' : 'kept',
      iam: iamCreated ? 'created' : 'kept',
      nameSaved,
    };
    const server = new ChannelServer({
      identity,
      host: options.host,
      port: options.port,
      ...(options.limits ? { limits: options.limits } : {}),
      // Paired keys have capacity of their own and the normal idle deadline (the owner cannot be locked out).
      isKnownClient: (fingerprint) => iam.userByFingerprint(fingerprint) !== undefined,
    });
    const router = new RpcRouter<RequestContext>();
    const daemon = new DeviceDaemon(options, paths, identity, ids.productId, ids.deviceId, iam, startup, server, router);
    daemon.presence = await UserPresence.open(paths.stateDir, iam, options.log);
    daemon.registerRoutes();
    registerIamRoutes(router, daemon);
    registerPairingRoutes(router, daemon);
    registerPairingHistoryRoutes(router, daemon, daemon.pairingHistory);
    daemon.video.register(router);
    server.on('connection', (connection) => daemon.onConnection(connection));
    // Refusals are caused by remote peers: rate-limited and aggregated per source (see SourceLog).
    const refusals = new SourceLog(options.log);
    server.on('rejected', ({ remoteAddress, reason }) => refusals.info(sourceKey(remoteAddress), `refused connection from ${remoteAddress}: ${reason}`));
    return daemon;
  }

  get address(): { host: string; port: number } | undefined {
    return this.listening;
  }

  get fingerprint(): string {
    return this.identity.fingerprint;
  }

  get notificationCategories(): readonly string[] {
    return this.options.notificationCategories ?? [];
  }

  /**
   * The name shown and announced: the state's FriendlyName, or (Nabto's state often has none)
   * `lancam <device id>`. The default is not written to the state.
   */
  get friendlyName(): string {
    return this.iam.friendlyName || defaultNameFor(this.deviceId);
  }

  async start(): Promise<{ host: string; port: number }> {
    this.control = await ControlServer.listen(this.paths.stateDir, async (command) => {
      if (command.command === 'unpair-last') {
        try {
          return { ok: true, done: await this.unpairLast() };
        } catch (err) {
          return { ok: false, error: (err as Error).message };
        }
      }
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
          friendlyName: this.friendlyName,
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
    // As Nabto's nm_iam_pairing.c: the open modes need an OpenPairingRole (and one the config has).
    const openRole = s.OpenPairingRole !== undefined && this.iam.config.Roles.some((r) => r.Id === s.OpenPairingRole);
    const allowed = (action: string) => this.iam.authorize(requester, action).effect === 'allow';
    const initialUser = s.InitialPairingUsername ? this.iam.user(s.InitialPairingUsername) : undefined;
    if (s.LocalInitialPairing && requester.isLocal && initialUser && initialUser.Fingerprints.length === 0 && allowed(IamActions.PairingLocalInitial)) {
      modes.push('local-initial');
    }
    // Whether the window is open is for those who manage pairing; to everyone else local open
    // is offered whenever it is on (the attempt says whether the window is open).
    const windowOpen = this.pairingWindow.isOpen || !this.managesPairing(requester);
    if (s.LocalOpenPairing && openRole && requester.isLocal && windowOpen && allowed(IamActions.PairingLocalOpen)) modes.push('local-open');
    if (s.PasswordOpenPairing && openRole && s.OpenPairingPassword && allowed(IamActions.PairingPasswordOpen)) modes.push('password-open');
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

  pairingRecorded(record: PairingRecord): void {
    this.pairingHistory.add(record);
    this.log.info(`paired ${record.Fingerprint} from ${record.RemoteAddress} as "${record.Username}" (${record.Role ?? 'no role'}) by ${record.Mode} pairing`);
    this.announce(describePairing(record, record.Mode === 'local-initial' ? undefined : this.undoHint));
    this.broadcastToManagers(EVENTS.paired, record);
  }

  /** The one-step undo of the most recent pairing (console key, control socket). */
  async unpairLast(): Promise<string> {
    const last = this.pairingHistory.last;
    if (!last) throw new Error('no pairing since the camera started');
    const done = await undoPairing(this, last);
    this.pairingHistory.drop(last);
    this.announce([`UNDONE: ${done}`]);
    return done;
  }

  private get undoHint(): string {
    return this.options.undoHint ?? 'remove it with "lancam-device unpair-last", or an administrator runs "lancam user rm"';
  }

  private announce(lines: string[]): void {
    if (this.options.announce) this.options.announce(lines);
    else for (const line of lines) this.log.warn(line);
  }

  /** Whether this connection may manage pairing (is told about the window and about pairings). */
  private managesPairing(requester: Requester): boolean {
    return this.iam.authorize(requester, IamActions.SetSettings).effect === 'allow';
  }

  private broadcastToManagers(event: string, body: unknown): void {
    for (const set of this.connections.values()) {
      for (const context of set) if (this.managesPairing(context.requester)) context.connection.peer.emitEvent(event, body);
    }
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
    this.presence?.connectionOpened(requester.fingerprint);
    connection.peer.on('close', () => {
      this.presence?.connectionClosed(requester.fingerprint);
      // An exchange left unfinished counts as a failed guess.
      context.passwordAuth.pending?.ticket.settle(false);
      this.proofs.void(context.passwordAuth.proof, 'connection closed');
      this.video.connectionClosed(context);
      set.delete(context);
      if (set.size === 0) this.connections.delete(requester.fingerprint);
    });
    connection.peer.serve(async (request) => {
      const response = await this.router.dispatch(request, context);
      // Any failure on a connection voids the password proof it holds.
      if (response.status >= 400 && context.passwordAuth.proof) {
        this.proofs.void(context.passwordAuth.proof, `a request failed (${response.status})`);
        context.passwordAuth.proof = undefined;
      }
      this.presence?.afterRequest(requester.fingerprint);
      return withPresence(request, response, this.presence, () => this.video.watchingUsers());
    });
  }

  private registerRoutes(): void {
    this.router.on('GET', '/device/info', (): RpcResponse => {
      const body: DeviceInfo = {
        ProductId: this.productId,
        DeviceId: this.deviceId,
        FriendlyName: this.friendlyName,
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
      // Nabto's order and names: PasswordOpen, LocalOpen, PasswordInvite, LocalInitial.
      const order: PairingMode[] = ['password-open', 'local-open', 'password-invite', 'local-initial'];
      const body: PairingInfoWire = {
        Modes: order.filter((m) => modes.includes(m)).map((m) => NABTO_PAIRING_MODE_NAMES[m]),
        ...(modes.includes('local-open') && this.managesPairing(requester) ? { PairingWindowSeconds: this.pairingWindow.secondsLeft } : {}),
        // lancam extension: the role the camera's button gives, so the app can say it before pairing.
        ...(modes.includes('local-open') && this.iam.state.OpenPairingRole !== undefined ? { OpenPairingRole: this.iam.state.OpenPairingRole } : {}),
        NabtoVersion: `lancam/${PROTOCOL_VERSION}`,
        AppName: APP_NAME,
        AppVersion: APP_VERSION,
        ProductId: this.productId,
        DeviceId: this.deviceId,
        FriendlyName: this.friendlyName,
      };
      return { status: Status.Content, body };
    });
  }
}

/** GET /iam/me and GET /iam/users/{u} answers carry lancam's `Lancam` extension member. */
function withPresence(request: RpcRequest, response: RpcResponse, presence: UserPresence | undefined, watching: () => ReadonlySet<string>): RpcResponse {
  if (!presence || request.method !== 'GET' || response.status !== Status.Content) return response;
  if (request.path !== '/iam/me' && !/^\/iam\/users\/[^/]+$/.test(request.path)) return response;
  const body = response.body as { Username?: unknown } | null;
  if (!body || typeof body !== 'object' || typeof body.Username !== 'string') return response;
  const extension = presence.extensionFor(body.Username, watching());
  return extension ? { ...response, body: { ...body, Lancam: extension } } : response;
}

export function forbidden(action: string): RpcResponse {
  return errorResponse(Status.Forbidden, 'forbidden', `not allowed: ${action}`);
}

function createMedia(video: DeviceVideoOptions, log: Logger): VideoMedia {
  if ((video.stack ?? 'h264') === 'h264') {
    const main = new SharedEncodedStream(createEncodedSource(video, log), log);
    // The video's source goes with the audio: one ffmpeg reads a camera's picture and sound.
    return new NdcMedia(main, log, createStreamSet(video, main, log), createAudioStream(video, log, main.source));
  }
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

function defaultNameFor(deviceId: string): string {
  return `lancam ${deviceId}`.slice(0, 64);
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
