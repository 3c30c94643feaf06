import type { DeviceEntry } from '../../shared/ui/api';
import { Fingerprint } from '../components/Fingerprint';
import { StatusPill } from '../components/StatusPill';
import { KeyChangedWarning } from './KeyChangedWarning';

interface DeviceCardProps {
  device: DeviceEntry;
  watching: boolean;
  /** A recent picture from the live view (a data: URL). */
  thumbnail?: string | undefined;
  onPair: () => void;
  onWatch: () => void;
  onAccess: () => void;
  onForget: () => void;
}

/** Roles with something to manage: Guest may only read its own user (see README, "A fresh camera's defaults"). */
export function hasAccessToManage(role: string | undefined): boolean {
  return role !== 'Guest';
}

export function DeviceCard({ device, watching, thumbnail, onPair, onWatch, onAccess, onForget }: DeviceCardProps) {
  const id = device.deviceId;
  const keyChanged = device.status === 'key-changed';
  const online = device.status === 'online';
  const revoked = device.status === 'revoked';
  // Off this network but reachable through a relay: video still works, managing does not.
  const watchable = online || (device.status === 'offline' && device.remoteAccess === true);
  // "Watching" only while the picture can really show.
  const watchingNow = watching && watchable;
  const name = device.friendlyName || id;
  return (
    <li className={`device-card device-card--${device.status}${device.paired ? ' device-card--paired' : ''}`} data-testid={`device-card-${id}`} data-status={device.status} data-paired={device.paired}>
      {device.paired ? (
        <div className="device-card__thumb" data-testid={`device-thumb-${id}`} data-has-picture={thumbnail !== undefined}>
          {thumbnail ? <img src={thumbnail} alt={`Recent picture from ${name}`} /> : <span className="device-card__thumb-empty">{watchable ? 'Watch to see a picture' : 'No recent picture'}</span>}
        </div>
      ) : null}
      <div className="device-card__head">
        <div className="device-card__title">
          <span className="device-card__icon" aria-hidden="true" />
          <div>
            <h3 className="device-card__name">{device.friendlyName || id}</h3>
            <p className="device-card__id">{id}</p>
          </div>
        </div>
        <StatusPill status={device.status} testId={`device-status-${id}`} />
      </div>

      {device.paired && device.username ? (
        <p className="device-card__user" data-testid={`device-user-${id}`}>
          You are <strong>{device.username}</strong>
          {device.role ? <span className="role-badge">{device.role}</span> : null}
        </p>
      ) : null}

      {keyChanged ? (
        <KeyChangedWarning device={device} onForget={onForget} />
      ) : device.paired ? (
        // Checked when pairing; kept at hand, not in the way.
        <details className="device-card__key device-card__key--disclosure" data-testid={`device-key-${id}`}>
          <summary className="device-card__key-label">Key</summary>
          <Fingerprint value={device.pinnedFingerprint ?? device.fingerprint} label="Pinned key" testId={`device-fingerprint-${id}`} />
        </details>
      ) : (
        <div className="device-card__key">
          <span className="device-card__key-label">Camera key</span>
          <Fingerprint value={device.fingerprint} label="Camera key" testId={`device-fingerprint-${id}`} />
        </div>
      )}

      {keyChanged ? null : (
        <div className="device-card__actions">
          {device.paired ? (
            <>
              <button type="button" className="button button--primary" onClick={onWatch} disabled={!watchable} data-testid={`device-watch-${id}`} aria-pressed={watchingNow}>
                {watchingNow ? 'Watching' : 'Watch'}
              </button>
              {hasAccessToManage(device.role) && !revoked ? (
                <button type="button" className="button button--secondary" onClick={onAccess} disabled={!online} data-testid={`device-access-${id}`}>
                  Manage access
                </button>
              ) : null}
              <button type="button" className="button button--ghost button--push" onClick={onForget} data-testid={`device-forget-${id}`}>
                Forget…
              </button>
            </>
          ) : (
            <button type="button" className="button button--primary" onClick={onPair} disabled={!online} data-testid={`device-pair-${id}`}>
              Pair…
            </button>
          )}
        </div>
      )}
      {revoked ? (
        <p className="device-card__hint" data-testid={`device-revoked-${id}`}>
          The camera's owner removed your access. Ask them for a new invitation, or forget this camera.
        </p>
      ) : null}
      {device.paired && device.status === 'offline' ? (
        <p className="device-card__hint" data-testid={`device-offline-hint-${id}`}>
          {device.remoteAccess ? 'Not on this network: video comes through the relay.' : 'This camera is not answering on the network right now.'}
        </p>
      ) : null}
    </li>
  );
}
