/**
 * A recording stand-in for the `electron` module as the main process sees it, so the BUILT
 * out/main bundle runs unmodified in Node (register-electron.mjs points `electron` here). It does
 * what Electron 45 does at each call the app makes, and records it; nothing more:
 *
 * - `app` (docs api/app.md): `requestSingleInstanceLock()` (false when LANCAM_STANDIN_SECOND_INSTANCE
 *   is set, as for a second launch), `enableSandbox()` and `protocol.registerSchemesAsPrivileged()`
 *   only before ready (Electron throws after), `whenReady()`, `getPath()`, `quit()` (before-quit,
 *   will-quit, quit, then the process ends with 0), `exit(code)`, `web-contents-created` for every
 *   WebContents, `window-all-closed` when the last window closes.
 * - `BrowserWindow` (api/browser-window.md): records its options; `loadURL` fetches the URL through
 *   the handler registered with `protocol.handle` (as Chromium would for app://), then runs the
 *   window's preload in the sandbox harness (sandboxed-preload.ts) with an ipcRenderer bound to this
 *   window's WebContents and main frame, and emits `ready-to-show`.
 * - `protocol` (api/protocol.md), `session.defaultSession` (api/session.md, api/web-request.md):
 *   handlers are recorded and callable; `protocol.handle` only after ready.
 * - `dialog` (api/dialog.md): `showSaveDialog` answers with a file in LANCAM_STANDIN_SAVE_DIR.
 * - `safeStorage` (api/safe-storage.md): the Linux backend named by LANCAM_STANDIN_KEYRING
 *   (`basic_text` when unset, as on a desktop without a keyring); encryption really encrypts
 *   (AES-256-GCM, key kept in the user-data directory like a keyring would keep it).
 * - `ipcMain`: ipc.ts (structured clone, sender/senderFrame).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createIpcRenderer, IpcMainStandIn, type FrameStandIn } from './ipc';
import { loadSandboxedPreload, type SandboxedPreload } from './sandboxed-preload';

type Listener = (...args: unknown[]) => unknown;

export interface StandInRecord {
  calls: { what: string; when: 'before-ready' | 'after-ready'; detail?: unknown }[];
  windows: { options: Record<string, unknown>; loaded?: string; loadStatus?: number; loadCsp?: string | null; preloadError?: string }[];
  schemes: unknown[];
  protocolHandlers: string[];
  headersHook: boolean;
  errors: string[];
}

export const record: StandInRecord = { calls: [], windows: [], schemes: [], protocolHandlers: [], headersHook: false, errors: [] };
let ready = false;
const note = (what: string, detail?: unknown) => record.calls.push({ what, when: ready ? 'after-ready' : 'before-ready', ...(detail !== undefined ? { detail } : {}) });

export const ipcMain = new IpcMainStandIn();

// ---------------------------------------------------------------------------------------- protocol
const protocolHandlers = new Map<string, (request: Request) => Response | Promise<Response>>();
export const protocol = {
  registerSchemesAsPrivileged(schemes: unknown[]) {
    if (ready) throw new Error('protocol.registerSchemesAsPrivileged should be called before app is ready');
    note('protocol.registerSchemesAsPrivileged', schemes);
    record.schemes.push(...schemes);
  },
  handle(scheme: string, handler: (request: Request) => Response | Promise<Response>) {
    if (!ready) throw new Error('protocol.handle can only be used after the app is ready');
    if (protocolHandlers.has(scheme)) throw new Error(`Failed to register protocol: ${scheme}`);
    note('protocol.handle', scheme);
    protocolHandlers.set(scheme, handler);
    record.protocolHandlers.push(scheme);
  },
  unhandle(scheme: string) {
    protocolHandlers.delete(scheme);
  },
  isProtocolHandled(scheme: string) {
    return protocolHandlers.has(scheme);
  },
};

/** What Chromium gets for a URL of a handled custom scheme. */
export async function fetchThroughProtocol(url: string): Promise<Response> {
  const scheme = new URL(url).protocol.slice(0, -1);
  const handler = protocolHandlers.get(scheme);
  if (!handler) return new Response('ERR_UNKNOWN_URL_SCHEME', { status: 404 });
  return handler(new Request(url));
}

// ----------------------------------------------------------------------------------------- session
type HeadersListener = (details: { url: string; responseHeaders: Record<string, string[]> }, callback: (r: { responseHeaders?: Record<string, string[]>; cancel?: boolean }) => void) => void;
type PermissionRequest = (webContents: WebContentsStandIn, permission: string, callback: (granted: boolean) => void, details: unknown) => void;
type PermissionCheck = (webContents: WebContentsStandIn | null, permission: string, origin: string, details: unknown) => boolean;
class SessionStandIn extends EventEmitter {
  headersListener: HeadersListener | undefined;
  permissionRequest: PermissionRequest | undefined;
  permissionCheck: PermissionCheck | undefined;
  readonly webRequest = {
    onHeadersReceived: (listener: HeadersListener) => {
      note('session.webRequest.onHeadersReceived');
      record.headersHook = true;
      this.headersListener = listener;
    },
  };
  setPermissionRequestHandler(handler: PermissionRequest) {
    note('session.setPermissionRequestHandler');
    this.permissionRequest = handler;
  }
  setPermissionCheckHandler(handler: PermissionCheck) {
    note('session.setPermissionCheckHandler');
    this.permissionCheck = handler;
  }
  /** The headers a response gets after onHeadersReceived. */
  applyHeaders(url: string, headers: Record<string, string[]>): Promise<Record<string, string[]>> {
    const listener = this.headersListener;
    if (!listener) return Promise.resolve(headers);
    return new Promise((resolve) => listener({ url, responseHeaders: headers }, (r) => resolve(r.responseHeaders ?? headers)));
  }
  askPermission(webContents: WebContentsStandIn, permission: string): Promise<boolean> {
    const handler = this.permissionRequest;
    if (!handler) return Promise.resolve(true); // Electron's default: granted
    return new Promise((resolve) => handler(webContents, permission, resolve, {}));
  }
}
export const session = { defaultSession: new SessionStandIn() };

// ------------------------------------------------------------------------------------- webContents
let nextId = 1;
export class WebContentsStandIn extends EventEmitter {
  readonly id = nextId++;
  url = '';
  destroyed = false;
  windowOpenHandler: ((details: { url: string }) => { action: string }) | undefined;
  deliver?: (channel: string, args: unknown[]) => void;
  mainFrame: FrameStandIn = { url: '', parent: null, processId: 100 + this.id, routingId: 1 };
  getURL() {
    return this.url;
  }
  send(channel: string, ...args: unknown[]) {
    if (this.destroyed) throw new Error('Object has been destroyed');
    this.deliver?.(channel, args);
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }) {
    this.windowOpenHandler = handler;
  }
  isDestroyed() {
    return this.destroyed;
  }
  /** Navigation as Chromium starts it: `will-navigate`, cancelled by preventDefault. */
  tryNavigate(url: string): boolean {
    let prevented = false;
    this.emit('will-navigate', { preventDefault: () => (prevented = true), url }, url);
    return !prevented;
  }
  tryOpenWindow(url: string): string {
    return this.windowOpenHandler?.({ url }).action ?? 'allow';
  }
}

// ------------------------------------------------------------------------------------------- app
const paths: Record<string, string> = {};
class AppStandIn extends EventEmitter {
  private readyPromise: Promise<void>;
  private resolveReady!: () => void;
  quitting = false;
  constructor() {
    super();
    this.readyPromise = new Promise((r) => (this.resolveReady = r));
  }
  requestSingleInstanceLock() {
    const granted = !process.env.LANCAM_STANDIN_SECOND_INSTANCE;
    note('app.requestSingleInstanceLock', granted);
    return granted;
  }
  enableSandbox() {
    if (ready) throw new Error('app.enableSandbox() can only be called before app is ready');
    note('app.enableSandbox');
  }
  whenReady() {
    return this.readyPromise;
  }
  isReady() {
    return ready;
  }
  getPath(name: string) {
    const dir = paths[name];
    if (!dir) throw new Error(`Failed to get '${name}' path`);
    return dir;
  }
  setPath(name: string, dir: string) {
    if (name === 'userData' && ready) throw new Error('userData can only be set before app is ready');
    note('app.setPath', name);
    paths[name] = dir;
  }
  getName() {
    return 'lancam';
  }
  getVersion() {
    return '0.1.0';
  }
  quit() {
    note('app.quit');
    if (this.quitting) return;
    this.quitting = true;
    setImmediate(() => {
      let prevented = false;
      const event = { preventDefault: () => (prevented = true) };
      this.emit('before-quit', event);
      if (prevented) return void (this.quitting = false);
      for (const w of [...windows]) w.close();
      this.emit('will-quit', event);
      this.emit('quit', event, 0);
      void exitHooks.run(0);
    });
  }
  exit(code = 0) {
    note('app.exit', code);
    void exitHooks.run(code);
  }
  /** Called by the runner once the main bundle's top level has run (Electron: after init). */
  becomeReady(userData: string, extra: Record<string, string> = {}) {
    paths.userData ??= userData;
    Object.assign(paths, extra);
    ready = true;
    note('app.ready');
    this.emit('will-finish-launching');
    this.emit('ready', {}, {});
    this.resolveReady();
  }
}
export const app = new AppStandIn();

/** The runner decides how the process ends (it reports first). */
export const exitHooks = { run: async (code: number): Promise<void> => process.exit(code) };

// ----------------------------------------------------------------------------------- BrowserWindow
const windows: BrowserWindowStandIn[] = [];
export class BrowserWindowStandIn extends EventEmitter {
  readonly webContents = new WebContentsStandIn();
  readonly index: number;
  preload: SandboxedPreload | undefined;
  /** Where the page can reach the preload's exposed API (the main world). */
  readonly mainWorld: Record<string, unknown> = {};
  private minimized = false;
  visible = false;
  destroyed = false;
  constructor(readonly options: { webPreferences?: Record<string, unknown> } & Record<string, unknown> = {}) {
    super();
    if (!ready) throw new Error('Cannot create BrowserWindow before app is ready');
    this.index = record.windows.push({ options: JSON.parse(JSON.stringify(options)) as Record<string, unknown> }) - 1;
    note('new BrowserWindow');
    windows.push(this);
    app.emit('web-contents-created', {}, this.webContents);
    app.emit('browser-window-created', {}, this);
  }
  static getAllWindows() {
    return [...windows];
  }
  async loadURL(url: string): Promise<void> {
    note('BrowserWindow.loadURL', url);
    if (!this.webContents.tryNavigate(url) && this.webContents.url !== '') throw new Error(`ERR_ABORTED (-3) loading '${url}'`);
    const response = await fetchThroughProtocol(url);
    const rec = record.windows[this.index]!;
    rec.loaded = url;
    rec.loadStatus = response.status;
    rec.loadCsp = response.headers.get('content-security-policy');
    if (response.status !== 200) throw new Error(`ERR_FAILED (-2) loading '${url}'`);
    this.webContents.url = url;
    this.webContents.mainFrame.url = url;
    const prefs = this.options.webPreferences ?? {};
    if (typeof prefs.preload === 'string') {
      const frame = this.webContents.mainFrame;
      const ipcRenderer = createIpcRenderer(ipcMain, this.webContents, () => frame);
      try {
        this.preload = await loadSandboxedPreload(prefs.preload, ipcRenderer, { mainWorld: this.mainWorld });
      } catch (err) {
        // Electron logs the failure and loads the page without the preload's API.
        rec.preloadError = (err as Error).message;
        record.errors.push((err as Error).message);
      }
    }
    this.webContents.emit('did-finish-load');
    this.emit('ready-to-show');
  }
  show() {
    this.visible = true;
    note('BrowserWindow.show');
  }
  focus() {
    note('BrowserWindow.focus');
  }
  isMinimized() {
    return this.minimized;
  }
  restore() {
    this.minimized = false;
  }
  isDestroyed() {
    return this.destroyed;
  }
  close() {
    if (this.destroyed) return;
    let prevented = false;
    this.emit('close', { preventDefault: () => (prevented = true) });
    if (prevented) return;
    this.destroyed = true;
    this.webContents.destroyed = true;
    windows.splice(windows.indexOf(this), 1);
    note('BrowserWindow.closed');
    this.emit('closed');
    this.webContents.emit('destroyed');
    if (windows.length === 0 && !app.quitting) app.emit('window-all-closed');
  }
}
export { BrowserWindowStandIn as BrowserWindow, WebContentsStandIn as WebContents };

// ------------------------------------------------------------------------------------------ dialog
export const dialog = {
  async showSaveDialog(_window: unknown, options: { defaultPath?: string } = {}) {
    note('dialog.showSaveDialog', options.defaultPath ? path.basename(options.defaultPath) : undefined);
    const dir = process.env.LANCAM_STANDIN_SAVE_DIR;
    if (!dir) return { canceled: true, filePath: '' };
    return { canceled: false, filePath: path.join(dir, path.basename(options.defaultPath ?? 'file')) };
  },
  showErrorBox(title: string, content: string) {
    note('dialog.showErrorBox', { title, content });
    record.errors.push(`${title}: ${content}`);
  },
  async showMessageBox() {
    return { response: 0, checkboxChecked: false };
  },
};

// ------------------------------------------------------------------------------------- safeStorage
function keyringKey(): Buffer {
  const file = path.join(paths.userData ?? '.', '.standin-keyring');
  if (existsSync(file)) return readFileSync(file);
  const key = randomBytes(32);
  writeFileSync(file, key, { mode: 0o600 });
  return key;
}
const backend = () => process.env.LANCAM_STANDIN_KEYRING ?? 'basic_text';
export const safeStorage = {
  isEncryptionAvailable() {
    return ready;
  },
  getSelectedStorageBackend() {
    note('safeStorage.getSelectedStorageBackend', backend());
    return ready ? backend() : 'unknown';
  },
  encryptString(plain: string): Buffer {
    if (backend() === 'basic_text') note('safeStorage.encryptString with basic_text');
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', keyringKey(), iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from('v11'), iv, cipher.getAuthTag(), body]);
  },
  decryptString(data: Buffer): string {
    if (data.subarray(0, 3).toString() !== 'v11') throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
    const decipher = createDecipheriv('aes-256-gcm', keyringKey(), data.subarray(3, 15));
    decipher.setAuthTag(data.subarray(15, 31));
    return Buffer.concat([decipher.update(data.subarray(31)), decipher.final()]).toString('utf8');
  },
};

export const webContents = { getAllWebContents: () => windows.map((w) => w.webContents) };
export const shell = { openExternal: async (url: string) => void note('shell.openExternal', url) };
export const nativeTheme = new EventEmitter();

const electron = { app, BrowserWindow: BrowserWindowStandIn, protocol, session, dialog, safeStorage, ipcMain, webContents, shell, nativeTheme };
export default electron;
export type { Listener };
