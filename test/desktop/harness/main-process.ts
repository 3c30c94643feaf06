/**
 * The child process of the desktop harness: the BUILT out/main bundle, unmodified, running in
 * Node with `electron` resolved to electron-main-standin.ts. The parent (main-harness.ts) drives
 * it over Node IPC: it reads what main did (the record), calls the API through the window's
 * sandboxed preload, or as another window or frame would, and can serve the window's app:// page
 * over loopback HTTP so a real Chromium page uses that preload's API (the page bridge).
 *
 * Environment: LANCAM_STANDIN_MAIN (the bundle), LANCAM_STANDIN_USERDATA, LANCAM_STANDIN_PICTURES,
 * LANCAM_STANDIN_KEYRING, LANCAM_STANDIN_SAVE_DIR, LANCAM_STANDIN_SECOND_INSTANCE.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import type * as StandIn from './electron-main-standin';
import type { FrameStandIn } from './ipc';

type Message = { id: number; cmd: string; [key: string]: unknown };

const electron = (await import('electron' as string)) as typeof StandIn;
const { app, BrowserWindow, ipcMain, record, exitHooks, fetchThroughProtocol, session } = electron;
const send = (message: unknown) => new Promise<void>((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()));

exitHooks.run = async (code: number) => {
  await send({ type: 'exit', code, record: snapshot() });
  process.exit(code);
};

function snapshot() {
  return { ...record, channels: ipcMain.channels(), windowsOpen: BrowserWindow.getAllWindows().length };
}

const handles = new Map<number, (...args: unknown[]) => unknown>();
let nextHandle = 1;

/** A value from the main world, as the page gets it: functions become handles. */
function toPage(value: unknown): unknown {
  if (typeof value === 'function') {
    const id = nextHandle++;
    handles.set(id, value as (...args: unknown[]) => unknown);
    return { __function: id };
  }
  return value;
}

/** Page arguments into the main world: {__callback: n} becomes a function calling the page back. */
function fromPage(value: unknown): unknown {
  const callback = (value as { __callback?: number } | null)?.__callback;
  if (typeof callback === 'number') return (...args: unknown[]) => void send({ type: 'callback', callback, args });
  return value;
}

function window0() {
  const w = BrowserWindow.getAllWindows()[0];
  if (!w) throw new Error('no window');
  return w;
}

async function handle(message: Message): Promise<unknown> {
  switch (message.cmd) {
    case 'record':
      return snapshot();
    case 'exposed': {
      const api = window0().mainWorld.lancamIpc as Record<string, unknown> | undefined;
      return api ? Object.fromEntries(Object.entries(api).map(([k, v]) => [k, typeof v])) : null;
    }
    case 'call': {
      // A call from the window's page into what its preload exposed.
      const target = typeof message.handle === 'number' ? handles.get(message.handle) : ((window0().mainWorld.lancamIpc as Record<string, unknown> | undefined)?.[message.method as string] as ((...a: unknown[]) => unknown) | undefined);
      if (typeof target !== 'function') throw new Error(`not exposed: ${String(message.method ?? message.handle)}`);
      return toPage(await target(...(message.args as unknown[]).map(fromPage)));
    }
    case 'invoke-as': {
      // An invoke as Electron would deliver it from another sender or frame.
      const w = window0();
      const as = message.as as string;
      const other = as === 'other-window' ? new BrowserWindow({ show: false }) : undefined;
      const frame: FrameStandIn =
        as === 'subframe' ? { url: w.webContents.mainFrame.url, parent: w.webContents.mainFrame, processId: w.webContents.mainFrame.processId, routingId: 2 }
        : as === 'other-origin' ? { ...w.webContents.mainFrame, url: 'https://attacker.example/' }
        : as === 'no-frame' ? (null as unknown as FrameStandIn)
        : w.webContents.mainFrame;
      try {
        return await ipcMain.invokeFrom(other?.webContents ?? w.webContents, frame, message.channel as string, message.args as unknown[]);
      } finally {
        other?.close();
      }
    }
    case 'navigate':
      return window0().webContents.tryNavigate(message.url as string);
    case 'open-window':
      return window0().webContents.tryOpenWindow(message.url as string);
    case 'permission':
      return session.defaultSession.askPermission(window0().webContents, message.permission as string);
    case 'permission-check':
      return session.defaultSession.permissionCheck?.(window0().webContents, message.permission as string, 'app://lancam', {}) ?? true;
    case 'fetch': {
      const response = await fetchThroughProtocol(message.url as string);
      return { status: response.status, csp: response.headers.get('content-security-policy'), type: response.headers.get('content-type'), length: (await response.arrayBuffer()).byteLength };
    }
    case 'headers':
      return session.defaultSession.applyHeaders(message.url as string, { 'content-type': ['text/html'] });
    case 'second-instance':
      // What Electron emits in the first instance when a second one is started.
      app.emit('second-instance', {}, ['lancam'], process.cwd(), {});
      return true;
    case 'close-window':
      window0().close();
      return true;
    case 'serve':
      return serve();
    default:
      throw new Error(`unknown command ${message.cmd}`);
  }
}

/** Serves app://lancam/* at http://127.0.0.1:PORT/* through main's own protocol handler. */
async function serve(): Promise<number> {
  const server = createServer((req, res) => {
    void (async () => {
      const response = await fetchThroughProtocol(`app://lancam${req.url ?? '/'}`);
      const headers: Record<string, string> = {};
      response.headers.forEach((value, key) => (headers[key] = value));
      res.writeHead(response.status, headers);
      res.end(Buffer.from(await response.arrayBuffer()));
    })().catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return (server.address() as AddressInfo).port;
}

process.on('message', (message: Message) => {
  handle(message).then(
    (result) => send({ type: 'reply', id: message.id, result }),
    (err: unknown) => send({ type: 'reply', id: message.id, error: (err as Error)?.message ?? String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));

const bundle = process.env.LANCAM_STANDIN_MAIN;
if (!bundle) throw new Error('LANCAM_STANDIN_MAIN is not set');
await import(pathToFileURL(bundle).href);
if (!app.quitting) {
  app.becomeReady(process.env.LANCAM_STANDIN_USERDATA ?? '.', { pictures: process.env.LANCAM_STANDIN_PICTURES ?? process.env.LANCAM_STANDIN_USERDATA ?? '.' });
  const started = Date.now();
  while (Date.now() - started < 20_000 && !BrowserWindow.getAllWindows()[0]?.visible && record.errors.length === 0) await new Promise((r) => setTimeout(r, 20));
  await send({ type: 'started', record: snapshot() });
}
