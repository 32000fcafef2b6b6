// Which entries of the event log are in the DOM: those in the log's view,
// plus a few above and below it (the overscan), so that a new event moves a
// couple of dozen rows at most, not every entry the log holds.
//
// Every closed entry is one row of one height, and an opened entry (its JSON
// shown) one larger height, both read from the page by the log; so where an
// entry starts is arithmetic on its index and the few opened entries above
// it, never a measurement of the entries above it.

/** Heights in CSS pixels: a closed entry, and an opened one (its row included). */
export interface RowSizes {
  row: number;
  open: number;
}

/** Used until the page is measured (a server render, a test without layout). */
export const DEFAULT_ROW_SIZES: RowSizes = { row: 35, open: 35 + 200 };

/** Height of the log's view until it is measured. */
export const DEFAULT_VIEW_HEIGHT = 600;

/** Entries kept in the DOM above and below the view. */
export const OVERSCAN = 8;

/** The entries `first` to `end - 1` are in the DOM; `before` and `after` pixels of space stand for the others. */
export interface LogWindow {
  first: number;
  end: number;
  before: number;
  after: number;
}

/** Where entry `index` starts; `opened` lists the opened entries' indices, ascending. */
export function offsetOf(index: number, sizes: RowSizes, opened: readonly number[]): number {
  let above = 0;
  for (const i of opened) {
    if (i >= index) break;
    above += 1;
  }
  return index * sizes.row + above * (sizes.open - sizes.row);
}

/** The entry under pixel `y` (clamped to the list). */
export function indexAt(y: number, count: number, sizes: RowSizes, opened: readonly number[]): number {
  let extra = 0;
  for (const i of opened) {
    const top = i * sizes.row + extra;
    if (y < top) break;
    if (y < top + sizes.open) return Math.min(i, count - 1);
    extra += sizes.open - sizes.row;
  }
  return Math.max(0, Math.min(count - 1, Math.floor((y - extra) / sizes.row)));
}

/** The entries to render for a view of `viewHeight` pixels scrolled `scrollTop` down a list of `count`. */
export function logWindow(
  count: number,
  scrollTop: number,
  viewHeight: number,
  sizes: RowSizes,
  opened: readonly number[] = [],
  overscan = OVERSCAN,
): LogWindow {
  if (count <= 0) return { first: 0, end: 0, before: 0, after: 0 };
  const top = Math.max(0, scrollTop);
  const first = Math.max(0, indexAt(top, count, sizes, opened) - overscan);
  const last = indexAt(top + Math.max(1, viewHeight) - 1, count, sizes, opened);
  const end = Math.min(count, last + 1 + overscan);
  const total = offsetOf(count, sizes, opened);
  return { first, end, before: offsetOf(first, sizes, opened), after: total - offsetOf(end, sizes, opened) };
}
