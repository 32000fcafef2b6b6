import { describe, expect, it } from 'vitest';
import type { EventFrame } from '@tactical-link/client';
import { eventFrame } from '@tactical-link/client/testing';
import { filterEvents, isFiltering, NO_FILTER } from './eventFilter.js';

const events = [
  eventFrame('1-0', 'run-1', 'radar', 'processing', { detail: 'Scanning feeds' }),
  eventFrame('2-0', 'run-1', 'radar', 'complete'),
  eventFrame('3-0', 'run-2', 'analyst', 'error', { detail: 'Model TIMEOUT' }),
  { type: 'event', id: '4-0', received_at: '2026-11-28T15:00:00.000Z', event: { type: 'deploy.finished', version: 'v2.4' } },
] as EventFrame[];

const ids = (list: EventFrame[]) => list.map((e) => e.id);

describe('filterEvents', () => {
  it('returns everything newest first without a filter', () => {
    expect(ids(filterEvents(events, NO_FILTER))).toEqual(['4-0', '3-0', '2-0', '1-0']);
  });

  it('filters by stage and by status (generic events have neither)', () => {
    expect(ids(filterEvents(events, { ...NO_FILTER, stage: 'radar' }))).toEqual(['2-0', '1-0']);
    expect(ids(filterEvents(events, { ...NO_FILTER, status: 'error' }))).toEqual(['3-0']);
    expect(ids(filterEvents(events, { ...NO_FILTER, stage: 'radar', status: 'complete' }))).toEqual(['2-0']);
  });

  it('matches free text, case-insensitively, in detail, run id, type, id and any field', () => {
    expect(ids(filterEvents(events, { ...NO_FILTER, text: 'timeout' }))).toEqual(['3-0']);
    expect(ids(filterEvents(events, { ...NO_FILTER, text: 'RUN-1' }))).toEqual(['2-0', '1-0']);
    expect(ids(filterEvents(events, { ...NO_FILTER, text: 'deploy' }))).toEqual(['4-0']);
    expect(ids(filterEvents(events, { ...NO_FILTER, text: 'v2.4' }))).toEqual(['4-0']);
    expect(ids(filterEvents(events, { ...NO_FILTER, text: '3-0' }))).toEqual(['3-0']);
    expect(ids(filterEvents(events, { ...NO_FILTER, text: '  ' }))).toHaveLength(4);
    expect(ids(filterEvents(events, { ...NO_FILTER, text: 'nothing like this' }))).toEqual([]);
  });

  it('combines text with stage', () => {
    expect(ids(filterEvents(events, { stage: 'radar', status: 'all', text: 'scanning' }))).toEqual(['1-0']);
  });

  it('says whether a filter is active', () => {
    expect(isFiltering(NO_FILTER)).toBe(false);
    expect(isFiltering({ ...NO_FILTER, text: 'x' })).toBe(true);
    expect(isFiltering({ ...NO_FILTER, stage: 'report' })).toBe(true);
  });
});
