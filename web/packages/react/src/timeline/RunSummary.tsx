// The selected run at a glance: outcome (and whether a stage stalled), start,
// total time, progress.

import { STAGES } from '../../../lib/socket/frames';
import { formatClock } from '../../../lib/time';
import type { Run } from '../../../store/runs';
import { Elapsed } from '../../../ui/Elapsed';
import { StatusIcon } from '../../../ui/icons';
import { OUTCOME_LABEL } from '../../../ui/labels';

export function RunSummary({ run }: { run: Run | undefined }) {
  if (!run) {
    return (
      <div className="run-summary run-summary--empty" data-testid="run-summary">
        Waiting for the first pipeline event…
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
