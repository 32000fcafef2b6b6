// The dashboard's one store: every pipeline run, the latest events and the
// bus state, folded from server frames.
//
// `snapshot` replaces everything; each `event` with a `pipeline` field (live,
// or replayed after a `resumed` frame) updates its run by the same rules as
// the gateway's RunState (docs/protocol.md, "RunState"; src/pipeline.rs), so
// the page always shows what a fresh snapshot would. `resumed` keeps the state
// as it is (the replay brings it up to date). Everything else on screen is
// derived from this.

import {
  STAGES,
  type BusFrame,
  type EventFrame,
  type Outcome,
  type PipelineField,
  type RunStateWire,
  type ServerFrame,
  type Stage,
  type StageStateWire,
  type Status,
  type WelcomeFrame,
} from '../lib/socket/frames';
import { parseRfc3339, parseTs } from '../lib/time';

/** Events kept for the log, like the gateway's `recent_events`. */
export const MAX_EVENTS = 200;
/** Runs kept, like the gateway's default retention. */
export const MAX_RUNS = 100;

export interface StageView {
  status: Status;
  detail: string | null;
  /** Unix ms. */
  startedAt: number | null;
  endedAt: number | null;
  error: string | null;
}

export interface Run {
  runId: string;
  startedAt: number | null;
  updatedAt: number | null;
  endedAt: number | null;
  outcome: Outcome;
  stages: Readonly<Record<Stage, StageView>>;
}

export interface PipelineState {
  runs: Readonly<Record<string, Run>>;
  /** The latest events of any type, oldest first, at most MAX_EVENTS. */
  events: readonly EventFrame[];
  /** The gateway's link to its bus, as last told. */
  bus: BusFrame | null;
  /** The welcome of the current connection. */
  welcome: WelcomeFrame | null;
  /** A snapshot has been applied since the page loaded. */
  snapshotReceived: boolean;
  /**
   * The event id a reconnect could not resume from (`snapshot.resume_failed`):
   * events after it were missed and the page shows the current state instead.
   * Null when there is nothing to tell, or once the user has dismissed it.
   */
  resumeFailed: string | null;
}

export const INITIAL_PIPELINE_STATE: PipelineState = {
  runs: {},
  events: [],
  bus: null,
  welcome: null,
  snapshotReceived: false,
  resumeFailed: null,
};

const IDLE_STAGE: StageView = { status: 'idle', detail: null, startedAt: null, endedAt: null, error: null };

function idleStages(): Record<Stage, StageView> {
  const stages = {} as Record<Stage, StageView>;
  for (const stage of STAGES) stages[stage] = IDLE_STAGE;
  return stages;
}

function time(text: string | null): number | null {
  return text === null ? null : parseRfc3339(text);
}

function stageFromWire(wire: StageStateWire): StageView {
  return {
    status: wire.status,
    detail: wire.detail,
    startedAt: time(wire.started_at),
    endedAt: time(wire.ended_at),
    error: wire.error,
  };
}

export function runFromWire(wire: RunStateWire): Run {
  const stages = {} as Record<Stage, StageView>;
  for (const stage of STAGES) stages[stage] = stageFromWire(wire.stages[stage]);
  return {
    runId: wire.run_id,
    startedAt: time(wire.started_at),
    updatedAt: time(wire.updated_at),
    endedAt: time(wire.ended_at),
    outcome: wire.outcome,
    stages,
  };
}

/** The time an event counts at: its `ts` when valid, else when the gateway received it. */
export function eventTime(frame: EventFrame): number | null {
  return parseTs(frame.event.ts) ?? parseRfc3339(frame.received_at);
}

/** The detail an event carries, when it is a string. */
export function eventDetail(frame: EventFrame): string | null {
  return typeof frame.event.detail === 'string' ? frame.event.detail : null;
}

/** Creates a run at its first event, all stages idle. */
export function newRun(runId: string, at: number): Run {
  return { runId, startedAt: at, updatedAt: at, endedAt: null, outcome: 'running', stages: idleStages() };
}

/** Folds one pipeline update into a run at time `at`: the gateway's RunState::apply. */
export function applyUpdate(run: Run, update: PipelineField, detail: string | null, at: number): Run {
  const prev = run.stages[update.stage];
  let stage: StageView;
  switch (update.status) {
    case 'processing':
      stage = { ...prev, status: 'processing', startedAt: at, endedAt: null, error: null };
      break;
    case 'complete':
      stage = { ...prev, status: 'complete', startedAt: prev.startedAt ?? at, endedAt: at, error: null };
      break;
    case 'error':
      stage = { ...prev, status: 'error', endedAt: at, error: detail ?? 'error' };
      break;
    case 'idle':
      stage = { ...prev, status: 'idle', startedAt: null, endedAt: null, error: null };
      break;
  }
  if (detail !== null) stage = { ...stage, detail };
  const stages = { ...run.stages, [update.stage]: stage };
  const outcome: Outcome = STAGES.some((s) => stages[s].status === 'error')
    ? 'error'
    : stages.report.status === 'complete'
      ? 'complete'
      : 'running';
  const endedAt = outcome === 'running' ? null : run.outcome === outcome ? run.endedAt : at;
  return { ...run, stages, outcome, endedAt, updatedAt: at };
}

function applyEvent(state: PipelineState, frame: EventFrame): PipelineState {
  const events =
    state.events.length >= MAX_EVENTS
      ? [...state.events.slice(state.events.length - MAX_EVENTS + 1), frame]
      : [...state.events, frame];
  const update = frame.pipeline;
  const at = update ? eventTime(frame) : null;
  if (!update || at === null) return { ...state, events };
  const existing = state.runs[update.run_id];
  const run = applyUpdate(existing ?? newRun(update.run_id, at), update, eventDetail(frame), at);
  let runs: Record<string, Run> = { ...state.runs, [run.runId]: run };
  if (!existing) runs = evictStalest(runs, MAX_RUNS);
  return { ...state, events, runs };
}

/** Keeps at most `max` runs, dropping the least recently updated. */
function evictStalest(runs: Record<string, Run>, max: number): Record<string, Run> {
  const ids = Object.keys(runs);
  if (ids.length <= max) return runs;
  const keep = ids
    .map((id) => runs[id]!)
    .sort((a, b) => (b.updatedAt ?? -Infinity) - (a.updatedAt ?? -Infinity))
    .slice(0, max);
  return Object.fromEntries(keep.map((run) => [run.runId, run]));
}

export type PipelineAction =
  | { type: 'frame'; frame: ServerFrame }
  /** The user has read the "could not resume" notice. */
  | { type: 'dismiss-resume-notice' };

export function pipelineReducer(state: PipelineState, action: PipelineAction): PipelineState {
  if (action.type === 'dismiss-resume-notice') {
    return state.resumeFailed === null ? state : { ...state, resumeFailed: null };
  }
  const frame = action.frame;
  switch (frame.type) {
    case 'welcome':
      return { ...state, welcome: frame };
    case 'snapshot':
      return {
        ...state,
        runs: Object.fromEntries(frame.runs.map((wire) => [wire.run_id, runFromWire(wire)])),
        events: frame.recent_events.slice(-MAX_EVENTS),
        bus: frame.bus,
        snapshotReceived: true,
        // A later snapshot that resumed nothing does not hide an unread notice.
        resumeFailed: frame.resume_failed ?? state.resumeFailed,
      };
    case 'authenticated':
      // Who the page is: the link status has it (LinkInfo.auth).
      return state;
    case 'resumed':
      // Not a reset: the replayed events that follow bring the state up to date.
      return { ...state, bus: frame.bus };
    case 'event':
      return applyEvent(state, frame);
    case 'bus':
      return { ...state, bus: frame };
    case 'run':
    case 'pong':
    case 'error':
      return state;
  }
}

/** Runs newest start first, as the gateway lists them. */
export function runsNewestFirst(runs: Readonly<Record<string, Run>>): Run[] {
  return Object.values(runs).sort(
    (a, b) =>
      (b.startedAt ?? -Infinity) - (a.startedAt ?? -Infinity) || (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0),
  );
}
