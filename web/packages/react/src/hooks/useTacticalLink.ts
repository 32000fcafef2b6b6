// The hooks of @tactical-link/react: what the components under a
// <TacticalLinkProvider> read. Each subscribes to the part of the state it
// returns (a selector, ./selectors.ts), which is the same object until that
// part changes, so a component renders again only when what it shows did:
// an event of one run renders that run's views and the log, not the page.

import { useCallback, useContext, useMemo, useRef, useSyncExternalStore } from 'react';
import { showsTenants, type EventFrame, type LinkInfo, type PipelineState, type Run } from '@tactical-link/client';
import { TacticalLinkContext, type TacticalLink } from '../provider.js';
import { eventsMatching, type EventFilter } from '../timeline/eventFilter.js';
import { heldRunsNewestFirst, newestRunKey, runCounts, runKeys, runNamed, sameItems } from './selectors.js';

/** The link, the store and the URL of the nearest <TacticalLinkProvider>. */
export function useTacticalLink(): TacticalLink {
  const value = useContext(TacticalLinkContext);
  if (!value) throw new Error('@tactical-link/react: this hook or component needs a <TacticalLinkProvider> above it');
  return value;
}

/** The link: status (connecting, live, reconnecting, offline), retry time, reason, close code, authentication. */
export function useLinkStatus(): LinkInfo {
  const { link } = useTacticalLink();
  const subscribe = useCallback((notify: () => void) => link.onStatus(notify), [link]);
  return useSyncExternalStore(subscribe, () => link.info, () => link.info);
}

interface Selected<T> {
  state: PipelineState;
  select: (state: PipelineState) => T;
  value: T;
}

/**
 * What `select` returns of the pipeline state; the component renders again
 * only when that changes (by `isEqual`, `Object.is` by default). `select` is
 * run once per change of the state, not on every render: give a stable
 * function (module-level, or `useCallback`).
 */
export function usePipelineSelector<T>(select: (state: PipelineState) => T, isEqual: (a: T, b: T) => boolean = Object.is): T {
  const { store } = useTacticalLink();
  const held = useRef<Selected<T> | null>(null);
  const read = () => {
    const state = store.getState();
    const last = held.current;
    if (last !== null && last.state === state && last.select === select) return last.value;
    const next = select(state);
    const value = last !== null && isEqual(last.value, next) ? last.value : next;
    held.current = { state, select, value };
    return value;
  };
  return useSyncExternalStore(store.subscribe, read, read);
}

const wholeState = (state: PipelineState) => state;
const heldRuns = (state: PipelineState) => state.runs;
const latestEvents = (state: PipelineState) => state.events;

/** The whole pipeline state: runs, latest events, bus, welcome, max_runs, the resume notice. Renders on every change: prefer the hooks below. */
export function usePipelineState(): PipelineState {
  return usePipelineSelector(wholeState);
}

/** Every run held, newest start first. */
export function useRuns(): readonly Run[] {
  const runs = usePipelineSelector(heldRuns);
  return useMemo(() => heldRunsNewestFirst(runs), [runs]);
}

/** The keys of the runs held, newest start first: a new list only when a run comes or goes. */
export function useRunKeys(): readonly string[] {
  return usePipelineSelector(runKeys, sameItems);
}

/** The key of the newest run held, or null. */
export function useNewestRunKey(): string | null {
  return usePipelineSelector(newestRunKey);
}

/** How many runs are held, and how many have a stalled stage. */
export function useRunCounts(): readonly [held: number, stalled: number] {
  return usePipelineSelector(runCounts, sameItems);
}

/**
 * One run: by its key (`tenant/user_id/run_id`), else by its run id (the
 * newest run of that id when several tenants use it); undefined until the
 * gateway has told of it, and without a `runId`. The same object until that
 * run changes.
 */
export function useRun(runId: string | null | undefined): Run | undefined {
  const select = useCallback((state: PipelineState) => (runId ? runNamed(state.runs, runId) : undefined), [runId]);
  return usePipelineSelector(select);
}

/** The latest events (at most 200), oldest first, as the store holds them: a new list with each event. */
export function useLatestEvents(): readonly EventFrame[] {
  return usePipelineSelector(latestEvents);
}

/** The latest events (at most 200) that pass `filter`, newest first. */
export function useEvents(filter: EventFilter = {}): readonly EventFrame[] {
  const events = useLatestEvents();
  const { runId, stage, status, type, text } = filter;
  return useMemo(() => eventsMatching(events, { runId, stage, status, type, text }), [events, runId, stage, status, type, text]);
}

/** Whether views of these runs name each run's tenant (an admin, or runs of another tenant than the viewer's). */
export function useShowsTenants(runs: readonly Run[]): boolean {
  const { auth } = useLinkStatus();
  return showsTenants(runs, auth.phase === 'authenticated' ? auth.identity : null);
}

/** `useShowsTenants` of every run held, without rendering again when only the runs change. */
export function useShowsTenantsOfHeld(): boolean {
  const { auth } = useLinkStatus();
  const viewer = auth.phase === 'authenticated' ? auth.identity : null;
  const select = useCallback((state: PipelineState) => showsTenants(heldRunsNewestFirst(state.runs), viewer), [viewer]);
  return usePipelineSelector(select);
}
