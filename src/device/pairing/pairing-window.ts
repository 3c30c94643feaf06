/**
 * The local-open pairing window: the camera's "button". Pressing it (a key in the daemon's
 * terminal, `lancam-device pair-window`, or SIGUSR1) opens local-open pairing for a short time
 * (120 s by default, like WPS); it closes by itself, or after one successful pairing.
 */
import { EventEmitter } from 'node:events';

export const DEFAULT_WINDOW_SECONDS = 120;
export const MAX_WINDOW_SECONDS = 3600;

export interface PairingWindowEvents {
  change: [{ open: boolean; seconds: number; reason: string }];
}

export class PairingWindow extends EventEmitter<PairingWindowEvents> {
  private closesAt = 0;
  private openedAtMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly now: () => number = () => Date.now()) {
    super();
  }

  get isOpen(): boolean {
    return this.closesAt > this.now();
  }

  /** When the window was last opened (ms since the epoch; 0 = never). */
  get openedAt(): number {
    return this.openedAtMs;
  }

  /** Whole seconds left, 0 when closed. */
  get secondsLeft(): number {
    return Math.max(0, Math.ceil((this.closesAt - this.now()) / 1000));
  }

  open(seconds = DEFAULT_WINDOW_SECONDS, reason = 'button'): void {
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_WINDOW_SECONDS) throw new RangeError(`the pairing window lasts 1 to ${MAX_WINDOW_SECONDS} seconds`);
    this.openedAtMs = this.now();
    this.closesAt = this.openedAtMs + seconds * 1000;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.close('expired'), seconds * 1000);
    this.timer.unref();
    this.emit('change', { open: true, seconds: Math.round(seconds), reason });
  }

  close(reason: string): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const wasOpen = this.closesAt > 0;
    this.closesAt = 0;
    if (wasOpen) this.emit('change', { open: false, seconds: 0, reason });
  }
}
