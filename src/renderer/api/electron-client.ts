/**
 * LancamApi inside Electron: wraps the preload's `window.lancamIpc`, whose calls resolve to plain
 * {ok, result} / {ok: false, error: {status, message}} replies (errors cannot cross contextBridge
 * with their class or status), and turns each error back into an ApiError, so the UI's `status`
 * checks (wrong password, throttled, forbidden...) work the same as over the `lancam ui` bridge.
 */
import { API_METHODS, ApiError, type LancamApi, type LancamEvents } from '../../shared/ui/api';
import type { IpcReply, PreloadApi } from '../../shared/ui/ipc';

/** An IpcReply's error as an ApiError; anything not shaped like a reply is a protocol error. */
export function unwrapReply(reply: unknown): unknown {
  const r = reply as Partial<{ ok: boolean; result: unknown; error: { status?: unknown; message?: unknown } }> | null;
  if (r && r.ok === true) return r.result;
  if (r && r.ok === false && r.error) {
    const status = typeof r.error.status === 'number' || typeof r.error.status === 'string' ? r.error.status : 'error';
    return Promise.reject(new ApiError(status, typeof r.error.message === 'string' ? r.error.message : 'unknown error'));
  }
  return Promise.reject(new ApiError('ipc', 'the lancam desktop app answered something unexpected'));
}

export function apiFromPreload(ipc: PreloadApi): LancamApi {
  const api: Record<string, unknown> = {};
  for (const method of API_METHODS) {
    api[method] = async (...args: unknown[]) => {
      const call = ipc[method] as ((...a: unknown[]) => Promise<IpcReply>) | undefined;
      if (typeof call !== 'function') throw new ApiError('ipc', `this version of the desktop app has no ${method}`);
      let reply: IpcReply;
      try {
        reply = await call(...args);
      } catch (err) {
        // Only the message crosses contextBridge: no status to keep.
        throw new ApiError('ipc', err instanceof Error ? err.message : String(err));
      }
      return unwrapReply(reply);
    };
  }
  api.on = <E extends keyof LancamEvents>(event: E, listener: (data: LancamEvents[E]) => void) => ipc.on(event, listener);
  return api as unknown as LancamApi;
}
