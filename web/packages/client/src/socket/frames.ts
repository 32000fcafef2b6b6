// The frames of the Tactical Link WebSocket protocol (docs/protocol.md):
// their types, and one small hand-written validator per frame type.
//
// Every text frame from the gateway goes through `parseServerFrame` before
// anything else sees it, so the rest of the page can trust the types.
// A frame that does not match is reported as a `FrameError`, never thrown.

import { isEventId } from './eventId.js';

export const STAGES = ['radar', 'analyst', 'advisor', 'actuator', 'quality', 'report'] as const;
export type Stage = (typeof STAGES)[number];

export const STATUSES = ['idle', 'processing', 'complete', 'error'] as const;
export type Status = (typeof STATUSES)[number];

export const OUTCOMES = ['running', 'complete', 'error'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Protocol version this client speaks (2: event frames carry their run's new state, `run` frames, `max_runs`). */
export const PROTOCOL_VERSION = 2;

export interface WelcomeFrame {
  type: 'welcome';
  protocol: number;
  server: string;
  session: string;
  heartbeat_ms: number;
  max_client_frame_bytes: number;
  /** `required`: nothing but this welcome comes until the client has sent an `auth` frame. A gateway that does not say is taken as `none`. */
  auth: 'required' | 'none';
}

/** Who the gateway takes the client for (after the first `auth` frame and after every renewal). */
export interface AuthenticatedFrame {
  type: 'authenticated';
  sub: string;
  tenant: string | null;
  roles: string[];
  /** RFC 3339, UTC; null for a token without expiry. */
  expires_at: string | null;
}

export interface BusFrame {
  type: 'bus';
  state: 'up' | 'down';
  /** `redis` or `memory` today; kept open for buses to come. */
  kind: string;
  since: string;
  detail: string | null;
  lossy: boolean;
}

export interface StageStateWire {
  status: Status;
  detail: string | null;
  started_at: string | null;
  ended_at: string | null;
  error: string | null;
  /** 0 before the stage first runs, then 1, 2, … (retries). */
  attempt: number;
  /** 0–100, only while processing (when the publisher reports it). */
  progress: number | null;
  /** When a processing stage expects to be done (RFC 3339), when its publisher said. */
  eta: string | null;
  /** Processing for longer than the stage's deadline. */
  stalled: boolean;
}

/** A run's own fields, shared by the whole run (snapshots) and its deltas (event and `run` frames). */
export interface RunHeaderWire {
  /** `tenant/user_id/run_id`: identifies the run among those this client may see. */
  key: string;
  run_id: string;
  tenant: string | null;
  user_id: string | null;
  /**
   * The id of the newest event folded into the run (`<ms>-<seq>`), the same
   * on every gateway: compared as ids (./eventId.ts), higher is newer.
   */
  version: string;
  outcome: Outcome;
  started_at: string | null;
  updated_at: string | null;
  ended_at: string | null;
  /** Some stage is stalled. */
  stalled: boolean;
}

export interface RunStateWire extends RunHeaderWire {
  stages: Record<Stage, StageStateWire>;
}

/** The `run` of an event frame (and of a `run` frame): the run's fields and the one stage that changed. */
export interface RunDeltaWire extends RunHeaderWire {
  stage: Stage;
  state: StageStateWire;
  /** The event came after a newer one of its stage: it did not move the stage. */
  stale: boolean;
}

export interface PipelineField {
  run_id: string;
  stage: Stage;
  status: Status;
}

/** The publisher's event object, as published (unknown fields kept). */
export type PublishedEvent = { type: string } & Record<string, unknown>;

export interface EventFrame {
  type: 'event';
  id: string;
  received_at: string;
  pipeline?: PipelineField;
  /** With `pipeline` only: the run after the gateway folded the event in. */
  run?: RunDeltaWire;
  event: PublishedEvent;
}

/** A change of a run that no event caused (a stage stalled, or no longer is). */
export interface RunFrame {
  type: 'run';
  run: RunDeltaWire;
}

export interface SnapshotFrame {
  type: 'snapshot';
  last_id: string | null;
  /** The id the client asked to resume from, when that was not possible (events in between are lost to it). */
  resume_failed: string | null;
  bus: BusFrame;
  /** How many runs the gateway keeps (`--max-runs`): the client keeps no more. */
  max_runs: number;
  runs: RunStateWire[];
  recent_events: EventFrame[];
}

/** Sent instead of a snapshot on a resumed connection: the next `replayed` event frames are the ones missed. */
export interface ResumedFrame {
  type: 'resumed';
  last_id: string;
  replayed: number;
  bus: BusFrame;
}

export interface PongFrame {
  type: 'pong';
  nonce: unknown;
}

export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
}

export type ServerFrame =
  | WelcomeFrame
  | AuthenticatedFrame
  | SnapshotFrame
  | ResumedFrame
  | EventFrame
  | RunFrame
  | BusFrame
  | PongFrame
  | ErrorFrame;

/** A frame that could not be understood: what it was, and why not. */
export interface FrameError {
  /** Where in the frame the problem is, e.g. `snapshot.runs[2].stages.radar.status`. */
  path: string;
  message: string;
  /** The start of the raw text, for logs. */
  excerpt: string;
}

export type ParseResult = { ok: true; frame: ServerFrame } | { ok: false; error: FrameError };

/** Raised inside validators only; caught by `parseServerFrame`. */
class Invalid extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function obj(value: unknown, path: string): Obj {
  if (!isObject(value)) throw new Invalid(path, 'expected an object');
  return value;
}

function str(o: Obj, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new Invalid(`${path}.${key}`, 'expected a string');
  return v;
}

function strOrNull(o: Obj, key: string, path: string): string | null {
  const v = o[key];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') throw new Invalid(`${path}.${key}`, 'expected a string or null');
  return v;
}

function num(o: Obj, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Invalid(`${path}.${key}`, 'expected a number');
  return v;
}

function wholeNumber(o: Obj, key: string, path: string, min: number): number {
  const v = num(o, key, path);
  if (!Number.isInteger(v) || v < min) throw new Invalid(`${path}.${key}`, `expected a whole number >= ${min}`);
  return v;
}

function eventId(o: Obj, key: string, path: string): string {
  const v = str(o, key, path);
  if (!isEventId(v)) throw new Invalid(`${path}.${key}`, 'expected an event id (<ms>-<seq>)');
  return v;
}

function bool(o: Obj, key: string, path: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw new Invalid(`${path}.${key}`, 'expected a boolean');
  return v;
}

function oneOf<T extends string>(o: Obj, key: string, allowed: readonly T[], path: string): T {
  const v = o[key];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new Invalid(`${path}.${key}`, `expected one of ${allowed.join(', ')}`);
  }
  return v as T;
}

function arr(o: Obj, key: string, path: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new Invalid(`${path}.${key}`, 'expected an array');
  return v;
}

export function validateWelcome(o: Obj, path = 'welcome'): WelcomeFrame {
  return {
    type: 'welcome',
    protocol: num(o, 'protocol', path),
    server: str(o, 'server', path),
    session: str(o, 'session', path),
    heartbeat_ms: num(o, 'heartbeat_ms', path),
    max_client_frame_bytes: num(o, 'max_client_frame_bytes', path),
    auth: o.auth === undefined ? 'none' : oneOf(o, 'auth', ['required', 'none'] as const, path),
  };
}

export function validateAuthenticated(o: Obj, path = 'authenticated'): AuthenticatedFrame {
  const roles = arr(o, 'roles', path).map((role, i) => {
    if (typeof role !== 'string') throw new Invalid(`${path}.roles[${i}]`, 'expected a string');
    return role;
  });
  return {
    type: 'authenticated',
    sub: str(o, 'sub', path),
    tenant: strOrNull(o, 'tenant', path),
    roles,
    expires_at: strOrNull(o, 'expires_at', path),
  };
}

export function validateBus(o: Obj, path = 'bus'): BusFrame {
  if (o.type !== undefined && o.type !== 'bus') throw new Invalid(`${path}.type`, 'expected "bus"');
  return {
    type: 'bus',
    state: oneOf(o, 'state', ['up', 'down'] as const, path),
    kind: str(o, 'kind', path),
    since: str(o, 'since', path),
    detail: strOrNull(o, 'detail', path),
    lossy: bool(o, 'lossy', path),
  };
}

function progressOf(o: Obj, path: string): number | null {
  if (o.progress === null || o.progress === undefined) return null;
  const v = num(o, 'progress', path);
  if (v < 0 || v > 100) throw new Invalid(`${path}.progress`, 'expected a number from 0 to 100');
  return v;
}

function validateStage(value: unknown, path: string): StageStateWire {
  const o = obj(value, path);
  return {
    status: oneOf(o, 'status', STATUSES, path),
    detail: strOrNull(o, 'detail', path),
    started_at: strOrNull(o, 'started_at', path),
    ended_at: strOrNull(o, 'ended_at', path),
    error: strOrNull(o, 'error', path),
    attempt: wholeNumber(o, 'attempt', path, 0),
    progress: progressOf(o, path),
    eta: strOrNull(o, 'eta', path),
    stalled: bool(o, 'stalled', path),
  };
}

function nonEmpty(o: Obj, key: string, path: string): string {
  const v = str(o, key, path);
  if (v === '') throw new Invalid(`${path}.${key}`, 'expected a non-empty string');
  return v;
}

function validateRunHeader(o: Obj, path: string): RunHeaderWire {
  return {
    key: nonEmpty(o, 'key', path),
    run_id: nonEmpty(o, 'run_id', path),
    tenant: strOrNull(o, 'tenant', path),
    user_id: strOrNull(o, 'user_id', path),
    version: eventId(o, 'version', path),
    outcome: oneOf(o, 'outcome', OUTCOMES, path),
    started_at: strOrNull(o, 'started_at', path),
    updated_at: strOrNull(o, 'updated_at', path),
    ended_at: strOrNull(o, 'ended_at', path),
    stalled: bool(o, 'stalled', path),
  };
}

export function validateRun(value: unknown, path: string): RunStateWire {
  const o = obj(value, path);
  const header = validateRunHeader(o, path);
  const stagesObj = obj(o.stages, `${path}.stages`);
  const stages = {} as Record<Stage, StageStateWire>;
  for (const stage of STAGES) {
    stages[stage] = validateStage(stagesObj[stage], `${path}.stages.${stage}`);
  }
  return { ...header, stages };
}

export function validateRunDelta(value: unknown, path: string): RunDeltaWire {
  const o = obj(value, path);
  return {
    ...validateRunHeader(o, path),
    stage: oneOf(o, 'stage', STAGES, path),
    state: validateStage(o.state, `${path}.state`),
    stale: bool(o, 'stale', path),
  };
}

export function validateEventFrame(o: Obj, path = 'event'): EventFrame {
  const event = obj(o.event, `${path}.event`);
  if (typeof event.type !== 'string') throw new Invalid(`${path}.event.type`, 'expected a string');
  const frame: EventFrame = {
    type: 'event',
    id: str(o, 'id', path),
    received_at: str(o, 'received_at', path),
    event: event as PublishedEvent,
  };
  if (o.pipeline !== undefined && o.pipeline !== null) {
    const p = obj(o.pipeline, `${path}.pipeline`);
    const pipeline: PipelineField = {
      run_id: str(p, 'run_id', `${path}.pipeline`),
      stage: oneOf(p, 'stage', STAGES, `${path}.pipeline`),
      status: oneOf(p, 'status', STATUSES, `${path}.pipeline`),
    };
    const run = validateRunDelta(o.run, `${path}.run`);
    if (run.run_id !== pipeline.run_id) throw new Invalid(`${path}.run.run_id`, 'expected the run_id of `pipeline`');
    if (run.stage !== pipeline.stage) throw new Invalid(`${path}.run.stage`, 'expected the stage of `pipeline`');
    frame.pipeline = pipeline;
    frame.run = run;
  }
  return frame;
}

export function validateSnapshot(o: Obj, path = 'snapshot'): SnapshotFrame {
  return {
    type: 'snapshot',
    last_id: strOrNull(o, 'last_id', path),
    resume_failed: strOrNull(o, 'resume_failed', path),
    bus: validateBus(obj(o.bus, `${path}.bus`), `${path}.bus`),
    max_runs: wholeNumber(o, 'max_runs', path, 1),
    runs: arr(o, 'runs', path).map((run, i) => validateRun(run, `${path}.runs[${i}]`)),
    recent_events: arr(o, 'recent_events', path).map((ev, i) => {
      const p = `${path}.recent_events[${i}]`;
      const e = obj(ev, p);
      if (e.type !== 'event') throw new Invalid(`${p}.type`, 'expected "event"');
      return validateEventFrame(e, p);
    }),
  };
}

export function validateResumed(o: Obj, path = 'resumed'): ResumedFrame {
  return {
    type: 'resumed',
    last_id: str(o, 'last_id', path),
    replayed: wholeNumber(o, 'replayed', path, 0),
    bus: validateBus(obj(o.bus, `${path}.bus`), `${path}.bus`),
  };
}

function validate(o: Obj): ServerFrame {
  switch (o.type) {
    case 'welcome':
      return validateWelcome(o);
    case 'authenticated':
      return validateAuthenticated(o);
    case 'snapshot':
      return validateSnapshot(o);
    case 'resumed':
      return validateResumed(o);
    case 'event':
      return validateEventFrame(o);
    case 'run':
      return { type: 'run', run: validateRunDelta(o.run, 'run.run') };
    case 'bus':
      return validateBus(o);
    case 'pong':
      return { type: 'pong', nonce: o.nonce ?? null };
    case 'error':
      return { type: 'error', code: str(o, 'code', 'error'), message: str(o, 'message', 'error') };
    default:
      throw new Invalid(
        'type',
        typeof o.type === 'string' ? `unknown frame type ${JSON.stringify(o.type.slice(0, 40))}` : 'missing string "type"',
      );
  }
}

/** Parses and validates one text frame from the gateway. Never throws. */
export function parseServerFrame(text: string): ParseResult {
  const excerpt = text.length > 120 ? `${text.slice(0, 120)}…` : text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: { path: '', message: `not JSON: ${(err as Error).message}`, excerpt } };
  }
  if (!isObject(value)) {
    return { ok: false, error: { path: '', message: 'frame is not a JSON object', excerpt } };
  }
  try {
    return { ok: true, frame: validate(value) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: { path: err.path, message: err.message, excerpt } };
    return { ok: false, error: { path: '', message: String(err), excerpt } };
  }
}
