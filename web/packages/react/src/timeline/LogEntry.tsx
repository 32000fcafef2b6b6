// One entry of the event log: a row (time, status, stage, run, detail, id)
// that opens to show the publisher's JSON. An event the gateway found stale
// (it came after a newer one of its stage, so it did not move the stage)
// says so: "stale, not applied".

import { memo } from 'react';
import { formatClock, parseRfc3339, eventDetail, type EventFrame } from '@tactical-link/client';
import { StatusIcon } from '../ui/icons.js';
import { STAGE_LABEL, STATUS_LABEL } from '../ui/labels.js';

/** A generic event without a detail: its other fields, on one short line. */
function compactFields(frame: EventFrame): string {
  const { type: _type, ...rest } = frame.event;
  const text = JSON.stringify(rest);
  if (text === '{}') return '';
  return text.length > 140 ? `${text.slice(0, 140)}…` : text;
}

interface EntryProps {
  frame: EventFrame;
  open: boolean;
  onToggle: (id: string, open: boolean) => void;
}

// Frames never change once received, so an entry renders again only when it
// is opened or closed.
export const LogEntry = memo(function LogEntry({ frame, open, onToggle }: EntryProps) {
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
      data-open={open ? 'true' : undefined}
    >
      <details open={open} onToggle={(e) => onToggle(frame.id, e.currentTarget.open)}>
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
        {open && <pre className="log-entry__json">{JSON.stringify(frame.event, null, 2)}</pre>}
      </details>
    </li>
  );
});
