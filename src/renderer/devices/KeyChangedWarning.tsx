/**
 * The changed-key warning (SSH's "REMOTE HOST IDENTIFICATION HAS CHANGED"): loud, explained, and
 * never a silent re-pair. The only way forward it offers is to forget the camera deliberately.
 */
import type { DeviceEntry } from '../../shared/ui/api';
import { Fingerprint } from '../components/Fingerprint';

export function KeyChangedWarning({ device, onForget }: { device: DeviceEntry; onForget: () => void }) {
  const pinned = device.pinnedFingerprint;
  const presented = device.fingerprint;
  return (
    <section className="key-warning" role="alert" aria-labelledby={`key-warning-${device.deviceId}`} data-testid={`key-changed-${device.deviceId}`}>
      <h4 className="key-warning__title" id={`key-warning-${device.deviceId}`}>
        <span className="key-warning__icon" aria-hidden="true">
          !
        </span>
        Warning: this camera's key has changed
      </h4>
      <p className="key-warning__text">This camera presented a different key than the one you paired with. Someone may be impersonating it. Video and settings are blocked.</p>
      <dl className="key-warning__keys">
        {pinned ? (
          <div>
            <dt>Key you paired with</dt>
            <dd>
              <Fingerprint value={pinned} label="Key you paired with" testId={`key-changed-pinned-${device.deviceId}`} />
            </dd>
          </div>
        ) : null}
        {presented && presented !== pinned ? (
          <div>
            <dt>Key it presents now</dt>
            <dd>
              <Fingerprint value={presented} label="Key it presents now" testId={`key-changed-presented-${device.deviceId}`} />
            </dd>
          </div>
        ) : null}
      </dl>
      <p className="key-warning__text key-warning__text--muted">
        If you replaced or reset this camera yourself, check the new key on the camera (lancam-device prints it when it starts), then forget it here and pair again. If you did not, leave it blocked and check your network.
      </p>
      <div className="button-row">
        <button type="button" className="button button--danger" onClick={onForget} data-testid={`key-changed-forget-${device.deviceId}`}>
          Forget this camera…
        </button>
      </div>
    </section>
  );
}
