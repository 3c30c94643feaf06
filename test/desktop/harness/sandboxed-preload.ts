/**
 * Runs a built preload the way Electron 45 runs it in a sandboxed renderer (docs:
 * tutorial/sandbox.md "Preload scripts", api/context-bridge.md):
 *
 * - a fresh JS realm (a `vm` context), not Node: no `require` of the file system, no node_modules;
 * - the script is wrapped as Electron's sandboxed_renderer/init does, called with
 *   `require, process, Buffer, global, setImmediate, clearImmediate, exports, module`;
 * - that `require` loads only `electron` (the renderer modules contextBridge, crashReporter,
 *   ipcRenderer, nativeImage, webFrame, webUtils), `events`, `timers` and `url`; anything else
 *   throws "module not found: <name>", as Electron's polyfill does;
 * - `process` is the limited sandbox subset (type 'renderer', sandboxed, contextIsolated, argv,
 *   env, platform, versions ...), and the usual web globals (console, timers, URL, TextEncoder...);
 * - whatever the preload passes to `contextBridge.exposeInMainWorld` reaches the page's world only
 *   through the copy rules in context-bridge.ts.
 */
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import * as timers from 'node:timers';
import * as url from 'node:url';
import vm from 'node:vm';
import { createContextBridge, HOST_REALM, type Realm } from './context-bridge';

export const SANDBOX_MODULES = ['electron', 'events', 'timers', 'url'] as const;
export const ELECTRON_RENDERER_MODULES = ['contextBridge', 'crashReporter', 'ipcRenderer', 'nativeImage', 'webFrame', 'webUtils'] as const;

export interface SandboxedPreload {
  /** The page's world: what the preload exposed (already copied across the bridge). */
  mainWorld: Record<string, unknown>;
  /** Modules the preload asked for, in order (allowed or not). */
  required: string[];
  /** The preload's own realm, for tests that check cross-realm behaviour. */
  isolated: Realm;
}

export class PreloadLoadError extends Error {
  constructor(
    message: string,
    readonly required: string[],
  ) {
    super(message);
  }
}

export async function loadSandboxedPreload(file: string, ipcRenderer: EventEmitter, options: { env?: Record<string, string>; mainWorld?: Record<string, unknown> } = {}): Promise<SandboxedPreload> {
  const source = await readFile(file, 'utf8');
  const context = vm.createContext({
    console,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    queueMicrotask,
    URL,
    URLSearchParams,
    TextEncoder,
    TextDecoder,
    structuredClone,
    atob,
    btoa,
  });
  const isolated = vm.runInContext('({ Object, Array, Error, Promise })', context) as Realm;
  const mainWorld = options.mainWorld ?? {};
  const required: string[] = [];
  const electron = {
    contextBridge: createContextBridge(isolated, mainWorld, HOST_REALM),
    ipcRenderer,
    crashReporter: { addExtraParameter() {}, removeExtraParameter() {}, getParameters: () => ({}) },
    nativeImage: { createEmpty: () => ({ isEmpty: () => true }) },
    webFrame: { setZoomFactor() {}, getZoomFactor: () => 1, insertCSS: () => '', executeJavaScript: () => Promise.resolve(undefined) },
    webUtils: { getPathForFile: () => '' },
  };
  const modules: Record<(typeof SANDBOX_MODULES)[number], unknown> = { electron, events: EventEmitter, timers, url };
  const preloadRequire = (name: string): unknown => {
    required.push(name);
    if (Object.prototype.hasOwnProperty.call(modules, name)) return modules[name as keyof typeof modules];
    throw new isolated.Error(`module not found: ${name}`);
  };
  const sandboxProcess = {
    type: 'renderer',
    sandboxed: true,
    contextIsolated: true,
    argv: [],
    execPath: '/opt/lancam/lancam',
    env: { ...(options.env ?? {}) },
    pid: process.pid,
    arch: process.arch,
    platform: process.platform,
    version: process.version,
    versions: { ...process.versions, electron: '45.4.1' },
    uptime: () => process.uptime(),
    getCreationTime: () => Date.now(),
  };
  const module = { exports: {} as unknown };
  const wrapper = vm.runInContext(`(function (require, process, Buffer, global, setImmediate, clearImmediate, exports, module) {${source}\n})`, context, { filename: file }) as (...args: unknown[]) => void;
  const global = vm.runInContext('globalThis', context) as object;
  try {
    wrapper(preloadRequire, sandboxProcess, Buffer, global, setImmediate, clearImmediate, module.exports, module);
  } catch (err) {
    // Electron logs "Unable to load preload script" and the page loads without the API.
    throw new PreloadLoadError(`Unable to load preload script: ${file}\n${String((err as Error)?.message ?? err)}`, required);
  }
  return { mainWorld, required, isolated };
}
