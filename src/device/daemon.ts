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
import type { Logger } from './log';

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
  log: Logger;
}

/** Per-connection context handed to handlers. */
export interface RequestContext {
  connection: ChannelConnection;
  requester: Requester;
}

export class DeviceDaemon {
  private advertisement: Advertisement | undefined;
  private listening: { host: string; port: number } | undefined;

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
  ) {}

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
    this.listening = await this.server.listen();
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
    await Promise.all([this.advertisement?.stop(), this.server.close()]);
    this.advertisement = undefined;
  }

  /** The pairing modes a requester could use on this connection right now. */
  pairingModes(requester: Requester): PairingMode[] {
    const s = this.iam.state;
    const modes: PairingMode[] = [];
    const allowed = (action: string) => this.iam.authorize(requester, action).effect === 'allow';
    const initialUser = s.InitialPairingUsername ? this.iam.user(s.InitialPairingUsername) : undefined;
    if (s.LocalInitialPairing && requester.isLocal && (!initialUser || initialUser.Fingerprints.length === 0) && allowed(IamActions.PairingLocalInitial)) {
      modes.push('local-initial');
    }
    if (s.LocalOpenPairing && requester.isLocal && this.pairingWindowOpen && allowed(IamActions.PairingLocalOpen)) modes.push('local-open');
    if (s.PasswordOpenPairing && s.OpenPairingPassword && allowed(IamActions.PairingPasswordOpen)) modes.push('password-open');
    if (s.PasswordInvitePairing && allowed(IamActions.PairingPasswordInvite)) modes.push('password-invite');
    return modes;
  }

  /** The local-open pairing window (the camera's "button"). */
  get pairingWindowOpen(): boolean {
    return false;
  }

  private onConnection(connection: ChannelConnection): void {
    const requester: Requester = {
      fingerprint: connection.clientFingerprint,
      remoteAddress: connection.remoteAddress,
      isLocal: isLocalClient(connection.remoteAddress, localInterfaces()),
    };
    const context: RequestContext = { connection, requester };
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
      const body: PairingInfo = {
        Modes: this.pairingModes(requester),
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

function defaultFriendlyName(): string {
  return `lancam on ${os.hostname()}`.slice(0, 64);
}

function localInterfaces(): InterfaceAddress[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((i): i is os.NetworkInterfaceInfo => i !== undefined)
    .map((i) => ({ address: i.address, netmask: i.netmask, family: i.family }));
}
