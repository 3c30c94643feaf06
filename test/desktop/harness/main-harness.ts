/**
 * Starts the built out/main bundle under the Electron stand-in (main-process.ts) in a child
 * process, optionally inside a test-owned network namespace, and talks to it. `bridgePage` puts
 * the window's preload API into a real Chromium page: the page's `window.lancamIpc` forwards each
 * call to what the sandboxed preload exposed (contextBridge copy rules applied there), and events
 * come back to the page's listeners.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { onCleanup, REPO } from '../../helpers/processes';
import { MAIN_BUNDLE } from './build';
import type { StandInRecord } from './electron-main-standin';

export type MainRecord = StandInRecord & { channels: string[]; windowsOpen: number };

export interface MainProcess {
  child: ChildProcess;
  started: Promise<MainRecord>;
  exited: Promise<{ code: number | null; record?: MainRecord }>;
  request<T = unknown>(cmd: string, fields?: Record<string, unknown>): Promise<T>;
  output(): string;
  /** Makes `window.lancamIpc` in every page of `context` reach this process's window preload. */
  bridgePage(context: BrowserContext): Promise<void>;
  /** http://127.0.0.1:PORT/ serving app://lancam/ through main's protocol handler. */
  serve(): Promise<string>;
}

export interface MainOptions {
  userData: string;
  /** The main bundle to start (default: the built out/main/index.js). */
  bundle?: string;
  wrap?: string[];
  env?: Record<string, string>;
}

const HERE = path.dirname(new URL(import.meta.url).pathname);

export function startMain(options: MainOptions): MainProcess {
  const node = [process.execPath, '--import', 'tsx', '--import', path.join(HERE, 'register-electron.mjs'), path.join(HERE, 'main-process.ts')];
  const [command, ...args] = [...(options.wrap ?? []), ...node];
  const child = spawn(command!, args, {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, LANCAM_STANDIN_MAIN: options.bundle ?? MAIN_BUNDLE, LANCAM_STANDIN_USERDATA: options.userData, LANCAM_MDNS_INTERFACE: '127.0.0.1', ...options.env },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const callbacks = new Set<(message: { callback: number; args: unknown[] }) => void>();
  let nextId = 1;
  let exitRecord: MainRecord | undefined;
  let resolveStarted!: (r: MainRecord) => void;
  let rejectStarted!: (e: Error) => void;
  const started = new Promise<MainRecord>((resolve, reject) => ((resolveStarted = resolve), (rejectStarted = reject)));
  started.catch(() => undefined);
  child.on('message', (m: { type: string; id?: number; result?: unknown; error?: string; record?: MainRecord; callback?: number; args?: unknown[] }) => {
    if (m.type === 'reply') {
      const p = pending.get(m.id!);
      pending.delete(m.id!);
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.result);
    } else if (m.type === 'started') resolveStarted(m.record!);
    else if (m.type === 'exit') exitRecord = m.record;
    else if (m.type === 'callback') for (const c of callbacks) c({ callback: m.callback!, args: m.args ?? [] });
  });
  const exited = new Promise<{ code: number | null; record?: MainRecord }>((resolve) =>
    child.once('exit', (code) => {
      rejectStarted(new Error(`main exited (${code}) before its window was up: ${out}`));
      for (const p of pending.values()) p.reject(new Error(`main exited (${code}): ${out}`));
      resolve({ code, ...(exitRecord ? { record: exitRecord } : {}) });
    }),
  );
  onCleanup(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  });
  const request = <T>(cmd: string, fields: Record<string, unknown> = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, cmd, ...fields });
    });
  const pages = new Set<Page>();
  callbacks.add(({ callback, args }) => {
    for (const page of pages) void page.evaluate(([n, a]) => (globalThis as unknown as { __lancamCallbacks?: Map<number, (...x: unknown[]) => void> }).__lancamCallbacks?.get(n as number)?.(...(a as unknown[])), [callback, args] as const).catch(() => undefined);
  });
  return {
    child,
    started,
    exited,
    request,
    output: () => out,
    serve: async () => `http://127.0.0.1:${await request<number>('serve')}/`,
    async bridgePage(context) {
      const exposed = await request<Record<string, string> | null>('exposed');
      if (!exposed) throw new Error(`the window's preload exposed nothing: ${out}`);
      context.on('page', (page) => {
        pages.add(page);
        page.on('close', () => pages.delete(page));
      });
      for (const page of context.pages()) pages.add(page);
      await context.exposeBinding('__lancamElectronCall', (_source, req: { method?: string; handle?: number; args: unknown[] }) => request('call', req));
      await context.addInitScript((names: string[]) => {
        type Call = (req: { method?: string; handle?: number; args: unknown[] }) => Promise<unknown>;
        const w = globalThis as unknown as { __lancamElectronCall: Call; __lancamCallbacks: Map<number, (...a: unknown[]) => void>; lancamIpc?: unknown };
        const callbacks = new Map<number, (...a: unknown[]) => void>();
        let next = 1;
        w.__lancamCallbacks = callbacks;
        const wrap = (args: unknown[]) =>
          args.map((a) => {
            if (typeof a !== 'function') return a;
            const n = next++;
            callbacks.set(n, a as (...x: unknown[]) => void);
            return { __callback: n };
          });
        const unwrap = (value: unknown): unknown => {
          const handle = (value as { __function?: number } | null)?.__function;
          return typeof handle === 'number' ? (...args: unknown[]) => w.__lancamElectronCall({ handle, args: wrap(args) }).then(unwrap) : value;
        };
        const api: Record<string, unknown> = {};
        for (const name of names) api[name] = (...args: unknown[]) => w.__lancamElectronCall({ method: name, args: wrap(args) }).then(unwrap);
        // `on` returns its unsubscribe function synchronously in Electron: keep that shape.
        api.on = (event: string, listener: (...a: unknown[]) => void) => {
          const pendingOff = w.__lancamElectronCall({ method: 'on', args: wrap([event, listener]) }).then(unwrap);
          return () => void pendingOff.then((off) => (off as () => Promise<unknown>)());
        };
        w.lancamIpc = Object.freeze(api);
      }, Object.keys(exposed).filter((k) => k !== 'on'));
    },
  };
}
