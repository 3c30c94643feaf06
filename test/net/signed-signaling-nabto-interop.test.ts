// Signed signaling interoperates with Nabto WebRTC's format. The peer here is an independent
// implementation written from Nabto's specification (nabto-webrtc-sdk-js, webrtc-signaling-util:
// JWTMessageSigner.ts, MessageSigner.ts, DefaultMessageEncoder.ts), with node:crypto's HMAC and
// none of lancam's code: {type: "JWT", jwt}; HS256 keyed by the UTF-8 bytes of the shared-secret
// string; header {alg, typ, kid?}; claims message, messageSeq, signerNonce, verifierNonce; the
// sequence starts at 0 on each side; the first received message fixes the remote nonce, later ones
// must carry it as signerNonce and our nonce as verifierNonce. Both directions, first message
// included; lancam still refuses tampering and replay.
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { NonceCache, SignedSignalingClient, SignedSignalingDevice, SignedSignalingError, type SignedSignalingErrorCode } from '../../src/net/signed-signaling';
import { iceServerForWire, signalingMessageSchema, type SignalingMessage } from '../../src/shared/protocol/webrtc-api';

// ------------------------------------------------------------------------------------------------
// Nabto's format, from its specification (no lancam code below this line until the tests).
// ------------------------------------------------------------------------------------------------

const b64u = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const unb64u = (text: string) => Buffer.from(text, 'base64url').toString('utf8');

/** DefaultMessageEncoder.ts: what Nabto accepts for a SETUP_RESPONSE (urls must be an array). */
const NabtoSetupResponse = z.object({
  type: z.literal('SETUP_RESPONSE'),
  iceServers: z.optional(z.array(z.object({ credential: z.string().nullish(), urls: z.array(z.string()), username: z.string().nullish() }))).nullable(),
});
const NabtoClaims = z.object({ message: z.unknown(), messageSeq: z.number(), signerNonce: z.string(), verifierNonce: z.optional(z.string()) });

class NabtoJwtMessageSigner {
  nextMessageSignSeq = 0;
  nextMessageVerifySeq = 0;
  myNonce: string | undefined;
  remoteNonce: string | undefined;

  constructor(
    private readonly sharedSecret: string,
    private readonly keyId?: string,
  ) {}

  private hmac(input: string): Buffer {
    return createHmac('sha256', Buffer.from(this.sharedSecret, 'utf8')).update(input).digest();
  }

  signMessage(msg: unknown): { type: 'JWT'; jwt: string } {
    if (this.nextMessageSignSeq !== 0 && this.remoteNonce === undefined) throw new Error('cannot sign seq > 0 before a valid message from the remote peer');
    this.myNonce ??= randomUUID();
    const seq = this.nextMessageSignSeq++;
    const header = { alg: 'HS256', typ: 'JWT', kid: this.keyId };
    const payload = { message: msg, messageSeq: seq, signerNonce: this.myNonce, verifierNonce: this.remoteNonce ? this.remoteNonce : undefined };
    const signingInput = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
    return { type: 'JWT', jwt: `${signingInput}.${this.hmac(signingInput).toString('base64url')}` };
  }

  verifyMessage(message: unknown): unknown {
    const m = message as { type?: unknown; jwt?: unknown };
    if (typeof m !== 'object' || m === null || m.type !== 'JWT' || typeof m.jwt !== 'string') throw new Error('DECODE_ERROR: not a JWT signing message');
    const parts = m.jwt.split('.');
    if (parts.length !== 3) throw new Error('DECODE_ERROR: not a JWT');
    const [h, p, sig] = parts as [string, string, string];
    const header = JSON.parse(unb64u(h)) as { alg?: unknown };
    if (header.alg !== 'HS256') throw new Error('VERIFICATION_ERROR: alg');
    const expected = this.hmac(`${h}.${p}`);
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Error('VERIFICATION_ERROR: signature');
    const raw = JSON.parse(unb64u(p)) as { exp?: unknown };
    // jsrsasign's verifyJWT refuses an expired exp when one is present.
    if (typeof raw.exp === 'number' && raw.exp < Date.now() / 1000) throw new Error('VERIFICATION_ERROR: expired');
    const claims = NabtoClaims.parse(raw);
    if (claims.messageSeq !== this.nextMessageVerifySeq) throw new Error('VERIFICATION_ERROR: sequence');
    if (claims.messageSeq === 0) {
      this.remoteNonce = claims.signerNonce;
    } else {
      if (this.remoteNonce !== claims.signerNonce) throw new Error('VERIFICATION_ERROR: signer nonce');
      if (this.myNonce !== claims.verifierNonce) throw new Error('VERIFICATION_ERROR: verifier nonce');
    }
    this.nextMessageVerifySeq++;
    return claims.message;
  }
}

// ------------------------------------------------------------------------------------------------

/** What `openssl rand -hex 32` prints: Nabto's suggested shared secret. */
const hexSecret = () => randomBytes(32).toString('hex');

const SETUP_REQUEST: SignalingMessage = { type: 'SETUP_REQUEST' };
const OFFER: SignalingMessage = { type: 'DESCRIPTION', description: { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' } };
const ANSWER: SignalingMessage = { type: 'DESCRIPTION', description: { type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n' } };
const candidate = (n: number): SignalingMessage => ({ type: 'CANDIDATE', candidate: { candidate: `candidate:${n} 1 udp 2122260223 127.0.0.1 ${50000 + n} typ host`, sdpMid: '0', sdpMLineIndex: 0 } });

async function expectCode(promise: Promise<unknown>, code: SignedSignalingErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SignedSignalingError);
  expect((error as SignedSignalingError).code).toBe(code);
}

describe('a Nabto WebRTC client and a lancam camera', () => {
  it.each([
    ['with a kid', 'user-kid-1'],
    ['without a kid (the camera has one secret)', undefined],
  ])('%s: the whole exchange verifies both ways, first message included', async (_name, kid) => {
    const secret = hexSecret();
    const resolved: (string | undefined)[] = [];
    const device = new SignedSignalingDevice(
      (k) => {
        resolved.push(k);
        if (k === undefined) return { kid: 'only-user', secret };
        // Later messages are resolved by the session's kid (so a revocation still ends it).
        return k === 'user-kid-1' || k === 'only-user' ? secret : undefined;
      },
      { replayCache: new NonceCache() },
    );
    const nabto = new NabtoJwtMessageSigner(secret, kid);

    // Nabto's first message: no exp, no verifierNonce; lancam accepts it.
    const first = nabto.signMessage(SETUP_REQUEST);
    expect(Object.keys(JSON.parse(unb64u(first.jwt.split('.')[1]!)) as object)).not.toContain('exp');
    expect(await device.verify(first)).toEqual(SETUP_REQUEST);
    expect(device.kid).toBe(kid ?? 'only-user');
    expect(resolved[0]).toBe(kid);

    // lancam's answer verifies at Nabto, and decodes with Nabto's SETUP_RESPONSE schema.
    const response = await device.sign({ type: 'SETUP_RESPONSE', iceServers: [{ urls: ['stun:127.0.0.1:3478'] }] });
    expect(response.type).toBe('JWT');
    const header = JSON.parse(unb64u(response.jwt.split('.')[0]!)) as Record<string, unknown>;
    expect(header).toEqual(kid === undefined ? { alg: 'HS256', typ: 'JWT' } : { alg: 'HS256', typ: 'JWT', kid });
    expect(NabtoSetupResponse.parse(nabto.verifyMessage(response))).toMatchObject({ iceServers: [{ urls: ['stun:127.0.0.1:3478'] }] });

    // Perfect negotiation both ways.
    expect(nabto.verifyMessage(await device.sign(OFFER))).toEqual(OFFER);
    expect(await device.verify(nabto.signMessage(ANSWER))).toEqual(ANSWER);
    for (let n = 0; n < 3; n++) {
      expect(nabto.verifyMessage(await device.sign(candidate(n)))).toEqual(candidate(n));
      expect(await device.verify(nabto.signMessage(candidate(10 + n)))).toEqual(candidate(10 + n));
    }
  });

  it("the camera's SETUP_RESPONSE carries urls as arrays (what Nabto's decoder requires), even for a server configured with one URL string", async () => {
    const secret = hexSecret();
    const device = new SignedSignalingDevice(() => secret, { replayCache: new NonceCache() });
    const nabto = new NabtoJwtMessageSigner(secret, 'k1');
    await device.verify(nabto.signMessage(SETUP_REQUEST));
    // As video-service.ts builds it from `--ice-server stun:…` ({urls: string}).
    const configured = [{ urls: 'stun:127.0.0.1:3478' }, { urls: ['turn:127.0.0.1:3478'], username: 'u', credential: 'c' }];
    const decoded = NabtoSetupResponse.parse(nabto.verifyMessage(await device.sign({ type: 'SETUP_RESPONSE', iceServers: configured.map(iceServerForWire) })));
    expect(decoded.iceServers).toEqual([{ urls: ['stun:127.0.0.1:3478'] }, { urls: ['turn:127.0.0.1:3478'], username: 'u', credential: 'c' }]);
    // A string `urls` would not pass Nabto's decoder: the normalisation matters.
    expect(NabtoSetupResponse.safeParse({ type: 'SETUP_RESPONSE', iceServers: [{ urls: 'stun:x' }] }).success).toBe(false);
    // lancam reads iceServers absent or null as none.
    expect(signalingMessageSchema.parse({ type: 'SETUP_RESPONSE', iceServers: null })).toEqual({ type: 'SETUP_RESPONSE' });
  });

  it('a SETUP_RESPONSE from a Nabto device without iceServers is accepted by a lancam client', async () => {
    const secret = hexSecret();
    const client = new SignedSignalingClient('user-kid-1', secret);
    const nabtoDevice = new NabtoJwtMessageSigner(secret, 'user-kid-1');
    expect(nabtoDevice.verifyMessage(await client.sign(SETUP_REQUEST))).toEqual(SETUP_REQUEST);
    expect(await client.verify(nabtoDevice.signMessage({ type: 'SETUP_RESPONSE' }))).toEqual({ type: 'SETUP_RESPONSE' });
  });

  it('tampering with a Nabto message is refused (bad-signature), and the session is over', async () => {
    const secret = hexSecret();
    const device = new SignedSignalingDevice(() => secret, { replayCache: new NonceCache() });
    const nabto = new NabtoJwtMessageSigner(secret, 'k1');
    await device.verify(nabto.signMessage(SETUP_REQUEST));
    nabto.verifyMessage(await device.sign({ type: 'SETUP_RESPONSE', iceServers: [] }));
    const good = nabto.signMessage(ANSWER);
    const [h, p, s] = good.jwt.split('.') as [string, string, string];
    const claims = JSON.parse(unb64u(p)) as { message: { description: { sdp: string } } };
    claims.message.description.sdp += 'a=evil\r\n';
    await expectCode(device.verify({ type: 'JWT', jwt: `${h}.${b64u(JSON.stringify(claims))}.${s}` }), 'bad-signature');
    await expectCode(device.verify(good), 'dead');
  });

  it('a replayed Nabto first message is refused by a new camera session (no exp needed), and a replayed later one by the same session', async () => {
    const secret = hexSecret();
    const cache = new NonceCache();
    const resolve = () => secret;
    const nabto = new NabtoJwtMessageSigner(secret, 'k1');
    const first = nabto.signMessage(SETUP_REQUEST);
    const device = new SignedSignalingDevice(resolve, { replayCache: cache });
    expect(await device.verify(first)).toEqual(SETUP_REQUEST);
    await expectCode(new SignedSignalingDevice(resolve, { replayCache: cache }).verify(first), 'replayed');
    nabto.verifyMessage(await device.sign({ type: 'SETUP_RESPONSE', iceServers: [] }));
    const later = nabto.signMessage(candidate(1));
    expect(await device.verify(later)).toEqual(candidate(1));
    await expectCode(device.verify(later), 'bad-sequence');
  });

  it('a Nabto peer with the wrong secret, or an unsigned NONE message, is refused', async () => {
    const device = new SignedSignalingDevice(() => hexSecret(), { replayCache: new NonceCache() });
    await expectCode(device.verify(new NabtoJwtMessageSigner(hexSecret(), 'k1').signMessage(SETUP_REQUEST)), 'bad-signature');
    const other = new SignedSignalingDevice(() => hexSecret(), { replayCache: new NonceCache() });
    await expectCode(other.verify({ type: 'NONE', message: SETUP_REQUEST }), 'bad-signature');
    const bare = new SignedSignalingDevice(() => hexSecret(), { replayCache: new NonceCache() });
    await expectCode(bare.verify(new NabtoJwtMessageSigner(hexSecret(), 'k1').signMessage(SETUP_REQUEST).jwt), 'malformed');
  });
});

describe('a lancam client and a Nabto WebRTC device', () => {
  it('the whole exchange verifies both ways; lancam\'s exp on the first message does not disturb Nabto', async () => {
    const secret = hexSecret();
    const client = new SignedSignalingClient('user-kid-2', secret);
    const nabtoDevice = new NabtoJwtMessageSigner(secret, 'user-kid-2');
    const first = await client.sign(SETUP_REQUEST);
    expect(first).toMatchObject({ type: 'JWT', jwt: expect.any(String) });
    expect(nabtoDevice.verifyMessage(first)).toEqual(SETUP_REQUEST);
    expect(await client.verify(nabtoDevice.signMessage({ type: 'SETUP_RESPONSE', iceServers: [{ urls: ['turn:127.0.0.1:3478'], username: 'u', credential: 'c' }] }))).toMatchObject({ type: 'SETUP_RESPONSE' });
    expect(await client.verify(nabtoDevice.signMessage(OFFER))).toEqual(OFFER);
    expect(nabtoDevice.verifyMessage(await client.sign(ANSWER))).toEqual(ANSWER);
    for (let n = 0; n < 3; n++) {
      expect(nabtoDevice.verifyMessage(await client.sign(candidate(n)))).toEqual(candidate(n));
      expect(await client.verify(nabtoDevice.signMessage(candidate(20 + n)))).toEqual(candidate(20 + n));
    }
  });

  it('a Nabto device answering without a kid is accepted; one answering from another session is refused (bad-nonce)', async () => {
    const secret = hexSecret();
    const client = new SignedSignalingClient('user-kid-3', secret);
    const noKidDevice = new NabtoJwtMessageSigner(secret);
    noKidDevice.verifyMessage(await client.sign(SETUP_REQUEST));
    expect(await client.verify(noKidDevice.signMessage({ type: 'SETUP_RESPONSE' }))).toEqual({ type: 'SETUP_RESPONSE' });

    // A device message made for another client session (its verifierNonce is not ours).
    const otherClient = new SignedSignalingClient('user-kid-3', secret);
    const otherDevice = new NabtoJwtMessageSigner(secret, 'user-kid-3');
    otherDevice.verifyMessage(await otherClient.sign(SETUP_REQUEST));
    const fresh = new SignedSignalingClient('user-kid-3', secret);
    await fresh.sign(SETUP_REQUEST);
    await expectCode(fresh.verify(otherDevice.signMessage({ type: 'SETUP_RESPONSE' })), 'bad-nonce');
  });

  it('tampering by the relay with a Nabto device message is refused at the lancam client', async () => {
    const secret = hexSecret();
    const client = new SignedSignalingClient('user-kid-4', secret);
    const nabtoDevice = new NabtoJwtMessageSigner(secret, 'user-kid-4');
    nabtoDevice.verifyMessage(await client.sign(SETUP_REQUEST));
    const response = nabtoDevice.signMessage({ type: 'SETUP_RESPONSE', iceServers: [{ urls: ['stun:127.0.0.1:1'] }] });
    const [h, p, s] = response.jwt.split('.') as [string, string, string];
    const evil = b64u(unb64u(p).replace('stun:127.0.0.1:1', 'turn:evil.example:3478'));
    await expectCode(client.verify({ type: 'JWT', jwt: `${h}.${evil}.${s}` }), 'bad-signature');
  });
});
