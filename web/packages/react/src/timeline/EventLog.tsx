// The latest events of any type, newest first, filterable by stage, status
// and free text; each entry (LogEntry.tsx) opens to show the publisher's JSON.
//
// The log is virtualised: only the entries in its view, and a few around
// them, are in the DOM (LogBody.tsx, logWindow.ts), so an event coming in moves a couple
// of dozen rows, not every entry held. Scrolled down from the newest, the
// log holds the entries it shows (new events do not move them, and the
// store's trimming does not take them away) and says how many newer ones
// came; back at the top, or with "Show newest", it is live again.

import { useCallback, useDeferredValue, useMemo, useRef, useState } from 'react';
import { STAGES, STATUSES, MAX_EVENTS, type EventFrame } from '@tactical-link/client';
import { filterEvents, isFiltering, NO_FILTER, type LogFilter } from './eventFilter.js';
import { LogBody } from './LogBody.js';
import { STAGE_LABEL, STATUS_LABEL } from '../ui/labels.js';

/** How many of `events` came after the newest of `held`; null when that one is no longer among them (more than all). */
export function newerThan(held: readonly EventFrame[], events: readonly EventFrame[]): number | null {
  const newest = held.at(-1);
  if (newest === undefined) return events.length;
  for (let i = events.length - 1; i >= 0; i -= 1) {
    if (events[i]!.id === newest.id) return events.length - 1 - i;
  }
  return null;
}

export function EventLog({ events }: { events: readonly EventFrame[] }) {
  const [filter, setFilter] = useState<LogFilter>(NO_FILTER);
  const deferredFilter = useDeferredValue(filter);
  // The entries held while the user is scrolled away from the newest.
  const [held, setHeld] = useState<readonly EventFrame[] | null>(null);
  const source = held ?? events;
  const shown = useMemo(() => filterEvents(source, deferredFilter), [source, deferredFilter]);
  const filtering = isFiltering(filter);
  const bodyRef = useRef<HTMLDivElement>(null);
  const latest = useRef(events);
  latest.current = events;
  const [scrollTop, setScrollTop] = useState(0);
  const onScroll = useCallback((top: number, away: boolean) => {
    setScrollTop(top);
    setHeld((h) => (away ? (h ?? latest.current) : null));
  }, []);
  const showNewest = useCallback(() => {
    if (bodyRef.current) bodyRef.current.scrollTop = 0;
    setScrollTop(0);
    setHeld(null);
  }, []);

  return (
    <section className="panel log" data-testid="event-log" aria-labelledby="event-log-title">
      <header className="panel__header log__header">
        <h2 id="event-log-title" className="panel__title">
          Event log
        </h2>
        <span className="log__count" data-testid="event-log-count" title={`The latest ${MAX_EVENTS} events are kept`}>
          {filtering ? `${shown.length} of ${source.length}` : `${source.length} ${source.length === 1 ? 'event' : 'events'}`}
        </span>
        {events.length >= MAX_EVENTS && (
          <span className="log__cap" data-testid="event-log-cap">
            latest {MAX_EVENTS} kept, older ones dropped
          </span>
        )}
        <LogFilters filter={filter} onFilter={setFilter} filtering={filtering} />
      </header>
      {held && <HeldNotice newer={newerThan(held, events)} onShowNewest={showNewest} />}
      <LogBody
        shown={shown}
        bodyRef={bodyRef}
        scrollTop={scrollTop}
        onScroll={onScroll}
        empty={source.length === 0 ? 'No events yet. They appear here as the gateway relays them.' : 'No event matches the filters.'}
      />
    </section>
  );
}

function HeldNotice({ newer, onShowNewest }: { newer: number | null; onShowNewest: () => void }) {
  const count = newer === null ? `More than ${MAX_EVENTS} newer events` : `${newer} newer ${newer === 1 ? 'event' : 'events'}`;
  return (
    <div className="log__held" data-testid="event-log-held" role="status">
      <span>
        Paused while scrolled · <span data-testid="event-log-newer">{count}</span>
      </span>
      <button type="button" className="button button--ghost button--small" data-testid="event-log-show-newest" onClick={onShowNewest}>
        Show newest
      </button>
    </div>
  );
}

interface FiltersProps {
  filter: LogFilter;
  onFilter: (filter: LogFilter) => void;
  filtering: boolean;
}

function LogFilters({ filter, onFilter, filtering }: FiltersProps) {
  return (
    <div className="log__filters" role="search" aria-label="Filter events">
      <div className="select-wrap select-wrap--small">
        <select
          className="select select--small"
          data-testid="filter-stage"
          aria-label="Filter by stage"
          value={filter.stage}
          onChange={(e) => onFilter({ ...filter, stage: e.target.value as LogFilter['stage'] })}
        >
          <option value="all">All stages</option>
          {STAGES.map((s) => (
            <option key={s} value={s}>
              {STAGE_LABEL[s]}
            </option>
          ))}
        </select>
      </div>
      <div className="select-wrap select-wrap--small">
        <select
          className="select select--small"
          data-testid="filter-status"
          aria-label="Filter by status"
          value={filter.status}
          onChange={(e) => onFilter({ ...filter, status: e.target.value as LogFilter['status'] })}
        >
          <option value="all">All statuses</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {STATUS_LABEL[s]}
            </option>
          ))}
        </select>
      </div>
      <input
        className="input input--small"
        type="search"
        data-testid="filter-text"
        aria-label="Search events"
        placeholder="Search run, detail, JSON…"
        value={filter.text}
        onChange={(e) => onFilter({ ...filter, text: e.target.value })}
      />
      {filtering && (
        <button type="button" className="button button--ghost button--small" onClick={() => onFilter(NO_FILTER)}>
          Clear
        </button>
      )}
    </div>
  );
}
