// What a run is on the page: the gateway's RunState (docs/protocol.md,
// "RunState") with its times as Unix ms, read from the wire; and the few
// questions every view of runs asks (their order, their names).
//
// The page never works out a run's state from events: it takes what the
// gateway sends (./pipeline.ts decides when).

import {
  STAGES,
  type Outcome,
  type RunDeltaWire,
  type RunHeaderWire,
  type RunStateWire,
  type Stage,
  type StageStateWire,
  type Status,
} from '../socket/frames.js';
import { parseRfc3339 } from '../time.js';

export interface StageView {
  status: Status;
  detail: string | null;
  /** Unix ms. */
  startedAt: number | null;
  endedAt: number | null;
  error: string | null;
  /** 0 before the stage first ran, then 1, 2, … (a retry). */
  attempt: number;
  /** 0–100 while processing, when the publisher reports it. */
  progress: number | null;
  /** Unix ms: when a processing stage expects to be done. */
  eta: number | null;
  /** Processing for longer than its deadline. */
  stalled: boolean;
}

export interface Run {
  /** `tenant/user_id/run_id`: what tells runs apart (two tenants may use one run id). */
  key: string;
  runId: string;
  tenant: string | null;
  userId: string | null;
  /** The id of the newest event folded into the run: compared as event ids (../socket/eventId.ts), higher is newer. */
  version: string;
  outcome: Outcome;
  startedAt: number | null;
  updatedAt: number | null;
  endedAt: number | null;
  stalled: boolean;
  stages: Readonly<Record<Stage, StageView>>;
}

export const IDLE_STAGE: StageView = {
  status: 'idle',
  detail: null,
  startedAt: null,
  endedAt: null,
  error: null,
  attempt: 0,
  progress: null,
  eta: null,
  stalled: false,
};

function time(text: string | null): number | null {
  return text === null ? null : parseRfc3339(text);
}

export function stageFromWire(wire: StageStateWire): StageView {
  return {
    status: wire.status,
    detail: wire.detail,
    startedAt: time(wire.started_at),
    endedAt: time(wire.ended_at),
    error: wire.error,
    attempt: wire.attempt,
    progress: wire.progress,
    eta: time(wire.eta),
    stalled: wire.stalled,
  };
}

/** A run's own fields (everything but its stages). */
function headerFromWire(wire: RunHeaderWire): Omit<Run, 'stages'> {
  return {
    key: wire.key,
    runId: wire.run_id,
    tenant: wire.tenant,
    userId: wire.user_id,
    version: wire.version,
    outcome: wire.outcome,
    startedAt: time(wire.started_at),
    updatedAt: time(wire.updated_at),
    endedAt: time(wire.ended_at),
    stalled: wire.stalled,
  };
}

/** A whole run, as a snapshot carries it. */
export function runFromWire(wire: RunStateWire): Run {
  const stages = {} as Record<Stage, StageView>;
  for (const stage of STAGES) stages[stage] = stageFromWire(wire.stages[stage]);
  return { ...headerFromWire(wire), stages };
}

/**
 * `held` with the run's fields and the one stage of `delta` replaced. The
 * other stages keep their objects, so what shows them need not render again.
 * Without a held copy the other stages are idle: right for a new run (the
 * gateway's first event of it), and all a delta can say otherwise.
 */
export function runWithDelta(held: Run | undefined, delta: RunDeltaWire): Run {
  const stages = held ? { ...held.stages } : idleStages();
  stages[delta.stage] = stageFromWire(delta.state);
  return { ...headerFromWire(delta), stages };
}

function idleStages(): Record<Stage, StageView> {
  const stages = {} as Record<Stage, StageView>;
  for (const stage of STAGES) stages[stage] = IDLE_STAGE;
  return stages;
}

/** Newest start first, as the gateway lists runs; then by key, so the order is total. */
export function compareNewestFirst(a: Run, b: Run): number {
  return (b.startedAt ?? -Infinity) - (a.startedAt ?? -Infinity) || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0);
}

export function runsNewestFirst(runs: Readonly<Record<string, Run>>): Run[] {
  return Object.values(runs).sort(compareNewestFirst);
}

/**
 * The run a page names: by its key (`tenant/user_id/run_id`), else by its
 * run id, the newest run of that id when several tenants use it.
 */
export function findRun(runs: Readonly<Record<string, Run>>, keyOrRunId: string): Run | undefined {
  return runs[keyOrRunId] ?? runsNewestFirst(runs).find((run) => run.runId === keyOrRunId);
}

/** Who the page is, as far as telling tenants apart goes. */
export interface Viewer {
  tenant: string | null;
  roles: readonly string[];
}

/**
 * Whether views of runs name each run's tenant: for an admin (who sees
 * every tenant), and whenever some run belongs to another tenant than the
 * viewer's (a gateway without authentication shows them all).
 */
export function showsTenants(runs: readonly Run[], viewer: Viewer | null): boolean {
  if (viewer?.roles.includes('admin')) return true;
  const own = viewer?.tenant ?? null;
  return runs.some((run) => run.tenant !== null && run.tenant !== own);
}

/** A run's name for people: its id, and its tenant when tenants are shown. */
export function runLabel(run: Pick<Run, 'runId' | 'tenant'>, withTenant: boolean): string {
  return withTenant ? `${run.runId} (${run.tenant ?? 'no tenant'})` : run.runId;
}
