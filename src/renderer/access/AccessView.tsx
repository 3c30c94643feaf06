/**
 * A camera's access control, as far as this user may manage it: what the camera lets us read
 * decides what is offered (users and invitations for canManageUsers; pairing settings and the
 * camera's name for canManageSettings). What a user may not do is not shown at all.
 */
import { useCallback, useEffect, useState } from 'react';
import type { AccessView as AccessInfo, DeviceEntry, UserView } from '../../shared/ui/api';
import { useApi } from '../app/api-context';
import { plainError, type PlainError } from '../api/errors';
import { ErrorMessage } from '../components/ErrorMessage';
import { Spinner } from '../components/Spinner';
import { InviteForm } from './InviteForm';
import { PairingSettings } from './PairingSettings';
import { RenameForm } from './RenameForm';
import { KeyNameEditor } from './KeyNameEditor';
import { RecentPairings } from './RecentPairings';
import { UsersTable } from './UsersTable';

interface AccessViewProps {
  deviceId: string;
  device: DeviceEntry | undefined;
  /** Changes when access changed elsewhere in the app (a pairing removed from an alert): reload the lists. */
  version?: number;
  onBack: () => void;
}

export function AccessView({ deviceId, device, version = 0, onBack }: AccessViewProps) {
  const api = useApi();
  const [access, setAccess] = useState<AccessInfo>();
  const [users, setUsers] = useState<UserView[]>();
  const [error, setError] = useState<PlainError>();
  const name = device?.friendlyName || deviceId;

  const loadUsers = useCallback(async () => {
    try {
      setUsers(await api.listUsers(deviceId));
    } catch (err) {
      setError(plainError(err, 'access'));
    }
  }, [api, deviceId]);

  useEffect(() => {
    let active = true;
    setAccess(undefined);
    setUsers(undefined);
    setError(undefined);
    api.access(deviceId).then(
      (info) => {
        if (!active) return;
        setAccess(info);
        if (info.canManageUsers) void loadUsers();
      },
      (err: unknown) => active && setError(plainError(err, 'access')),
    );
    return () => {
      active = false;
    };
  }, [api, deviceId, loadUsers]);

  // Changed elsewhere (not on first show: the effect above loads then).
  const [shownVersion, setShownVersion] = useState(version);
  useEffect(() => {
    if (version === shownVersion) return;
    setShownVersion(version);
    if (access?.canManageUsers) void loadUsers();
  }, [version, shownVersion, access, loadUsers]);

  const blocked = device?.status === 'key-changed';
  return (
    <div className="page" data-testid="access-view" data-device-id={deviceId}>
      <button type="button" className="back-link" onClick={onBack} data-testid="access-back">
        ← All cameras
      </button>
      <div className="page__header">
        <div>
          <h1 className="page__title">Access to {name}</h1>
          <p className="page__subtitle">Who may watch this camera, and how new people can pair with it.</p>
        </div>
      </div>

      {blocked ? <ErrorMessage error={plainError({ status: 'device-key-changed', message: '' })} /> : null}
      {error ? <ErrorMessage error={error} testId="access-error" /> : null}
      {!access && !error ? <Spinner label="Asking the camera…" /> : null}

      {access ? (
        <>
          <section className="card me-card" aria-labelledby="me-heading" data-testid="access-me">
            <h2 className="card__title" id="me-heading">
              You on this camera
            </h2>
            <p>
              <strong>{access.me.username}</strong>
              {access.me.role ? <span className="role-badge">{access.me.role}</span> : null}
              {access.me.displayName ? <span className="muted"> · {access.me.displayName}</span> : null}
            </p>
            {access.me.fingerprints.length > 0 ? (
              <>
                <h3 className="card__subtitle">Your keys</h3>
                <ul className="key-list" data-testid="access-my-keys">
                  {access.me.fingerprints.map((f) => (
                    <KeyNameEditor
                      key={f.fingerprint}
                      deviceId={deviceId}
                      username={access.me.username}
                      fingerprint={f.fingerprint}
                      name={f.name}
                      addedAt={f.addedAt}
                      // Standard users may change their own user (keys included); a Guest only reads it.
                      canRename={access.me.role !== 'Guest'}
                      onChanged={async () => setAccess(await api.access(deviceId))}
                    />
                  ))}
                </ul>
              </>
            ) : null}
            {!access.canManageUsers && !access.canManageSettings ? (
              <p className="muted" data-testid="access-readonly">
                You can watch this camera. Only its administrators can manage who has access and how new people pair with it.
              </p>
            ) : null}
          </section>

          <div className="access-columns">
            {access.canManageUsers ? (
              <div className="access-column">
                <section className="card" aria-labelledby="users-heading">
                  <div className="card__header">
                    <h2 className="card__title" id="users-heading">
                      Users
                    </h2>
                    {users ? <span className="section__count">{users.length}</span> : null}
                  </div>
                  {users ? <UsersTable deviceId={deviceId} deviceName={name} users={users} me={access.me.username} roles={access.roles} onChanged={loadUsers} /> : <Spinner label="Loading users…" />}
                </section>
                <RecentPairings deviceId={deviceId} deviceName={name} version={version} onChanged={loadUsers} />
                <InviteForm deviceId={deviceId} deviceName={name} roles={access.roles} onInvited={loadUsers} />
              </div>
            ) : null}
            {access.canManageSettings ? (
              <div className="access-column">
                <PairingSettings deviceId={deviceId} roles={access.roles} />
                <RenameForm deviceId={deviceId} currentName={device?.friendlyName ?? ''} />
              </div>
            ) : null}
          </div>
        </>
      ) : null}
    </div>
  );
}
