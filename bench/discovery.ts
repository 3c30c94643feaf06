/**
 * "discovery": mDNS / DNS-SD on 127.0.0.1 only (browse and advertise always with
 * interface '127.0.0.1', as ARCHITECTURE.md requires).
 *
 *   (a) browse -> add     A real `lancam-device` process is already advertising; time from
 *                         browse() to the browser's first 'add' for it. A fresh browser
 *                         (fresh socket) per repetition.
 *   (b) advertise -> add  A browser is already running; time from advertise() (in this process,
 *                         real src/net/mdns advertise) to its 'add'. Split into advertise ->
 *                         published (bonjour-service's probing + first announcement) and
 *                         published -> add. A new random device id per repetition.
 *   (c) spawn -> add      For context: from spawning a real `lancam-device` process (fresh state
 *                         directory, so a new identity) to its 'add' at an already running
 *                         browser; this is what a user sees when plugging a camera in.
 *
 * Other processes may advertise _lancam._tcp on loopback at the same time: we only look at our
 * own device ids.
 */
import { randomBytes } from 'node:crypto';
import { advertise, browse, type Advertisement, type DeviceBrowser } from '../src/net/mdns';
import { LOOPBACK, fmtMs, onCleanup, startDeviceProcess, stats, type BenchResult, type Child, type DeviceChild } from './lib';

const BROWSE_REPETITIONS = 20;
const ADVERTISE_REPETITIONS = 20;
const SPAWN_REPETITIONS = 3;
const WAIT_MS = 10_000;

/** Remembers when each device id was first added, and lets callers wait for one. */
class AddWatcher {
  private readonly added = new Map<string, number>();
  private readonly waiters = new Map<string, (t: number) => void>();

  constructor(browser: DeviceBrowser) {
    browser.on('add', (device) => {
      if (this.added.has(device.deviceId)) return;
      const t = performance.now();
      this.added.set(device.deviceId, t);
      this.waiters.get(device.deviceId)?.(t);
    });
  }

  /** performance.now() of the first 'add' of `deviceId`; rejects after `ms`. */
  when(deviceId: string, ms = WAIT_MS): Promise<number> {
    const t = this.added.get(deviceId);
    if (t !== undefined) return Promise.resolve(t);
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(deviceId);
        reject(new Error(`no mDNS 'add' for ${deviceId} within ${ms} ms`));
      }, ms);
      this.waiters.set(deviceId, (at) => {
        clearTimeout(timer);
        this.waiters.delete(deviceId);
        resolve(at);
      });
    });
  }
}

function startBrowser(): DeviceBrowser {
  const browser = browse({ interface: LOOPBACK, onError: (err) => console.error(`bench discovery: mdns: ${err.message}`) });
  onCleanup('close mDNS browser', () => browser.close());
  return browser;
}

function randomDeviceId(): string {
  return `bench-${randomBytes(6).toString('hex')}`;
}

export async function run(): Promise<BenchResult> {
  const started = performance.now();
  const watcherBrowser = startBrowser();
  const watcher = new AddWatcher(watcherBrowser);

  // (c) spawn -> add, real processes. The last one stays up for (a).
  const spawnToListening: number[] = [];
  const spawnToAdd: number[] = [];
  let device: DeviceChild | undefined;
  for (let i = 0; i < SPAWN_REPETITIONS; i++) {
    if (device) await device.stop();
    let spawnedAt = 0;
    device = await startDeviceProcess({
      mdns: true,
      name: `Bench camera ${i}`,
      onSpawn: (_child: Child) => {
        spawnedAt = performance.now();
      },
    });
    const listeningAt = performance.now();
    const addedAt = await watcher.when(device.deviceId);
    spawnToListening.push(listeningAt - spawnedAt);
    spawnToAdd.push(addedAt - spawnedAt);
  }
  const runningDevice = device!;

  // (a) browse -> add of the running device; the first repetition is a warm-up.
  const browseToAdd: number[] = [];
  for (let i = 0; i <= BROWSE_REPETITIONS; i++) {
    const t0 = performance.now();
    const browser = browse({ interface: LOOPBACK, onError: (err) => console.error(`bench discovery: mdns: ${err.message}`) });
    try {
      const t1 = await new AddWatcher(browser).when(runningDevice.deviceId);
      if (i > 0) browseToAdd.push(t1 - t0);
    } finally {
      await browser.close();
    }
  }
  await runningDevice.stop();

  // (b) advertise -> add at the already running browser.
  const advertiseToAdd: number[] = [];
  const advertiseToPublished: number[] = [];
  const publishedToAdd: number[] = [];
  const stopping: Promise<void>[] = [];
  onCleanup('stop advertisements', async () => void (await Promise.all(stopping)));
  const fingerprint = randomBytes(32).toString('hex');
  for (let i = 0; i < ADVERTISE_REPETITIONS; i++) {
    const deviceId = randomDeviceId();
    let ad: Advertisement | undefined;
    try {
      const t0 = performance.now();
      ad = advertise({
        interface: LOOPBACK,
        port: 5592,
        txt: { deviceId, productId: 'bench', friendlyName: 'Bench camera', fingerprint, protocolVersion: '1' },
        onError: (err) => console.error(`bench discovery: mdns: ${err.message}`),
      });
      let publishedAt = NaN;
      const published = ad.published.then((ok) => {
        publishedAt = performance.now();
        return ok;
      });
      const addedAt = await watcher.when(deviceId);
      if (!(await published)) throw new Error(`advertisement of ${deviceId} reports it was not published`);
      advertiseToAdd.push(addedAt - t0);
      advertiseToPublished.push(publishedAt - t0);
      publishedToAdd.push(addedAt - publishedAt);
    } finally {
      // The goodbye and socket close are not timed; let them run while the next one starts.
      if (ad) stopping.push(ad.stop());
    }
  }
  await Promise.all(stopping);
  await watcherBrowser.close();
  const elapsedMs = performance.now() - started;

  const a = stats(browseToAdd);
  const b = stats(advertiseToAdd);
  const c = stats(spawnToAdd);
  const probe = stats(advertiseToPublished);
  return {
    name: 'discovery',
    summary:
      `browse->add median ${fmtMs(a.median)} ms p95 ${fmtMs(a.p95)} ms (n=${a.n}); ` +
      `advertise->add median ${fmtMs(b.median)} ms p95 ${fmtMs(b.p95)} ms (n=${b.n}, of which probing ${fmtMs(probe.median)} ms); ` +
      `process spawn->add median ${fmtMs(c.median)} ms (n=${c.n}); mDNS on 127.0.0.1 only`,
    results: {
      unit: 'ms',
      interface: LOOPBACK,
      browseToAdd: {
        what: 'browse() of a fresh browser -> first add of an already advertising lancam-device process',
        advertiser: 'real lancam-device child process (--mdns-interface 127.0.0.1)',
        warmup: 1,
        ...a,
      },
      advertiseToAdd: {
        what: 'advertise() in the bench process -> add at a browser that was already running',
        advertiser: 'src/net/mdns advertise() in the bench process (same process as the browser)',
        total: b,
        advertiseToPublished: probe,
        publishedToAdd: stats(publishedToAdd),
      },
      spawnToAdd: {
        what: 'spawn of a lancam-device process (new state dir) -> add at a browser that was already running',
        spawnToListening: stats(spawnToListening),
        total: c,
      },
      elapsedMs: Math.round(elapsedMs),
    },
  };
}
