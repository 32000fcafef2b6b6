// Sample frames shaped as docs/protocol.md shows them, for tests only.

import type { RunDeltaWire, RunHeaderWire, Stage, StageStateWire } from '../socket/frames.js';

export const WELCOME = {
  type: 'welcome',
  protocol: 2,
  server: 'tactical-link/0.1.0',
  session: 'c1f0',
  heartbeat_ms: 15_000,
  max_client_frame_bytes: 4096,
  auth: 'none',
};

/** The welcome of a gateway that verifies tokens. */
export const WELCOME_AUTH = { ...WELCOME, auth: 'required' };

export const AUTHENTICATED = {
  type: 'authenticated',
  sub: 'alice',
  tenant: 'acme',
  roles: ['viewer'],
  expires_at: '2026-11-28T16:00:00.000Z',
};

export const BUS_UP = {
  type: 'bus',
  state: 'up',
  kind: 'redis',
  since: '2026-11-28T15:00:00.000Z',
  detail: null,
  lossy: true,
};

export const BUS_DOWN = {
  type: 'bus',
  state: 'down',
  kind: 'redis',
  since: '2026-11-28T15:01:02.000Z',
  detail: 'Connection refused (os error 111)',
  lossy: true,
};

const idle: StageStateWire = {
  status: 'idle',
  detail: null,
  started_at: null,
  ended_at: null,
  error: null,
  attempt: 0,
  progress: null,
  eta: null,
  stalled: false,
};

/** A stage state: idle, with `overrides`. */
export function stageWire(overrides: Partial<StageStateWire> = {}): StageStateWire {
  return { ...idle, ...overrides };
}

/** A run key as the gateway writes it: `tenant/user_id/run_id`, each part with `%` and `/` escaped. */
export function keyOf(runId: string, tenant: string | null = null, userId: string | null = null): string {
  const part = (text: string | null) => (text ?? '').replaceAll('%', '%25').replaceAll('/', '%2F');
  return `${part(tenant)}/${part(userId)}/${part(runId)}`;
}

function header(runId: string, overrides: Partial<RunHeaderWire>): RunHeaderWire {
  const tenant = overrides.tenant ?? null;
  const userId = overrides.user_id ?? null;
  return {
    key: keyOf(runId, tenant, userId),
    run_id: runId,
    tenant,
    user_id: userId,
    version: '1-0',
    outcome: 'running',
    started_at: '2026-11-28T15:00:00.000Z',
    updated_at: '2026-11-28T15:00:01.000Z',
    ended_at: null,
    stalled: false,
    ...overrides,
  };
}

/** The `run` of an event frame: `stage` in `state`, with the run's fields. */
export function runDelta(
  runId: string,
  stage: Stage,
  state: Partial<StageStateWire> = {},
  overrides: Partial<RunHeaderWire> & { stale?: boolean } = {},
): RunDeltaWire {
  const { stale = false, ...rest } = overrides;
  return { ...header(runId, rest), stage, state: stageWire(state), stale };
}

/** An event frame of a pipeline event; its `run` says the stage is in `status` unless `run` is given. */
export function eventFrame(
  id: string,
  runId: string,
  stage: Stage,
  status: string,
  extra: Record<string, unknown> = {},
  receivedAt = '2026-11-28T15:00:00.125Z',
  run: RunDeltaWire = runDelta(runId, stage, { status: status as StageStateWire['status'] }),
) {
  return {
    type: 'event',
    id,
    received_at: receivedAt,
    pipeline: { run_id: runId, stage, status },
    run,
    event: { type: 'pipeline.stage', run_id: runId, stage: stage.toUpperCase(), status: status.toUpperCase(), ...extra },
  };
}

/** A `run` frame (a stall, or its end). */
export function runFrame(run: RunDeltaWire) {
  return { type: 'run', run };
}

export function runWire(
  runId: string,
  overrides: Partial<Record<Stage, Partial<StageStateWire>>> = {},
  fields: Partial<RunHeaderWire> = {},
) {
  const stages = Object.fromEntries(
    (['radar', 'analyst', 'advisor', 'actuator', 'quality', 'report'] as const).map((s) => [s, stageWire(overrides[s])]),
  );
  return { ...header(runId, fields), stages };
}

export function snapshotFrame(
  runs: unknown[] = [],
  recent: unknown[] = [],
  lastId: string | null = null,
  bus: unknown = BUS_UP,
  resumeFailed: string | null = null,
  maxRuns = 100,
) {
  return { type: 'snapshot', last_id: lastId, resume_failed: resumeFailed, bus, max_runs: maxRuns, runs, recent_events: recent };
}

export function resumedFrame(lastId: string, replayed: number, bus: unknown = BUS_UP) {
  return { type: 'resumed', last_id: lastId, replayed, bus };
}
