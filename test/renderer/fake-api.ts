/**
 * An in-memory LancamApi for component tests: what the UI is given, what it asked for, and a way
 * to push events. Each method can be replaced per test (an error, a slow answer, …).
 */
import { ApiError, type AccessView, type DeviceEntry, type IdentityView, type InvitationView, type LancamApi, type LiveLayoutView, type LancamEvents, type PairingOffer, type PairingRecordView, type PairRequest, type PairResultView, type UserView } from '../../src/shared/ui/api';
import type { IamSettingsView } from '../../src/shared/protocol/iam-api';

export const FP_CAMERA_1 = '540f19c7874c2f63c2f5790ac8df13b51fc9abce107071b002e54f1f22949bb6';
export const FP_CAMERA_2 = '7f863806f543a039644deeee7ed5ee9a5782dd2c16ddb7bc06acdf1fd873c259';
export const FP_OTHER = '321b750775abf3888103437e0aae2539eccfa15a9125016abe258bd2cdd03a98';
export const FP_ME = '4ad3dca7c9f87a111458d0d7b9d30861e12874bf84b12cd303cbb174daa47b84';

export interface Call {
  method: string;
  args: unknown[];
}

type Listener = (data: never) => void;

export class FakeApi implements LancamApi {
  readonly calls: Call[] = [];
  private readonly listeners = new Map<string, Set<Listener>>();

  devices: DeviceEntry[] = [];
  identityView: IdentityView = { fingerprint: FP_ME, keyProtection: 'file-0600', keyProtectionNote: 'the key is a file readable only by you' };
  offers = new Map<string, PairingOffer>();
  accessViews = new Map<string, AccessView>();
  users = new Map<string, UserView[]>();
  settings: IamSettingsView = {
    LocalOpenPairing: true,
    LocalInitialPairing: false,
    PasswordOpenPairing: false,
    PasswordInvitePairing: true,
    OpenPairingRole: 'Guest',
    InitialPairingUsername: 'admin',
    PasswordOpenPasswordSet: true,
    PairingWindowSeconds: 0,
  };
  pairImpl: (request: PairRequest) => Promise<PairResultView> = async (request) => ({
    deviceId: request.deviceId ?? 'de-unknown',
    friendlyName: 'Camera',
    fingerprint: FP_CAMERA_1,
    username: request.username ?? 'admin',
    role: 'Administrator',
    mode: 'local-initial',
    alreadyPaired: false,
  });
  inviteImpl: (deviceId: string, username: string, role: string) => Promise<InvitationView> = async (deviceId, username, role) => ({
    username,
    role,
    password: 'pw-123456',
    pairingString: `p=pr-test,d=${deviceId},u=${username},pwd=pw-123456,fp=${FP_CAMERA_1}`,
    qrSvg: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>',
  });
  openVideoImpl: (deviceId: string) => Promise<{ sessionId: string }> = async () => ({ sessionId: `s${this.calls.filter((c) => c.method === 'openVideo').length}` });
  sendVideoSignalImpl: () => Promise<void> = async () => undefined;

  private record(method: string, args: unknown[]): void {
    this.calls.push({ method, args });
  }

  callsOf(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  emit<E extends keyof LancamEvents>(event: E, data: LancamEvents[E]): void {
    for (const listener of this.listeners.get(event) ?? []) (listener as (d: LancamEvents[E]) => void)(data);
  }

  listenerCount(event: keyof LancamEvents): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  on<E extends keyof LancamEvents>(event: E, listener: (data: LancamEvents[E]) => void) {
    const set = this.listeners.get(event) ?? new Set<Listener>();
    set.add(listener as Listener);
    this.listeners.set(event, set);
    return () => void set.delete(listener as Listener);
  }

  async identity() {
    this.record('identity', []);
    return this.identityView;
  }
  async listDevices() {
    this.record('listDevices', []);
    return this.devices;
  }
  async pairingOffer(deviceId: string) {
    this.record('pairingOffer', [deviceId]);
    const offer = this.offers.get(deviceId);
    if (!offer) throw new ApiError('not-found', `no camera ${deviceId}`);
    return offer;
  }
  async pair(request: PairRequest) {
    this.record('pair', [request]);
    return this.pairImpl(request);
  }
  async forget(deviceId: string) {
    this.record('forget', [deviceId]);
  }
  async access(deviceId: string) {
    this.record('access', [deviceId]);
    const view = this.accessViews.get(deviceId);
    if (!view) throw new ApiError(404, 'not paired');
    return view;
  }
  async listUsers(deviceId: string) {
    this.record('listUsers', [deviceId]);
    return this.users.get(deviceId) ?? [];
  }
  async inviteUser(deviceId: string, username: string, role: string) {
    this.record('inviteUser', [deviceId, username, role]);
    return this.inviteImpl(deviceId, username, role);
  }
  async removeUser(deviceId: string, username: string) {
    this.record('removeUser', [deviceId, username]);
    this.users.set(deviceId, (this.users.get(deviceId) ?? []).filter((u) => u.username !== username));
  }
  async setUserRole(deviceId: string, username: string, role: string) {
    this.record('setUserRole', [deviceId, username, role]);
  }
  async getSettings(deviceId: string) {
    this.record('getSettings', [deviceId]);
    return this.settings;
  }
  async setSetting(deviceId: string, key: string, value: boolean | string) {
    this.record('setSetting', [deviceId, key, value]);
  }
  async renameDevice(deviceId: string, name: string) {
    this.record('renameDevice', [deviceId, name]);
  }
  async openVideo(deviceId: string) {
    this.record('openVideo', [deviceId]);
    return this.openVideoImpl(deviceId);
  }
  async sendVideoSignal(sessionId: string, message: unknown) {
    this.record('sendVideoSignal', [sessionId, message]);
    return this.sendVideoSignalImpl();
  }
  async closeVideo(sessionId: string) {
    this.record('closeVideo', [sessionId]);
  }
  async saveSnapshot(deviceId: string, pngBase64: string) {
    this.record('saveSnapshot', [deviceId, pngBase64]);
    return { file: `/home/me/snapshots/${deviceId}.png` };
  }
  async addRemoteAccess(accessString: string) {
    this.record('addRemoteAccess', [accessString]);
    return { deviceId: /d=([^,]+)/.exec(accessString)![1]! };
  }
  async showSnapshotInFolder(file: string) {
    this.record('showSnapshotInFolder', [file]);
    return { folder: file.replace(/\/[^/]*$/, ''), opened: true };
  }
  liveLayout: LiveLayoutView = { open: [] };
  async getLiveLayout() {
    this.record('getLiveLayout', []);
    return this.liveLayout;
  }
  async setLiveLayout(layout: LiveLayoutView) {
    this.record('setLiveLayout', [layout]);
    this.liveLayout = layout;
  }
  addByAddressImpl: (host: string, port: number) => Promise<DeviceEntry> = async (host, port) => camera({ deviceId: 'de-manual', address: { host, port } });
  async addDeviceByAddress(host: string, port: number) {
    this.record('addDeviceByAddress', [host, port]);
    return this.addByAddressImpl(host, port);
  }
  async renameKey(deviceId: string, username: string, fingerprint: string, name: string) {
    this.record('renameKey', [deviceId, username, fingerprint, name]);
  }
  /** The camera's pairing history, by camera: what recentPairings answers and undoLastPairing shortens. */
  pairings = new Map<string, PairingRecordView[]>();
  async recentPairings(deviceId: string) {
    this.record('recentPairings', [deviceId]);
    return this.pairings.get(deviceId) ?? [];
  }
  /** Like the companion: undoes only while the last pairing is still the one with this key. */
  async undoLastPairing(deviceId: string, fingerprint: string) {
    this.record('undoLastPairing', [deviceId, fingerprint]);
    const list = this.pairings.get(deviceId) ?? [];
    const last = list.at(-1);
    if (!last) throw new ApiError(404, 'the camera made no pairing since it started');
    if (last.fingerprint !== fingerprint) throw new ApiError(409, `another pairing ("${last.username}") happened since; nothing was undone`);
    this.pairings.set(deviceId, list.slice(0, -1));
    this.users.set(deviceId, (this.users.get(deviceId) ?? []).filter((u) => u.username !== last.username));
  }
}

export function camera(overrides: Partial<DeviceEntry> & { deviceId: string }): DeviceEntry {
  return { productId: 'pr-test', friendlyName: overrides.deviceId, fingerprint: FP_CAMERA_1, paired: false, status: 'online', ...overrides };
}
