/**
 * The desktop core against real cameras (lancam-device processes, mDNS on 127.0.0.1): a camera
 * that dies is offline everywhere within 3 s; a role changed by an admin reaches the camera list;
 * a Guest who forgot a camera can pair again (re-pin) although the camera refuses it
 * GET /iam/pairing; a camera added by address; snapshots and the remembered live grid on disk.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AppService } from '../../src/companion/app/app-service';
import { LiveLayoutStore } from '../../src/companion/app/live-layout-store';
import { snapshotFileName } from '../../src/companion/app/snapshots';
import { openHome } from '../../src/companion/home';
import { KnownDeviceStore } from '../../src/companion/known-devices';
import { adminOf, invite } from '../helpers/raw-client';
import { cleanupAll, DEVICE_BIN, onCleanup, runCli, startDevice, tempDir } from '../helpers/processes';

afterEach(cleanupAll);
const run = promisify(execFile);

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f8b2a40000000049454e44ae426082', 'hex');

async function appFor(homeDir: string, options: { mdns?: boolean } = {}) {
  const home = await openHome(homeDir);
  const opened: string[] = [];
  const app = new AppService({
    home,
    store: new KnownDeviceStore(home.devicesFile),
    mdnsInterface: options.mdns === false ? undefined : '127.0.0.1',
    identity: { keyProtection: 'file-0600', keyProtectionNote: 'test' },
    snapshotDir: path.join(homeDir, 'Pictures', 'lancam'),
    showInFolder: async (file) => {
      opened.push(file);
      return true;
    },
  });
  onCleanup(() => app.close());
  return { app, home, opened };
}

const statusOf = async (app: AppService, deviceId: string) => (await app.listDevices()).find((d) => d.deviceId === deviceId)?.status;

describe('AppService with real cameras', () => {
  it('says offline within 3 s of a paired camera dying, though its mDNS record lingers', async () => {
    const device = await startDevice({ name: 'Porch' });
    const homeDir = await tempDir('lancam-desktop-');
    expect((await runCli(['pair', '--address', `127.0.0.1:${device.port}`], { home: homeDir })).code).toBe(0);
    const { app } = await appFor(homeDir);
    await expect.poll(() => statusOf(app, device.deviceId), { timeout: 10_000 }).toBe('online');
    // The presence channel is up (the app keeps one to each paired camera it sees).
    await expect.poll(async () => (await app.access(device.deviceId)).me.username, { timeout: 5000 }).toBe('admin');
    // Killed: no mDNS goodbye is sent, the record stays cached.
    await device.stop('SIGKILL');
    const died = Date.now();
    await expect.poll(() => statusOf(app, device.deviceId), { timeout: 3000, interval: 100 }).toBe('offline');
    expect(Date.now() - died).toBeLessThan(3000);
  });

  it('follows a role an admin changes, and lets a Guest who forgot the camera pin it again', async () => {
    const device = await startDevice({ name: 'Hall' });
    const admin = await adminOf(device);
    const password = await invite(admin, 'gina', 'Standard');
    const homeDir = await tempDir('lancam-desktop-');
    const { app } = await appFor(homeDir);
    await expect.poll(async () => (await app.listDevices()).some((d) => d.deviceId === device.deviceId), { timeout: 10_000 }).toBe(true);
    const paired = await app.pair({ deviceId: device.deviceId, mode: 'password-invite', username: 'gina', password });
    expect(paired.role).toBe('Standard');
    await expect.poll(async () => (await app.listDevices()).find((d) => d.deviceId === device.deviceId)?.role, { timeout: 5000 }).toBe('Standard');
    // A Standard user names her own key (Nabto's ManageOwnUser), and the key shows when it was added.
    const mine = (await app.access(device.deviceId)).me.fingerprints[0]!;
    expect(mine.name).toMatch(/@/);
    expect(Date.parse(mine.addedAt!)).toBeLessThanOrEqual(Date.now());
    await app.renameKey(device.deviceId, 'gina', mine.fingerprint, 'Gina\'s phone');
    expect((await app.access(device.deviceId)).me.fingerprints[0]!.name).toBe('Gina\'s phone');
    // Not someone else's.
    const adminKey = ((await admin.call('GET', '/iam/users/admin')).body as { Fingerprints: { Fingerprint: string }[] }).Fingerprints[0]!.Fingerprint;
    await expect(app.renameKey(device.deviceId, 'admin', adminKey, 'mine now')).rejects.toMatchObject({ status: 403 });

    expect((await admin.call('PUT', '/iam/users/gina/role', 'Guest')).status).toBe(204);
    await expect.poll(async () => (await app.listDevices()).find((d) => d.deviceId === device.deviceId)?.role, { timeout: 3000, interval: 100 }).toBe('Guest');

    // Forget, then pair again: the camera refuses a Guest GET /iam/pairing, but knows the key.
    await app.forget(device.deviceId);
    const offer = await app.pairingOffer(device.deviceId);
    expect(offer.knownUser).toEqual({ username: 'gina', role: 'Guest' });
    expect(offer.paired).toBe(false);
    const again = await app.pair({ deviceId: device.deviceId, mode: 'auto' });
    expect(again).toMatchObject({ username: 'gina', role: 'Guest', alreadyPaired: true, fingerprint: device.fingerprint });
    expect((await app.listDevices()).find((d) => d.deviceId === device.deviceId)).toMatchObject({ paired: true, pinnedFingerprint: device.fingerprint });
  });

  it('names the role button pairing gives before pairing (OpenPairingRole)', async () => {
    const device = await startDevice({ name: 'Shed' });
    const admin = await adminOf(device);
    expect((await admin.call('PUT', '/iam/settings/open-pairing-role', 'Standard')).status).toBe(204);
    await run(process.execPath, [DEVICE_BIN, 'pair-window', '--state-dir', device.stateDir, '--seconds', '30'], { timeout: 10_000 });
    const { app } = await appFor(await tempDir('lancam-desktop-'));
    await expect.poll(async () => (await app.listDevices()).some((d) => d.deviceId === device.deviceId), { timeout: 10_000 }).toBe(true);
    const offer = await app.pairingOffer(device.deviceId);
    expect(offer.modes).toContain('local-open');
    expect(offer.openPairingRole).toBe('Standard');
  });

  it('adds a camera mDNS cannot see by host:port, and refuses an address where none answers', async () => {
    const device = await startDevice({ name: 'Cellar', mdns: false });
    const { app } = await appFor(await tempDir('lancam-desktop-'), { mdns: false });
    const entry = await app.addDeviceByAddress('127.0.0.1', device.port);
    expect(entry).toMatchObject({ deviceId: device.deviceId, friendlyName: 'Cellar', paired: false, status: 'online', fingerprint: device.fingerprint });
    const paired = await app.pair({ deviceId: device.deviceId, mode: 'local-initial' });
    expect(paired.username).toBe('admin');
    await expect(app.addDeviceByAddress('127.0.0.1', 9)).rejects.toMatchObject({ status: 'unreachable' });
  });

  it('renames a key with Nabto\'s request, for the key\'s owner', async () => {
    const device = await startDevice({ name: 'Garage', mdns: false });
    const { app, home } = await appFor(await tempDir('lancam-desktop-'), { mdns: false });
    await app.addDeviceByAddress('127.0.0.1', device.port);
    await app.pair({ deviceId: device.deviceId, mode: 'local-initial' });
    await app.renameKey(device.deviceId, 'admin', home.identity.fingerprint, 'Kitchen laptop');
    const me = (await app.access(device.deviceId)).me;
    expect(me.fingerprints).toEqual([expect.objectContaining({ fingerprint: home.identity.fingerprint, name: 'Kitchen laptop' })]);
  });
});

describe('snapshots and the remembered grid', () => {
  it('saves snapshots under Pictures/lancam named after the camera and the time, and shows only its own files', async () => {
    const device = await startDevice({ name: 'Front/door: "main"', mdns: false });
    const homeDir = await tempDir('lancam-desktop-');
    const { app, opened } = await appFor(homeDir, { mdns: false });
    await app.addDeviceByAddress('127.0.0.1', device.port);
    await app.pair({ deviceId: device.deviceId, mode: 'local-initial' });
    const first = await app.saveSnapshot(device.deviceId, PNG.toString('base64'));
    const second = await app.saveSnapshot(device.deviceId, PNG.toString('base64'));
    if (!('file' in first) || !('file' in second)) throw new Error('not saved');
    expect(path.dirname(first.file)).toBe(path.join(homeDir, 'Pictures', 'lancam'));
    expect(path.basename(first.file)).toMatch(/^Front door main \d{4}-\d\d-\d\d \d\d-\d\d-\d\d( \(\d\))?\.png$/);
    expect(second.file).not.toBe(first.file);
    expect(await fs.readFile(first.file)).toEqual(PNG);
    expect((await fs.stat(first.file)).mode & 0o777).toBe(0o600);
    expect(await app.showSnapshotInFolder(first.file)).toEqual({ folder: path.join(homeDir, 'Pictures', 'lancam'), opened: true });
    expect(opened).toEqual([first.file]);
    // Anything else is refused, and the file manager is not asked.
    for (const other of ['/etc/passwd', path.join(homeDir, 'Pictures', 'lancam', '..', 'devices.json'), `${first.file}.x`]) {
      await expect(app.showSnapshotInFolder(other)).rejects.toMatchObject({ status: 404 });
    }
    expect(opened).toHaveLength(1);
    await expect(app.saveSnapshot(device.deviceId, Buffer.from('not a png').toString('base64'))).rejects.toMatchObject({ status: 400 });
  });

  it('names files safely for every file system', () => {
    const at = new Date(2026, 11, 1, 9, 5, 7);
    expect(snapshotFileName('Garden', at)).toBe('Garden 2026-12-01 09-05-07.png');
    expect(snapshotFileName('../../etc/passwd', at)).toBe('etc passwd 2026-12-01 09-05-07.png');
    expect(snapshotFileName('a\u0000b\\c:d*e?f"g<h>i|j', at)).toBe('a b c d e f g h i j 2026-12-01 09-05-07.png');
    expect(snapshotFileName('...', at)).toBe('camera 2026-12-01 09-05-07.png');
    expect(snapshotFileName('x'.repeat(300), at).length).toBeLessThan(110);
  });

  it('remembers the open cameras and their order in the home, and keeps a corrupted file aside', async () => {
    const homeDir = await tempDir('lancam-desktop-');
    const { app } = await appFor(homeDir, { mdns: false });
    expect(await app.getLiveLayout()).toEqual({ open: [] });
    await app.setLiveLayout({ open: ['de-b', 'de-a'] });
    const again = new LiveLayoutStore(homeDir);
    expect(await again.get()).toEqual({ open: ['de-b', 'de-a'] });
    await fs.writeFile(again.file, '{"version":1,"open":[42]');
    const broken = await again.get();
    expect(broken.open).toEqual([]);
    expect(broken.problem).toContain('not valid JSON');
    await again.set({ open: ['de-c'] });
    expect(await again.get()).toEqual({ open: ['de-c'] });
    const kept = (await fs.readdir(homeDir)).filter((f) => f.startsWith('live-view.json.bad-'));
    expect(kept).toHaveLength(1);
    expect(await fs.readFile(path.join(homeDir, kept[0]!), 'utf8')).toBe('{"version":1,"open":[42]');
  });
});
