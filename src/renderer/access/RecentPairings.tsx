/**
 * The pairings the camera made since it started (administrators): who, how, from where, when, and
 * the whole key, newest first, with the one-step undo on the most recent one.
 */
import { useCallback, useEffect, useState } from 'react';
import type { PairingRecordView } from '../../shared/ui/api';
import { useApi } from '../app/api-context';
import { useNotify } from '../app/notices';
import { plainError, type PlainError } from '../api/errors';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { Fingerprint } from '../components/Fingerprint';
import { Spinner } from '../components/Spinner';
import { canUndo, pairingModeWords, undoWords } from '../pairing/pairing-words';
import { formatWhen } from './when';

export function RecentPairings({ deviceId, deviceName, version = 0, onChanged }: { deviceId: string; deviceName: string; version?: number; onChanged: () => Promise<void> }) {
  const api = useApi();
  const notify = useNotify();
  const [records, setRecords] = useState<PairingRecordView[]>();
  const [error, setError] = useState<PlainError>();
  const [removing, setRemoving] = useState<PairingRecordView>();

  const load = useCallback(async () => {
    try {
      setRecords(await api.recentPairings(deviceId));
      setError(undefined);
    } catch (err) {
      setError(plainError(err, 'access'));
    }
  }, [api, deviceId]);

  useEffect(() => {
    void load();
    // A pairing while this page is open shows up here at once.
    return api.on('paired', (record) => {
      if (record.deviceId === deviceId) void load();
    });
  }, [api, deviceId, load, version]);

  const newestFirst = records ? [...records].reverse() : [];
  return (
    <section className="card" aria-labelledby="recent-pairings-heading" data-testid="recent-pairings">
      <div className="card__header">
        <h2 className="card__title" id="recent-pairings-heading">
          Recent pairings
        </h2>
        {records ? <span className="section__count">{records.length}</span> : null}
      </div>
      <p className="muted">Every key that paired since the camera last started. Not who you expected? Remove the most recent one here.</p>
      {error ? <ErrorMessage error={error} testId="recent-pairings-error" /> : null}
      {!records && !error ? <Spinner label="Loading pairings…" /> : null}
      {records && records.length === 0 ? <p className="muted">No pairings since the camera started.</p> : null}
      {newestFirst.length > 0 ? (
        <ul className="key-list" data-testid="recent-pairings-list">
          {newestFirst.map((r, i) => (
            <li key={`${r.at}-${r.fingerprint}`} data-testid="recent-pairing" data-username={r.username}>
              <p>
                <strong>{r.username}</strong>
                {r.role ? <span className="role-badge">{r.role}</span> : null} paired {pairingModeWords(r.mode)} from {r.remoteAddress},{' '}
                <time dateTime={r.at} title={new Date(r.at).toLocaleString()}>
                  {formatWhen(r.at)}
                </time>
                {r.fingerprintName !== undefined ? <span className="muted"> · key name "{r.fingerprintName}"</span> : null}
              </p>
              <Fingerprint value={r.fingerprint} label="Key fingerprint" />
              {i === 0 && canUndo(r) ? (
                <div className="button-row">
                  <button type="button" className="button button--danger button--small" onClick={() => setRemoving(r)} data-testid="recent-pairing-remove">
                    Remove this pairing
                  </button>
                </div>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
      {removing ? (
        <ConfirmDialog
          title={`Remove this pairing from ${deviceName}?`}
          confirmLabel="Remove"
          danger
          errorContext="access"
          onClose={() => setRemoving(undefined)}
          onConfirm={async () => {
            await api.undoLastPairing(deviceId, removing.fingerprint);
            notify('success', `Removed ${undoWords(removing)} from ${deviceName}.`);
            await Promise.all([load(), onChanged()]);
          }}
        >
          <p>This removes {undoWords(removing)}. Whoever holds that key can no longer watch or change this camera.</p>
          <Fingerprint value={removing.fingerprint} label="Key fingerprint" />
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
