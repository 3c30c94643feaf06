/** The LancamApi for every component below the root (Electron's preload or the harness bridge). */
import { createContext, useContext, type ReactNode } from 'react';
import type { LancamApi } from '../../shared/ui/api';

const ApiContext = createContext<LancamApi | null>(null);

export function ApiProvider({ api, children }: { api: LancamApi; children: ReactNode }) {
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}

export function useApi(): LancamApi {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside ApiProvider');
  return api;
}
