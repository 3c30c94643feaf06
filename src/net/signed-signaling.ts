/**
 * Shared-secret signed signaling, Nabto WebRTC's format (nabto-webrtc-sdk-js, webrtc-signaling-util
 * JWTMessageSigner.ts and MessageSigner.ts): for signaling that travels through a relay that must
 * not be trusted (src/shared/protocol/relay-api.ts). On the wire every message is
 *
 *   {type: 'JWT', jwt}                                  (Nabto's ProtocolSigningMessage)
 *   jwt header  {alg: 'HS256', typ: 'JWT', kid?}        kid optional, as in Nabto
 *   jwt claims  {message, messageSeq, signerNonce, verifierNonce?, exp?}
 *
 * The HMAC key is the UTF-8 bytes of the shared-secret string (what `openssl rand -hex 32` prints,
 * or lancam's 43-character base64url secrets), as Nabto's signer uses it. A secret belongs to one
 * IAM user; `kid` names it. A camera with a single secret uses it for a message without `kid`.
 *
 * Each side of a session keeps its own random nonce (128 bits), the next sequence number it sends
 * and the next one it expects to receive. Nabto's rules hold; lancam's are stricter where marked.
 *
 * - The client's first message: messageSeq 0, signerNonce = client nonce, no verifierNonce. lancam
 *   adds a short `exp`; a Nabto peer sends none, and that is accepted. The camera checks the
 *   signature with the kid's secret, messageSeq 0, no verifierNonce, a bounded exp if present, and
 *   (lancam) that it has not seen this client nonce before (a NonceCache shared by all sessions
 *   of the camera, kept until exp, or FIRST_MESSAGE_MEMORY_SECONDS when the message has no exp),
 *   so a first message replayed into a new session is refused.
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
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import { signalingMessageSchema, signedMessageSchema, type SignalingMessage, type SignedMessage } from '../shared/protocol/webrtc-api';

export type SignedSignalingErrorCode =
  | 'bad-signature' // signature does not verify, or an algorithm other than HS256
  | 'unknown-kid' // kid unknown, revoked, or not the session's kid
  | 'bad-sequence' // messageSeq is not the next expected one (replay, reorder, drop)
  | 'bad-nonce' // signerNonce / verifierNonce do not match the session
  | 'expired' // the first message's exp has passed
  | 'malformed' // not {type:'JWT', jwt}, too large, unexpected header, payload outside the schema
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
/** Bytes in a secret (HS256: 256 bits); a secret string must have at least this many UTF-8 bytes. */
export const SECRET_BYTES = 32;
/** Lifetime of the client's first message. */
export const FIRST_MESSAGE_TTL_SECONDS = 60;
/** How long a first message without exp (a Nabto peer's) is remembered against replay. */
export const FIRST_MESSAGE_MEMORY_SECONDS = 24 * 60 * 60;
/** Clock difference tolerated between client and camera. */
export const CLOCK_TOLERANCE_SECONDS = 30;

const KID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
/** base64url of at least 16 bytes. */
const NONCE_RE = /^[A-Za-z0-9_-]{22,128}$/;
const TOKEN_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const HEADER_KEYS = new Set(['alg', 'kid', 'typ']);
const MAX_SEQ = 2 ** 31 - 1;

const nonce = z.string().regex(NONCE_RE);
// Nabto's JWTClaimsSchema plus lancam's exp. Stricter than Nabto (which ignores unknown claims):
// an unknown claim is refused; Nabto's own signer sends none.
const payloadSchema = z.strictObject({
  message: signalingMessageSchema,
  messageSeq: z.number().int().min(0).max(MAX_SEQ),
  signerNonce: nonce,
  verifierNonce: nonce.optional(),
  exp: z.number().int().optional(), // checked by jose; lancam puts one on the client's first message
});
type Payload = z.infer<typeof payloadSchema>;

export { signedMessageSchema, type SignedMessage };

/** A shared secret: a string (its UTF-8 bytes are the HMAC key, as Nabto's) or the key bytes. */
export type SharedSecret = string | Uint8Array;

/** A new per-user secret and the kid that names it (22 url-safe characters, 128 random bits). */
export function newSecret(): { kid: string; secret: Uint8Array } {
  return { kid: randomBytes(16).toString('base64url'), secret: new Uint8Array(randomBytes(SECRET_BYTES)) };
}

const utf8 = new TextEncoder();

function checkSecret(secret: unknown): Uint8Array {
  const key = typeof secret === 'string' ? utf8.encode(secret) : secret instanceof Uint8Array ? Uint8Array.from(secret) : undefined;
  if (key === undefined || key.length < SECRET_BYTES) {
    throw new TypeError(`a signaling secret must be a string (or bytes) of at least ${SECRET_BYTES} bytes`);
  }
  return key;
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
  private readonly entries = new Map<string, { expiry: number; group: string; yields: boolean }>();
  private readonly perGroup = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly maxPerGroup: number;
  private readonly now: () => number;

  constructor(options: { maxEntries?: number; maxPerGroup?: number; now?: () => number } = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxPerGroup = Math.min(options.maxPerGroup ?? 64, this.maxEntries);
    this.now = options.now ?? (() => Date.now());
  }

  /**
   * Records `key` until `expiresAtMs`: 'fresh' the first time, 'replayed' while it is remembered.
   * `yields`: the entry has no expiry of its own (a Nabto peer's first message carries no `exp`, so
   * it is remembered for a day); when its group is full, the group's oldest such entry gives way
   * rather than refusing that kid's new sessions for a day. A first message replayed after it gave
   * way opens a session the replayer cannot continue (the next message must be signed with the
   * secret over the camera's fresh nonce), and a group holds only one kid's own sessions.
   */
  remember(key: string, expiresAtMs: number, group = '', yields = false): 'fresh' | 'replayed' | 'full' {
    const now = this.now();
    const known = this.entries.get(key);
    if (known !== undefined && known.expiry > now) return 'replayed';
    if (known) this.drop(key, known.group);
    if ((this.perGroup.get(group) ?? 0) >= this.maxPerGroup || this.entries.size >= this.maxEntries) {
      for (const [k, e] of this.entries) if (e.expiry <= now) this.drop(k, e.group);
      if (yields && (this.perGroup.get(group) ?? 0) >= this.maxPerGroup) {
        for (const [k, e] of this.entries) {
          if (e.group === group && e.yields) {
            this.drop(k, e.group);
            break;
          }
        }
      }
      if ((this.perGroup.get(group) ?? 0) >= this.maxPerGroup || this.entries.size >= this.maxEntries) return 'full';
    }
    this.entries.set(key, { expiry: expiresAtMs, group, yields });
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

/** Unwraps Nabto's {type: 'JWT', jwt}; a NONE (unsigned) message or anything else is refused. */
function unwrap(message: unknown): string {
  const parsed = signedMessageSchema.safeParse(message);
  if (!parsed.success) {
    const type = typeof message === 'object' && message !== null ? (message as { type?: unknown }).type : undefined;
    if (type === 'NONE') throw new SignedSignalingError('bad-signature', 'an unsigned (NONE) message where a signed one is required');
    throw new SignedSignalingError('malformed', 'not a signed signaling message {type: "JWT", jwt} (or larger than 80 KiB)');
  }
  return parsed.data.jwt;
}

/** Shape checks before any cryptography: returns the header's kid (undefined when absent). */
function readHeader(token: string): string | undefined {
  if (token.length > MAX_TOKEN_LENGTH || !TOKEN_RE.test(token)) {
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
  if (header.kid === undefined) return undefined;
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
  /** A UUID v4 (122 random bits), as Nabto's signer makes its nonce. */
  readonly ownNonce = randomUUID();
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

  /** The kid to put in the header; undefined: no kid (a Nabto peer with one secret). */
  headerKid: string | undefined;

  async sign(message: SignalingMessage, extra: { verifierNonce?: string; exp?: number }): Promise<SignedMessage> {
    const parsed = signalingMessageSchema.safeParse(message);
    if (!parsed.success) throw new SignedSignalingError('malformed', 'not a valid signaling message');
    if (this.secret === undefined) throw new Error('no signaling session yet');
    if (this.sendSeq > MAX_SEQ) throw new SignedSignalingError('bad-sequence', 'signaling session exhausted');
    const payload: Payload = { message: parsed.data, messageSeq: this.sendSeq, signerNonce: this.ownNonce, ...extra };
    const header = { alg: 'HS256', typ: 'JWT', ...(this.headerKid !== undefined ? { kid: this.headerKid } : {}) };
    const token = await new SignJWT(payload).setProtectedHeader(header).sign(this.secret);
    if (token.length > MAX_TOKEN_LENGTH) throw new SignedSignalingError('malformed', 'signed message larger than 64 KiB');
    this.sendSeq += 1;
    return { type: 'JWT', jwt: token };
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

/** The client's end: knows its secret (and usually its kid), and sends first. */
export class SignedSignalingClient {
  readonly #s = new Session();

  /** `kid` undefined: the header carries none (Nabto's JWTMessageSigner without a key id). */
  constructor(kid: string | undefined, secret: SharedSecret) {
    if (kid !== undefined && (typeof kid !== 'string' || !KID_RE.test(kid))) throw new TypeError('kid must be 1-128 url-safe characters');
    this.#s.kid = kid;
    this.#s.headerKid = kid;
    this.#s.secret = checkSecret(secret);
  }

  /** Signs the next message. The first carries a short exp; later ones need the camera's first message. */
  sign(message: SignalingMessage): Promise<SignedMessage> {
    const s = this.#s;
    return s.run(async () => {
      if (s.sendSeq === 0) return s.sign(message, { exp: nowSeconds() + FIRST_MESSAGE_TTL_SECONDS });
      if (s.peerNonce === undefined) throw new Error("wait for the camera's first message before sending again");
      return s.sign(message, { verifierNonce: s.peerNonce });
    }, false);
  }

  /** Verifies the camera's next message ({type:'JWT', jwt}); throws SignedSignalingError and the session is dead. */
  verify(signed: unknown): Promise<SignalingMessage> {
    const s = this.#s;
    return s.run(async () => {
      const token = unwrap(signed);
      const kid = readHeader(token);
      // A Nabto device may answer without a kid; with one, it must be ours.
      if (kid !== undefined && kid !== s.kid) throw new SignedSignalingError('unknown-kid', 'message signed for another user');
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

/**
 * The secret for a kid, or undefined for unknown and revoked kids. Called with undefined for a
 * message without kid: return the camera's only secret as {kid, secret} (the kid then names the
 * session), or undefined when there is no single one.
 */
export type SecretResolver = (
  kid: string | undefined,
) => Promise<SharedSecret | ResolvedSecret | undefined> | SharedSecret | ResolvedSecret | undefined;
export interface ResolvedSecret {
  kid: string;
  secret: SharedSecret;
}

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

  /** Verifies the client's next message ({type:'JWT', jwt}); throws SignedSignalingError and the session is dead. */
  verify(signed: unknown): Promise<SignalingMessage> {
    const s = this.#s;
    return s.run(async () => {
      const token = unwrap(signed);
      const headerKid = readHeader(token);
      // The session's kid is fixed; a later message may name it or, like its first, leave it out.
      if (s.kid !== undefined && headerKid !== undefined && headerKid !== s.kid) throw new SignedSignalingError('unknown-kid', 'unknown kid');
      if (s.kid !== undefined && headerKid !== s.headerKid) throw new SignedSignalingError('unknown-kid', 'the kid changed within the session');
      const answer = await this.#resolve(s.kid ?? headerKid);
      if (answer === undefined) throw new SignedSignalingError('unknown-kid', headerKid === undefined ? 'no kid, and no single secret to use' : 'unknown kid');
      const resolved: { kid: string | undefined; secret: SharedSecret } = typeof answer === 'string' || answer instanceof Uint8Array ? { kid: s.kid ?? headerKid, secret: answer } : answer;
      if (resolved.kid === undefined || (headerKid !== undefined && resolved.kid !== headerKid) || (s.kid !== undefined && resolved.kid !== s.kid)) {
        throw new SignedSignalingError('unknown-kid', 'unknown kid');
      }
      const secret = checkSecret(resolved.secret);
      // A replaced secret ends the session like a revoked one.
      if (s.secret !== undefined && !sameBytes(secret, s.secret)) throw new SignedSignalingError('unknown-kid', 'unknown kid');
      const p = await verifyToken(token, secret);
      if (s.recvSeq > 0) return s.checkLater(p);
      if (p.messageSeq !== 0) throw new SignedSignalingError('bad-sequence', `expected message 0, got ${p.messageSeq}`);
      if (p.verifierNonce !== undefined) throw new SignedSignalingError('bad-nonce', 'a first message has no verifierNonce');
      // lancam's first messages expire soon; a Nabto peer's carry no exp and are remembered longer.
      if (p.exp !== undefined && p.exp > nowSeconds() + FIRST_MESSAGE_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS) {
        throw new SignedSignalingError('malformed', 'the first message is valid for too long');
      }
      const rememberUntil = p.exp !== undefined ? (p.exp + CLOCK_TOLERANCE_SECONDS) * 1000 : Date.now() + FIRST_MESSAGE_MEMORY_SECONDS * 1000;
      const seen = this.#cache.remember(`${resolved.kid}.${p.signerNonce}`, rememberUntil, resolved.kid, p.exp === undefined);
      if (seen === 'replayed') throw new SignedSignalingError('replayed', 'first message replayed');
      if (seen === 'full') throw new SignedSignalingError('busy', 'too many new signaling sessions; try again shortly');
      s.kid = resolved.kid;
      s.headerKid = headerKid;
      s.secret = secret;
      s.peerNonce = p.signerNonce;
      s.recvSeq = 1;
      return p.message;
    }, true);
  }

  /** Signs the next message to the client; only after the client's first message has verified. */
  sign(message: SignalingMessage): Promise<SignedMessage> {
    const s = this.#s;
    return s.run(async () => {
      if (s.peerNonce === undefined) throw new Error("no signaling session yet: verify the client's first message first");
      return s.sign(message, { verifierNonce: s.peerNonce });
    }, false);
  }
}
