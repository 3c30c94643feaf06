/**
 * The channel under attack, against a real `lancam-device` process on loopback: refused
 * handshakes, malformed and oversized frames, floods, slow and idle clients. Throughout, a
 * well-behaved client keeps getting answers.
 */
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectChannel, type ClientChannel } from '../../src/net/channel/client';
import { CHANNEL_PATH } from '../../src/net/channel/server';
import { generatePrivateKey, identityFromKey, type Identity } from '../../src/net/keys';
import { cleanupAll, startDevice, type DeviceProcess } from '../helpers/processes';

let device: DeviceProcess;
let good: Identity;
let attacker: Identity;
let goodChannel: ClientChannel;

const HANDSHAKE_TIMEOUT_S = 2;
const IDLE_TIMEOUT_S = 3;

beforeAll(async () => {
  [good, attacker] = await Promise.all([identityFromKey(generatePrivateKey(), 'good'), identityFromKey(generatePrivateKey(), 'attacker')]);
  device = await startDevice({
    mdns: false,
    args: ['--handshake-timeout', String(HANDSHAKE_TIMEOUT_S), '--idle-timeout', String(IDLE_TIMEOUT_S), '--max-connections-per-address', '16'],
  });
  goodChannel = await openGood();
});

afterAll(async () => {
  goodChannel?.close();
  await cleanupAll();
});

function openGood(): Promise<ClientChannel> {
  return connectChannel({
    host: '127.0.0.1',
    port: device.port,
    identity: good,
    verifyDevice: (fp) => {
      if (fp !== device.fingerprint) throw new Error('wrong device');
    },
  });
}

/** The well-behaved client still gets a correct answer, fast. */
async function expectGoodClientServed(): Promise<void> {
  if (!goodChannel.peer.isOpen) goodChannel = await openGood();
  const started = performance.now();
  const res = await goodChannel.peer.request('GET', '/device/info', undefined, 3000);
  expect(res.status).toBe(205);
  expect((res.body as { DeviceId: string }).DeviceId).toBe(device.deviceId);
  expect(performance.now() - started).toBeLessThan(3000);
}

function rawWs(identity: Identity | undefined, localAddress = '127.0.0.1'): WebSocket {
  return new WebSocket(`wss://127.0.0.1:${device.port}${CHANNEL_PATH}`, {
    ...(identity ? { key: identity.keyPem, cert: identity.certPem } : {}),
    rejectUnauthorized: false,
    perMessageDeflate: false,
    maxPayload: 64 * 1024 * 1024,
    localAddress,
  });
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

function closed(ws: WebSocket, timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connection was not closed in time')), timeoutMs);
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}

function nextMessage(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(data.toString()) as Record<string, unknown>)));
}

/** Resolves with everything received when the socket closes (or after timeoutMs). */
function socketOutcome(socket: net.Socket, timeoutMs: number): Promise<{ data: Buffer; closed: boolean; error?: Error }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: Error | undefined;
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (e) => (error = e));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ data: Buffer.concat(chunks), closed: false, ...(error ? { error } : {}) });
    }, timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), closed: true, ...(error ? { error } : {}) });
    });
  });
}

describe('handshake refusals', () => {
  it('a client that pins another fingerprint refuses the device before sending any application data', async () => {
    const before = device.stderr().length;
    await expect(
      connectChannel({
        host: '127.0.0.1',
        port: device.port,
        identity: attacker,
        verifyDevice: () => {
          throw new Error('pinned key mismatch');
        },
      }),
    ).rejects.toThrow('pinned key mismatch');
    // The device never saw a request from this client.
    await new Promise((r) => setTimeout(r, 200));
    expect(device.stderr().slice(before)).not.toContain(attacker.fingerprint.slice(0, 12));
    await expectGoodClientServed();
  });

  it('a client without a certificate gets nothing', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: device.port, minVersion: 'TLSv1.3', rejectUnauthorized: false });
    const outcome = socketOutcome(socket, 5000);
    socket.once('secureConnect', () => {
      socket.write(`GET ${CHANNEL_PATH} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    const { data, closed } = await outcome;
    expect(closed).toBe(true);
    expect(data.length).toBe(0);
    expect(device.stderr()).toContain('certificate');
    await expectGoodClientServed();
  });

  it('a TLS 1.2-only client is refused', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: device.port, maxVersion: 'TLSv1.2', key: attacker.keyPem, cert: attacker.certPem, rejectUnauthorized: false });
    let secure = false;
    socket.once('secureConnect', () => (secure = true));
    const { error } = await socketOutcome(socket, 5000);
    expect(secure).toBe(false);
    expect(error?.message ?? '').toMatch(/version|alert/i);
  });

  it('a plain TCP client gets no HTTP answer and is disconnected', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: device.port });
    socket.once('connect', () => socket.write(`GET ${CHANNEL_PATH} HTTP/1.1\r\nHost: x\r\n\r\n`));
    const { data, closed } = await socketOutcome(socket, 5000);
    expect(closed).toBe(true);
    expect(data.toString('latin1')).not.toContain('HTTP/');
    await expectGoodClientServed();
  });
});

describe('malformed input', () => {
  it('answers a frame that is not JSON, or breaks the schema, with an error and keeps serving', async () => {
    const ws = rawWs(attacker);
    await opened(ws);
    const m1 = nextMessage(ws);
    ws.send('this is not json');
    expect(await m1).toMatchObject({ type: 'evt', event: 'error', body: { code: 'bad-frame' } });

    const m2 = nextMessage(ws);
    ws.send(JSON.stringify({ type: 'req', id: 7, method: 'FETCH', path: '/device/info' }));
    expect(await m2).toMatchObject({ type: 'res', id: 7, status: 400 });

    const m3 = nextMessage(ws);
    ws.send(JSON.stringify({ type: 'req', id: 8, method: 'GET', path: '/device/info', extra: true }));
    expect(await m3).toMatchObject({ type: 'res', id: 8, status: 400 });

    const m4 = nextMessage(ws);
    ws.send(JSON.stringify({ type: 'req', id: 9, method: 'GET', path: '../../etc/passwd' }));
    expect(await m4).toMatchObject({ type: 'res', id: 9, status: 400 });

    const m5 = nextMessage(ws);
    ws.send(JSON.stringify({ type: 'req', id: 10, method: 'GET', path: '/no/such/thing' }));
    expect(await m5).toMatchObject({ type: 'res', id: 10, status: 404 });

    // Still a working channel for this client too.
    const m6 = nextMessage(ws);
    ws.send(JSON.stringify({ type: 'req', id: 11, method: 'GET', path: '/device/info' }));
    expect(await m6).toMatchObject({ type: 'res', id: 11, status: 205 });
    ws.close();
    await expectGoodClientServed();
  });

  it('closes a connection that keeps sending garbage', async () => {
    const ws = rawWs(attacker);
    await opened(ws);
    const done = closed(ws);
    for (let i = 0; i < 50; i++) ws.send(`{garbage ${i}`);
    const { code, reason } = await done;
    expect(code).toBe(1008);
    expect(reason).toContain('invalid frames');
    await expectGoodClientServed();
  });

  it('closes a connection that sends a 10 MB frame', async () => {
    const ws = rawWs(attacker);
    await opened(ws);
    const done = closed(ws);
    ws.send(JSON.stringify({ type: 'req', id: 1, method: 'POST', path: '/iam/users', body: 'x'.repeat(10 * 1024 * 1024) }));
    expect((await done).code).toBe(1009);
    await expectGoodClientServed();
  });

  it('10,000 requests at once get 429s beyond the limits, and the good client is still served', async () => {
    const ws = rawWs(attacker);
    await opened(ws);
    const statuses = new Map<number, number>();
    let received = 0;
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; status?: number };
      if (frame.type !== 'res') return;
      received++;
      statuses.set(frame.status!, (statuses.get(frame.status!) ?? 0) + 1);
    });
    const closedOrDone = new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      const poll = setInterval(() => {
        if (received >= 10_000) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
      ws.once('close', () => clearInterval(poll));
    });
    for (let id = 1; id <= 10_000; id++) ws.send(JSON.stringify({ type: 'req', id, method: 'GET', path: '/device/info' }));
    await expectGoodClientServed();
    await closedOrDone;
    // At most the burst (100) plus what the rate refilled gets through; the rest is throttled.
    expect(statuses.get(205) ?? 0).toBeLessThan(400);
    expect(statuses.get(429) ?? 0).toBeGreaterThan(9000);
    ws.close();
    await expectGoodClientServed();
  });
});

describe('slow, idle and too many clients', () => {
  it('drops a client that connects and never finishes the TLS handshake (slowloris)', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: device.port });
    // A few bytes of a TLS record header, then silence.
    socket.once('connect', () => socket.write(Buffer.from([0x16, 0x03, 0x01])));
    const started = performance.now();
    const { closed } = await socketOutcome(socket, (HANDSHAKE_TIMEOUT_S + 5) * 1000);
    expect(closed).toBe(true);
    expect(performance.now() - started).toBeGreaterThan(HANDSHAKE_TIMEOUT_S * 1000 - 200);
    await expectGoodClientServed();
  });

  it('drops a client that finishes TLS but sends the upgrade request a byte at a time', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: device.port, key: attacker.keyPem, cert: attacker.certPem, rejectUnauthorized: false });
    const request = `GET ${CHANNEL_PATH} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`;
    let i = 0;
    const drip = setInterval(() => {
      if (!socket.destroyed && i < request.length) socket.write(request[i++]!);
    }, 200);
    const { closed, data } = await socketOutcome(socket, (HANDSHAKE_TIMEOUT_S + 5) * 1000);
    clearInterval(drip);
    expect(closed).toBe(true);
    expect(data.toString('latin1')).not.toContain('101 Switching Protocols');
    await expectGoodClientServed();
  });

  it('closes a channel that stays idle', async () => {
    const ws = rawWs(attacker);
    await opened(ws);
    const { code, reason } = await closed(ws, (IDLE_TIMEOUT_S + 5) * 1000);
    expect(code).toBe(1001);
    expect(reason).toBe('idle timeout');
  });

  it('500 idle connections from one address are capped, and a client on another address is served', async () => {
    const sockets: net.Socket[] = [];
    const closedEarly: number[] = [];
    await Promise.all(
      Array.from({ length: 500 }, (_, i) => {
        return new Promise<void>((resolve) => {
          const socket = net.connect({ host: '127.0.0.1', port: device.port, localAddress: '127.0.0.2' });
          sockets.push(socket);
          socket.on('error', () => undefined);
          socket.once('close', () => closedEarly.push(i));
          socket.once('connect', () => resolve());
          socket.once('error', () => resolve());
        });
      }),
    );
    await new Promise((r) => setTimeout(r, 500));
    // Only the per-address limit (16) stays open; the rest were closed at once.
    expect(closedEarly.length).toBeGreaterThanOrEqual(500 - 16);
    await expectGoodClientServed();
    // A fresh connection from the good address is accepted while the flood is on.
    const fresh = await openGood();
    expect((await fresh.peer.request('GET', '/device/info')).status).toBe(205);
    fresh.close();
    // The survivors never shook hands: gone after the handshake timeout.
    await new Promise((r) => setTimeout(r, (HANDSHAKE_TIMEOUT_S + 1) * 1000));
    expect(sockets.every((s) => s.destroyed || s.readyState === 'closed')).toBe(true);
    for (const s of sockets) s.destroy();
  });
});
