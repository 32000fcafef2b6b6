// The scrolling part of the event log: the entries in its view and a few
// around them (logWindow.ts), with space above and below standing for the
// others, so the scrollbar is that of the whole list. It reads the heights
// of a row, of an opened entry and of its view from the page when they may
// have changed (rows appear, an entry opens or closes, the view is resized),
// never on each event. Which entries are open is kept here, by event id, so
// an entry scrolled out of the DOM and back is still open.

import { useCallback, useLayoutEffect, useMemo, useState, type RefObject } from 'react';
import type { EventFrame } from '@tactical-link/client';
import { LogEntry } from './LogEntry.js';
import { DEFAULT_ROW_SIZES, DEFAULT_VIEW_HEIGHT, logWindow, type RowSizes } from './logWindow.js';

interface Props {
  /** Newest first. */
  shown: readonly EventFrame[];
  bodyRef: RefObject<HTMLDivElement | null>;
  /** How far the view is scrolled (kept by the log, which also scrolls it back to the top). */
  scrollTop: number;
  /** Called on each scroll, with whether the view is away from the newest entry (a row or more down). */
  onScroll: (scrollTop: number, away: boolean) => void;
  /** What the log says when `shown` is empty. */
  empty: string;
}

function openedIndices(shown: readonly EventFrame[], open: ReadonlySet<string>): number[] {
  if (open.size === 0) return [];
  const out: number[] = [];
  shown.forEach((frame, i) => {
    if (open.has(frame.id)) out.push(i);
  });
  return out;
}

/** The heights of a closed and an opened entry found in `body`, or `sizes` where there is none. */
function measureRows(body: HTMLElement, sizes: RowSizes): RowSizes {
  const closed = body.querySelector<HTMLElement>('.log-entry:not([data-open])')?.offsetHeight ?? 0;
  const opened = body.querySelector<HTMLElement>('.log-entry[data-open]')?.offsetHeight ?? 0;
  const row = closed > 0 ? closed : sizes.row;
  const open = opened > 0 ? opened : sizes.open - sizes.row + row;
  return row === sizes.row && open === sizes.open ? sizes : { row, open };
}

/** Keeps the heights of the rows and of the view, measured as described above. */
function useMeasured(bodyRef: RefObject<HTMLDivElement | null>, openIds: ReadonlySet<string>, hasRows: boolean) {
  const [sizes, setSizes] = useState<RowSizes>(DEFAULT_ROW_SIZES);
  const [viewHeight, setViewHeight] = useState(DEFAULT_VIEW_HEIGHT);
  useLayoutEffect(() => {
    const body = bodyRef.current;
    if (!body) return;
    const measure = () => {
      // A view taller than the window (a page that lets the log grow) shows at most the window.
      const height = Math.min(body.clientHeight, typeof window === 'undefined' ? Infinity : window.innerHeight);
      if (height > 0) setViewHeight(height);
      setSizes((s) => measureRows(body, s));
    };
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(measure);
    observer.observe(body);
    return () => observer.disconnect();
  }, [bodyRef, openIds, hasRows]);
  return { sizes, viewHeight };
}

export function LogBody({ shown, bodyRef, scrollTop, onScroll, empty }: Props) {
  const [openIds, setOpenIds] = useState<ReadonlySet<string>>(() => new Set());
  const { sizes, viewHeight } = useMeasured(bodyRef, openIds, shown.length > 0);
  const opened = useMemo(() => openedIndices(shown, openIds), [shown, openIds]);
  const win = logWindow(shown.length, scrollTop, viewHeight, sizes, opened);
  const onToggle = useCallback((id: string, open: boolean) => {
    setOpenIds((ids) => {
      if (ids.has(id) === open) return ids;
      const next = new Set(ids);
      if (open) next.add(id);
      else next.delete(id);
      return next;
    });
  }, []);
  const scrolled = () => {
    const top = bodyRef.current?.scrollTop ?? 0;
    onScroll(top, top >= sizes.row);
  };

  return (
    <div className="log__body" tabIndex={-1} ref={bodyRef} onScroll={scrolled} data-testid="event-log-body">
      {shown.length === 0 ? (
        <p className="log__empty" data-testid="event-log-empty">
          {empty}
        </p>
      ) : (
        <ol
          className="log__list"
          aria-label="Events, newest first"
          style={{ paddingTop: win.before, paddingBottom: win.after }}
        >
          {shown.slice(win.first, win.end).map((frame) => (
            <LogEntry key={frame.id} frame={frame} open={openIds.has(frame.id)} onToggle={onToggle} />
          ))}
        </ol>
      )}
    </div>
  );
}
