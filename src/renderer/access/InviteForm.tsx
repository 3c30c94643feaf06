/** Invite someone: a new user with a one-time password, handed over as a pairing string and QR code. */
import { useId, useState, type FormEvent } from 'react';
import type { InvitationView } from '../../shared/ui/api';
import { isValidUsername } from '../../shared/iam/schema';
import { useApi } from '../app/api-context';
import { plainError, type PlainError } from '../api/errors';
import { CopyField } from '../components/CopyField';
import { ErrorMessage } from '../components/ErrorMessage';
import { assignableRoles, defaultInviteRole } from './roles';

/**
 * The QR code as an image URL. The SVG comes from our own companion (the qrcode library), and an
 * <img> never runs scripts in it, so it needs neither innerHTML nor a CSP exception.
 */
export function svgDataUrl(svg: string): string {
  const bytes = new TextEncoder().encode(svg);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

interface InviteFormProps {
  deviceId: string;
  deviceName: string;
  roles: string[];
  onInvited: () => Promise<void>;
}

export function InviteForm({ deviceId, deviceName, roles, onInvited }: InviteFormProps) {
  const api = useApi();
  const id = useId();
  const options = assignableRoles(roles);
  const [username, setUsername] = useState('');
  const [role, setRole] = useState(() => defaultInviteRole(roles));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<PlainError>();
  const [invitation, setInvitation] = useState<InvitationView>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const name = username.trim();
    if (!isValidUsername(name)) {
      setError({ message: 'A username is 1 to 64 characters: lower-case letters, digits, _, . and -' });
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const created = await api.inviteUser(deviceId, name, role);
      setInvitation(created);
      setUsername('');
      await onInvited();
    } catch (err) {
      setError(plainError(err, 'access'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby={`${id}-title`} data-testid="invite-card">
      <h2 className="card__title" id={`${id}-title`}>
        Invite someone
      </h2>
      <p className="muted small">They get a one-time invitation to pair with {deviceName}. Send it privately: whoever has it can use it, once.</p>
      <form className="invite-form" onSubmit={(e) => void submit(e)}>
        <div className="field">
          <label className="field__label" htmlFor={`${id}-username`}>
            Username
          </label>
          <input id={`${id}-username`} className="input" value={username} onChange={(e) => setUsername(e.target.value)} placeholder="e.g. bob" autoComplete="off" spellCheck={false} required data-testid="invite-username" />
        </div>
        <div className="field">
          <label className="field__label" htmlFor={`${id}-role`}>
            Role
          </label>
          <select id={`${id}-role`} className="select" value={role} onChange={(e) => setRole(e.target.value)} data-testid="invite-role">
            {options.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="button button--primary invite-form__submit" disabled={busy || !role} data-testid="invite-submit">
          {busy ? 'Creating…' : 'Create invitation'}
        </button>
      </form>
      {error ? <ErrorMessage error={error} testId="invite-error" /> : null}
      {invitation ? (
        <div className="invitation" data-testid="invitation-result" data-username={invitation.username}>
          <div className="invitation__qr">
            <img src={svgDataUrl(invitation.qrSvg)} alt={`QR code of the invitation for ${invitation.username}`} width={176} height={176} data-testid="invite-qr" />
          </div>
          <div className="invitation__text">
            <p>
              Invitation for <strong>{invitation.username}</strong> as <span className="role-badge">{invitation.role}</span>
            </p>
            <CopyField label="Invitation text" value={invitation.pairingString} testId="invite-pairing-string" multiline />
            <p className="muted small">They paste it under "Have an invitation?" in lancam, or scan the code. It works once, and it names this camera's key, so it cannot be used to pair with an impostor.</p>
          </div>
        </div>
      ) : null}
    </section>
  );
}
