// lancam-relay in process, on 127.0.0.1 with real keys and TLS: cameras register by proving their
// key, clients reach them only by (deviceId, fingerprint), messages pass byte-identical, and every
// limit answers with its error frame or close.
import { createHmac } from 'node:crypto';
import tls from 'node:tls';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generatePrivateKey, identityFromKey, type Identity } from '../../src/net/keys';
import { makeDeviceHelloToken } from '../../src/relay/device-hello';
import type { RelayLimits } from '../../src/relay/limits';
import { RelayError, connectClientToRelay, connectDeviceToRelay, type DeviceRelayConnection, type RelayClientConnection } from '../../src/relay/relay-client';
import { RelayServer, type RelayServerOptions } from '../../src/relay/relay-server';
import { RELAY_MAX_FRAME } from '../../src/shared/protocol/relay-api';
import type { SignedMessage } from '../../src/shared/protocol/webrtc-api';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).reverse().map((c) => c()));
});

let relayIdentity: Identity;
let camA: Identity;
let camB: Identity;
beforeAll(async () => {
  [relayIdentity, camA, camB] = await Promise.all([
    identityFromKey(generatePrivateKey(), 'lancam-relay'),
    identityFromKey(generatePrivateKey(), 'cam-a'),
    identityFromKey(generatePrivateKey(), 'cam-b'),
  ]);
});

interface TestRelay {
  server: RelayServer;
  url: string;
  port: number;
  fingerprint: string;
  rejected: string[];
}

async function startRelay(options: Partial<Omit<RelayServerOptions, 'limits'>> & { limits?: Partial<RelayLimits> } = {}): Promise<TestRelay> {
  const server = new RelayServer({ host: '127.0.0.1', port: 0, tls: { keyPem: relayIdentity.keyPem, certPem: relayIdentity.certPem }, ...options });
  const rejected: string[] = [];
  server.on('rejected', ({ reason }) => rejected.push(reason));
  const { port } = await server.listen();
  cleanups.push(() => server.close());
  return { server, url: `wss://127.0.0.1:${port}`, port, fingerprint: relayIdentity.fingerprint, rejected };
}

async function camera(relay: TestRelay, identity: Identity, deviceId: string, extra: { initialBackoffMs?: number } = {}): Promise<DeviceRelayConnection> {
  const device = connectDeviceToRelay({ url: relay.url, identity, deviceId, pinFingerprint: relay.fingerprint, ...extra });
  cleanups.push(() => device.close());
  await device.ready(5000);
  return device;
}

async function client(relay: TestRelay, deviceId: string, fingerprint: string): Promise<RelayClientConnection> {
  const c = await connectClientToRelay({ url: relay.url, deviceId, fingerprint, pinFingerprint: relay.fingerprint, timeoutMs: 5000 });
  cleanups.push(() => c.close());
  return c;
}

/** Waits for an event's arguments, bounded in time. */
function once<T extends unknown[]>(emitter: { once(event: string, fn: (...args: T) => void): unknown }, event: string, timeoutMs = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, (...args: T) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

/** A signed message of the kind the relay carries (Nabto's {type:'JWT', jwt}; the relay cannot verify it). */
async function signed(payload: Record<string, unknown>): Promise<SignedMessage> {
  return { type: 'JWT', jwt: await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(new TextEncoder().encode('s'.repeat(32))) };
}
const wrap = (jwt: string): SignedMessage => ({ type: 'JWT', jwt });

type Frame = { type: string; [k: string]: unknown };

/** A raw WebSocket to the relay (no helper logic), to send what well-behaved peers never would. */
class Raw {
  readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on('error', () => {});
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async open(relay: TestRelay, options: WebSocket.ClientOptions = {}): Promise<Raw> {
    const ws = new WebSocket(`${relay.url}/v1`, { rejectUnauthorized: false, perMessageDeflate: false, ...options });
    const raw = new Raw(ws);
    cleanups.push(() => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return raw;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next frame of `type` (or of any of several types, `a|b`) not yet taken. */
  async next(type: string, timeoutMs = 3000): Promise<Frame> {
    const types = type.split('|');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => types.includes(f.type));
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (Date.now() > deadline) throw new Error(`no ${type} frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Answers the challenge with the token `token` makes; returns device-ready or the error. */
  async hello(token: (nonce: string) => Promise<string>): Promise<Frame> {
    const challenge = await this.next('challenge');
    this.send({ type: 'device-hello', token: await token(challenge.nonce as string) });
    return this.next('device-ready|error');
  }
}

describe('routing', () => {
  it('a camera registers via the challenge; a client reaches it by (deviceId, fingerprint); messages pass both ways byte-identical', async () => {
    const relay = await startRelay();
    const registered = once<[{ deviceId: string; fingerprint: string }]>(relay.server, 'device-registered');
    const cam = await camera(relay, camA, 'cam-a');
    expect((await registered)[0]).toMatchObject({ deviceId: 'cam-a', fingerprint: camA.fingerprint });

    const opened = once<[string]>(cam, 'channel-open');
    const c = await client(relay, 'cam-a', camA.fingerprint);
    const [channel] = await opened;
    expect(channel).toBe(c.channel);

    const toCamera = [await signed({ n: 1, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' }), await signed({ n: 2, unicode: 'ö✓' })];
    // The largest data the schema allows, near RELAY_MAX_FRAME.
    const big = wrap(`${'a'.repeat(20)}.${'b'.repeat(80 * 1024 - 50)}.${'c'.repeat(20)}`);
    toCamera.push(big);
    const atCamera: unknown[] = [];
    cam.on('message', (ch, data) => {
      expect(ch).toBe(channel);
      atCamera.push(data);
    });
    for (const m of toCamera) expect(c.send(m)).toBe(true);
    await expect.poll(() => atCamera.length).toBe(toCamera.length);
    expect(atCamera).toEqual(toCamera);

    const toClient = [await signed({ n: 3 }), big];
    const atClient: unknown[] = [];
    c.on('message', (data) => atClient.push(data));
    for (const m of toClient) expect(cam.send(channel, m)).toBe(true);
    await expect.poll(() => atClient.length).toBe(toClient.length);
    expect(atClient).toEqual(toClient);
    expect(relay.server.stats).toMatchObject({ devices: 1, channels: 1 });
  });

  it('wrong fingerprint, unknown device or a fingerprint under another id: device-offline', async () => {
    const relay = await startRelay();
    await camera(relay, camA, 'cam-a');
    const attempts = [
      ['cam-a', camB.fingerprint],
      ['cam-x', camA.fingerprint],
      ['cam-x', camB.fingerprint],
    ] as const;
    for (const [deviceId, fingerprint] of attempts) {
      const err = await connectClientToRelay({ url: relay.url, deviceId, fingerprint, pinFingerprint: relay.fingerprint }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RelayError);
      expect((err as RelayError).code).toBe('device-offline');
    }
  });

  it('closing either side closes the channel on the other', async () => {
    const relay = await startRelay();
    const cam = await camera(relay, camA, 'cam-a');

    const c1 = await client(relay, 'cam-a', camA.fingerprint);
    const gone = once<[string]>(cam, 'channel-closed');
    c1.close();
    expect((await gone)[0]).toBe(c1.channel);

    const c2 = await client(relay, 'cam-a', camA.fingerprint);
    const ended = once<[string]>(c2, 'closed');
    cam.closeChannel(c2.channel);
    expect((await ended)[0]).toMatch(/closed by the camera/);
    expect(c2.send(await signed({ late: true }))).toBe(false);

    const c3 = await client(relay, 'cam-a', camA.fingerprint);
    const dropped = once<[string]>(c3, 'closed');
    cam.close();
    expect((await dropped)[0]).toMatch(/camera disconnected/);
    await expect.poll(() => relay.server.stats).toMatchObject({ devices: 0, channels: 0 });
  });

  it('a second camera claiming the same deviceId with another key does not hijack the first camera\'s clients', async () => {
    const relay = await startRelay();
    const real = await camera(relay, camA, 'cam-a');
    const c = await client(relay, 'cam-a', camA.fingerprint);
    const atReal: unknown[] = [];
    real.on('message', (_ch, data) => atReal.push(data));

    const impostor = await camera(relay, camB, 'cam-a');
    const impostorSaw: unknown[] = [];
    impostor.on('message', (_ch, data) => impostorSaw.push(data));
    impostor.on('channel-open', (ch) => impostorSaw.push(`open ${ch}`));
    expect(real.state).toBe('ready');

    // The existing channel still goes to the real camera.
    const m1 = await signed({ m: 1 });
    c.send(m1);
    await expect.poll(() => atReal).toEqual([m1]);
    // New clients naming the real fingerprint reach the real camera.
    const opened = once<[string]>(real, 'channel-open');
    const c2 = await client(relay, 'cam-a', camA.fingerprint);
    expect((await opened)[0]).toBe(c2.channel);
    // The impostor cannot talk on the real camera's channels (it does not know them, and guessing is refused).
    const raw = await Raw.open(relay);
    const reply = await raw.hello((nonce) => makeDeviceHelloToken(generatePrivateKey(), { relayFingerprint: relayIdentity.fingerprint, deviceId: 'cam-a', nonce }));
    expect(reply.type).toBe('device-ready');
    raw.send({ type: 'message', channel: c.channel, data: await signed({ evil: true }) });
    expect((await raw.next('error')).code).toBe('unknown-channel');
    const atClient: unknown[] = [];
    c.on('message', (d) => atClient.push(d));
    await new Promise((r) => setTimeout(r, 200));
    expect(atClient).toEqual([]);
    expect(impostorSaw).toEqual([]);
    // Only a client that names the impostor's own key reaches it.
    const c3 = await client(relay, 'cam-a', camB.fingerprint);
    await expect.poll(() => impostorSaw).toEqual([`open ${c3.channel}`]);
  });

  it('a newer connection with the same key replaces the old one (which stops, not flaps)', async () => {
    const relay = await startRelay();
    const first = await camera(relay, camA, 'cam-a');
    const c = await client(relay, 'cam-a', camA.fingerprint);
    const firstGone = once<[{ error: RelayError; retryInMs: number | undefined }]>(first, 'disconnected');
    const clientGone = once<[string]>(c, 'closed');
    const second = await camera(relay, camA, 'cam-a');
    const [{ error, retryInMs }] = await firstGone;
    expect(error.code).toBe('replaced');
    expect(retryInMs).toBeUndefined();
    expect(first.state).toBe('closed');
    expect((await clientGone)[0]).toMatch(/replaced/);
    const opened = once<[string]>(second, 'channel-open');
    await client(relay, 'cam-a', camA.fingerprint);
    await opened;
    expect(relay.server.stats.devices).toBe(1);
  });

  it('the camera reconnects with backoff when the relay goes away and comes back', async () => {
    const first = await startRelay();
    const cam = await camera(first, camA, 'cam-a', { initialBackoffMs: 100 });
    const c = await client(first, 'cam-a', camA.fingerprint);
    const clientGone = once<[string]>(c, 'closed');
    const lost = once<[{ error: RelayError; retryInMs: number | undefined }]>(cam, 'disconnected');
    const channelGone = once<[string]>(cam, 'channel-closed');
    await first.server.close();
    const [{ retryInMs }] = await lost;
    expect(retryInMs).toBeGreaterThan(0);
    await channelGone;
    await clientGone;
    // Same port, same certificate.
    const second = new RelayServer({ host: '127.0.0.1', port: first.port, tls: { keyPem: relayIdentity.keyPem, certPem: relayIdentity.certPem } });
    await second.listen();
    cleanups.push(() => second.close());
    await cam.ready(10_000);
    const again = await connectClientToRelay({ url: first.url, deviceId: 'cam-a', fingerprint: camA.fingerprint, pinFingerprint: first.fingerprint });
    cleanups.push(() => again.close());
    expect(cam.channels.has(again.channel)).toBe(true);
  });
});

describe('camera authentication over the wire', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it.each([
    ['jwk does not match fp', (nonce: string) => makeDeviceHelloToken(camA.privateKey, { relayFingerprint: relayIdentity.fingerprint, deviceId: 'cam-a', nonce, fingerprint: camB.fingerprint })],
    ['expired', (nonce: string) => makeDeviceHelloToken(camA.privateKey, { relayFingerprint: relayIdentity.fingerprint, deviceId: 'cam-a', nonce, now: Date.now() - 600_000 })],
    ['alg none', async (nonce: string) => {
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const token = await makeDeviceHelloToken(camA.privateKey, { relayFingerprint: relayIdentity.fingerprint, deviceId: 'cam-a', nonce });
      const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
      return `${b64({ ...header, alg: 'none' })}.${token.split('.')[1]!}.`;
    }],
    ['HS256', async (nonce: string) => {
      const token = await makeDeviceHelloToken(camA.privateKey, { relayFingerprint: relayIdentity.fingerprint, deviceId: 'cam-a', nonce });
      const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { jwk: never };
      return new SignJWT({ fp: camA.fingerprint, nonce }).setProtectedHeader({ alg: 'HS256', jwk: header.jwk }).setSubject('cam-a')
        .setAudience('lancam-relay').setIssuedAt(now()).setExpirationTime(now() + 60).sign(new TextEncoder().encode('k'.repeat(32)));
    }],
  ])('refuses a camera whose token is wrong: %s', async (_what, token) => {
    const relay = await startRelay();
    const raw = await Raw.open(relay);
    const reply = await raw.hello(token);
    expect(reply).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect((await raw.closed).code).toBe(1008);
    expect(relay.server.stats.devices).toBe(0);
  });

  it('refuses a stale nonce (a token made for another connection\'s challenge: replay)', async () => {
    const relay = await startRelay();
    const first = await Raw.open(relay);
    let captured = '';
    expect((await first.hello(async (nonce) => (captured = await makeDeviceHelloToken(camA.privateKey, { relayFingerprint: relayIdentity.fingerprint, deviceId: 'cam-a', nonce })))).type).toBe('device-ready');
    const replay = await Raw.open(relay);
    const reply = await replay.hello(async () => captured);
    expect(reply).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(reply.message).toMatch(/nonce/);
    expect((await replay.closed).code).toBe(1008);
    // The first registration is untouched.
    const c = await client(relay, 'cam-a', camA.fingerprint);
    expect((await first.next('channel-open')).channel).toBe(c.channel);
  });

  it('a camera that sends no device-hello in time is closed', async () => {
    const relay = await startRelay({ limits: { handshakeTimeoutMs: 400 } });
    const raw = await Raw.open(relay);
    await raw.next('challenge');
    const t0 = Date.now();
    expect((await raw.closed).code).toBe(1008);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(relay.rejected.some((r) => /handshake timeout/.test(r))).toBe(true);
  });

  it('the camera refuses a relay whose key does not match the pin before sending anything', async () => {
    // A TLS server with the wrong key that records every byte it receives.
    const impostor = await identityFromKey(generatePrivateKey(), 'impostor');
    let received = 0;
    const server = tls.createServer({ key: impostor.keyPem, cert: impostor.certPem }, (s) => s.on('data', (d: Buffer) => (received += d.length)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as { port: number }).port;
    const err = await connectClientToRelay({ url: `wss://127.0.0.1:${port}`, deviceId: 'cam-a', fingerprint: camA.fingerprint, pinFingerprint: relayIdentity.fingerprint }).catch((e: unknown) => e);
    expect((err as RelayError).code).toBe('relay-fingerprint-mismatch');
    const cam = connectDeviceToRelay({ url: `wss://127.0.0.1:${port}`, identity: camA, deviceId: 'cam-a', pinFingerprint: relayIdentity.fingerprint, initialBackoffMs: 50 });
    cleanups.push(() => cam.close());
    const [{ error }] = await once<[{ error: RelayError }]>(cam, 'disconnected');
    expect(error.code).toBe('relay-fingerprint-mismatch');
    await new Promise((r) => setTimeout(r, 100));
    expect(received).toBe(0);
  });
});

describe('limits', () => {
  it('rate: frames past the bucket are dropped with one error frame; persisting gets closed 1008', async () => {
    const relay = await startRelay({ limits: { messagesPerSecond: 5, messageBurst: 10, maxDroppedFrames: 20 } });
    const cam = await camera(relay, camA, 'cam-a');
    const raw = await Raw.open(relay);
    raw.send({ type: 'connect', deviceId: 'cam-a', fingerprint: camA.fingerprint }); // frame 1
    await raw.next('connected');
    let atCamera = 0;
    cam.on('message', () => atCamera++);
    const data = await signed({ flood: true });
    for (let i = 0; i < 14; i++) raw.send({ type: 'message', data }); // 9 fit in the burst, 5 dropped
    expect(await raw.next('error')).toMatchObject({ code: 'rate-limited' });
    await expect.poll(() => atCamera).toBeGreaterThanOrEqual(9);
    await new Promise((r) => setTimeout(r, 100));
    expect(atCamera).toBeLessThanOrEqual(10);
    expect(raw.frames.filter((f) => f.type === 'error')).toHaveLength(0); // one error frame per episode
    for (let i = 0; i < 40; i++) raw.send({ type: 'message', data });
    expect((await raw.closed).code).toBe(1008);
    expect(relay.rejected).toContain('kept sending past the rate limit');
    expect(cam.state).toBe('ready'); // the camera is untouched
  });

  it('channels per camera: past the cap, too-many-channels; a closed channel frees its slot', async () => {
    const relay = await startRelay({ limits: { maxChannelsPerDevice: 2 } });
    const cam = await camera(relay, camA, 'cam-a');
    // Channels with a verified client (unverified ones would give way to a newcomer, see below).
    cam.on('channel-open', (channel) => cam.channelVerified(channel));
    const c1 = await client(relay, 'cam-a', camA.fingerprint);
    await client(relay, 'cam-a', camA.fingerprint);
    await new Promise((r) => setTimeout(r, 100));
    const err = await connectClientToRelay({ url: relay.url, deviceId: 'cam-a', fingerprint: camA.fingerprint, pinFingerprint: relay.fingerprint }).catch((e: unknown) => e);
    expect((err as RelayError).code).toBe('too-many-channels');
    c1.close();
    await expect.poll(() => relay.server.stats.channels).toBe(1);
    await client(relay, 'cam-a', camA.fingerprint);
  });

  it('squatting (issue 10 item 13): unverified channels expire, give way to newcomers, and are capped per source', async () => {
    const relay = await startRelay({ limits: { maxChannelsPerDevice: 2, channelVerifyTimeoutMs: 1500, maxUnverifiedChannelsPerSource: 3 } });
    await camera(relay, camA, 'cam-a');
    const s1 = await client(relay, 'cam-a', camA.fingerprint);
    const s1closed = once<[string]>(s1, 'closed', 5000);
    await client(relay, 'cam-a', camA.fingerprint);
    // Full of squatters: a newcomer gets in, the oldest squatter goes.
    await client(relay, 'cam-a', camA.fingerprint);
    expect((await s1closed)[0]).toMatch(/evicted: no verified message/);
    // Per source: a fourth unverified channel from 127.0.0.1 (over all cameras) is refused.
    await camera(relay, camB, 'cam-b');
    await client(relay, 'cam-b', camB.fingerprint);
    const err = await connectClientToRelay({ url: relay.url, deviceId: 'cam-b', fingerprint: camB.fingerprint, pinFingerprint: relay.fingerprint }).catch((e: unknown) => e);
    expect((err as RelayError).code).toBe('too-many-channels');
    // Past the deadline every unverified channel is gone.
    await expect.poll(() => relay.server.stats.channels, { timeout: 5000 }).toBe(0);
    expect(relay.rejected).toContain('channel without a verified message in time');
  });

  it('connections per source address are capped at accept', async () => {
    const relay = await startRelay({ limits: { maxConnectionsPerAddress: 3 } });
    await Promise.all([Raw.open(relay), Raw.open(relay), Raw.open(relay)]);
    await expect(Raw.open(relay)).rejects.toThrow();
    expect(relay.rejected.some((r) => /too many connections from 127.0.0.1/.test(r))).toBe(true);
  });

  it('malformed frames get error frames; repeated ones close 1008', async () => {
    const relay = await startRelay({ limits: { maxProtocolErrors: 4 } });
    const raw = await Raw.open(relay);
    raw.send('not json');
    expect((await raw.next('error')).message).toMatch(/not JSON/);
    raw.send({ type: 'message', data: 'a.b.c' });
    expect((await raw.next('error')).message).toMatch(/first frame/);
    raw.send({ type: 'connect', deviceId: 'cam a', fingerprint: 'nope' });
    expect((await raw.next('error')).code).toBe('bad-frame');
    raw.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await raw.next('error')).message).toMatch(/binary/);
    expect((await raw.closed).code).toBe(1008);
  });

  it('a camera\'s invalid frames (extra fields, bad channel ids) are refused', async () => {
    const relay = await startRelay();
    const raw = await Raw.open(relay);
    await raw.hello((nonce) => makeDeviceHelloToken(camA.privateKey, { relayFingerprint: relayIdentity.fingerprint, deviceId: 'cam-a', nonce }));
    raw.send({ type: 'message', channel: '../../x', data: wrap('a.b.c') });
    expect((await raw.next('error')).code).toBe('bad-frame');
    raw.send({ type: 'message', channel: 'abcdefgh12', data: 'a.b.c' }); // a bare JWT, not Nabto's {type:'JWT', jwt}
    expect((await raw.next('error')).code).toBe('bad-frame');
    raw.send({ type: 'turn-request', requestId: '1', user: 'alice', extra: 1 });
    expect((await raw.next('error')).code).toBe('bad-frame');
    raw.send({ type: 'device-hello', token: 'a.b.c' });
    expect((await raw.next('error')).message).toMatch(/device-hello|already/);
  });

  it('a frame larger than RELAY_MAX_FRAME closes the connection with 1009', async () => {
    const relay = await startRelay();
    const raw = await Raw.open(relay);
    raw.send('x'.repeat(RELAY_MAX_FRAME + 1));
    expect((await raw.closed).code).toBe(1009);
  });

  it('heartbeat: a peer that stops answering pings (half-open) is dropped', async () => {
    const relay = await startRelay({ limits: { heartbeatIntervalMs: 150 } });
    const cam = await Raw.open(relay, { autoPong: false });
    await cam.hello((nonce) => makeDeviceHelloToken(camA.privateKey, { relayFingerprint: relayIdentity.fingerprint, deviceId: 'cam-a', nonce }));
    const healthy = await camera(relay, camB, 'cam-b');
    const t0 = Date.now();
    await cam.closed;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(relay.rejected).toContain('heartbeat: no pong');
    await new Promise((r) => setTimeout(r, 400));
    expect(healthy.state).toBe('ready'); // peers that answer stay
    expect(relay.server.stats.devices).toBe(1);
  });

  it('a camera that does not read: the client\'s frames are dropped with device-busy, the camera stays', async () => {
    const relay = await startRelay({ limits: { maxBufferedBytes: 256 * 1024, messagesPerSecond: 10_000, messageBurst: 10_000, bytesPerSecond: 1e9, byteBurst: 1e9 } });
    const cam = await Raw.open(relay);
    await cam.hello((nonce) => makeDeviceHelloToken(camA.privateKey, { relayFingerprint: relayIdentity.fingerprint, deviceId: 'cam-a', nonce }));
    const c = await client(relay, 'cam-a', camA.fingerprint);
    await cam.next('channel-open');
    (cam.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const errors: string[] = [];
    c.on('relay-error', ({ code }) => errors.push(code));
    const big = wrap(`${'a'.repeat(20)}.${'b'.repeat(80 * 1024 - 50)}.${'c'.repeat(20)}`);
    for (let i = 0; i < 400 && errors.length === 0; i++) {
      c.send(big);
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 20));
    }
    await expect.poll(() => errors, { timeout: 5000 }).toContain('device-busy');
    expect(relay.server.stats.devices).toBe(1);
    expect(c.isOpen).toBe(true);
  });

  it('a client that does not read its channel is closed; the camera is told', async () => {
    const relay = await startRelay({ limits: { maxBufferedBytes: 256 * 1024, messagesPerSecond: 10_000, messageBurst: 10_000, bytesPerSecond: 1e9, byteBurst: 1e9 } });
    const cam = await camera(relay, camA, 'cam-a');
    const raw = await Raw.open(relay);
    raw.send({ type: 'connect', deviceId: 'cam-a', fingerprint: camA.fingerprint });
    const { channel } = await raw.next('connected');
    (raw.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const gone = once<[string]>(cam, 'channel-closed', 10_000);
    const big = wrap(`${'a'.repeat(20)}.${'b'.repeat(80 * 1024 - 50)}.${'c'.repeat(20)}`);
    let closed = false;
    void gone.then(() => (closed = true));
    for (let i = 0; i < 400 && !closed; i++) {
      cam.send(channel as string, big);
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 20));
    }
    expect((await gone)[0]).toBe(channel);
    expect(relay.rejected).toContain('client is not reading its channel');
    expect(cam.state).toBe('ready');
  });
});

describe('TURN', () => {
  it('a camera gets coturn REST credentials that verify and expire at now + ttl', async () => {
    const urls = ['turn:127.0.0.1:3478?transport=udp'];
    const relay = await startRelay({ turn: { urls, secret: 'relay-secret', ttlSeconds: 600 } });
    const cam = await camera(relay, camA, 'cam-a');
    const opened = once<[string]>(cam, 'channel-open');
    await client(relay, 'cam-a', camA.fingerprint);
    const [channel] = await opened;
    // Not before the camera verified a signed message on the channel (issue 10 item 12).
    expect(await cam.requestTurn('alice', channel)).toEqual([]);
    expect(relay.rejected.some((r) => r.includes('turn-refused'))).toBe(true);
    cam.channelVerified(channel);
    const before = Math.floor(Date.now() / 1000);
    const servers = await cam.requestTurn('alice', channel);
    expect(servers).toHaveLength(1);
    const [server] = servers;
    expect(server!.urls).toEqual(urls);
    const [expiry, user] = server!.username!.split(':');
    expect(user).toBe('alice');
    expect(Number(expiry)).toBeGreaterThanOrEqual(before + 600);
    expect(Number(expiry)).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 600);
    expect(server!.credential).toBe(createHmac('sha1', 'relay-secret').update(server!.username!).digest('base64'));
  });

  it('without a TURN configuration a camera gets []; clients cannot ask', async () => {
    const relay = await startRelay();
    const cam = await camera(relay, camA, 'cam-a');
    const opened = once<[string]>(cam, 'channel-open');
    await client(relay, 'cam-a', camA.fingerprint);
    const [channel] = await opened;
    cam.channelVerified(channel);
    expect(await cam.requestTurn('alice', channel)).toEqual([]);
    const raw = await Raw.open(relay);
    raw.send({ type: 'turn-request', requestId: '1', user: 'alice', channel });
    expect((await raw.next('error')).code).toBe('bad-frame');
  });
});

describe('TURN credentials are rate-limited per camera key (issue 10 item 12)', () => {
  it('a camera gets at most turnRequestsPerMinute credentials, even on a verified channel', async () => {
    const relay = await startRelay({ turn: { urls: ['turn:127.0.0.1:3478'], secret: 's', ttlSeconds: 600 }, limits: { turnRequestsPerMinute: 5 } });
    const cam = await camera(relay, camA, 'cam-a');
    const opened = once<[string]>(cam, 'channel-open');
    await client(relay, 'cam-a', camA.fingerprint);
    const [channel] = await opened;
    cam.channelVerified(channel);
    const got: number[] = [];
    for (let i = 0; i < 8; i++) got.push((await cam.requestTurn(`u${i}`, channel)).length);
    expect(got).toEqual([1, 1, 1, 1, 1, 0, 0, 0]);
  });
});

describe('measured', () => {
  it('round trips client -> relay -> camera -> relay -> client', async () => {
    const relay = await startRelay({ limits: { messagesPerSecond: 100_000, messageBurst: 100_000 } });
    const cam = await camera(relay, camA, 'cam-a');
    cam.on('message', (ch, data) => cam.send(ch, data));
    const c = await client(relay, 'cam-a', camA.fingerprint);
    const data = await signed({ sdp: 'x'.repeat(2000) });
    const times: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      const echoed = once<[string]>(c, 'message');
      c.send(data);
      expect((await echoed)[0]).toEqual(data);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const p50 = times[150]!;
    const p99 = times[297]!;
    console.log(`relay round trip (2.2 KB signed message, loopback, TLS): p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`);
    expect(p50).toBeLessThan(20);
  });
});
