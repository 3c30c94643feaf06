// @vitest-environment jsdom
/** Reconnection policy of the live view: backoff, what is final (stop, revocation, changed key), frozen pictures. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../src/shared/ui/api';
import { VideoConnection, type VideoSession, type VideoState } from '../../src/renderer/live/video-connection';
import type { LiveVideoStats } from '../../src/renderer/video/live-video';

interface FakeSession extends VideoSession {
  onStats: (stats: LiveVideoStats) => void;
  onClosed: (reason: string) => void;
  stopped: boolean;
}

function harness(startResults: (() => Promise<void>)[] = []) {
  const sessions: FakeSession[] = [];
  const states: VideoState[] = [];
  const connection = new VideoConnection(
    ({ onStats, onClosed }) => {
      const result = startResults[sessions.length] ?? (async () => undefined);
      const session: FakeSession = {
        onStats,
        onClosed,
        stopped: false,
        start: result,
        stop() {
          this.stopped = true;
        },
        snapshotPng: async () => new Blob(['png']),
      };
      sessions.push(session);
      return session;
    },
    { onState: (s) => states.push(s), backoffMs: [1000, 2000, 4000], stallMs: 5000 },
  );
  return { connection, sessions, states, phases: () => states.map((s) => s.phase) };
}

const stats = (frames: number): LiveVideoStats => ({ frames, fps: 30, bitrateKbps: 1000, latencyMs: 50, width: 640, height: 480, firstFrameMs: 300 });

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('VideoConnection', () => {
  it('goes live on the first frames, and reconnects with growing delays after the stream ends', async () => {
    const h = harness();
    h.connection.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.phases()).toEqual(['connecting']);
    h.sessions[0]!.onStats(stats(25));
    expect(h.connection.phase).toBe('live');

    h.sessions[0]!.onClosed('the connection to the camera was lost');
    expect(h.states.at(-1)).toMatchObject({ phase: 'reconnecting', attempt: 1, reason: 'the connection to the camera was lost' });
    await vi.advanceTimersByTimeAsync(999);
    expect(h.sessions).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.sessions).toHaveLength(2);

    // Fails again before any picture: the next delay is longer.
    h.sessions[1]!.onClosed('the camera ended the video');
    expect(h.states.at(-1)).toMatchObject({ phase: 'reconnecting', attempt: 2 });
    await vi.advanceTimersByTimeAsync(1999);
    expect(h.sessions).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.sessions).toHaveLength(3);

    // A picture resets the backoff.
    h.sessions[2]!.onStats(stats(3));
    expect(h.connection.phase).toBe('live');
    h.sessions[2]!.onClosed('lost');
    expect(h.states.at(-1)).toMatchObject({ phase: 'reconnecting', attempt: 1 });
  });

  it('retries a start that fails (camera unreachable), with the delay capped', async () => {
    const fail = async () => {
      throw new ApiError('unreachable', 'nothing listens at 127.0.0.1:5592 (connection refused)');
    };
    const h = harness([fail, fail, fail, fail, fail]);
    h.connection.start();
    for (const delay of [1000, 2000, 4000, 4000]) {
      await vi.advanceTimersByTimeAsync(0);
      expect(h.connection.phase).toBe('reconnecting');
      expect(h.states.at(-1)!.reason).toContain('Could not reach the camera');
      const before = h.sessions.length;
      await vi.advanceTimersByTimeAsync(delay);
      expect(h.sessions.length).toBe(before + 1);
    }
    expect(h.sessions.slice(0, -1).every((s) => s.stopped)).toBe(true);
  });

  it('stops for good when access is revoked (by a CLOSE reason or a 403), never retrying', async () => {
    const h = harness();
    h.connection.start();
    h.sessions[0]!.onStats(stats(10));
    h.sessions[0]!.onClosed('access revoked');
    expect(h.connection.phase).toBe('revoked');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.sessions).toHaveLength(1);

    const h2 = harness([
      async () => {
        throw new ApiError(403, 'not allowed: Webrtc:Signaling');
      },
    ]);
    h2.connection.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h2.connection.phase).toBe('revoked');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h2.sessions).toHaveLength(1);
  });

  it('stops for good when the camera presents a changed key', async () => {
    const h = harness([
      async () => {
        throw new ApiError('device-key-changed', 'device key changed: de-x presented key …');
      },
    ]);
    h.connection.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.connection.phase).toBe('key-changed');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.sessions).toHaveLength(1);
  });

  it('restarts a picture that froze', async () => {
    const h = harness();
    h.connection.start();
    h.sessions[0]!.onStats(stats(10));
    for (let i = 0; i < 6; i++) {
      await vi.advanceTimersByTimeAsync(1000);
      h.sessions[0]!.onStats(stats(10));
    }
    expect(h.sessions[0]!.stopped).toBe(true);
    expect(h.states.at(-1)).toMatchObject({ phase: 'reconnecting', reason: 'the picture froze' });
  });

  it('stop() is final and ignores the session\'s own close', async () => {
    const h = harness();
    h.connection.start();
    h.sessions[0]!.onStats(stats(10));
    h.connection.stop();
    expect(h.sessions[0]!.stopped).toBe(true);
    h.sessions[0]!.onClosed('closed by the viewer');
    expect(h.phases().at(-1)).toBe('stopped');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.sessions).toHaveLength(1);
  });
});
