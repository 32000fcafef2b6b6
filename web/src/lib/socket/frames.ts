// The frames of the Tactical Link WebSocket protocol (docs/protocol.md):
// their types, and one small hand-written validator per frame type.
//
// Every text frame from the gateway goes through `parseServerFrame` before
// anything else sees it, so the rest of the page can trust the types.
// A frame that does not match is reported as a `FrameError`, never thrown.

export const STAGES = ['radar', 'analyst', 'advisor', 'actuator', 'quality', 'report'] as const;
export type Stage = (typeof STAGES)[number];

export const STATUSES = ['idle', 'processing', 'complete', 'error'] as const;
export type Status = (typeof STATUSES)[number];

export const OUTCOMES = ['running', 'complete', 'error'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Protocol version this client speaks. */
export const PROTOCOL_VERSION = 1;

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
}

export interface RunStateWire {
  run_id: string;
  started_at: string | null;
  updated_at: string | null;
  ended_at: string | null;
  outcome: Outcome;
  stages: Record<Stage, StageStateWire>;
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
  event: PublishedEvent;
}

export interface SnapshotFrame {
  type: 'snapshot';
  last_id: string | null;
  /** The id the client asked to resume from, when that was not possible (events in between are lost to it). */
  resume_failed: string | null;
  bus: BusFrame;
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

function validateStage(value: unknown, path: string): StageStateWire {
  const o = obj(value, path);
  return {
    status: oneOf(o, 'status', STATUSES, path),
    detail: strOrNull(o, 'detail', path),
    started_at: strOrNull(o, 'started_at', path),
    ended_at: strOrNull(o, 'ended_at', path),
    error: strOrNull(o, 'error', path),
  };
}

export function validateRun(value: unknown, path: string): RunStateWire {
  const o = obj(value, path);
  const stagesObj = obj(o.stages, `${path}.stages`);
  const stages = {} as Record<Stage, StageStateWire>;
  for (const stage of STAGES) {
    stages[stage] = validateStage(stagesObj[stage], `${path}.stages.${stage}`);
  }
  const runId = str(o, 'run_id', path);
  if (runId === '') throw new Invalid(`${path}.run_id`, 'expected a non-empty string');
  return {
    run_id: runId,
    started_at: strOrNull(o, 'started_at', path),
    updated_at: strOrNull(o, 'updated_at', path),
    ended_at: strOrNull(o, 'ended_at', path),
    outcome: oneOf(o, 'outcome', OUTCOMES, path),
    stages,
  };
}

export function validateEvent(o: Obj, path = 'event'): EventFrame {
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
    frame.pipeline = {
      run_id: str(p, 'run_id', `${path}.pipeline`),
      stage: oneOf(p, 'stage', STAGES, `${path}.pipeline`),
      status: oneOf(p, 'status', STATUSES, `${path}.pipeline`),
    };
  }
  return frame;
}

export function validateSnapshot(o: Obj, path = 'snapshot'): SnapshotFrame {
  return {
    type: 'snapshot',
    last_id: strOrNull(o, 'last_id', path),
    resume_failed: strOrNull(o, 'resume_failed', path),
    bus: validateBus(obj(o.bus, `${path}.bus`), `${path}.bus`),
    runs: arr(o, 'runs', path).map((run, i) => validateRun(run, `${path}.runs[${i}]`)),
    recent_events: arr(o, 'recent_events', path).map((ev, i) => {
      const p = `${path}.recent_events[${i}]`;
      const e = obj(ev, p);
      if (e.type !== 'event') throw new Invalid(`${p}.type`, 'expected "event"');
      return validateEvent(e, p);
    }),
  };
}

export function validateResumed(o: Obj, path = 'resumed'): ResumedFrame {
  const replayed = num(o, 'replayed', path);
  if (!Number.isInteger(replayed) || replayed < 0) throw new Invalid(`${path}.replayed`, 'expected a whole number >= 0');
  return {
    type: 'resumed',
    last_id: str(o, 'last_id', path),
    replayed,
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
      return validateEvent(o);
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
