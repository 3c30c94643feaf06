/**
 * Discovery for the companion: a live view of the cameras announcing `_lancam._tcp`, with
 * add/update/remove events, and `find` for connecting by device id or friendly name.
 */
import { EventEmitter } from 'node:events';
import { browse, type DeviceBrowser, type DiscoveredDevice } from '../net/mdns';
import { CompanionError } from './errors';

export type { DiscoveredDevice };

export interface DiscoveryOptions {
  /** Interface address to browse on; undefined = all interfaces. */
  interface?: string | undefined;
}

export interface DiscoveryEvents {
  add: [DiscoveredDevice];
  update: [DiscoveredDevice];
  remove: [DiscoveredDevice];
}

export class Discovery extends EventEmitter<DiscoveryEvents> {
  private readonly browser: DeviceBrowser;

  constructor(options: DiscoveryOptions = {}) {
    super();
    this.browser = browse(options.interface ? { interface: options.interface } : {});
    this.browser.on('add', (d) => this.emit('add', d));
    this.browser.on('update', (d) => this.emit('update', d));
    this.browser.on('remove', (d) => this.emit('remove', d));
  }

  devices(): DiscoveredDevice[] {
    return this.browser.devices();
  }

  /**
   * Waits up to `timeoutMs` for a device with this id (or, failing that, this friendly name).
   * Two cameras answering to the same name is an error naming both ids, never a guess.
   */
  find(nameOrId: string, timeoutMs: number): Promise<DiscoveredDevice | undefined> {
    const matches = (d: DiscoveredDevice) => d.deviceId === nameOrId || d.friendlyName.toLowerCase() === nameOrId.toLowerCase();
    const unambiguous = (found: DiscoveredDevice): DiscoveredDevice => {
      if (found.deviceId === nameOrId) return found;
      const named = this.devices().filter((d) => d.friendlyName.toLowerCase() === nameOrId.toLowerCase());
      if (named.length > 1) throw new CompanionError('ambiguous', `more than one camera on this network is called "${nameOrId}"; use its device id (${named.map((d) => d.deviceId).join(', ')})`);
      return found;
    };
    const byId = this.devices().find((d) => d.deviceId === nameOrId);
    if (byId) return Promise.resolve(byId);
    const now = this.devices().find(matches);
    if (now) {
      try {
        return Promise.resolve(unambiguous(now));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise((resolve, reject) => {
      const onDevice = (d: DiscoveredDevice) => {
        if (!matches(d)) return;
        cleanup();
        try {
          resolve(unambiguous(d));
        } catch (err) {
          reject(err as Error);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve(undefined);
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('add', onDevice);
        this.off('update', onDevice);
      };
      this.on('add', onDevice);
      this.on('update', onDevice);
    });
  }

  close(): Promise<void> {
    this.removeAllListeners();
    return this.browser.close();
  }
}
