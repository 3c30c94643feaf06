/**
 * Shared-secret signed signaling, Nabto WebRTC's model: for signaling that travels through a relay
 * that must not be trusted (src/shared/protocol/relay-api.ts). Every message between a client and
 * a camera is an HS256 JWT made with a 256-bit secret that belongs to one IAM user; `kid` names it.
 *
 *   header  {alg: 'HS256', kid}
 *   payload {message: SignalingMessage, messageSeq, signerNonce, verifierNonce?, exp?}
 *
 * Each side of a session keeps its own random nonce (128 bits), the next sequence number it sends
 * and the next one it expects to receive.
 *
 * - The client's first message: messageSeq 0, signerNonce = client nonce, no verifierNonce, and a
 *   short exp. The camera checks the signature with the kid's secret, messageSeq 0, exp, and that
 *   it has not seen this client nonce within the validity window (a NonceCache shared by all
 *   sessions of the camera), so a first message replayed into a new session is refused.
 * - Every later message, either way: messageSeq = the next expected one, signerNonce = the
 *   sender's session nonce, verifierNonce = the receiver's own nonce. The camera's first message
 *   carries the client's nonce as verifierNonce, so a camera message replayed from another
 *   session is refused by the client.
 * - The kid is fixed for the session. The camera resolves it again on every message, so a revoked
 *   user's session ends with its next message.
 * - Any failed verification leaves the session dead: every later sign() and verify() throws
 *   ('dead'). So a relay that tampers, replays, reorders, drops or injects messages ends the
 *   session instead of steering it.
 *
 * sign() and verify() calls on one session are serialized in call order; hand tokens to the
 * transport in the order the sign() calls were made, and verify received tokens in arrival order.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import { signalingMessageSchema, type SignalingMessage } from '../shared/protocol/webrtc-api';

export type SignedSignalingErrorCode =
  | 'bad-signature' // signature does not verify, or an algorithm other than HS256
  | 'unknown-kid' // kid unknown, revoked, or not the session's kid
  | 'bad-sequence' // messageSeq is not the next expected one (replay, reorder, drop)
  | 'bad-nonce' // signerNonce / verifierNonce do not match the session
  | 'expired' // the first message's exp has passed
  | 'malformed' // not a token, too large, unexpected header, payload outside the schema
  | 'replayed' // a first message whose nonce this camera has already seen
  | 'busy' // the replay cache is full of unexpired nonces: refused rather than forgotten
  | 'dead'; // the session failed earlier; `cause` holds that failure

export class SignedSignalingError extends Error {
  override readonly name = 'SignedSignalingError';
  constructor(
    readonly code: SignedSignalingErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Largest token accepted (a signed 32 KiB SDP fits). */
export const MAX_TOKEN_LENGTH = 64 * 1024;
/** Bytes in a secret (HS256: 256 bits). */
export const SECRET_BYTES = 32;
/** Lifetime of the client's first message. */
export const FIRST_MESSAGE_TTL_SECONDS = 60;
/** Clock difference tolerated between client and camera. */
export const CLOCK_TOLERANCE_SECONDS = 30;

const KID_RE = /^[A-Za-z0-9_-]{16,128}$/;
/** base64url of at least 16 bytes. */
const NONCE_RE = /^[A-Za-z0-9_-]{22,128}$/;
const TOKEN_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const HEADER_KEYS = new Set(['alg', 'kid', 'typ']);
const MAX_SEQ = 2 ** 31 - 1;

const nonce = z.string().regex(NONCE_RE);
const payloadSchema = z.strictObject({
  message: signalingMessageSchema,
  messageSeq: z.number().int().min(0).max(MAX_SEQ),
  signerNonce: nonce,
  verifierNonce: nonce.optional(),
  exp: z.number().int().optional(), // checked by jose; required on the client's first message
});
type Payload = z.infer<typeof payloadSchema>;

/** A new per-user secret and the kid that names it (22 url-safe characters, 128 random bits). */
export function newSecret(): { kid: string; secret: Uint8Array } {
  return { kid: randomBytes(16).toString('base64url'), secret: new Uint8Array(randomBytes(SECRET_BYTES)) };
}

function checkSecret(secret: unknown): Uint8Array {
  if (!(secret instanceof Uint8Array) || secret.length < SECRET_BYTES) {
    throw new TypeError(`a signaling secret must be a Uint8Array of at least ${SECRET_BYTES} bytes`);
  }
  return Uint8Array.from(secret);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Remembers first-message nonces until their token expires, so a first message cannot be replayed
 * into a new session on the same camera. Bounded: when full of unexpired nonces it refuses new
 * first messages ('busy') rather than forgetting one that could then be replayed. Only nonces of
 * correctly signed messages are recorded, so only holders of a secret can fill it, and each
 * group (the secret's kid) has its own share, so one holder fills only his own share: every other
 * remote user keeps getting in.
 */
export class NonceCache {
  private readonly entries = new Map<string, { expiry: number; group: string }>();
  private readonly perGroup = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly maxPerGroup: number;
  private readonly now: () => number;

  constructor(options: { maxEntries?: number; maxPerGroup?: number; now?: () => number } = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxPerGroup = Math.min(options.maxPerGroup ?? 64, this.maxEntries);
    this.now = options.now ?? (() => Date.now());
  }

  /** Records `key` until `expiresAtMs`: 'fresh' the first time, 'replayed' while it is remembered. */
  remember(key: string, expiresAtMs: number, group = ''): 'fresh' | 'replayed' | 'full' {
    const now = this.now();
    const known = this.entries.get(key);
    if (known !== undefined && known.expiry > now) return 'replayed';
    if (known) this.drop(key, known.group);
    if ((this.perGroup.get(group) ?? 0) >= this.maxPerGroup || this.entries.size >= this.maxEntries) {
      for (const [k, e] of this.entries) if (e.expiry <= now) this.drop(k, e.group);
      if ((this.perGroup.get(group) ?? 0) >= this.maxPerGroup || this.entries.size >= this.maxEntries) return 'full';
    }
    this.entries.set(key, { expiry: expiresAtMs, group });
    this.perGroup.set(group, (this.perGroup.get(group) ?? 0) + 1);
    return 'fresh';
  }

  get size(): number {
    return this.entries.size;
  }

  private drop(key: string, group: string): void {
    this.entries.delete(key);
    const left = (this.perGroup.get(group) ?? 1) - 1;
    if (left <= 0) this.perGroup.delete(group);
    else this.perGroup.set(group, left);
  }
}

/** Shared by every device session that is not given its own cache. */
const processReplayCache = new NonceCache();

/** Shape checks before any cryptography: returns the header's kid. */
function readHeader(token: unknown): string {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !TOKEN_RE.test(token)) {
    throw new SignedSignalingError('malformed', 'not a signed signaling token (or larger than 64 KiB)');
  }
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token);
  } catch (e) {
    throw new SignedSignalingError('malformed', 'unreadable token header', { cause: e });
  }
  if (header.alg !== 'HS256') throw new SignedSignalingError('bad-signature', 'only HS256 tokens are accepted');
  if (Object.keys(header).some((k) => !HEADER_KEYS.has(k)) || (header.typ !== undefined && header.typ !== 'JWT')) {
    throw new SignedSignalingError('malformed', 'unexpected token header');
  }
  if (typeof header.kid !== 'string' || !KID_RE.test(header.kid)) throw new SignedSignalingError('malformed', 'bad kid');
  return header.kid;
}

async function verifyToken(token: string, secret: Uint8Array): Promise<Payload> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], clockTolerance: CLOCK_TOLERANCE_SECONDS }));
  } catch (e) {
    if (e instanceof errors.JWSSignatureVerificationFailed || e instanceof errors.JOSEAlgNotAllowed) {
      throw new SignedSignalingError('bad-signature', 'signature does not verify', { cause: e });
    }
    if (e instanceof errors.JWTExpired) throw new SignedSignalingError('expired', 'token expired', { cause: e });
    throw new SignedSignalingError('malformed', 'invalid token', { cause: e });
  }
  const parsed = payloadSchema.safeParse(payload);
  if (!parsed.success) throw new SignedSignalingError('malformed', 'payload does not match the signaling schema');
  return parsed.data;
}

/** Session state and the rules both ends share. */
class Session {
  readonly ownNonce = randomBytes(16).toString('base64url');
  peerNonce: string | undefined;
  kid: string | undefined;
  secret: Uint8Array | undefined;
  sendSeq = 0;
  recvSeq = 0;
  private failure: Error | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /** Runs `op` after every earlier call; a session that failed verification refuses everything. */
  run<T>(op: () => Promise<T>, fatal: boolean): Promise<T> {
    const result = this.queue.then(async () => {
      if (this.failure) {
        throw new SignedSignalingError('dead', `signaling session refused after an earlier failure: ${this.failure.message}`, {
          cause: this.failure,
        });
      }
      try {
        return await op();
      } catch (e) {
        if (fatal) this.failure = e instanceof Error ? e : new Error(String(e));
        throw e;
      }
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  async sign(message: SignalingMessage, extra: { verifierNonce?: string; exp?: number }): Promise<string> {
    const parsed = signalingMessageSchema.safeParse(message);
    if (!parsed.success) throw new SignedSignalingError('malformed', 'not a valid signaling message');
    if (this.kid === undefined || this.secret === undefined) throw new Error('no signaling session yet');
    if (this.sendSeq > MAX_SEQ) throw new SignedSignalingError('bad-sequence', 'signaling session exhausted');
    const payload: Payload = { message: parsed.data, messageSeq: this.sendSeq, signerNonce: this.ownNonce, ...extra };
    const token = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: this.kid }).sign(this.secret);
    if (token.length > MAX_TOKEN_LENGTH) throw new SignedSignalingError('malformed', 'signed message larger than 64 KiB');
    this.sendSeq += 1;
    return token;
  }

  /** The rules for every message after the peer's first. */
  checkLater(p: Payload): SignalingMessage {
    if (p.messageSeq !== this.recvSeq) {
      throw new SignedSignalingError('bad-sequence', `expected message ${this.recvSeq}, got ${p.messageSeq}`);
    }
    if (p.signerNonce !== this.peerNonce || p.verifierNonce !== this.ownNonce) {
      throw new SignedSignalingError('bad-nonce', 'message does not belong to this session');
    }
    this.recvSeq += 1;
    return p.message;
  }
}

/** The client's end: knows its kid and secret, and sends first. */
export class SignedSignalingClient {
  readonly #s = new Session();

  constructor(kid: string, secret: Uint8Array) {
    if (typeof kid !== 'string' || !KID_RE.test(kid)) throw new TypeError('kid must be 16-128 url-safe characters');
    this.#s.kid = kid;
    this.#s.secret = checkSecret(secret);
  }

  /** Signs the next message. The first carries a short exp; later ones need the camera's first message. */
  sign(message: SignalingMessage): Promise<string> {
    const s = this.#s;
    return s.run(async () => {
      if (s.sendSeq === 0) return s.sign(message, { exp: nowSeconds() + FIRST_MESSAGE_TTL_SECONDS });
      if (s.peerNonce === undefined) throw new Error("wait for the camera's first message before sending again");
      return s.sign(message, { verifierNonce: s.peerNonce });
    }, false);
  }

  /** Verifies the camera's next message; throws SignedSignalingError and the session is dead. */
  verify(token: string): Promise<SignalingMessage> {
    const s = this.#s;
    return s.run(async () => {
      if (readHeader(token) !== s.kid) throw new SignedSignalingError('unknown-kid', 'message signed for another user');
      const p = await verifyToken(token, s.secret as Uint8Array);
      if (s.recvSeq === 0) {
        // The camera's first message names its nonce; checkLater() then checks seq 0 and our nonce.
        if (p.signerNonce === s.ownNonce) throw new SignedSignalingError('bad-nonce', 'message does not belong to this session');
        s.peerNonce = p.signerNonce;
      }
      return s.checkLater(p);
    }, true);
  }
}

export type SecretResolver = (kid: string) => Promise<Uint8Array | undefined> | Uint8Array | undefined;

/** The camera's end: learns the kid (the user) from the client's first message. */
export class SignedSignalingDevice {
  readonly #s = new Session();
  readonly #resolve: SecretResolver;
  readonly #cache: NonceCache;

  /**
   * `resolveSecret` returns the secret of a kid, or undefined for unknown and revoked kids.
   * `replayCache` must be shared by all sessions of one camera; by default one per process is.
   */
  constructor(resolveSecret: SecretResolver, options: { replayCache?: NonceCache } = {}) {
    this.#resolve = resolveSecret;
    this.#cache = options.replayCache ?? processReplayCache;
  }

  /** The session's kid (the user) once the first message has verified. */
  get kid(): string | undefined {
    return this.#s.kid;
  }

  /** Verifies the client's next message; throws SignedSignalingError and the session is dead. */
  verify(token: string): Promise<SignalingMessage> {
    const s = this.#s;
    return s.run(async () => {
      const kid = readHeader(token);
      if (s.kid !== undefined && kid !== s.kid) throw new SignedSignalingError('unknown-kid', 'unknown kid');
      const resolved = await this.#resolve(kid);
      if (resolved === undefined) throw new SignedSignalingError('unknown-kid', 'unknown kid');
      const secret = checkSecret(resolved);
      // A replaced secret ends the session like a revoked one.
      if (s.secret !== undefined && !sameBytes(secret, s.secret)) throw new SignedSignalingError('unknown-kid', 'unknown kid');
      const p = await verifyToken(token, secret);
      if (s.recvSeq > 0) return s.checkLater(p);
      if (p.messageSeq !== 0) throw new SignedSignalingError('bad-sequence', `expected message 0, got ${p.messageSeq}`);
      if (p.verifierNonce !== undefined) throw new SignedSignalingError('bad-nonce', 'a first message has no verifierNonce');
      if (p.exp === undefined) throw new SignedSignalingError('malformed', 'the first message must expire');
      if (p.exp > nowSeconds() + FIRST_MESSAGE_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS) {
        throw new SignedSignalingError('malformed', 'the first message is valid for too long');
      }
      const seen = this.#cache.remember(`${kid}.${p.signerNonce}`, (p.exp + CLOCK_TOLERANCE_SECONDS) * 1000, kid);
      if (seen === 'replayed') throw new SignedSignalingError('replayed', 'first message replayed');
      if (seen === 'full') throw new SignedSignalingError('busy', 'too many new signaling sessions; try again shortly');
      s.kid = kid;
      s.secret = secret;
      s.peerNonce = p.signerNonce;
      s.recvSeq = 1;
      return p.message;
    }, true);
  }

  /** Signs the next message to the client; only after the client's first message has verified. */
  sign(message: SignalingMessage): Promise<string> {
    const s = this.#s;
    return s.run(async () => {
      if (s.peerNonce === undefined) throw new Error("no signaling session yet: verify the client's first message first");
      return s.sign(message, { verifierNonce: s.peerNonce });
    }, false);
  }
}
