/**
 * Password proofs: what a connection earns by finishing a SPAKE2 exchange, and spends on one
 * pairing (password invite or password open).
 *
 * A proof is bound to the exact credential it was made with: a digest of the user record (name,
 * role, password, keys and every other field) and of the invite setting, or, for the open
 * password, of that password, the open pairing role and the setting. It is
 *   - re-checked inside the state write that creates the pairing (against the state written),
 *   - consumed by that attempt, whatever its outcome,
 *   - voided by any failed request on its connection, by a new exchange, by the connection
 *     closing, and by any change to its credential (checked after every state change, so even a
 *     user deleted and re-created identically in between voids it),
 *   - and expires a few seconds after it was made.
 */
import { createHash } from 'node:crypto';
import { RouteError } from '../../net/rpc-router';
import type { IamState } from '../../shared/iam/schema';
import { Status } from '../../shared/protocol/status';

export const DEFAULT_PROOF_LIFETIME_MS = 10_000;

export interface PasswordProof {
  /** The user whose password was proven; "" for the open pairing password. */
  readonly username: string;
  readonly credential: string;
  readonly expiresAt: number;
  /** Why it can no longer be used, once it cannot. */
  voided?: string;
}

/**
 * A digest of everything a proof for `username` stands for in `state`; undefined when there is no
 * such credential (no user, no password, the mode switched off).
 */
export function credentialDigest(state: Readonly<IamState>, username: string): string | undefined {
  let material: unknown;
  if (username === '') {
    if (!state.PasswordOpenPairing || !state.OpenPairingPassword) return undefined;
    material = ['open', state.OpenPairingPassword, state.OpenPairingRole ?? null];
  } else {
    const user = state.Users.find((u) => u.Username === username);
    if (!state.PasswordInvitePairing || !user?.Password) return undefined;
    material = ['invite', user];
  }
  return createHash('sha256').update(JSON.stringify(material)).digest('hex');
}

export class PasswordProofs {
  private readonly live = new Set<PasswordProof>();

  constructor(
    readonly lifetimeMs = DEFAULT_PROOF_LIFETIME_MS,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /**
   * A proof for the credential `username` has in `state` now, which must still be the one the
   * exchange was run against (`exchanged`); undefined if it has none or it changed meanwhile.
   */
  issue(state: Readonly<IamState>, username: string, exchanged: string | undefined): PasswordProof | undefined {
    this.sweep();
    const credential = credentialDigest(state, username);
    if (credential === undefined || credential !== exchanged) return undefined;
    const proof: PasswordProof = { username, credential, expiresAt: this.now() + this.lifetimeMs };
    this.live.add(proof);
    return proof;
  }

  void(proof: PasswordProof | undefined, reason: string): void {
    if (!proof) return;
    proof.voided ??= reason;
    this.live.delete(proof);
  }

  /** After every state change: a proof whose credential changed in any way is void. */
  stateChanged(state: Readonly<IamState>): void {
    for (const proof of this.live) {
      if (credentialDigest(state, proof.username) !== proof.credential) this.void(proof, 'the password, the user or the pairing settings changed');
    }
  }

  /**
   * Inside the state write: the proof must be live, unexpired and match the credential in the
   * state being changed. It is used up either way.
   */
  consume(proof: PasswordProof | undefined, draft: Readonly<IamState>, username: string): void {
    if (!proof || proof.username !== username) throw notAuthenticated(username);
    const stale = proof.voided ?? (this.now() > proof.expiresAt ? 'it expired' : credentialDigest(draft, username) !== proof.credential ? 'the credential changed' : undefined);
    this.void(proof, 'used');
    if (stale !== undefined) throw new RouteError(Status.Unauthorized, 'proof-invalid', `the password proof is no longer valid (${stale}); authenticate again`);
  }

  /** Live proofs (for tests and bounds). */
  get size(): number {
    this.sweep();
    return this.live.size;
  }

  private sweep(): void {
    const t = this.now();
    for (const proof of this.live) if (t > proof.expiresAt) this.void(proof, 'it expired');
  }
}

function notAuthenticated(username: string): RouteError {
  return new RouteError(Status.Unauthorized, 'not-authenticated', username === '' ? 'authenticate with the open pairing password first' : 'authenticate with the invitation password first');
}
