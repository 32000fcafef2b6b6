import { describe, expect, it } from 'vitest';
import { parseServerFrame, type RunHeaderWire, type ServerFrame, type Stage, type StageStateWire } from '../socket/frames.js';
import {
  BUS_DOWN,
  BUS_UP,
  eventFrame,
  keyOf,
  resumedFrame,
  runDelta,
  runFrame,
  runWire,
  snapshotFrame,
  WELCOME,
} from '../testing/fixtures.js';
import { INITIAL_PIPELINE_STATE, MAX_EVENTS, pipelineReducer, supersedes, type PipelineState } from './pipeline.js';
import { runFromWire } from './runs.js';

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

type Header = Partial<RunHeaderWire> & { stale?: boolean };

/** A run version (an event id): `<ms>-<seq>`. */
const v = (ms: number, seq = 0) => `${ms}-${seq}`;

/**
 * An event frame `<id>-0` of `runId` whose `run` (from the gateway) puts `stage` in `state`, at
 * `version` (a number n stands for the id `n-0`).
 */
function ev(id: number, runId: string, stage: Stage, state: Partial<StageStateWire>, version: number | string, header: Header = {}) {
  const status = state.status ?? 'idle';
  const run = runDelta(runId, stage, state, { version: typeof version === 'number' ? v(version) : version, ...header });
  return eventFrame(`${id}-0`, runId, stage, status, {}, iso(T0 + id), run);
}

/** A snapshot (max_runs 100) with these runs, after a welcome. */
function connected(runs: unknown[], maxRuns = 100): PipelineState {
  return fold([WELCOME, snapshotFrame(runs, [], null, BUS_UP, null, maxRuns)]);
}

const KEY = keyOf('run-42');

describe('the store replaces runs with what the gateway sends', () => {
  it('an event frame of an unknown run creates it: its fields, that stage, the others idle', () => {
    const s = fold([
      ev(1, 'run-42', 'analyst', { status: 'processing', detail: 'Scoring 48 leads', started_at: iso(T0), attempt: 1 }, 1, {
        started_at: iso(T0),
        updated_at: iso(T0),
      }),
    ]);
    const run = s.runs[KEY]!;
    expect(run).toMatchObject({ key: KEY, runId: 'run-42', version: '1-0', startedAt: T0, updatedAt: T0, outcome: 'running' });
    expect(run.stages.analyst).toEqual({
      status: 'processing',
      detail: 'Scoring 48 leads',
      startedAt: T0,
      endedAt: null,
      error: null,
      attempt: 1,
      progress: null,
      eta: null,
      stalled: false,
    });
    for (const stage of ['radar', 'advisor', 'actuator', 'quality', 'report'] as const) {
      expect(run.stages[stage].status).toBe('idle');
    }
  });

  it('takes the outcome, times and stage from the frame, never working them out from the event', () => {
    // The publisher's event says "complete"; the gateway's run says error (another attempt failed later):
    // the page shows what the gateway says.
    const e = ev(5, 'r', 'report', { status: 'error', error: 'late failure', attempt: 2 }, 5, {
      outcome: 'error',
      ended_at: iso(T0 + 9),
    });
    e.event.status = 'COMPLETE';
    const run = fold([e]).runs[keyOf('r')]!;
    expect(run).toMatchObject({ outcome: 'error', endedAt: T0 + 9 });
    expect(run.stages.report).toMatchObject({ status: 'error', error: 'late failure', attempt: 2 });
  });

  it('replaces the run fields and the one stage named; other stages and runs keep their objects', () => {
    const before = connected([runWire('run-42', { radar: { status: 'complete' } }, { version: v(2) }), runWire('other')]);
    const s = fold([ev(3, 'run-42', 'analyst', { status: 'processing', progress: 40 }, 3, { updated_at: iso(T0 + 3) })], before);
    const was = before.runs[KEY]!;
    const now = s.runs[KEY]!;
    expect(now.stages.analyst).toMatchObject({ status: 'processing', progress: 40 });
    expect(now).toMatchObject({ version: '3-0', updatedAt: T0 + 3 });
    // What did not change is the same object: its card and row need not render again.
    expect(now.stages.radar).toBe(was.stages.radar);
    expect(now.stages.report).toBe(was.stages.report);
    expect(s.runs[keyOf('other')]).toBe(before.runs[keyOf('other')]);
  });

  it('logs every event frame, applied or not; generic events touch no run', () => {
    const s = fold([
      ev(1, 'r', 'radar', { status: 'complete' }, 2),
      ev(2, 'r', 'radar', { status: 'processing' }, 1), // older: not applied
      { type: 'event', id: '3-0', received_at: iso(T0), event: { type: 'deploy.finished', detail: 'v2' } },
    ]);
    expect(s.events.map((e) => e.id)).toEqual(['1-0', '2-0', '3-0']);
    expect(Object.keys(s.runs)).toEqual([keyOf('r')]);
    expect(s.runs[keyOf('r')]!.stages.radar.status).toBe('complete');
  });

  it('keeps the latest 200 events, oldest first', () => {
    const values = Array.from({ length: MAX_EVENTS + 25 }, (_, i) => ev(i, 'r', 'radar', { status: 'processing' }, i + 1));
    const s = fold(values);
    expect(s.events).toHaveLength(MAX_EVENTS);
    expect(s.events[0]!.id).toBe('25-0');
    expect(s.events.at(-1)!.id).toBe(`${MAX_EVENTS + 24}-0`);
  });
});

describe('version rules', () => {
  it('a frame applies at or above the version held; a lower one is ignored', () => {
    let s = fold([ev(1, 'r', 'analyst', { status: 'complete', detail: 'done' }, 5)]);
    const held = s.runs[keyOf('r')];
    s = fold([ev(2, 'r', 'analyst', { status: 'processing', detail: 'older' }, 4)], s);
    expect(s.runs[keyOf('r')]).toBe(held);
    s = fold([ev(3, 'r', 'analyst', { status: 'processing', detail: 'retry', attempt: 2 }, 6)], s);
    expect(s.runs[keyOf('r')]!.stages.analyst).toMatchObject({ status: 'processing', detail: 'retry', attempt: 2 });
  });

  it('compares versions as event ids: by the number before the dash, then after it, as numbers', () => {
    // As text, '9-5' > '10-0' and '7-9' > '7-10': a text comparison would keep the older state.
    let s = fold([ev(1, 'r', 'analyst', { status: 'processing', detail: 'at 9-5' }, v(9, 5))]);
    s = fold([ev(2, 'r', 'analyst', { status: 'complete', detail: 'at 10-0' }, v(10, 0))], s);
    expect(s.runs[keyOf('r')]!.stages.analyst.detail).toBe('at 10-0');
    s = fold([ev(3, 'r', 'radar', { status: 'processing', detail: 'at 10-9' }, v(10, 9))], s);
    s = fold([ev(4, 'r', 'radar', { status: 'complete', detail: 'at 10-10' }, v(10, 10))], s);
    s = fold([ev(5, 'r', 'radar', { status: 'error', detail: 'at 9-99' }, v(9, 99))], s);
    expect(s.runs[keyOf('r')]!.stages.radar.detail).toBe('at 10-10');
    expect(s.runs[keyOf('r')]!.version).toBe('10-10');
  });

  it('frames of one version each fill in their stage (a restarted gateway replays its reloaded history so)', () => {
    // Restored from Redis at version 3-0 (its newest event), the gateway relays its reloaded events
    // with the restored run on each: version 3-0 every time, each frame with its own stage's state.
    const s = fold([
      WELCOME,
      snapshotFrame([runWire('r', { radar: { status: 'processing' } }, { version: v(1) })]),
      WELCOME,
      resumedFrame('1-0', 2),
      ev(2, 'r', 'radar', { status: 'complete' }, 3),
      ev(3, 'r', 'analyst', { status: 'processing' }, 3),
    ]);
    expect(s.runs[keyOf('r')]!.stages.radar.status).toBe('complete');
    expect(s.runs[keyOf('r')]!.stages.analyst.status).toBe('processing');
  });

  it('a stale event (ts before the newest of its stage) leaves the stage where the gateway keeps it', () => {
    // analyst complete at T+2, then analyst processing at T+1: the gateway folds the older event into its
    // place (a higher version) and the stage stays complete; the frame says stale.
    const s = fold([
      ev(1, 'r', 'analyst', { status: 'complete', started_at: iso(T0 + 2), ended_at: iso(T0 + 2), attempt: 1 }, 1),
      ev(2, 'r', 'analyst', { status: 'complete', started_at: iso(T0 + 1), ended_at: iso(T0 + 2), attempt: 1 }, 2, { stale: true }),
    ]);
    const analyst = s.runs[keyOf('r')]!.stages.analyst;
    expect(analyst).toMatchObject({ status: 'complete', startedAt: T0 + 1, endedAt: T0 + 2 });
    expect(s.events.at(-1)!.run!.stale).toBe(true);
  });

  it('a run frame (a stall) applies at the version of the last event, and the next event clears it', () => {
    const processing = { status: 'processing' as const, started_at: iso(T0), attempt: 1 };
    let s = fold([ev(1, 'r', 'analyst', processing, 3)]);
    s = fold([runFrame(runDelta('r', 'analyst', { ...processing, stalled: true }, { version: v(3), stalled: true }))], s);
    expect(s.runs[keyOf('r')]).toMatchObject({ stalled: true, version: '3-0' });
    expect(s.runs[keyOf('r')]!.stages.analyst.stalled).toBe(true);
    s = fold([ev(2, 'r', 'analyst', { status: 'complete', attempt: 1 }, 4)], s);
    expect(s.runs[keyOf('r')]).toMatchObject({ stalled: false, version: '4-0' });
    expect(s.runs[keyOf('r')]!.stages.analyst).toMatchObject({ status: 'complete', stalled: false });
  });

  it('a run frame older than the copy held is ignored', () => {
    let s = fold([ev(1, 'r', 'analyst', { status: 'complete' }, 4)]);
    const held = s.runs[keyOf('r')];
    s = fold([runFrame(runDelta('r', 'analyst', { status: 'processing', stalled: true }, { version: v(3), stalled: true }))], s);
    expect(s.runs[keyOf('r')]).toBe(held);
  });

  it('a run frame that ends a stall at the same version applies too', () => {
    const stalled = runDelta('r', 'quality', { status: 'processing', stalled: true }, { version: v(2), stalled: true });
    const cleared = runDelta('r', 'quality', { status: 'processing', stalled: false }, { version: v(2), stalled: false });
    const s = fold([runFrame(stalled), runFrame(cleared)]);
    expect(s.runs[keyOf('r')]).toMatchObject({ stalled: false });
    expect(s.runs[keyOf('r')]!.stages.quality.stalled).toBe(false);
  });

  it('supersedes: at least the version held, or no copy held', () => {
    const delta = runDelta('r', 'radar', {}, { version: v(10, 2) });
    expect([v(9, 7), v(10, 1), v(10, 2), v(10, 10), v(11, 0)].map((held) => supersedes(delta, held))).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
    expect(supersedes(delta, undefined)).toBe(true);
  });
});

describe('runs are keyed by tenant, user and run id', () => {
  it('the same run id in two tenants is two runs; an error in one leaves the other alone', () => {
    const s = fold([
      WELCOME,
      snapshotFrame([]),
      ev(1, 'shared-name', 'radar', { status: 'complete' }, 1, { tenant: 'acme' }),
      ev(2, 'shared-name', 'analyst', { status: 'error', error: 'model timeout' }, 1, { tenant: 'globex', outcome: 'error' }),
    ]);
    expect(Object.keys(s.runs).sort()).toEqual(['acme//shared-name', 'globex//shared-name']);
    const acme = s.runs['acme//shared-name']!;
    const globex = s.runs['globex//shared-name']!;
    expect(acme).toMatchObject({ tenant: 'acme', outcome: 'running' });
    expect(acme.stages.radar.status).toBe('complete');
    expect(acme.stages.analyst.status).toBe('idle');
    expect(globex).toMatchObject({ tenant: 'globex', outcome: 'error' });
    expect(globex.stages.analyst).toMatchObject({ status: 'error', error: 'model timeout' });
    expect(globex.stages.radar.status).toBe('idle');
  });

  it('versions are per key: a newer version in one tenant does not hide the other', () => {
    const s = fold([
      ev(1, 'x', 'radar', { status: 'complete' }, 9, { tenant: 'acme' }),
      ev(2, 'x', 'radar', { status: 'processing' }, 1, { tenant: 'globex' }),
      ev(3, 'x', 'radar', { status: 'processing' }, 1, { user_id: 'bob' }),
    ]);
    expect(s.runs['globex//x']!.stages.radar.status).toBe('processing');
    expect(s.runs['/bob/x']!.stages.radar.status).toBe('processing');
    expect(s.runs['acme//x']!.stages.radar.status).toBe('complete');
  });
});

describe('max_runs', () => {
  /** A run of a snapshot that started at T0 + `startMs`, whose newest event is `version`. */
  const held = (runId: string, startMs: number, version: number) =>
    runWire(runId, {}, { started_at: iso(T0 + startMs), version: v(version) });
  /** The first event of a run (the frame's id is its version), started at T0 + `startMs`. */
  const newRun = (id: number, runId: string, startMs: number) =>
    ev(id, runId, 'radar', { status: 'processing' }, id, { started_at: iso(T0 + startMs) });

  it('takes the limit from the snapshot and drops the runs with the oldest version, as the gateway does', () => {
    // `a` started first but had an event lately; `b` started later and has been quiet longest.
    let s = connected([held('c', 30, 10), held('b', 20, 9), held('a', 10, 30)], 3);
    expect(s.maxRuns).toBe(3);
    s = fold([newRun(40, 'd', 40)], s);
    expect(Object.keys(s.runs).sort()).toEqual(['//a', '//c', '//d']);
    // A new event of the dropped run brings it back (its id is newer than any), dropping the next oldest.
    s = fold([ev(41, 'b', 'analyst', { status: 'processing' }, 41, { started_at: iso(T0 + 20) })], s);
    expect(Object.keys(s.runs).sort()).toEqual(['//a', '//b', '//d']);
    expect(s.runs['//b']!.stages.radar.status).toBe('idle'); // what the gateway's new run of it says
  });

  it('orders versions as ids when it drops: 9-0 is older than 10-0', () => {
    let s = connected([held('ten', 0, 10), held('nine', 5, 9)], 2);
    s = fold([newRun(11, 'eleven', 1)], s);
    expect(Object.keys(s.runs).sort()).toEqual(['//eleven', '//ten']);
  });

  it('is not a constant: another snapshot may say more or fewer', () => {
    const runs = Array.from({ length: 5 }, (_, i) => held(`r${i}`, 0, i + 1));
    let s = connected(runs, 250);
    s = fold(
      Array.from({ length: 200 }, (_, i) => newRun(1_000 + i, `n${i}`, 1_000 + i)),
      s,
    );
    expect(Object.keys(s.runs)).toHaveLength(205);
    s = fold([snapshotFrame(runs, [], null, BUS_UP, null, 2)], s);
    expect(Object.keys(s.runs).sort()).toEqual(['//r3', '//r4']);
  });

  it('an update of a run held never drops another', () => {
    let s = connected([held('a', 10, 1), held('b', 20, 2)], 2);
    s = fold([ev(3, 'a', 'analyst', { status: 'processing' }, 3, { started_at: iso(T0 + 10) })], s);
    expect(Object.keys(s.runs).sort()).toEqual(['//a', '//b']);
  });
});

describe('snapshot, bus, welcome', () => {
  it('a snapshot replaces runs (with their versions) and events and sets the bus', () => {
    const before = fold([ev(1, 'old', 'radar', { status: 'processing' }, 1)]);
    const snap = snapshotFrame(
      [runWire('run-7', { radar: { status: 'complete', detail: 'ok', started_at: iso(T0), ended_at: iso(T0 + 1_500), attempt: 1 } }, { version: v(8) })],
      [eventFrame('8-0', 'run-7', 'radar', 'complete')],
      '8-0',
      BUS_DOWN,
    );
    const s = fold([snap], before);
    expect(Object.keys(s.runs)).toEqual(['//run-7']);
    expect(s.runs['//run-7']!.version).toBe('8-0');
    expect(s.runs['//run-7']!.stages.radar).toMatchObject({ status: 'complete', detail: 'ok', startedAt: T0, endedAt: T0 + 1_500, attempt: 1 });
    expect(s.events.map((e) => e.id)).toEqual(['8-0']);
    expect(s.bus).toMatchObject({ state: 'down' });
    expect(s.snapshotReceived).toBe(true);
  });

  it('does not apply the run of the recent events a snapshot carries', () => {
    const snap = snapshotFrame([], [eventFrame('1-0', 'ghost', 'radar', 'processing')], '1-0');
    expect(fold([snap]).runs).toEqual({});
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

describe('resume', () => {
  const beforeDrop = [
    WELCOME,
    snapshotFrame([runWire('run-7', {}, { version: v(8) })], [], '8-0'),
    ev(9, 'run-7', 'radar', { status: 'processing', detail: 'Scanning' }, 9),
    ev(10, 'run-7', 'radar', { status: 'complete', detail: '212 signals' }, 10),
  ];

  it('resumed keeps runs and events (no reset, no empty flash) and takes its bus state', () => {
    const before = fold([...beforeDrop, BUS_UP]);
    const s = fold([WELCOME, resumedFrame('10-0', 2, BUS_DOWN)], before);
    expect(s.runs).toBe(before.runs);
    expect(s.events).toBe(before.events);
    expect(s.bus?.state).toBe('down');
    expect(s.resumeFailed).toBeNull();
  });

  it('replayed frames replace like live ones, so the page ends where a fresh snapshot would', () => {
    const missed = [
      ev(11, 'run-7', 'analyst', { status: 'processing', detail: 'Scoring' }, 11),
      ev(12, 'run-7', 'analyst', { status: 'error', error: 'model timeout' }, 12, { outcome: 'error' }),
      ev(13, 'run-8', 'radar', { status: 'processing' }, 1),
    ];
    const resumed = fold([...beforeDrop, WELCOME, resumedFrame('10-0', missed.length), ...missed]);
    const uninterrupted = fold([...beforeDrop, ...missed]);
    expect(resumed.runs).toEqual(uninterrupted.runs);
    expect(resumed.events.map((e) => e.id)).toEqual(['9-0', '10-0', '11-0', '12-0', '13-0']);
    expect(resumed.runs['//run-7']!.outcome).toBe('error');
  });

  it('versions hold across connections: after a resume, an older state is still ignored', () => {
    const held = fold(beforeDrop);
    let s = fold([WELCOME, resumedFrame('10-0', 1), ev(11, 'run-7', 'analyst', { status: 'processing' }, 9)], held);
    expect(s.runs['//run-7']).toBe(held.runs['//run-7']);
    s = fold([ev(12, 'run-7', 'analyst', { status: 'processing' }, 12)], s);
    expect(s.runs['//run-7']!.stages.analyst.status).toBe('processing');
    expect(s.runs['//run-7']!.stages.radar).toBe(held.runs['//run-7']!.stages.radar);
  });

  it('the run frames of stalled stages after the replayed events apply at the version held', () => {
    // The page saw run-7's analyst processing; it stalled while the page was away and nothing else
    // happened: the gateway replays nothing and sends the stall at the run's version.
    const processing = { status: 'processing' as const, attempt: 1 };
    const held = fold([...beforeDrop, ev(11, 'run-7', 'analyst', processing, 11)]);
    const stall = runFrame(runDelta('run-7', 'analyst', { ...processing, stalled: true }, { version: v(11), stalled: true }));
    const s = fold([WELCOME, resumedFrame('11-0', 0), stall], held);
    expect(s.runs['//run-7']).toMatchObject({ stalled: true, version: '11-0' });
    expect(s.runs['//run-7']!.stages.analyst).toMatchObject({ status: 'processing', stalled: true });
  });

  it('a snapshot with resume_failed shows the current state and raises the notice until dismissed', () => {
    const before = fold(beforeDrop);
    const snap = snapshotFrame([runWire('run-9')], [], '50-0', BUS_UP, '10-0');
    let s = fold([WELCOME, snap], before);
    expect(Object.keys(s.runs)).toEqual(['//run-9']);
    expect(s.resumeFailed).toBe('10-0');
    // Later frames, even a snapshot that resumed nothing, leave it up.
    s = fold([ev(51, 'run-9', 'radar', { status: 'processing' }, 2), snapshotFrame([runWire('run-9')], [], '51-0')], s);
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

describe('the store agrees with the gateway', () => {
  it('the deltas of a run give the RunState the gateway puts in its next snapshot', () => {
    // What the gateway sends for these events (its fold, docs/events.md) and then serialises whole.
    const radar = { status: 'complete' as const, detail: '212 signals', started_at: iso(T0), ended_at: iso(T0 + 1_200), attempt: 1 };
    const analyst = {
      status: 'error' as const,
      detail: 'model timeout',
      started_at: iso(T0 + 1_300),
      ended_at: iso(T0 + 2_000),
      error: 'model timeout',
      attempt: 1,
    };
    const fields = { started_at: iso(T0), updated_at: iso(T0 + 2_000), ended_at: iso(T0 + 2_000), outcome: 'error' as const };
    const frames = [
      ev(1, 'run-42', 'radar', { ...radar, status: 'processing', ended_at: null }, 1, { updated_at: iso(T0) }),
      ev(2, 'run-42', 'radar', radar, 2, { updated_at: iso(T0 + 1_200) }),
      ev(3, 'run-42', 'analyst', { ...analyst, status: 'processing', ended_at: null, error: null }, 3, { updated_at: iso(T0 + 1_300) }),
      ev(4, 'run-42', 'analyst', analyst, 4, fields),
    ];
    const gatewayRun = runWire('run-42', { radar, analyst }, { ...fields, version: v(4) });
    const live = fold(frames).runs[KEY];
    expect(live).toEqual(fold([snapshotFrame([gatewayRun])]).runs[KEY]);
    expect(live).toEqual(runFromWire(gatewayRun as never));
  });
});
