/**
 * @file The arithmetic behind the virtual face grid, kept free of the DOM so it can be unit
 * tested: how many columns fit, which rows a scroll position shows, which items a drag
 * rectangle covers. All lengths are CSS pixels in the grid's content box.
 */

export interface GridLayout {
  columns: number;
  /** Width (and image height) of one item. */
  itemWidth: number;
  /** One row: the item plus its caption. */
  rowHeight: number;
  gap: number;
  rows: number;
  totalHeight: number;
  count: number;
}

export interface GridOptions {
  width: number;
  count: number;
  minItemWidth: number;
  gap: number;
  /** Height below the square image (caption); 0 for none. */
  captionHeight: number;
}

export function gridLayout({ width, count, minItemWidth, gap, captionHeight }: GridOptions): GridLayout {
  const columns = Math.max(1, Math.floor((Math.max(0, width) + gap) / (minItemWidth + gap)));
  const itemWidth = Math.max(minItemWidth, (width - gap * (columns - 1)) / columns);
  const rowHeight = itemWidth + captionHeight;
  const rows = Math.ceil(count / columns);
  const totalHeight = rows === 0 ? 0 : rows * rowHeight + (rows - 1) * gap;
  return { columns, itemWidth, rowHeight, gap, rows, totalHeight, count };
}

export interface VisibleRange {
  firstRow: number;
  /** Exclusive. */
  endRow: number;
  /** First item index shown. */
  from: number;
  /** Exclusive item index. */
  to: number;
}

/** Rows intersecting [scrollTop, scrollTop + viewportHeight], plus `overscan` rows each side. */
export function visibleRange(layout: GridLayout, scrollTop: number, viewportHeight: number, overscan = 2): VisibleRange {
  const stride = layout.rowHeight + layout.gap;
  if (layout.rows === 0 || stride <= 0) return { firstRow: 0, endRow: 0, from: 0, to: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / stride);
  const last = Math.floor((Math.max(0, scrollTop) + Math.max(0, viewportHeight)) / stride);
  const firstRow = Math.max(0, Math.min(layout.rows - 1, first - overscan));
  const endRow = Math.min(layout.rows, last + 1 + overscan);
  return { firstRow, endRow, from: firstRow * layout.columns, to: Math.min(layout.count, endRow * layout.columns) };
}

/** Top-left corner of item `index`. */
export function itemPosition(layout: GridLayout, index: number): { x: number; y: number } {
  const row = Math.floor(index / layout.columns);
  const col = index % layout.columns;
  return { x: col * (layout.itemWidth + layout.gap), y: row * (layout.rowHeight + layout.gap) };
}

export interface Rect {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** Indices of the items whose box intersects the rectangle (corners in any order), ascending. */
export function indicesInRect(layout: GridLayout, rect: Rect): number[] {
  const x1 = Math.min(rect.x1, rect.x2);
  const x2 = Math.max(rect.x1, rect.x2);
  const y1 = Math.min(rect.y1, rect.y2);
  const y2 = Math.max(rect.y1, rect.y2);
  const colStride = layout.itemWidth + layout.gap;
  const rowStride = layout.rowHeight + layout.gap;
  const out: number[] = [];
  if (layout.count === 0) return out;
  const firstRow = Math.max(0, Math.floor(y1 / rowStride));
  const lastRow = Math.min(layout.rows - 1, Math.floor(y2 / rowStride));
  const firstCol = Math.max(0, Math.floor(x1 / colStride));
  const lastCol = Math.min(layout.columns - 1, Math.floor(x2 / colStride));
  for (let r = firstRow; r <= lastRow; r++) {
    // Skip a row or column whose item the rectangle only touches in the gap after it.
    if (y1 > r * rowStride + layout.rowHeight) continue;
    for (let c = firstCol; c <= lastCol; c++) {
      if (x1 > c * colStride + layout.itemWidth) continue;
      const i = r * layout.columns + c;
      if (i < layout.count) out.push(i);
    }
  }
  return out;
}

/** The index one step away by arrow key, clamped to the grid. */
export function stepIndex(layout: GridLayout, index: number, key: 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown' | 'Home' | 'End'): number {
  const next =
    key === 'ArrowLeft' ? index - 1
    : key === 'ArrowRight' ? index + 1
    : key === 'ArrowUp' ? index - layout.columns
    : key === 'ArrowDown' ? index + layout.columns
    : key === 'Home' ? 0
    : layout.count - 1;
  return Math.max(0, Math.min(layout.count - 1, next));
}
