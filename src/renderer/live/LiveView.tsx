/** The live grid: the paired cameras you opened, side by side. */
import type { DeviceEntry } from '../../shared/ui/api';
import { LiveTile } from './LiveTile';

interface LiveViewProps {
  devices: readonly DeviceEntry[];
  open: readonly string[];
  onToggle: (deviceId: string) => void;
}

export function LiveView({ devices, open, onToggle }: LiveViewProps) {
  const paired = devices.filter((d) => d.paired);
  const tiles = open.map((id) => devices.find((d) => d.deviceId === id)).filter((d): d is DeviceEntry => d !== undefined);
  return (
    <div className="page page--live" data-testid="live-view">
      <div className="page__header">
        <div>
          <h1 className="page__title">Live view</h1>
          <p className="page__subtitle">Choose the cameras to watch. Video goes straight from each camera to this computer.</p>
        </div>
      </div>
      {paired.length > 0 ? (
        <div className="chip-row" role="group" aria-label="Cameras to watch">
          {paired.map((d) => {
            const on = open.includes(d.deviceId);
            // On this network, or away but reachable through the relay.
            const available = d.status === 'online' || (d.status === 'offline' && d.remoteAccess === true);
            return (
              <button key={d.deviceId} type="button" className={`chip${on ? ' chip--on' : ''}`} aria-pressed={on} disabled={!available && !on} onClick={() => onToggle(d.deviceId)} data-testid={`live-toggle-${d.deviceId}`}>
                <span className={`chip__dot chip__dot--${d.status}`} aria-hidden="true" />
                {d.friendlyName || d.deviceId}
                {!available ? <span className="chip__note">{d.status === 'key-changed' ? 'key changed' : d.status === 'revoked' ? 'access removed' : 'offline'}</span> : d.status === 'offline' ? <span className="chip__note">via relay</span> : null}
              </button>
            );
          })}
        </div>
      ) : null}
      {tiles.length > 0 ? (
        <div className={`live-grid live-grid--${Math.min(tiles.length, 3)}`} data-testid="live-grid">
          {tiles.map((d) => (
            <LiveTile key={d.deviceId} device={d} onClose={() => onToggle(d.deviceId)} />
          ))}
        </div>
      ) : (
        <div className="empty empty--large">
          <p className="empty__title">No cameras open</p>
          <p>{paired.length > 0 ? 'Pick a camera above to start watching.' : 'Pair with a camera first, under Cameras.'}</p>
        </div>
      )}
    </div>
  );
}
