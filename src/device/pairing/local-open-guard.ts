/**
 * Who gets the pairing window: WPS's push-button overlap rule, made for a LAN.
 *
 * Anyone local may try local open pairing, and a parked attacker tries the moment the window
 * opens. So a local-open request inside the window is not written at once: it waits until the
 * window has been open `settleMs` (10 s by default) and no other key has tried for `quietMs`
 * (3 s). Every key that tried local open pairing in the window, or in the two minutes before it
 * opened (the WPS "monitor time": an attacker must poll to catch the window, since only
 * administrators are told it opened), is remembered. When two different keys try inside one
 * window, that is an overlap: both are refused (409, with the reason), the window closes, and
 * the camera's console and its administrators are told. The person at the camera presses the
 * button again.
 *
 * When the window was used and another key tries within the next two minutes, the pairing may
 * have gone to the wrong person: the console and the administrators are told, with the key that
 * paired and the one-step undo.
 */
import { RouteError } from '../../net/rpc-router';
import { Status } from '../../shared/protocol/status';
import type { PairingWindow } from './pairing-window';

export interface LocalOpenTiming {
  /** The window must have been open this long before a pairing is written. */
  settleMs: number;
  /** And no other key may have tried for this long. */
  quietMs: number;
  /** Keys that tried this long before the window opened count too (WPS: 120 s). */
  monitorMs: number;
}

export const DEFAULT_LOCAL_OPEN_TIMING: LocalOpenTiming = { settleMs: 10_000, quietMs: 3_000, monitorMs: 120_000 };

const MAX_REMEMBERED_KEYS = 256;

export interface LocalOpenNotices {
  /** Two or more keys tried in one window: refused, window closed. */
  overlap(fingerprints: string[]): void;
  /** A key tried shortly after the window was used by another key. */
  lateAttempt(fingerprint: string, usedBy: string): void;
}

interface Waiter {
  fingerprint: string;
  fail(error: RouteError): void;
}

export class LocalOpenGuard {
  /** Key -> when it last tried local open pairing. */
  private readonly tried = new Map<string, number>();
  private readonly waiting = new Set<Waiter>();
  private lastUse: { fingerprint: string; at: number } | undefined;

  constructor(
    private readonly window: PairingWindow,
    private readonly notices: LocalOpenNotices,
    private readonly timing: LocalOpenTiming = DEFAULT_LOCAL_OPEN_TIMING,
    private readonly now: () => number = () => Date.now(),
  ) {
    window.on('change', ({ open }) => {
      if (open) return;
      for (const w of this.waiting) w.fail(new RouteError(Status.Forbidden, 'window-closed', 'the pairing window closed'));
      this.waiting.clear();
    });
  }

  /**
   * Admits one local-open attempt by `fingerprint`: resolves when it may be written, or throws
   * 403 (window closed) or 409 (overlap).
   */
  async admit(fingerprint: string): Promise<void> {
    const t = this.now();
    this.remember(fingerprint, t);
    if (!this.window.isOpen) {
      if (this.lastUse && this.lastUse.fingerprint !== fingerprint && t - this.lastUse.at <= this.timing.monitorMs) {
        this.notices.lateAttempt(fingerprint, this.lastUse.fingerprint);
        throw new RouteError(
          Status.Forbidden,
          'window-used',
          `the pairing window was used ${Math.round((t - this.lastUse.at) / 1000)} s ago by another key; if that was not someone you expected, ask the camera's owner to remove it (it is shown on the camera and to administrators), then press the pairing button again`,
        );
      }
      throw new RouteError(Status.Forbidden, 'window-closed', 'the pairing window is closed: press the pairing button on the camera, then try again');
    }
    const others = this.keysSince(this.window.openedAt - this.timing.monitorMs).filter((k) => k !== fingerprint);
    if (others.length > 0) throw this.overlap([fingerprint, ...others]);
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        fingerprint,
        fail: (error) => {
          clearTimeout(timer);
          this.waiting.delete(waiter);
          reject(error);
        },
      };
      const wait = Math.max(this.window.openedAt + this.timing.settleMs - t, this.timing.quietMs);
      const timer = setTimeout(() => {
        this.waiting.delete(waiter);
        resolve();
      }, wait);
      this.waiting.add(waiter);
    });
    if (!this.window.isOpen) throw new RouteError(Status.Forbidden, 'window-closed', 'the pairing window closed');
  }

  /** The window was used by this key. */
  used(fingerprint: string): void {
    this.lastUse = { fingerprint, at: this.now() };
    // Paired now: its earlier attempts are not a rival in the next window.
    this.tried.delete(fingerprint);
  }

  private overlap(fingerprints: string[]): RouteError {
    const error = new RouteError(
      Status.Conflict,
      'pairing-overlap',
      'more than one client tried to pair in this pairing window, so nobody was paired and the window is closed (someone else on the network may be trying to pair); make sure only you are pairing, press the pairing button again, and retry',
    );
    for (const w of this.waiting) w.fail(error);
    this.waiting.clear();
    this.tried.clear();
    this.notices.overlap(fingerprints);
    this.window.close(`overlap: ${fingerprints.length} different keys tried local open pairing; nobody was paired`);
    return error;
  }

  private keysSince(since: number): string[] {
    return [...this.tried].filter(([, at]) => at >= since).map(([k]) => k);
  }

  private remember(fingerprint: string, t: number): void {
    this.tried.delete(fingerprint);
    this.tried.set(fingerprint, t);
    if (this.tried.size > MAX_REMEMBERED_KEYS) {
      const oldest = this.tried.keys().next().value;
      if (oldest !== undefined) this.tried.delete(oldest);
    }
  }
}
