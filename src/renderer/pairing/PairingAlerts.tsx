/**
 * What an administrator must see at once, on every page: a key that just paired with one of their
 * cameras (who, as whom, the whole grouped key, when, from where) with a one-step "Remove", and the
 * camera's local-open alarms (overlap, late attempt) in plain words. Each stays until dismissed.
 */
import { useEffect, useState } from 'react';
import type { DeviceEntry, PairingAlertView, PairingRecordView } from '../../shared/ui/api';
import { useApi } from '../app/api-context';
import { useNotify } from '../app/notices';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Fingerprint } from '../components/Fingerprint';
import { alertAdvice, alertHeadline, canUndo, pairingModeWords, undoWords } from './pairing-words';

type Item = { id: number; kind: 'paired'; record: PairingRecordView } | { id: number; kind: 'alert'; alert: PairingAlertView };

/** Keeps the newest few: a flood of alerts from a noisy network must not bury the page. */
const KEEP = 5;
let nextId = 1;

export function PairingAlerts({ devices, ownFingerprint, onRemoved }: { devices: DeviceEntry[]; ownFingerprint: string | undefined; onRemoved?: (deviceId: string) => void }) {
  const api = useApi();
  const notify = useNotify();
  const [items, setItems] = useState<Item[]>([]);
  const [removing, setRemoving] = useState<Item & { kind: 'paired' }>();

  useEffect(() => {
    const add = (item: Item) => setItems((list) => [...list, item].slice(-KEEP));
    const offPaired = api.on('paired', (record) => {
      // This computer's own pairing is no news to its user.
      if (record.fingerprint === ownFingerprint) return;
      add({ id: nextId++, kind: 'paired', record });
    });
    const offAlert = api.on('pairingAlert', (alert) => add({ id: nextId++, kind: 'alert', alert }));
    return () => {
      offPaired();
      offAlert();
    };
  }, [api, ownFingerprint]);

  const dismiss = (id: number) => setItems((list) => list.filter((i) => i.id !== id));
  const cameraName = (deviceId: string) => devices.find((d) => d.deviceId === deviceId)?.friendlyName || deviceId;

  if (items.length === 0 && !removing) return null;
  return (
    <section className="pairing-alerts" aria-label="Pairing alerts" data-testid="pairing-alerts">
      {items.map((item) =>
        item.kind === 'paired' ? (
          <div key={item.id} className="banner banner--warning pairing-alert" role="alert" data-testid="pairing-alert-paired" data-device-id={item.record.deviceId}>
            <p className="pairing-alert__text">
              <strong>
                A new key paired with {cameraName(item.record.deviceId)}
              </strong>
              : user <strong>{item.record.username}</strong>
              {item.record.role ? ` (${item.record.role})` : ''}, {pairingModeWords(item.record.mode)}, from {item.record.remoteAddress}, at {new Date(item.record.at).toLocaleString()}.
            </p>
            <p className="pairing-alert__key">
              Key{item.record.fingerprintName !== undefined ? ` "${item.record.fingerprintName}" (the name it gave itself)` : ''}: <Fingerprint value={item.record.fingerprint} label="Key fingerprint" testId="pairing-alert-fingerprint" />
            </p>
            <p className="pairing-alert__hint">Not who you expected? Remove it now.</p>
            <div className="button-row">
              {canUndo(item.record) ? (
                <button type="button" className="button button--danger" onClick={() => setRemoving(item)} data-testid="pairing-alert-remove">
                  Remove
                </button>
              ) : null}
              <button type="button" className="button button--ghost" onClick={() => dismiss(item.id)} data-testid="pairing-alert-dismiss">
                It was expected, dismiss
              </button>
            </div>
          </div>
        ) : (
          <div key={item.id} className="banner banner--danger pairing-alert" role="alert" data-testid={`pairing-alert-${item.alert.reason}`} data-device-id={item.alert.deviceId}>
            <p className="pairing-alert__text">
              <strong>{alertHeadline(item.alert, cameraName(item.alert.deviceId))}</strong>
            </p>
            <p className="pairing-alert__hint">{alertAdvice(item.alert)}</p>
            <ul className="key-list">
              {item.alert.fingerprints.map((f) => (
                <li key={f}>
                  {item.alert.reason === 'late-attempt' ? 'Late key: ' : 'Key: '}
                  <Fingerprint value={f} label="Key fingerprint" />
                </li>
              ))}
              {item.alert.pairedFingerprint ? (
                <li>
                  Key that paired: <Fingerprint value={item.alert.pairedFingerprint} label="Key fingerprint" />
                </li>
              ) : null}
            </ul>
            <div className="button-row">
              <button type="button" className="button button--ghost" onClick={() => dismiss(item.id)} data-testid="pairing-alert-dismiss">
                Dismiss
              </button>
            </div>
          </div>
        ),
      )}
      {removing ? (
        <ConfirmDialog
          title={`Remove this pairing from ${cameraName(removing.record.deviceId)}?`}
          confirmLabel="Remove"
          danger
          errorContext="access"
          onClose={() => setRemoving(undefined)}
          onConfirm={async () => {
            await api.undoLastPairing(removing.record.deviceId, removing.record.fingerprint);
            dismiss(removing.id);
            onRemoved?.(removing.record.deviceId);
            notify('success', `Removed ${undoWords(removing.record)} from ${cameraName(removing.record.deviceId)}.`);
          }}
        >
          <p>
            This removes {undoWords(removing.record)}. Whoever holds that key can no longer watch or change this camera.
          </p>
          <Fingerprint value={removing.record.fingerprint} label="Key fingerprint" />
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
