/** How new people can pair with the camera: the four modes, the open password and the role they get. */
import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import type { IamSettingsView } from '../../shared/protocol/iam-api';
import { isValidPassword } from '../../shared/iam/schema';
import { useApi } from '../app/api-context';
import { useNotify } from '../app/notices';
import { plainError, type PlainError } from '../api/errors';
import { ErrorMessage } from '../components/ErrorMessage';
import { Spinner } from '../components/Spinner';
import { assignableRoles } from './roles';

type ToggleKey = 'local-initial-pairing' | 'local-open-pairing' | 'password-invite-pairing' | 'password-open-pairing';

const TOGGLES: { key: ToggleKey; field: keyof IamSettingsView; title: string; description: (s: IamSettingsView) => string }[] = [
  { key: 'password-invite-pairing', field: 'PasswordInvitePairing', title: 'Invitations', description: () => 'People you invite can pair with their one-time invitation.' },
  {
    key: 'local-open-pairing',
    field: 'LocalOpenPairing',
    title: 'Pairing button',
    description: (s) => `Anyone on the camera's network can pair for a short while after its pairing button is pressed. They get the role ${s.OpenPairingRole ?? 'set below'}.`,
  },
  {
    key: 'password-open-pairing',
    field: 'PasswordOpenPairing',
    title: 'Camera password',
    description: (s) => `Anyone who knows the camera's pairing password can pair. They get the role ${s.OpenPairingRole ?? 'set below'}.`,
  },
  {
    key: 'local-initial-pairing',
    field: 'LocalInitialPairing',
    title: 'First owner',
    description: (s) => `Lets the first person on the camera's network become its owner (user "${s.InitialPairingUsername ?? 'admin'}"). It works only once.`,
  },
];

export function PairingSettings({ deviceId, roles }: { deviceId: string; roles: string[] }) {
  const api = useApi();
  const notify = useNotify();
  const id = useId();
  const [settings, setSettings] = useState<IamSettingsView>();
  const [error, setError] = useState<PlainError>();
  const [busy, setBusy] = useState<string>();
  const [password, setPassword] = useState('');

  const load = useCallback(async () => {
    try {
      setSettings(await api.getSettings(deviceId));
    } catch (err) {
      setError(plainError(err, 'access'));
    }
  }, [api, deviceId]);

  useEffect(() => {
    void load();
  }, [load]);

  const apply = async (key: string, value: boolean | string, done: string) => {
    setBusy(key);
    setError(undefined);
    try {
      await api.setSetting(deviceId, key, value);
      notify('success', done);
      await load();
      return true;
    } catch (err) {
      setError(plainError(err, 'access'));
      return false;
    } finally {
      setBusy(undefined);
    }
  };

  const savePassword = async (event: FormEvent) => {
    event.preventDefault();
    if (!isValidPassword(password)) {
      setError({ message: 'The pairing password is 4 to 64 characters.' });
      return;
    }
    if (await apply('password-open-password', password, 'The camera\'s pairing password was changed.')) setPassword('');
  };

  return (
    <section className="card" aria-labelledby={`${id}-title`} data-testid="pairing-settings">
      <h2 className="card__title" id={`${id}-title`}>
        How people can pair
      </h2>
      {!settings && !error ? <Spinner label="Loading…" /> : null}
      {error ? <ErrorMessage error={error} testId="settings-error" /> : null}
      {settings ? (
        <>
          {settings.PairingWindowSeconds > 0 ? (
            <div className="callout callout--info" data-testid="settings-window-open">
              The pairing button was pressed: pairing is open for another {settings.PairingWindowSeconds} s.
            </div>
          ) : null}
          <ul className="toggle-list">
            {TOGGLES.map((t) => {
              const on = settings[t.field] === true;
              return (
                <li key={t.key} className="toggle-row">
                  <div className="toggle-row__text">
                    <label className="toggle-row__title" htmlFor={`${id}-${t.key}`}>
                      {t.title}
                    </label>
                    <p className="toggle-row__description" id={`${id}-${t.key}-desc`}>
                      {t.description(settings)}
                    </p>
                  </div>
                  <span className="switch">
                    <input
                      id={`${id}-${t.key}`}
                      type="checkbox"
                      role="switch"
                      className="switch__input"
                      checked={on}
                      disabled={busy !== undefined}
                      aria-describedby={`${id}-${t.key}-desc`}
                      onChange={(e) => void apply(t.key, e.target.checked, `${t.title}: ${e.target.checked ? 'on' : 'off'}.`)}
                      data-testid={`setting-${t.key}`}
                    />
                    <span className="switch__track" aria-hidden="true" />
                  </span>
                </li>
              );
            })}
          </ul>

          <form className="subform" onSubmit={(e) => void savePassword(e)}>
            <label className="field__label" htmlFor={`${id}-password`}>
              Camera pairing password
            </label>
            <p className="field__hint">{settings.PasswordOpenPasswordSet ? 'A password is set. Enter a new one to replace it.' : 'No password is set.'} It is used only when "Camera password" is on.</p>
            <div className="inline-form">
              <input id={`${id}-password`} className="input" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" data-testid="open-password-input" />
              <button type="submit" className="button button--secondary" disabled={busy !== undefined || password.length === 0} data-testid="open-password-save">
                Set password
              </button>
            </div>
          </form>

          {assignableRoles(roles).length > 0 ? (
            <div className="subform">
              <label className="field__label" htmlFor={`${id}-role`}>
                Role for people who pair with the button or password
              </label>
              <select
                id={`${id}-role`}
                className="select"
                value={settings.OpenPairingRole ?? ''}
                disabled={busy !== undefined}
                onChange={(e) => void apply('open-pairing-role', e.target.value, `New people now get the role ${e.target.value}.`)}
                data-testid="setting-open-pairing-role"
              >
                {settings.OpenPairingRole === undefined ? <option value="">none</option> : null}
                {assignableRoles(roles).map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            </div>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
