// The selected run at a glance: outcome (and whether a stage stalled), start,
// total time, progress.

import { STAGES, formatClock, type Run } from '@tactical-link/client';
import { Elapsed } from '../ui/Elapsed.js';
import { StatusIcon } from '../ui/icons.js';
import { OUTCOME_LABEL } from '../ui/labels.js';

/** `waitingFor`: the run asked for, while no run of it is held. */
export function RunSummary({ run, waitingFor = null }: { run: Run | undefined; waitingFor?: string | null }) {
  if (!run) {
    return (
      <div className="run-summary run-summary--empty" data-testid="run-summary">
        {waitingFor === null ? 'Waiting for the first pipeline event…' : `Waiting for run ${waitingFor}…`}
      </div>
    );
  }
  const done = STAGES.filter((s) => run.stages[s].status === 'complete').length;
  const outcomeStatus = run.outcome === 'running' ? 'processing' : run.outcome;
  return (
    <dl className="run-summary" data-testid="run-summary" data-outcome={run.outcome} data-stalled={run.stalled ? 'true' : undefined}>
      <div className="run-summary__item">
        <dt>Outcome</dt>
        <dd>
          <span className={`status-chip status-chip--${outcomeStatus}`} data-testid="run-outcome">
            <StatusIcon status={outcomeStatus} />
            <span>{OUTCOME_LABEL[run.outcome]}</span>
          </span>
          {run.stalled && (
            <span className="run-summary__stalled" data-testid="run-stalled">
              Stalled
            </span>
          )}
        </dd>
      </div>
      <div className="run-summary__item">
        <dt>Started</dt>
        <dd className="mono">{run.startedAt === null ? '—' : formatClock(run.startedAt)}</dd>
      </div>
      <div className="run-summary__item">
        <dt>{run.endedAt === null ? 'Running for' : 'Total'}</dt>
        <dd className="mono">{run.startedAt === null ? '—' : <Elapsed since={run.startedAt} until={run.endedAt} />}</dd>
      </div>
      <div className="run-summary__item run-summary__item--progress">
        <dt>Stages</dt>
        <dd>
          <span className="progress" aria-hidden>
            {STAGES.map((s) => (
              <span
                key={s}
                className={`progress__seg progress__seg--${run.stages[s].status}${run.stages[s].stalled ? ' progress__seg--stalled' : ''}`}
              />
            ))}
          </span>
          <span className="mono">
            {done}/{STAGES.length}
          </span>
        </dd>
      </div>
    </dl>
  );
}
