// mDNS tests. Network safety (ARCHITECTURE.md): every socket here is created with interface
// 127.0.0.1 (our API) or { interface: '127.0.0.1', bind: '0.0.0.0' } (raw bonjour-service), so
// nothing is sent beyond loopback. Other tests may advertise _lancam._tcp on loopback at the
// same time: every assertion filters by this file's random device ids.
import { randomBytes } from 'node:crypto';
import Bonjour from 'bonjour-service';
import type { Service, ServiceConfig } from 'bonjour-service';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  LANCAM_SERVICE_TYPE,
  LANCAM_TXT_KEYS,
  advertise,
  browse,
  lancamInstanceName,
  normalizeFriendlyName,
  parseLancamTxt,
  type Advertisement,
  type BrowseOptions,
  type DeviceBrowser,
  type DeviceBrowserEvents,
  type DiscoveredDevice,
  type LancamTxt,
} from '../../src/net/mdns';

const LOOPBACK = '127.0.0.1';
// The only options raw bonjour-service instances may be created with in tests.
const RAW_LOOPBACK_OPTIONS = { interface: LOOPBACK, bind: '0.0.0.0' };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((f) => f().catch(() => undefined)));
});

function randomDeviceId(): string {
  return `de-${randomBytes(6).toString('hex')}`;
}

function makeTxt(deviceId: string, friendlyName = 'Test camera'): LancamTxt {
  return { deviceId, productId: 'pr-test', friendlyName, fingerprint: randomBytes(32).toString('hex'), protocolVersion: '1' };
}

function wireTxt(txt: LancamTxt): Record<string, string> {
  return {
    [LANCAM_TXT_KEYS.deviceId]: txt.deviceId,
    [LANCAM_TXT_KEYS.productId]: txt.productId,
    [LANCAM_TXT_KEYS.friendlyName]: txt.friendlyName,
    [LANCAM_TXT_KEYS.fingerprint]: txt.fingerprint,
    [LANCAM_TXT_KEYS.protocolVersion]: txt.protocolVersion,
  };
}

function startAdvertising(port: number, txt: LancamTxt): Advertisement {
  const ad = advertise({ interface: LOOPBACK, port, txt });
  cleanups.push(() => ad.stop());
  return ad;
}

function startBrowsing(opts: Omit<BrowseOptions, 'interface'> = {}): DeviceBrowser {
  const browser = browse({ interface: LOOPBACK, ...opts });
  cleanups.push(() => browser.close());
  return browser;
}

/** A bare bonjour-service instance on loopback, for announcements our API would refuse to make. */
function rawBonjour(): Bonjour {
  const bonjour = new Bonjour(RAW_LOOPBACK_OPTIONS as Partial<ServiceConfig>, () => undefined);
  // destroy() is idempotent (multicast-dns keeps a destroyed flag).
  cleanups.push(() => new Promise<void>((resolve) => bonjour.destroy(resolve)));
  return bonjour;
}

type EventName = keyof DeviceBrowserEvents;
interface Recorded {
  event: EventName;
  device: DiscoveredDevice;
}

/** Records every event about the given device ids. */
function record(browser: DeviceBrowser, ids: string[]): Recorded[] {
  const log: Recorded[] = [];
  for (const event of ['add', 'update', 'remove'] as const) {
    browser.on(event, (device) => {
      if (ids.includes(device.deviceId)) log.push({ event, device });
    });
  }
  return log;
}

function waitFor(browser: DeviceBrowser, event: EventName, match: (d: DiscoveredDevice) => boolean, timeoutMs = 5000): Promise<DiscoveredDevice> {
  return new Promise((resolve, reject) => {
    const onEvent = (device: DiscoveredDevice): void => {
      if (!match(device)) return;
      clearTimeout(timer);
      browser.off(event, onEvent);
      resolve(device);
    };
    const timer = setTimeout(() => {
      browser.off(event, onEvent);
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    browser.on(event, onEvent);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('lancam TXT record and instance name', () => {
  it('round-trips a valid record and rejects invalid fields', () => {
    const txt = makeTxt(randomDeviceId(), 'Kitchen');
    expect(parseLancamTxt(wireTxt(txt))).toEqual(txt);
    expect(parseLancamTxt({ ...wireTxt(txt), extra: 'ignored' })).toEqual(txt);

    const bad: Record<string, string | undefined>[] = [
      { fp: txt.fingerprint.toUpperCase() },
      { fp: txt.fingerprint.slice(1) },
      { fp: 'not-a-fingerprint' },
      { id: undefined },
      { id: '' },
      { id: 'x'.repeat(49) },
      { id: 'has.dot' },
      { id: 'has space' },
      { pid: undefined },
      { fn: undefined },
      { fn: ' \t ' },
      { pv: 'one' },
      { pv: undefined },
    ];
    for (const change of bad) {
      const raw: Record<string, string | undefined> = { ...wireTxt(txt), ...change };
      for (const k of Object.keys(raw)) if (raw[k] === undefined) delete raw[k];
      expect(parseLancamTxt(raw), JSON.stringify(change)).toBeUndefined();
    }
    expect(parseLancamTxt(null)).toBeUndefined();
    expect(parseLancamTxt('id=x')).toBeUndefined();
  });

  it('normalises friendly names', () => {
    expect(normalizeFriendlyName('  Front\n door\u202e cam\u0000 ')).toBe('Front door cam');
    const long = normalizeFriendlyName('é'.repeat(300));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(200);
    expect(long).toBe('é'.repeat(100));
  });

  it('makes instance names of at most 63 bytes that keep the device id whole', () => {
    const id = 'de-' + 'a'.repeat(45);
    for (const fn of ['x', 'Garage', 'Kamera im Wohnzimmer mit sehr langem Namen '.repeat(3), '🎥'.repeat(40), 'a.b.c']) {
      const name = lancamInstanceName(fn, id);
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
      expect(name.endsWith(` (${id})`)).toBe(true);
      expect(name).not.toContain('.');
      expect(name).not.toMatch(/\uFFFD/);
    }
    expect(lancamInstanceName('Garage', 'de-1')).toBe('Garage (de-1)');
  });

  it('refuses invalid advertisements and non-IPv4 interfaces before opening a socket', () => {
    const txt = makeTxt(randomDeviceId());
    expect(() => advertise({ interface: LOOPBACK, port: 1234, txt: { ...txt, fingerprint: 'abc' } })).toThrow(TypeError);
    expect(() => advertise({ interface: LOOPBACK, port: 0, txt })).toThrow(RangeError);
    // multicast-dns would fall back to the default interface for a name like "lo".
    expect(() => advertise({ interface: 'lo', port: 1234, txt })).toThrow(TypeError);
    expect(() => browse({ interface: 'lo' })).toThrow(TypeError);
    expect(() => browse({ interface: LOOPBACK, refreshIntervalMs: 1000, staleAfterMs: 500 })).toThrow(RangeError);
  });
});

describe('mDNS on loopback', () => {
  it('discovers two advertisements and removes exactly the stopped one', async () => {
    const [idA, idB] = [randomDeviceId(), randomDeviceId()];
    const browser = startBrowsing();
    const log = record(browser, [idA, idB]);
    const txtA = makeTxt(idA, 'Camera A');
    const txtB = makeTxt(idB, 'Camera B');
    const addA = waitFor(browser, 'add', (d) => d.deviceId === idA);
    const addB = waitFor(browser, 'add', (d) => d.deviceId === idB);
    const adA = startAdvertising(40001, txtA);
    const adB = startAdvertising(40002, txtB);

    const [a, b] = await Promise.all([addA, addB]);
    expect(a).toMatchObject({ ...txtA, port: 40001, host: LOOPBACK, instanceName: adA.instanceName });
    expect(b).toMatchObject({ ...txtB, port: 40002, host: LOOPBACK, instanceName: adB.instanceName });
    expect(adA.instanceName).toBe(`Camera A (${idA})`);
    expect(await adA.published).toBe(true);

    const removed = waitFor(browser, 'remove', (d) => d.deviceId === idA || d.deviceId === idB);
    const stopStarted = Date.now();
    await adA.stop();
    expect(Date.now() - stopStarted).toBeLessThan(2500);
    expect((await removed).deviceId).toBe(idA);
    await sleep(300);
    expect(log.filter((e) => e.event === 'remove').map((e) => e.device.deviceId)).toEqual([idA]);
    expect(log.filter((e) => e.event === 'add').map((e) => e.device.deviceId).sort()).toEqual([idA, idB].sort());
    const ours = browser.devices().filter((d) => d.deviceId === idA || d.deviceId === idB);
    expect(ours.map((d) => d.deviceId)).toEqual([idB]);
  });

  it('reports a friendly-name change as an update, not as a new device', async () => {
    const id = randomDeviceId();
    const browser = startBrowsing();
    const log = record(browser, [id]);
    const added = waitFor(browser, 'add', (d) => d.deviceId === id);
    const ad = startAdvertising(40003, makeTxt(id, 'Before'));
    expect((await added).friendlyName).toBe('Before');

    const updated = waitFor(browser, 'update', (d) => d.deviceId === id);
    await ad.updateTxt({ friendlyName: 'After\nrename' });
    const device = await updated;
    expect(device.friendlyName).toBe('After rename');
    expect(device.instanceName).toBe(ad.instanceName);
    expect(device.port).toBe(40003);
    expect(ad.txt.friendlyName).toBe('After rename');
    await sleep(300);
    expect(log.map((e) => e.event)).toEqual(['add', 'update']);
    expect(browser.devices().find((d) => d.deviceId === id)?.friendlyName).toBe('After rename');

    // Invalid updates are refused synchronously and change nothing.
    expect(() => ad.updateTxt({ fingerprint: 'nope' })).toThrow(TypeError);
    // And an unchanged update is a no-op on the wire.
    await ad.updateTxt({ friendlyName: 'After rename' });
    await sleep(200);
    expect(log.map((e) => e.event)).toEqual(['add', 'update']);
  });

  it('ignores malformed TXT records and services of other types', async () => {
    const browser = startBrowsing();
    const badIds = Array.from({ length: 4 }, randomDeviceId);
    const otherTypeId = randomDeviceId();
    const goodId = randomDeviceId();
    const log = record(browser, [...badIds, otherTypeId, goodId]);

    const raw = rawBonjour();
    const seenRaw = new Set<string>();
    const rawBrowsers = [LANCAM_SERVICE_TYPE, 'lancamx'].map((type) =>
      raw.find({ type }, (s: Service) => {
        const id = (s.txt as Record<string, string> | undefined)?.id;
        if (id) seenRaw.add(id);
      }),
    );
    const base = (id: string) => wireTxt(makeTxt(id));
    const malformed: Record<string, string>[] = [
      { ...base(badIds[0]!), fp: 'ABCDEF'.repeat(10) + 'ABCD' },
      { ...base(badIds[1]!), fp: 'zz' },
      Object.fromEntries(Object.entries(base(badIds[2]!)).filter(([k]) => k !== 'pid')),
      { ...base(badIds[3]!), pv: 'v1' },
    ];
    malformed.forEach((txt, i) => raw.publish({ name: `Bad ${i} (${txt.id})`, type: LANCAM_SERVICE_TYPE, port: 40010 + i, txt, probe: false }));
    raw.publish({ name: `Other (${otherTypeId})`, type: 'lancamx', port: 40020, txt: base(otherTypeId), probe: false });

    // The malformed announcements are on the wire (a raw browser sees them)...
    const deadline = Date.now() + 5000;
    while ([...badIds, otherTypeId].some((id) => !seenRaw.has(id)) && Date.now() < deadline) await sleep(50);
    expect([...badIds, otherTypeId].filter((id) => !seenRaw.has(id))).toEqual([]);
    for (const b of rawBrowsers) b.stop();

    // ...then a valid one is found, sent after them.
    const good = waitFor(browser, 'add', (d) => d.deviceId === goodId);
    startAdvertising(40030, makeTxt(goodId));
    await good;
    browser.refresh();
    await sleep(300);
    expect(log.map((e) => [e.event, e.device.deviceId])).toEqual([['add', goodId]]);
    expect(browser.devices().filter((d) => [...badIds, otherTypeId].includes(d.deviceId))).toEqual([]);
  });

  it('finds an advertisement with a browser started after it', async () => {
    const id = randomDeviceId();
    const ad = startAdvertising(40040, makeTxt(id));
    expect(await ad.published).toBe(true);
    const started = Date.now();
    const browser = startBrowsing();
    const device = await waitFor(browser, 'add', (d) => d.deviceId === id);
    expect(Date.now() - started).toBeLessThan(2000); // answers the first query (~5 ms measured)
    expect(device).toMatchObject({ deviceId: id, host: LOOPBACK, port: 40040 });
  });

  it('finds an advertisement that appears while a browser is running', async () => {
    const id = randomDeviceId();
    const browser = startBrowsing();
    await sleep(200);
    expect(browser.devices().some((d) => d.deviceId === id)).toBe(false);
    const started = Date.now();
    const added = waitFor(browser, 'add', (d) => d.deviceId === id);
    startAdvertising(40041, makeTxt(id));
    const device = await added;
    expect(Date.now() - started).toBeLessThan(3000); // probing makes it ~1 s
    expect(device).toMatchObject({ deviceId: id, host: LOOPBACK, port: 40041 });
  });

  it('removes a device that vanishes without a goodbye, and re-adds it when it returns', async () => {
    const id = randomDeviceId();
    const txt = makeTxt(id, 'Crashy');
    const browser = startBrowsing({ refreshIntervalMs: 200, staleAfterMs: 700 });
    const log = record(browser, [id]);
    const added = waitFor(browser, 'add', (d) => d.deviceId === id);
    // Like a SIGKILLed daemon: destroy() closes the socket without sending a goodbye.
    const raw = rawBonjour();
    raw.publish({ name: lancamInstanceName(txt.friendlyName, id), type: LANCAM_SERVICE_TYPE, port: 40050, txt: wireTxt(txt), probe: false });
    await added;
    // Still there after several refresh rounds while it answers.
    await sleep(1000);
    expect(log.map((e) => e.event)).toEqual(['add']);

    const removed = waitFor(browser, 'remove', (d) => d.deviceId === id, 5000);
    const killedAt = Date.now();
    await new Promise<void>((resolve) => raw.destroy(resolve));
    await removed;
    const took = Date.now() - killedAt;
    expect(took).toBeGreaterThanOrEqual(400);
    expect(took).toBeLessThan(2000);

    const back = waitFor(browser, 'add', (d) => d.deviceId === id);
    startAdvertising(40051, txt);
    expect((await back).port).toBe(40051);
  });

  it('treats a restart under another instance name as an update of the same device', async () => {
    const id = randomDeviceId();
    const old = makeTxt(id, 'Old name');
    // The grace period must cover the restart (the new advertiser probes for ~1 s).
    const browser = startBrowsing({ refreshIntervalMs: 250, staleAfterMs: 2000 });
    const log = record(browser, [id]);
    const added = waitFor(browser, 'add', (d) => d.deviceId === id);
    const raw = rawBonjour();
    raw.publish({ name: lancamInstanceName(old.friendlyName, id), type: LANCAM_SERVICE_TYPE, port: 40060, txt: wireTxt(old), probe: false });
    await added;
    await new Promise<void>((resolve) => raw.destroy(resolve)); // killed, no goodbye

    const updated = waitFor(browser, 'update', (d) => d.deviceId === id && d.port === 40061);
    const ad = startAdvertising(40061, { ...old, friendlyName: 'New name' });
    const device = await updated;
    expect(device).toMatchObject({ friendlyName: 'New name', instanceName: ad.instanceName, host: LOOPBACK });
    // The old announcement goes stale, but the device is represented by the new one.
    await sleep(2500);
    expect(log.map((e) => e.event)).toEqual(['add', 'update']);
    expect(browser.devices().find((d) => d.deviceId === id)?.port).toBe(40061);
  });

  it('resolves stop() and close() quickly, repeatedly, and during probing', async () => {
    const ad = advertise({ interface: LOOPBACK, port: 40070, txt: makeTxt(randomDeviceId()) });
    const browser = browse({ interface: LOOPBACK });
    const started = Date.now();
    await Promise.all([ad.stop(), browser.close()]); // still probing: no goodbye needed
    await Promise.all([ad.stop(), browser.close()]);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await ad.published).toBe(false);
    await ad.updateTxt({ friendlyName: 'after stop' }); // a no-op, never rejects
    browser.refresh(); // a no-op after close
  });

  it('does not publish a device id that is already advertised', async () => {
    const id = randomDeviceId();
    const first = startAdvertising(40080, makeTxt(id, 'Same'));
    expect(await first.published).toBe(true);
    // bonjour-service reports the conflict only with console.log, then silently stops.
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const second = startAdvertising(40081, makeTxt(id, 'Same'));
      expect(second.instanceName).toBe(first.instanceName);
      expect(await second.published).toBe(false);
      expect(log.mock.calls.some(([arg]) => arg instanceof Error && /already in use/.test(arg.message))).toBe(true);
    } finally {
      log.mockRestore();
    }
  });
});
