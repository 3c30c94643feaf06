/**
 * The companion core behind the desktop UI: the implementation of LancamApi that Electron main
 * exposes through the preload, and that `lancam ui` bridges to a browser. It keeps discovery
 * running, one channel per camera (opened on demand, re-opened when it drops), and relays WebRTC
 * signaling between the UI's RTCPeerConnection and the camera.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import QRCode from 'qrcode';
import type { SignalingMessage } from '../../shared/protocol/webrtc-api';
import { parseRemoteAccess } from '../../shared/remote-access-string';
import { lanTransport, type SignalingTransport } from '../video/signaling-transport';
import { openRelayTransport } from '../remote/relay-transport';
import type { RemoteAccessStore } from '../remote/remote-access-store';
import { z } from 'zod';
import { EVENTS, fingerprintSchema, pairingRecordSchema, type PairingRecord, type SettingsKey } from '../../shared/protocol/iam-api';
import { ApiError, type AccessView, type DeviceEntry, type IdentityView, type InvitationView, type LancamEvents, type LiveLayoutView, type PairingAlertView, type PairingOffer, type PairingRecordView, type PairRequest, type PairResultView, type UserView } from '../../shared/ui/api';
import { iamUserViewSchema } from '../../shared/protocol/iam-api';
import { CompanionError } from '../errors';
import type { ClientHome } from '../home';
import type { KnownDeviceStore } from '../known-devices';
import { Discovery, type DiscoveredDevice } from '../discovery';
import { DeviceSession, type DeviceTarget } from '../device-session';
import { pair } from '../pairing';
import * as acl from '../acl';
import { LiveLayoutStore } from './live-layout-store';
import { SnapshotFolder } from './snapshots';

/**
 * Heartbeat on the app's channels: a camera that stops answering is offline within about two
 * intervals (the CLI keeps the channel default; the app shows liveness, so it asks more often).
 */
export const APP_HEARTBEAT_MS = 1000;

/** The camera's `pairing-alert` body; anything else is dropped, not shown. */
const pairingAlertSchema = z.object({
  Reason: z.enum(['overlap', 'late-attempt']),
  Fingerprints: z.array(fingerprintSchema).min(1).max(16),
  PairedFingerprint: fingerprintSchema.optional(),
});

function pairingView(deviceId: string, r: PairingRecord): PairingRecordView {
  return {
    deviceId,
    at: r.At,
    username: r.Username,
    ...(r.Role !== undefined ? { role: r.Role } : {}),
    fingerprint: r.Fingerprint,
    ...(r.FingerprintName !== undefined ? { fingerprintName: r.FingerprintName } : {}),
    mode: r.Mode,
    remoteAddress: r.RemoteAddress,
    createdUser: r.CreatedUser,
  };
}

export interface AppServiceOptions {
  home: ClientHome;
  store: KnownDeviceStore;
  /** Interface address for mDNS; undefined = all. */
  mdnsInterface?: string | undefined;
  bind?: string | undefined;
  identity: Omit<IdentityView, 'fingerprint'>;
  /** Where snapshots go: `<Pictures>/lancam`, named after the camera and the time. */
  snapshotDir: string;
  /** Opens the system file manager at a saved snapshot (Electron's shell.showItemInFolder); false where there is none. */
  showInFolder?: ((file: string) => Promise<boolean>) | undefined;
  /** Relay access this client holds; without it, video is LAN-only. */
  remoteAccess?: RemoteAccessStore | undefined;
}

/** Where a video session's signaling goes: the LAN channel, or signed through a relay. */
interface VideoRoute {
  deviceId: string;
  send(message: SignalingMessage): Promise<void>;
  off: () => void;
}

export class AppService extends EventEmitter<{ [E in keyof LancamEvents]: [LancamEvents[E]] }> {
  private readonly discovery: Discovery;
  private readonly sessions = new Map<string, Promise<DeviceSession>>();
  private readonly videos = new Map<string, VideoRoute>();
  private readonly keyChanged = new Set<string>();
  /** Cameras whose owner removed this client (learned from the camera's access-changed event). */
  private readonly revoked = new Set<string>();
  private devicesTimer: NodeJS.Timeout | undefined;
  /** Paired cameras whose channel dropped (died, unplugged, stopped answering heartbeats): offline until heard from again. */
  private readonly down = new Set<string>();
  /** Cameras with a channel open now. */
  private readonly connected = new Set<string>();
  /** Cameras added by address (mDNS cannot see them), by id. */
  private readonly manual = new Map<string, DiscoveredDevice>();
  /** Keys pinned before a camera was forgotten (this run only), to show both when pairing again. */
  private readonly forgottenKeys = new Map<string, string>();
  private readonly snapshots: SnapshotFolder;
  private readonly layout: LiveLayoutStore;
  private closed = false;

  constructor(private readonly options: AppServiceOptions) {
    super();
    this.discovery = new Discovery({ interface: options.mdnsInterface });
    this.snapshots = new SnapshotFolder(options.snapshotDir);
    this.layout = new LiveLayoutStore(options.home.dir);
    for (const event of ['add', 'update'] as const) {
      this.discovery.on(event, (d: DiscoveredDevice) => {
        // Heard from again: worth another channel.
        this.down.delete(d.deviceId);
        void this.watchPresence(d.deviceId);
        this.devicesChanged();
      });
    }
    this.discovery.on('remove', () => this.devicesChanged());
  }

  /**
   * A paired camera on the network gets a channel kept open, so its state (offline, role changed,
   * access removed) shows on every screen within seconds, not when mDNS records expire.
   */
  private async watchPresence(deviceId: string): Promise<void> {
    if (this.closed || this.sessions.has(deviceId) || this.keyChanged.has(deviceId)) return;
    if (!(await this.options.store.get(deviceId).catch(() => undefined))) return;
    await this.session(deviceId).catch(() => undefined);
  }

  async identity(): Promise<IdentityView> {
    return { fingerprint: this.options.home.identity.fingerprint, ...this.options.identity };
  }

  async listDevices(): Promise<DeviceEntry[]> {
    const known = await this.options.store.list();
    const remote = new Set(((await this.options.remoteAccess?.list().catch(() => [])) ?? []).map((g) => g.deviceId));
    const discovered = new Map([...this.manual.values(), ...this.discovery.devices()].map((d) => [d.deviceId, d]));
    const entries: DeviceEntry[] = [];
    for (const k of known) {
      // The announcement naming the pinned key wins over others of the same id (spoofing).
      const d = this.discovery.preferred(k.deviceId, k.fingerprint) ?? this.manual.get(k.deviceId);
      discovered.delete(k.deviceId);
      const changed = this.keyChanged.has(k.deviceId) || (d !== undefined && d.fingerprint !== k.fingerprint);
      entries.push({
        deviceId: k.deviceId,
        productId: k.productId,
        friendlyName: d?.friendlyName ?? k.friendlyName,
        fingerprint: d?.fingerprint ?? k.fingerprint,
        pinnedFingerprint: k.fingerprint,
        paired: true,
        ...(k.username ? { username: k.username } : {}),
        ...(k.role ? { role: k.role } : {}),
        status: changed ? 'key-changed' : this.revoked.has(k.deviceId) ? 'revoked' : this.isOnline(k.deviceId, d !== undefined) ? 'online' : 'offline',
        ...(d ? { address: { host: d.host, port: d.port } } : k.lastAddress ? { address: k.lastAddress } : {}),
        ...(remote.has(k.deviceId) ? { remoteAccess: true } : {}),
      });
    }
    for (const d of discovered.values()) {
      entries.push({ deviceId: d.deviceId, productId: d.productId, friendlyName: d.friendlyName, fingerprint: d.fingerprint, paired: false, status: 'online', address: { host: d.host, port: d.port } });
    }
    return entries.sort((a, b) => Number(b.paired) - Number(a.paired) || a.friendlyName.localeCompare(b.friendlyName));
  }

  /** Online: a channel is open, or (none yet) the camera announces itself and its channel did not just drop. */
  private isOnline(deviceId: string, announced: boolean): boolean {
    if (this.connected.has(deviceId)) return true;
    return announced && !this.down.has(deviceId);
  }

  async pairingOffer(deviceId: string): Promise<PairingOffer> {
    const session = await this.session(deviceId);
    const previous = this.forgottenKeys.get(deviceId);
    const common = {
      fingerprint: session.deviceFingerprint,
      paired: session.known !== undefined,
      ...(previous !== undefined && previous !== session.deviceFingerprint ? { previousFingerprint: previous } : {}),
    };
    // A user of the camera (not pinned here, e.g. after Forget) may not ask how to pair (a Guest
    // gets 403): the camera knows this key, so pairing again is only confirming and re-pinning it.
    const me = await session.call('GET', '/iam/me', undefined, iamUserViewSchema).catch(() => undefined);
    if (me) {
      const info = await session.deviceInfo();
      return { deviceId: info.DeviceId, friendlyName: info.FriendlyName, modes: [], knownUser: { username: me.Username, ...(me.Role !== undefined ? { role: me.Role } : {}) }, ...common };
    }
    const info = await session.pairingInfo();
    return {
      deviceId: info.DeviceId,
      friendlyName: info.FriendlyName,
      modes: info.Modes,
      ...common,
      ...(info.PairingWindowSeconds ? { pairingWindowSeconds: info.PairingWindowSeconds } : {}),
      ...(info.OpenPairingRole ? { openPairingRole: info.OpenPairingRole } : {}),
    };
  }

  async pair(request: PairRequest): Promise<PairResultView> {
    const target = request.deviceId ? await this.targetOf(request.deviceId) : undefined;
    const result = await pair({
      home: this.options.home,
      store: this.options.store,
      discovery: this.discovery,
      bind: this.options.bind,
      ...(target ? { target } : {}),
      mode: request.mode ?? 'auto',
      username: request.username,
      password: request.password,
      pairingString: request.pairingString,
    });
    this.dropSession(result.deviceId);
    this.revoked.delete(result.deviceId);
    this.down.delete(result.deviceId);
    this.forgottenKeys.delete(result.deviceId);
    this.manual.delete(result.deviceId);
    void this.watchPresence(result.deviceId);
    this.devicesChanged();
    return {
      deviceId: result.deviceId,
      friendlyName: result.friendlyName,
      fingerprint: result.fingerprint,
      username: result.username,
      ...(result.role ? { role: result.role } : {}),
      ...(result.mode ? { mode: result.mode } : {}),
      alreadyPaired: result.alreadyPaired,
    };
  }

  async forget(deviceId: string): Promise<void> {
    const known = await this.options.store.get(deviceId);
    if (known) this.forgottenKeys.set(deviceId, known.fingerprint);
    this.dropSession(deviceId);
    this.down.delete(deviceId);
    this.keyChanged.delete(deviceId);
    this.revoked.delete(deviceId);
    if (!(await this.options.store.remove(deviceId))) throw new ApiError('not-found', `no known camera ${deviceId}`);
    this.devicesChanged();
  }

  async access(deviceId: string): Promise<AccessView> {
    const session = await this.session(deviceId);
    const me = await acl.getMe(session);
    const allowed = async <T>(call: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await call();
      } catch (err) {
        if (err instanceof CompanionError && err.status === 403) return undefined;
        throw err;
      }
    };
    const [users, settings, roles] = [await allowed(() => acl.listUsers(session)), await allowed(() => acl.getSettings(session)), await allowed(() => acl.listRoles(session))];
    return { me, canManageUsers: users !== undefined, canManageSettings: settings !== undefined, roles: roles ?? [] };
  }

  async listUsers(deviceId: string): Promise<UserView[]> {
    return acl.listUsers(await this.session(deviceId));
  }

  async inviteUser(deviceId: string, username: string, role: string): Promise<InvitationView> {
    const invitation = await acl.inviteUser(await this.session(deviceId), username, role);
    const qrSvg = await QRCode.toString(invitation.pairingString, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    return { ...invitation, qrSvg };
  }

  async renameKey(deviceId: string, username: string, fingerprint: string, name: string): Promise<void> {
    const session = await this.session(deviceId);
    const target = `/iam/users/${encodeURIComponent(username)}/fingerprints/${fingerprint}`;
    // Nabto's form; a camera from before it knew the form takes the older {Name}.
    try {
      await session.call('PUT', target, { FingerprintName: name });
    } catch (err) {
      if (!(err instanceof CompanionError && err.status === 400)) throw err;
      await session.call('PUT', target, { Name: name });
    }
  }

  async getLiveLayout(): Promise<LiveLayoutView> {
    const { open } = await this.layout.get();
    return { open };
  }

  async setLiveLayout(layout: LiveLayoutView): Promise<void> {
    await this.layout.set(layout);
  }

  /**
   * A camera mDNS cannot see (another subnet, multicast blocked): connect to host:port, check it
   * is a lancam camera, and list it. Nothing is pinned until the user pairs and checks its key.
   */
  async addDeviceByAddress(host: string, port: number): Promise<DeviceEntry> {
    const session = await DeviceSession.open({ home: this.options.home, store: this.options.store, target: { address: { host, port } }, bind: this.options.bind });
    try {
      const info = await session.deviceInfo();
      if (session.known) {
        await this.options.store.touch(session.known.deviceId, { lastAddress: { host, port } });
      } else {
        const seen: DiscoveredDevice = { instanceName: `${info.FriendlyName} (${host}:${port})`, deviceId: info.DeviceId, productId: info.ProductId, friendlyName: info.FriendlyName, fingerprint: session.deviceFingerprint, protocolVersion: info.ProtocolVersion, host, port, addresses: [host] };
        this.manual.set(info.DeviceId, seen);
      }
      this.down.delete(info.DeviceId);
      const entry = (await this.listDevices()).find((d) => d.deviceId === info.DeviceId);
      this.devicesChanged();
      if (!entry) throw new ApiError('not-found', 'the camera answered but could not be listed');
      return entry;
    } finally {
      session.close();
    }
  }

  async recentPairings(deviceId: string): Promise<PairingRecordView[]> {
    return (await acl.recentPairings(await this.session(deviceId))).map((r) => pairingView(deviceId, r));
  }

  async undoLastPairing(deviceId: string, fingerprint: string): Promise<void> {
    await acl.undoLastPairing(await this.session(deviceId), fingerprint);
  }

  async removeUser(deviceId: string, username: string): Promise<void> {
    await acl.deleteUser(await this.session(deviceId), username);
  }

  async setUserRole(deviceId: string, username: string, role: string): Promise<void> {
    await acl.setRole(await this.session(deviceId), username, role);
  }

  async getSettings(deviceId: string) {
    return acl.getSettings(await this.session(deviceId));
  }

  async setSetting(deviceId: string, key: string, value: boolean | string): Promise<void> {
    await acl.setSetting(await this.session(deviceId), key as SettingsKey, value as never);
  }

  async renameDevice(deviceId: string, name: string): Promise<void> {
    await acl.renameDevice(await this.session(deviceId), name);
    const known = await this.options.store.get(deviceId);
    if (known) await this.options.store.touch(deviceId, { friendlyName: name });
    this.devicesChanged();
  }

  /**
   * A video session: over the LAN channel, or through the relay when the camera cannot be reached
   * on this network and this client holds remote access to it.
   */
  async openVideo(deviceId: string): Promise<{ sessionId: string }> {
    const sessionId = randomBytes(9).toString('base64url');
    let transport: SignalingTransport;
    let closeTransport = () => undefined as void;
    try {
      transport = lanTransport(await this.session(deviceId));
    } catch (err) {
      const grant = await this.options.remoteAccess?.get(deviceId).catch(() => undefined);
      const unreachable = err instanceof CompanionError && ['not-found', 'unreachable', 'timeout'].includes(String(err.status));
      if (!unreachable || !grant?.relay) throw err;
      const relayed = await openRelayTransport(grant, { url: grant.relay, pinFingerprint: grant.relayFingerprint });
      transport = relayed;
      closeTransport = () => relayed.close();
    }
    const unsubscribe = transport.subscribe(
      sessionId,
      (message) => {
        this.emit('videoSignal', { sessionId, message });
        if (message.type === 'CLOSE') this.endVideo(sessionId, message.reason ?? 'the camera ended the video');
      },
      (reason) => this.endVideo(sessionId, reason),
    );
    this.videos.set(sessionId, {
      deviceId,
      send: (message) => transport.send(sessionId, message),
      off: () => {
        unsubscribe();
        closeTransport();
      },
    });
    return { sessionId };
  }

  async sendVideoSignal(sessionId: string, message: SignalingMessage): Promise<void> {
    const route = this.videos.get(sessionId);
    if (!route) throw new ApiError('not-found', 'this video session has ended');
    await route.send(message);
    if (message.type === 'CLOSE') this.endVideo(sessionId, message.reason ?? 'closed', false);
  }

  async closeVideo(sessionId: string): Promise<void> {
    const route = this.videos.get(sessionId);
    if (!route) return;
    await route.send({ type: 'CLOSE', reason: 'closed by the viewer' }).catch(() => undefined);
    this.endVideo(sessionId, 'closed by the viewer', false);
  }

  async addRemoteAccess(accessString: string): Promise<{ deviceId: string }> {
    if (!this.options.remoteAccess) throw new ApiError('unsupported', 'this app keeps no remote access');
    let grant;
    try {
      grant = parseRemoteAccess(accessString);
    } catch (err) {
      throw new ApiError(400, (err as Error).message);
    }
    const known = await this.options.store.get(grant.deviceId);
    if (known && known.fingerprint !== grant.fingerprint) throw new ApiError('device-key-mismatch', 'this remote access names a camera key other than the one you paired with; not stored');
    await this.options.remoteAccess.put(grant);
    this.devicesChanged();
    return { deviceId: grant.deviceId };
  }

  async saveSnapshot(deviceId: string, pngBase64: string): Promise<{ file: string } | { cancelled: true }> {
    const png = Buffer.from(pngBase64, 'base64');
    if (png.length < 8 || !png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) throw new ApiError(400, 'a snapshot must be a PNG image');
    const known = await this.options.store.get(deviceId);
    const name = known?.friendlyName || this.discovery.devices().find((d) => d.deviceId === deviceId)?.friendlyName || deviceId;
    return { file: await this.snapshots.save(name, png) };
  }

  /** Only a file this app saved: the UI cannot make the file manager open anything else. */
  async showSnapshotInFolder(file: string): Promise<{ folder: string; opened: boolean }> {
    if (!(await this.snapshots.isSaved(file))) throw new ApiError(404, 'that is not a snapshot this app saved (or it was moved or deleted)');
    const opened = this.options.showInFolder ? await this.options.showInFolder(file).catch(() => false) : false;
    return { folder: this.snapshots.dir, opened };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const id of [...this.videos.keys()]) this.endVideo(id, 'closing', false);
    for (const id of [...this.sessions.keys()]) this.dropSession(id);
    if (this.devicesTimer) clearTimeout(this.devicesTimer);
    await this.discovery.close();
  }

  private endVideo(sessionId: string, reason: string, notify = true): void {
    const route = this.videos.get(sessionId);
    if (!route) return;
    this.videos.delete(sessionId);
    route.off();
    if (notify) this.emit('videoClosed', { sessionId, reason });
  }

  /** One channel per camera, shared by every call; re-opened after it closes. */
  private session(deviceId: string): Promise<DeviceSession> {
    let pending = this.sessions.get(deviceId);
    if (!pending) {
      pending = this.openSession(deviceId);
      this.sessions.set(deviceId, pending);
      pending.catch(() => this.sessions.delete(deviceId));
    }
    return pending;
  }

  private async openSession(deviceId: string): Promise<DeviceSession> {
    try {
      const session = await DeviceSession.open({
        home: this.options.home,
        store: this.options.store,
        discovery: this.discovery,
        target: await this.targetOf(deviceId),
        bind: this.options.bind,
        discoveryTimeoutMs: 3000,
        limits: { heartbeatIntervalMs: APP_HEARTBEAT_MS },
      });
      this.keyChanged.delete(deviceId);
      this.connected.add(deviceId);
      this.down.delete(deviceId);
      this.devicesChanged();
      const mine = this.sessions.get(deviceId);
      session.channel.peer.on('close', () => {
        this.connected.delete(deviceId);
        // Not closed by us (dropSession removes it first): the camera went away.
        if (mine !== undefined && this.sessions.get(deviceId) === mine) {
          this.sessions.delete(deviceId);
          this.down.add(deviceId);
        }
        this.devicesChanged();
      });
      session.channel.peer.on('event', (event) => {
        if (event.event === EVENTS.pairingWindow) {
          const body = event.body as { open?: unknown; seconds?: unknown };
          if (typeof body?.open === 'boolean' && typeof body.seconds === 'number') this.emit('pairingWindow', { deviceId, open: body.open, seconds: body.seconds });
        }
        if (event.event === EVENTS.paired) {
          const record = pairingRecordSchema.safeParse(event.body);
          if (record.success) this.emit('paired', pairingView(deviceId, record.data));
        }
        if (event.event === EVENTS.pairingAlert) {
          const alert = pairingAlertSchema.safeParse(event.body);
          if (alert.success) {
            const view: PairingAlertView = { deviceId, reason: alert.data.Reason, fingerprints: alert.data.Fingerprints, ...(alert.data.PairedFingerprint ? { pairedFingerprint: alert.data.PairedFingerprint } : {}) };
            this.emit('pairingAlert', view);
          }
        }
        if (event.event === EVENTS.accessChanged) void this.checkAccess(deviceId, session);
        if (event.event === EVENTS.deviceInfo) this.devicesChanged();
      });
      return session;
    } catch (err) {
      if (err instanceof CompanionError && err.status === 'device-key-changed') {
        this.keyChanged.add(deviceId);
        this.devicesChanged();
      } else if (err instanceof CompanionError && ['unreachable', 'timeout', 'ECONNREFUSED', 'closed', 'reset'].includes(String(err.status))) {
        this.down.add(deviceId);
        this.devicesChanged();
      }
      throw err;
    }
  }

  /** After an access change: is this client still a user of the camera, and with which role? */
  private async checkAccess(deviceId: string, session: DeviceSession): Promise<void> {
    try {
      const me = await acl.getMe(session);
      this.revoked.delete(deviceId);
      const known = await this.options.store.get(deviceId);
      if (known && (known.role !== me.role || known.username !== me.username)) await this.options.store.touch(deviceId, { username: me.username, ...(me.role !== undefined ? { role: me.role } : {}) });
    } catch (err) {
      if (err instanceof CompanionError && err.status === 404) this.revoked.add(deviceId);
    }
    this.devicesChanged();
  }

  private dropSession(deviceId: string): void {
    const pending = this.sessions.get(deviceId);
    this.sessions.delete(deviceId);
    void pending?.then((s) => s.close()).catch(() => undefined);
  }

  private async targetOf(deviceId: string): Promise<DeviceTarget> {
    const discovered = this.discovery.devices().find((d: DiscoveredDevice) => d.deviceId === deviceId);
    const manual = this.manual.get(deviceId);
    // A paired camera is reached through every announcement of its id (see DeviceSession.open);
    // one added by address that mDNS cannot see is reached at that address (its key is still pinned).
    if (await this.options.store.get(deviceId)) return !discovered && manual ? { address: { host: manual.host, port: manual.port } } : { nameOrId: deviceId };
    const found = discovered ?? manual;
    if (found) return { address: { host: found.host, port: found.port } };
    return { nameOrId: deviceId };
  }

  /** Coalesces bursts of changes into one 'devices' event. */
  private devicesChanged(): void {
    if (this.devicesTimer) return;
    this.devicesTimer = setTimeout(() => {
      this.devicesTimer = undefined;
      void this.listDevices().then((devices) => this.emit('devices', devices)).catch(() => undefined);
    }, 50);
  }
}
