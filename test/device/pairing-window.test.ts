/**
 * The local-open pairing window (the camera's "button") with fake time: opening, closing,
 * expiring, re-opening, the events it emits, and the range of durations it accepts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_WINDOW_SECONDS, MAX_WINDOW_SECONDS, PairingWindow } from '../../src/device/pairing/pairing-window';

type Change = { open: boolean; seconds: number; reason: string };

function windowWithEvents(): { window: PairingWindow; events: Change[] } {
  const window = new PairingWindow(() => Date.now());
  const events: Change[] = [];
  window.on('change', (e) => events.push(e));
  return { window, events };
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2025-01-01T00:00:00Z') });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('PairingWindow', () => {
  it('starts closed', () => {
    const { window, events } = windowWithEvents();
    expect(window.isOpen).toBe(false);
    expect(window.secondsLeft).toBe(0);
    expect(events).toEqual([]);
  });

  it('opens for the given time, counts down and expires by itself with an event', () => {
    const { window, events } = windowWithEvents();
    window.open(30, 'test button');
    expect(window.isOpen).toBe(true);
    expect(window.secondsLeft).toBe(30);
    expect(events).toEqual([{ open: true, seconds: 30, reason: 'test button' }]);

    vi.advanceTimersByTime(10_500);
    expect(window.isOpen).toBe(true);
    expect(window.secondsLeft).toBe(20);

    vi.advanceTimersByTime(19_499);
    expect(window.isOpen).toBe(true);
    expect(window.secondsLeft).toBe(1);
    expect(events).toHaveLength(1);

    vi.advanceTimersByTime(1);
    expect(window.isOpen).toBe(false);
    expect(window.secondsLeft).toBe(0);
    expect(events).toEqual([
      { open: true, seconds: 30, reason: 'test button' },
      { open: false, seconds: 0, reason: 'expired' },
    ]);

    // Nothing more happens later.
    vi.advanceTimersByTime(10 * 60_000);
    expect(events).toHaveLength(2);
  });

  it('defaults to 120 s', () => {
    const { window, events } = windowWithEvents();
    window.open();
    expect(DEFAULT_WINDOW_SECONDS).toBe(120);
    expect(window.secondsLeft).toBe(120);
    expect(events[0]).toMatchObject({ open: true, seconds: 120 });
    vi.advanceTimersByTime(119_999);
    expect(window.isOpen).toBe(true);
    vi.advanceTimersByTime(1);
    expect(window.isOpen).toBe(false);
  });

  it('closes early with the reason given, once; closing a closed window says nothing', () => {
    const { window, events } = windowWithEvents();
    window.close('nothing open');
    expect(events).toEqual([]);
    window.open(60, 'button');
    vi.advanceTimersByTime(5_000);
    window.close('used to pair "bob"');
    expect(window.isOpen).toBe(false);
    expect(window.secondsLeft).toBe(0);
    window.close('again');
    expect(events).toEqual([
      { open: true, seconds: 60, reason: 'button' },
      { open: false, seconds: 0, reason: 'used to pair "bob"' },
    ]);
    // The old expiry timer is gone: no late "expired" event.
    vi.advanceTimersByTime(120_000);
    expect(events).toHaveLength(2);
  });

  it('pressing again while open restarts the countdown; only the last press expires it', () => {
    const { window, events } = windowWithEvents();
    window.open(10, 'first');
    vi.advanceTimersByTime(8_000);
    window.open(10, 'second');
    vi.advanceTimersByTime(9_000); // 17 s after the first press: past its end, inside the second's
    expect(window.isOpen).toBe(true);
    expect(window.secondsLeft).toBe(1);
    expect(events.filter((e) => !e.open)).toEqual([]);
    vi.advanceTimersByTime(1_000);
    expect(window.isOpen).toBe(false);
    expect(events).toEqual([
      { open: true, seconds: 10, reason: 'first' },
      { open: true, seconds: 10, reason: 'second' },
      { open: false, seconds: 0, reason: 'expired' },
    ]);
  });

  it('can be opened again after it expired', () => {
    const { window, events } = windowWithEvents();
    window.open(1);
    vi.advanceTimersByTime(1_000);
    expect(window.isOpen).toBe(false);
    window.open(2, 'again');
    expect(window.isOpen).toBe(true);
    vi.advanceTimersByTime(2_000);
    expect(window.isOpen).toBe(false);
    expect(events.map((e) => `${e.open ? 'open' : 'closed'}:${e.reason}`)).toEqual(['open:button', 'closed:expired', 'open:again', 'closed:expired']);
  });

  it.each([0, -1, MAX_WINDOW_SECONDS + 1, 86_400, Number.NaN, Number.POSITIVE_INFINITY])('rejects %s seconds and stays as it was', (seconds) => {
    const { window, events } = windowWithEvents();
    expect(() => window.open(seconds)).toThrow(RangeError);
    expect(window.isOpen).toBe(false);
    expect(events).toEqual([]);
    // An open window is not changed by a rejected press either.
    window.open(30);
    expect(() => window.open(seconds)).toThrow(RangeError);
    expect(window.secondsLeft).toBe(30);
    vi.advanceTimersByTime(30_000);
    expect(window.isOpen).toBe(false);
    expect(events).toHaveLength(2);
  });

  it('accepts the maximum, 3600 s', () => {
    const { window } = windowWithEvents();
    expect(MAX_WINDOW_SECONDS).toBe(3600);
    window.open(MAX_WINDOW_SECONDS);
    expect(window.secondsLeft).toBe(3600);
    vi.advanceTimersByTime(3_599_999);
    expect(window.isOpen).toBe(true);
    vi.advanceTimersByTime(1);
    expect(window.isOpen).toBe(false);
  });
});
