/**
 * The one contract between the desktop UI (src/renderer) and the companion core: what the Electron
 * preload exposes (as `window.lancamIpc`, see ipc.ts), and what the browser harness (`lancam ui`) bridges over an
 * authenticated local WebSocket. Every argument is validated on the trusted side with the schemas
 * below before the core sees it.
 */
import { z } from 'zod';
import { PAIRING_MODES, type PairingMode } from '../protocol/device-api';
import { friendlyNameBodySchema, roleIdSchema, SETTINGS_KEYS, usernameSchema, type IamSettingsView } from '../protocol/iam-api';
import { signalingMessageSchema, type SignalingMessage } from '../protocol/webrtc-api';

/** online/offline on this network; key-changed (refused); revoked (the owner removed this client). */
export type DeviceStatus = 'online' | 'offline' | 'key-changed' | 'revoked';

/** A camera as the UI lists it: discovered, paired, or both. */
export interface DeviceEntry {
  deviceId: string;
  productId: string;
  friendlyName: string;
  /** The key the camera announces (discovered) or the pinned one (paired, offline). */
  fingerprint: string;
  /** Pinned key, when paired. */
  pinnedFingerprint?: string;
  paired: boolean;
  username?: string;
  role?: string;
  status: DeviceStatus;
  address?: { host: string; port: number };
  /** This client holds a remote-access secret: it can watch through a relay when not on the LAN. */
  remoteAccess?: boolean;
}

export interface PairingOffer {
  deviceId: string;
  friendlyName: string;
  fingerprint: string;
  modes: PairingMode[];
  /** This client is paired with the camera already. */
  paired: boolean;
  /** Seconds left in the camera's pairing window, when it is open for this client. */
  pairingWindowSeconds?: number;
  /**
   * The camera knows this client's key already (a user of it, though not pinned here, e.g. after
   * "Forget"): pairing again only re-pins the key, as whom it says.
   */
  knownUser?: { username: string; role?: string };
  /** The key this computer had pinned for the camera before it was forgotten, when it differs. */
  previousFingerprint?: string;
  /** The role a user paired by the camera's button gets (`OpenPairingRole`), when the camera says. */
  openPairingRole?: string;
}

export interface PairResultView {
  deviceId: string;
  friendlyName: string;
  fingerprint: string;
  username: string;
  role?: string;
  mode?: PairingMode;
  alreadyPaired: boolean;
}

export interface UserView {
  username: string;
  role?: string;
  displayName?: string;
  fingerprints: { fingerprint: string; name?: string; /** ISO time the key was added (lancam extension). */ addedAt?: string }[];
  /** Connected with a video stream open right now (lancam extension). */
  watchingNow?: boolean;
  /** ISO time this user was last connected (lancam extension); absent: never since the camera kept track. */
  lastSeenAt?: string;
}

/** The live grid as the user left it: the cameras open, in their order. */
export interface LiveLayoutView {
  open: string[];
}

export interface InvitationView {
  username: string;
  role: string;
  password: string;
  pairingString: string;
  /** The pairing string as an SVG QR code. */
  qrSvg: string;
}

export interface AccessView {
  /** What the current user may do on this camera (drives what the UI offers). */
  me: UserView;
  canManageUsers: boolean;
  canManageSettings: boolean;
  roles: string[];
}

export interface IdentityView {
  fingerprint: string;
  /** How this install's private key is kept: encrypted by the OS keychain, a 0600 file, or plainly. */
  keyProtection: 'os-keychain' | 'file-0600' | 'unprotected';
  keyProtectionNote: string;
}

/** One pairing a camera made (its `GET /iam/pairing/recent`, `paired` event), for administrators. */
export interface PairingRecordView {
  deviceId: string;
  /** ISO time of the pairing. */
  at: string;
  username: string;
  role?: string;
  /** The whole SHA-256 key fingerprint (64 hex digits) that paired. */
  fingerprint: string;
  /** The name the client gave its key, as it said (unchecked). */
  fingerprintName?: string;
  mode: PairingMode;
  /** The address the pairing came from, as the camera saw it. */
  remoteAddress: string;
  /** The pairing created the user (undo removes the user), rather than adding a key to one (undo removes the key). */
  createdUser: boolean;
}

/** A camera refused or doubts a local open pairing (`pairing-alert`), for administrators. */
export interface PairingAlertView {
  deviceId: string;
  /** overlap: two or more keys tried in one window, nobody paired, window closed; late-attempt: a key tried after the window was used by another. */
  reason: 'overlap' | 'late-attempt';
  fingerprints: string[];
  /** late-attempt: the key that did pair in that window. */
  pairedFingerprint?: string;
}

/** Events pushed to the UI. */
export interface LancamEvents {
  devices: DeviceEntry[];
  videoSignal: { sessionId: string; message: SignalingMessage };
  videoClosed: { sessionId: string; reason: string };
  pairingWindow: { deviceId: string; open: boolean; seconds: number };
  /** A key paired with a camera this client administers. */
  paired: PairingRecordView;
  /** A camera this client administers refused or doubts a local open pairing. */
  pairingAlert: PairingAlertView;
}

export type Unsubscribe = () => void;

export interface LancamApi {
  identity(): Promise<IdentityView>;
  listDevices(): Promise<DeviceEntry[]>;
  pairingOffer(deviceId: string): Promise<PairingOffer>;
  pair(request: PairRequest): Promise<PairResultView>;
  forget(deviceId: string): Promise<void>;
  access(deviceId: string): Promise<AccessView>;
  listUsers(deviceId: string): Promise<UserView[]>;
  inviteUser(deviceId: string, username: string, role: string): Promise<InvitationView>;
  removeUser(deviceId: string, username: string): Promise<void>;
  setUserRole(deviceId: string, username: string, role: string): Promise<void>;
  getSettings(deviceId: string): Promise<IamSettingsView>;
  setSetting(deviceId: string, key: string, value: boolean | string): Promise<void>;
  renameDevice(deviceId: string, name: string): Promise<void>;
  openVideo(deviceId: string): Promise<{ sessionId: string }>;
  sendVideoSignal(sessionId: string, message: SignalingMessage): Promise<void>;
  closeVideo(sessionId: string): Promise<void>;
  saveSnapshot(deviceId: string, pngBase64: string): Promise<{ file: string } | { cancelled: true }>;
  /** Shows a snapshot this app saved in the system's file manager; `opened: false` where none can be opened. */
  showSnapshotInFolder(file: string): Promise<{ folder: string; opened: boolean }>;
  /** The live grid's open cameras and their order, kept in the companion's home. */
  getLiveLayout(): Promise<LiveLayoutView>;
  setLiveLayout(layout: LiveLayoutView): Promise<void>;
  /** A camera mDNS cannot see: connect to host:port, and list it (to pair) when it answers as a lancam camera. */
  addDeviceByAddress(host: string, port: number): Promise<DeviceEntry>;
  /** Names one of a user's keys on the camera (Nabto's `PUT /iam/users/{u}/fingerprints/{fp}`). */
  renameKey(deviceId: string, username: string, fingerprint: string, name: string): Promise<void>;
  /** Stores a `lancam-remote:` string (relay access), encrypted with this install's key. */
  addRemoteAccess(accessString: string): Promise<{ deviceId: string }>;
  /** The pairings the camera made since it started, oldest first (administrators). */
  recentPairings(deviceId: string): Promise<PairingRecordView[]>;
  /**
   * Undoes the camera's most recent pairing (removes the user it created, or the key it added), only
   * while that is still the pairing with this key: another pairing since is refused (409), not undone.
   */
  undoLastPairing(deviceId: string, fingerprint: string): Promise<void>;
  on<E extends keyof LancamEvents>(event: E, listener: (data: LancamEvents[E]) => void): Unsubscribe;
}

const deviceId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'not a device id');
/** A host name or an IPv4/IPv6 address, nothing that could be a URL or carry a path. */
const hostSchema = z.string().min(1).max(253).regex(/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|[0-9A-Fa-f:.]+)$/, 'not a host name or address');
const keyFingerprint = z.string().regex(/^[0-9a-f]{64}$/, 'not a key fingerprint');
const sessionId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'not a session id');

export const pairRequestSchema = z.strictObject({
  deviceId: deviceId.optional(),
  mode: z.enum(['auto', ...PAIRING_MODES]).optional(),
  username: usernameSchema.optional(),
  password: z.string().min(1).max(64).optional(),
  pairingString: z.string().min(1).max(512).optional(),
});
export type PairRequest = z.infer<typeof pairRequestSchema>;

/** Argument schemas, by method: the trusted side validates every call with these. */
export const API_ARGUMENTS = {
  identity: z.tuple([]),
  listDevices: z.tuple([]),
  pairingOffer: z.tuple([deviceId]),
  pair: z.tuple([pairRequestSchema]),
  forget: z.tuple([deviceId]),
  access: z.tuple([deviceId]),
  listUsers: z.tuple([deviceId]),
  inviteUser: z.tuple([deviceId, usernameSchema, roleIdSchema]),
  removeUser: z.tuple([deviceId, usernameSchema]),
  setUserRole: z.tuple([deviceId, usernameSchema, roleIdSchema]),
  getSettings: z.tuple([deviceId]),
  setSetting: z.tuple([deviceId, z.enum(Object.keys(SETTINGS_KEYS) as [string, ...string[]]), z.union([z.boolean(), z.string().max(64)])]),
  renameDevice: z.tuple([deviceId, friendlyNameBodySchema]),
  openVideo: z.tuple([deviceId]),
  sendVideoSignal: z.tuple([sessionId, signalingMessageSchema]),
  closeVideo: z.tuple([sessionId]),
  saveSnapshot: z.tuple([deviceId, z.string().max(40 * 1024 * 1024).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64')]),
  addRemoteAccess: z.tuple([z.string().min(1).max(2048)]),
  showSnapshotInFolder: z.tuple([z.string().min(1).max(4096)]),
  getLiveLayout: z.tuple([]),
  setLiveLayout: z.tuple([z.strictObject({ open: z.array(deviceId).max(64) })]),
  addDeviceByAddress: z.tuple([hostSchema, z.number().int().min(1).max(65535)]),
  renameKey: z.tuple([deviceId, usernameSchema, keyFingerprint, z.string().trim().min(1).max(64)]),
  recentPairings: z.tuple([deviceId]),
  undoLastPairing: z.tuple([deviceId, keyFingerprint]),
} as const;

export type ApiMethod = keyof typeof API_ARGUMENTS;
export const API_METHODS = Object.keys(API_ARGUMENTS) as ApiMethod[];
export const API_EVENTS: (keyof LancamEvents)[] = ['devices', 'videoSignal', 'videoClosed', 'pairingWindow', 'paired', 'pairingAlert'];

/** Errors cross the bridge as {status, message}; the UI turns them into plain language. */
export interface ApiErrorShape {
  status: number | string;
  message: string;
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number | string,
    message: string,
  ) {
    super(message);
  }
}
