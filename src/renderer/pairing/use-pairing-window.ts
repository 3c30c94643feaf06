/** The camera's pairing window ("button pressed"), from the companion's pairingWindow events. */
import { useEffect, useState } from 'react';
import type { LancamApi } from '../../shared/ui/api';

export interface PairingWindowState {
  open: boolean;
  secondsLeft: number;
  /** Length of the window when it opened (for the progress bar). */
  total: number;
}

/**
 * `knownSeconds`: what the camera said when asked (GET /iam/pairing), so an already open window
 * shows its countdown at once, before any event arrives.
 */
export function usePairingWindow(api: LancamApi, deviceId: string | undefined, knownSeconds?: number): PairingWindowState | undefined {
  const [current, setCurrent] = useState<{ open: boolean; endsAt: number; total: number }>();
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    if (!knownSeconds) return;
    const received = Date.now();
    setNow(received);
    setCurrent((previous) => (previous?.open ? previous : { open: true, endsAt: received + knownSeconds * 1000, total: Math.max(knownSeconds, 120) }));
  }, [knownSeconds]);

  useEffect(() => {
    if (!deviceId) return undefined;
    return api.on('pairingWindow', (event) => {
      if (event.deviceId !== deviceId) return;
      // One clock reading for both, or the updater (run later) would add time and show 2:01.
      const received = Date.now();
      setNow(received);
      setCurrent((previous) => ({
        open: event.open,
        endsAt: received + event.seconds * 1000,
        total: event.open ? Math.max(event.seconds, previous?.open ? previous.total : 0) : 0,
      }));
    });
  }, [api, deviceId]);

  useEffect(() => {
    if (!current?.open) return undefined;
    const timer = globalThis.setInterval(() => setNow(Date.now()), 1000);
    return () => globalThis.clearInterval(timer);
  }, [current]);

  if (!current) return undefined;
  const secondsLeft = current.open ? Math.max(0, Math.ceil((current.endsAt - now) / 1000)) : 0;
  return { open: current.open && secondsLeft > 0, secondsLeft, total: current.total };
}

export function formatSeconds(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}
