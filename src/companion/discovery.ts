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

  /** Every live announcement of this device id, newest first (a spoofer may announce it too). */
  announcements(deviceId: string): DiscoveredDevice[] {
    return this.browser.announcements(deviceId);
  }

  /**
   * The announcement to show for a paired device: the one naming its pinned key when there is one
   * (a spoofed announcement of the same id does not displace the real camera), else the newest.
   */
  preferred(deviceId: string, pinnedFingerprint: string | undefined): DiscoveredDevice | undefined {
    const all = this.announcements(deviceId);
    return all.find((d) => d.fingerprint === pinnedFingerprint) ?? all[0];
  }

  /**
   * Waits up to `timeoutMs` for a device with this id, or else with this friendly name. A name is
   * only trusted after a short settle time (announcements arrive one by one): two cameras
   * answering to it is an error naming both ids, never a guess.
   */
  find(nameOrId: string, timeoutMs: number, settleMs = 750): Promise<DiscoveredDevice | undefined> {
    const name = nameOrId.toLowerCase();
    const byId = () => this.devices().find((d) => d.deviceId === nameOrId);
    const byName = () => this.devices().filter((d) => d.friendlyName.toLowerCase() === name);
    return new Promise((resolve, reject) => {
      let settleTimer: NodeJS.Timeout | undefined;
      const finish = (result: DiscoveredDevice | undefined, error?: Error) => {
        clearTimeout(deadline);
        if (settleTimer) clearTimeout(settleTimer);
        this.off('add', check);
        this.off('update', check);
        if (error) reject(error);
        else resolve(result);
      };
      const decideByName = () => {
        const id = byId();
        if (id) return finish(id);
        const named = byName();
        if (named.length > 1) {
          return finish(undefined, new CompanionError('ambiguous', `more than one camera on this network is called "${nameOrId}"; use its device id (${named.map((d) => d.deviceId).join(', ')})`));
        }
        finish(named[0]);
      };
      const check = () => {
        const id = byId();
        if (id) return finish(id);
        if (byName().length > 0 && !settleTimer) settleTimer = setTimeout(decideByName, settleMs);
      };
      const deadline = setTimeout(() => (byName().length > 0 ? decideByName() : finish(undefined)), timeoutMs);
      this.on('add', check);
      this.on('update', check);
      check();
    });
  }

  close(): Promise<void> {
    this.removeAllListeners();
    return this.browser.close();
  }
}
