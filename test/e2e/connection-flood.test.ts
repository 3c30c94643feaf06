/**
 * Issue 10 item 7: strangers fill the camera's connections so that its owner cannot get in.
 * Against a real `lancam-device`: unknown keys from six loopback addresses (one of them the
 * owner's own) open channels, keep them busy and reconnect whenever they are cut. The owner still
 * connects, invites and pairs a newcomer, and watches video while the flood runs. On the old code
 * the global and per-address caps were first come, first served, so the owner got nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CHANNEL_PATH } from '../../src/net/channel/server';
import { cleanupAll, type DeviceProcess } from '../helpers/processes';
import { adminOf, deviceClient, invite, newIdentity, passwordAuth, type RawClient } from '../helpers/raw-client';
import { cleanupVideo, openViewer, pairedClient, sleep, startVideoDevice } from '../helpers/video';
import type { Identity } from '../../src/net/keys';

let device: DeviceProcess;
let admin: RawClient;
const UNPAIRED_IDLE_S = 2;

beforeAll(async () => {
  device = await startVideoDevice({
    args: ['--max-connections', '32', '--max-connections-per-address', '8', '--unpaired-idle-timeout', String(UNPAIRED_IDLE_S), '--idle-timeout', '60'],
  });
  admin = await adminOf(device);
});

afterEach(cleanupVideo);
afterAll(cleanupAll);

function channel(identity: Identity, localAddress: string): WebSocket {
  return new WebSocket(`wss://127.0.0.1:${device.port}${CHANNEL_PATH}`, {
    key: identity.keyPem,
    cert: identity.certPem,
    rejectUnauthorized: false,
    perMessageDeflate: false,
    localAddress,
  });
}

/** Squatters: `perAddress` unknown keys on each address, requesting every 500 ms, reconnecting 1 s after being cut. */
function flood(addresses: string[], perAddress: number): { open(): number; opened(): number; stop(): void } {
  let stopped = false;
  let opened = 0;
  const live = new Set<WebSocket>();
  const squat = async (localAddress: string): Promise<void> => {
    const identity = await newIdentity('squatter');
    while (!stopped) {
      const ws = channel(identity, localAddress);
      await new Promise<void>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        ws.once('open', () => {
          opened++;
          live.add(ws);
          let id = 1;
          timer = setInterval(() => ws.send(JSON.stringify({ type: 'req', id: id++, method: 'GET', path: '/device/info' })), 500);
        });
        ws.on('error', () => undefined);
        ws.once('close', () => {
          clearInterval(timer);
          live.delete(ws);
          resolve();
        });
      });
      // Reconnect a second later: squatting, not a handshake flood (the accept rate bounds that).
      await sleep(1000);
    }
  };
  for (const address of addresses) for (let i = 0; i < perAddress; i++) void squat(address);
  return {
    open: () => live.size,
    opened: () => opened,
    stop: () => {
      stopped = true;
      for (const ws of live) ws.terminate();
    },
  };
}

describe('connection flood by unknown keys (item 7)', () => {
  it('the owner connects, pairs a newcomer and watches while strangers hold every slot they can get', async () => {
    const attackers = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];
    // Pair a viewer before the flood (it needs an invite from the admin); it watches during it.
    const viewerClient = await pairedClient(device, admin, 'viewer', 'Guest');
    const ownerIdentity = admin.identity;
    admin.close();
    const attack = flood(attackers, 8);
    try {
      // 48 squatters against 32 slots: they fill what unpaired keys may hold.
      const started = performance.now();
      while (attack.opened() < 30 && performance.now() - started < 15_000) await sleep(100);
      expect(attack.opened()).toBeGreaterThanOrEqual(30);
      await sleep(1000);
      expect(attack.open()).toBeGreaterThan(10);

      // The owner, from the same address as a squatter, gets in and is served.
      const owner = await deviceClient(device, { identity: ownerIdentity, localAddress: '127.0.0.1' });
      expect((await owner.call('GET', '/iam/me')).status).toBe(205);

      // It invites someone who is not paired yet; the newcomer pairs from another address.
      const password = await invite(owner, 'newcomer', 'Guest');
      const newcomer = await deviceClient(device, { localAddress: '127.0.0.9' });
      expect(await passwordAuth(newcomer, 'newcomer', password)).toMatchObject({ stage: 'finish', response: { status: 204 } });
      expect((await newcomer.call('POST', '/iam/pairing/password-invite', {})).status).toBe(201);

      // A paired viewer watches during the flood.
      // Before TLS finishes nobody can tell a paired key from a squatter on the same address, so
      // under churn a handshake may be cut (docs/security.md, residual); the client's own
      // connect tries again (src/net/channel/client.ts), which every connection here goes through.
      const session = await viewerClient.open();
      const { frameTimes } = await openViewer(session);
      const t0 = performance.now();
      while (frameTimes.length < 10 && performance.now() - t0 < 20_000) await sleep(100);
      expect(frameTimes.length).toBeGreaterThanOrEqual(10);

      // The now-paired newcomer's channel outlives the unpaired idle deadline.
      await sleep((UNPAIRED_IDLE_S + 1) * 1000);
      expect((await newcomer.call('GET', '/iam/me')).status).toBe(205);
      expect((await owner.call('GET', '/iam/me')).status).toBe(205);
      expect(device.stderr()).toMatch(/evicted \(too many/);
    } finally {
      attack.stop();
    }
  }, 90_000);

  it('an unpaired channel that only answers heartbeats and pings is closed at the short idle deadline; a paired one stays', async () => {
    const stranger = channel(await newIdentity('idle stranger'), '127.0.0.7');
    await new Promise<void>((resolve, reject) => {
      stranger.once('open', () => resolve());
      stranger.once('error', reject);
    });
    const pinger = setInterval(() => stranger.ping(), 300);
    const closed = new Promise<{ code: number; reason: string; after: number }>((resolve) => {
      const t = performance.now();
      stranger.once('close', (code, reason) => resolve({ code, reason: reason.toString(), after: performance.now() - t }));
    });
    const owner = await deviceClient(device, { identity: admin.identity, localAddress: '127.0.0.7' });
    const result = await Promise.race([closed, sleep(20_000).then(() => undefined)]);
    clearInterval(pinger);
    expect(result).toMatchObject({ code: 1001, reason: 'idle timeout' });
    // The owner's quiet channel is still open after the same time.
    expect(owner.channel.peer.isOpen).toBe(true);
    expect((await owner.call('GET', '/iam/me')).status).toBe(205);
  }, 30_000);
});
