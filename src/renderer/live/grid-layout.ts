/**
 * The live grid's layout: 1, 2, 2x2, 3x3 or 4x4 (as many columns as the layout has, as many rows
 * as the tiles need), choosing the one that makes tiles largest in the space the window gives, at
 * the video's aspect ratio. Pure: the grid measures itself and asks.
 */

/** The layouts offered, by columns: 1, 2 (side by side), 2x2, 3x3, 4x4. */
export const LAYOUT_COLUMNS = [1, 2, 3, 4] as const;

export interface GridLayout {
  columns: number;
  rows: number;
  /** Width and height of one tile, in CSS pixels. */
  tileWidth: number;
  tileHeight: number;
  /** A name people know: "1", "2", "2x2", "3x3", "4x4". */
  name: string;
}

export interface GridSpace {
  /** Width and height the grid may use, in CSS pixels. */
  width: number;
  height: number;
  /** Space between tiles. */
  gap: number;
  /** The video's width / height (16/9 until a picture arrives). */
  aspect: number;
}

export function layoutName(columns: number, count: number): string {
  if (columns === 1) return '1';
  if (columns === 2 && count <= 2) return '2';
  return `${columns}x${columns}`;
}

/**
 * The layout that gives the largest tiles. Tiles may not be narrower than `minTileWidth` (then the
 * grid grows downwards and scrolls, as a page does) and never get taller than the space.
 */
export function chooseLayout(count: number, space: GridSpace, minTileWidth = 220): GridLayout {
  const n = Math.max(1, Math.floor(count));
  const aspect = Number.isFinite(space.aspect) && space.aspect > 0.2 && space.aspect < 5 ? space.aspect : 16 / 9;
  const width = Math.max(1, space.width);
  const height = Math.max(1, space.height);
  let best: GridLayout | undefined;
  for (const columns of LAYOUT_COLUMNS) {
    const cols = Math.min(columns, n);
    const rows = Math.ceil(n / cols);
    const byWidth = (width - space.gap * (cols - 1)) / cols;
    const byHeight = ((height - space.gap * (rows - 1)) / rows) * aspect;
    let tileWidth = Math.min(byWidth, byHeight);
    // Too small to fit the window: use the width and let the page scroll.
    if (tileWidth < minTileWidth) tileWidth = Math.min(byWidth, minTileWidth);
    const candidate: GridLayout = { columns: cols, rows, tileWidth: Math.floor(tileWidth), tileHeight: Math.floor(tileWidth / aspect), name: layoutName(cols, n) };
    if (!best || candidate.tileWidth > best.tileWidth) best = candidate;
    if (cols === n) break;
  }
  return best!;
}

/** Moves `id` to where `before` is (or to the end), for drag to reorder. */
export function moveBefore(order: readonly string[], id: string, before: string | undefined): string[] {
  if (!order.includes(id) || id === before) return [...order];
  const rest = order.filter((x) => x !== id);
  const at = before === undefined ? -1 : rest.indexOf(before);
  if (at < 0) return [...rest, id];
  return [...rest.slice(0, at), id, ...rest.slice(at)];
}
