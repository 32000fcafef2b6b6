// The dashboard's one store: every pipeline run, the latest events and the
// bus state, as the gateway tells them.
//
// The gateway is the one place that folds events into runs; the page only
// replaces its copy (docs/protocol.md, "event", "run"). A snapshot replaces
// every run; an event frame's `run`, and a `run` frame, replace that run's
// fields and the one stage they name. Runs are keyed by `run.key` (tenant,
// user and run id), never by run id alone. Version rules, per run:
//
// - a frame's run applies when its `version` is at least the version of the
//   copy held; a lower one is an older state and is ignored. An equal
//   version is the same state of the run: a `run` frame reporting a stall
//   carries the version of the run's last event (a stall does not count as
//   an event), and a gateway that restarted replays its reloaded history
//   with the version of the restored run on every frame, one stage each;
// - versions are compared only within one connection: they count the
//   events one gateway folded, and a gateway that restarted, or another
//   one a client resumes on, may count fewer for the same state. After a
//   `resumed` frame, the first frame of each held run applies whatever its
//   version; frames then come in that gateway's order.
//
// At most `max_runs` runs (the snapshot's) are kept, dropping the ones that
// started first. Everything else on screen is derived from this state.

import type { BusFrame, EventFrame, RunDeltaWire, ServerFrame, WelcomeFrame } from '../lib/socket/frames';
import { compareNewestFirst, runFromWire, runWithDelta, type Run } from './runs';

/** Events kept for the log, like the gateway's `recent_events`. */
export const MAX_EVENTS = 200;

export interface PipelineState {
  /** By `run.key`. */
  runs: Readonly<Record<string, Run>>;
  /**
   * The version of each run as told on the current connection (by its
   * snapshot or a frame since): what the next frame of the run is compared
   * with. A new connection starts with none.
   */
  versions: Readonly<Record<string, number>>;
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
  versions: {},
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

/** Whether a frame's run replaces the copy held at version `held` (as told on this connection, if at all). */
export function supersedes(delta: RunDeltaWire, held: number | undefined): boolean {
  return held === undefined || delta.version >= held;
}

/** The `max` runs that started last (all of them when `max` is null). */
function keepNewest(runs: Record<string, Run>, max: number | null): Record<string, Run> {
  const all = Object.values(runs);
  if (max === null || all.length <= max) return runs;
  return Object.fromEntries(all.sort(compareNewestFirst).slice(0, max).map((run) => [run.key, run]));
}

/** Only the versions of the runs kept. */
function versionsOf(runs: Record<string, Run>, versions: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.keys(runs).flatMap((key) => (versions[key] === undefined ? [] : [[key, versions[key]]])));
}

/** Replaces a run's copy with a frame's `run`, when the version rules say so. */
function applyDelta(state: PipelineState, delta: RunDeltaWire): PipelineState {
  if (!supersedes(delta, state.versions[delta.key])) return state;
  const held = state.runs[delta.key];
  let runs: Record<string, Run> = { ...state.runs, [delta.key]: runWithDelta(held, delta) };
  let versions: Record<string, number> = { ...state.versions, [delta.key]: delta.version };
  if (!held) {
    runs = keepNewest(runs, state.maxRuns);
    if (Object.keys(runs).length < Object.keys(versions).length) versions = versionsOf(runs, versions);
  }
  return { ...state, runs, versions };
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
    versions: Object.fromEntries(Object.values(runs).map((run) => [run.key, run.version])),
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
      // A new connection: versions told on the last one do not compare with its own.
      return { ...state, welcome: frame, versions: {} };
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
