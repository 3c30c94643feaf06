/** One key of a user: its name (renamable by its owner and administrators), when it was added, and its fingerprint. */
import { useId, useState, type FormEvent } from 'react';
import { useApi } from '../app/api-context';
import { useNotify } from '../app/notices';
import { plainError } from '../api/errors';
import { fingerprintGroups } from '../components/Fingerprint';
import { formatWhen } from './when';

interface KeyNameEditorProps {
  deviceId: string;
  username: string;
  fingerprint: string;
  name: string | undefined;
  addedAt: string | undefined;
  canRename: boolean;
  onChanged: () => Promise<void>;
}

export function KeyNameEditor({ deviceId, username, fingerprint, name, addedAt, canRename, onChanged }: KeyNameEditorProps) {
  const api = useApi();
  const notify = useNotify();
  const id = useId();
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(name ?? '');
  const [busy, setBusy] = useState(false);
  const short = fingerprint.slice(0, 8);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    const next = text.trim();
    if (!next || new TextEncoder().encode(next).length > 64) {
      notify('error', 'A key name is 1 to 64 bytes.');
      return;
    }
    setBusy(true);
    try {
      await api.renameKey(deviceId, username, fingerprint, next);
      notify('success', `Renamed the key to "${next}".`);
      setEditing(false);
      await onChanged();
    } catch (err) {
      const e = plainError(err, 'access');
      notify('error', `Could not rename the key. ${e.message}`, e.detail);
    } finally {
      setBusy(false);
    }
  };

  return (
    <li className="key-list__item" title={fingerprintGroups(fingerprint).join(' ')} data-testid={`key-${username}-${short}`}>
      {editing ? (
        <form className="key-list__rename" onSubmit={(e) => void save(e)}>
          <label className="visually-hidden" htmlFor={`${id}-name`}>
            Name of key {fingerprintGroups(fingerprint).slice(0, 2).join(' ')}
          </label>
          <input id={`${id}-name`} className="input input--small" value={text} onChange={(e) => setText(e.target.value)} maxLength={64} autoFocus data-testid={`key-name-input-${username}-${short}`} />
          <button type="submit" className="button button--primary button--small" disabled={busy} data-testid={`key-name-save-${username}-${short}`}>
            Save
          </button>
          <button type="button" className="button button--ghost button--small" onClick={() => setEditing(false)} disabled={busy}>
            Cancel
          </button>
        </form>
      ) : (
        <span className="key-list__name" data-testid={`key-name-${username}-${short}`}>
          {name || 'unnamed key'}
          {canRename ? (
            <button type="button" className="link-button" onClick={() => setEditing(true)} aria-label={`Rename key ${name || 'unnamed key'} of ${username}`} data-testid={`key-rename-${username}-${short}`}>
              Rename
            </button>
          ) : null}
        </span>
      )}
      <span className="key-list__meta">
        <code className="key-list__fp">{fingerprintGroups(fingerprint).slice(0, 4).join(' ')} …</code>
        {addedAt ? <span className="muted small"> · added {formatWhen(addedAt)}</span> : null}
      </span>
    </li>
  );
}
