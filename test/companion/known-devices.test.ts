import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DiscoveredDevice } from '../../src/companion/discovery';
import { KnownDeviceStore, KnownDeviceStoreError, type KnownDevice } from '../../src/companion/known-devices';
import { cleanupAll, tempDir } from '../helpers/processes';

const fp = () => randomBytes(32).toString('hex');

function device(overrides: Partial<KnownDevice> = {}): KnownDevice {
  return {
    deviceId: `de-${randomBytes(4).toString('hex')}`,
    productId: 'pr-test0001',
    fingerprint: fp(),
    friendlyName: 'Kitchen',
    username: 'admin',
    role: 'Administrator',
    lastAddress: { host: '127.0.0.1', port: 5592 },
    pairedAt: '2026-01-02T03:04:05.000Z',
    ...overrides,
  };
}

let dir: string;
let file: string;
let store: KnownDeviceStore;

beforeEach(async () => {
  dir = await tempDir('lancam-store-');
  file = path.join(dir, 'devices.json');
  store = new KnownDeviceStore(file);
});
afterEach(cleanupAll);

describe('KnownDeviceStore', () => {
  it('is empty when the file does not exist, and does not create it by reading', async () => {
    expect(await store.list()).toEqual([]);
    expect(await store.get('de-nothere')).toBeUndefined();
    expect(await store.resolve('Kitchen')).toBeUndefined();
    await expect(fs.stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('puts and gets a device, and writes a 0600 JSON file with version 1', async () => {
    const d = device();
    await store.put(d);
    expect(await store.get(d.deviceId)).toEqual(d);
    expect(await store.list()).toEqual([d]);
    const stat = await fs.stat(file);
    expect(stat.mode & 0o777).toBe(0o600);
    const onDisk = JSON.parse(await fs.readFile(file, 'utf8')) as { version: number; devices: KnownDevice[] };
    expect(onDisk).toEqual({ version: 1, devices: [d] });
    // No lock file or temp file left behind.
    expect((await fs.readdir(dir)).sort()).toEqual(['devices.json']);
    // A second store object on the same file sees the same data.
    expect(await new KnownDeviceStore(file).get(d.deviceId)).toEqual(d);
  });

  it('replaces a device with the same id instead of adding a second entry', async () => {
    const d = device();
    await store.put(d);
    const replaced = { ...d, friendlyName: 'Garage', fingerprint: fp() };
    await store.put(replaced);
    expect(await store.list()).toEqual([replaced]);
  });

  it('resolves by device id, and by friendly name case-insensitively', async () => {
    const kitchen = device({ friendlyName: 'Kitchen' });
    const garage = device({ friendlyName: 'Garage Door' });
    await store.put(kitchen);
    await store.put(garage);
    expect(await store.resolve(kitchen.deviceId)).toEqual(kitchen);
    expect(await store.resolve('kitchen')).toEqual(kitchen);
    expect(await store.resolve('GARAGE DOOR')).toEqual(garage);
    expect(await store.resolve('Garage')).toBeUndefined();
    expect(await store.resolve('de-unknown')).toBeUndefined();
  });

  it('prefers a device id over a friendly name that looks like it', async () => {
    const a = device({ friendlyName: 'Porch' });
    const b = device({ friendlyName: a.deviceId });
    await store.put(a);
    await store.put(b);
    expect(await store.resolve(a.deviceId)).toEqual(a);
  });

  it('refuses an ambiguous friendly name, naming the device ids', async () => {
    const a = device({ friendlyName: 'Camera' });
    const b = device({ friendlyName: 'camera' });
    await store.put(a);
    await store.put(b);
    const err = await store.resolve('Camera').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KnownDeviceStoreError);
    expect((err as Error).message).toContain('more than one known camera is called "Camera"');
    expect((err as Error).message).toContain(a.deviceId);
    expect((err as Error).message).toContain(b.deviceId);
    // Each is still reachable by id.
    expect(await store.resolve(b.deviceId)).toEqual(b);
  });

  it('removes a device and reports whether it was there', async () => {
    const a = device();
    const b = device({ friendlyName: 'Garage' });
    await store.put(a);
    await store.put(b);
    expect(await store.remove(a.deviceId)).toBe(true);
    expect(await store.list()).toEqual([b]);
    expect(await store.remove(a.deviceId)).toBe(false);
    expect(await store.remove('de-neverthere')).toBe(false);
    expect(await store.list()).toEqual([b]);
  });

  it('touch updates other fields but never the pinned fingerprint or the id', async () => {
    const d = device();
    await store.put(d);
    await store.touch(d.deviceId, { lastAddress: { host: '127.0.0.2', port: 6000 }, lastSeenAt: '2026-03-04T05:06:07.000Z', friendlyName: 'Renamed' });
    expect(await store.get(d.deviceId)).toEqual({ ...d, lastAddress: { host: '127.0.0.2', port: 6000 }, lastSeenAt: '2026-03-04T05:06:07.000Z', friendlyName: 'Renamed' });
  });

  it('touch with an announcement as the patch does not move the pin or the id', async () => {
    const d = device();
    await store.put(d);
    // What discovery heard from *some* device at the address: another key, another id. The
    // parameter type accepts it (no excess-property check on a variable), so the store itself
    // must keep fingerprint and deviceId out of a touch.
    const heard: DiscoveredDevice = {
      deviceId: 'de-impostor',
      productId: d.productId,
      friendlyName: 'Kitchen',
      fingerprint: fp(),
      protocolVersion: '1',
      instanceName: 'Kitchen (de-impostor)',
      host: '127.0.0.1',
      port: 5592,
      addresses: [],
    };
    await store.touch(d.deviceId, heard).catch(() => undefined);
    const after = await store.list();
    expect(after).toHaveLength(1);
    expect(after[0]!.deviceId).toBe(d.deviceId);
    expect(after[0]!.fingerprint).toBe(d.fingerprint);
  });

  it('touch of an unknown device changes nothing', async () => {
    const d = device();
    await store.put(d);
    const before = await fs.readFile(file, 'utf8');
    await store.touch('de-unknown', { lastSeenAt: '2026-03-04T05:06:07.000Z' });
    expect(await store.list()).toEqual([d]);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toEqual(JSON.parse(before));
  });

  it('touch rejects invalid values', async () => {
    const d = device();
    await store.put(d);
    await expect(store.touch(d.deviceId, { lastAddress: { host: '127.0.0.1', port: 70000 } })).rejects.toThrow();
    expect(await store.get(d.deviceId)).toEqual(d);
  });

  it.each<[string, Partial<KnownDevice> | Record<string, unknown>]>([
    ['a short fingerprint', { fingerprint: 'ab'.repeat(31) }],
    ['an upper-case fingerprint', { fingerprint: 'AB'.repeat(32) }],
    ['a grouped fingerprint', { fingerprint: 'abcd '.repeat(16).trim() }],
    ['a device id with a slash', { deviceId: 'de-../../etc' }],
    ['an empty device id', { deviceId: '' }],
    ['a 65-character device id', { deviceId: `de-${'a'.repeat(62)}` }],
    ['a bad product id', { productId: 'pr test' }],
    ['a 65-character friendly name', { friendlyName: 'x'.repeat(65) }],
    ['port 0', { lastAddress: { host: '127.0.0.1', port: 0 } }],
    ['a fractional port', { lastAddress: { host: '127.0.0.1', port: 1.5 } }],
    ['a missing pairedAt', { pairedAt: undefined }],
  ])('put rejects %s and leaves the store as it was', async (_label, patch) => {
    const good = device();
    await store.put(good);
    const before = await fs.readFile(file);
    const bad = { ...device(), ...patch } as KnownDevice;
    await expect(store.put(bad)).rejects.toThrow();
    expect(await fs.readFile(file)).toEqual(before);
    expect(await store.list()).toEqual([good]);
  });

  it('lands every one of 10 concurrent puts (the lock serialises them)', async () => {
    const devices = Array.from({ length: 10 }, (_, i) => device({ friendlyName: `Camera ${i}` }));
    // Separate store objects, as separate lancam processes would have.
    await Promise.all(devices.map((d) => new KnownDeviceStore(file).put(d)));
    const listed = await store.list();
    expect(listed).toHaveLength(10);
    expect(listed.map((d) => d.deviceId).sort()).toEqual(devices.map((d) => d.deviceId).sort());
    expect((await fs.readdir(dir)).sort()).toEqual(['devices.json']);
  });

  it('mixed concurrent puts, touches and removes all land', async () => {
    const initial = Array.from({ length: 5 }, (_, i) => device({ friendlyName: `Old ${i}` }));
    for (const d of initial) await store.put(d);
    const added = Array.from({ length: 5 }, (_, i) => device({ friendlyName: `New ${i}` }));
    await Promise.all([
      ...added.map((d) => store.put(d)),
      store.remove(initial[0]!.deviceId),
      store.remove(initial[1]!.deviceId),
      store.touch(initial[2]!.deviceId, { lastSeenAt: '2026-09-09T09:09:09.000Z' }),
    ]);
    const ids = (await store.list()).map((d) => d.deviceId).sort();
    expect(ids).toEqual([...initial.slice(2), ...added].map((d) => d.deviceId).sort());
    expect((await store.get(initial[2]!.deviceId))?.lastSeenAt).toBe('2026-09-09T09:09:09.000Z');
  });

  it('waits for a held lock, and takes over a stale one', async () => {
    const lock = `${file}.lock`;
    await fs.writeFile(lock, '99999');
    const d = device();
    const put = store.put(d);
    await new Promise((r) => setTimeout(r, 200));
    expect(await store.get(d.deviceId)).toBeUndefined();
    await fs.rm(lock);
    await put;
    expect(await store.get(d.deviceId)).toEqual(d);

    // A lock file from a crashed process (older than the stale limit) does not block forever.
    await fs.writeFile(lock, '99999');
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(lock, old, old);
    const e = device();
    await store.put(e);
    expect(await store.get(e.deviceId)).toEqual(e);
  });

  describe('a corrupted file', () => {
    const cases: [string, string][] = [
      ['truncated JSON', '{"version": 1, "devices": [{"deviceId": "de-'],
      ['not JSON at all', 'hello\n'],
      ['a wrong version', JSON.stringify({ version: 2, devices: [] })],
      ['an invalid entry', JSON.stringify({ version: 1, devices: [{ deviceId: 'de-x', fingerprint: 'nope' }] })],
      ['an array', '[]'],
      ['empty', ''],
    ];

    it.each(cases)('%s: every operation fails with KnownDeviceStoreError and the file is untouched', async (_label, content) => {
      await fs.writeFile(file, content, { mode: 0o600 });
      const before = await fs.readFile(file);
      const operations: [string, () => Promise<unknown>][] = [
        ['list', () => store.list()],
        ['get', () => store.get('de-x')],
        ['resolve', () => store.resolve('Kitchen')],
        ['put', () => store.put(device())],
        ['touch', () => store.touch('de-x', { lastSeenAt: 'now' })],
        ['remove', () => store.remove('de-x')],
      ];
      for (const [name, op] of operations) {
        const err = await op().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, name).toBeInstanceOf(KnownDeviceStoreError);
        expect((err as Error).message, name).toContain(file);
        expect((err as Error).message, name).toMatch(/kept as it is/);
      }
      expect(await fs.readFile(file)).toEqual(before);
      expect((await fs.readdir(dir)).sort()).toEqual(['devices.json']);
    });
  });
});
