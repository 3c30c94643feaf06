/**
 * LancamApi over the browser harness's WebSocket (`lancam ui`). In Electron the same API comes
 * from the preload's `window.lancamIpc` (electron-client.ts); the renderer does not care which.
 */
import { API_METHODS, ApiError, type ApiMethod, type LancamApi, type LancamEvents } from '../../shared/ui/api';

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

/** Reads the token from the address bar's fragment and removes it from there (and from history). */
export function takeTokenFromLocation(): string | undefined {
  const match = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(window.location.hash);
  if (!match) return undefined;
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
  return match[1];
}

export interface BridgeOptions {
  /** Called once when an established connection to the companion closes. */
  onClose?: ((reason: string) => void) | undefined;
}

export async function connectBridge(token: string, url = `${window.location.origin.replace(/^http/, 'ws')}/api`, options: BridgeOptions = {}): Promise<LancamApi> {
  const ws = new WebSocket(url);
  const pending = new Map<number, Pending>();
  const listeners = new Map<string, Set<(data: unknown) => void>>();
  let nextId = 1;

  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', token }));
    ws.onerror = () => reject(new ApiError('unreachable', 'cannot reach the lancam companion'));
    ws.onclose = (event) => reject(new ApiError(event.code === 4401 ? 401 : 'closed', event.code === 4401 ? 'this page\'s access token is not valid; open the address that `lancam ui` printed' : 'the lancam companion closed the connection'));
    ws.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as { type?: string };
      if (message.type === 'ready') resolve();
    };
  });

  ws.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { status: number | string; message: string }; event?: string; data?: unknown };
    if (message.event !== undefined) {
      for (const listener of listeners.get(message.event) ?? []) listener(message.data);
      return;
    }
    const call = message.id !== undefined ? pending.get(message.id) : undefined;
    if (!call) return;
    pending.delete(message.id!);
    if (message.error) call.reject(new ApiError(message.error.status, message.error.message));
    else call.resolve(message.result);
  };
  ws.onclose = () => {
    for (const call of pending.values()) call.reject(new ApiError('closed', 'the lancam companion closed the connection'));
    pending.clear();
    options.onClose?.('the lancam companion closed the connection');
  };

  const invoke = (method: ApiMethod, args: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      if (ws.readyState !== WebSocket.OPEN) return reject(new ApiError('closed', 'the lancam companion is not connected'));
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, args }));
    });

  const api: Record<string, unknown> = {};
  for (const method of API_METHODS) api[method] = (...args: unknown[]) => invoke(method, args);
  api.on = <E extends keyof LancamEvents>(event: E, listener: (data: LancamEvents[E]) => void) => {
    const set = listeners.get(event) ?? new Set();
    set.add(listener as (data: unknown) => void);
    listeners.set(event, set);
    return () => set.delete(listener as (data: unknown) => void);
  };
  return api as unknown as LancamApi;
}
