/**
 * The preload: exposes LancamApi to the renderer as `window.lancam`, one named function per API
 * method, each an IPC call to main on its own channel. The renderer never gets ipcRenderer, and
 * can only subscribe to the listed events.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { API_EVENTS, API_METHODS, ApiError, type LancamEvents } from '../shared/ui/api';
import { IPC_EVENT_PREFIX, IPC_METHOD_PREFIX, type IpcReply } from '../shared/ui/ipc';

const api: Record<string, unknown> = {};

for (const method of API_METHODS) {
  api[method] = async (...args: unknown[]) => {
    const reply = (await ipcRenderer.invoke(`${IPC_METHOD_PREFIX}${method}`, ...args)) as IpcReply;
    if (!reply.ok) throw new ApiError(reply.error.status, reply.error.message);
    return reply.result;
  };
}

api.on = <E extends keyof LancamEvents>(event: E, listener: (data: LancamEvents[E]) => void) => {
  if (!API_EVENTS.includes(event)) throw new Error(`no such event: ${String(event)}`);
  const handler = (_event: IpcRendererEvent, data: LancamEvents[E]) => listener(data);
  ipcRenderer.on(`${IPC_EVENT_PREFIX}${event}`, handler);
  return () => void ipcRenderer.removeListener(`${IPC_EVENT_PREFIX}${event}`, handler);
};

contextBridge.exposeInMainWorld('lancam', api);
