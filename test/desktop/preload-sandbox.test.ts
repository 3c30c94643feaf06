/**
 * The built preload (out/preload/index.cjs) under Electron's sandbox rules (harness/sandboxed-preload.ts,
 * harness/context-bridge.ts, harness/ipc.ts: Electron 45, docs tutorial/sandbox.md, api/context-bridge.md,
 * api/ipc-main.md): it loads, requires nothing but `electron`, exposes one function per API method and
 * `on`, and its calls and events cross IPC and contextBridge intact, errors as {status, message} data.
 * The harness fails on a preload that needs any other module, and strips an error's class and status
 * as Electron does (each shown with a deliberately bad fixture).
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_EVENTS, API_METHODS } from '../../src/shared/ui/api';
import { IPC_EVENT_PREFIX, IPC_METHOD_PREFIX } from '../../src/shared/ui/ipc';
import { ensureDesktopBuilt, PRELOAD_BUNDLE } from './harness/build';
import { createIpcRenderer, IpcMainStandIn, type FrameStandIn, type WebContentsLike } from './harness/ipc';
import { loadSandboxedPreload, PreloadLoadError } from './harness/sandboxed-preload';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');

function renderer(url = 'app://lancam/index.html') {
  const ipcMain = new IpcMainStandIn();
  const sender: WebContentsLike = { id: 1 };
  const frame: FrameStandIn = { url, parent: null, processId: 4, routingId: 1 };
  return { ipcMain, sender, frame, ipcRenderer: createIpcRenderer(ipcMain, sender, () => frame) };
}

beforeAll(ensureDesktopBuilt, 120_000);

describe('the built preload in the sandbox', () => {
  it('loads, requires only electron, and exposes one function per API method plus on()', async () => {
    const { ipcRenderer } = renderer();
    const { mainWorld, required } = await loadSandboxedPreload(PRELOAD_BUNDLE, ipcRenderer);
    expect(required).toEqual(['electron']);
    const api = mainWorld.lancamIpc as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual([...API_METHODS, 'on'].sort());
    for (const key of Object.keys(api)) expect(typeof api[key]).toBe('function');
  });

  it('is small (it runs in every window)', async () => {
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(PRELOAD_BUNDLE));
    expect(size).toBeLessThan(4096);
  });

  it('calls main on each method\'s channel; results and {status, message} errors arrive as plain data', async () => {
    const { ipcMain, sender, ipcRenderer } = renderer();
    const seen: unknown[] = [];
    for (const method of API_METHODS) {
      ipcMain.handle(`${IPC_METHOD_PREFIX}${method}`, (event, ...args) => {
        seen.push([method, event.sender === sender, event.senderFrame?.url, ...args]);
        return method === 'pair' ? { ok: false, error: { status: 401, message: 'wrong password' } } : { ok: true, result: { method } };
      });
    }
    const api = (await loadSandboxedPreload(PRELOAD_BUNDLE, ipcRenderer)).mainWorld.lancamIpc as Record<string, (...a: unknown[]) => Promise<unknown>>;
    expect(await api.pairingOffer!('cam-1')).toEqual({ ok: true, result: { method: 'pairingOffer' } });
    expect(await api.pair!({ deviceId: 'cam-1', password: 'x' })).toEqual({ ok: false, error: { status: 401, message: 'wrong password' } });
    expect(seen).toEqual([
      ['pairingOffer', true, 'app://lancam/index.html', 'cam-1'],
      ['pair', true, 'app://lancam/index.html', { deviceId: 'cam-1', password: 'x' }],
    ]);
    // A missing handler or an uncloneable argument (a function survives the bridge as a proxy, not
    // structured clone) is a reply too, never a thrown class.
    ipcMain.removeHandler(`${IPC_METHOD_PREFIX}identity`);
    expect(await api.identity!()).toEqual({ ok: false, error: { status: 'ipc', message: `No handler registered for '${IPC_METHOD_PREFIX}identity'` } });
    expect(await api.forget!({ f: () => 1 })).toEqual({ ok: false, error: { status: 'ipc', message: 'An object could not be cloned.' } });
  });

  it('forwards only the listed events, and unsubscribes', async () => {
    const { sender, ipcRenderer } = renderer();
    const api = (await loadSandboxedPreload(PRELOAD_BUNDLE, ipcRenderer)).mainWorld.lancamIpc as { on: (e: string, l: (d: unknown) => void) => () => void };
    const got: unknown[] = [];
    const off = api.on(API_EVENTS[0]!, (d) => got.push(d));
    sender.deliver!(`${IPC_EVENT_PREFIX}${API_EVENTS[0]}`, [[{ deviceId: 'cam-1' }]]);
    off();
    sender.deliver!(`${IPC_EVENT_PREFIX}${API_EVENTS[0]}`, [['after']]);
    expect(got).toEqual([[{ deviceId: 'cam-1' }]]);
    expect(() => api.on('not-an-event', () => undefined)).toThrow('no such event: not-an-event');
    expect(ipcRenderer.listenerCount(`${IPC_EVENT_PREFIX}${API_EVENTS[0]}`)).toBe(0);
  });
});

describe('the harness can fail', () => {
  it('refuses a preload that requires zod (the bug of issue 9)', async () => {
    const err = await loadSandboxedPreload(path.join(FIXTURES, 'preload-requires-zod.cjs'), renderer().ipcRenderer).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PreloadLoadError);
    expect((err as Error).message).toContain('module not found: zod');
    expect((err as PreloadLoadError).required).toEqual(['electron', 'zod']);
  });

  it('refuses a preload that requires a Node built-in', async () => {
    const err = await loadSandboxedPreload(path.join(FIXTURES, 'preload-requires-fs.cjs'), renderer().ipcRenderer).catch((e: unknown) => e);
    expect((err as Error).message).toContain('module not found: fs');
  });

  it('strips an error\'s class and status at the bridge, and copies values as Electron does', async () => {
    const { mainWorld, isolated } = await loadSandboxedPreload(path.join(FIXTURES, 'preload-throws-api-error.cjs'), renderer().ipcRenderer);
    const api = mainWorld.lancamIpc as Record<string, (...a: unknown[]) => unknown>;
    const rejected = (await (api.pair!() as Promise<unknown>).catch((e: unknown) => e)) as Error & { status?: unknown };
    expect(rejected).toBeInstanceOf(Error);
    expect([rejected.message, rejected.status, rejected.name]).toEqual(['pairing failed: wrong password', undefined, 'Error']);
    let thrown: (Error & { status?: unknown }) | undefined;
    try {
      api.pairSync!();
    } catch (e) {
      thrown = e as Error;
    }
    expect([thrown?.message, thrown?.status, thrown instanceof Error]).toEqual(['too many attempts', undefined, true]);
    const shapes = api.shapes!() as Record<string, unknown>;
    expect(shapes.list).toEqual([1, { a: 2 }]);
    expect(Array.isArray(shapes.list)).toBe(true);
    expect(shapes.when).toEqual(new Date(0));
    expect(shapes.sym).toBeUndefined();
    expect(shapes.nested).toBeUndefined();
    expect([(shapes.err as Error).message, (shapes.err as { status?: number }).status]).toEqual(['boom', undefined]);
    // A class instance arrives as a plain object: its own values, no prototype, no methods.
    expect(Object.getPrototypeOf(shapes.inst)).toBe(Object.prototype);
    expect(shapes.inst).toEqual({ x: 3 });
    // A function from the page is proxied; its result comes back copied into the page's realm.
    const echoed = api.callBack!((arg: unknown) => arg, { x: 1 }) as object;
    expect(Object.getPrototypeOf(echoed)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(echoed)).not.toBe(isolated.Object.prototype);
  });
});
