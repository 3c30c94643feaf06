// `lancam` end to end against real lancam-device daemons. Network safety: devices listen on
// 127.0.0.1 and announce by mDNS on interface 127.0.0.1, the CLI browses on 127.0.0.1
// (test/helpers/processes.ts). Other test files may run devices at the same time: lookups use
// this file's own (random) device ids and names.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KnownDeviceStore, type KnownDevice } from '../../src/companion/known-devices';
import { cleanupAll, runCli, startDevice, tempDir, type CliResult, type DeviceProcess } from '../helpers/processes';

afterEach(cleanupAll);

interface InfoJson {
  deviceId: string;
  productId: string;
  fingerprint: string;
  friendlyName: string;
  modes: string[];
}
interface ErrorJson {
  error: { status: string | number; message: string };
}

const grouped = (fp: string) => fp.match(/.{4}/g)!.join(' ');
const uniqueName = (label: string) => `${label} ${randomBytes(3).toString('hex')}`;

function productIdOf(device: DeviceProcess): string {
  return /product id\s+(\S+)/.exec(device.stdout())![1]!;
}

function storeOf(home: string): KnownDeviceStore {
  return new KnownDeviceStore(path.join(home, 'devices.json'));
}

function knownFrom(device: DeviceProcess, name: string, overrides: Partial<KnownDevice> = {}): KnownDevice {
  return {
    deviceId: device.deviceId,
    productId: productIdOf(device),
    fingerprint: device.fingerprint,
    friendlyName: name,
    username: 'admin',
    role: 'Administrator',
    pairedAt: '2026-01-02T03:04:05.000Z',
    ...overrides,
  };
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function expectJsonError(run: CliResult, status: string | number, message: RegExp | string): ErrorJson['error'] {
  expect(run.code, `${run.stdout}${run.stderr}`).not.toBe(0);
  expect(run.code).not.toBeNull();
  const { error } = run.json<ErrorJson>();
  expect(error.status).toBe(status);
  if (typeof message === 'string') expect(error.message).toBe(message);
  else expect(error.message).toMatch(message);
  expect(run.stdout.trim().split('\n')).toHaveLength(1);
  return error;
}

function expectHumanError(run: CliResult, message: RegExp | string): void {
  expect(run.code, `${run.stdout}${run.stderr}`).not.toBe(0);
  expect(run.code).not.toBeNull();
  expect(run.stdout).toBe('');
  expect(run.stderr.endsWith('\n')).toBe(true);
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.stderr.startsWith('lancam: ')).toBe(true);
  if (typeof message === 'string') expect(run.stderr).toBe(`lancam: ${message}\n`);
  else expect(run.stderr).toMatch(message);
}

describe('lancam info', () => {
  it('--address: identity and pairing modes, human and JSON, without storing anything', async () => {
    const home = await tempDir('lancam-home-');
    const name = uniqueName('Porch');
    const device = await startDevice({ name, mdns: false });
    const address = `127.0.0.1:${device.port}`;

    const [json, human] = await Promise.all([
      // --bind: the connection's source address (loopback here).
      runCli(['--json', '--bind', '127.0.0.1', 'info', '--address', address], { home }),
      runCli(['info', '--address', address], { home }),
    ]);

    expect(json.code, json.stderr).toBe(0);
    const info = json.json<InfoJson>();
    expect(Object.keys(info).sort()).toEqual(['deviceId', 'fingerprint', 'friendlyName', 'modes', 'productId']);
    expect(info).toMatchObject({ deviceId: device.deviceId, productId: productIdOf(device), fingerprint: device.fingerprint, friendlyName: name });
    // A fresh device, asked from loopback: the owner may pair locally, and invites work.
    expect(info.modes).toContain('local-initial');
    expect(info.modes).toContain('password-invite');
    // Local open is offered whenever it is on: whether the window is open is told only to those
    // who manage pairing (issue 10 item 2), so a parked attacker cannot wait for it.
    expect(info.modes).toContain('local-open');

    expect(human.code, human.stderr).toBe(0);
    expect(human.stderr).toBe('');
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(name);
    expect(lines).toContain(`  device id    ${device.deviceId}`);
    expect(lines).toContain(`  product id   ${productIdOf(device)}`);
    expect(lines).toContain(`  fingerprint  ${grouped(device.fingerprint)}`);
    expect(lines).toContain(`  address      ${address}`);
    expect(lines).toContain('  paired       no');
    expect(lines).toContain(`  pairing      ${info.modes.join(', ')}`);
    expect(lines.some((l) => /^ {2}software {5}lancam-device \S+ \(protocol \S+\)$/.test(l))).toBe(true);

    // Trust on first use shows the key; it does not pin it.
    await expect(fs.stat(path.join(home, 'devices.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('<device id> and <friendly name> are found by discovery', async () => {
    const home = await tempDir('lancam-home-');
    const name = uniqueName('Garden Cam');
    const device = await startDevice({ name });
    const want = { deviceId: device.deviceId, productId: productIdOf(device), fingerprint: device.fingerprint, friendlyName: name };

    const [byId, byName, byLowerName] = await Promise.all([
      runCli(['--json', 'info', device.deviceId, '--discovery-timeout', '8'], { home }),
      runCli(['--json', 'info', name, '--discovery-timeout', '8'], { home }),
      runCli(['info', name.toLowerCase(), '--discovery-timeout', '8'], { home }),
    ]);
    for (const run of [byId, byName]) {
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.json<InfoJson>()).toMatchObject(want);
      expect(run.json<InfoJson>().modes).toContain('local-initial');
    }
    expect(byLowerName.code, byLowerName.stderr).toBe(0);
    expect(byLowerName.stdout).toContain(`  device id    ${device.deviceId}\n`);
    expect(byLowerName.stdout).toContain(`  address      127.0.0.1:${device.port}\n`);
  });

  it('fails clearly: closed port, bad address, unknown device, usage', async () => {
    const home = await tempDir('lancam-home-');
    const port = await closedPort();
    const unknown = `de-nope${randomBytes(3).toString('hex')}`;
    const [closedJson, badPort, badHuman, unknownJson, both, verb] = await Promise.all([
      runCli(['--json', 'info', '--address', `127.0.0.1:${port}`], { home }),
      runCli(['--json', 'info', '--address', '127.0.0.1:99999'], { home }),
      runCli(['info', '--address', '::1:80'], { home }),
      runCli(['--json', 'info', unknown, '--discovery-timeout', '0.5'], { home }),
      runCli(['--json', 'info', 'x', '--address', '127.0.0.1:1'], { home }),
      runCli(['--json', 'frobnicate'], { home }),
    ]);

    expectJsonError(closedJson, 'unreachable', `nothing listens at 127.0.0.1:${port} (connection refused)`);
    expectJsonError(badPort, 'bad-address', '"127.0.0.1:99999" is not host:port (for IPv6: [addr]:port)');
    expectHumanError(badHuman, '"::1:80" is not host:port (for IPv6: [addr]:port)');
    expectJsonError(unknownJson, 'not-found', `no camera "${unknown}" answered on the network; try --address host:port`);
    expectJsonError(both, 'usage', 'give either a device or --address, not both');
    expectJsonError(verb, 'usage', /unknown command 'frobnicate'/);
    expect(verb.code).toBe(2);

    await expect(fs.stat(path.join(home, 'devices.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('lancam whoami', () => {
  it('shows a stable fingerprint of a 0600 client key', async () => {
    const home = await tempDir('lancam-home-');
    const other = await tempDir('lancam-home-');
    const first = await runCli(['--json', 'whoami'], { home });
    const keyFile = path.join(home, 'client.key');
    const keyBytes = await fs.readFile(keyFile);
    // The second run (human form) must show the same key: it was loaded, not made again.
    const [human, elsewhere] = await Promise.all([runCli(['whoami'], { home }), runCli(['--json', 'whoami'], { home: other })]);
    expect(await fs.readFile(keyFile)).toEqual(keyBytes);

    for (const run of [first, elsewhere]) expect(run.code, run.stderr).toBe(0);
    const me = first.json<{ fingerprint: string; fingerprintGrouped: string; home: string }>();
    expect(me.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(me.fingerprintGrouped).toBe(grouped(me.fingerprint));
    expect(me.home).toBe(home);
    expect(elsewhere.json<{ fingerprint: string }>().fingerprint).not.toBe(me.fingerprint);

    expect(human.code).toBe(0);
    expect(human.stdout).toBe(`fingerprint  ${grouped(me.fingerprint)}\n             ${me.fingerprint}\nhome         ${home}\n`);

    expect((await fs.stat(keyFile)).mode & 0o777).toBe(0o600);
    const openssl = execFileSync('sh', ['-c', 'openssl pkey -in "$1" -pubout -outform DER | sha256sum', 'sh', keyFile], { encoding: 'utf8' });
    expect(openssl.slice(0, 64)).toBe(me.fingerprint);
  });
});

describe('lancam devices and forget', () => {
  it('lists stored devices, forgets one by id or name, and refuses an unknown one', async () => {
    const home = await tempDir('lancam-home-');
    const [emptyJson, emptyHuman] = await Promise.all([runCli(['--json', 'devices'], { home }), runCli(['devices'], { home })]);
    expect(emptyJson.code).toBe(0);
    expect(emptyJson.json()).toEqual([]);
    expect(emptyHuman.code).toBe(0);
    expect(emptyHuman.stdout).toBe('No paired cameras yet. Find some with "lancam discover".\n');

    const store = storeOf(home);
    const fpA = randomBytes(32).toString('hex');
    const a: KnownDevice = { deviceId: 'de-aaaa1111', productId: 'pr-test0001', fingerprint: fpA, friendlyName: 'Front Door', username: 'admin', role: 'Administrator', lastAddress: { host: '127.0.0.1', port: 5592 }, pairedAt: '2026-01-02T03:04:05.000Z' };
    const b: KnownDevice = { deviceId: 'de-bbbb2222', productId: 'pr-test0001', fingerprint: randomBytes(32).toString('hex'), friendlyName: 'Back Yard', pairedAt: '2026-01-03T03:04:05.000Z' };
    await store.put(a);
    await store.put(b);

    const [listJson, listHuman] = await Promise.all([runCli(['--json', 'devices'], { home }), runCli(['devices'], { home })]);
    expect(listJson.code).toBe(0);
    expect(listJson.json()).toEqual([a, b]);
    expect(listHuman.code).toBe(0);
    const lines = listHuman.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^NAME\s+DEVICE ID\s+USER\s+LAST ADDRESS\s+FINGERPRINT$/);
    expect(lines[1]).toMatch(new RegExp(`^Front Door\\s+de-aaaa1111\\s+admin\\s+127\\.0\\.0\\.1:5592\\s+${grouped(fpA)}$`));
    expect(lines[2]).toMatch(/^Back Yard\s+de-bbbb2222\s+/);
    expect(lines[2]).toContain(grouped(b.fingerprint));

    const forgetById = await runCli(['--json', 'forget', 'de-aaaa1111'], { home });
    expect(forgetById.code, forgetById.stdout).toBe(0);
    expect(forgetById.json()).toEqual({ forgotten: 'de-aaaa1111' });
    expect(await store.list()).toEqual([b]);

    const again = await runCli(['--json', 'forget', 'Front Door'], { home });
    expectJsonError(again, 'not-found', 'no known camera "Front Door"; see "lancam devices"');
    expect(await store.list()).toEqual([b]);

    const forgetByName = await runCli(['forget', 'back yard'], { home });
    expect(forgetByName.stderr).toBe('');
    expect(forgetByName.code, forgetByName.stderr).toBe(0);
    expect(forgetByName.stdout).toBe('Forgot Back Yard (de-bbbb2222).\n');
    expect(await store.list()).toEqual([]);
  });

  it('a corrupted devices.json makes commands fail clearly and is left byte-identical', async () => {
    const home = await tempDir('lancam-home-');
    const file = path.join(home, 'devices.json');
    await fs.writeFile(file, '{"version": 1, "devices": [ {"deviceId": "de-x", ', { mode: 0o600 });
    const before = await fs.readFile(file);
    const port = await closedPort();

    const [human, ...runs] = await Promise.all([
      runCli(['devices'], { home }),
      runCli(['--json', 'devices'], { home }),
      runCli(['--json', 'forget', 'de-x'], { home }),
      runCli(['--json', 'info', '--address', `127.0.0.1:${port}`], { home }),
    ]);
    for (const run of runs) {
      const error = expectJsonError(run, 'error', /devices\.json is not valid JSON/);
      expect(error.message).toContain(file);
      expect(error.message).toContain('fix or move the file away (it is kept as it is)');
    }
    expectHumanError(human, new RegExp(`^lancam: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not valid JSON: .*\\(it is kept as it is\\)\\n$`));
    expect(await fs.readFile(file)).toEqual(before);
    expect((await fs.readdir(home)).sort()).toEqual(['client.key', 'devices.json']);

    // Valid JSON that is not a store.
    const wrong = `${JSON.stringify({ version: 1, devices: [{ deviceId: 'de-x', fingerprint: 'not-hex' }] })}\n`;
    await fs.writeFile(file, wrong);
    const invalid = await runCli(['--json', 'forget', 'de-x'], { home });
    expectJsonError(invalid, 'error', /devices\.json is not a valid device store \(devices\.0\.\w+: .*\); fix or move the file away \(it is kept as it is\)$/);
    expect(await fs.readFile(file, 'utf8')).toBe(wrong);
  });
});

describe('key pinning', () => {
  it('refuses a known device that comes back with another key, and leaves the store alone', async () => {
    const home = await tempDir('lancam-home-');
    const stateDir = await tempDir('lancam-device-');
    const name = uniqueName('Pinned');
    const original = await startDevice({ name, stateDir });
    const store = storeOf(home);
    await store.put(knownFrom(original, name));

    const ok = await runCli(['info', original.deviceId, '--discovery-timeout', '8'], { home });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain('  paired       yes (as admin)\n');
    expect(ok.stdout).toContain(`  fingerprint  ${grouped(original.fingerprint)}\n`);
    // A successful session records where the device was, never a new key.
    const touched = await store.get(original.deviceId);
    expect(touched?.fingerprint).toBe(original.fingerprint);
    expect(touched?.lastAddress).toEqual({ host: '127.0.0.1', port: original.port });

    await original.stop('SIGTERM');

    // Same state directory (same device id), a new key.
    const newKey = path.join(await tempDir('lancam-key-'), 'new.key');
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', newKey]);
    const replaced = await startDevice({ name, stateDir, args: ['--key', newKey] });
    expect(replaced.deviceId).toBe(original.deviceId);
    expect(replaced.fingerprint).not.toBe(original.fingerprint);

    const storeBytes = await fs.readFile(path.join(home, 'devices.json'));
    const [byIdJson, byAddressJson, byIdHuman] = await Promise.all([
      runCli(['--json', 'info', original.deviceId, '--discovery-timeout', '8'], { home }),
      runCli(['--json', 'info', '--address', `127.0.0.1:${replaced.port}`], { home }),
      runCli(['info', name, '--discovery-timeout', '8'], { home }),
    ]);
    const expectedMessage =
      `device key changed: ${original.deviceId} presented key ${grouped(replaced.fingerprint)} but was paired with key ${grouped(original.fingerprint)}. ` +
      `Someone may be impersonating the camera, or its key was replaced. Refusing to connect. ` +
      `If you replaced the camera's key yourself, run "lancam forget ${original.deviceId}" and pair again.`;
    expectJsonError(byIdJson, 'device-key-changed', expectedMessage);
    expectJsonError(byAddressJson, 'device-key-changed', expectedMessage);
    expectHumanError(byIdHuman, expectedMessage);

    expect(await fs.readFile(path.join(home, 'devices.json'))).toEqual(storeBytes);
    expect((await store.get(original.deviceId))?.fingerprint).toBe(original.fingerprint);
  });
});
