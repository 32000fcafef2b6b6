// The event log's filters: by stage, by status, by free text.
//
// The log shows the store's events (any type), newest first; filtering is a
// pure function of the events and the filter, recomputed on render.

import type { EventFrame, Stage, Status } from '../../../lib/socket/frames';

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

/** The events that pass the filter, newest first. */
export function filterEvents(events: readonly EventFrame[], filter: LogFilter): EventFrame[] {
  const out: EventFrame[] = [];
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const frame = events[i]!;
    if (matchesFilter(frame, filter)) out.push(frame);
  }
  return out;
}

export function isFiltering(filter: LogFilter): boolean {
  return filter.stage !== 'all' || filter.status !== 'all' || filter.text.trim() !== '';
}
