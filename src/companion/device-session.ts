/**
 * Opening a channel to a device: find where it is (address, discovery, or the last known
 * address), decide which key it must present, connect, and wrap the channel in typed calls.
 *
 * Which key: a paired device must present its pinned key, always. An unpaired device found by
 * discovery must present the key its announcement names. An unpaired device reached by address
 * (no announcement) is trust-on-first-use; callers that need more pass `expectFingerprint`
 * (from a pairing string, say).
 */
import { connectChannel, ChannelConnectError, type ClientChannel } from '../net/channel/client';
import type { ChannelLimits } from '../net/channel/limits';
import { RpcError, type RpcResponse } from '../net/channel/rpc-peer';
import type { Method } from '../shared/protocol/frames';
import { isSuccess, statusName } from '../shared/protocol/status';
import { deviceInfoSchema, pairingInfoSchema, type DeviceInfo, type PairingInfo } from '../shared/protocol/device-api';
import { groupFingerprint } from '../shared/fingerprint';
import { EVENTS } from '../shared/protocol/iam-api';
import type { z } from 'zod';
import { CompanionError, DeviceKeyChangedError } from './errors';
import type { ClientHome } from './home';
import type { KnownDevice, KnownDeviceStore } from './known-devices';
import type { Discovery } from './discovery';

export interface DeviceAddress {
  host: string;
  port: number;
}

export function parseAddress(text: string): DeviceAddress {
  const m = /^(?:\[([0-9a-fA-F:.%]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new CompanionError('bad-address', `"${text}" is not host:port (for IPv6: [addr]:port)`);
  return { host: (m[1] ?? m[2])!, port };
}

export type DeviceTarget = { address: DeviceAddress } | { nameOrId: string };

export interface OpenSessionOptions {
  home: ClientHome;
  store: KnownDeviceStore;
  discovery?: Discovery | undefined;
  target: DeviceTarget;
  /** Local source address (`--bind`). */
  bind?: string | undefined;
  /** Refuse a device that does not present this key (e.g. from a pairing string). */
  expectFingerprint?: string | undefined;
  /** How long to look for the device by discovery. */
  discoveryTimeoutMs?: number;
  limits?: Partial<ChannelLimits>;
}

export class DeviceSession {
  private info: Promise<DeviceInfo> | undefined;

  private constructor(
    readonly channel: ClientChannel,
    readonly address: DeviceAddress,
    readonly known: KnownDevice | undefined,
  ) {
    channel.peer.on('event', (event) => {
      if (event.event === EVENTS.deviceInfo) this.info = undefined;
    });
  }

  get deviceFingerprint(): string {
    return this.channel.deviceFingerprint;
  }

  /**
   * Connects to the first address that presents the right key. Several announcements may carry one
   * device id (mDNS is unauthenticated): for a paired device the one naming the pinned key is tried
   * first, then the others and the last known address, and the changed-key alarm is raised only
   * when none of them presents the pinned key.
   */
  static async open(options: OpenSessionOptions): Promise<DeviceSession> {
    const attempts = await locate(options);
    let keyChanged: DeviceKeyChangedError | undefined;
    let lastError: unknown;
    for (const attempt of attempts) {
      try {
        return await DeviceSession.openAt(options, attempt);
      } catch (err) {
        if (attempts.length === 1) throw err;
        if (err instanceof DeviceKeyChangedError) keyChanged ??= err;
        else lastError ??= err;
      }
    }
    throw keyChanged ?? lastError;
  }

  private static async openAt(options: OpenSessionOptions, located: Located): Promise<DeviceSession> {
    const { address, announcedFingerprint } = located;
    let known = located.known;
    const knownDevices = await options.store.list();
    const expected = known?.fingerprint ?? options.expectFingerprint ?? announcedFingerprint;
    const channel = await connectChannel({
      host: address.host,
      port: address.port,
      identity: options.home.identity,
      ...(options.bind ? { localAddress: options.bind } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      verifyDevice: (presented) => {
        if (known && presented !== known.fingerprint) throw new DeviceKeyChangedError(known.deviceId, known.fingerprint, presented);
        if (expected && presented !== expected) {
          throw new CompanionError(
            'device-key-mismatch',
            `the device at ${address.host}:${address.port} presented key ${groupFingerprint(presented)}, not the expected ${groupFingerprint(expected)}; refusing to connect`,
          );
        }
        // Reached by address: the pin follows the key, so a paired device is recognised by it.
        known ??= knownDevices.find((d) => d.fingerprint === presented);
      },
    }).catch((err: unknown) => {
      if (err instanceof ChannelConnectError) throw new CompanionError(err.code, err.message);
      throw err;
    });
    const session = new DeviceSession(channel, address, known);
    if (!known) {
      // An unknown key: if the device claims the id of a paired device, that device's key changed.
      try {
        const info = await session.deviceInfo();
        const claimed = knownDevices.find((d) => d.deviceId === info.DeviceId);
        if (claimed) throw new DeviceKeyChangedError(claimed.deviceId, claimed.fingerprint, channel.deviceFingerprint);
      } catch (err) {
        session.close();
        throw err;
      }
    }
    return session;
  }

  /** A request; non-2xx answers become CompanionError with the device's message. */
  async call<T>(method: Method, path: string, body?: unknown, schema?: z.ZodType<T>): Promise<T> {
    let response: RpcResponse;
    try {
      response = await this.channel.peer.request(method, path, body);
    } catch (err) {
      if (err instanceof RpcError) throw new CompanionError(err.status, err.message);
      throw err;
    }
    if (!isSuccess(response.status)) throw new CompanionError(response.status, errorMessage(response));
    if (!schema) return response.body as T;
    const parsed = schema.safeParse(response.body);
    if (!parsed.success) throw new CompanionError('bad-response', `the device sent a malformed answer to ${method} ${path}: ${parsed.error.issues[0]?.message ?? ''}`);
    return parsed.data;
  }

  pairingInfo(): Promise<PairingInfo> {
    return this.call('GET', '/iam/pairing', undefined, pairingInfoSchema);
  }

  /**
   * The camera's identity and name. Asked once per session (opening a session to an unknown camera
   * already asks), and asked again after the camera announces a change (a rename).
   */
  deviceInfo(): Promise<DeviceInfo> {
    if (!this.info) {
      const pending = this.call('GET', '/device/info', undefined, deviceInfoSchema).then((info) => {
        if (info.Fingerprint !== this.deviceFingerprint) {
          throw new CompanionError('bad-response', 'the device reports a fingerprint other than the key it presented');
        }
        return info;
      });
      this.info = pending;
      pending.catch(() => {
        if (this.info === pending) this.info = undefined;
      });
    }
    return this.info;
  }

  close(): void {
    this.channel.close();
  }
}

function errorMessage(response: RpcResponse): string {
  const body = response.body as { error?: { message?: unknown } } | undefined;
  const message = typeof body?.error?.message === 'string' ? body.error.message : statusName(response.status);
  return `${message} (${response.status})`;
}

interface Located {
  address: DeviceAddress;
  known: KnownDevice | undefined;
  announcedFingerprint?: string;
}

/** Where to try, in order (see DeviceSession.open). */
async function locate(options: OpenSessionOptions): Promise<Located[]> {
  const { target, store } = options;
  if ('address' in target) {
    // Which device this is shows only in the handshake (see verifyDevice in open).
    return [{ address: target.address, known: undefined }];
  }
  const known = await store.resolve(target.nameOrId);
  const found = options.discovery
    ? await options.discovery.find(known?.deviceId ?? target.nameOrId, options.discoveryTimeoutMs ?? 3000)
    : undefined;
  if (found) {
    const device = known ?? (await store.get(found.deviceId));
    if (!device) return [{ address: { host: found.host, port: found.port }, known: undefined, announcedFingerprint: found.fingerprint }];
    // Paired: every announcement of its id, the pinned key's first, then the last known address.
    const all = options.discovery!.announcements(device.deviceId);
    const ordered = [...all.filter((d) => d.fingerprint === device.fingerprint), ...all.filter((d) => d.fingerprint !== device.fingerprint)];
    if (ordered.length === 0) ordered.push(found);
    const attempts: Located[] = ordered.map((d) => ({ address: { host: d.host, port: d.port }, known: device }));
    const last = device.lastAddress;
    if (last && !attempts.some((a) => a.address.host === last.host && a.address.port === last.port)) attempts.push({ address: last, known: device });
    return attempts;
  }
  if (known?.lastAddress) return [{ address: known.lastAddress, known }];
  throw new CompanionError('not-found', `no camera "${target.nameOrId}" answered on the network${options.discovery ? '' : ' (discovery is off)'}; try --address host:port`);
}
