/** The desktop app: cameras (with pairing and access control), the live grid, and this install's identity. */
import { useCallback, useEffect, useState } from 'react';
import type { DeviceEntry, IdentityView, LancamApi } from '../../shared/ui/api';
import { AccessView } from '../access/AccessView';
import { DevicesView } from '../devices/DevicesView';
import { IdentityFooter, KeyProtectionWarning } from '../identity/IdentityFooter';
import { isWatchable, LiveView } from '../live/LiveView';
import { PairingAlerts } from '../pairing/PairingAlerts';
import { PairingDialog, type PairingTarget } from '../pairing/PairingDialog';
import { ApiProvider } from './api-context';
import { NoticeProvider } from './notices';
import { useDevices } from './use-devices';

type View = { name: 'devices' } | { name: 'live' } | { name: 'access'; deviceId: string };

export function App({ api, disconnected }: { api: LancamApi; disconnected?: string | undefined }) {
  return (
    <ApiProvider api={api}>
      <NoticeProvider>
        <Shell api={api} disconnected={disconnected} />
      </NoticeProvider>
    </ApiProvider>
  );
}

function Shell({ api, disconnected }: { api: LancamApi; disconnected?: string | undefined }) {
  const { devices, loaded } = useDevices(api);
  const [identity, setIdentity] = useState<IdentityView>();
  const [view, setView] = useState<View>({ name: 'devices' });
  const [watching, setWatching] = useState<string[]>([]);
  const [pairing, setPairing] = useState<PairingTarget>();
  const [layoutLoaded, setLayoutLoaded] = useState(false);
  const [thumbnails, setThumbnails] = useState<Record<string, string>>({});
  /** Bumped when a pairing is removed from an alert, so an open Access page shows it gone. */
  const [accessVersion, setAccessVersion] = useState(0);

  useEffect(() => {
    api.identity().then(setIdentity, () => undefined);
  }, [api]);

  // The grid as it was left (kept in the companion's home, for the desktop and `lancam ui` alike).
  useEffect(() => {
    let active = true;
    api.getLiveLayout().then(
      (layout) => {
        if (!active) return;
        setWatching((list) => (list.length > 0 ? list : layout.open));
        setLayoutLoaded(true);
      },
      () => active && setLayoutLoaded(true),
    );
    return () => {
      active = false;
    };
  }, [api]);

  useEffect(() => {
    if (layoutLoaded) void api.setLiveLayout({ open: watching }).catch(() => undefined);
  }, [api, watching, layoutLoaded]);

  // A camera that was forgotten leaves the live grid.
  useEffect(() => {
    if (!loaded || !layoutLoaded) return;
    setWatching((list) => {
      const next = list.filter((id) => devices.some((d) => d.deviceId === id && d.paired));
      return next.length === list.length ? list : next;
    });
  }, [devices, loaded, layoutLoaded]);

  const onThumbnail = useCallback((deviceId: string, dataUrl: string) => setThumbnails((all) => ({ ...all, [deviceId]: dataUrl })), []);
  // The badge counts what is really showing: not a camera that is offline, revoked or blocked.
  const showing = watching.filter((id) => {
    const d = devices.find((x) => x.deviceId === id);
    return d !== undefined && isWatchable(d);
  }).length;

  const toggleWatch = useCallback((deviceId: string) => setWatching((list) => (list.includes(deviceId) ? list.filter((id) => id !== deviceId) : [...list, deviceId])), []);
  const watch = useCallback((deviceId: string) => {
    setWatching((list) => (list.includes(deviceId) ? list : [...list, deviceId]));
    setView({ name: 'live' });
  }, []);

  const current = view.name === 'live' ? 'live' : 'devices';
  return (
    <div className="app">
      <header className="app-header">
        <div className="brand">
          <span className="brand__mark" aria-hidden="true" />
          <span className="brand__name">lancam</span>
        </div>
        <nav className="nav" aria-label="Main">
          <button type="button" className={`nav__item${current === 'devices' ? ' nav__item--current' : ''}`} aria-current={current === 'devices' ? 'page' : undefined} onClick={() => setView({ name: 'devices' })} data-testid="nav-devices">
            Cameras
          </button>
          <button type="button" className={`nav__item${current === 'live' ? ' nav__item--current' : ''}`} aria-current={current === 'live' ? 'page' : undefined} onClick={() => setView({ name: 'live' })} data-testid="nav-live">
            Live view
            {showing > 0 ? (
              <span className="nav__badge" data-testid="nav-live-count" aria-label={`${showing} watching`}>
                {showing}
              </span>
            ) : null}
          </button>
        </nav>
      </header>

      {disconnected ? (
        <div className="banner banner--danger" role="alert" data-testid="disconnected">
          <strong>Lost the connection to lancam</strong> ({disconnected}). Nothing on this page works until it is back: restart <code>lancam ui</code> and open the address it prints.
        </div>
      ) : null}
      <KeyProtectionWarning identity={identity} />
      <PairingAlerts devices={devices} ownFingerprint={identity?.fingerprint} onRemoved={() => setAccessVersion((v) => v + 1)} />

      <main className="app-main" id="main">
        {view.name === 'devices' ? (
          <DevicesView
            devices={devices}
            loaded={loaded}
            watching={watching}
            thumbnails={thumbnails}
            onPair={(device: DeviceEntry) => setPairing({ kind: 'device', device })}
            onPairInvitation={(pairingString) => setPairing({ kind: 'invitation', pairingString })}
            onWatch={watch}
            onAccess={(deviceId) => setView({ name: 'access', deviceId })}
          />
        ) : null}
        {view.name === 'access' ? <AccessView deviceId={view.deviceId} device={devices.find((d) => d.deviceId === view.deviceId)} version={accessVersion} onBack={() => setView({ name: 'devices' })} /> : null}
        {/* Always mounted: switching pages does not tear down and restart every stream. */}
        <LiveView devices={devices} open={watching} onToggle={toggleWatch} onReorder={setWatching} onThumbnail={onThumbnail} active={view.name === 'live'} />
      </main>

      <IdentityFooter identity={identity} />

      {pairing ? <PairingDialog target={pairing} devices={devices} onClose={() => setPairing(undefined)} onWatch={watch} /> : null}
    </div>
  );
}
