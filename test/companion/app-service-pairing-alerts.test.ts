/**
 * Issue 10 item 2, the desktop core against real cameras (lancam-device processes): an
 * administrator's app is told the moment a key pairs by local open (who, the whole key, from
 * where), lists the camera's recent pairings, and undoes that pairing in one step (the user and key
 * are gone, and a pairing made since is never removed in its place); an overlap reaches it too.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AppService } from '../../src/companion/app/app-service';
import { openHome } from '../../src/companion/home';
import { KnownDeviceStore } from '../../src/companion/known-devices';
import { UiServer } from '../../src/companion/ui-server/ui-server';
import type { PairingAlertView, PairingRecordView } from '../../src/shared/ui/api';
import { cleanupAll, DEVICE_BIN, onCleanup, startDevice, tempDir, type DeviceProcess } from '../helpers/processes';
import { deviceClient } from '../helpers/raw-client';

afterEach(cleanupAll);
const run = promisify(execFile);

/** An app that is the camera's administrator (first owner), with its channel open. */
async function adminApp(device: DeviceProcess) {
  const homeDir = await tempDir('lancam-desktop-');
  const home = await openHome(homeDir);
  const app = new AppService({
    home,
    store: new KnownDeviceStore(home.devicesFile),
    identity: { keyProtection: 'file-0600', keyProtectionNote: 'test' },
    snapshotDir: path.join(homeDir, 'Pictures', 'lancam'),
  });
  onCleanup(() => app.close());
  await app.addDeviceByAddress('127.0.0.1', device.port);
  expect((await app.pair({ deviceId: device.deviceId, mode: 'local-initial' })).role).toBe('Administrator');
  expect((await app.access(device.deviceId)).canManageUsers).toBe(true);
  const paired: PairingRecordView[] = [];
  const alerts: PairingAlertView[] = [];
  app.on('paired', (r) => paired.push(r));
  app.on('pairingAlert', (a) => alerts.push(a));
  return { app, home, paired, alerts };
}

/** What a browser on `lancam ui` is sent: the bridge forwards the app's events after the token. */
async function bridgeEvents(app: AppService): Promise<{ event: string; data: unknown }[]> {
  const site = await tempDir('lancam-ui-site-');
  const server = new UiServer({ app, staticDir: site });
  const { port } = await server.listen();
  onCleanup(() => server.close());
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api`, { headers: { origin: `http://127.0.0.1:${port}` } });
  onCleanup(async () => void ws.close());
  const received: { event: string; data: unknown }[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', token: server.token })));
    ws.on('message', (raw: Buffer) => {
      const message = JSON.parse(raw.toString()) as { type?: string; event?: string; data?: unknown };
      if (message.type === 'ready') resolve();
      if (message.event) received.push({ event: message.event, data: message.data });
    });
  });
  return received;
}

const openWindow = (device: DeviceProcess) => run(process.execPath, [DEVICE_BIN, 'pair-window', '--state-dir', device.stateDir, '--seconds', '60'], { timeout: 10_000 });

describe('AppService: pairing alerts from a real camera', () => {
  it('tells the administrator which key paired by local open, lists it, and undoes it: the user and key are gone', async () => {
    const device = await startDevice({ mdns: false, args: ['--pairing-settle', '0.3'] });
    const { app, home, paired } = await adminApp(device);
    const bridged = await bridgeEvents(app);
    await openWindow(device);
    const eve = await deviceClient(device, { localAddress: '127.0.0.77' });
    expect((await eve.call('POST', '/iam/pairing/local-open', { Username: 'eve', FingerprintName: 'kitchen tablet' })).status).toBe(201);

    await expect.poll(() => paired.length, { timeout: 5000 }).toBe(1);
    expect(paired[0]).toEqual({
      deviceId: device.deviceId,
      at: expect.any(String),
      username: 'eve',
      role: 'Guest',
      fingerprint: eve.identity.fingerprint,
      fingerprintName: 'kitchen tablet',
      mode: 'local-open',
      remoteAddress: '127.0.0.77',
      createdUser: true,
    });
    expect(Math.abs(Date.parse(paired[0]!.at) - Date.now())).toBeLessThan(60_000);
    // A browser on `lancam ui` gets it as well.
    await expect.poll(() => bridged.find((e) => e.event === 'paired')?.data, { timeout: 5000 }).toEqual(paired[0]);
    const recent = await app.recentPairings(device.deviceId);
    expect(recent.map((r) => [r.username, r.mode, r.fingerprint])).toEqual([
      ['admin', 'local-initial', home.identity.fingerprint],
      ['eve', 'local-open', eve.identity.fingerprint],
    ]);

    // A wrong key (not the last pairing) undoes nothing.
    await expect(app.undoLastPairing(device.deviceId, home.identity.fingerprint)).rejects.toMatchObject({ status: 409 });
    expect((await app.listUsers(device.deviceId)).map((u) => u.username).sort()).toEqual(['admin', 'eve']);

    await app.undoLastPairing(device.deviceId, eve.identity.fingerprint);
    expect((await app.listUsers(device.deviceId)).map((u) => u.username)).toEqual(['admin']);
    expect((await eve.call('GET', '/iam/me')).status).toBe(404);
    expect((await app.recentPairings(device.deviceId)).map((r) => r.username)).toEqual(['admin']);
    // Nothing left to undo but the owner's own first pairing, which the camera refuses to undo this way.
    await expect(app.undoLastPairing(device.deviceId, eve.identity.fingerprint)).rejects.toMatchObject({ status: 409 });
    await expect(app.undoLastPairing(device.deviceId, home.identity.fingerprint)).rejects.toMatchObject({ status: 409 });
    expect((await app.listUsers(device.deviceId)).map((u) => u.username)).toEqual(['admin']);
  });

  it('does not undo a pairing made after the one the administrator was shown', async () => {
    const device = await startDevice({ mdns: false, args: ['--pairing-settle', '0.3'] });
    const { app, paired } = await adminApp(device);
    await openWindow(device);
    const eve = await deviceClient(device, { localAddress: '127.0.0.77' });
    expect((await eve.call('POST', '/iam/pairing/local-open', { Username: 'eve' })).status).toBe(201);
    await expect.poll(() => paired.length, { timeout: 5000 }).toBe(1);
    await new Promise((r) => setTimeout(r, 3500));
    await openWindow(device);
    const bob = await deviceClient(device, { localAddress: '127.0.0.5' });
    expect((await bob.call('POST', '/iam/pairing/local-open', { Username: 'bob' })).status).toBe(201);
    await expect.poll(() => paired.map((p) => p.username), { timeout: 5000 }).toEqual(['eve', 'bob']);
    // The admin presses Remove on eve's alert after bob paired: refused, bob stays.
    await expect(app.undoLastPairing(device.deviceId, eve.identity.fingerprint)).rejects.toThrow(/another pairing \("bob"\) happened since/);
    expect((await app.listUsers(device.deviceId)).map((u) => u.username).sort()).toEqual(['admin', 'bob', 'eve']);
  });

  it('passes the camera\'s overlap alert on: both keys, nobody paired', async () => {
    const device = await startDevice({ mdns: false, args: ['--pairing-settle', '2'] });
    const { app, alerts, paired } = await adminApp(device);
    await openWindow(device);
    const one = await deviceClient(device, { localAddress: '127.0.0.5' });
    const two = await deviceClient(device, { localAddress: '127.0.0.66' });
    const results = await Promise.all([one.call('POST', '/iam/pairing/local-open', { Username: 'bob' }), two.call('POST', '/iam/pairing/local-open', { Username: 'mallory' })]);
    expect(results.map((r) => r.status)).toEqual([409, 409]);
    await expect.poll(() => alerts.length, { timeout: 5000 }).toBe(1);
    expect(alerts[0]!.deviceId).toBe(device.deviceId);
    expect(alerts[0]!.reason).toBe('overlap');
    expect([...alerts[0]!.fingerprints].sort()).toEqual([one.identity.fingerprint, two.identity.fingerprint].sort());
    expect(paired).toEqual([]);
    expect((await app.listUsers(device.deviceId)).map((u) => u.username)).toEqual(['admin']);
  });
});
