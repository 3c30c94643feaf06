/**
 * The BUILT Electron main bundle (out/main/index.js), unmodified, started under the recording
 * Electron stand-in (harness/electron-main-standin.ts; Electron 45 behaviours and their docs are
 * listed there, in harness/ipc.ts and harness/sandboxed-preload.ts). Checked: the single-instance
 * lock (a second instance quits without a window), the sandbox enabled before ready, the app://
 * scheme registered as privileged before ready and served with the CSP (no traversal), the CSP on
 * every response, permissions denied, navigation and new windows blocked, the window's
 * webPreferences, the preload loaded in the sandbox with one function per API method, an IPC
 * handler for every API method that refuses other windows, frames and origins and bad arguments,
 * the key store's refusal of basic_text (and its use of a real keyring), and a clean quit.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_METHODS } from '../../src/shared/ui/api';
import { contentSecurityPolicy } from '../../src/companion/ui-server/ui-server';
import { IPC_METHOD_PREFIX, type IpcReply } from '../../src/shared/ui/ipc';
import { cleanupAll, tempDir } from '../helpers/processes';
import { ensureDesktopBuilt, PRELOAD_BUNDLE } from './harness/build';
import { startMain, type MainProcess } from './harness/main-harness';

beforeAll(ensureDesktopBuilt, 120_000);
afterAll(cleanupAll, 30_000);

const CSP = contentSecurityPolicy("'self'");

describe('the built main bundle under the Electron stand-in', () => {
  let main: MainProcess;
  let userData: string;

  beforeAll(async () => {
    userData = await tempDir('lancam-userdata-');
    main = startMain({ userData, env: { LANCAM_STANDIN_KEYRING: 'basic_text' } });
    await main.started;
  }, 30_000);

  it('takes the single-instance lock and enables the sandbox and the app:// scheme before ready', async () => {
    const record = await main.request<{ calls: { what: string; when: string; detail?: unknown }[]; schemes: unknown[] }>('record');
    const when = (what: string) => record.calls.filter((c) => c.what === what).map((c) => c.when);
    expect(when('app.requestSingleInstanceLock')).toEqual(['before-ready']);
    expect(when('app.enableSandbox')).toEqual(['before-ready']);
    expect(when('protocol.registerSchemesAsPrivileged')).toEqual(['before-ready']);
    expect(record.schemes).toEqual([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
    expect(when('protocol.handle')).toEqual(['after-ready']);
    expect(record.calls.find((c) => c.what === 'protocol.handle')?.detail).toBe('app');
    expect(record.calls.some((c) => c.what === 'app.quit')).toBe(false);
  });

  it('opens one window, sandboxed and isolated, loading app://lancam/ with the CSP', async () => {
    const record = await main.request<{ windows: { options: { webPreferences: Record<string, unknown> }; loaded?: string; loadStatus?: number; loadCsp?: string; preloadError?: string }[]; errors: string[] }>('record');
    expect(record.errors).toEqual([]);
    expect(record.windows).toHaveLength(1);
    const [win] = record.windows;
    expect(win!.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false, nodeIntegrationInSubFrames: false, webSecurity: true, allowRunningInsecureContent: false, webviewTag: false });
    expect(path.resolve(win!.options.webPreferences.preload as string)).toBe(PRELOAD_BUNDLE);
    expect(win!.loaded).toBe('app://lancam/index.html');
    expect(win!.loadStatus).toBe(200);
    expect(win!.loadCsp).toBe(CSP);
    expect(win!.preloadError).toBeUndefined();
  });

  it('serves only the renderer folder over app://, with the CSP', async () => {
    const index = await main.request<{ status: number; csp: string; type: string }>('fetch', { url: 'app://lancam/' });
    expect(index).toMatchObject({ status: 200, csp: CSP, type: expect.stringContaining('text/html') });
    for (const url of ['app://lancam/../main/index.js', 'app://lancam/%2e%2e/main/index.js', 'app://lancam/%E0%A4%A', 'app://other/index.html', 'app://lancam/missing.js']) {
      const r = await main.request<{ status: number }>('fetch', { url });
      expect([404, 400], url).toContain(r.status);
    }
    const headers = await main.request<Record<string, string[]>>('headers', { url: 'https://example.invalid/' });
    expect(headers['Content-Security-Policy']).toEqual([CSP]);
  });

  it('denies permissions (but fullscreen), navigation away and new windows', async () => {
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) expect(await main.request('permission', { permission }), permission).toBe(false);
    expect(await main.request('permission', { permission: 'fullscreen' })).toBe(true);
    expect(await main.request('permission-check', { permission: 'media' })).toBe(false);
    expect(await main.request('navigate', { url: 'https://attacker.example/' })).toBe(false);
    expect(await main.request('navigate', { url: 'file:///etc/passwd' })).toBe(false);
    expect(await main.request('navigate', { url: 'app://lancam/index.html' })).toBe(true);
    expect(await main.request('open-window', { url: 'https://attacker.example/' })).toBe('deny');
  });

  it('the preload is loaded in the sandbox and exposes one function per API method; main has a handler for each', async () => {
    const exposed = await main.request<Record<string, string>>('exposed');
    expect(Object.keys(exposed).sort()).toEqual([...API_METHODS, 'on'].sort());
    expect(new Set(Object.values(exposed))).toEqual(new Set(['function']));
    const record = await main.request<{ channels: string[] }>('record');
    expect(record.channels.sort()).toEqual(API_METHODS.map((m) => `${IPC_METHOD_PREFIX}${m}`).sort());
  });

  it('answers the window through the preload; refuses other windows, subframes, other origins and bad arguments', async () => {
    const identity = await main.request<IpcReply>('call', { method: 'identity', args: [] });
    expect(identity.ok).toBe(true);
    // basic_text is no protection: the key is a 0600 file and the UI is told so.
    expect(identity).toMatchObject({ ok: true, result: { fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/), keyProtection: 'unprotected', keyProtectionNote: expect.stringContaining('basic_text') } });
    const key = await stat(path.join(userData, 'desktop', 'client.key'));
    expect(key.mode & 0o777).toBe(0o600);
    expect(await readdir(path.join(userData, 'desktop'))).not.toContain('client.key.enc');
    const channel = `${IPC_METHOD_PREFIX}identity`;
    for (const as of ['other-window', 'subframe', 'other-origin', 'no-frame']) {
      expect(await main.request('invoke-as', { as, channel, args: [] }), as).toEqual({ ok: false, error: { status: 403, message: 'this window may not use the lancam API' } });
    }
    expect(await main.request('invoke-as', { as: 'window', channel, args: [] })).toMatchObject({ ok: true });
    const bad = await main.request<IpcReply>('call', { method: 'pairingOffer', args: ['../../etc'] });
    // Worded as `lancam ui`'s bridge words it, so both paths show the same message.
    expect(bad).toEqual({ ok: false, error: { status: 400, message: 'invalid arguments to pairingOffer (0): not a device id' } });
    const nested = await main.request<IpcReply>('call', { method: 'pair', args: [{ deviceId: 'cam-1', password: 7 }] });
    expect(nested).toMatchObject({ ok: false, error: { status: 400, message: expect.stringMatching(/^invalid arguments to pair \(0\.password\): /) } });
    const extra = await main.request<IpcReply>('call', { method: 'forget', args: ['cam-1', 'extra'] });
    expect(extra).toMatchObject({ ok: false, error: { status: 400 } });
    const unknown = await main.request<IpcReply>('call', { method: 'access', args: ['no-such-camera'] });
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(typeof unknown.error.message).toBe('string');
  });

  it('brings its window forward when a second instance starts', async () => {
    const before = (await main.request<{ calls: { what: string }[] }>('record')).calls.filter((c) => c.what === 'BrowserWindow.focus').length;
    await main.request('second-instance');
    const after = (await main.request<{ calls: { what: string }[] }>('record')).calls.filter((c) => c.what === 'BrowserWindow.focus').length;
    expect(after).toBe(before + 1);
  });

  it('quits cleanly when its window closes', async () => {
    await main.request('close-window');
    const { code, record } = await main.exited;
    expect(code).toBe(0);
    expect(record?.calls.map((c) => c.what)).toContain('app.quit');
    expect(record?.windowsOpen).toBe(0);
    expect(record?.errors).toEqual([]);
  }, 15_000);
});

describe('the harness can fail', () => {
  it('reports a main without sandbox, lock or scheme, whose preload does not load and that has no handlers', async () => {
    const main = startMain({ userData: await tempDir('lancam-userdata-'), bundle: path.join(import.meta.dirname, 'fixtures/insecure-main/index.js') });
    const record = await main.started;
    expect(record.windows[0]!.preloadError).toContain('module not found: zod');
    expect(record.windows[0]!.options.webPreferences).toMatchObject({ sandbox: false, contextIsolation: false });
    expect(record.calls.map((c) => c.what)).not.toContain('app.enableSandbox');
    expect(record.calls.map((c) => c.what)).not.toContain('app.requestSingleInstanceLock');
    expect(record.schemes).toEqual([]);
    expect(record.channels).toEqual([]);
    expect(await main.request('exposed')).toBeNull();
    await main.request('close-window');
    expect((await main.exited).code).toBe(0);
  }, 30_000);
});

describe('startup edge cases', () => {
  it('a second instance quits at once, without a window', async () => {
    const main = startMain({ userData: await tempDir('lancam-userdata-'), env: { LANCAM_STANDIN_SECOND_INSTANCE: '1' } });
    const { code, record } = await main.exited;
    expect(code).toBe(0);
    expect(record?.calls.map((c) => c.what)).toEqual(expect.arrayContaining(['app.requestSingleInstanceLock', 'app.quit']));
    expect(record?.windows).toEqual([]);
  }, 20_000);

  it('with a real keyring (safeStorage not basic_text) keeps the key encrypted, never as a plain file', async () => {
    // LANCAM_USER_DATA chooses the profile (set before the lock, which is per profile).
    const userData = await tempDir('lancam-userdata-');
    const main = startMain({ userData: await tempDir('lancam-userdata-default-'), env: { LANCAM_STANDIN_KEYRING: 'gnome_libsecret', LANCAM_USER_DATA: userData } });
    await main.started;
    const identity = await main.request<IpcReply>('call', { method: 'identity', args: [] });
    expect(identity).toMatchObject({ ok: true, result: { keyProtection: 'os-keychain' } });
    const files = await readdir(path.join(userData, 'desktop'));
    expect(files).toContain('client.key.enc');
    expect(files).not.toContain('client.key');
    const record = await main.request<{ calls: { what: string; when: string }[] }>('record');
    expect(record.calls.filter((c) => ['app.setPath', 'app.requestSingleInstanceLock'].includes(c.what)).map((c) => `${c.what} ${c.when}`)).toEqual(['app.setPath before-ready', 'app.requestSingleInstanceLock before-ready']);
    await main.request('close-window');
    expect((await main.exited).code).toBe(0);
  }, 30_000);
});
