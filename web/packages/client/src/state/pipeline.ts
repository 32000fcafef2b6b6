// The dashboard's one store: every pipeline run, the latest events and the
// bus state, as the gateway tells them.
//
// The gateway is the one place that folds events into runs; the page only
// replaces its copy (docs/protocol.md, "event", "run"). A snapshot replaces
// every run; an event frame's `run`, and a `run` frame, replace that run's
// fields and the one stage they name. Runs are keyed by `run.key` (tenant,
// user and run id), never by run id alone. Version rules, per run:
//
// - a run's `version` is the id of the newest event folded into it
//   (`<ms>-<seq>`), compared as ids (../socket/eventId.ts). A frame's run
//   applies when its version is at least the version of the copy held; a
//   lower one is an older state and is ignored. An equal version is the
//   same state of the run: a `run` frame reporting a stall (or its end)
//   carries the version of the run's last event (a stall is not an event),
//   and a gateway that restarted replays its reloaded history with the
//   version of the restored run on every frame, one stage each;
// - versions are kept across connections: the copy held is compared with
//   every frame, whichever gateway sends it. Versions were once counts of
//   the events one gateway had folded, which a restarted gateway, or
//   another one a client resumed on, could report lower for the same state,
//   so they had to be forgotten on each new connection. Ids are the same on
//   every gateway reading the same Redis and only grow (a run the gateway
//   dropped and sees again comes back with its new event's id, higher than
//   any it had), so a lower version is always an older state, on any
//   connection. A resuming client gets, after the replayed events, a `run`
//   frame for every stage stalled now, at the version it already holds:
//   it applies, by the equal rule.
//
// At most `max_runs` runs (the snapshot's) are kept, dropping, as the
// gateway does, the runs with the oldest version (whose newest event came
// first). Everything else on screen is derived from this state.

import type { BusFrame, EventFrame, RunDeltaWire, ServerFrame, WelcomeFrame } from '../socket/frames.js';
import { compareEventIds } from '../socket/eventId.js';
import { runFromWire, runWithDelta, type Run } from './runs.js';

/** Events kept for the log, like the gateway's `recent_events`. */
export const MAX_EVENTS = 200;

export interface PipelineState {
  /** By `run.key`. */
  runs: Readonly<Record<string, Run>>;
  /** Runs kept at most: the last snapshot's `max_runs` (null before the first). */
  maxRuns: number | null;
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
  maxRuns: null,
  events: [],
  bus: null,
  welcome: null,
  snapshotReceived: false,
  resumeFailed: null,
};

/** The detail an event carries, when it is a string. */
export function eventDetail(frame: EventFrame): string | null {
  return typeof frame.event.detail === 'string' ? frame.event.detail : null;
}

/** Whether a frame's run replaces the copy held at version `held` (none held: it does). */
export function supersedes(delta: RunDeltaWire, held: string | undefined): boolean {
  return held === undefined || compareEventIds(delta.version, held) >= 0;
}

/** Newest version first; then by key, so the order is total. */
function newestVersionFirst(a: Run, b: Run): number {
  return compareEventIds(b.version, a.version) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** The `max` runs with the newest versions (all of them when `max` is null), as the gateway keeps them. */
function keepNewest(runs: Record<string, Run>, max: number | null): Record<string, Run> {
  const all = Object.values(runs);
  if (max === null || all.length <= max) return runs;
  return Object.fromEntries(all.sort(newestVersionFirst).slice(0, max).map((run) => [run.key, run]));
}

/** Replaces a run's copy with a frame's `run`, when the version rule says so. */
function applyDelta(state: PipelineState, delta: RunDeltaWire): PipelineState {
  const held = state.runs[delta.key];
  if (!supersedes(delta, held?.version)) return state;
  const runs: Record<string, Run> = { ...state.runs, [delta.key]: runWithDelta(held, delta) };
  return { ...state, runs: held ? runs : keepNewest(runs, state.maxRuns) };
}

function applyEvent(state: PipelineState, frame: EventFrame): PipelineState {
  const events =
    state.events.length >= MAX_EVENTS
      ? [...state.events.slice(state.events.length - MAX_EVENTS + 1), frame]
      : [...state.events, frame];
  const logged = { ...state, events };
  return frame.run ? applyDelta(logged, frame.run) : logged;
}

function applySnapshot(state: PipelineState, frame: Extract<ServerFrame, { type: 'snapshot' }>): PipelineState {
  const runs = keepNewest(Object.fromEntries(frame.runs.map((wire) => [wire.key, runFromWire(wire)])), frame.max_runs);
  return {
    ...state,
    runs,
    maxRuns: frame.max_runs,
    events: frame.recent_events.slice(-MAX_EVENTS),
    bus: frame.bus,
    snapshotReceived: true,
    // A later snapshot that resumed nothing does not hide an unread notice.
    resumeFailed: frame.resume_failed ?? state.resumeFailed,
  };
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
      // A new connection; versions still compare (see the header).
      return { ...state, welcome: frame };
    case 'snapshot':
      return applySnapshot(state, frame);
    case 'authenticated':
      // Who the page is: the link status has it (LinkInfo.auth).
      return state;
    case 'resumed':
      // Not a reset: the replayed events that follow bring the state up to date.
      return { ...state, bus: frame.bus };
    case 'event':
      return applyEvent(state, frame);
    case 'run':
      return applyDelta(state, frame.run);
    case 'bus':
      return { ...state, bus: frame };
    case 'pong':
    case 'error':
      return state;
  }
}
