import { useState } from 'react';
import type { UserView } from '../../shared/ui/api';
import { useApi } from '../app/api-context';
import { useNotify } from '../app/notices';
import { plainError } from '../api/errors';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { KeyNameEditor } from './KeyNameEditor';
import { assignableRoles } from './roles';
import { formatWhen } from './when';

interface UsersTableProps {
  deviceId: string;
  deviceName: string;
  users: UserView[];
  me: string;
  roles: string[];
  onChanged: () => Promise<void>;
}

export function UsersTable({ deviceId, deviceName, users, me, roles, onChanged }: UsersTableProps) {
  const api = useApi();
  const notify = useNotify();
  const [removing, setRemoving] = useState<string>();
  const [busyRole, setBusyRole] = useState<string>();
  const options = assignableRoles(roles);

  const changeRole = async (user: UserView, role: string) => {
    setBusyRole(user.username);
    try {
      await api.setUserRole(deviceId, user.username, role);
      notify('success', `${user.username} is now ${role}.`);
      await onChanged();
    } catch (err) {
      const e = plainError(err, 'access');
      notify('error', `Could not change ${user.username}'s role. ${e.message}`, e.detail);
    } finally {
      setBusyRole(undefined);
    }
  };

  return (
    <>
      <div className="table-wrap">
        <table className="table" data-testid="users-table">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              <th scope="col">Seen</th>
              <th scope="col">Keys</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.map((user) => {
              const isMe = user.username === me;
              return (
                <tr key={user.username} data-testid={`user-row-${user.username}`}>
                  <th scope="row">
                    <span className="user-name">{user.username}</span>
                    {isMe ? <span className="you-badge">you</span> : null}
                    {user.displayName ? <span className="user-display-name">{user.displayName}</span> : null}
                  </th>
                  <td>
                    {isMe || options.length === 0 ? (
                      <span className="role-badge">{user.role ?? 'none'}</span>
                    ) : (
                      <>
                        <label className="visually-hidden" htmlFor={`role-${user.username}`}>
                          Role of {user.username}
                        </label>
                        <select
                          id={`role-${user.username}`}
                          className="select select--small"
                          value={user.role ?? ''}
                          disabled={busyRole === user.username}
                          onChange={(e) => void changeRole(user, e.target.value)}
                          data-testid={`user-role-${user.username}`}
                        >
                          {user.role === undefined ? <option value="">none</option> : null}
                          {(user.role !== undefined && !options.includes(user.role) ? [user.role, ...options] : options).map((r) => (
                            <option key={r} value={r}>
                              {r}
                            </option>
                          ))}
                        </select>
                      </>
                    )}
                  </td>
                  <td data-testid={`user-seen-${user.username}`}>
                    {user.watchingNow ? (
                      <span className="watching-badge">Watching now</span>
                    ) : user.lastSeenAt ? (
                      <span className="small">Last seen {formatWhen(user.lastSeenAt)}</span>
                    ) : (
                      <span className="muted small">{user.fingerprints.length === 0 ? '—' : 'Not seen yet'}</span>
                    )}
                  </td>
                  <td>
                    {user.fingerprints.length === 0 ? (
                      <span className="muted small">{isMe ? '—' : 'Not paired yet (invitation pending)'}</span>
                    ) : (
                      <ul className="key-list">
                        {user.fingerprints.map((f) => (
                          <KeyNameEditor key={f.fingerprint} deviceId={deviceId} username={user.username} fingerprint={f.fingerprint} name={f.name} addedAt={f.addedAt} canRename onChanged={onChanged} />
                        ))}
                      </ul>
                    )}
                  </td>
                  <td className="table__actions">
                    {isMe ? null : (
                      <button type="button" className="button button--ghost button--danger-text button--small" onClick={() => setRemoving(user.username)} data-testid={`user-remove-${user.username}`}>
                        Remove…
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {removing ? (
        <ConfirmDialog
          title={`Remove ${removing}?`}
          confirmLabel={`Remove ${removing}`}
          danger
          errorContext="access"
          onClose={() => setRemoving(undefined)}
          onConfirm={async () => {
            await api.removeUser(deviceId, removing);
            notify('success', `Removed ${removing} from ${deviceName}.`);
            await onChanged();
          }}
        >
          <p>
            <strong>{removing}</strong> loses access to {deviceName} at once, including any video they are watching, and all their keys are removed from the camera.
          </p>
          <p>To let them back in later, invite them again.</p>
        </ConfirmDialog>
      ) : null}
    </>
  );
}
