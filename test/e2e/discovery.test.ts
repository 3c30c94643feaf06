// Discovery end to end: real lancam-device daemons announcing by mDNS on 127.0.0.1, found by
// `lancam discover` and by the companion's Discovery class. Network safety: devices listen on
// 127.0.0.1 and announce on interface 127.0.0.1 (test/helpers/processes.ts); the in-process
// Discovery browses on interface 127.0.0.1. Other test files may run devices at the same time,
// so every assertion filters on this file's own device ids.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Discovery, type DiscoveredDevice } from '../../src/companion/discovery';
import { KnownDeviceStore } from '../../src/companion/known-devices';
import { cleanupAll, runCli, startDevice, tempDir, type DeviceProcess } from '../helpers/processes';

interface DiscoverJson {
  deviceId: string;
  productId: string;
  fingerprint: string;
  friendlyName: string;
  host: string;
  port: number;
}

const discoveries: Discovery[] = [];
function browse(): Discovery {
  const d = new Discovery({ interface: '127.0.0.1' });
  discoveries.push(d);
  return d;
}

afterEach(async () => {
  await Promise.all(discoveries.splice(0).map((d) => d.close()));
  await cleanupAll();
});

const uniqueName = (label: string) => `${label} ${randomBytes(3).toString('hex')}`;

function productIdOf(device: DeviceProcess): string {
  const m = /product id\s+(\S+)/.exec(device.stdout());
  if (!m) throw new Error(`no product id in:\n${device.stdout()}`);
  return m[1]!;
}

function expected(device: DeviceProcess, name: string): DiscoverJson {
  return { deviceId: device.deviceId, productId: productIdOf(device), fingerprint: device.fingerprint, friendlyName: name, host: '127.0.0.1', port: device.port };
}

/** Resolves with the device once `discovery` lists it (or rejects after timeoutMs). */
function seen(discovery: Discovery, deviceId: string, timeoutMs = 8000): Promise<DiscoveredDevice> {
  return new Promise((resolve, reject) => {
    const now = discovery.devices().find((d) => d.deviceId === deviceId);
    if (now) return resolve(now);
    const timer = setTimeout(() => {
      discovery.off('add', onAdd);
      reject(new Error(`${deviceId} not discovered within ${timeoutMs} ms`));
    }, timeoutMs);
    const onAdd = (d: DiscoveredDevice) => {
      if (d.deviceId !== deviceId) return;
      clearTimeout(timer);
      discovery.off('add', onAdd);
      resolve(d);
    };
    discovery.on('add', onAdd);
  });
}

function event(discovery: Discovery, kind: 'add' | 'remove', deviceId: string, timeoutMs: number): Promise<DiscoveredDevice> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      discovery.off(kind, on);
      reject(new Error(`no '${kind}' for ${deviceId} within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (d: DiscoveredDevice) => {
      if (d.deviceId !== deviceId) return;
      clearTimeout(timer);
      discovery.off(kind, on);
      resolve(d);
    };
    discovery.on(kind, on);
  });
}

describe('lancam discover', () => {
  it('lists running devices with identity, address and paired mark, and drops one that stopped', async () => {
    const home = await tempDir('lancam-home-');
    const [nameA, nameB, nameC] = [uniqueName('Disc A'), uniqueName('Disc B'), uniqueName('Disc C')];
    const [a, b, c] = await Promise.all([startDevice({ name: nameA }), startDevice({ name: nameB }), startDevice({ name: nameC })]);
    expect(new Set([a.deviceId, b.deviceId, c.deviceId]).size).toBe(3);
    expect(new Set([a.fingerprint, b.fingerprint, c.fingerprint]).size).toBe(3);
    // a is paired with its real key, b was paired with a key it no longer has, c is not paired.
    const store = new KnownDeviceStore(path.join(home, 'devices.json'));
    const pairedAt = new Date().toISOString();
    await store.put({ deviceId: a.deviceId, productId: productIdOf(a), fingerprint: a.fingerprint, friendlyName: nameA, pairedAt });
    await store.put({ deviceId: b.deviceId, productId: productIdOf(b), fingerprint: 'ab'.repeat(32), friendlyName: nameB, pairedAt });

    // Wait until all are announced, so the CLI runs below test the CLI and not probe timing.
    const watcher = browse();
    await Promise.all([a, b, c].map((d) => seen(watcher, d.deviceId)));

    const [first, human] = await Promise.all([runCli(['--json', 'discover', '--timeout', '2'], { home }), runCli(['discover', '--timeout', '2'], { home })]);
    expect(first.code, first.stderr).toBe(0);
    const listed = first.json<DiscoverJson[]>();
    expect(Array.isArray(listed)).toBe(true);
    const ours = new Set([a.deviceId, b.deviceId, c.deviceId]);
    const mine = listed.filter((d) => ours.has(d.deviceId)).sort((x, y) => x.friendlyName.localeCompare(y.friendlyName));
    expect(mine).toEqual([expected(a, nameA), expected(b, nameB), expected(c, nameC)]);

    expect(human.code, human.stderr).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+DEVICE ID\s+ADDRESS\s+FINGERPRINT\s+PAIRED$/);
    const shortFp = (d: DeviceProcess) => `${d.fingerprint.match(/.{4}/g)!.slice(0, 4).join(' ')} …`;
    for (const [d, name, mark] of [
      [a, nameA, 'yes'],
      [b, nameB, 'KEY CHANGED'],
      [c, nameC, 'no'],
    ] as const) {
      const rows = lines.filter((l) => l.includes(d.deviceId));
      expect(rows, `${d.deviceId} in\n${human.stdout}`).toHaveLength(1);
      const line = rows[0]!;
      expect(line.startsWith(name)).toBe(true);
      expect(line).toContain(`127.0.0.1:${d.port}`);
      expect(line).toContain(shortFp(d));
      expect(line.trimEnd().endsWith(`  ${mark}`)).toBe(true);
    }

    const code = await a.stop('SIGTERM');
    // Soft: a bad exit is reported, and the discovery checks below still run.
    expect.soft(a.stdout()).toMatch(/\nstopped\n$/);
    expect.soft({ code, signal: a.process.signalCode }).toEqual({ code: 0, signal: null });

    const second = await runCli(['--json', 'discover', '--timeout', '2'], { home });
    expect(second.code, second.stderr).toBe(0);
    const after = second.json<DiscoverJson[]>();
    expect(after.filter((d) => d.deviceId === a.deviceId)).toEqual([]);
    expect(after.filter((d) => ours.has(d.deviceId)).sort((x, y) => x.friendlyName.localeCompare(y.friendlyName))).toEqual([expected(b, nameB), expected(c, nameC)]);
  });

  it('validates --timeout', async () => {
    const home = await tempDir('lancam-home-');
    const bad = await runCli(['--json', 'discover', '--timeout', 'soon'], { home });
    expect(bad.code).not.toBe(0);
    expect(bad.json<{ error: { status: string; message: string } }>().error).toEqual({ status: 'usage', message: '--timeout must be a number of seconds between 0 and 3600' });
    const zero = await runCli(['discover', '--timeout', '0'], { home });
    expect(zero.code).not.toBe(0);
    expect(zero.stderr).toBe('lancam: --timeout must be a number of seconds between 0 and 3600\n');
    expect(zero.stdout).toBe('');
  });
});

describe('Discovery (companion, in process)', () => {
  it("reports 'add' for a device that starts after browsing began, and 'remove' when it stops", async () => {
    const discovery = browse();
    const name = uniqueName('Late');
    // Browsing first; the device comes later.
    await new Promise((r) => setTimeout(r, 300));
    const stateDir = await tempDir('lancam-device-');
    // The device id is only known once it prints it, so catch every add and pick ours after.
    const adds: DiscoveredDevice[] = [];
    discovery.on('add', (d) => adds.push(d));
    const device = await startDevice({ name, stateDir });
    const added = adds.find((d) => d.deviceId === device.deviceId) ?? (await event(discovery, 'add', device.deviceId, 8000));
    expect(added).toMatchObject({ deviceId: device.deviceId, productId: productIdOf(device), fingerprint: device.fingerprint, friendlyName: name, host: '127.0.0.1', port: device.port, protocolVersion: expect.any(String) });
    expect(added.instanceName).toContain(device.deviceId);
    expect(discovery.devices().filter((d) => d.deviceId === device.deviceId)).toHaveLength(1);
    expect(await discovery.find(device.deviceId, 100)).toMatchObject({ deviceId: device.deviceId, port: device.port });
    expect(await discovery.find(name.toUpperCase(), 100)).toMatchObject({ deviceId: device.deviceId });

    const removed = event(discovery, 'remove', device.deviceId, 5000);
    const started = Date.now();
    await device.stop('SIGTERM');
    expect((await removed).deviceId).toBe(device.deviceId);
    // A goodbye, not the staleness timeout (which is over 30 s by default).
    expect(Date.now() - started).toBeLessThan(5000);
    expect(discovery.devices().filter((d) => d.deviceId === device.deviceId)).toEqual([]);
    expect(await discovery.find(device.deviceId, 300)).toBeUndefined();
  });

  it('refuses to guess between two cameras with the same name, naming both ids', async () => {
    const name = `Twin ${randomBytes(3).toString('hex')}`;
    const [a, b] = await Promise.all([startDevice({ name }), startDevice({ name })]);
    const home = await tempDir();
    const discovery = new Discovery({ interface: '127.0.0.1' });
    try {
      await expect.poll(() => discovery.devices().filter((d) => d.friendlyName === name).length, { timeout: 10_000 }).toBe(2);
      await expect(discovery.find(name, 1000)).rejects.toMatchObject({ status: 'ambiguous' });
      await expect(discovery.find(a.deviceId, 1000)).resolves.toMatchObject({ deviceId: a.deviceId });
    } finally {
      await discovery.close();
    }
    const res = await runCli(['--json', 'info', name], { home });
    expect(res.code).not.toBe(0);
    const error = res.json<{ error: { status: string; message: string } }>().error;
    expect(error.status).toBe('ambiguous');
    expect(error.message).toContain(a.deviceId);
    expect(error.message).toContain(b.deviceId);
  });

  it('a daemon that gets SIGTERM as soon as it says "listening on" still stops cleanly', async () => {
    // A supervisor (or this test helper) may signal as soon as the daemon reports that it is up.
    // The daemon must then still run its shutdown (mDNS goodbye, "stopped", exit code 0) rather
    // than die of the signal's default action.
    const results: { code: number | null; signal: NodeJS.Signals | null; stdout: string }[] = [];
    for (let batch = 0; batch < 2; batch++) {
      await Promise.all(
        [0, 1, 2].map(async () => {
          const device = await startDevice({ mdns: false });
          const code = await device.stop('SIGTERM');
          results.push({ code, signal: device.process.signalCode, stdout: device.stdout().split('\n').slice(-2).join('\n') });
        }),
      );
    }
    expect(results).toEqual(Array.from({ length: 6 }, () => ({ code: 0, signal: null, stdout: 'stopped\n' })));
  });
});
