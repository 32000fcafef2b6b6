// The runs board: every run the page holds × its six stages, newest first,
// filterable by outcome and by stall. A row opens that run's timeline.
//
// Test hooks: data-testid="runs-board"; one row per run with data-run-id,
// data-run-key, data-tenant and data-outcome; per-stage cells with
// data-stage, data-status and data-stalled="true" when stalled; filter
// buttons with data-filter, data-count and aria-pressed.
//
// A row renders again only when its run object changes (the store replaces
// only the run a frame names), so one event does not redraw the board.

import { memo, useMemo, useState } from 'react';
import { useNow } from '../hooks/useNow.js';
import { STAGES, formatDuration, type PipelineState, type Run, type StageView } from '@tactical-link/client';
import { StatusIcon } from '../ui/icons.js';
import { OUTCOME_LABEL, STAGE_LABEL, STATUS_LABEL } from '../ui/labels.js';
import { usePipelineSelector, useShowsTenantsOfHeld } from '../hooks/useTacticalLink.js';
import { BOARD_FILTERS, boardCounts, boardRows, currentStage, runElapsed, type BoardFilter } from './board.js';

interface Props {
  runs: Readonly<Record<string, Run>>;
  /** How many runs the gateway keeps (snapshot `max_runs`), once known. */
  maxRuns: number | null;
  /** Show each run's tenant (a column). */
  withTenants: boolean;
  /** Opens the run's timeline. Stable across renders, so rows stay memoised. */
  onOpen: (key: string) => void;
}

const FILTER_LABEL: Record<BoardFilter, string> = {
  all: 'All',
  running: 'Running',
  stalled: 'Stalled',
  error: 'Error',
  complete: 'Complete',
};

/** Ticks once a second while the run runs; stops once it has ended. */
function RunElapsed({ run }: { run: Run }) {
  const now = useNow(1000, run.endedAt === null);
  const elapsed = runElapsed(run, now);
  return <>{elapsed === null ? '—' : formatDuration(elapsed)}</>;
}

function StageCell({ stage, view }: { stage: (typeof STAGES)[number]; view: StageView }) {
  const words = `${STAGE_LABEL[stage]}: ${STATUS_LABEL[view.status]}${view.stalled ? ', stalled' : ''}`;
  const title = [words, view.attempt >= 2 ? `attempt ${view.attempt}` : null, view.error].filter(Boolean).join(' · ');
  return (
    <td
      className={`board__cell board__cell--${view.status}${view.stalled ? ' board__cell--stalled' : ''}`}
      data-stage={stage}
      data-status={view.status}
      data-stalled={view.stalled ? 'true' : undefined}
      title={title}
    >
      <StatusIcon status={view.status} />
      <span className="visually-hidden">{words}</span>
      {view.stalled && (
        <span className="board__stalled" aria-hidden>
          stalled
        </span>
      )}
      {!view.stalled && view.status === 'processing' && view.progress !== null && (
        <span className="board__progress" aria-hidden>
          {Math.round(view.progress)}%
        </span>
      )}
      {view.attempt >= 2 && (
        <span className="board__attempt" aria-hidden>
          ×{view.attempt}
        </span>
      )}
    </td>
  );
}

interface RowProps {
  run: Run;
  withTenants: boolean;
  onOpen: (key: string) => void;
}

const BoardRow = memo(function BoardRow({ run, withTenants, onOpen }: RowProps) {
  const stage = currentStage(run);
  const outcomeStatus = run.outcome === 'running' ? 'processing' : run.outcome;
  return (
    <tr
      className={`board__row board__row--${run.outcome}${run.stalled ? ' board__row--stalled' : ''}`}
      data-run-id={run.runId}
      data-run-key={run.key}
      data-tenant={run.tenant ?? ''}
      data-outcome={run.outcome}
      data-stalled={run.stalled ? 'true' : undefined}
      onClick={() => onOpen(run.key)}
    >
      <th scope="row" className="board__run">
        {/* The button makes the row reachable by keyboard; its click reaches the row. */}
        <button type="button" className="board__open" aria-label={`Open the timeline of ${run.runId}${run.tenant ? ` (${run.tenant})` : ''}`}>
          {run.runId}
        </button>
      </th>
      {withTenants && <td className="board__tenant">{run.tenant ?? <span className="muted">—</span>}</td>}
      <td>
        <span className={`status-chip status-chip--small status-chip--${outcomeStatus}`}>
          <StatusIcon status={outcomeStatus} />
          <span>{OUTCOME_LABEL[run.outcome]}</span>
        </span>
      </td>
      <td className="board__current">{stage === null ? <span className="muted">—</span> : STAGE_LABEL[stage]}</td>
      <td className="board__elapsed mono">
        <RunElapsed run={run} />
      </td>
      {STAGES.map((s) => (
        <StageCell key={s} stage={s} view={run.stages[s]} />
      ))}
    </tr>
  );
});

function Filters({ counts, filter, onFilter }: { counts: Record<BoardFilter, number>; filter: BoardFilter; onFilter: (f: BoardFilter) => void }) {
  return (
    <div className="board__filters" role="group" aria-label="Show runs">
      {BOARD_FILTERS.map((f) => (
        <button
          key={f}
          type="button"
          className={`board__filter board__filter--${f}`}
          aria-pressed={filter === f}
          data-filter={f}
          data-count={counts[f]}
          onClick={() => onFilter(f)}
        >
          {FILTER_LABEL[f]} <span className="board__filter-count">{counts[f]}</span>
        </button>
      ))}
    </div>
  );
}

/** The board, from what it is given (RunsBoard reads the same from the provider). */
export function RunsBoardView({ runs, maxRuns, withTenants, onOpen }: Props) {
  const [filter, setFilter] = useState<BoardFilter>('all');
  const counts = useMemo(() => boardCounts(Object.values(runs)), [runs]);
  const rows = useMemo(() => boardRows(runs, filter), [runs, filter]);
  return (
    <section className="panel board" data-testid="runs-board" data-filter={filter} aria-labelledby="board-title">
      <header className="panel__header board__header">
        <h2 id="board-title" className="panel__title">
          Runs
        </h2>
        <span className="board__kept" data-testid="runs-board-kept">
          {counts.all} {counts.all === 1 ? 'run' : 'runs'}
          {maxRuns !== null && ` · the gateway keeps ${maxRuns}`}
        </span>
        <Filters counts={counts} filter={filter} onFilter={setFilter} />
      </header>
      <div className="board__body">
        {rows.length === 0 ? (
          <p className="board__empty" data-testid="runs-board-empty">
            {counts.all === 0 ? 'No runs yet. They appear here with their first event.' : 'No run matches this filter.'}
          </p>
        ) : (
          <table className="board__table">
            <caption className="visually-hidden">Runs, newest first; choose a run to open its timeline</caption>
            <thead>
              <tr>
                <th scope="col">Run</th>
                {withTenants && <th scope="col">Tenant</th>}
                <th scope="col">Outcome</th>
                <th scope="col">Stage</th>
                <th scope="col">Elapsed</th>
                {STAGES.map((s) => (
                  <th scope="col" key={s} className="board__stage-head">
                    {STAGE_LABEL[s]}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((run) => (
                <BoardRow key={run.key} run={run} withTenants={withTenants} onOpen={onOpen} />
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}

export interface RunsBoardProps {
  /** Called with a run's key when its row is opened (a click, or Enter on its run id). */
  onOpen?: (key: string) => void;
}

const ignore = () => {};

/** The runs board of every run the provider holds. */
const heldRuns = (state: PipelineState) => state.runs;
const maxRunsOf = (state: PipelineState) => state.maxRuns;

/** The runs board of every run the provider holds (it renders again when a run changes, not on other events). */
export function RunsBoard({ onOpen = ignore }: RunsBoardProps) {
  const runs = usePipelineSelector(heldRuns);
  const maxRuns = usePipelineSelector(maxRunsOf);
  const withTenants = useShowsTenantsOfHeld();
  return (
    <div className="tl">
      <RunsBoardView runs={runs} maxRuns={maxRuns} withTenants={withTenants} onOpen={onOpen} />
    </div>
  );
}
