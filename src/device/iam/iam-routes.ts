/**
 * The IAM endpoints (Nabto Edge's paths and status codes). Order in every handler: validate the
 * input (400), check the IAM action (403), look the target up (404), then change the state, which
 * is on disk before the answer goes out.
 */
import { RouteError, type RpcRouter } from '../../net/rpc-router';
import { IamActions } from '../../shared/iam/actions';
import { IamAttributeNames } from '../../shared/iam/policy-engine';
import type { IamState, IamUser } from '../../shared/iam/schema';
import { randomBytes } from 'node:crypto';
import {
  createRemoteSecretBody,
  createUserBody,
  kidSchema,
  notificationCategoriesBody,
  sctSchema,
  setDisplayNameBody,
  setFcmBody,
  setOauthSubjectBody,
  fingerprintSchema,
  friendlyNameBodySchema,
  roleIdSchema,
  setFingerprintBody,
  setPasswordBody,
  SETTINGS_KEYS,
  usernameSchema,
  type IamSettingsView,
  type IamUserView,
  type SettingsKey,
} from '../../shared/protocol/iam-api';
import { Status } from '../../shared/protocol/status';
import type { z } from 'zod';
import { mutateAuthorized, parseBody, requireAction, type DeviceCore, type RequestContext } from '../request-context';
import { randomString } from './iam-service';

/** A user as Nabto returns it (nm_iam_cbor_encode_user), plus lancam's HasPassword and RemoteSecrets. */
export function userView(user: IamUser): IamUserView {
  const last = user.Fingerprints.at(-1);
  return {
    Username: user.Username,
    ...(user.DisplayName !== undefined ? { DisplayName: user.DisplayName } : {}),
    ...(user.Role !== undefined ? { Role: user.Role } : {}),
    Fingerprints: user.Fingerprints.map((f) => ({ Fingerprint: f.Fingerprint, ...(f.Name !== undefined ? { Name: f.Name } : {}) })),
    ...(last ? { Fingerprint: last.Fingerprint } : {}),
    ...(user.ServerConnectToken !== undefined ? { Sct: user.ServerConnectToken } : {}),
    ...(user.Fcm && (user.Fcm.Token !== undefined || user.Fcm.ProjectId !== undefined)
      ? { Fcm: { ...(user.Fcm.Token !== undefined ? { Token: user.Fcm.Token } : {}), ...(user.Fcm.ProjectId !== undefined ? { ProjectId: user.Fcm.ProjectId } : {}) } }
      : {}),
    NotificationCategories: [...(user.NotificationCategories ?? [])],
    ...(user.OauthSubject !== undefined ? { OauthSubject: user.OauthSubject } : {}),
    HasPassword: Boolean(user.Password),
    ...(user.RemoteSecrets?.length ? { RemoteSecrets: user.RemoteSecrets.map((r) => ({ Kid: r.Kid, ...(r.Name !== undefined ? { Name: r.Name } : {}), ...(r.Created !== undefined ? { Created: r.Created } : {}) })) } : {}),
  };
}

function usernameParam(value: string | undefined): string {
  return parseBody(usernameSchema, value);
}

function findUser(state: IamState, username: string): IamUser {
  const user = state.Users.find((u) => u.Username === username);
  if (!user) throw new RouteError(Status.NotFound, 'no-such-user', `no user "${username}"`);
  return user;
}

/** The roles that allow managing users; a change must leave at least one user holding one. */
function isAdminRole(core: DeviceCore, role: string | undefined): boolean {
  if (!role) return false;
  const admin = core.iam.config.Roles.find((r) => r.Id === role);
  return Boolean(admin?.Policies.some((p) => core.iam.config.Policies.find((pol) => pol.Id === p)?.Statements.some((s) => s.Effect === 'Allow' && s.Actions.includes(IamActions.SetUserRole) && !s.Conditions?.length)));
}

function assertAdminRemains(core: DeviceCore, draft: IamState): void {
  const admins = draft.Users.filter((u) => isAdminRole(core, u.Role) && u.Fingerprints.length > 0);
  const hadAdmins = core.iam.state.Users.some((u) => isAdminRole(core, u.Role) && u.Fingerprints.length > 0);
  if (hadAdmins && admins.length === 0) {
    throw new RouteError(Status.Conflict, 'last-administrator', 'the last paired administrator cannot be removed or demoted: nobody could manage the camera afterwards');
  }
}

/** Which field of the Nabto state each setting sets (the value's type is checked by SETTINGS_KEYS). */
const SETTING_FIELDS = {
  'local-open-pairing': 'LocalOpenPairing',
  'local-initial-pairing': 'LocalInitialPairing',
  'password-open-pairing': 'PasswordOpenPairing',
  'password-invite-pairing': 'PasswordInvitePairing',
  'password-open-password': 'OpenPairingPassword',
  'open-pairing-role': 'OpenPairingRole',
} as const satisfies Record<SettingsKey, keyof IamState>;

export function settingsView(core: DeviceCore): IamSettingsView {
  const s = core.iam.state;
  return {
    LocalOpenPairing: s.LocalOpenPairing,
    LocalInitialPairing: s.LocalInitialPairing,
    PasswordOpenPairing: s.PasswordOpenPairing,
    PasswordInvitePairing: s.PasswordInvitePairing,
    ...(s.OpenPairingRole !== undefined ? { OpenPairingRole: s.OpenPairingRole } : {}),
    ...(s.InitialPairingUsername !== undefined ? { InitialPairingUsername: s.InitialPairingUsername } : {}),
    PasswordOpenPasswordSet: Boolean(s.OpenPairingPassword),
    PairingWindowSeconds: core.pairingWindow.secondsLeft,
  };
}

export function registerIamRoutes(router: RpcRouter<RequestContext>, core: DeviceCore): void {
  const { iam } = core;
  const about = (username: string) => ({ [IamAttributeNames.IamUsername]: username });
  const fingerprintsOf = (username: string) => iam.user(username)?.Fingerprints.map((f) => f.Fingerprint) ?? [];

  router.on('GET', '/iam/me', (_p, _b, ctx) => {
    const user = iam.userByFingerprint(ctx.requester.fingerprint);
    if (!user) throw new RouteError(Status.NotFound, 'not-paired', 'this client is not paired with the camera');
    return { status: Status.Content, body: userView(user) };
  });

  router.on('GET', '/iam/users', (_p, _b, ctx) => {
    requireAction(core, ctx, IamActions.ListUsers);
    return { status: Status.Content, body: iam.state.Users.map((u) => u.Username) };
  });

  router.on('POST', '/iam/users', async (_p, body, ctx) => {
    const { Username } = parseBody(createUserBody, body);
    requireAction(core, ctx, IamActions.CreateUser, about(Username));
    const created = await mutateAuthorized(core, ctx, IamActions.CreateUser, about(Username), (draft) => {
      if (draft.Users.some((u) => u.Username === Username)) throw new RouteError(Status.Conflict, 'user-exists', `user "${Username}" exists already`);
      // As Nabto: a new user gets a server connect token.
      const user: IamUser = { Username, Fingerprints: [], ServerConnectToken: randomString(12) };
      draft.Users.push(user);
      return user;
    });
    return { status: Status.Created, body: userView(created) };
  });

  router.on('GET', '/iam/users/{username}', (p, _b, ctx) => {
    const username = usernameParam(p.username);
    requireAction(core, ctx, IamActions.GetUser, about(username));
    return { status: Status.Content, body: userView(findUser(iam.state, username)) };
  });

  router.on('DELETE', '/iam/users/{username}', async (p, _b, ctx) => {
    const username = usernameParam(p.username);
    requireAction(core, ctx, IamActions.DeleteUser, about(username));
    const revoked = fingerprintsOf(username);
    await mutateAuthorized(core, ctx, IamActions.DeleteUser, about(username), (draft) => {
      findUser(draft, username);
      draft.Users = draft.Users.filter((u) => u.Username !== username);
      assertAdminRemains(core, draft);
    });
    core.accessChanged(revoked, 'removed');
    return { status: Status.Deleted };
  });

  router.on('PUT', '/iam/users/{username}/role', async (p, body, ctx) => {
    const username = usernameParam(p.username);
    const role = parseBody(roleIdSchema, body);
    requireAction(core, ctx, IamActions.SetUserRole, { ...about(username), [IamAttributeNames.IamRoleId]: role });
    if (!iam.config.Roles.some((r) => r.Id === role)) throw new RouteError(Status.NotFound, 'no-such-role', `no role "${role}"; roles: ${iam.config.Roles.map((r) => r.Id).join(', ')}`);
    await mutateAuthorized(core, ctx, IamActions.SetUserRole, { ...about(username), [IamAttributeNames.IamRoleId]: role }, (draft) => {
      findUser(draft, username).Role = role;
      assertAdminRemains(core, draft);
    });
    core.accessChanged(fingerprintsOf(username), 'role-changed');
    return { status: Status.Changed };
  });

  router.on('PUT', '/iam/users/{username}/display-name', async (p, body, ctx) => {
    const username = usernameParam(p.username);
    const name = parseBody(setDisplayNameBody, body);
    requireAction(core, ctx, IamActions.SetUserDisplayName, about(username));
    await mutateAuthorized(core, ctx, IamActions.SetUserDisplayName, about(username), (draft) => {
      const user = findUser(draft, username);
      if (name === null) delete user.DisplayName;
      else user.DisplayName = name;
    });
    return { status: Status.Changed };
  });

  router.on('PUT', '/iam/users/{username}/password', async (p, body, ctx) => {
    const username = usernameParam(p.username);
    const password = parseBody(setPasswordBody, body);
    requireAction(core, ctx, IamActions.SetUserPassword, about(username));
    await mutateAuthorized(core, ctx, IamActions.SetUserPassword, about(username), (draft) => {
      const user = findUser(draft, username);
      if (password === null || password === '') delete user.Password;
      else user.Password = password;
    });
    return { status: Status.Changed };
  });

  router.on('PUT', '/iam/users/{username}/username', async (p, body, ctx) => {
    const username = usernameParam(p.username);
    const next = parseBody(usernameSchema, body);
    requireAction(core, ctx, IamActions.SetUserUsername, about(username));
    await mutateAuthorized(core, ctx, IamActions.SetUserUsername, about(username), (draft) => {
      const user = findUser(draft, username);
      if (next !== username && draft.Users.some((u) => u.Username === next)) throw new RouteError(Status.Conflict, 'user-exists', `user "${next}" exists already`);
      user.Username = next;
      if (draft.InitialPairingUsername === username) draft.InitialPairingUsername = next;
    });
    return { status: Status.Changed };
  });

  router.on('PUT', '/iam/users/{username}/fingerprints/{fingerprint}', async (p, body, ctx) => {
    const username = usernameParam(p.username);
    const fingerprint = parseBody(fingerprintSchema, p.fingerprint);
    const parsed = parseBody(setFingerprintBody, body ?? {});
    const Name = parsed.FingerprintName ?? parsed.Name;
    requireAction(core, ctx, IamActions.SetUserFingerprint, about(username));
    await mutateAuthorized(core, ctx, IamActions.SetUserFingerprint, about(username), (draft) => {
      const user = findUser(draft, username);
      const owner = draft.Users.find((u) => u.Fingerprints.some((f) => f.Fingerprint === fingerprint));
      if (owner && owner !== user) throw new RouteError(Status.Conflict, 'fingerprint-taken', `that key belongs to user "${owner.Username}"`);
      const existing = user.Fingerprints.find((f) => f.Fingerprint === fingerprint);
      // Binding a key to a user claims that the user holds it. Nobody proves that here (the key's
      // holder proves it by pairing with it), so only an administrator may vouch for a new key;
      // everyone else can only rename the keys the user already has.
      if (!existing && !isAdminRole(core, iam.userOf(ctx.requester)?.Role)) {
        throw new RouteError(Status.Forbidden, 'proof-of-possession', 'only an administrator can add a key to a user: the holder of a new key pairs with it (an invitation), which proves they hold it');
      }
      if (existing) {
        if (Name !== undefined) existing.Name = Name;
      } else {
        user.Fingerprints.push({ Fingerprint: fingerprint, ...(Name !== undefined ? { Name } : {}) });
      }
    });
    return { status: Status.Changed };
  });

  router.on('DELETE', '/iam/users/{username}/fingerprints/{fingerprint}', async (p, _b, ctx) => {
    const username = usernameParam(p.username);
    const fingerprint = parseBody(fingerprintSchema, p.fingerprint);
    requireAction(core, ctx, IamActions.SetUserFingerprint, about(username));
    await mutateAuthorized(core, ctx, IamActions.SetUserFingerprint, about(username), (draft) => {
      const user = findUser(draft, username);
      if (!user.Fingerprints.some((f) => f.Fingerprint === fingerprint)) throw new RouteError(Status.NotFound, 'no-such-fingerprint', `user "${username}" has no such key`);
      user.Fingerprints = user.Fingerprints.filter((f) => f.Fingerprint !== fingerprint);
      assertAdminRemains(core, draft);
    });
    core.accessChanged([fingerprint], 'removed');
    return { status: Status.Deleted };
  });

  // Nabto's legacy single-key call: replaces the user's first key (adds one if there is none).
  router.on('PUT', '/iam/users/{username}/fingerprint', async (p, body, ctx) => {
    const username = usernameParam(p.username);
    const fingerprint = parseBody(fingerprintSchema, body);
    requireAction(core, ctx, IamActions.SetUserFingerprint, about(username));
    let replaced: string | undefined;
    await mutateAuthorized(core, ctx, IamActions.SetUserFingerprint, about(username), (draft) => {
      // Binds a key nobody proved to hold (see PUT …/fingerprints/{fp}): administrators only.
      if (!isAdminRole(core, iam.userOf(ctx.requester)?.Role)) {
        throw new RouteError(Status.Forbidden, 'proof-of-possession', 'only an administrator can set a user\'s key: the holder of a new key pairs with it (an invitation), which proves they hold it');
      }
      if (draft.Users.some((u) => u.Fingerprints.some((f) => f.Fingerprint === fingerprint))) throw new RouteError(Status.Conflict, 'fingerprint-taken', 'that key belongs to a user already');
      const user = findUser(draft, username);
      const first = user.Fingerprints[0];
      if (first) {
        replaced = first.Fingerprint;
        first.Fingerprint = fingerprint;
      } else {
        user.Fingerprints.push({ Fingerprint: fingerprint });
      }
      assertAdminRemains(core, draft);
    });
    if (replaced) core.accessChanged([replaced], 'removed');
    return { status: Status.Changed };
  });

  router.on('PUT', '/iam/users/{username}/sct', async (p, body, ctx) => {
    const username = usernameParam(p.username);
    const sct = parseBody(sctSchema, body);
    requireAction(core, ctx, IamActions.SetUserSct, about(username));
    await mutateAuthorized(core, ctx, IamActions.SetUserSct, about(username), (draft) => {
      findUser(draft, username).ServerConnectToken = sct;
    });
    return { status: Status.Changed };
  });

  router.on('PUT', '/iam/users/{username}/fcm', async (p, body, ctx) => {
    const username = usernameParam(p.username);
    const { Token, ProjectId } = parseBody(setFcmBody, body);
    requireAction(core, ctx, IamActions.SetUserFcm, about(username));
    await mutateAuthorized(core, ctx, IamActions.SetUserFcm, about(username), (draft) => {
      const user = findUser(draft, username);
      user.Fcm = { ...user.Fcm, Token, ProjectId };
    });
    return { status: Status.Changed };
  });

  router.on('POST', '/iam/users/{username}/fcm-test', (p, _b, ctx) => {
    const username = usernameParam(p.username);
    requireAction(core, ctx, IamActions.SendUserFcmTest, about(username));
    const user = findUser(iam.state, username);
    if (user.Fcm?.Token === undefined || user.Fcm.ProjectId === undefined) throw new RouteError(Status.NotFound, 'no-fcm', `user "${username}" has no FCM configuration (PUT /iam/users/${username}/fcm first)`);
    // Nabto sends the test through its basestation; a lancam camera has no push service to send it.
    throw new RouteError(Status.ServiceUnavailable, 'no-push-service', 'this camera has no push notification service configured: lancam stores FCM settings for Nabto apps but sends no notifications');
  });

  router.on('GET', '/iam/notification-categories', (_p, _b, ctx) => {
    requireAction(core, ctx, IamActions.ListNotificationCategories);
    return { status: Status.Content, body: [...core.notificationCategories] };
  });

  router.on('PUT', '/iam/users/{username}/notification-categories', async (p, body, ctx) => {
    const username = usernameParam(p.username);
    const categories = [...new Set(parseBody(notificationCategoriesBody, body))];
    requireAction(core, ctx, IamActions.SetUserNotificationCategories, about(username));
    findUser(iam.state, username);
    const unknown = categories.filter((c) => !core.notificationCategories.includes(c));
    if (unknown.length > 0) {
      throw new RouteError(Status.BadRequest, 'no-such-category', `unknown notification categories: ${unknown.join(', ')}; this camera has ${core.notificationCategories.length ? core.notificationCategories.join(', ') : 'none (lancam-device --notification-category NAME)'}`);
    }
    await mutateAuthorized(core, ctx, IamActions.SetUserNotificationCategories, about(username), (draft) => {
      findUser(draft, username).NotificationCategories = categories;
    });
    return { status: Status.Changed };
  });

  router.on('PUT', '/iam/users/{username}/oauth-subject', async (p, body, ctx) => {
    const username = usernameParam(p.username);
    const subject = parseBody(setOauthSubjectBody, body);
    requireAction(core, ctx, IamActions.SetUserOauthSubject, about(username));
    await mutateAuthorized(core, ctx, IamActions.SetUserOauthSubject, about(username), (draft) => {
      const user = findUser(draft, username);
      if (subject === null) delete user.OauthSubject;
      else user.OauthSubject = subject;
    });
    return { status: Status.Changed };
  });

  router.on('POST', '/iam/users/{username}/remote-secrets', async (p, body, ctx) => {
    const username = usernameParam(p.username);
    const { Name } = parseBody(createRemoteSecretBody, body ?? {});
    requireAction(core, ctx, IamActions.SetUserRemoteSecret, about(username));
    const issued = { Kid: randomBytes(16).toString('base64url'), Secret: randomBytes(32).toString('base64url') };
    await mutateAuthorized(core, ctx, IamActions.SetUserRemoteSecret, about(username), (draft) => {
      const user = findUser(draft, username);
      const secrets = user.RemoteSecrets ?? [];
      if (secrets.length >= 16) throw new RouteError(Status.Conflict, 'too-many-secrets', `user "${username}" has 16 remote secrets already; revoke one first`);
      user.RemoteSecrets = [...secrets, { ...issued, ...(Name !== undefined ? { Name } : {}), Created: new Date().toISOString() }];
    });
    return { status: Status.Created, body: { ...issued, DeviceId: core.deviceId, Fingerprint: core.fingerprint } };
  });

  router.on('DELETE', '/iam/users/{username}/remote-secrets/{kid}', async (p, _b, ctx) => {
    const username = usernameParam(p.username);
    const kid = parseBody(kidSchema, p.kid);
    requireAction(core, ctx, IamActions.SetUserRemoteSecret, about(username));
    await mutateAuthorized(core, ctx, IamActions.SetUserRemoteSecret, about(username), (draft) => {
      const user = findUser(draft, username);
      if (!user.RemoteSecrets?.some((r) => r.Kid === kid)) throw new RouteError(Status.NotFound, 'no-such-secret', `user "${username}" has no remote secret ${kid}`);
      user.RemoteSecrets = user.RemoteSecrets.filter((r) => r.Kid !== kid);
    });
    core.accessChanged([], 'remote-secret-revoked');
    return { status: Status.Deleted };
  });

  router.on('GET', '/iam/roles', (_p, _b, ctx) => {
    requireAction(core, ctx, IamActions.ListRoles);
    return { status: Status.Content, body: iam.config.Roles.map((r) => r.Id) };
  });

  router.on('GET', '/iam/settings', (_p, _b, ctx) => {
    requireAction(core, ctx, IamActions.GetSettings);
    return { status: Status.Content, body: settingsView(core) };
  });

  router.on('PUT', '/iam/settings/{key}', async (p, body, ctx) => {
    const key = p.key as SettingsKey;
    if (!Object.hasOwn(SETTINGS_KEYS, key)) throw new RouteError(Status.NotFound, 'no-such-setting', `no setting "${p.key}"; settings: ${Object.keys(SETTINGS_KEYS).join(', ')}`);
    const value: unknown = parseBody(SETTINGS_KEYS[key] as z.ZodType<unknown>, body);
    requireAction(core, ctx, IamActions.SetSettings);
    if (key === 'open-pairing-role' && !iam.config.Roles.some((r) => r.Id === value)) throw new RouteError(Status.NotFound, 'no-such-role', `no role "${String(value)}"`);
    await mutateAuthorized(core, ctx, IamActions.SetSettings, {}, (draft) => {
      (draft as Record<string, unknown>)[SETTING_FIELDS[key]] = value;
    });
    if (key === 'local-open-pairing' && value === false) core.pairingWindow.close('local open pairing was switched off');
    return { status: Status.Changed };
  });

  router.on('PUT', '/iam/device-info/friendly-name', async (_p, body, ctx) => {
    const name = parseBody(friendlyNameBodySchema, body);
    requireAction(core, ctx, IamActions.SetDeviceInfo);
    await mutateAuthorized(core, ctx, IamActions.SetDeviceInfo, {}, (draft) => {
      draft.FriendlyName = name;
    });
    core.friendlyNameChanged(name);
    return { status: Status.Changed };
  });
}
