/**
 * Pairing endpoints: local-initial, local-open (inside the pairing window), and password
 * authentication by SPAKE2 followed by password-open or password-invite. Status codes as Nabto's:
 * 201 paired (also a repeated pairing of the same key as the same user, as Nabto answers it), 400 bad
 * input, 401 not password-authenticated / wrong password, 403 not allowed or window closed, 404 the
 * mode is switched off (Nabto checks that first), 409 already paired / name taken, 429 too many guesses.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Spake2ConfirmationError, Spake2Device, Spake2Error } from '../../net/pairing/spake2';
import { RouteError, type RpcRouter } from '../../net/rpc-router';
import { IamActions } from '../../shared/iam/actions';
import type { IamState, IamUser } from '../../shared/iam/schema';
import {
  localInitialBody,
  localOpenBody,
  PASSWORD_AUTH_EXPORTER_LABEL,
  PASSWORD_AUTH_EXPORTER_LENGTH,
  passwordAuthFinishBody,
  passwordAuthStartBody,
  passwordInviteBody,
  passwordOpenBody,
  type PairingRecord,
} from '../../shared/protocol/iam-api';
import { Status } from '../../shared/protocol/status';
import { userView } from '../iam/iam-routes';
import { randomString } from '../iam/iam-service';
import { credentialDigest, type PasswordProof } from './password-proof';
import { mutateAuthorized, parseBody, requireAction, type DeviceCore, type RequestContext } from '../request-context';

export function registerPairingRoutes(router: RpcRouter<RequestContext>, core: DeviceCore): void {
  const { iam } = core;

  /** The requester's key must not belong to anyone yet. */
  const assertNotPaired = (ctx: RequestContext) => {
    const existing = iam.userByFingerprint(ctx.requester.fingerprint);
    if (existing) throw new RouteError(Status.Conflict, 'already-paired', `this client is already paired as "${existing.Username}"`);
  };
  const assertLocal = (ctx: RequestContext, mode: string) => {
    if (!ctx.requester.isLocal) throw new RouteError(Status.Forbidden, 'not-local', `${mode} pairing is only possible from the camera's own network`);
  };
  /** Inside a state change: the key must still be free (two pairings may race). */
  const claimKey = (draft: IamState, ctx: RequestContext) => {
    const owner = draft.Users.find((u) => u.Fingerprints.some((f) => f.Fingerprint === ctx.requester.fingerprint));
    if (owner) throw new RouteError(Status.Conflict, 'already-paired', `this client is already paired as "${owner.Username}"`);
  };
  const fingerprintEntry = (ctx: RequestContext, name: string | undefined) => ({ Fingerprint: ctx.requester.fingerprint, ...(name !== undefined ? { Name: name } : {}) });
  /** Nabto's "mode off" answer (nm_iam_pairing_*.c): 404, before any check but lancam's body validation (400). */
  const assertModeOn = (on: boolean, mode: string) => {
    if (!on) throw new RouteError(Status.NotFound, 'mode-off', `${mode} pairing is switched off on this camera`);
  };
  /**
   * The key already belongs to `username`: Nabto answers a repeated pairing 201 and changes
   * nothing. Returns that user; throws 409 when the key belongs to someone else.
   */
  const alreadyPairedAs = (ctx: RequestContext, username: string | undefined): IamUser | undefined => {
    const existing = iam.userByFingerprint(ctx.requester.fingerprint);
    if (!existing) return undefined;
    if (existing.Username === username) return existing;
    throw new RouteError(Status.Conflict, 'already-paired', `this client is already paired as "${existing.Username}"`);
  };
  const repeated = (user: IamUser) => ({ status: Status.Created, body: userView(user) });
  const paired = (user: IamUser, mode: PairingRecord['Mode'], ctx: RequestContext, created: boolean) => {
    const key = user.Fingerprints.find((f) => f.Fingerprint === ctx.requester.fingerprint);
    // The console and the administrators see the whole key that paired, with the undo.
    core.pairingRecorded({
      At: new Date().toISOString(),
      Username: user.Username,
      ...(user.Role !== undefined ? { Role: user.Role } : {}),
      Fingerprint: ctx.requester.fingerprint,
      ...(key?.Name !== undefined ? { FingerprintName: key.Name } : {}),
      Mode: mode,
      RemoteAddress: ctx.requester.remoteAddress,
      CreatedUser: created,
    });
    return { status: Status.Created, body: userView(user) };
  };

  router.on('POST', '/iam/pairing/local-initial', async (_p, body, ctx) => {
    const { FingerprintName } = parseBody(localInitialBody, body ?? {});
    assertModeOn(iam.state.LocalInitialPairing, 'local initial');
    requireAction(core, ctx, IamActions.PairingLocalInitial);
    assertLocal(ctx, 'local initial');
    assertNotPaired(ctx);
    const user = await mutateAuthorized(core, ctx, IamActions.PairingLocalInitial, {}, (draft) => {
      claimKey(draft, ctx);
      const username = draft.InitialPairingUsername;
      const initial = username ? draft.Users.find((u) => u.Username === username) : undefined;
      // The initial user is never re-created: once removed, nobody can claim it from the LAN.
      if (!initial) throw new RouteError(Status.NotFound, 'no-initial-user', 'this camera has no initial user to pair as (it was removed)');
      if (initial.Fingerprints.length > 0) throw new RouteError(Status.Conflict, 'already-owned', 'this camera already has its initial user paired');
      assertModeOn(draft.LocalInitialPairing, 'local initial');
      initial.Fingerprints.push(fingerprintEntry(ctx, FingerprintName));
      // Once only: removing the owner's key later must not reopen the camera to anyone on the LAN.
      draft.LocalInitialPairing = false;
      return initial;
    });
    return paired(user, 'local-initial', ctx, false);
  });

  router.on('POST', '/iam/pairing/local-open', async (_p, body, ctx) => {
    const { Username, FingerprintName } = parseBody(localOpenBody, body);
    assertModeOn(iam.state.LocalOpenPairing, 'local open');
    requireAction(core, ctx, IamActions.PairingLocalOpen);
    assertLocal(ctx, 'local open');
    const again = alreadyPairedAs(ctx, Username);
    if (again) return repeated(again);
    assertNotPaired(ctx);
    // Waits out the overlap check (window open long enough, no other key trying); 403 or 409.
    await core.localOpen.admit(ctx.requester.fingerprint);
    const user = await mutateAuthorized(core, ctx, IamActions.PairingLocalOpen, {}, (draft) => {
      claimKey(draft, ctx);
      if (!core.pairingWindow.isOpen) throw new RouteError(Status.Forbidden, 'window-closed', 'the pairing window closed');
      if (draft.Users.some((u) => u.Username === Username)) throw new RouteError(Status.Conflict, 'user-exists', `the username "${Username}" is taken`);
      const created: IamUser = { Username, Role: openPairingRole(core, draft), Fingerprints: [fingerprintEntry(ctx, FingerprintName)], ServerConnectToken: randomString(12) };
      draft.Users.push(created);
      return created;
    });
    // WPS-like: one button press, one pairing.
    core.localOpen.used(ctx.requester.fingerprint);
    core.pairingWindow.close(`used to pair "${user.Username}"`);
    return paired(user, 'local-open', ctx, true);
  });

  router.on('POST', '/iam/pairing/password-auth/start', (_p, body, ctx) => {
    const { Username, T } = parseBody(passwordAuthStartBody, body);
    const state = iam.state;
    if (Username === '') {
      requireAction(core, ctx, IamActions.PairingPasswordOpen);
      assertModeOn(state.PasswordOpenPairing, 'password open');
    } else {
      requireAction(core, ctx, IamActions.PairingPasswordInvite);
      assertModeOn(state.PasswordInvitePairing, 'password invite');
    }
    // A new exchange voids what the connection proved before.
    core.proofs.void(ctx.passwordAuth.proof, 'a new exchange started');
    ctx.passwordAuth.proof = undefined;
    if (ctx.passwordAuth.pending) {
      // An exchange left unfinished counts as a failed guess.
      ctx.passwordAuth.pending.ticket.settle(false);
      ctx.passwordAuth.pending = undefined;
    }
    // An unknown user, or one without a password, runs the same exchange with a password nobody
    // knows: the answer looks the same and fails the same way as a wrong password.
    const real = Username === '' ? state.OpenPairingPassword : state.Users.find((u) => u.Username === Username)?.Password;
    // Each password has its own guess budget (a new invitation starts afresh); an unknown
    // username has one like a real one, so the budgets do not tell which usernames exist.
    const ticket = core.attempts.begin(ctx.requester.remoteAddress, guessBudgetKey(Username, real));
    if (!ticket.ok) {
      core.log.warn(`password guess refused (${ticket.scope} budget spent) for "${Username || '(open pairing)'}" from ${ctx.requester.remoteAddress}`);
      throw new RouteError(Status.TooManyRequests, 'too-many-attempts', `too many password attempts; try again in ${ticket.retryAfterSeconds} s`);
    }
    const password = real ? real : randomBytes(24).toString('base64');
    let device: Spake2Device;
    try {
      device = Spake2Device.respond({
        password,
        idA: ctx.requester.fingerprint,
        idB: core.fingerprint,
        aad: ctx.connection.exportKeyingMaterial(PASSWORD_AUTH_EXPORTER_LENGTH, PASSWORD_AUTH_EXPORTER_LABEL),
        pA: Buffer.from(T, 'base64url'),
      });
    } catch (err) {
      ticket.settle(false);
      if (err instanceof Spake2Error) throw new RouteError(Status.BadRequest, 'bad-share', err.message);
      throw err;
    }
    ctx.passwordAuth.pending = { device, username: Username, credential: credentialDigest(state, Username), ticket };
    return { status: Status.Created, body: { S: Buffer.from(device.pB).toString('base64url'), Kc: Buffer.from(device.cB).toString('base64url') } };
  });

  router.on('POST', '/iam/pairing/password-auth/finish', (_p, body, ctx) => {
    const { Kc } = parseBody(passwordAuthFinishBody, body);
    const pending = ctx.passwordAuth.pending;
    if (!pending) throw new RouteError(Status.BadRequest, 'no-exchange', 'no password authentication was started on this connection');
    ctx.passwordAuth.pending = undefined;
    try {
      pending.device.verify(Buffer.from(Kc, 'base64url'));
    } catch (err) {
      pending.ticket.settle(false);
      if (err instanceof Spake2ConfirmationError) {
        core.log.warn(`wrong password for "${pending.username || '(open pairing)'}" from ${ctx.requester.remoteAddress}`);
        throw new RouteError(Status.Unauthorized, 'wrong-password', 'wrong username or password');
      }
      throw err;
    }
    pending.ticket.settle(true);
    // Bound to the credential as it is now: a password, user or setting changed since the
    // exchange started (or now) gives no proof.
    ctx.passwordAuth.proof = core.proofs.issue(iam.state, pending.username, pending.credential);
    if (!ctx.passwordAuth.proof) throw new RouteError(Status.Unauthorized, 'wrong-password', 'wrong username or password');
    return { status: Status.Changed };
  });

  router.on('POST', '/iam/pairing/password-open', async (_p, body, ctx) => {
    const { Username, FingerprintName } = parseBody(passwordOpenBody, body);
    assertModeOn(iam.state.PasswordOpenPairing, 'password open');
    requireAction(core, ctx, IamActions.PairingPasswordOpen);
    const proof = takeProof(ctx);
    if (proof?.username !== '') throw new RouteError(Status.Unauthorized, 'not-authenticated', 'authenticate with the open pairing password first');
    const again = alreadyPairedAs(ctx, Username);
    if (again) return repeated(again);
    const user = await mutateAuthorized(core, ctx, IamActions.PairingPasswordOpen, {}, (draft) => {
      core.proofs.consume(proof, draft, '');
      claimKey(draft, ctx);
      if (draft.Users.some((u) => u.Username === Username)) throw new RouteError(Status.Conflict, 'user-exists', `the username "${Username}" is taken`);
      const created: IamUser = { Username, Role: openPairingRole(core, draft), Fingerprints: [fingerprintEntry(ctx, FingerprintName)], ServerConnectToken: randomString(12) };
      draft.Users.push(created);
      return created;
    });
    return paired(user, 'password-open', ctx, true);
  });

  router.on('POST', '/iam/pairing/password-invite', async (_p, body, ctx) => {
    const { FingerprintName } = parseBody(passwordInviteBody, body ?? {});
    assertModeOn(iam.state.PasswordInvitePairing, 'password invite');
    requireAction(core, ctx, IamActions.PairingPasswordInvite);
    const proof = takeProof(ctx);
    const username = proof?.username;
    if (!username) throw new RouteError(Status.Unauthorized, 'not-authenticated', 'authenticate with the invitation password first');
    const again = alreadyPairedAs(ctx, username);
    if (again) return repeated(again);
    const user = await mutateAuthorized(core, ctx, IamActions.PairingPasswordInvite, {}, (draft) => {
      core.proofs.consume(proof, draft, username);
      claimKey(draft, ctx);
      const invited = draft.Users.find((u) => u.Username === username);
      // The invitation was withdrawn or used in the meantime.
      if (!invited || !invited.Password) throw new RouteError(Status.Unauthorized, 'invite-used', 'this invitation is no longer valid');
      invited.Fingerprints.push(fingerprintEntry(ctx, FingerprintName));
      // An invitation works once.
      delete invited.Password;
      return invited;
    });
    return paired(user, 'password-invite', ctx, false);
  });
}

/** The guess budget a password attempt is charged to: one per username and password. */
function guessBudgetKey(username: string, password: string | undefined): string {
  return createHash('sha256').update(JSON.stringify([username, password ?? null])).digest('hex');
}

/** A proof is used by the attempt that reads it, whatever the attempt's outcome. */
function takeProof(ctx: RequestContext): PasswordProof | undefined {
  const proof = ctx.passwordAuth.proof;
  ctx.passwordAuth.proof = undefined;
  return proof;
}

function openPairingRole(core: DeviceCore, draft: IamState): string {
  const role = draft.OpenPairingRole;
  if (!role || !core.iam.config.Roles.some((r) => r.Id === role)) {
    throw new RouteError(Status.Forbidden, 'no-open-role', 'this camera has no valid role for open pairing (OpenPairingRole)');
  }
  return role;
}
