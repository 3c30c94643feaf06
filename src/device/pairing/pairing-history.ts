/**
 * The pairings this camera made since it started: what its console shows when a key pairs, what
 * administrators are told (the `paired` event, GET /iam/pairing/recent), and what the one-step
 * undo (`lancam-device unpair-last`, or `u` in the daemon's terminal) removes.
 */
import { RouteError, type RpcRouter } from '../../net/rpc-router';
import { groupFingerprint } from '../../shared/fingerprint';
import { IamActions } from '../../shared/iam/actions';
import type { PairingRecord } from '../../shared/protocol/iam-api';
import { Status } from '../../shared/protocol/status';
import { parseBody, requireAction, type DeviceCore, type RequestContext } from '../request-context';
import { undoLastPairingBody } from '../../shared/protocol/iam-api';

const KEEP = 16;

export class PairingHistory {
  private readonly records: PairingRecord[] = [];

  add(record: PairingRecord): void {
    this.records.push(record);
    if (this.records.length > KEEP) this.records.shift();
  }

  get recent(): readonly PairingRecord[] {
    return this.records;
  }

  get last(): PairingRecord | undefined {
    return this.records.at(-1);
  }

  drop(record: PairingRecord): void {
    const i = this.records.indexOf(record);
    if (i >= 0) this.records.splice(i, 1);
  }
}

/** The console's lines for one pairing: who, how, from where, the whole key, and how to undo it. */
export function describePairing(record: PairingRecord, undo: string | undefined): string[] {
  return [
    `PAIRED "${record.Username}" (${record.Role ?? 'no role'}) by ${record.Mode} pairing from ${record.RemoteAddress}`,
    `  key   ${groupFingerprint(record.Fingerprint)}${record.FingerprintName !== undefined ? `  "${record.FingerprintName}"` : ''}`,
    ...(undo ? [`  not who you expected? ${undo}`] : []),
  ];
}

/**
 * Removes what one pairing added: the user it created (local open, password open), or the key it
 * added to an invited user. The owner's own first pairing (local initial) is not undone this way.
 */
export async function undoPairing(core: DeviceCore, record: PairingRecord): Promise<string> {
  if (record.Mode === 'local-initial') throw new Error('the owner\'s first pairing (local initial) is not undone this way; remove keys with lancam user rm');
  await core.iam.mutate((draft) => {
    const user = draft.Users.find((u) => u.Username === record.Username && u.Fingerprints.some((f) => f.Fingerprint === record.Fingerprint));
    if (!user) throw new Error(`"${record.Username}" no longer has that key (removed already?)`);
    if (record.CreatedUser) draft.Users = draft.Users.filter((u) => u !== user);
    else user.Fingerprints = user.Fingerprints.filter((f) => f.Fingerprint !== record.Fingerprint);
  });
  core.accessChanged([record.Fingerprint], 'removed');
  return record.CreatedUser ? `removed user "${record.Username}" (paired by ${record.Mode})` : `removed the key ${record.Fingerprint.slice(0, 16)}… from "${record.Username}"`;
}

export function registerPairingHistoryRoutes(router: RpcRouter<RequestContext>, core: DeviceCore, history: PairingHistory): void {
  router.on('GET', '/iam/pairing/recent', (_p, _b, ctx) => {
    requireAction(core, ctx, IamActions.ListUsers);
    return { status: Status.Content, body: [...history.recent] };
  });
  // The body names the key the administrator saw ({Fingerprint}): a pairing that happened since
  // (perhaps the one the person meant) is never removed in its place.
  router.on('DELETE', '/iam/pairing/recent/last', async (_p, body, ctx) => {
    requireAction(core, ctx, IamActions.DeleteUser);
    if (body === undefined || body === null) throw new RouteError(Status.BadRequest, 'fingerprint-required', 'name the key you mean to remove: {"Fingerprint": "<64 hex>"} (the last pairing\'s key, as you saw it)');
    const { Fingerprint: expected } = parseBody(undoLastPairingBody, body);
    const last = history.last;
    if (!last) throw new RouteError(Status.NotFound, 'no-pairing', 'no pairing since the camera started');
    if (last.Fingerprint !== expected) {
      throw new RouteError(Status.Conflict, 'not-last-pairing', `the last pairing is no longer that key: "${last.Username}" paired ${groupFingerprint(last.Fingerprint).slice(0, 19)}… since; nothing was undone. Remove the user or key under Users instead`);
    }
    try {
      await undoPairing(core, last);
    } catch (err) {
      if (err instanceof RouteError) throw err;
      throw new RouteError(Status.Conflict, 'cannot-undo', (err as Error).message);
    }
    history.drop(last);
    return { status: Status.Deleted };
  });
}
