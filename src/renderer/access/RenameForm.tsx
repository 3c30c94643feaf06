import { useId, useState, type FormEvent } from 'react';
import { useApi } from '../app/api-context';
import { useNotify } from '../app/notices';
import { plainError, type PlainError } from '../api/errors';
import { ErrorMessage } from '../components/ErrorMessage';

export function RenameForm({ deviceId, currentName }: { deviceId: string; currentName: string }) {
  const api = useApi();
  const notify = useNotify();
  const id = useId();
  const [name, setName] = useState(currentName);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<PlainError>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const next = name.trim();
    if (!next) return;
    setBusy(true);
    setError(undefined);
    try {
      await api.renameDevice(deviceId, next);
      notify('success', `The camera is now called "${next}".`);
    } catch (err) {
      setError(plainError(err, 'access'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby={`${id}-title`} data-testid="rename-card">
      <h2 className="card__title" id={`${id}-title`}>
        Camera name
      </h2>
      <form className="inline-form" onSubmit={(e) => void submit(e)}>
        <label className="visually-hidden" htmlFor={`${id}-name`}>
          Camera name
        </label>
        <input id={`${id}-name`} className="input" value={name} onChange={(e) => setName(e.target.value)} maxLength={64} data-testid="rename-input" />
        <button type="submit" className="button button--secondary" disabled={busy || name.trim().length === 0 || name.trim() === currentName} data-testid="rename-submit">
          {busy ? 'Saving…' : 'Rename'}
        </button>
      </form>
      <p className="field__hint">Everyone who uses this camera sees the new name.</p>
      {error ? <ErrorMessage error={error} testId="rename-error" /> : null}
    </section>
  );
}
