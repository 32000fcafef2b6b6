// What the hooks select from the pipeline state, as pure functions: each
// returns a value that compares equal (by `Object.is`, or by the equality
// given beside it) as long as what a view shows of it has not changed, so
// a component subscribed through one renders again only then. Under load
// the runs object changes with nearly every event; the list of runs in
// order is worked out once per runs object (cached here), not once per
// component that asks.

import { compareNewestFirst, runsNewestFirst, type PipelineState, type Run } from '@tactical-link/client';

const ordered = new WeakMap<PipelineState['runs'], readonly Run[]>();

/** Every run held, newest start first: one sort per runs object, shared by every caller. */
export function heldRunsNewestFirst(runs: PipelineState['runs']): readonly Run[] {
  let list = ordered.get(runs);
  if (list === undefined) {
    list = runsNewestFirst(runs);
    ordered.set(runs, list);
  }
  return list;
}

/** The keys of the runs held, newest start first (compare with `sameItems`). */
export function runKeys(state: PipelineState): readonly string[] {
  return heldRunsNewestFirst(state.runs).map((run) => run.key);
}

/** The key of the newest run held, or null. */
export function newestRunKey(state: PipelineState): string | null {
  return heldRunsNewestFirst(state.runs)[0]?.key ?? null;
}

/** How many runs are held, and how many of them have a stalled stage (compare with `sameItems`). */
export function runCounts(state: PipelineState): readonly [held: number, stalled: number] {
  const list = heldRunsNewestFirst(state.runs);
  let stalled = 0;
  for (const run of list) if (run.stalled) stalled += 1;
  return [list.length, stalled];
}

/**
 * The run a page names: by its key, else the newest run of that run id (as
 * `findRun`), without sorting every run for it.
 */
export function runNamed(runs: PipelineState['runs'], keyOrRunId: string): Run | undefined {
  const byKey = runs[keyOrRunId];
  if (byKey !== undefined) return byKey;
  let found: Run | undefined;
  for (const run of Object.values(runs)) {
    if (run.runId === keyOrRunId && (found === undefined || compareNewestFirst(run, found) < 0)) found = run;
  }
  return found;
}

/** Whether two lists hold the same items in the same order. */
export function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => Object.is(item, b[i]));
}

