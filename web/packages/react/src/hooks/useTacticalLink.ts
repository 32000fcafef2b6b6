// The hooks of @tactical-link/react: what the components under a
// <TacticalLinkProvider> read. Each subscribes to the part of the state it
// returns, which is the same object until that part changes.

import { useCallback, useContext, useMemo, useSyncExternalStore } from 'react';
import {
  findRun,
  runsNewestFirst,
  showsTenants,
  type EventFrame,
  type LinkInfo,
  type PipelineState,
  type Run,
} from '@tactical-link/client';
import { TacticalLinkContext, type TacticalLink } from '../provider.js';
import { eventsMatching, type EventFilter } from '../timeline/eventFilter.js';

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

function usePipeline<T>(select: (state: PipelineState) => T): T {
  const { store } = useTacticalLink();
  const read = () => select(store.getState());
  return useSyncExternalStore(store.subscribe, read, read);
}

/** The whole pipeline state: runs, latest events, bus, welcome, max_runs, the resume notice. */
export function usePipelineState(): PipelineState {
  return usePipeline((state) => state);
}

/** Every run held, newest start first. */
export function useRuns(): readonly Run[] {
  const runs = usePipeline((state) => state.runs);
  return useMemo(() => runsNewestFirst(runs), [runs]);
}

/**
 * One run: by its key (`tenant/user_id/run_id`), else by its run id (the
 * newest run of that id when several tenants use it); undefined until the
 * gateway has told of it, and without a `runId`.
 */
export function useRun(runId: string | null | undefined): Run | undefined {
  const runs = usePipeline((state) => state.runs);
  return useMemo(() => (runId ? findRun(runs, runId) : undefined), [runs, runId]);
}

/** The latest events (at most 200) that pass `filter`, newest first. */
export function useEvents(filter: EventFilter = {}): readonly EventFrame[] {
  const events = usePipeline((state) => state.events);
  const { runId, stage, status, type, text } = filter;
  return useMemo(() => eventsMatching(events, { runId, stage, status, type, text }), [events, runId, stage, status, type, text]);
}

/** Whether views of these runs name each run's tenant (an admin, or runs of another tenant than the viewer's). */
export function useShowsTenants(runs: readonly Run[]): boolean {
  const { auth } = useLinkStatus();
  return showsTenants(runs, auth.phase === 'authenticated' ? auth.identity : null);
}
