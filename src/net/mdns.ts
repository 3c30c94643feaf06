/**
 * mDNS / DNS-SD for lancam: advertise and browse `_lancam._tcp` with bonjour-service 1.x.
 *
 * Note for the lead (what bonjour-service really does, and what this module does about it):
 *
 * - Sockets stay on the chosen interface. `interface: addr` becomes multicast-dns options
 *   `{ interface: addr, bind: '0.0.0.0' }` (membership and outgoing multicast interface = addr;
 *   every packet bonjour-service sends is multicast to 224.0.0.251 through it, it never
 *   answers by unicast). `interface` must be an IPv4 address: multicast-dns given an interface
 *   *name* like "lo" only emits a warning and then sends on the default interface, so we refuse
 *   anything but an IPv4 literal. Tests pass '127.0.0.1'.
 * - Bonjour's constructor type (`Partial<ServiceConfig>`) omits the multicast-dns options it
 *   forwards, hence one cast. Its default error callback *throws* from a socket callback and
 *   multicast-dns emits 'error' with no listener on EADDRINUSE/EACCES; both would crash the
 *   daemon, so we route them to `onError` (default: console.warn).
 * - One Bonjour instance (one socket) per advertisement: bonjour-service unregisters records by
 *   *name*, so unpublishing one of two services on a shared instance also drops the other's PTR
 *   record (`_lancam._tcp.local` is the same name for every device).
 * - Name conflicts: bonjour-service probes (~0.75-1 s before the first announcement). When the
 *   name is taken it logs to console, stops the service silently and, worse, sends a goodbye
 *   for the name it never owned, so browsers drop the legitimate owner until its next
 *   announcement. Instance names "<friendly name> (<deviceId>)" (<= 63 bytes, id kept whole)
 *   make a conflict mean "this device id is already advertised"; `published` resolves false.
 * - TXT updates (rename, new key): bonjour-service has no API to change a published record
 *   (the announcement packet and the responder's records are fixed at publish time). We publish
 *   the same instance name with the new TXT on a fresh socket (no probe: we own the name), then
 *   close the old socket *without* a goodbye. Browsers see a TXT change on the same name
 *   ('update'), never remove+add. The instance name keeps the friendly name it had at start;
 *   the TXT `fn` is the authoritative name.
 * - Liveness: bonjour-service's Browser never expires anything (`expire()` exists but nobody
 *   calls it, and it would use the PTR TTL of 8 hours), does not refresh `lastSeen` or the
 *   address (`referer`) when an unchanged record is heard again, and ignores A/AAAA changes.
 *   So a SIGKILLed device would stay listed forever. We re-query every `refreshIntervalMs`
 *   (default 10 s) with a *fresh* Browser generation (the previous one keeps listening, so a
 *   goodbye is never missed): every live device answers the new generation with an 'up',
 *   which is our "seen" signal and also refreshes host/addresses. A device not seen for
 *   `staleAfterMs` (default 3 x refresh + 1 s, i.e. two lost answers tolerated) is removed.
 *   A goodbye ('down') removes at once.
 * - Devices are keyed by TXT device id, not by instance name: a device that restarts under
 *   another instance name, or changes TXT/port/address, produces 'update', not a second 'add'.
 *   If two live announcements claim one device id, the most recently heard one is shown.
 * - `host` is the source address of the answer (`referer`), which on loopback is 127.0.0.1;
 *   bonjour-service's A/AAAA records list every non-internal interface address of the
 *   advertiser (never loopback), they are reported as `addresses`.
 * - TXT decoding is bonjour-service's (`key=value`, empty values dropped, values cut at a line
 *   break), so the advertiser normalises the friendly name (no control characters) and the
 *   browser validates every field (see ./mdns/txt.ts) and silently ignores invalid records.
 * - stop()/close() are bounded (goodbye <= 1 s, socket close <= 1 s) and idempotent.
 */
import { EventEmitter } from 'node:events';
import { isIP, isIPv4 } from 'node:net';
import Bonjour from 'bonjour-service';
import type { Browser, Service, ServiceConfig } from 'bonjour-service';
import { encodeLancamTxt, lancamInstanceName, normalizeLancamTxt, parseLancamTxt, type LancamTxt } from './mdns/txt';

export {
  LANCAM_TXT_KEYS,
  lancamInstanceName,
  lancamTxtProblem,
  normalizeFriendlyName,
  parseLancamTxt,
  type LancamTxt,
} from './mdns/txt';

/** DNS-SD service type: `_lancam._tcp`. */
export const LANCAM_SERVICE_TYPE = 'lancam';

export interface MdnsOptions {
  /**
   * IPv4 address of the interface to advertise/browse on; undefined = all interfaces
   * (production default). Tests must pass '127.0.0.1'.
   */
  interface?: string;
  /** Socket and send errors (they never throw). Default: console.warn. */
  onError?: (err: Error) => void;
}

export interface AdvertiseOptions extends MdnsOptions {
  port: number;
  txt: LancamTxt;
}

/** The device id is part of the instance name and cannot change. */
export type LancamTxtUpdate = Partial<Omit<LancamTxt, 'deviceId'>>;

export interface Advertisement {
  /** DNS-SD instance name, e.g. "Kitchen (de-abc123)". */
  readonly instanceName: string;
  /** The TXT record as currently advertised (friendly name normalised). */
  readonly txt: LancamTxt;
  /**
   * true once the first announcement went out; false when the name was already in use on the
   * network (another process advertises this device id), when nothing could be sent within
   * 5 s, or when stop() came first. Never rejects.
   */
  readonly published: Promise<boolean>;
  /** Changes TXT fields (e.g. a rename). Throws a TypeError for invalid values; the promise
   * resolves once the new record is announced (or at once if stopped) and never rejects. */
  updateTxt(change: LancamTxtUpdate): Promise<void>;
  /** Sends a goodbye (if published) and closes the socket. Bounded in time, idempotent. */
  stop(): Promise<void>;
}

export interface DiscoveredDevice extends LancamTxt {
  instanceName: string;
  /** IP address to connect to: the source of the announcement, else an IPv4 from addresses. */
  host: string;
  port: number;
  /** A/AAAA addresses the device announced (its non-loopback interface addresses). */
  addresses: string[];
}

export interface BrowseOptions extends MdnsOptions {
  /** Re-query interval (a new query generation), default 10 000 ms. */
  refreshIntervalMs?: number;
  /** Remove a device not heard for this long, default 3 * refreshIntervalMs + 1000. Must exceed refreshIntervalMs. */
  staleAfterMs?: number;
}

export interface DeviceBrowserEvents {
  add: [device: DiscoveredDevice];
  /** TXT, port, host or addresses changed. */
  update: [device: DiscoveredDevice];
  /** Goodbye received or not heard for staleAfterMs. */
  remove: [device: DiscoveredDevice];
}

const GOODBYE_TIMEOUT_MS = 1000;
const CLOSE_TIMEOUT_MS = 1000;
const PUBLISH_DEADLINE_MS = 5000;
const DEFAULT_REFRESH_MS = 10_000;

/** multicast-dns options that Bonjour forwards (its constructor type does not list them). */
interface MulticastDnsOptions {
  interface?: string;
  bind?: string;
}

function defaultOnError(err: Error): void {
  console.warn(`lancam mdns: ${err.message}`);
}

function createBonjour(opts: MdnsOptions): Bonjour {
  const onError = opts.onError ?? defaultOnError;
  const mdnsOptions: MulticastDnsOptions = {};
  if (opts.interface !== undefined) {
    if (!isIPv4(opts.interface)) throw new TypeError(`mdns interface must be an IPv4 address, got ${JSON.stringify(opts.interface)}`);
    mdnsOptions.interface = opts.interface;
    mdnsOptions.bind = '0.0.0.0';
  }
  const report = (err: unknown): void => onError(err instanceof Error ? err : new Error(String(err)));
  const bonjour = new Bonjour(mdnsOptions as Partial<ServiceConfig>, report);
  // The multicast-dns socket is private in the typings; reach it defensively, only to keep its
  // 'error' events (EADDRINUSE, EACCES) from crashing the process.
  const mdns = (bonjour as unknown as { server?: { mdns?: unknown } }).server?.mdns;
  if (mdns instanceof EventEmitter) {
    mdns.on('error', report);
    // Warnings with an errno code are socket problems (e.g. membership on a missing address);
    // the others are undecodable packets from the network: ignore those.
    mdns.on('warning', (err: unknown) => {
      if (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string') report(err);
    });
  }
  return bonjour;
}

/** Resolves when `work` settles or after `ms`, whichever is first; never rejects. */
function bounded(work: (done: () => void) => void, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    try {
      work(done);
    } catch {
      done();
    }
  });
}

function destroyBonjour(bonjour: Bonjour): Promise<void> {
  return bounded((done) => bonjour.destroy(done), CLOSE_TIMEOUT_MS);
}

// ---------------------------------------------------------------------------------------------
// Advertising

interface Publication {
  bonjour: Bonjour;
  service: Service;
  published: Promise<boolean>;
}

function whenPublished(service: Service): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const started = Date.now();
    const finish = (ok: boolean): void => {
      clearInterval(poll);
      service.removeListener('up', onUp);
      resolve(ok);
    };
    const onUp = (): void => finish(true);
    // bonjour-service emits nothing when it gives up on a name conflict: it only deactivates
    // the service. Poll its public flags for that.
    const poll = setInterval(() => {
      if (service.published) finish(true);
      else if (!service.activated || service.destroyed || Date.now() - started > PUBLISH_DEADLINE_MS) finish(false);
    }, 50);
    poll.unref();
    service.once('up', onUp);
  });
}

class LancamAdvertisement implements Advertisement {
  readonly instanceName: string;
  readonly published: Promise<boolean>;
  private currentTxt: LancamTxt;
  private current: Publication | undefined;
  private queue: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: AdvertiseOptions) {
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) throw new RangeError(`invalid port ${opts.port}`);
    this.currentTxt = normalizeLancamTxt(opts.txt);
    this.instanceName = lancamInstanceName(this.currentTxt.friendlyName, this.currentTxt.deviceId);
    this.current = this.launch(true);
    this.published = this.current.published;
  }

  get txt(): LancamTxt {
    return { ...this.currentTxt };
  }

  private launch(probe: boolean): Publication {
    const bonjour = createBonjour(this.opts);
    const service = bonjour.publish({
      name: this.instanceName,
      type: LANCAM_SERVICE_TYPE,
      protocol: 'tcp',
      port: this.opts.port,
      txt: encodeLancamTxt(this.currentTxt),
      probe,
    });
    return { bonjour, service, published: whenPublished(service) };
  }

  updateTxt(change: LancamTxtUpdate): Promise<void> {
    const merge = (): LancamTxt => normalizeLancamTxt({ ...this.currentTxt, ...change, deviceId: this.currentTxt.deviceId });
    merge(); // throws now for invalid values
    const step = async (): Promise<void> => {
      if (this.stopping) return;
      const next = merge();
      const same = (Object.keys(next) as (keyof LancamTxt)[]).every((k) => next[k] === this.currentTxt[k]);
      if (same) return;
      this.currentTxt = next;
      const old = this.current;
      if (!old) return;
      // Wait for the first publication (probe) to finish; if it lost the name, there is
      // nothing to update on the wire.
      if (!(await old.published) || this.stopping) return;
      // New record first (same name, no probe: the name is ours), then drop the old socket
      // silently. If stop() comes in between it says goodbye through the new one.
      const fresh = this.launch(false);
      this.current = fresh;
      await destroyBonjour(old.bonjour);
      await fresh.published;
    };
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => undefined);
    return this.queue;
  }

  stop(): Promise<void> {
    if (!this.stopping) {
      const pub = this.current;
      this.current = undefined;
      this.stopping = pub ? LancamAdvertisement.shutdown(pub) : Promise.resolve();
    }
    return this.stopping;
  }

  private static async shutdown(pub: Publication): Promise<void> {
    // Goodbye only for a name we actually announced (a service still probing, or one that
    // lost a conflict, must not send goodbyes for somebody else's name).
    if (pub.service.published && pub.service.activated) {
      const service = pub.service;
      await bounded((done) => service.stop(done), GOODBYE_TIMEOUT_MS);
    }
    await destroyBonjour(pub.bonjour);
  }
}

/** Advertises a lancam device as `<instance>._lancam._tcp.local` with the given TXT. Throws on invalid TXT or port. */
export function advertise(opts: AdvertiseOptions): Advertisement {
  return new LancamAdvertisement(opts);
}

// ---------------------------------------------------------------------------------------------
// Browsing

interface Sighting {
  device: DiscoveredDevice;
  lastSeen: number;
}

interface Shown {
  key: string;
  device: DiscoveredDevice;
}

function toDiscoveredDevice(service: Service): DiscoveredDevice | undefined {
  if (service.type !== LANCAM_SERVICE_TYPE || service.protocol !== 'tcp') return undefined;
  if (typeof service.name !== 'string' || service.name === '') return undefined;
  if (!Number.isInteger(service.port) || service.port < 1 || service.port > 65535) return undefined;
  const txt = parseLancamTxt(service.txt);
  if (!txt) return undefined;
  const addresses = Array.isArray(service.addresses) ? service.addresses.filter((a): a is string => typeof a === 'string' && isIP(a) !== 0) : [];
  const referer = service.referer?.address;
  const host = typeof referer === 'string' && isIP(referer) !== 0 ? referer : (addresses.find((a) => isIPv4(a)) ?? addresses[0]);
  if (host === undefined) return undefined;
  return { ...txt, instanceName: service.name, host, port: service.port, addresses: [...addresses] };
}

function sameDevice(a: DiscoveredDevice, b: DiscoveredDevice): boolean {
  return (
    a.deviceId === b.deviceId &&
    a.productId === b.productId &&
    a.friendlyName === b.friendlyName &&
    a.fingerprint === b.fingerprint &&
    a.protocolVersion === b.protocolVersion &&
    a.instanceName === b.instanceName &&
    a.host === b.host &&
    a.port === b.port &&
    a.addresses.length === b.addresses.length &&
    a.addresses.every((x, i) => x === b.addresses[i])
  );
}

function copyDevice(d: DiscoveredDevice): DiscoveredDevice {
  return { ...d, addresses: [...d.addresses] };
}

/** Live view of the lancam devices on the network. Create with browse(). */
export class DeviceBrowser extends EventEmitter<DeviceBrowserEvents> {
  private readonly bonjour: Bonjour;
  private readonly refreshMs: number;
  private readonly staleMs: number;
  /** Announcements by instance FQDN (lower case). */
  private readonly sightings = new Map<string, Sighting>();
  /** Devices reported to listeners, by device id, with the FQDN that represents them. */
  private readonly shown = new Map<string, Shown>();
  /** Query generations: [previous, current]. */
  private generations: Browser[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private closing: Promise<void> | undefined;

  constructor(opts: BrowseOptions = {}) {
    super();
    this.refreshMs = opts.refreshIntervalMs ?? DEFAULT_REFRESH_MS;
    this.staleMs = opts.staleAfterMs ?? 3 * this.refreshMs + 1000;
    if (!(Number.isFinite(this.refreshMs) && this.refreshMs >= 50)) throw new RangeError('refreshIntervalMs must be >= 50');
    if (!(Number.isFinite(this.staleMs) && this.staleMs > this.refreshMs)) throw new RangeError('staleAfterMs must exceed refreshIntervalMs');
    this.bonjour = createBonjour(opts);
    this.newGeneration();
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.refreshMs, () => this.newGeneration());
    every(Math.max(50, Math.min(1000, Math.floor(this.staleMs / 4))), () => this.sweep());
    // A second early query, in case the first one or its answers were lost (RFC 6762 5.2).
    const early = setTimeout(() => this.generations.at(-1)?.update(), Math.min(1000, Math.floor(this.refreshMs / 2)));
    early.unref();
    this.timers.push(early);
  }

  /** The devices currently known (copies). */
  devices(): DiscoveredDevice[] {
    return [...this.shown.values()].map((s) => copyDevice(s.device));
  }

  /**
   * Every live announcement carrying this device id, newest first. Usually one; more when a
   * device moved or someone else announces the same id (mDNS is unauthenticated): callers that
   * pinned a key try the one naming it first (see DeviceSession).
   */
  announcements(deviceId: string): DiscoveredDevice[] {
    return [...this.sightings.values()]
      .filter((s) => s.device.deviceId === deviceId)
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .map((s) => copyDevice(s.device));
  }

  /** Queries the network again now (a fresh generation: every live device answers). */
  refresh(): void {
    if (!this.closing) this.newGeneration();
  }

  /** Stops browsing and closes the socket; emits nothing more. Bounded in time, idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      for (const t of this.timers) clearTimeout(t);
      for (const g of this.generations) g.stop();
      this.generations = [];
      this.closing = destroyBonjour(this.bonjour);
    }
    return this.closing;
  }

  private newGeneration(): void {
    if (this.closing) return;
    const browser = this.bonjour.find({ type: LANCAM_SERVICE_TYPE, protocol: 'tcp' });
    const seen = (service: Service): void => this.onSeen(service);
    browser.on('up', seen);
    browser.on('txt-update', seen);
    browser.on('srv-update', seen);
    browser.on('down', (service: Service) => {
      if (typeof service.fqdn === 'string') this.forget(service.fqdn.toLowerCase());
    });
    this.generations.push(browser);
    while (this.generations.length > 2) this.generations.shift()?.stop();
  }

  private onSeen(service: Service): void {
    if (this.closing || typeof service.fqdn !== 'string') return;
    const key = service.fqdn.toLowerCase();
    const device = toDiscoveredDevice(service);
    if (!device) {
      // Invalid (or became invalid, e.g. a TXT update with a bad field): not a device.
      this.forget(key);
      return;
    }
    const previous = this.sightings.get(key);
    this.sightings.set(key, { device, lastSeen: Date.now() });
    if (previous && previous.device.deviceId !== device.deviceId) this.reconcile(previous.device.deviceId);
    // The most recently heard announcement represents its device id.
    this.show(device.deviceId, key);
  }

  private show(deviceId: string, key: string): void {
    const sighting = this.sightings.get(key);
    if (!sighting) return;
    const device = sighting.device;
    const shown = this.shown.get(deviceId);
    this.shown.set(deviceId, { key, device });
    if (!shown) this.emit('add', copyDevice(device));
    else if (!sameDevice(shown.device, device)) this.emit('update', copyDevice(device));
  }

  private forget(key: string): void {
    const sighting = this.sightings.get(key);
    if (!sighting) return;
    this.sightings.delete(key);
    this.reconcile(sighting.device.deviceId);
  }

  /** Makes the shown entry of `deviceId` point at a live announcement, or removes it. */
  private reconcile(deviceId: string): void {
    const shown = this.shown.get(deviceId);
    if (!shown) return;
    if (this.sightings.get(shown.key)?.device.deviceId === deviceId) return;
    let best: [string, Sighting] | undefined;
    for (const entry of this.sightings) {
      if (entry[1].device.deviceId === deviceId && (!best || entry[1].lastSeen > best[1].lastSeen)) best = entry;
    }
    if (best) {
      this.show(deviceId, best[0]);
      return;
    }
    this.shown.delete(deviceId);
    if (!this.closing) this.emit('remove', copyDevice(shown.device));
  }

  private sweep(): void {
    const limit = Date.now() - this.staleMs;
    for (const [key, sighting] of [...this.sightings]) {
      if (sighting.lastSeen < limit) this.forget(key);
    }
  }
}

/** Starts browsing for `_lancam._tcp` devices. Call close() when done. */
export function browse(opts: BrowseOptions = {}): DeviceBrowser {
  return new DeviceBrowser(opts);
}
