/** The live grid's layout choice: largest tiles at the video's shape, 1/2/2x2/3x3/4x4, and reordering. */
import { describe, expect, it } from 'vitest';
import { chooseLayout, moveBefore } from '../../src/renderer/live/grid-layout';
import { connectionQuality, reconnectText } from '../../src/renderer/live/connection-quality';

const wide = { width: 1856, height: 900, gap: 12, aspect: 16 / 9 };

describe('grid layout', () => {
  it('uses 1, 2, 2x2, 3x3 and 4x4 as the count grows in a 16:9 window', () => {
    expect(chooseLayout(1, wide).columns).toBe(1);
    expect(chooseLayout(2, wide).columns).toBe(2);
    expect(chooseLayout(4, wide)).toMatchObject({ columns: 2, rows: 2, name: '2x2' });
    expect(chooseLayout(6, wide)).toMatchObject({ columns: 3, rows: 2, name: '3x3' });
    expect(chooseLayout(9, wide)).toMatchObject({ columns: 3, rows: 3 });
    expect(chooseLayout(16, wide)).toMatchObject({ columns: 4, rows: 4, name: '4x4' });
  });

  it('fills at least 90 % of the width with six 16:9 cameras at 1920x1080', () => {
    const layout = chooseLayout(6, wide);
    expect((layout.columns * layout.tileWidth + (layout.columns - 1) * wide.gap) / wide.width).toBeGreaterThanOrEqual(0.9);
  });

  it('never makes tiles taller than the space, and keeps the video\'s shape', () => {
    for (const n of [1, 2, 3, 4, 5, 7, 9, 12, 16]) {
      for (const aspect of [4 / 3, 16 / 9, 9 / 16]) {
        const space = { width: 760, height: 520, gap: 12, aspect };
        const l = chooseLayout(n, space, 0);
        expect(l.rows * l.tileHeight + (l.rows - 1) * 12, `${n} at ${aspect}`).toBeLessThanOrEqual(520 + 1);
        expect(l.columns * l.tileWidth + (l.columns - 1) * 12).toBeLessThanOrEqual(760 + 1);
        expect(Math.abs(l.tileWidth / l.tileHeight - aspect)).toBeLessThan(0.05);
      }
    }
  });

  it('picks more columns for portrait windows only when that makes tiles larger', () => {
    expect(chooseLayout(2, { width: 800, height: 1200, gap: 12, aspect: 16 / 9 }).columns).toBe(1);
    expect(chooseLayout(2, { width: 1600, height: 500, gap: 12, aspect: 16 / 9 }).columns).toBe(2);
  });

  it('survives nonsense sizes and aspects', () => {
    const l = chooseLayout(3, { width: 0, height: -5, gap: 12, aspect: Number.NaN });
    expect(l.columns).toBeGreaterThanOrEqual(1);
    expect(Number.isFinite(l.tileWidth)).toBe(true);
  });

  it('moves a dragged camera before the one it was dropped on', () => {
    expect(moveBefore(['a', 'b', 'c', 'd'], 'd', 'b')).toEqual(['a', 'd', 'b', 'c']);
    expect(moveBefore(['a', 'b', 'c'], 'a', 'c')).toEqual(['b', 'a', 'c']);
    expect(moveBefore(['a', 'b', 'c'], 'a', undefined)).toEqual(['b', 'c', 'a']);
    expect(moveBefore(['a', 'b'], 'x', 'a')).toEqual(['a', 'b']);
  });
});

describe('connection quality and reconnect text', () => {
  const stats = { frames: 100, fps: 25, bitrateKbps: 900, latencyMs: 80, width: 640, height: 360, firstFrameMs: 120 };
  it('says good, weak or reconnecting in words', () => {
    expect(connectionQuality('live', stats)).toBe('good');
    expect(connectionQuality('live', { ...stats, fps: 6 }, 25)).toBe('weak');
    // A camera set to 8 fps that delivers 8 is not weak; one that drops to 4 is.
    expect(connectionQuality('live', { ...stats, fps: 8 }, 8)).toBe('good');
    expect(connectionQuality('live', { ...stats, fps: 4 }, 8)).toBe('weak');
    expect(connectionQuality('live', { ...stats, latencyMs: 900 })).toBe('weak');
    expect(connectionQuality('reconnecting', stats)).toBe('reconnecting');
  });
  it('writes one full stop after a reason that has one', () => {
    expect(reconnectText('the camera is restarting.', 1, 1)).toBe('The camera is restarting. Next try in 1 s (attempt 1).');
    expect(reconnectText(undefined, 0, 3)).toBe('Trying now (attempt 3).');
  });
});
