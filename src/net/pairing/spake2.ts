/**
 * SPAKE2 (RFC 9382), suite P256-SHA256-HKDF-HMAC-SHA256, on @noble/curves.
 *
 * Used by password pairing (see ARCHITECTURE.md, Pairing). Roles: A = the client, which uses M;
 * B = the device, which uses N. The identities are the two TLS key fingerprints as each side
 * sees them, and the AAD bound into the confirmation keys is the TLS exporter of the connection,
 * so a man in the middle who terminates TLS on both sides sees two different exporters and fails
 * confirmation even if he relays every message.
 *
 * Flow (3 messages over the RPC channel):
 *   client -> device  pA                      Spake2Client.start()
 *   device -> client  pB, cB                  Spake2Device.respond()
 *   client -> device  cA                      client.finish() checks cB and returns cA
 *                                             device.verify() checks cA
 * Each side exposes `sharedKey` (Ke) only after it has checked the peer's confirmation MAC.
 *
 * The module has two layers: the deterministic RFC core (`passwordToScalar`, `computeShare`,
 * `deriveKeys`), which the RFC test vectors exercise with injected scalars, and the two-party
 * API (`Spake2Client`, `Spake2Device`) that draws fresh scalars and enforces the order of calls.
 */
import { timingSafeEqual } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { isFingerprint } from '../../shared/fingerprint';

const Point = p256.Point;
// Scalars live in Point.Fn, the field of the group order n. The cofactor h of P-256 is 1, so the
// RFC's `h*` multiplications vanish.
type P256Point = typeof Point.BASE;

/**
 * M and N for P-256 from RFC 9382 (section 6, Ciphersuites), compressed SEC1. They are the
 * first valid points obtained by hashing the seeds
 * "1.2.840.10045.3.1.7 point generation seed (M)" / "(N)" as in the RFC's appendix A, so nobody
 * knows their discrete logarithms; the tests re-derive them.
 */
// Fixed points: precomputed multiplication tables make w*M and w*N about 5x faster.
const M = Point.fromHex('02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f').precompute(8, false);
const N = Point.fromHex('03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49').precompute(8, false);

/** Length of an uncompressed SEC1 P-256 point (0x04 || x || y), the only form on the wire. */
export const SPAKE2_SHARE_LENGTH = 65;
/** Length of a confirmation MAC (HMAC-SHA256). */
export const SPAKE2_MAC_LENGTH = 32;

/** The peer's message is malformed: not a valid P-256 point, or one that yields the identity. */
export class Spake2Error extends Error {
  override name = 'Spake2Error';
}

/**
 * The peer's confirmation MAC does not match: a wrong password, or the two sides disagree on
 * the identities or the AAD (a man in the middle). The cause is deliberately not revealed.
 */
export class Spake2ConfirmationError extends Spake2Error {
  override name = 'Spake2ConfirmationError';
}

// ---------------------------------------------------------------------------------------------
// RFC 9382 core (deterministic; scalars are passed in)
// ---------------------------------------------------------------------------------------------

export type Spake2Role = 'A' | 'B';

/**
 * Password to the scalar w: SHA-256(UTF-8(password)) as a big-endian integer, mod n.
 *
 * RFC 9382 asks for a memory-hard function here. We use plain SHA-256 on purpose: the device
 * keeps its pairing passwords in plaintext anyway (Nabto's IAM state format stores them so), so a
 * slow hash would protect nothing at rest, and SPAKE2 itself gives a network attacker no
 * transcript to guess against offline: each online attempt tests one password, and those are
 * rate-limited by the pairing service. The password is not Unicode-normalised; both sides must
 * send the same code points (pairing strings carry it verbatim).
 *
 * Throws if the result is 0 (probability about 2^-256), which is not a usable scalar.
 */
export function passwordToScalar(password: string): bigint {
  const w = Point.Fn.create(bytesToNumberBE(sha256(utf8ToBytes(password))));
  if (w === 0n) throw new RangeError('this password maps to the zero scalar; choose another password');
  return w;
}

/**
 * A party's public share, uncompressed SEC1: pA = x*P + w*M (role A) or pB = y*P + w*N (role B).
 * `w` and `scalar` must lie in [1, n-1].
 */
export function computeShare(role: Spake2Role, w: bigint, scalar: bigint): Uint8Array {
  return sharePoint(role, w, scalar).toBytes(false);
}

export interface Spake2KeyInput {
  /** Which side is computing: A knows x and receives pB; B knows y and receives pA. */
  role: Spake2Role;
  /** Password scalar (see passwordToScalar). */
  w: bigint;
  /** This side's secret scalar: x for A, y for B. */
  scalar: bigint;
  /** Identity strings as bytes (may be empty). */
  idA: Uint8Array;
  idB: Uint8Array;
  /** The peer's share as received: pB for role A, pA for role B. Validated here. */
  peerShare: Uint8Array;
  /** This side's own share, when already computed (it is then not computed again). */
  ownShare?: P256Point;
  /** Additional authenticated data for the confirmation keys (may be empty). */
  aad: Uint8Array;
}

/** Every value of RFC 9382 sections 3.3 and 4 for one exchange; secrets included. */
export interface Spake2Keys {
  pA: Uint8Array;
  pB: Uint8Array;
  /** Shared point, uncompressed SEC1. */
  K: Uint8Array;
  /** Transcript TT. */
  TT: Uint8Array;
  /** Shared key: first half of SHA-256(TT). */
  Ke: Uint8Array;
  /** Key for confirmation: second half of SHA-256(TT). */
  Ka: Uint8Array;
  KcA: Uint8Array;
  KcB: Uint8Array;
  /** A's confirmation MAC, HMAC-SHA256(KcA, TT). */
  cA: Uint8Array;
  /** B's confirmation MAC, HMAC-SHA256(KcB, TT). */
  cB: Uint8Array;
}

/**
 * Completes the exchange from one side: validates the peer's share, computes
 *   K = h*x*(pB - w*N)  (role A)   or   K = h*y*(pA - w*M)  (role B),
 * the transcript TT = len(A)||A || len(B)||B || len(pA)||pA || len(pB)||pB || len(K)||K ||
 * len(w)||w (8-byte little-endian lengths, w as 32 big-endian bytes), Ke||Ka = SHA-256(TT),
 * KcA||KcB = HKDF-SHA256(salt = empty, ikm = Ka, info = "ConfirmationKeys" || AAD, 32), and
 * cA = HMAC(KcA, TT), cB = HMAC(KcB, TT).
 *
 * Throws Spake2Error if the peer's share is invalid or K is the identity.
 */
export function deriveKeys(input: Spake2KeyInput): Spake2Keys {
  const { role, w, scalar, idA, idB, aad } = input;
  const own = input.ownShare ?? sharePoint(role, w, scalar);
  const peer = decodeShare(input.peerShare, role === 'A' ? 'pB' : 'pA');
  // Remove the password blinding from the peer's share, then apply our secret scalar (h = 1).
  const K = peer.subtract((role === 'A' ? N : M).multiply(w)).multiply(scalar);
  // Only reachable if the peer's share is exactly w*N (or w*M), i.e. built from the password
  // with a zero scalar; refusing it keeps K a real Diffie-Hellman value.
  if (K.is0()) throw new Spake2Error('the shared point is the identity; peer share rejected');

  const [pA, pB] = role === 'A' ? [own.toBytes(false), peer.toBytes(false)] : [peer.toBytes(false), own.toBytes(false)];
  const kBytes = K.toBytes(false);
  const TT = concatBytes(...[idA, idB, pA, pB, kBytes, Point.Fn.toBytes(w)].flatMap((part) => [le64(part.length), part]));

  const hashTT = sha256(TT);
  const Ke = hashTT.slice(0, 16);
  const Ka = hashTT.slice(16);
  const Kc = hkdf(sha256, Ka, new Uint8Array(0), concatBytes(utf8ToBytes('ConfirmationKeys'), aad), 32);
  const KcA = Kc.slice(0, 16);
  const KcB = Kc.slice(16);
  return { pA, pB, K: kBytes, TT, Ke, Ka, KcA, KcB, cA: hmac(sha256, KcA, TT), cB: hmac(sha256, KcB, TT) };
}

function sharePoint(role: Spake2Role, w: bigint, scalar: bigint): P256Point {
  return Point.BASE.multiply(scalar).add((role === 'A' ? M : N).multiply(w));
}

/** Decodes and validates a received share: a 65-byte uncompressed point, on the curve, not the identity. */
function decodeShare(bytes: Uint8Array, name: 'pA' | 'pB'): P256Point {
  // SEC1 encodes the identity as the single byte 0x00; name it rather than report a bad length.
  if (bytes.length === 1 && bytes[0] === 0) throw new Spake2Error(`${name} is the identity point`);
  if (bytes.length !== SPAKE2_SHARE_LENGTH || bytes[0] !== 0x04) {
    throw new Spake2Error(`${name} must be a ${SPAKE2_SHARE_LENGTH}-byte uncompressed P-256 point`);
  }
  let point: P256Point;
  try {
    // fromBytes checks that the coordinates are field elements and the point is on the curve.
    point = Point.fromBytes(bytes);
  } catch (error) {
    throw new Spake2Error(`${name} is not a valid P-256 point: ${(error as Error).message}`);
  }
  // RFC 9382 requires rejecting the identity. The uncompressed form cannot encode it, so
  // this holds already; it is checked anyway because it is what the security argument needs.
  if (point.is0()) throw new Spake2Error(`${name} is the identity point`);
  return point;
}

function le64(length: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(length), true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Two-party API used by the pairing protocol
// ---------------------------------------------------------------------------------------------

export interface Spake2Options {
  /** The pairing password (not empty). */
  password: string;
  /** Identity A: the client's TLS key fingerprint, 64 lowercase hex, as this side sees it. */
  idA: string;
  /** Identity B: the device's TLS key fingerprint, 64 lowercase hex, as this side sees it. */
  idB: string;
  /** The TLS exporter of this connection (not empty), bound into the confirmation keys. */
  aad: Uint8Array;
}

/** Role A. `start()`, send `message` (pA), then `finish()` with the device's reply. */
export class Spake2Client {
  /** pA, to send to the device. */
  readonly message: Uint8Array;
  /** Secrets needed by finish(); cleared when finish() is called, so it runs once. */
  #pending: { context: Context; x: bigint; own: P256Point } | undefined;
  #sharedKey: Uint8Array | undefined;

  private constructor(context: Context, x: bigint) {
    const own = sharePoint('A', context.w, x);
    this.#pending = { context, x, own };
    this.message = own.toBytes(false);
  }

  static start(options: Spake2Options): Spake2Client {
    return new Spake2Client(toContext(options), randomScalar());
  }

  /**
   * Checks the device's reply and returns cA to send back. Throws Spake2Error for an invalid
   * pB and Spake2ConfirmationError for a wrong cB (wrong password, or another TLS connection
   * or identity on the device's side). May be called once, whatever the outcome.
   */
  finish(reply: { pB: Uint8Array; cB: Uint8Array }): { cA: Uint8Array } {
    const pending = this.#pending;
    if (!pending) throw new Error('Spake2Client.finish() may be called only once');
    this.#pending = undefined;
    const { context, x, own } = pending;
    const keys = deriveKeys({ role: 'A', w: context.w, scalar: x, idA: context.idA, idB: context.idB, aad: context.aad, peerShare: reply.pB, ownShare: own });
    if (!macEquals(reply.cB, keys.cB)) {
      keys.Ke.fill(0);
      throw new Spake2ConfirmationError('the device failed key confirmation');
    }
    this.#sharedKey = keys.Ke;
    return { cA: keys.cA };
  }

  /** Ke (16 bytes), available once finish() has verified cB. */
  get sharedKey(): Uint8Array {
    if (!this.#sharedKey) throw new Error('no SPAKE2 shared key: the device has not been confirmed');
    return this.#sharedKey.slice();
  }
}

/** Role B. `respond()` to the client's pA, send `pB` and `cB`, then `verify()` the client's cA. */
export class Spake2Device {
  /** pB, to send to the client. */
  readonly pB: Uint8Array;
  /** cB, to send to the client with pB. */
  readonly cB: Uint8Array;
  /** Expected cA and the unconfirmed Ke; cleared when verify() is called, so it runs once. */
  #pending: { cA: Uint8Array; Ke: Uint8Array } | undefined;
  #sharedKey: Uint8Array | undefined;

  private constructor(keys: Spake2Keys) {
    this.pB = keys.pB;
    this.cB = keys.cB;
    this.#pending = { cA: keys.cA, Ke: keys.Ke };
  }

  /** Answers the client's pA. Throws Spake2Error if pA is not a valid share. */
  static respond(options: Spake2Options & { pA: Uint8Array }): Spake2Device {
    const context = toContext(options);
    return new Spake2Device(
      deriveKeys({ role: 'B', w: context.w, scalar: randomScalar(), idA: context.idA, idB: context.idB, aad: context.aad, peerShare: options.pA }),
    );
  }

  /**
   * Checks the client's cA. Throws Spake2ConfirmationError if it is wrong (the shared key is
   * then discarded). May be called once, whatever the outcome.
   */
  verify(cA: Uint8Array): void {
    const pending = this.#pending;
    if (!pending) throw new Error('Spake2Device.verify() may be called only once');
    this.#pending = undefined;
    if (!macEquals(cA, pending.cA)) {
      pending.Ke.fill(0);
      throw new Spake2ConfirmationError('the client failed key confirmation');
    }
    this.#sharedKey = pending.Ke;
  }

  /** Ke (16 bytes), available once verify() has accepted cA. */
  get sharedKey(): Uint8Array {
    if (!this.#sharedKey) throw new Error('no SPAKE2 shared key: the client has not been confirmed');
    return this.#sharedKey.slice();
  }
}

/** Validated options in the form the core takes. */
interface Context {
  w: bigint;
  idA: Uint8Array;
  idB: Uint8Array;
  aad: Uint8Array;
}

function toContext(options: Spake2Options): Context {
  const { password, idA, idB, aad } = options;
  if (password.length === 0) throw new TypeError('SPAKE2: the password must be a non-empty string');
  if (!isFingerprint(idA)) throw new TypeError('SPAKE2: idA must be a key fingerprint (64 lowercase hex characters)');
  if (!isFingerprint(idB)) throw new TypeError('SPAKE2: idB must be a key fingerprint (64 lowercase hex characters)');
  // An empty AAD would silently drop the binding to the TLS connection (the MITM protection).
  if (aad.length === 0) throw new TypeError('SPAKE2: aad (the TLS exporter) must be non-empty bytes');
  return { w: passwordToScalar(password), idA: utf8ToBytes(idA), idB: utf8ToBytes(idB), aad: aad.slice() };
}

/** A fresh secret scalar, uniform in [1, n-1], from the platform CSPRNG (crypto.getRandomValues). */
function randomScalar(): bigint {
  return Point.Fn.fromBytes(p256.utils.randomSecretKey());
}

/** Constant-time comparison of a received MAC with the expected one; the length is public. */
function macEquals(received: Uint8Array, expected: Uint8Array): boolean {
  return received.length === SPAKE2_MAC_LENGTH && timingSafeEqual(received, expected);
}
