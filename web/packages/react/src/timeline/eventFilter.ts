// Which events to show: the event log's filters (stage, status, free text),
// and the wider filter of `useEvents` (also by run and event type).
//
// The log shows the store's events (any type), newest first; filtering is a
// pure function of the events and the filter, recomputed on render.

import type { EventFrame, Stage, Status } from '@tactical-link/client';

export interface LogFilter {
  stage: Stage | 'all';
  status: Status | 'all';
  /** Case-insensitive; matched against the event id, type, run, stage, status, detail and its whole JSON. */
  text: string;
}

export const NO_FILTER: LogFilter = { stage: 'all', status: 'all', text: '' };

const haystacks = new WeakMap<EventFrame, string>();

function haystack(frame: EventFrame): string {
  let text = haystacks.get(frame);
  if (text === undefined) {
    const p = frame.pipeline;
    text = [frame.id, p ? `${p.run_id} ${p.stage} ${p.status}` : '', JSON.stringify(frame.event)].join(' ').toLowerCase();
    haystacks.set(frame, text);
  }
  return text;
}

export function matchesFilter(frame: EventFrame, filter: LogFilter): boolean {
  if (filter.stage !== 'all' && frame.pipeline?.stage !== filter.stage) return false;
  if (filter.status !== 'all' && frame.pipeline?.status !== filter.status) return false;
  const needle = filter.text.trim().toLowerCase();
  return needle === '' || haystack(frame).includes(needle);
}

/** The events that pass the log's filter, newest first. */
export function filterEvents(events: readonly EventFrame[], filter: LogFilter): EventFrame[] {
  return eventsMatching(events, {
    stage: filter.stage === 'all' ? undefined : filter.stage,
    status: filter.status === 'all' ? undefined : filter.status,
    text: filter.text,
  });
}

/** What `useEvents` keeps: every field given must match. */
export interface EventFilter {
  /** Events of this run: its run id, or its key (`tenant/user_id/run_id`). */
  runId?: string;
  stage?: Stage;
  status?: Status;
  /** The publisher's `type`, e.g. `pipeline.stage` or `deploy.finished`. */
  type?: string;
  /** Case-insensitive, as the log's text filter. */
  text?: string;
}

function matchesEvent(frame: EventFrame, filter: EventFilter): boolean {
  const { runId, type } = filter;
  if (runId !== undefined && frame.pipeline?.run_id !== runId && frame.run?.key !== runId) return false;
  if (type !== undefined && frame.event.type !== type) return false;
  return matchesFilter(frame, { stage: filter.stage ?? 'all', status: filter.status ?? 'all', text: filter.text ?? '' });
}

/** The events that pass `filter`, newest first. */
export function eventsMatching(events: readonly EventFrame[], filter: EventFilter): EventFrame[] {
  const out: EventFrame[] = [];
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const frame = events[i]!;
    if (matchesEvent(frame, filter)) out.push(frame);
  }
  return out;
}

export function isFiltering(filter: LogFilter): boolean {
  return filter.stage !== 'all' || filter.status !== 'all' || filter.text.trim() !== '';
}
