/**
 * "Have an invitation?": paste a pairing string (p=…,d=…,u=…,pwd=…,fp=…) to pair with it, or a
 * remote-access string (lancam-remote:…) to watch a paired camera through a relay when away.
 */
import { useId, useState, type FormEvent } from 'react';
import { parsePairingString } from '../../shared/pairing-string';
import { parseRemoteAccess, REMOTE_ACCESS_PREFIX } from '../../shared/remote-access-string';

export function InvitationBox({ onSubmit, onRemoteAccess }: { onSubmit: (pairingString: string) => void; onRemoteAccess?: (accessString: string) => void }) {
  const id = useId();
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const value = text.trim();
    if (value.startsWith(REMOTE_ACCESS_PREFIX) && onRemoteAccess) {
      try {
        parseRemoteAccess(value);
      } catch (err) {
        setError(`That remote-access text is not valid: ${(err as Error).message}.`);
        return;
      }
      setError(undefined);
      onRemoteAccess(value);
      setText('');
      return;
    }
    try {
      parsePairingString(value);
    } catch (err) {
      setError(`That does not look like an invitation: ${(err as Error).message.replace(/^pairing string:? ?/, '')}.`);
      return;
    }
    setError(undefined);
    onSubmit(value);
    setText('');
  };

  return (
    <form className="invitation-box" onSubmit={submit} data-testid="invitation-form" aria-describedby={`${id}-hint`}>
      <div className="invitation-box__intro">
        <h2 className="invitation-box__title">Have an invitation?</h2>
        <p className="invitation-box__hint" id={`${id}-hint`}>
          Paste the text the camera's owner sent you. It looks like <code>p=…,d=…,u=…,pwd=…,fp=…</code>
        </p>
      </div>
      <div className="invitation-box__row">
        <label className="visually-hidden" htmlFor={id}>
          Invitation
        </label>
        <input
          id={id}
          className="input input--mono"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setError(undefined);
          }}
          placeholder="Paste an invitation"
          spellCheck={false}
          autoComplete="off"
          aria-invalid={error !== undefined}
          data-testid="invitation-input"
        />
        <button type="submit" className="button button--primary" disabled={text.trim().length === 0} data-testid="invitation-submit">
          Pair with invitation
        </button>
      </div>
      {error ? (
        <p className="field__error" role="alert" data-testid="invitation-error">
          {error}
        </p>
      ) : null}
    </form>
  );
}
