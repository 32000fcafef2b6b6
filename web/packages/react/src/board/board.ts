// The runs board's model: which runs a filter keeps, how many each filter
// would keep, their order (newest start first, as the gateway lists them),
// the stage each run is at, and how long it has run. Pure functions of the
// store's runs, recomputed on render.

import { STAGES, runsNewestFirst, type Stage, type Run } from '@tactical-link/client';

export const BOARD_FILTERS = ['all', 'running', 'stalled', 'error', 'complete'] as const;
export type BoardFilter = (typeof BOARD_FILTERS)[number];

/**
 * `running`, `error`, `complete`: the run's outcome. `stalled`: some stage
 * is past its deadline (such a run is running too, unless a stage failed).
 */
export function matchesBoardFilter(run: Run, filter: BoardFilter): boolean {
  switch (filter) {
    case 'all':
      return true;
    case 'stalled':
      return run.stalled;
    default:
      return run.outcome === filter;
  }
}

/** How many runs each filter keeps. */
export function boardCounts(runs: readonly Run[]): Record<BoardFilter, number> {
  const counts = Object.fromEntries(BOARD_FILTERS.map((f) => [f, 0])) as Record<BoardFilter, number>;
  for (const run of runs) {
    for (const filter of BOARD_FILTERS) if (matchesBoardFilter(run, filter)) counts[filter] += 1;
  }
  return counts;
}

/** The rows of the board: the runs the filter keeps, newest start first. */
export function boardRows(runs: Readonly<Record<string, Run>>, filter: BoardFilter): Run[] {
  return runsNewestFirst(runs).filter((run) => matchesBoardFilter(run, filter));
}

/**
 * The stage a run is at: the stage in error when one is (what stopped it),
 * else the last stage processing, else the last one that ran; null when no
 * stage has.
 */
export function currentStage(run: Run): Stage | null {
  const failed = STAGES.find((s) => run.stages[s].status === 'error');
  if (failed) return failed;
  const last = (status: 'processing' | 'complete') => STAGES.findLast((s) => run.stages[s].status === status);
  return last('processing') ?? last('complete') ?? null;
}

/** How long the run has run at `now` (Unix ms): until its end once it has one; null before it started. */
export function runElapsed(run: Run, now: number): number | null {
  if (run.startedAt === null) return null;
  return Math.max(0, (run.endedAt ?? now) - run.startedAt);
}
