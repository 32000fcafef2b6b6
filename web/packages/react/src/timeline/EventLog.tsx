// The latest events of any type, newest first, filterable by stage, status
// and free text. Each entry opens to show the publisher's JSON. An event the
// gateway found stale (it came after a newer one of its stage, so it did not
// move the stage) says so: "stale, not applied".

import { memo, useDeferredValue, useMemo, useState } from 'react';
import { STAGES, STATUSES, formatClock, parseRfc3339, eventDetail, MAX_EVENTS, type EventFrame } from '@tactical-link/client';
import { filterEvents, isFiltering, NO_FILTER, type LogFilter } from './eventFilter.js';
import { StatusIcon } from '../ui/icons.js';
import { STAGE_LABEL, STATUS_LABEL } from '../ui/labels.js';

/** A generic event without a detail: its other fields, on one short line. */
function compactFields(frame: EventFrame): string {
  const { type: _type, ...rest } = frame.event;
  const text = JSON.stringify(rest);
  if (text === '{}') return '';
  return text.length > 140 ? `${text.slice(0, 140)}…` : text;
}

// Frames never change once received, so an entry renders once.
const Entry = memo(function Entry({ frame }: { frame: EventFrame }) {
  const p = frame.pipeline;
  const received = parseRfc3339(frame.received_at);
  const detail = eventDetail(frame);
  const stale = frame.run?.stale === true;
  return (
    <li
      className={`log-entry${stale ? ' log-entry--stale' : ''}`}
      data-testid="event-log-entry"
      data-event-id={frame.id}
      data-status={p?.status ?? 'generic'}
      data-run-id={p?.run_id}
      data-run-key={frame.run?.key}
      data-stale={stale ? 'true' : undefined}
    >
      <details>
        <summary className="log-entry__row">
          <time className="log-entry__time" dateTime={frame.received_at}>
            {received === null ? frame.received_at : formatClock(received)}
          </time>
          {p ? (
            <span className={`status-chip status-chip--small status-chip--${p.status}`}>
              <StatusIcon status={p.status} />
              <span>{STATUS_LABEL[p.status]}</span>
            </span>
          ) : (
            <span className="status-chip status-chip--small status-chip--generic">
              <span className="generic-dot" aria-hidden />
              <span>Event</span>
            </span>
          )}
          <span className="log-entry__what">{p ? STAGE_LABEL[p.stage] : frame.event.type}</span>
          <span className="log-entry__run" title={frame.run?.tenant ? `${p?.run_id} · tenant ${frame.run.tenant}` : undefined}>
            {p ? p.run_id : ''}
          </span>
          <span className="log-entry__detail">
            {stale && (
              <span className="log-entry__stale" data-testid="event-stale" title="It came after a newer event of its stage">
                stale, not applied
              </span>
            )}
            {detail ?? (p ? '' : compactFields(frame))}
          </span>
          <span className="log-entry__id">#{frame.id}</span>
        </summary>
        <pre className="log-entry__json">{JSON.stringify(frame.event, null, 2)}</pre>
      </details>
    </li>
  );
});

export function EventLog({ events }: { events: readonly EventFrame[] }) {
  const [filter, setFilter] = useState<LogFilter>(NO_FILTER);
  const deferredFilter = useDeferredValue(filter);
  const shown = useMemo(() => filterEvents(events, deferredFilter), [events, deferredFilter]);
  const filtering = isFiltering(filter);

  return (
    <section className="panel log" data-testid="event-log" aria-labelledby="event-log-title">
      <header className="panel__header log__header">
        <h2 id="event-log-title" className="panel__title">
          Event log
        </h2>
        <span className="log__count" data-testid="event-log-count" title={`The latest ${MAX_EVENTS} events are kept`}>
          {filtering ? `${shown.length} of ${events.length}` : `${events.length} ${events.length === 1 ? 'event' : 'events'}`}
        </span>
        <div className="log__filters" role="search" aria-label="Filter events">
          <div className="select-wrap select-wrap--small">
            <select
              className="select select--small"
              data-testid="filter-stage"
              aria-label="Filter by stage"
              value={filter.stage}
              onChange={(e) => setFilter({ ...filter, stage: e.target.value as LogFilter['stage'] })}
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
              onChange={(e) => setFilter({ ...filter, status: e.target.value as LogFilter['status'] })}
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
            onChange={(e) => setFilter({ ...filter, text: e.target.value })}
          />
          {filtering && (
            <button type="button" className="button button--ghost button--small" onClick={() => setFilter(NO_FILTER)}>
              Clear
            </button>
          )}
        </div>
      </header>
      <div className="log__body" tabIndex={-1}>
        {shown.length === 0 ? (
          <p className="log__empty" data-testid="event-log-empty">
            {events.length === 0 ? 'No events yet. They appear here as the gateway relays them.' : 'No event matches the filters.'}
          </p>
        ) : (
          <ol className="log__list" aria-label="Events, newest first">
            {shown.map((frame) => (
              <Entry key={frame.id} frame={frame} />
            ))}
          </ol>
        )}
      </div>
    </section>
  );
}
