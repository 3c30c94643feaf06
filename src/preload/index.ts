/**
 * The preload: exposes the lancam API to the renderer as `window.lancamIpc`, one named function
 * per API method, each an IPC call to main on its own channel. The renderer never gets
 * ipcRenderer, and can subscribe only to the listed events.
 *
 * It runs in Electron's sandbox, whose `require` loads only `electron`, `events`, `timers` and
 * `url`, so this file imports nothing else at run time: the method and event lists are written
 * into the bundle at build time (electron.vite.config.ts reads them from src/shared/ui/api.ts, so a
 * new API method needs no edit here). Nothing thrown here would survive contextBridge with its
 * class or properties, so failures travel as data: every call resolves to an IpcReply
 * ({ok, result} or {ok: false, error: {status, message}}), and the renderer turns errors back into
 * ApiError (src/renderer/api/electron-client.ts).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { PreloadApi } from './api';
import { IPC_EVENT_PREFIX, IPC_METHOD_PREFIX, type IpcReply } from '../shared/ui/ipc';

declare const __LANCAM_API_METHODS__: readonly string[];
declare const __LANCAM_API_EVENTS__: readonly string[];

const methods: readonly string[] = __LANCAM_API_METHODS__;
const events: readonly string[] = __LANCAM_API_EVENTS__;

const api: Record<string, unknown> = {};

for (const method of methods) {
  api[method] = async (...args: unknown[]): Promise<IpcReply> => {
    try {
      return (await ipcRenderer.invoke(`${IPC_METHOD_PREFIX}${method}`, ...args)) as IpcReply;
    } catch (err) {
      // invoke rejects when main has no handler or an argument cannot be cloned.
      const message = (err as { message?: unknown } | null)?.message;
      return { ok: false, error: { status: 'ipc', message: typeof message === 'string' ? message : String(err) } };
    }
  };
}

api.on = (event: string, listener: (data: unknown) => void): (() => void) => {
  if (!events.includes(event)) throw new Error(`no such event: ${event}`);
  if (typeof listener !== 'function') throw new Error('listener must be a function');
  const handler = (_event: IpcRendererEvent, data: unknown) => listener(data);
  ipcRenderer.on(`${IPC_EVENT_PREFIX}${event}`, handler);
  return () => void ipcRenderer.removeListener(`${IPC_EVENT_PREFIX}${event}`, handler);
};

contextBridge.exposeInMainWorld('lancamIpc', api as PreloadApi);
