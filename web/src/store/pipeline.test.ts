import { describe, expect, it } from 'vitest';
import { parseServerFrame, type ServerFrame, type Stage } from '../lib/socket/frames';
import { BUS_DOWN, BUS_UP, eventFrame, resumedFrame, runWire, snapshotFrame, WELCOME } from '../testing/fixtures';
import {
  INITIAL_PIPELINE_STATE,
  MAX_EVENTS,
  MAX_RUNS,
  pipelineReducer,
  runFromWire,
  runsNewestFirst,
  type PipelineState,
} from './pipeline';

const STAGE_ORDER: Stage[] = ['radar', 'analyst', 'advisor', 'actuator', 'quality', 'report'];

function frame(value: unknown): ServerFrame {
  const parsed = parseServerFrame(JSON.stringify(value));
  if (!parsed.ok) throw new Error(`${parsed.error.path}: ${parsed.error.message}`);
  return parsed.frame;
}

function fold(values: unknown[], from: PipelineState = INITIAL_PIPELINE_STATE): PipelineState {
  return values.reduce<PipelineState>((s, v) => pipelineReducer(s, { type: 'frame', frame: frame(v) }), from);
}

const T0 = Date.parse('2026-11-28T15:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** A pipeline event published at T0 + offsetMs (its `ts`). */
function at(id: number, run: string, stage: Stage, status: string, offsetMs: number, detail?: string) {
  return eventFrame(`${id}-0`, run, stage, status, {
    ts: iso(T0 + offsetMs),
    ...(detail === undefined ? {} : { detail }),
  });
}

describe('pipeline reducer: events', () => {
  it('creates an unknown run at its first event, all other stages idle', () => {
    const s = fold([at(1, 'run-42', 'analyst', 'processing', 0, 'Scoring 48 leads')]);
    const run = s.runs['run-42']!;
    expect(run).toMatchObject({ runId: 'run-42', startedAt: T0, updatedAt: T0, endedAt: null, outcome: 'running' });
    expect(run.stages.analyst).toEqual({
      status: 'processing',
      detail: 'Scoring 48 leads',
      startedAt: T0,
      endedAt: null,
      error: null,
    });
    for (const stage of STAGE_ORDER.filter((st) => st !== 'analyst')) {
      expect(run.stages[stage].status).toBe('idle');
    }
  });

  it('runs a whole pipeline to complete with durations (as the gateway test does)', () => {
    const events: unknown[] = [];
    let t = 0;
    STAGE_ORDER.forEach((stage, i) => {
      events.push(at(i * 2 + 1, 'r1', stage, 'processing', t, 'working'));
      t += 100;
      events.push(at(i * 2 + 2, 'r1', stage, 'complete', t));
    });
    const run = fold(events).runs.r1!;
    expect(run.outcome).toBe('complete');
    expect(run.endedAt).toBe(T0 + t);
    expect(run.startedAt).toBe(T0);
    expect(run.stages.radar.endedAt! - run.stages.radar.startedAt!).toBe(100);
    expect(run.stages.radar.detail).toBe('working'); // kept: the complete event had none
  });

  it('sets the error reason and outcome, and a retry clears them (as the gateway test does)', () => {
    let s = fold([at(1, 'r', 'radar', 'processing', 0), at(2, 'r', 'radar', 'error', 5, 'feed timed out')]);
    expect(s.runs.r).toMatchObject({ outcome: 'error', endedAt: T0 + 5 });
    expect(s.runs.r!.stages.radar).toMatchObject({ status: 'error', error: 'feed timed out', startedAt: T0, endedAt: T0 + 5 });
    s = fold([at(3, 'r', 'radar', 'processing', 9)], s);
    expect(s.runs.r).toMatchObject({ outcome: 'running', endedAt: null });
    expect(s.runs.r!.stages.radar).toMatchObject({ status: 'processing', error: null, startedAt: T0 + 9, endedAt: null });
    // The failed attempt's detail stays until a new one is given.
    expect(s.runs.r!.stages.radar.detail).toBe('feed timed out');
  });

  it('uses "error" as the reason when an error event has no detail', () => {
    const s = fold([at(1, 'r', 'quality', 'error', 0)]);
    expect(s.runs.r!.stages.quality.error).toBe('error');
  });

  it('completes a stage never seen processing with start = end = t', () => {
    const s = fold([at(1, 'r', 'advisor', 'complete', 40)]);
    expect(s.runs.r!.stages.advisor).toMatchObject({ status: 'complete', startedAt: T0 + 40, endedAt: T0 + 40 });
  });

  it('idle clears times and error but keeps the detail', () => {
    const s = fold([at(1, 'r', 'actuator', 'error', 0, 'boom'), at(2, 'r', 'actuator', 'idle', 10)]);
    expect(s.runs.r!.stages.actuator).toEqual({ status: 'idle', detail: 'boom', startedAt: null, endedAt: null, error: null });
    expect(s.runs.r!.outcome).toBe('running');
  });

  it('keeps the run end time while the outcome stays the same, and moves it when it changes', () => {
    let s = fold([at(1, 'r', 'radar', 'error', 10, 'a')]);
    expect(s.runs.r!.endedAt).toBe(T0 + 10);
    s = fold([at(2, 'r', 'analyst', 'error', 20, 'b')], s);
    expect(s.runs.r!.endedAt).toBe(T0 + 10); // still error: end unchanged
    expect(s.runs.r!.updatedAt).toBe(T0 + 20);
    s = fold([at(3, 'r', 'radar', 'complete', 30), at(4, 'r', 'analyst', 'complete', 40), at(5, 'r', 'report', 'complete', 50)], s);
    expect(s.runs.r).toMatchObject({ outcome: 'complete', endedAt: T0 + 50 });
  });

  it('counts an event at its ts, else at received_at; ts may be Unix ms', () => {
    const noTs = eventFrame('1-0', 'a', 'radar', 'processing', {}, '2026-11-28T15:00:07.250Z');
    const msTs = eventFrame('2-0', 'b', 'radar', 'processing', { ts: T0 + 3_000.9 });
    const offsetTs = eventFrame('3-0', 'c', 'radar', 'processing', { ts: '2026-11-28T16:00:01.000+01:00' });
    const s = fold([noTs, msTs, offsetTs]);
    expect(s.runs.a!.startedAt).toBe(T0 + 7_250);
    expect(s.runs.b!.startedAt).toBe(T0 + 3_000);
    expect(s.runs.c!.startedAt).toBe(T0 + 1_000);
  });

  it('reads the stage and status from the normalised pipeline field, not the raw event', () => {
    const e = eventFrame('1-0', 'r', 'report', 'complete');
    e.event.stage = 'Report';
    e.event.status = 'CoMpLeTe';
    expect(fold([e]).runs.r!.outcome).toBe('complete');
  });

  it('logs generic events without touching runs', () => {
    const s = fold([{ type: 'event', id: '1-0', received_at: iso(T0), event: { type: 'deploy.finished', detail: 'v2' } }]);
    expect(s.runs).toEqual({});
    expect(s.events).toHaveLength(1);
  });

  it('keeps the latest 200 events, oldest first', () => {
    const values = Array.from({ length: MAX_EVENTS + 25 }, (_, i) => at(i, 'r', 'radar', 'processing', i));
    const s = fold(values);
    expect(s.events).toHaveLength(MAX_EVENTS);
    expect(s.events[0]!.id).toBe('25-0');
    expect(s.events.at(-1)!.id).toBe(`${MAX_EVENTS + 24}-0`);
  });

  it(`keeps at most ${MAX_RUNS} runs, dropping the least recently updated`, () => {
    const values = Array.from({ length: MAX_RUNS + 3 }, (_, i) => at(i, `run-${i}`, 'radar', 'processing', i));
    const s = fold([...values, at(999, 'run-0', 'radar', 'complete', 10_000)]);
    expect(Object.keys(s.runs)).toHaveLength(MAX_RUNS);
    expect(s.runs['run-0']).toBeDefined(); // updated last
    expect(s.runs['run-1']).toBeUndefined();
  });
});

describe('pipeline reducer: snapshot, bus, welcome', () => {
  it('a snapshot replaces runs and events and sets the bus', () => {
    const before = fold([at(1, 'old', 'radar', 'processing', 0)]);
    const snap = snapshotFrame(
      [runWire('run-7', { radar: { status: 'complete', detail: 'ok', started_at: iso(T0), ended_at: iso(T0 + 1_500) } })],
      [eventFrame('8-0', 'run-7', 'radar', 'complete')],
      '8-0',
      BUS_DOWN,
    );
    const s = fold([snap], before);
    expect(Object.keys(s.runs)).toEqual(['run-7']);
    expect(s.runs['run-7']!.stages.radar).toEqual({ status: 'complete', detail: 'ok', startedAt: T0, endedAt: T0 + 1_500, error: null });
    expect(s.events.map((e) => e.id)).toEqual(['8-0']);
    expect(s.bus).toMatchObject({ state: 'down' });
    expect(s.snapshotReceived).toBe(true);
  });

  it('does not re-apply the recent events a snapshot carries', () => {
    const snap = snapshotFrame([], [eventFrame('1-0', 'ghost', 'radar', 'processing')], '1-0');
    expect(fold([snap]).runs).toEqual({});
  });

  it('folds live events after a snapshot onto its runs', () => {
    const snap = snapshotFrame([runWire('run-7')], [], '8-0');
    const s = fold([snap, at(9, 'run-7', 'analyst', 'processing', 2_000, 'Scoring')]);
    expect(s.runs['run-7']!.stages.analyst.status).toBe('processing');
    expect(s.runs['run-7']!.startedAt).toBe(T0); // from the snapshot
  });

  it('bus frames update the bus; welcome is kept; pong and error change nothing', () => {
    let s = fold([WELCOME, BUS_DOWN]);
    expect(s.bus?.state).toBe('down');
    expect(s.welcome?.session).toBe('c1f0');
    s = fold([BUS_UP], s);
    expect(s.bus?.state).toBe('up');
    const same = fold([{ type: 'pong', nonce: 1 }, { type: 'error', code: 'bad_frame', message: 'x' }], s);
    expect(same).toBe(s);
  });
});

describe('pipeline reducer: resume', () => {
  const beforeDrop = [
    snapshotFrame([runWire('run-7')], [], '8-0'),
    at(9, 'run-7', 'radar', 'processing', 1_000, 'Scanning'),
    at(10, 'run-7', 'radar', 'complete', 2_000, '212 signals'),
  ];

  it('resumed keeps runs and events (no reset, no empty flash) and takes its bus state', () => {
    const before = fold([...beforeDrop, BUS_UP]);
    const s = fold([WELCOME, resumedFrame('10-0', 2, BUS_DOWN)], before);
    expect(s.runs).toBe(before.runs);
    expect(s.events).toBe(before.events);
    expect(s.bus?.state).toBe('down');
    expect(s.resumeFailed).toBeNull();
  });

  it('replayed events are applied like live ones, so the page ends where a fresh snapshot would', () => {
    const missed = [
      at(11, 'run-7', 'analyst', 'processing', 3_000, 'Scoring'),
      at(12, 'run-7', 'analyst', 'error', 4_000, 'model timeout'),
      at(13, 'run-8', 'radar', 'processing', 5_000),
    ];
    const resumed = fold([...beforeDrop, WELCOME, resumedFrame('10-0', missed.length), ...missed]);
    const uninterrupted = fold([...beforeDrop, ...missed]);
    expect(resumed.runs).toEqual(uninterrupted.runs);
    expect(resumed.events.map((e) => e.id)).toEqual(['9-0', '10-0', '11-0', '12-0', '13-0']);
    expect(resumed.runs['run-7']!.outcome).toBe('error');
  });

  it('a snapshot with resume_failed shows the current state and raises the notice until dismissed', () => {
    const before = fold(beforeDrop);
    const snap = snapshotFrame([runWire('run-9')], [], '50-0', BUS_UP, '10-0');
    let s = fold([WELCOME, snap], before);
    expect(Object.keys(s.runs)).toEqual(['run-9']);
    expect(s.resumeFailed).toBe('10-0');
    // Later frames, even a snapshot that resumed nothing, leave it up.
    s = fold([at(51, 'run-9', 'radar', 'processing', 0), snapshotFrame([runWire('run-9')], [], '51-0')], s);
    expect(s.resumeFailed).toBe('10-0');
    s = pipelineReducer(s, { type: 'dismiss-resume-notice' });
    expect(s.resumeFailed).toBeNull();
    expect(pipelineReducer(s, { type: 'dismiss-resume-notice' })).toBe(s);
    // A new failure raises it again.
    s = fold([snapshotFrame([], [], '60-0', BUS_UP, '51-0')], s);
    expect(s.resumeFailed).toBe('51-0');
  });

  it('a plain snapshot raises no notice', () => {
    expect(fold(beforeDrop).resumeFailed).toBeNull();
  });
});

describe('pipeline reducer agrees with the gateway', () => {
  it('live folding gives the RunState the gateway would put in its next snapshot', () => {
    // What the gateway serialises after these events (docs/protocol.md rules).
    const events = [
      at(1, 'run-42', 'radar', 'processing', 0, 'Scanning 3 feeds'),
      at(2, 'run-42', 'radar', 'complete', 1_200, '212 signals'),
      at(3, 'run-42', 'analyst', 'processing', 1_300, 'Scoring 48 leads'),
      at(4, 'run-42', 'analyst', 'error', 2_000, 'model timeout'),
    ];
    const gatewayRun = {
      key: '//run-42',
      version: 4,
      stalled: false,
      run_id: 'run-42',
      started_at: iso(T0),
      updated_at: iso(T0 + 2_000),
      ended_at: iso(T0 + 2_000),
      outcome: 'error',
      stages: {
        radar: { status: 'complete', detail: '212 signals', started_at: iso(T0), ended_at: iso(T0 + 1_200), error: null, attempt: 1, progress: null, eta: null, stalled: false },
        analyst: {
          status: 'error',
          detail: 'model timeout',
          started_at: iso(T0 + 1_300),
          ended_at: iso(T0 + 2_000),
          error: 'model timeout',
          attempt: 1,
          progress: null,
          eta: null,
          stalled: false,
        },
        advisor: { status: 'idle', detail: null, started_at: null, ended_at: null, error: null, attempt: 0, progress: null, eta: null, stalled: false },
        actuator: { status: 'idle', detail: null, started_at: null, ended_at: null, error: null, attempt: 0, progress: null, eta: null, stalled: false },
        quality: { status: 'idle', detail: null, started_at: null, ended_at: null, error: null, attempt: 0, progress: null, eta: null, stalled: false },
        report: { status: 'idle', detail: null, started_at: null, ended_at: null, error: null, attempt: 0, progress: null, eta: null, stalled: false },
      },
    };
    const live = fold(events).runs['run-42'];
    const fromSnapshot = fold([snapshotFrame([gatewayRun])]).runs['run-42'];
    expect(live).toEqual(fromSnapshot);
    expect(live).toEqual(runFromWire(gatewayRun as never));
  });
});

describe('runsNewestFirst', () => {
  it('orders by start time, newest first, then by id', () => {
    const s = fold([
      at(1, 'b', 'radar', 'processing', 10),
      at(2, 'a', 'radar', 'processing', 30),
      at(3, 'c', 'radar', 'processing', 10),
      at(4, 'b', 'analyst', 'processing', 50), // later activity does not reorder
    ]);
    expect(runsNewestFirst(s.runs).map((r) => r.runId)).toEqual(['a', 'c', 'b']);
  });
});
