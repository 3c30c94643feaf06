/**
 * The password-guess budgets (AttemptLimiter) with a fake clock: what one source gets per minute
 * and per hour, refunds for successes, independence of sources, the per-password budget and its reserve, source keys
 * (IPv6 /64, IPv4-mapped) and the bound on remembered sources.
 */
import { describe, expect, it } from 'vitest';
import { AttemptLimiter, DEFAULT_ATTEMPT_LIMITS, sourceKey, type AttemptLimits, type AttemptTicket } from '../../src/device/pairing/attempt-limiter';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

function fakeClock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

/** One failed guess: the exchange starts (charged) and fails. Returns whether it was allowed. */
let seq = 0;
function failedGuess(limiter: AttemptLimiter, address: string): AttemptTicket {
  // Each at another password, so that only the source's own budget counts here.
  const ticket = limiter.begin(address, `pw-${seq++}`);
  if (ticket.ok) ticket.settle(false);
  return ticket;
}

/** Spends the source's whole budget; returns how many guesses it got. */
function drain(limiter: AttemptLimiter, address: string, max = 1000): number {
  let allowed = 0;
  for (let i = 0; i < max; i++) {
    if (!failedGuess(limiter, address).ok) break;
    allowed++;
  }
  return allowed;
}

function sourcesOf(limiter: AttemptLimiter): Map<string, unknown> {
  return (limiter as unknown as { sources: Map<string, unknown> }).sources;
}

describe('AttemptLimiter: one source', () => {
  it('hammering once a second for an hour gets at most 10 guesses in the first minute and at most 60 in the hour', () => {
    const clock = fakeClock();
    const limiter = new AttemptLimiter(DEFAULT_ATTEMPT_LIMITS, clock.now);
    const allowedAt: number[] = [];
    const refusals: Extract<AttemptTicket, { ok: false }>[] = [];
    for (let s = 0; s < 3600; s++) {
      const ticket = failedGuess(limiter, '192.0.2.7');
      if (ticket.ok) allowedAt.push(s);
      else refusals.push(ticket);
      clock.advance(SECOND);
    }
    const firstMinute = allowedAt.filter((s) => s < 60).length;
    expect(firstMinute).toBe(10);
    // The burst is spent at once, then one guess per 72 s (50 an hour).
    expect(allowedAt.slice(0, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(allowedAt.length).toBeLessThanOrEqual(60);
    expect(allowedAt.length).toBeGreaterThanOrEqual(58);
    // Once the burst is gone, one guess per refill interval (72 s; the first comes a little
    // earlier since the bucket refilled a bit while the burst was being spent).
    const gaps = allowedAt.slice(10).map((s, i) => s - allowedAt[9 + i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(60);
    expect(Math.min(...gaps.slice(1))).toBeGreaterThanOrEqual(71);
    // Refused because of the source's own budget, with an honest wait.
    expect(refusals.every((r) => r.scope === 'source')).toBe(true);
    expect(refusals.every((r) => r.retryAfterSeconds >= 1 && r.retryAfterSeconds <= 72)).toBe(true);
  });

  it('an exchange never settled still counts as a guess', () => {
    const clock = fakeClock();
    const limiter = new AttemptLimiter(DEFAULT_ATTEMPT_LIMITS, clock.now);
    for (let i = 0; i < 10; i++) expect(limiter.begin('192.0.2.8').ok).toBe(true);
    expect(limiter.begin('192.0.2.8')).toMatchObject({ ok: false, scope: 'source' });
  });

  it('a success gives its token back (once), so a legitimate user is never locked out by its own successes', () => {
    const clock = fakeClock();
    const limiter = new AttemptLimiter(DEFAULT_ATTEMPT_LIMITS, clock.now);
    for (let i = 0; i < 200; i++) {
      const ticket = limiter.begin('192.0.2.9');
      expect(ticket.ok, `success #${i}`).toBe(true);
      if (ticket.ok) ticket.settle(true);
    }
    // 9 failures leave one token; a success in between keeps it.
    expect(drain(limiter, '192.0.2.9', 9)).toBe(9);
    const ok = limiter.begin('192.0.2.9');
    expect(ok.ok).toBe(true);
    if (ok.ok) {
      ok.settle(true);
      ok.settle(true); // settling twice refunds once
    }
    expect(drain(limiter, '192.0.2.9')).toBe(1);
    // A ticket settled as a failure cannot be turned into a refund afterwards.
    clock.advance(HOUR); // full again
    expect(drain(limiter, '192.0.2.9', 9)).toBe(9);
    const last = limiter.begin('192.0.2.9');
    expect(last.ok).toBe(true);
    if (last.ok) {
      last.settle(false);
      last.settle(true);
    }
    expect(limiter.begin('192.0.2.9').ok).toBe(false);
  });

  it('refills: after an hour of silence the full burst is back, and not more', () => {
    const clock = fakeClock();
    const limiter = new AttemptLimiter(DEFAULT_ATTEMPT_LIMITS, clock.now);
    expect(drain(limiter, '192.0.2.10')).toBe(10);
    clock.advance(72 * SECOND);
    expect(drain(limiter, '192.0.2.10')).toBe(1);
    clock.advance(10 * HOUR);
    expect(drain(limiter, '192.0.2.10')).toBe(10);
  });
});

describe('AttemptLimiter: many sources', () => {
  it('another source is unaffected by the first', () => {
    const clock = fakeClock();
    const limiter = new AttemptLimiter(DEFAULT_ATTEMPT_LIMITS, clock.now);
    expect(drain(limiter, '192.0.2.1')).toBe(10);
    expect(failedGuess(limiter, '192.0.2.1').ok).toBe(false);
    expect(drain(limiter, '192.0.2.2')).toBe(10);
    expect(failedGuess(limiter, '192.0.2.1').ok).toBe(false);
  });

  it('one source hammering for an hour never locks out a user trying from elsewhere', () => {
    const clock = fakeClock();
    const limiter = new AttemptLimiter(DEFAULT_ATTEMPT_LIMITS, clock.now);
    for (let s = 0; s < 3600; s++) {
      failedGuess(limiter, '198.51.100.66');
      if (s % 300 === 150) {
        const legit = limiter.begin('192.0.2.200');
        expect(legit.ok, `legitimate attempt at ${s} s`).toBe(true);
        if (legit.ok) legit.settle(true);
      }
      clock.advance(SECOND);
    }
  });

  it('many sources together get at most burst + hourly refill at one password; other passwords are untouched', () => {
    const clock = fakeClock();
    const limiter = new AttemptLimiter(DEFAULT_ATTEMPT_LIMITS, clock.now);
    const { perCredential, reserve } = DEFAULT_ATTEMPT_LIMITS;
    let allowed = 0;
    for (let source = 0; source < 100; source++) allowed += drainAt(limiter, `203.0.113.${source}`, 'bob');
    // The main bucket, then one reserve guess per fresh source until the reserve is gone.
    expect(allowed).toBe(perCredential.burst + reserve.burst);
    // Another password (another invitation, or the open password) has its own budget.
    expect(drainAt(limiter, '203.0.113.200', 'carol')).toBe(DEFAULT_ATTEMPT_LIMITS.perSource.burst);
    // Over a whole hour of 100 addresses hammering bob's password, it gets at most the refills.
    let hour = 0;
    for (let s = 0; s < 3600; s += 10) {
      clock.advance(10 * SECOND);
      for (let i = 0; i < 100; i++) if (failedGuessAt(limiter, `198.18.${i}.1`, 'bob').ok) hour++;
    }
    expect(hour).toBeLessThanOrEqual(perCredential.perHour + reserve.perHour + 2);
    expect(hour).toBeGreaterThanOrEqual(perCredential.perHour - 2);
  });

  it('the attacked invitee still gets in: the reserve is for sources without a failed guess, and refusals do not extend anything', () => {
    const clock = fakeClock();
    const limiter = new AttemptLimiter(DEFAULT_ATTEMPT_LIMITS, clock.now);
    // Six attacking addresses drain bob's budget (the attack of issue 10 item 3).
    for (let a = 0; a < 6; a++) drainAt(limiter, `198.51.100.${a}`, 'bob');
    const refused = limiter.begin('198.51.100.0', 'bob');
    expect(refused).toMatchObject({ ok: false });
    // The same attackers, with source tokens left after a while, cannot touch the reserve.
    clock.advance(10 * MINUTE);
    for (let a = 0; a < 6; a++) for (let k = 0; k < 20; k++) failedGuessAt(limiter, `198.51.100.${a}`, 'bob');
    // The invitee, from their own address, gets in (and keeps the token: success refunds).
    for (let k = 0; k < 5; k++) {
      const invitee = limiter.begin('192.0.2.77', 'bob');
      expect(invitee.ok, `invitee attempt ${k}`).toBe(true);
      if (invitee.ok) invitee.settle(true);
    }
  });

  it('an unknown username has a budget like a real one (nothing tells them apart)', () => {
    const limiter = new AttemptLimiter(DEFAULT_ATTEMPT_LIMITS, fakeClock().now);
    const counts = ['real', 'nobody'].map((c) => {
      let n = 0;
      for (let a = 0; a < 5; a++) n += drainAt(limiter, `203.0.113.${c === 'real' ? a : 50 + a}`, c);
      return n;
    });
    expect(counts[0]).toBe(counts[1]);
  });
});

function failedGuessAt(limiter: AttemptLimiter, address: string, credential: string): AttemptTicket {
  const ticket = limiter.begin(address, credential);
  if (ticket.ok) ticket.settle(false);
  return ticket;
}

function drainAt(limiter: AttemptLimiter, address: string, credential: string): number {
  let n = 0;
  while (failedGuessAt(limiter, address, credential).ok) n++;
  return n;
}

describe('AttemptLimiter: source keys', () => {
  it('IPv6 addresses in one /64 share a bucket; another /64 has its own', () => {
    const clock = fakeClock();
    const limiter = new AttemptLimiter(DEFAULT_ATTEMPT_LIMITS, clock.now);
    expect(sourceKey('2001:db8:1:2::1')).toBe(sourceKey('2001:db8:1:2:ffff:ffff:ffff:fffe'));
    expect(sourceKey('2001:db8:1:2::1')).toBe(sourceKey('2001:0DB8:0001:0002:0:0:0:9'));
    expect(sourceKey('2001:db8:1:2::1')).not.toBe(sourceKey('2001:db8:1:3::1'));
    // Five guesses from each of two hosts in the same /64 spend one budget.
    for (let i = 0; i < 5; i++) {
      expect(failedGuess(limiter, `2001:db8:1:2::${i + 1}`).ok).toBe(true);
      expect(failedGuess(limiter, `2001:db8:1:2:abcd::${i + 1}`).ok).toBe(true);
    }
    expect(failedGuess(limiter, '2001:db8:1:2:dead:beef:0:1').ok).toBe(false);
    expect(failedGuess(limiter, 'fe80::1%eth0').ok).toBe(true);
    expect(drain(limiter, '2001:db8:1:3::1')).toBe(10);
  });

  it('::ffff:127.0.0.1 is the same source as 127.0.0.1', () => {
    const clock = fakeClock();
    const limiter = new AttemptLimiter(DEFAULT_ATTEMPT_LIMITS, clock.now);
    expect(sourceKey('::ffff:127.0.0.1')).toBe(sourceKey('127.0.0.1'));
    expect(sourceKey('::ffff:7f00:1')).toBe(sourceKey('127.0.0.1'));
    expect(drain(limiter, '127.0.0.1', 5)).toBe(5);
    expect(drain(limiter, '::ffff:127.0.0.1')).toBe(5);
    expect(failedGuess(limiter, '127.0.0.1').ok).toBe(false);
    expect(failedGuess(limiter, '::ffff:7f00:1').ok).toBe(false);
    // A different loopback address is a different source.
    expect(failedGuess(limiter, '127.0.0.2').ok).toBe(true);
  });
});

describe('AttemptLimiter: memory', () => {
  it('remembers at most maxSources sources', () => {
    const clock = fakeClock();
    const limits: AttemptLimits = { perSource: { burst: 10, perHour: 50 }, perCredential: { burst: 1e9, perHour: 1e9 }, reserve: { burst: 0, perHour: 0 }, failureMemoryMs: 0, maxSources: 100, maxCredentials: 100 };
    const limiter = new AttemptLimiter(limits, clock.now);
    for (let i = 0; i < 5000; i++) {
      failedGuess(limiter, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
      expect(sourcesOf(limiter).size).toBeLessThanOrEqual(limits.maxSources);
    }
    expect(sourcesOf(limiter).size).toBe(limits.maxSources);
  });

  it('when full, forgets a source with nothing against it before one that is being throttled', () => {
    const clock = fakeClock();
    const limits: AttemptLimits = { perSource: { burst: 10, perHour: 50 }, perCredential: { burst: 1e9, perHour: 1e9 }, reserve: { burst: 0, perHour: 0 }, failureMemoryMs: 0, maxSources: 3, maxCredentials: 100 };
    const limiter = new AttemptLimiter(limits, clock.now);
    expect(drain(limiter, '198.51.100.1')).toBe(10); // the attacker, oldest entry
    const ok = limiter.begin('192.0.2.1'); // a user who then succeeds: full bucket again
    if (ok.ok) ok.settle(true);
    failedGuess(limiter, '192.0.2.2');
    failedGuess(limiter, '192.0.2.3'); // the map overflows: someone must be forgotten
    expect(sourcesOf(limiter).size).toBe(3);
    // The throttled attacker is still remembered (and still refused).
    expect(failedGuess(limiter, '198.51.100.1').ok).toBe(false);
  });
});
