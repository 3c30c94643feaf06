/**
 * Where the renderer gets its LancamApi: `window.lancam` inside Electron (exposed by the preload),
 * otherwise the browser harness (`lancam ui`), reached with the one-time token from the address's
 * fragment. Anything else cannot talk to the companion, and the page says so.
 */
import { ApiError } from '../../shared/ui/api';
import type { LancamApi } from '../../preload/api';
import { connectBridge, takeTokenFromLocation } from './bridge-client';

declare global {
  interface Window {
    /** Set by the Electron preload (contextBridge); absent in a plain browser. */
    lancam?: LancamApi;
  }
}

export type ApiConnection =
  | { kind: 'ready'; api: LancamApi; transport: 'electron' | 'bridge' }
  | { kind: 'no-token' }
  | { kind: 'failed'; message: string };

export async function connectApi(onDisconnect?: (reason: string) => void): Promise<ApiConnection> {
  if (window.lancam) return { kind: 'ready', api: window.lancam, transport: 'electron' };
  const token = takeTokenFromLocation();
  if (!token) return { kind: 'no-token' };
  try {
    const api = await connectBridge(token, undefined, { onClose: onDisconnect });
    return { kind: 'ready', api, transport: 'bridge' };
  } catch (err) {
    return { kind: 'failed', message: err instanceof ApiError || err instanceof Error ? err.message : String(err) };
  }
}
