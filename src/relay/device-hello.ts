/**
 * The camera's proof of key to the relay: an ES256 JWT signed by the camera's identity key, the
 * public key in the protected header (`jwk`), bound to the relay's per-connection challenge
 * (`nonce`), the relay audience and a short lifetime. The relay derives the camera's fingerprint
 * from that key (SHA-256 of its SPKI DER) and requires it to equal the `fp` claim, so a camera is
 * registered under exactly the fingerprint clients pin.
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { EmbeddedJWK, SignJWT, errors as joseErrors, exportJWK, jwtVerify, type JWK } from 'jose';
import { fingerprintOfPublicKey } from '../net/keys';
import { FINGERPRINT_RE } from '../shared/fingerprint';
import { RELAY_AUDIENCE } from '../shared/protocol/relay-api';

export const DEVICE_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
/** Lifetime of the tokens a camera makes (the relay accepts up to 120 s). */
export const DEVICE_HELLO_TTL_SECONDS = 60;

export class DeviceHelloError extends Error {
  override name = 'DeviceHelloError';
}

/** A fresh challenge nonce: 32 random bytes, base64url (43 characters). */
export function makeChallengeNonce(): string {
  return randomBytes(32).toString('base64url');
}

export interface DeviceHelloClaims {
  deviceId: string;
  nonce: string;
  /** Defaults to the fingerprint of `privateKey` (tests pass another to check the relay refuses it). */
  fingerprint?: string;
  /** Seconds; default DEVICE_HELLO_TTL_SECONDS. */
  ttlSeconds?: number;
  /** Milliseconds; default Date.now(). */
  now?: number;
  /** The key the relay presented: the audience becomes `lancam-relay:<fingerprint>` (see relayAudience). */
  relayFingerprint?: string | undefined;
}

/** The audience of a proof for the relay with this key; without TLS (a relay behind a terminator) the bare name. */
export function relayAudience(relayFingerprint: string | undefined): string {
  return relayFingerprint ? `${RELAY_AUDIENCE}:${relayFingerprint}` : RELAY_AUDIENCE;
}

/** Signs the device-hello token for a challenge. */
export async function makeDeviceHelloToken(privateKey: KeyObject, claims: DeviceHelloClaims): Promise<string> {
  const publicKey = createPublicKey(privateKey);
  const { kty, crv, x, y } = await exportJWK(publicKey);
  const iat = Math.floor((claims.now ?? Date.now()) / 1000);
  return new SignJWT({ fp: claims.fingerprint ?? fingerprintOfPublicKey(publicKey), nonce: claims.nonce })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', jwk: { kty, crv, x, y } as JWK })
    .setSubject(claims.deviceId)
    .setAudience(relayAudience(claims.relayFingerprint))
    .setIssuedAt(iat)
    .setExpirationTime(iat + (claims.ttlSeconds ?? DEVICE_HELLO_TTL_SECONDS))
    .sign(privateKey);
}

export interface VerifiedDevice {
  deviceId: string;
  fingerprint: string;
}

export interface VerifyOptions {
  maxTokenAgeSeconds: number;
  clockToleranceSeconds: number;
  /** Milliseconds; default Date.now(). */
  now?: number;
  /**
   * This relay's own key: the token's audience must name it, so a proof made for another relay
   * (that relayed our challenge to the camera) is refused. Undefined for a relay serving plain ws
   * behind a TLS terminator: it cannot know the key the camera saw, so it takes any lancam-relay
   * audience (stated in docs/security.md).
   */
  relayFingerprint?: string | undefined;
}

/**
 * Verifies a device-hello token against the challenge `nonce` sent on this connection. Throws a
 * DeviceHelloError whose message says what was wrong (it goes back to the camera).
 */
export async function verifyDeviceHello(token: string, nonce: string, options: VerifyOptions): Promise<VerifiedDevice> {
  let result;
  try {
    result = await jwtVerify(token, EmbeddedJWK, {
      algorithms: ['ES256'],
      ...(options.relayFingerprint ? { audience: relayAudience(options.relayFingerprint) } : {}),
      maxTokenAge: options.maxTokenAgeSeconds,
      clockTolerance: options.clockToleranceSeconds,
      requiredClaims: ['sub', 'fp', 'nonce', 'iat', 'exp'],
      currentDate: new Date(options.now ?? Date.now()),
    });
  } catch (err) {
    throw new DeviceHelloError(describeJoseError(err));
  }
  const { payload, protectedHeader } = result;
  if (!options.relayFingerprint) {
    const aud = payload.aud;
    if (typeof aud !== 'string' || !(aud === RELAY_AUDIENCE || aud.startsWith(`${RELAY_AUDIENCE}:`))) throw new DeviceHelloError('claim aud invalid: not a lancam-relay audience');
  }
  const jwk = protectedHeader.jwk;
  if (!jwk || jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new DeviceHelloError('the header key must be an EC P-256 public key');
  if (payload.nonce !== nonce) throw new DeviceHelloError('nonce does not match this connection\'s challenge');
  if (typeof payload.sub !== 'string' || !DEVICE_ID_RE.test(payload.sub)) throw new DeviceHelloError('sub must be a device id ([A-Za-z0-9_.-]{1,64})');
  if (typeof payload.fp !== 'string' || !FINGERPRINT_RE.test(payload.fp)) throw new DeviceHelloError('fp must be 64 lowercase hex characters');
  // jwtVerify bounds the age (iat); bound the lifetime too, so no token is valid for long.
  if (payload.exp! - payload.iat! > options.maxTokenAgeSeconds) throw new DeviceHelloError(`token lifetime (exp - iat) exceeds ${options.maxTokenAgeSeconds} s`);
  let fingerprint: string;
  try {
    fingerprint = fingerprintOfPublicKey(createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, format: 'jwk' }));
  } catch {
    throw new DeviceHelloError('the header key is not a valid P-256 public key');
  }
  if (fingerprint !== payload.fp) throw new DeviceHelloError('fp is not the fingerprint of the key that signed the token');
  return { deviceId: payload.sub, fingerprint };
}

function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim ${err.claim} invalid: ${err.reason} (${err.message})`.slice(0, 300);
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'token must be signed with ES256';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature does not verify with the header key';
  if (err instanceof joseErrors.JOSEError) return `invalid token: ${err.message}`.slice(0, 300);
  return 'invalid token';
}
