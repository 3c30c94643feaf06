/** The camera list, kept live: the companion pushes 'devices' whenever anything changes. */
import { useEffect, useState } from 'react';
import type { DeviceEntry, LancamApi } from '../../shared/ui/api';

export interface DevicesState {
  devices: DeviceEntry[];
  loaded: boolean;
  error: unknown;
}

export function useDevices(api: LancamApi): DevicesState {
  const [state, setState] = useState<DevicesState>({ devices: [], loaded: false, error: undefined });
  useEffect(() => {
    let pushed = false;
    let active = true;
    // Subscribe first, so a change between the two cannot be lost.
    const off = api.on('devices', (devices) => {
      pushed = true;
      if (active) setState({ devices, loaded: true, error: undefined });
    });
    api.listDevices().then(
      (devices) => {
        if (active && !pushed) setState({ devices, loaded: true, error: undefined });
      },
      (error: unknown) => {
        if (active && !pushed) setState((s) => ({ ...s, loaded: true, error }));
      },
    );
    return () => {
      active = false;
      off();
    };
  }, [api]);
  return state;
}
