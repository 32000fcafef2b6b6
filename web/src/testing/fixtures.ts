// Sample frames shaped as docs/protocol.md shows them, for tests only.

import type { Stage, StageStateWire } from '../lib/socket/frames';

export const WELCOME = {
  type: 'welcome',
  protocol: 1,
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

export function eventFrame(
  id: string,
  runId: string,
  stage: Stage,
  status: string,
  extra: Record<string, unknown> = {},
  receivedAt = '2026-11-28T15:00:00.125Z',
) {
  return {
    type: 'event',
    id,
    received_at: receivedAt,
    pipeline: { run_id: runId, stage, status },
    event: { type: 'pipeline.stage', run_id: runId, stage: stage.toUpperCase(), status: status.toUpperCase(), ...extra },
  };
}

const idle: StageStateWire = { status: 'idle', detail: null, started_at: null, ended_at: null, error: null };

export function runWire(runId: string, overrides: Partial<Record<Stage, Partial<StageStateWire>>> = {}) {
  const stages = Object.fromEntries(
    (['radar', 'analyst', 'advisor', 'actuator', 'quality', 'report'] as const).map((s) => [
      s,
      { ...idle, ...overrides[s] },
    ]),
  );
  return {
    run_id: runId,
    started_at: '2026-11-28T15:00:00.000Z',
    updated_at: '2026-11-28T15:00:01.000Z',
    ended_at: null,
    outcome: 'running',
    stages,
  };
}

export function snapshotFrame(
  runs: unknown[] = [],
  recent: unknown[] = [],
  lastId: string | null = null,
  bus: unknown = BUS_UP,
  resumeFailed: string | null = null,
) {
  return { type: 'snapshot', last_id: lastId, resume_failed: resumeFailed, bus, runs, recent_events: recent };
}

export function resumedFrame(lastId: string, replayed: number, bus: unknown = BUS_UP) {
  return { type: 'resumed', last_id: lastId, replayed, bus };
}
