/**
 * What a request handler knows about the connection it serves, and the device services it may use.
 */
import type { ChannelConnection } from '../net/channel/server';
import type { Spake2Device } from '../net/pairing/spake2';
import { RouteError } from '../net/rpc-router';
import { Status } from '../shared/protocol/status';
import type { z } from 'zod';
import type { IamService, Requester } from './iam/iam-service';
import type { AttemptLimiter, AttemptTicket } from './pairing/attempt-limiter';
import type { PairingWindow } from './pairing/pairing-window';
import type { PasswordProofs, PasswordProof } from './pairing/password-proof';
import type { LocalOpenGuard } from './pairing/local-open-guard';
import type { PairingRecord } from '../shared/protocol/iam-api';
import type { Logger } from '../net/log';
import type { IamState } from '../shared/iam/schema';

export interface PasswordAuthState {
  /** An exchange started on this connection and not finished yet. */
  pending?: { device: Spake2Device; username: string; credential: string | undefined; ticket: Extract<AttemptTicket, { ok: true }> } | undefined;
  /** What this connection proved: a password of one credential, for one pairing, for seconds. */
  proof?: PasswordProof | undefined;
}

export interface RequestContext {
  connection: ChannelConnection;
  requester: Requester;
  passwordAuth: PasswordAuthState;
}

/** The device as the request handlers see it. */
export interface DeviceCore {
  readonly deviceId: string;
  readonly productId: string;
  readonly fingerprint: string;
  readonly iam: IamService;
  readonly pairingWindow: PairingWindow;
  readonly attempts: AttemptLimiter;
  readonly proofs: PasswordProofs;
  readonly localOpen: LocalOpenGuard;
  /** A key paired: tell the console and the administrators (with the undo). */
  pairingRecorded(record: PairingRecord): void;
  readonly log: Logger;
  /** The notification categories users may subscribe to (Nabto's nm_iam_set_notification_categories). */
  readonly notificationCategories: readonly string[];
  /** Tells the connections of these client keys that their access changed (and re-checks streams). */
  accessChanged(fingerprints: readonly string[], reason: string): void;
  /** The friendly name changed: update the mDNS TXT record and tell every client. */
  friendlyNameChanged(name: string): void;
}

/** Validates a request body; a mismatch is a 400 naming the field. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new RouteError(Status.BadRequest, 'bad-request', `${where}${issue?.message ?? 'invalid body'}`);
}

/** Checks an IAM action; a deny is a 403. */
export function requireAction(core: DeviceCore, context: RequestContext, action: string, attributes: Record<string, string> = {}): void {
  if (core.iam.authorize(context.requester, action, attributes).effect !== 'allow') {
    throw new RouteError(Status.Forbidden, 'forbidden', `not allowed: ${action}`);
  }
}

/**
 * A state change made on behalf of a requester: the action is checked when the request arrives
 * (a quick 403) and again inside the write, against the state the change is applied to. Changes
 * run one at a time, so a request queued behind a change that took the requester's right away
 * (a demotion, a removal) is refused, not written.
 */
export function mutateAuthorized<T>(core: DeviceCore, context: RequestContext, action: string, attributes: Record<string, string>, change: (draft: IamState) => T): Promise<T> {
  requireAction(core, context, action, attributes);
  return core.iam.mutate((draft) => {
    requireAction(core, context, action, attributes);
    return change(draft);
  });
}
