/**
 * lancam desktop: Electron main. One window, secured as ARCHITECTURE.md says (see security.ts);
 * the companion core runs here and the renderer reaches it only through the preload's API.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog } from 'electron';
import { AppService } from '../companion/app/app-service';
import { openHome } from '../companion/home';
import { KnownDeviceStore } from '../companion/known-devices';
import { RemoteAccessStore } from '../companion/remote/remote-access-store';
import { desktopKeyStore } from './key-store';
import { showItemInFolder } from './shell';
import { registerIpc } from './ipc';
import { APP_ORIGIN, lockDownContents, lockDownSession, registerAppScheme, serveRenderer } from './security';

const here = path.dirname(fileURLToPath(import.meta.url));
let window: BrowserWindow | undefined;

// A separate profile (tests, a second account on one machine): must be set before the lock, which
// is per profile.
if (process.env.LANCAM_USER_DATA) app.setPath('userData', path.resolve(process.env.LANCAM_USER_DATA));
registerAppScheme();
app.enableSandbox();
if (!app.requestSingleInstanceLock()) app.quit();
app.on('second-instance', () => {
  if (window?.isMinimized()) window.restore();
  window?.focus();
});
app.on('web-contents-created', (_event, contents) => lockDownContents(contents));

app.whenReady().then(async () => {
  lockDownSession();
  serveRenderer(path.join(here, '../renderer'));

  const homeDir = path.join(app.getPath('userData'), 'desktop');
  const keys = desktopKeyStore(homeDir);
  const home = await openHome(homeDir, keys.store);
  const service = new AppService({
    home,
    store: new KnownDeviceStore(home.devicesFile),
    mdnsInterface: process.env.LANCAM_MDNS_INTERFACE,
    identity: keys.protection,
    remoteAccess: new RemoteAccessStore(path.join(homeDir, 'remote-access.json'), home.identity.privateKey),
    snapshotDir: path.join(app.getPath('pictures'), 'lancam'),
    showInFolder: showItemInFolder,
  });
  const unregister = registerIpc(service, () => window?.webContents);

  window = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 720,
    minHeight: 480,
    title: 'lancam',
    show: false,
    backgroundColor: '#10141a',
    // Spelled out here, where reviewers and Electronegativity look for it.
    webPreferences: {
      preload: path.join(here, '../preload/index.cjs'), // eng-disable PRELOAD_JS_CHECK (reviewed: named API functions through contextBridge only, see docs/security.md)
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      disableBlinkFeatures: 'Auxclick',
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      webviewTag: false,
    },
  });
  window.once('ready-to-show', () => window?.show());
  window.on('closed', () => (window = undefined));
  await window.loadURL(`${APP_ORIGIN}/index.html`);

  app.on('window-all-closed', () => {
    unregister();
    void service.close().finally(() => app.quit());
  });
}).catch((err: unknown) => {
  dialog.showErrorBox('lancam could not start', (err as Error).message);
  app.exit(1);
});
