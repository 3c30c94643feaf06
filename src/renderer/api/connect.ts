/**
 * Where the renderer gets its LancamApi: `window.lancamIpc` inside Electron (exposed by the preload, wrapped by electron-client.ts),
 * otherwise the browser harness (`lancam ui`), reached with the one-time token from the address's
 * fragment. Anything else cannot talk to the companion, and the page says so.
 */
import { ApiError } from '../../shared/ui/api';
import type { LancamApi, PreloadApi } from '../../preload/api';
import { connectBridge, takeTokenFromLocation } from './bridge-client';
import { apiFromPreload } from './electron-client';

declare global {
  interface Window {
    /** Set by the Electron preload (contextBridge); absent in a plain browser. */
    lancamIpc?: PreloadApi;
  }
}

export type ApiConnection =
  | { kind: 'ready'; api: LancamApi; transport: 'electron' | 'bridge' }
  | { kind: 'no-token' }
  | { kind: 'failed'; message: string };

export async function connectApi(onDisconnect?: (reason: string) => void): Promise<ApiConnection> {
  if (window.lancamIpc) return { kind: 'ready', api: apiFromPreload(window.lancamIpc), transport: 'electron' };
  const token = takeTokenFromLocation();
  if (!token) return { kind: 'no-token' };
  try {
    const api = await connectBridge(token, undefined, { onClose: onDisconnect });
    return { kind: 'ready', api, transport: 'bridge' };
  } catch (err) {
    return { kind: 'failed', message: err instanceof ApiError || err instanceof Error ? err.message : String(err) };
  }
}
