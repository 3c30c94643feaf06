/** How LancamApi travels over Electron IPC (preload <-> main). */
import type { ApiErrorShape, ApiMethod, LancamEvents, Unsubscribe } from './api';

export const IPC_METHOD_PREFIX = 'lancam:';
export const IPC_EVENT_PREFIX = 'lancam-event:';

/**
 * Every call is answered with this, as plain data: contextBridge keeps only an Error's message
 * (no class, no `status`), so an error travels as {status, message} and the renderer rebuilds it.
 */
export type IpcReply = { ok: true; result: unknown } | { ok: false; error: ApiErrorShape };

/**
 * `window.lancamIpc` as the preload exposes it: one function per API method, resolving to an
 * IpcReply (never rejecting with an error object), and `on` for the listed events.
 */
export type PreloadApi = { [M in ApiMethod]: (...args: unknown[]) => Promise<IpcReply> } & {
  on<E extends keyof LancamEvents>(event: E, listener: (data: LancamEvents[E]) => void): Unsubscribe;
};
