import { describe, expect, it } from 'vitest';
import { parseServerFrame, type ServerFrame } from './frames.js';
import {
  AUTHENTICATED,
  BUS_DOWN,
  BUS_UP,
  eventFrame,
  resumedFrame,
  runDelta,
  runFrame,
  runWire,
  snapshotFrame,
  WELCOME,
  WELCOME_AUTH,
} from '../testing/fixtures.js';

function ok(value: unknown): ServerFrame {
  const result = parseServerFrame(JSON.stringify(value));
  if (!result.ok) throw new Error(`expected a valid frame, got ${result.error.path}: ${result.error.message}`);
  return result.frame;
}

function bad(text: string) {
  const result = parseServerFrame(text);
  if (result.ok) throw new Error(`expected a rejected frame, got ${JSON.stringify(result.frame)}`);
  return result.error;
}

describe('parseServerFrame', () => {
  it('accepts the documented welcome frame', () => {
    expect(ok(WELCOME)).toEqual(WELCOME);
    expect(ok(WELCOME_AUTH)).toMatchObject({ auth: 'required' });
  });

  it('takes a welcome that does not mention auth as auth none, and refuses an unknown auth mode', () => {
    const { auth: _auth, ...older } = WELCOME;
    expect(ok(older)).toMatchObject({ auth: 'none' });
    expect(bad(JSON.stringify({ ...WELCOME, auth: 'maybe' })).path).toBe('welcome.auth');
  });

  it('accepts the documented authenticated frame, with or without tenant and expiry', () => {
    expect(ok(AUTHENTICATED)).toEqual(AUTHENTICATED);
    expect(ok({ ...AUTHENTICATED, tenant: null, expires_at: null, roles: [] })).toMatchObject({ tenant: null, expires_at: null });
    expect(bad(JSON.stringify({ ...AUTHENTICATED, roles: ['viewer', 3] })).path).toBe('authenticated.roles[1]');
    expect(bad(JSON.stringify({ ...AUTHENTICATED, sub: undefined })).path).toBe('authenticated.sub');
  });

  it('accepts bus frames up and down', () => {
    expect(ok(BUS_UP)).toEqual(BUS_UP);
    expect(ok(BUS_DOWN)).toMatchObject({ state: 'down', detail: 'Connection refused (os error 111)' });
  });

  it('accepts an event frame with a pipeline field and keeps the publisher object untouched', () => {
    const frame = eventFrame('1764342000123-0', 'run-42', 'analyst', 'processing', {
      detail: 'Scoring 48 leads',
      extra: { nested: [1, 2] },
    });
    const parsed = ok(frame);
    expect(parsed).toEqual(frame);
    if (parsed.type !== 'event') throw new Error('not an event');
    expect(parsed.event.stage).toBe('ANALYST');
    expect(parsed.event.extra).toEqual({ nested: [1, 2] });
  });

  it('reads the run an event frame carries: its fields, the stage that changed and its state, stale', () => {
    const run = runDelta(
      'run-42',
      'analyst',
      { status: 'processing', started_at: '2026-11-28T15:00:00.123Z', attempt: 2, progress: 40, eta: '2026-11-28T15:01:00.000Z' },
      { tenant: 'acme', version: '9-0', stale: true },
    );
    const parsed = ok(eventFrame('9-0', 'run-42', 'analyst', 'processing', {}, undefined, run));
    if (parsed.type !== 'event') throw new Error('not an event');
    expect(parsed.run).toEqual(run);
    expect(parsed.run).toMatchObject({ key: 'acme//run-42', tenant: 'acme', user_id: null, version: '9-0', stale: true });
    expect(parsed.run!.state).toMatchObject({ attempt: 2, progress: 40, eta: '2026-11-28T15:01:00.000Z', stalled: false });
  });

  it('takes an absent tenant or user_id as null (the gateway writes them only when the run has them)', () => {
    const { tenant: _t, user_id: _u, ...run } = runDelta('r', 'radar');
    const parsed = ok(eventFrame('1-0', 'r', 'radar', 'idle', {}, undefined, run as never));
    if (parsed.type !== 'event') throw new Error('not an event');
    expect(parsed.run).toMatchObject({ tenant: null, user_id: null });
  });

  it('refuses a pipeline event frame without its run, or with the run of another run or stage', () => {
    const e = eventFrame('1-0', 'r', 'radar', 'processing');
    expect(bad(JSON.stringify({ ...e, run: undefined })).path).toBe('event.run');
    expect(bad(JSON.stringify({ ...e, run: runDelta('other', 'radar') })).path).toBe('event.run.run_id');
    expect(bad(JSON.stringify({ ...e, run: runDelta('r', 'analyst') })).path).toBe('event.run.stage');
  });

  it('names the field of a run or stage state that is wrong', () => {
    const e = eventFrame('1-0', 'r', 'radar', 'processing');
    const withRun = (run: object) => JSON.stringify({ ...e, run: { ...e.run, ...run } });
    expect(bad(withRun({ key: '' })).path).toBe('event.run.key');
    // A version is an event id, as a string (protocol 2 before its final version sent a count).
    for (const version of [3, '3', '', '1.5-0', '-1-0', '1-0-0', null]) {
      expect(bad(withRun({ version })).path, String(version)).toBe('event.run.version');
    }
    expect(bad(withRun({ stalled: 'no' })).path).toBe('event.run.stalled');
    expect(bad(withRun({ stale: undefined })).path).toBe('event.run.stale');
    expect(bad(withRun({ tenant: 7 })).path).toBe('event.run.tenant');
    const withState = (state: object) => withRun({ state: { ...e.run.state, ...state } });
    expect(bad(withState({ attempt: -1 })).path).toBe('event.run.state.attempt');
    expect(bad(withState({ progress: 101 })).path).toBe('event.run.state.progress');
    expect(bad(withState({ progress: '40' })).path).toBe('event.run.state.progress');
    expect(bad(withState({ eta: 5 })).path).toBe('event.run.state.eta');
    expect(bad(withState({ stalled: undefined })).path).toBe('event.run.state.stalled');
  });

  it('accepts the documented run frame (a stall) and refuses one without a run', () => {
    const frame = runFrame(runDelta('r', 'analyst', { status: 'processing', attempt: 1, stalled: true }, { version: '4-0', stalled: true }));
    expect(ok(frame)).toEqual(frame);
    expect(bad(JSON.stringify({ type: 'run' })).path).toBe('run.run');
    expect(bad(JSON.stringify({ type: 'run', run: { ...frame.run, stage: 'teleport' } })).path).toBe('run.run.stage');
  });

  it('accepts a generic event without a pipeline field', () => {
    const parsed = ok({ type: 'event', id: '2-0', received_at: '2026-11-28T15:00:00.000Z', event: { type: 'deploy.finished' } });
    expect(parsed).toMatchObject({ type: 'event', event: { type: 'deploy.finished' } });
    expect('pipeline' in parsed).toBe(false);
  });

  it('accepts a snapshot with runs and recent events', () => {
    const snap = snapshotFrame(
      [runWire('run-42', { radar: { status: 'complete', started_at: '2026-11-28T15:00:00.000Z', ended_at: '2026-11-28T15:00:01.000Z' } })],
      [eventFrame('1-0', 'run-42', 'radar', 'complete')],
      '1-0',
    );
    const parsed = ok(snap);
    expect(parsed.type).toBe('snapshot');
    if (parsed.type !== 'snapshot') return;
    expect(parsed.runs[0]?.stages.radar.status).toBe('complete');
    expect(parsed.recent_events).toHaveLength(1);
    expect(parsed.last_id).toBe('1-0');
  });

  it('reads snapshot.max_runs, a whole number from 1', () => {
    expect(ok(snapshotFrame([], [], null, BUS_UP, null, 250))).toMatchObject({ max_runs: 250 });
    expect(bad(JSON.stringify({ ...snapshotFrame(), max_runs: 0 })).path).toBe('snapshot.max_runs');
    expect(bad(JSON.stringify({ ...snapshotFrame(), max_runs: undefined })).path).toBe('snapshot.max_runs');
  });

  it('reads the v2 fields of a snapshot run: key, tenant, version, stalled, and each stage attempt, progress, eta, stalled', () => {
    const run = runWire(
      'run-42',
      { analyst: { status: 'processing', attempt: 2, progress: 12.5, eta: '2026-11-28T15:05:00.000Z', stalled: true } },
      { tenant: 'globex', version: '1764342000123-7', stalled: true },
    );
    const parsed = ok(snapshotFrame([run]));
    if (parsed.type !== 'snapshot') throw new Error('not a snapshot');
    expect(parsed.runs[0]).toEqual(run);
    expect(bad(JSON.stringify(snapshotFrame([{ ...run, key: undefined }]))).path).toBe('snapshot.runs[0].key');
    const noAttempt = runWire('r', { report: { attempt: undefined } });
    expect(bad(JSON.stringify(snapshotFrame([noAttempt]))).path).toBe('snapshot.runs[0].stages.report.attempt');
  });

  it('reads snapshot.resume_failed: null, missing (older gateways) or the id that could not be resumed', () => {
    expect(ok(snapshotFrame())).toMatchObject({ type: 'snapshot', resume_failed: null });
    const { resume_failed: _dropped, ...older } = snapshotFrame();
    expect(ok(older)).toMatchObject({ type: 'snapshot', resume_failed: null });
    expect(ok(snapshotFrame([], [], '9-0', BUS_UP, '1-0'))).toMatchObject({ last_id: '9-0', resume_failed: '1-0' });
    expect(bad(JSON.stringify({ ...snapshotFrame(), resume_failed: 12 })).path).toBe('snapshot.resume_failed');
  });

  it('accepts the documented resumed frame', () => {
    const frame = resumedFrame('1764342000123-0', 3, BUS_DOWN);
    expect(ok(frame)).toEqual(frame);
    expect(ok(resumedFrame('1-0', 0))).toMatchObject({ type: 'resumed', replayed: 0, bus: { state: 'up' } });
  });

  it('rejects a resumed frame with a bad count, id or bus', () => {
    expect(bad(JSON.stringify(resumedFrame('1-0', -1))).path).toBe('resumed.replayed');
    expect(bad(JSON.stringify(resumedFrame('1-0', 1.5))).path).toBe('resumed.replayed');
    expect(bad(JSON.stringify({ ...resumedFrame('1-0', 1), replayed: '1' })).path).toBe('resumed.replayed');
    expect(bad(JSON.stringify({ ...resumedFrame('1-0', 1), last_id: null })).path).toBe('resumed.last_id');
    expect(bad(JSON.stringify({ ...resumedFrame('1-0', 1), bus: undefined })).path).toBe('resumed.bus');
    expect(bad(JSON.stringify(resumedFrame('1-0', 1, { ...BUS_UP, state: 'maybe' }))).path).toBe('resumed.bus.state');
  });

  it('accepts pong with any nonce and error frames', () => {
    expect(ok({ type: 'pong', nonce: { a: 1 } })).toEqual({ type: 'pong', nonce: { a: 1 } });
    expect(ok({ type: 'error', code: 'bad_frame', message: 'nope' })).toEqual({ type: 'error', code: 'bad_frame', message: 'nope' });
  });

  it('rejects text that is not a JSON object', () => {
    expect(bad('not json').message).toMatch(/not JSON/);
    expect(bad('[1,2]').message).toMatch(/not a JSON object/);
    expect(bad('null').message).toMatch(/not a JSON object/);
  });

  it('rejects unknown or missing types', () => {
    expect(bad('{"type":"dance"}').message).toMatch(/unknown frame type "dance"/);
    expect(bad('{"id":1}').message).toMatch(/missing/);
  });

  it('names the field that is wrong', () => {
    expect(bad(JSON.stringify({ ...WELCOME, heartbeat_ms: '15' })).path).toBe('welcome.heartbeat_ms');
    expect(bad(JSON.stringify({ ...BUS_UP, state: 'sideways' })).path).toBe('bus.state');
    const e = eventFrame('1-0', 'r', 'radar', 'processing');
    expect(bad(JSON.stringify({ ...e, pipeline: { ...e.pipeline, stage: 'RADAR' } })).path).toBe('event.pipeline.stage');
    expect(bad(JSON.stringify({ ...e, event: { stage: 'x' } })).path).toBe('event.event.type');
    expect(bad(JSON.stringify({ ...e, id: 7 })).path).toBe('event.id');
  });

  it('rejects a snapshot with one bad run, pointing at it', () => {
    const broken = runWire('r2', { quality: { status: 'weird' as never } });
    const error = bad(JSON.stringify(snapshotFrame([runWire('r1'), broken])));
    expect(error.path).toBe('snapshot.runs[1].stages.quality.status');
  });

  it('rejects a snapshot whose run misses a stage', () => {
    const run = runWire('r1') as { stages: Record<string, unknown> };
    delete run.stages.report;
    expect(bad(JSON.stringify(snapshotFrame([run]))).path).toBe('snapshot.runs[0].stages.report');
  });

  it('keeps a short excerpt of a bad frame', () => {
    const error = bad(`{"type":"dance","pad":"${'x'.repeat(500)}"}`);
    expect(error.excerpt.length).toBeLessThanOrEqual(121);
  });
});
