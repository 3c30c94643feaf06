/**
 * Issue 10 item 14: replay-cache exhaustion. One holder of a remote secret opens first messages
 * as fast as he can; on the old code the shared cache filled and every other remote user got
 * 'busy'. Now each kid has its own share of the cache.
 */
import { describe, expect, it } from 'vitest';
import type { SignedSignalingError } from '../../src/net/signed-signaling';
import { NonceCache, newSecret, SignedSignalingClient, SignedSignalingDevice } from '../../src/net/signed-signaling';
import type { SignalingMessage } from '../../src/shared/protocol/webrtc-api';

const SETUP_REQUEST: SignalingMessage = { type: 'SETUP_REQUEST' };

describe('NonceCache shares per kid', () => {
  it('one group full does not refuse another', () => {
    const cache = new NonceCache({ maxEntries: 100, maxPerGroup: 3 });
    for (let i = 0; i < 3; i++) expect(cache.remember(`a.${i}`, Date.now() + 60_000, 'a')).toBe('fresh');
    expect(cache.remember('a.3', Date.now() + 60_000, 'a')).toBe('full');
    expect(cache.remember('b.0', Date.now() + 60_000, 'b')).toBe('fresh');
    expect(cache.remember('a.0', Date.now() + 60_000, 'a')).toBe('replayed');
  });

  it('entries without an expiry of their own (Nabto first messages) give way within their group only', () => {
    const cache = new NonceCache({ maxEntries: 100, maxPerGroup: 2 });
    const day = Date.now() + 86_400_000;
    expect(cache.remember('n.0', day, 'n', true)).toBe('fresh');
    expect(cache.remember('n.1', day, 'n', true)).toBe('fresh');
    // A day-long memory must not refuse this kid's sessions for a day: the oldest gives way.
    expect(cache.remember('n.2', day, 'n', true)).toBe('fresh');
    expect(cache.remember('n.1', day, 'n', true)).toBe('replayed');
    expect(cache.remember('n.2', day, 'n', true)).toBe('replayed');
    // Entries with their own short expiry never give way: that group is busy until they expire.
    expect(cache.remember('s.0', Date.now() + 60_000, 's')).toBe('fresh');
    expect(cache.remember('s.1', Date.now() + 60_000, 's')).toBe('fresh');
    expect(cache.remember('s.2', Date.now() + 60_000, 's', true)).toBe('full');
  });

  it('expired entries of a group make room for it again', () => {
    let now = 0;
    const cache = new NonceCache({ maxPerGroup: 2, now: () => now });
    cache.remember('x1', 1000, 'x');
    cache.remember('x2', 5000, 'x');
    expect(cache.remember('x3', 9000, 'x')).toBe('full');
    now = 2000;
    expect(cache.remember('x3', 9000, 'x')).toBe('fresh');
    expect(cache.size).toBe(2);
  });

  it('a flooding secret holder gets busy; another remote user still starts a session (real verification)', async () => {
    const mallory = newSecret();
    const alice = newSecret();
    const secrets = new Map([[mallory.kid, mallory.secret], [alice.kid, alice.secret]]);
    const cache = new NonceCache();
    const session = () => new SignedSignalingDevice((kid) => (kid === undefined ? undefined : secrets.get(kid)), { replayCache: cache });
    const codes = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      try {
        await session().verify(await new SignedSignalingClient(mallory.kid, mallory.secret).sign(SETUP_REQUEST));
        codes.set('ok', (codes.get('ok') ?? 0) + 1);
      } catch (err) {
        const code = (err as SignedSignalingError).code;
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    }
    expect(codes.get('ok')).toBe(64);
    expect(codes.get('busy')).toBe(136);
    expect(await session().verify(await new SignedSignalingClient(alice.kid, alice.secret).sign(SETUP_REQUEST))).toEqual(SETUP_REQUEST);
  });
});
