/**
 * Budgets for password guesses (SPAKE2 exchanges), per source and for the whole device.
 *
 * A guess is charged when an exchange STARTS, not when it fails: after the device's first answer
 * the client can check its guess itself (it holds cB), so an exchange it never finishes is still a
 * guess. A successful exchange gives its token back.
 *
 * Per source (an IPv4 address, or an IPv6 /64): a bucket of 10 that refills 50 an hour, so one
 * source gets at most 10 guesses in its first minute and 60 in an hour, however many connections
 * it opens. Globally: a larger bucket, so that many sources together still get few guesses per
 * hour, while one source alone can never drain it and lock everyone else out.
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
  global: BucketSpec;
  /** Sources remembered at most (the fullest buckets are forgotten first). */
  maxSources: number;
}

export const DEFAULT_ATTEMPT_LIMITS: AttemptLimits = {
  perSource: { burst: 10, perHour: 50 },
  global: { burst: 60, perHour: 300 },
  maxSources: 10_000,
};

interface Bucket {
  tokens: number;
  at: number;
}

export type AttemptTicket = { ok: true; settle(success: boolean): void } | { ok: false; scope: 'source' | 'global'; retryAfterSeconds: number };

export class AttemptLimiter {
  private readonly sources = new Map<string, Bucket>();
  private readonly global: Bucket;

  constructor(
    private readonly limits: AttemptLimits = DEFAULT_ATTEMPT_LIMITS,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.global = { tokens: limits.global.burst, at: now() };
  }

  /** Charges one guess to `address` and to the device, or says how long to wait. */
  begin(address: string): AttemptTicket {
    const key = sourceKey(address);
    const t = this.now();
    const source = this.sources.get(key) ?? { tokens: this.limits.perSource.burst, at: t };
    refill(source, this.limits.perSource, t);
    refill(this.global, this.limits.global, t);
    if (source.tokens < 1) return { ok: false, scope: 'source', retryAfterSeconds: waitFor(source, this.limits.perSource) };
    if (this.global.tokens < 1) return { ok: false, scope: 'global', retryAfterSeconds: waitFor(this.global, this.limits.global) };
    source.tokens -= 1;
    this.global.tokens -= 1;
    this.remember(key, source);
    let settled = false;
    return {
      ok: true,
      settle: (success: boolean) => {
        if (settled) return;
        settled = true;
        if (!success) return;
        source.tokens = Math.min(this.limits.perSource.burst, source.tokens + 1);
        this.global.tokens = Math.min(this.limits.global.burst, this.global.tokens + 1);
      },
    };
  }

  private remember(key: string, bucket: Bucket): void {
    this.sources.delete(key);
    this.sources.set(key, bucket);
    if (this.sources.size <= this.limits.maxSources) return;
    // Forget a source whose bucket is full again (it has nothing against it), else the oldest.
    const t = this.now();
    for (const [k, b] of this.sources) {
      refill(b, this.limits.perSource, t);
      if (b.tokens >= this.limits.perSource.burst) {
        this.sources.delete(k);
        return;
      }
    }
    const oldest = this.sources.keys().next().value;
    if (oldest !== undefined) this.sources.delete(oldest);
  }
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
