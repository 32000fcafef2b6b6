import { describe, expect, it } from 'vitest';
import { runFromWire, type StageStateWire, type Stage, type Run } from '@tactical-link/client';
import { runWire } from '@tactical-link/client/testing';
import { boardCounts, boardRows, currentStage, matchesBoardFilter, runElapsed } from './board.js';

const T0 = Date.parse('2026-11-28T15:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function run(
  runId: string,
  startOffset: number,
  stages: Partial<Record<Stage, Partial<StageStateWire>>> = {},
  fields: Record<string, unknown> = {},
): Run {
  return runFromWire(runWire(runId, stages, { started_at: iso(T0 + startOffset), ...fields }) as never);
}

const running = run('running', 10, { radar: { status: 'complete' }, analyst: { status: 'processing' } });
const stalled = run('stalled', 20, { radar: { status: 'processing', stalled: true } }, { stalled: true });
const failed = run('failed', 30, { radar: { status: 'complete' }, analyst: { status: 'error', error: 'boom' } }, { outcome: 'error' });
const done = run('done', 5, { report: { status: 'complete' } }, { outcome: 'complete', ended_at: iso(T0 + 60_005) });
// A run with a stage in error and another stalled: both filters keep it.
const both = run('both', 40, { radar: { status: 'error' }, analyst: { status: 'processing', stalled: true } }, { outcome: 'error', stalled: true });
const all = [running, stalled, failed, done, both];
const byKey = Object.fromEntries(all.map((r) => [r.key, r]));

describe('board filters', () => {
  it('running / error / complete follow the outcome; stalled follows the run flag', () => {
    const kept = (filter: Parameters<typeof matchesBoardFilter>[1]) => all.filter((r) => matchesBoardFilter(r, filter)).map((r) => r.runId);
    expect(kept('all')).toEqual(['running', 'stalled', 'failed', 'done', 'both']);
    expect(kept('running')).toEqual(['running', 'stalled']);
    expect(kept('stalled')).toEqual(['stalled', 'both']);
    expect(kept('error')).toEqual(['failed', 'both']);
    expect(kept('complete')).toEqual(['done']);
  });

  it('counts what each filter keeps', () => {
    expect(boardCounts(all)).toEqual({ all: 5, running: 2, stalled: 2, error: 2, complete: 1 });
    expect(boardCounts([])).toEqual({ all: 0, running: 0, stalled: 0, error: 0, complete: 0 });
  });

  it('rows are newest start first, after the filter', () => {
    expect(boardRows(byKey, 'all').map((r) => r.runId)).toEqual(['both', 'failed', 'stalled', 'running', 'done']);
    expect(boardRows(byKey, 'stalled').map((r) => r.runId)).toEqual(['both', 'stalled']);
  });
});

describe('currentStage', () => {
  it('is the stage in error, else the last processing, else the last complete, else none', () => {
    expect(currentStage(failed)).toBe('analyst');
    expect(currentStage(both)).toBe('radar');
    expect(currentStage(running)).toBe('analyst');
    expect(currentStage(done)).toBe('report');
    expect(currentStage(run('idle', 0))).toBeNull();
    // Two stages processing at once (a publisher ahead of the order): the later one.
    expect(currentStage(run('p', 0, { radar: { status: 'processing' }, advisor: { status: 'processing' } }))).toBe('advisor');
  });
});

describe('runElapsed', () => {
  it('runs until now while running, until the end once ended; null before a start', () => {
    expect(runElapsed(running, T0 + 60_010)).toBe(60_000);
    expect(runElapsed(done, T0 + 999_999)).toBe(60_000);
    expect(runElapsed(run('nostart', 0, {}, { started_at: null }), T0)).toBeNull();
    // A start in the future (a publisher's clock ahead) does not show a negative time.
    expect(runElapsed(running, T0)).toBe(0);
  });
});
