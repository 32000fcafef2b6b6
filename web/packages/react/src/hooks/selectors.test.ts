import { describe, expect, it } from 'vitest';
import { findRun, INITIAL_PIPELINE_STATE, runFromWire, type PipelineState, type Run, type RunStateWire } from '@tactical-link/client';
import { runWire } from '@tactical-link/client/testing';
import { heldRunsNewestFirst, newestRunKey, runCounts, runKeys, runNamed, sameItems } from './selectors.js';

const at = (s: number) => `2026-11-28T15:00:0${s}.000Z`;

function stateOf(...runs: Run[]): PipelineState {
  return { ...INITIAL_PIPELINE_STATE, runs: Object.fromEntries(runs.map((run) => [run.key, run])) };
}

const run = (...args: Parameters<typeof runWire>) => runFromWire(runWire(...args) as RunStateWire);
const a = run('a', {}, { started_at: at(1) });
const b = run('b', {}, { started_at: at(3), stalled: true });
const shared1 = run('shared', {}, { tenant: 'acme', started_at: at(2) });
const shared2 = run('shared', {}, { tenant: 'umbrella', started_at: at(4) });

describe('the selectors of the hooks', () => {
  it('order the runs newest start first, once per runs object', () => {
    const state = stateOf(a, b, shared1);
    expect(runKeys(state)).toEqual([b.key, shared1.key, a.key]);
    expect(newestRunKey(state)).toBe(b.key);
    expect(heldRunsNewestFirst(state.runs)).toBe(heldRunsNewestFirst(state.runs));
    expect(newestRunKey(stateOf())).toBeNull();
  });

  it('count the runs held and those stalled', () => {
    expect(runCounts(stateOf(a, b, shared1))).toEqual([3, 1]);
    expect(runCounts(stateOf())).toEqual([0, 0]);
  });

  it('find a run by key, else the newest of a run id, as findRun does', () => {
    const runs = stateOf(a, shared1, shared2).runs;
    for (const name of [shared1.key, 'shared', 'a', 'missing']) expect(runNamed(runs, name)).toBe(findRun(runs, name));
    expect(runNamed(runs, 'shared')).toBe(shared2);
  });

  it('tell lists with the same items in the same order', () => {
    expect(sameItems(['a', 'b'], ['a', 'b'])).toBe(true);
    expect(sameItems(['a', 'b'], ['b', 'a'])).toBe(false);
    expect(sameItems(['a'], ['a', 'b'])).toBe(false);
  });
});
