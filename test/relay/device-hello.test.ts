// The camera's proof of key to the relay (ES256 JWT, header jwk, challenge nonce, fp = SHA-256 of
// the key's SPKI DER). Every way to get it wrong must be refused.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { SignJWT, exportJWK, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { fingerprintOfPublicKey, generatePrivateKey } from '../../src/net/keys';
import { makeChallengeNonce, makeDeviceHelloToken, verifyDeviceHello } from '../../src/relay/device-hello';
import { RELAY_AUDIENCE } from '../../src/shared/protocol/relay-api';

const opts = { maxTokenAgeSeconds: 120, clockToleranceSeconds: 30 };
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

async function publicJwk(key: KeyObject): Promise<JWK> {
  const { kty, crv, x, y } = await exportJWK(createPublicKey(key));
  return { kty, crv, x, y } as JWK;
}

describe('device-hello tokens', () => {
  const key = generatePrivateKey();
  const fp = fingerprintOfPublicKey(key);

  it('a camera\'s token verifies to its device id and fingerprint', async () => {
    const nonce = makeChallengeNonce();
    const token = await makeDeviceHelloToken(key, { deviceId: 'cam-1', nonce });
    await expect(verifyDeviceHello(token, nonce, opts)).resolves.toEqual({ deviceId: 'cam-1', fingerprint: fp });
  });

  it('refuses an fp that is not the fingerprint of the signing key', async () => {
    const nonce = makeChallengeNonce();
    const other = fingerprintOfPublicKey(generatePrivateKey());
    const token = await makeDeviceHelloToken(key, { deviceId: 'cam-1', nonce, fingerprint: other });
    await expect(verifyDeviceHello(token, nonce, opts)).rejects.toThrow(/fp is not the fingerprint/);
  });

  it('refuses a header jwk that is not the signing key', async () => {
    const nonce = makeChallengeNonce();
    const other = generatePrivateKey();
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ fp: fingerprintOfPublicKey(other), nonce })
      .setProtectedHeader({ alg: 'ES256', jwk: await publicJwk(other) })
      .setSubject('cam-1').setAudience(RELAY_AUDIENCE).setIssuedAt(now).setExpirationTime(now + 60)
      .sign(key);
    await expect(verifyDeviceHello(token, nonce, opts)).rejects.toThrow(/signature/);
  });

  it('refuses a private key in the header', async () => {
    const nonce = makeChallengeNonce();
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ fp, nonce })
      .setProtectedHeader({ alg: 'ES256', jwk: await exportJWK(key) })
      .setSubject('cam-1').setAudience(RELAY_AUDIENCE).setIssuedAt(now).setExpirationTime(now + 60)
      .sign(key);
    await expect(verifyDeviceHello(token, nonce, opts)).rejects.toThrow(/public key/);
  });

  it('refuses another connection\'s (stale) nonce', async () => {
    const token = await makeDeviceHelloToken(key, { deviceId: 'cam-1', nonce: makeChallengeNonce() });
    await expect(verifyDeviceHello(token, makeChallengeNonce(), opts)).rejects.toThrow(/nonce/);
  });

  it('refuses an expired token, a token from the future and a long-lived one', async () => {
    const nonce = makeChallengeNonce();
    const old = await makeDeviceHelloToken(key, { deviceId: 'cam-1', nonce, now: Date.now() - 10 * 60_000 });
    await expect(verifyDeviceHello(old, nonce, opts)).rejects.toThrow(/expired|iat|age/);
    const future = await makeDeviceHelloToken(key, { deviceId: 'cam-1', nonce, now: Date.now() + 10 * 60_000 });
    await expect(verifyDeviceHello(future, nonce, opts)).rejects.toThrow(/iat/);
    const long = await makeDeviceHelloToken(key, { deviceId: 'cam-1', nonce, ttlSeconds: 3600 });
    await expect(verifyDeviceHello(long, nonce, opts)).rejects.toThrow(/lifetime/);
  });

  it('tolerates a camera clock a little off', async () => {
    const nonce = makeChallengeNonce();
    const token = await makeDeviceHelloToken(key, { deviceId: 'cam-1', nonce, now: Date.now() + 20_000 });
    await expect(verifyDeviceHello(token, nonce, opts)).resolves.toMatchObject({ deviceId: 'cam-1' });
  });

  it('refuses alg none and HS256', async () => {
    const nonce = makeChallengeNonce();
    const now = Math.floor(Date.now() / 1000);
    const payload = { sub: 'cam-1', fp, nonce, aud: RELAY_AUDIENCE, iat: now, exp: now + 60 };
    const none = `${b64({ alg: 'none', jwk: await publicJwk(key) })}.${b64(payload)}.`;
    await expect(verifyDeviceHello(none, nonce, opts)).rejects.toThrow(/ES256|invalid/);
    const hs = await new SignJWT({ fp, nonce })
      .setProtectedHeader({ alg: 'HS256', jwk: await publicJwk(key) })
      .setSubject('cam-1').setAudience(RELAY_AUDIENCE).setIssuedAt(now).setExpirationTime(now + 60)
      .sign(new TextEncoder().encode('x'.repeat(32)));
    await expect(verifyDeviceHello(hs, nonce, opts)).rejects.toThrow(/ES256/);
  });

  it('refuses a wrong audience, a missing claim and a bad device id', async () => {
    const nonce = makeChallengeNonce();
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>, sub: string | undefined, aud: string) => {
      const jwt = new SignJWT(claims).setAudience(aud).setIssuedAt(now).setExpirationTime(now + 60);
      if (sub !== undefined) jwt.setSubject(sub);
      return publicJwk(key).then((jwk) => jwt.setProtectedHeader({ alg: 'ES256', jwk }).sign(key));
    };
    await expect(verifyDeviceHello(await sign({ fp, nonce }, 'cam-1', 'someone-else'), nonce, opts)).rejects.toThrow(/aud/);
    await expect(verifyDeviceHello(await sign({ nonce }, 'cam-1', RELAY_AUDIENCE), nonce, opts)).rejects.toThrow(/fp/);
    await expect(verifyDeviceHello(await sign({ fp, nonce }, undefined, RELAY_AUDIENCE), nonce, opts)).rejects.toThrow(/sub/);
    await expect(verifyDeviceHello(await sign({ fp, nonce }, 'cam 1/..', RELAY_AUDIENCE), nonce, opts)).rejects.toThrow(/device id/);
  });
});

describe('audience bound to the relay key (issue 10 item 15)', () => {
  it('a relay with a key accepts only proofs that name it; a plain-ws relay accepts any lancam-relay audience', async () => {
    const key = generatePrivateKey();
    const nonce = makeChallengeNonce();
    const opts = { maxTokenAgeSeconds: 120, clockToleranceSeconds: 30 };
    const relayA = 'a'.repeat(64);
    const relayB = 'b'.repeat(64);
    const forA = await makeDeviceHelloToken(key, { deviceId: 'cam-1', nonce, relayFingerprint: relayA });
    await expect(verifyDeviceHello(forA, nonce, { ...opts, relayFingerprint: relayA })).resolves.toMatchObject({ deviceId: 'cam-1' });
    await expect(verifyDeviceHello(forA, nonce, { ...opts, relayFingerprint: relayB })).rejects.toThrow(/aud/);
    const unbound = await makeDeviceHelloToken(key, { deviceId: 'cam-1', nonce });
    await expect(verifyDeviceHello(unbound, nonce, { ...opts, relayFingerprint: relayA })).rejects.toThrow(/aud/);
    await expect(verifyDeviceHello(forA, nonce, opts)).resolves.toMatchObject({ deviceId: 'cam-1' });
  });
});
