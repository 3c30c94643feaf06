// Shared-secret signed signaling (src/net/signed-signaling.ts): a full exchange, and a relay in the
// middle that tampers, replays, reorders, drops and injects. Every failure names its error code and
// leaves the session dead.
import { generateKeyPair, SignJWT, base64url, decodeJwt as joseDecodeJwt, decodeProtectedHeader as joseDecodeHeader } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  FIRST_MESSAGE_TTL_SECONDS,
  NonceCache,
  SignedSignalingClient,
  SignedSignalingDevice,
  SignedSignalingError,
  newSecret,
  type SignedSignalingErrorCode,
} from '../../src/net/signed-signaling';
import type { SignalingMessage, SignedMessage } from '../../src/shared/protocol/webrtc-api';

/** Messages travel as Nabto's {type: 'JWT', jwt}; these read the JWT inside. */
const decodeJwt = (m: SignedMessage) => joseDecodeJwt(m.jwt);
const decodeProtectedHeader = (m: SignedMessage) => joseDecodeHeader(m.jwt);
const wrap = (jwt: string): SignedMessage => ({ type: 'JWT', jwt });

const SETUP_REQUEST: SignalingMessage = { type: 'SETUP_REQUEST' };
const SETUP_RESPONSE: SignalingMessage = { type: 'SETUP_RESPONSE', iceServers: [] };
const OFFER: SignalingMessage = { type: 'DESCRIPTION', description: { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' } };
const ANSWER: SignalingMessage = { type: 'DESCRIPTION', description: { type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n' } };
const candidate = (n: number): SignalingMessage => ({
  type: 'CANDIDATE',
  candidate: { candidate: `candidate:${n} 1 udp 2122260223 127.0.0.1 ${50000 + n} typ host`, sdpMid: '0', sdpMLineIndex: 0 },
});

async function expectCode(promise: Promise<unknown>, code: SignedSignalingErrorCode): Promise<SignedSignalingError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SignedSignalingError);
  expect((error as SignedSignalingError).code).toBe(code);
  return error as SignedSignalingError;
}

/** A camera with users (kid -> secret) and one replay cache for all its sessions. */
function camera() {
  const users = new Map<string, Uint8Array>();
  const replayCache = new NonceCache();
  const resolver = vi.fn(async (kid: string | undefined) => (kid === undefined ? undefined : users.get(kid)));
  return {
    users,
    resolver,
    replayCache,
    addUser() {
      const user = newSecret();
      users.set(user.kid, user.secret);
      return user;
    },
    session: () => new SignedSignalingDevice(resolver, { replayCache }),
  };
}

/** A client and a camera session whose SETUP_REQUEST / SETUP_RESPONSE went through. */
async function established() {
  const cam = camera();
  const user = cam.addUser();
  const client = new SignedSignalingClient(user.kid, user.secret);
  const device = cam.session();
  const first = await client.sign(SETUP_REQUEST);
  expect(await device.verify(first)).toEqual(SETUP_REQUEST);
  const response = await device.sign(SETUP_RESPONSE);
  expect(await client.verify(response)).toEqual(SETUP_RESPONSE);
  return { cam, user, client, device, first, response };
}

/** Both ends refuse every later call once a verification failed. */
async function expectDead(side: { sign(m: SignalingMessage): Promise<SignedMessage>; verify(t: unknown): Promise<SignalingMessage> }, validToken?: SignedMessage) {
  const e = await expectCode(side.verify(validToken ?? wrap('x.y.z')), 'dead');
  expect(e.cause).toBeInstanceOf(Error);
  await expectCode(side.sign(candidate(99)), 'dead');
}

/** Replaces one character in the middle of the payload segment with another base64url character. */
function tamperPayload(message: SignedMessage): SignedMessage {
  const [h, p, s] = message.jwt.split('.') as [string, string, string];
  const i = Math.floor(p.length / 2);
  const swapped = p[i] === 'A' ? 'B' : 'A';
  return wrap(`${h}.${p.slice(0, i)}${swapped}${p.slice(i + 1)}.${s}`);
}

/** A token with the given header and payload, signed with `secret` (a forger's tool). */
async function forge(payload: Record<string, unknown>, kid: string, secret: Uint8Array, alg = 'HS256'): Promise<SignedMessage> {
  return wrap(await new SignJWT(payload).setProtectedHeader({ alg, kid }).sign(secret));
}

afterEach(() => {
  vi.useRealTimers();
});

describe('newSecret', () => {
  it('makes a 256-bit secret and a random url-safe kid', () => {
    const a = newSecret();
    const b = newSecret();
    expect(a.secret).toBeInstanceOf(Uint8Array);
    expect(a.secret.length).toBe(32);
    expect(a.kid).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(a.kid).not.toBe(b.kid);
    expect(Buffer.from(a.secret).equals(Buffer.from(b.secret))).toBe(false);
  });

  it('refuses short secrets and bad kids', () => {
    const { kid } = newSecret();
    expect(() => new SignedSignalingClient(kid, new Uint8Array(16))).toThrow(TypeError);
    expect(() => new SignedSignalingClient('not a kid!', newSecret().secret)).toThrow(TypeError);
    expect(() => new SignedSignalingClient(kid, 'too short a secret')).toThrow(TypeError);
  });
});

describe('signed signaling exchange', () => {
  it('carries SETUP_REQUEST, SETUP_RESPONSE, DESCRIPTION and CANDIDATEs both ways', async () => {
    const cam = camera();
    const user = cam.addUser();
    const client = new SignedSignalingClient(user.kid, user.secret);
    const device = cam.session();
    expect(device.kid).toBeUndefined();

    const first = await client.sign(SETUP_REQUEST);
    expect(first.type).toBe('JWT');
    expect(decodeProtectedHeader(first)).toEqual({ alg: 'HS256', typ: 'JWT', kid: user.kid });
    const firstPayload = decodeJwt(first);
    expect(Object.keys(firstPayload).sort()).toEqual(['exp', 'message', 'messageSeq', 'signerNonce']);
    expect(firstPayload.messageSeq).toBe(0);
    expect(firstPayload.signerNonce).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    const now = Math.floor(Date.now() / 1000);
    expect(firstPayload.exp).toBeGreaterThan(now);
    expect(firstPayload.exp).toBeLessThanOrEqual(now + FIRST_MESSAGE_TTL_SECONDS + 1);

    expect(await device.verify(first)).toEqual(SETUP_REQUEST);
    expect(device.kid).toBe(user.kid);
    expect(cam.resolver).toHaveBeenCalledWith(user.kid);

    const response = await device.sign(SETUP_RESPONSE);
    const responsePayload = decodeJwt(response);
    expect(decodeProtectedHeader(response)).toEqual({ alg: 'HS256', typ: 'JWT', kid: user.kid });
    expect(responsePayload.messageSeq).toBe(0);
    expect(responsePayload.verifierNonce).toBe(firstPayload.signerNonce);
    expect(responsePayload.signerNonce).not.toBe(firstPayload.signerNonce);
    expect(responsePayload.exp).toBeUndefined();
    expect(await client.verify(response)).toEqual(SETUP_RESPONSE);

    expect(await client.verify(await device.sign(OFFER))).toEqual(OFFER);
    const answer = await client.sign(ANSWER);
    expect(decodeJwt(answer)).toMatchObject({ messageSeq: 1, signerNonce: firstPayload.signerNonce, verifierNonce: responsePayload.signerNonce });
    expect(await device.verify(answer)).toEqual(ANSWER);

    // Trickle ICE: interleaved both ways.
    for (let n = 0; n < 5; n++) {
      expect(await client.verify(await device.sign(candidate(n)))).toEqual(candidate(n));
      expect(await device.verify(await client.sign(candidate(100 + n)))).toEqual(candidate(100 + n));
    }
    const close: SignalingMessage = { type: 'CLOSE', reason: 'done' };
    expect(await device.verify(await client.sign(close))).toEqual(close);
  });

  it('keeps call order when calls are not awaited one by one', async () => {
    const { client, device } = await established();
    const tokens = await Promise.all([0, 1, 2, 3, 4].map((n) => client.sign(candidate(n))));
    expect(tokens.map((t) => decodeJwt(t).messageSeq)).toEqual([1, 2, 3, 4, 5]);
    expect(await Promise.all(tokens.map((t) => device.verify(t)))).toEqual([0, 1, 2, 3, 4].map(candidate));
  });

  it('refuses misuse without killing the session', async () => {
    const cam = camera();
    const user = cam.addUser();
    const client = new SignedSignalingClient(user.kid, user.secret);
    const device = cam.session();
    await expect(device.sign(SETUP_RESPONSE)).rejects.toThrow(/first message/);
    await client.sign(SETUP_REQUEST).then((t) => device.verify(t));
    await expect(client.sign(candidate(1))).rejects.toThrow(/camera's first message/);
    await expectCode(device.sign({ type: 'NOPE' } as unknown as SignalingMessage), 'malformed');
    await expectCode(device.sign({ type: 'CLOSE', extra: 1 } as unknown as SignalingMessage), 'malformed');
    expect(await client.verify(await device.sign(SETUP_RESPONSE))).toEqual(SETUP_RESPONSE);
    expect(await device.verify(await client.sign(ANSWER))).toEqual(ANSWER);
  });
});

describe('a relay in the middle', () => {
  it('(a) tampering with one byte of a payload: bad-signature', async () => {
    const { client, device } = await established();
    const token = await client.sign(ANSWER);
    await expectCode(device.verify(tamperPayload(token)), 'bad-signature');
    await expectDead(device, token); // even the untampered original is refused now

    const other = await established();
    const offer = await other.device.sign(OFFER);
    await expectCode(other.client.verify(tamperPayload(offer)), 'bad-signature');
    await expectDead(other.client, offer);
  });

  it('(a) tampering with the first message: bad-signature', async () => {
    const cam = camera();
    const user = cam.addUser();
    const client = new SignedSignalingClient(user.kid, user.secret);
    const device = cam.session();
    await expectCode(device.verify(tamperPayload(await client.sign(SETUP_REQUEST))), 'bad-signature');
    expect(device.kid).toBeUndefined();
    await expectDead(device);
  });

  it('(b) replaying an earlier message: bad-sequence', async () => {
    const { client, device } = await established();
    const t1 = await client.sign(ANSWER);
    await device.verify(t1);
    await expectCode(device.verify(t1), 'bad-sequence');
    await expectDead(device, await client.sign(candidate(1)));

    const other = await established();
    await expectCode(other.device.verify(other.first), 'bad-sequence');
    await expectCode(other.client.verify(other.response), 'bad-sequence');
    await expectDead(other.client);
  });

  it('(c) swapping the order of two messages: bad-sequence', async () => {
    const { client, device } = await established();
    const c1 = await device.sign(OFFER);
    const c2 = await device.sign(candidate(1));
    await expectCode(client.verify(c2), 'bad-sequence');
    await expectDead(client, c1);
  });

  it('(d) dropping a message: the next one fails', async () => {
    const { client, device } = await established();
    await client.sign(ANSWER); // dropped by the relay
    const next = await client.sign(candidate(1));
    await expectCode(device.verify(next), 'bad-sequence');
    await expectDead(device);
  });

  it('(e) injecting a message signed with another secret: bad-signature', async () => {
    const { user, client, device, first, response } = await established();
    const intruder = newSecret();
    // The relay sees both nonces and the sequence numbers; it lacks only the secret.
    const payload = {
      message: OFFER,
      messageSeq: 1,
      signerNonce: decodeJwt(response).signerNonce,
      verifierNonce: decodeJwt(first).signerNonce,
    };
    await expectCode(client.verify(await forge(payload, user.kid, intruder.secret)), 'bad-signature');
    await expectDead(client, await device.sign(OFFER));
  });

  it('(e) injecting with another user\'s valid secret: the kid is fixed for the session', async () => {
    const { cam, client, device, first, response } = await established();
    const mallory = cam.addUser(); // a real user of this camera, colluding with the relay
    const payload = {
      message: ANSWER,
      messageSeq: 1,
      signerNonce: decodeJwt(first).signerNonce,
      verifierNonce: decodeJwt(response).signerNonce,
    };
    await expectCode(device.verify(await forge(payload, mallory.kid, mallory.secret)), 'unknown-kid');
    expect(device.kid).not.toBe(mallory.kid);
    await expectDead(device, await client.sign(ANSWER));
  });

  it("(f) injecting alg 'none' or another alg: bad-signature", async () => {
    const encode = (o: object) => base64url.encode(JSON.stringify(o));
    const attacks: Record<string, (kid: string, secret: Uint8Array, payload: object) => Promise<string>> = {
      none: async (kid, _secret, payload) => `${encode({ alg: 'none', kid })}.${encode(payload)}.`,
      // HS512 with the right secret, ES256 with the attacker's key: still only HS256 counts.
      HS512: (kid, secret, payload) => new SignJWT({ ...payload }).setProtectedHeader({ alg: 'HS512', kid }).sign(secret),
      ES256: async (kid, _secret, payload) =>
        new SignJWT({ ...payload }).setProtectedHeader({ alg: 'ES256', kid }).sign((await generateKeyPair('ES256')).privateKey),
      'HS256 without a signature': async (kid, _secret, payload) => `${encode({ alg: 'HS256', kid })}.${encode(payload)}.`,
    };
    for (const [name, attack] of Object.entries(attacks)) {
      const { user, client, device, first, response } = await established();
      const payload = {
        message: ANSWER,
        messageSeq: 1,
        signerNonce: decodeJwt(first).signerNonce,
        verifierNonce: decodeJwt(response).signerNonce,
      };
      const error = await expectCode(device.verify(wrap(await attack(user.kid, user.secret, payload))), 'bad-signature');
      expect(error.message, name).toBeTruthy();
      await expectDead(device, await client.sign(ANSWER));
    }
  });

  it('(g) replaying a whole first message into a new camera session: replayed', async () => {
    const { cam, first } = await established();
    const replayed = cam.session();
    await expectCode(replayed.verify(first), 'replayed');
    expect(replayed.kid).toBeUndefined();
    await expectDead(replayed);
    // A different user's fresh first message is still welcome.
    const other = cam.addUser();
    const fresh = cam.session();
    expect(await fresh.verify(await new SignedSignalingClient(other.kid, other.secret).sign(SETUP_REQUEST))).toEqual(SETUP_REQUEST);
  });

  it('(g) the default replay cache is shared by every session in the process', async () => {
    const { secret, kid } = newSecret();
    const resolve = (k: string | undefined) => (k === kid ? secret : undefined);
    const first = await new SignedSignalingClient(kid, secret).sign(SETUP_REQUEST);
    expect(await new SignedSignalingDevice(resolve).verify(first)).toEqual(SETUP_REQUEST);
    await expectCode(new SignedSignalingDevice(resolve).verify(first), 'replayed');
  });

  it('(h) replaying a camera message from session A into session B: bad-nonce', async () => {
    const cam = camera();
    const user = cam.addUser();
    const clientA = new SignedSignalingClient(user.kid, user.secret);
    const clientB = new SignedSignalingClient(user.kid, user.secret);
    const deviceA = cam.session();
    const deviceB = cam.session();
    await deviceA.verify(await clientA.sign(SETUP_REQUEST));
    await deviceB.verify(await clientB.sign(SETUP_REQUEST));
    const responseA = await deviceA.sign(SETUP_RESPONSE);
    await expectCode(clientB.verify(responseA), 'bad-nonce');
    await expectDead(clientB, await deviceB.sign(SETUP_RESPONSE));

    // Later messages too, with the sequence numbers aligned so only the nonces differ.
    const clientC = new SignedSignalingClient(user.kid, user.secret);
    const deviceC = cam.session();
    await deviceC.verify(await clientC.sign(SETUP_REQUEST));
    await clientC.verify(await deviceC.sign(SETUP_RESPONSE));
    await clientA.verify(responseA);
    const offerA = await deviceA.sign(OFFER);
    await expectCode(clientC.verify(offerA), 'bad-nonce');
    // And a client message of session A into camera session C.
    const answerA = await clientA.sign(ANSWER);
    const deviceD = cam.session();
    const clientD = new SignedSignalingClient(user.kid, user.secret);
    await deviceD.verify(await clientD.sign(SETUP_REQUEST));
    await clientD.verify(await deviceD.sign(SETUP_RESPONSE));
    await expectCode(deviceD.verify(answerA), 'bad-nonce');
    await expectDead(deviceD);
  });

  it("reflecting a side's own messages back to it: bad-nonce", async () => {
    const { client, device } = await established();
    const own = await client.sign(ANSWER);
    await expectCode(client.verify(own), 'bad-nonce');
    const deviceOwn = await device.sign(OFFER);
    await expectCode(device.verify(deviceOwn), 'bad-nonce');
  });
});

describe('each rule on its own (forged with the real secret, as another holder of it could)', () => {
  /** Sends a forged next message to `to`; `code` undefined: it must be accepted. */
  async function forgedLater(to: 'device' | 'client', change: Record<string, unknown>, code?: SignedSignalingErrorCode) {
    const { user, client, device, first, response } = await established();
    const clientNonce = decodeJwt(first).signerNonce;
    const deviceNonce = decodeJwt(response).signerNonce;
    const payload = {
      message: candidate(1),
      messageSeq: 1,
      signerNonce: to === 'device' ? clientNonce : deviceNonce,
      verifierNonce: to === 'device' ? deviceNonce : clientNonce,
      ...change,
    };
    const receiver = to === 'device' ? device : client;
    const token = await forge(payload, user.kid, user.secret);
    if (code === undefined) {
      expect(await receiver.verify(token)).toEqual(candidate(1));
      return;
    }
    await expectCode(receiver.verify(token), code);
    await expectDead(receiver);
  }
  const otherNonce = () => base64url.encode(crypto.getRandomValues(new Uint8Array(16)));

  for (const to of ['device', 'client'] as const) {
    it(`${to}: a correct forgery is accepted (the baseline for the rules below)`, () => forgedLater(to, {}));
    it(`${to}: wrong messageSeq only -> bad-sequence`, () => forgedLater(to, { messageSeq: 2 }, 'bad-sequence'));
    it(`${to}: wrong signerNonce only -> bad-nonce`, () => forgedLater(to, { signerNonce: otherNonce() }, 'bad-nonce'));
    it(`${to}: wrong verifierNonce only -> bad-nonce`, () => forgedLater(to, { verifierNonce: otherNonce() }, 'bad-nonce'));
    it(`${to}: no verifierNonce -> bad-nonce`, () => forgedLater(to, { verifierNonce: undefined }, 'bad-nonce'));
  }

  it('a camera session started from a replayed first message (cache not shared) cannot splice in', async () => {
    const { cam, client, first } = await established();
    const rogue = new SignedSignalingDevice(cam.resolver, { replayCache: new NonceCache() });
    await rogue.verify(first);
    await rogue.sign(SETUP_RESPONSE);
    // Same seq, right verifierNonce (the client's), but the signerNonce of another camera session.
    await expectCode(client.verify(await rogue.sign(OFFER)), 'bad-nonce');
    await expectDead(client);
  });

  it('the kid is fixed even when another kid resolves to the same secret', async () => {
    const { cam, user, client, device, first, response } = await established();
    const alias = newSecret().kid;
    cam.users.set(alias, user.secret);
    const payload = { message: ANSWER, messageSeq: 1, signerNonce: decodeJwt(first).signerNonce, verifierNonce: decodeJwt(response).signerNonce };
    await expectCode(device.verify(await forge(payload, alias, user.secret)), 'unknown-kid');
    expect(device.kid).toBe(user.kid);
    await expectDead(device, await client.sign(ANSWER));
  });

  it('the camera\'s first message must be message 0 and carry the client\'s nonce', async () => {
    for (const [change, code] of [
      [() => ({ messageSeq: 1 }), 'bad-sequence'],
      [() => ({ verifierNonce: otherNonce() }), 'bad-nonce'],
      [() => ({ verifierNonce: undefined }), 'bad-nonce'],
      [(clientNonce: unknown) => ({ signerNonce: clientNonce }), 'bad-nonce'], // the client's own nonce as the camera's
    ] as const) {
      const cam = camera();
      const user = cam.addUser();
      const client = new SignedSignalingClient(user.kid, user.secret);
      const clientNonce = decodeJwt(await client.sign(SETUP_REQUEST)).signerNonce;
      const payload = { message: SETUP_RESPONSE, messageSeq: 0, signerNonce: otherNonce(), verifierNonce: clientNonce, ...change(clientNonce) };
      await expectCode(client.verify(await forge(payload, user.kid, user.secret)), code);
      await expectDead(client);
    }
  });
});

describe('kid and first-message checks', () => {
  it('an unknown kid and a revoked kid both give unknown-kid, the same way', async () => {
    const cam = camera();
    const stranger = newSecret();
    const unknown = await expectCode(cam.session().verify(await new SignedSignalingClient(stranger.kid, stranger.secret).sign(SETUP_REQUEST)), 'unknown-kid');

    const revokedUser = cam.addUser();
    const token = await new SignedSignalingClient(revokedUser.kid, revokedUser.secret).sign(SETUP_REQUEST);
    cam.users.delete(revokedUser.kid);
    const device = cam.session();
    const revoked = await expectCode(device.verify(token), 'unknown-kid');
    expect(revoked.message).toBe(unknown.message);
    await expectDead(device);
  });

  it('a user revoked mid-session: the next message gives unknown-kid', async () => {
    const { cam, user, client, device } = await established();
    cam.users.delete(user.kid);
    await expectCode(device.verify(await client.sign(ANSWER)), 'unknown-kid');
    await expectDead(device);
  });

  it('a secret replaced mid-session ends the session', async () => {
    const { cam, user, client, device } = await established();
    cam.users.set(user.kid, newSecret().secret);
    await expectCode(device.verify(await client.sign(ANSWER)), 'unknown-kid');
  });

  it('an expired first message: expired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const cam = camera();
    const user = cam.addUser();
    const late = await new SignedSignalingClient(user.kid, user.secret).sign(SETUP_REQUEST);
    const inTime = await new SignedSignalingClient(user.kid, user.secret).sign(SETUP_REQUEST);
    vi.setSystemTime(Date.now() + 60_000);
    expect(await cam.session().verify(inTime)).toEqual(SETUP_REQUEST); // within clock tolerance
    vi.setSystemTime(Date.now() + 40_000);
    const device = cam.session();
    await expectCode(device.verify(late), 'expired');
    await expectDead(device);
  });

  it('a first message valid for too long: malformed; one without exp (a Nabto peer\'s) is accepted and still cannot be replayed', async () => {
    const cam = camera();
    const user = cam.addUser();
    const nonce = base64url.encode(crypto.getRandomValues(new Uint8Array(16)));
    const now = Math.floor(Date.now() / 1000);
    const longLived = forge({ message: SETUP_REQUEST, messageSeq: 0, signerNonce: nonce, exp: now + 3600 }, user.kid, user.secret);
    await expectCode(cam.session().verify(await longLived), 'malformed');
    const noExp = await forge({ message: SETUP_REQUEST, messageSeq: 0, signerNonce: `${nonce}-2` }, user.kid, user.secret);
    expect(await cam.session().verify(noExp)).toEqual(SETUP_REQUEST);
    await expectCode(cam.session().verify(noExp), 'replayed');
  });

  it('a first message with messageSeq other than 0, or with a verifierNonce', async () => {
    const cam = camera();
    const user = cam.addUser();
    const nonce = () => base64url.encode(crypto.getRandomValues(new Uint8Array(16)));
    const exp = Math.floor(Date.now() / 1000) + 30;
    const device = cam.session();
    await expectCode(device.verify(await forge({ message: SETUP_REQUEST, messageSeq: 1, signerNonce: nonce(), exp }, user.kid, user.secret)), 'bad-sequence');
    await expectDead(device);
    const withVerifier = { message: SETUP_REQUEST, messageSeq: 0, signerNonce: nonce(), verifierNonce: nonce(), exp };
    await expectCode(cam.session().verify(await forge(withVerifier, user.kid, user.secret)), 'bad-nonce');
  });

  it('a camera message signed for another kid: unknown-kid at the client', async () => {
    const { client, first } = await established();
    const other = newSecret();
    const payload = { message: OFFER, messageSeq: 1, signerNonce: decodeJwt(first).signerNonce, verifierNonce: decodeJwt(first).signerNonce };
    await expectCode(client.verify(await forge(payload, other.kid, other.secret)), 'unknown-kid');
    await expectDead(client);
  });
});

describe('bounded input', () => {
  it('refuses tokens over 64 KiB, garbage and odd headers: malformed', async () => {
    const cam = camera();
    const user = cam.addUser();
    const header = base64url.encode(JSON.stringify({ alg: 'HS256', kid: user.kid }));
    const huge = `${header}.${'b'.repeat(64 * 1024)}.c`;
    for (const bad of [huge, '', 'not a token', 'a.b', '!!.??.##', 42 as unknown as string]) {
      const device = cam.session();
      await expectCode(device.verify(bad), 'malformed');
      await expectDead(device);
    }
    expect(cam.resolver).not.toHaveBeenCalled(); // refused before any lookup or cryptography
    const nonce = base64url.encode(crypto.getRandomValues(new Uint8Array(16)));
    const exp = Math.floor(Date.now() / 1000) + 30;
    const withJwk = await new SignJWT({ message: SETUP_REQUEST, messageSeq: 0, signerNonce: nonce, exp })
      .setProtectedHeader({ alg: 'HS256', kid: user.kid, jku: 'https://example.invalid/' })
      .sign(user.secret);
    await expectCode(cam.session().verify(withJwk), 'malformed');
  });

  it('refuses correctly signed payloads outside the schema: malformed', async () => {
    const cam = camera();
    const user = cam.addUser();
    const exp = Math.floor(Date.now() / 1000) + 30;
    const nonce = () => base64url.encode(crypto.getRandomValues(new Uint8Array(16)));
    const payloads = [
      { message: { type: 'EVIL' }, messageSeq: 0, signerNonce: nonce(), exp },
      { message: { type: 'SETUP_REQUEST', extra: true }, messageSeq: 0, signerNonce: nonce(), exp },
      { message: SETUP_REQUEST, messageSeq: 0, signerNonce: 'short', exp },
      { message: SETUP_REQUEST, messageSeq: -1, signerNonce: nonce(), exp },
      { message: SETUP_REQUEST, messageSeq: 0.5, signerNonce: nonce(), exp },
      { message: SETUP_REQUEST, messageSeq: 0, signerNonce: nonce(), exp, admin: true },
      { message: { type: 'DESCRIPTION', description: { type: 'offer', sdp: 'x'.repeat(40 * 1024) } }, messageSeq: 0, signerNonce: nonce(), exp },
    ];
    for (const payload of payloads) {
      const device = cam.session();
      await expectCode(device.verify(await forge(payload, user.kid, user.secret)), 'malformed');
      await expectDead(device);
    }
  });
});

describe('NonceCache', () => {
  it('remembers nonces until they expire, and refuses rather than forgets when full', () => {
    let now = 1_000_000;
    const cache = new NonceCache({ maxEntries: 2, now: () => now });
    expect(cache.remember('a', now + 90_000)).toBe('fresh');
    expect(cache.remember('a', now + 90_000)).toBe('replayed');
    expect(cache.remember('b', now + 30_000)).toBe('fresh');
    expect(cache.remember('c', now + 90_000)).toBe('full');
    now += 30_000; // b expired: room again
    expect(cache.remember('c', now + 90_000)).toBe('fresh');
    expect(cache.size).toBe(2);
    expect(cache.remember('a', now + 90_000)).toBe('replayed');
    now += 60_000; // a expired: it may be recorded again (a token that old no longer verifies)
    expect(cache.remember('a', now + 90_000)).toBe('fresh');
  });

  it('a full cache makes the camera answer busy', async () => {
    const cam = camera();
    const user = cam.addUser();
    const tiny = new NonceCache({ maxEntries: 1 });
    const firstMessage = () => new SignedSignalingClient(user.kid, user.secret).sign(SETUP_REQUEST);
    const session = () => new SignedSignalingDevice(cam.resolver, { replayCache: tiny });
    expect(await session().verify(await firstMessage())).toEqual(SETUP_REQUEST);
    await expectCode(session().verify(await firstMessage()), 'busy');
  });
});
