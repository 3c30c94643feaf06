// TURN credentials in coturn's REST-API form: `<expiry>:<user>` / base64(HMAC-SHA1(secret, username)).
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TURN_TTL_SECONDS, iceServersFor, turnCredentials, validateTurnConfig } from '../../src/relay/turn';

describe('turnCredentials', () => {
  const now = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  const urls = ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp'];

  it('has the coturn form, expires at now + ttl and verifies', () => {
    const c = turnCredentials('s3cret', 'alice', 600, urls, now);
    const expiry = Math.floor(now / 1000) + 600;
    expect(c.username).toBe(`${expiry}:alice`);
    expect(c.expiresAt).toBe(expiry);
    expect(c.urls).toEqual(urls);
    // What coturn does with use-auth-secret: recompute the HMAC from the shared secret.
    expect(c.credential).toBe(createHmac('sha1', 's3cret').update(c.username).digest('base64'));
    expect(Buffer.from(c.credential, 'base64')).toHaveLength(20);
  });

  it('matches a value computed independently with openssl', () => {
    // printf '%s' '1700000600:bob' | openssl dgst -sha1 -hmac 'north' -binary | base64
    const c = turnCredentials('north', 'bob', 600, urls, 1_700_000_000_000);
    expect(c.username).toBe('1700000600:bob');
    expect(c.credential).toBe('J8IP49Hz7aUcAstwXwJXfukSnsw=');
  });

  it('another secret or a changed username does not verify', () => {
    const c = turnCredentials('s3cret', 'alice', 600, urls, now);
    expect(createHmac('sha1', 'other').update(c.username).digest('base64')).not.toBe(c.credential);
    const later = c.username.replace(/^\d+/, String(c.expiresAt + 3600));
    expect(createHmac('sha1', 's3cret').update(later).digest('base64')).not.toBe(c.credential);
  });

  it('refuses bad input', () => {
    expect(() => turnCredentials('', 'alice', 600, urls, now)).toThrow(/secret/);
    expect(() => turnCredentials('s', 'Alice:x', 600, urls, now)).toThrow(/user/);
    expect(() => turnCredentials('s', 'alice', 0, urls, now)).toThrow(/ttl/);
  });

  it('iceServersFor: one entry with every URL, or [] without TURN', () => {
    expect(iceServersFor(undefined, 'alice', now)).toEqual([]);
    const servers = iceServersFor({ urls, secret: 'k', ttlSeconds: 300 }, 'alice', now);
    expect(servers).toEqual([{ urls, username: `${Math.floor(now / 1000) + 300}:alice`, credential: createHmac('sha1', 'k').update(`${Math.floor(now / 1000) + 300}:alice`).digest('base64') }]);
  });

  it('validateTurnConfig checks URLs, secret and ttl', () => {
    expect(() => validateTurnConfig({ urls: ['http://x'], secret: 'k', ttlSeconds: 600 })).toThrow(/turn: or turns:/);
    expect(() => validateTurnConfig({ urls: ['turn:x'], secret: '', ttlSeconds: 600 })).toThrow(/empty/);
    expect(() => validateTurnConfig({ urls: ['turn:x'], secret: 'k', ttlSeconds: 4 })).toThrow(/turn-ttl must be a whole number of seconds from 5 to 86400/);
    expect(validateTurnConfig({ urls: ['turn:x'], secret: 'k', ttlSeconds: 5 }).ttlSeconds).toBe(5);
    expect(DEFAULT_TURN_TTL_SECONDS).toBe(300);
    expect(() => validateTurnConfig({ urls: Array(9).fill('turn:x'), secret: 'k', ttlSeconds: 600 })).toThrow(/at most/);
    expect(validateTurnConfig({ urls: ['turns:relay.example:5349'], secret: 'k', ttlSeconds: 600 }).urls).toHaveLength(1);
  });
});
