/**
 * Budgets for password guesses (SPAKE2 exchanges): per source, and per credential (one invite
 * password, or the open pairing password).
 *
 * A guess is charged when an exchange STARTS, not when it fails: after the device's first answer
 * the client can check its guess itself (it holds cB), so an exchange it never finishes is still a
 * guess. A successful exchange gives its token back.
 *
 * Per source (an IPv4 address, or an IPv6 /64): a bucket of 10 that refills 50 an hour, so one
 * source gets at most 10 guesses in its first minute and 60 in an hour, however many connections
 * it opens.
 *
 * Per credential: a bucket of 10 refilling 20 an hour, so however many sources guess at one
 * password, it gets at most 10 + 20/hour guesses in all. Guesses at one password tell nothing
 * about another, so credentials do not share a budget: an attacker spending the budget of one
 * invitation (or of unknown usernames, which have buckets like real ones, so nothing tells them
 * apart) does not touch anyone else's. A new password (a new invitation) starts a new budget.
 *
 * The credential's reserve keeps the attacked invitee in: when its bucket is empty, a source that
 * has not failed a guess in the last 24 hours may still try, from a second bucket (10, refilling
 * 10 an hour). A source that fails is shut out of every reserve for a day, so each address an
 * attacker has can take at most one reserve guess a day: to keep the reserve empty he needs ten
 * fresh addresses at once and ten more every hour, while a legitimate invitee (who has not been
 * guessing) gets in. Refused attempts cost nothing, so a lockout is never extended by hammering
 * it. In all, one password gets at most 20 guesses at once and 30 an hour, from any number of
 * sources.
 */
import { sourceKey } from '../../shared/net-address';

export interface BucketSpec {
  /** Tokens available at once. */
  burst: number;
  /** Tokens refilled per hour. */
  perHour: number;
}

export interface AttemptLimits {
  perSource: BucketSpec;
  perCredential: BucketSpec;
  /** The credential's second bucket, only for sources without a recent failure. */
  reserve: BucketSpec;
  /** How long a failed guess keeps its source out of every reserve. */
  failureMemoryMs: number;
  /** Sources remembered at most (the fullest buckets are forgotten first). */
  maxSources: number;
  /** Credentials remembered at most (the fullest buckets are forgotten first). */
  maxCredentials: number;
}

export const DEFAULT_ATTEMPT_LIMITS: AttemptLimits = {
  perSource: { burst: 10, perHour: 50 },
  perCredential: { burst: 10, perHour: 20 },
  reserve: { burst: 10, perHour: 10 },
  failureMemoryMs: 24 * 3_600_000,
  maxSources: 10_000,
  maxCredentials: 10_000,
};

interface Bucket {
  tokens: number;
  at: number;
}

interface SourceState extends Bucket {
  /** When this source last failed a guess (0 = never). */
  failedAt: number;
}

interface CredentialState {
  main: Bucket;
  reserve: Bucket;
}

export type AttemptTicket = { ok: true; settle(success: boolean): void } | { ok: false; scope: 'source' | 'credential'; retryAfterSeconds: number };

export class AttemptLimiter {
  private readonly sources = new Map<string, SourceState>();
  private readonly credentials = new Map<string, CredentialState>();

  constructor(
    private readonly limits: AttemptLimits = DEFAULT_ATTEMPT_LIMITS,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /**
   * Charges one guess at `credential` (an opaque key: one per password) to `address`, or says
   * how long to wait.
   */
  begin(address: string, credential = ''): AttemptTicket {
    const key = sourceKey(address);
    const t = this.now();
    const source = this.sources.get(key) ?? { tokens: this.limits.perSource.burst, at: t, failedAt: 0 };
    const cred = this.credentials.get(credential) ?? { main: { tokens: this.limits.perCredential.burst, at: t }, reserve: { tokens: this.limits.reserve.burst, at: t } };
    refill(source, this.limits.perSource, t);
    refill(cred.main, this.limits.perCredential, t);
    refill(cred.reserve, this.limits.reserve, t);
    if (source.tokens < 1) return { ok: false, scope: 'source', retryAfterSeconds: waitFor(source, this.limits.perSource) };
    const clean = source.failedAt === 0 || t - source.failedAt > this.limits.failureMemoryMs;
    let charged: Bucket;
    let spec: BucketSpec;
    if (cred.main.tokens >= 1) [charged, spec] = [cred.main, this.limits.perCredential];
    else if (clean && cred.reserve.tokens >= 1) [charged, spec] = [cred.reserve, this.limits.reserve];
    else return { ok: false, scope: 'credential', retryAfterSeconds: waitFor(cred.main, this.limits.perCredential) };
    source.tokens -= 1;
    charged.tokens -= 1;
    // One reserve guess per source at a time: it counts as failed until it succeeds (else a
    // source could take several at once over parallel connections).
    const failedBefore = source.failedAt;
    if (charged === cred.reserve) source.failedAt = t;
    remember(this.sources, key, source, this.limits.maxSources, (s) => (refill(s, this.limits.perSource, t), s.tokens >= this.limits.perSource.burst && s.failedAt === 0));
    remember(this.credentials, credential, cred, this.limits.maxCredentials, (c) => (refill(c.main, this.limits.perCredential, t), c.main.tokens >= this.limits.perCredential.burst));
    let settled = false;
    return {
      ok: true,
      settle: (success: boolean) => {
        if (settled) return;
        settled = true;
        if (!success) {
          source.failedAt = this.now();
          return;
        }
        if (charged === cred.reserve) source.failedAt = failedBefore;
        source.tokens = Math.min(this.limits.perSource.burst, source.tokens + 1);
        charged.tokens = Math.min(spec.burst, charged.tokens + 1);
      },
    };
  }
}

/** Keeps `value` as the newest entry; when over `max`, forgets an entry with nothing against it, else the oldest. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number, harmless: (v: V) => boolean): void {
  map.delete(key);
  map.set(key, value);
  if (map.size <= max) return;
  for (const [k, v] of map) {
    if (k !== key && harmless(v)) {
      map.delete(k);
      return;
    }
  }
  const oldest = map.keys().next().value;
  if (oldest !== undefined) map.delete(oldest);
}

function refill(bucket: Bucket, spec: BucketSpec, t: number): void {
  const elapsedHours = Math.max(0, t - bucket.at) / 3_600_000;
  bucket.tokens = Math.min(spec.burst, bucket.tokens + elapsedHours * spec.perHour);
  bucket.at = t;
}

function waitFor(bucket: Bucket, spec: BucketSpec): number {
  return Math.max(1, Math.ceil(((1 - bucket.tokens) / spec.perHour) * 3600));
}

// sourceKey lives in src/shared/net-address.ts (the channel's connection limits count sources the same way).
export { sourceKey };
