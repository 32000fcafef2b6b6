// Which run the stages show: the newest by default ("follow newest"), or
// the one the user picked, until they go back to following.

import type { Run } from '../../../store/pipeline';
import { formatClock } from '../../../lib/time';
import { OUTCOME_LABEL } from '../../../ui/labels';

interface Props {
  runs: readonly Run[];
  /** The run picked by the user, or null to follow the newest. */
  pinned: string | null;
  onPin: (runId: string | null) => void;
}

export const FOLLOW_NEWEST = '';

function optionLabel(run: Run): string {
  const started = run.startedAt === null ? '' : ` · ${formatClock(run.startedAt).slice(0, 8)}`;
  return `${run.runId} — ${OUTCOME_LABEL[run.outcome]}${started}`;
}

export function RunSelector({ runs, pinned, onPin }: Props) {
  const newest = runs[0];
  return (
    <div className="run-selector">
      <label className="field-label" htmlFor="run-selector">
        Run
      </label>
      <div className="select-wrap">
        <select
          id="run-selector"
          data-testid="run-selector"
          className="select"
          value={pinned ?? FOLLOW_NEWEST}
          disabled={runs.length === 0}
          onChange={(e) => onPin(e.target.value === FOLLOW_NEWEST ? null : e.target.value)}
        >
          <option value={FOLLOW_NEWEST}>{newest ? `Follow newest (${newest.runId})` : 'No runs yet'}</option>
          {runs.map((run) => (
            <option key={run.runId} value={run.runId}>
              {optionLabel(run)}
            </option>
          ))}
        </select>
      </div>
      {pinned !== null ? (
        <button type="button" className="button button--ghost" data-testid="follow-newest" onClick={() => onPin(null)}>
          Follow newest
        </button>
      ) : (
        runs.length > 0 && (
          <span className="follow-hint" data-testid="following-newest">
            <span className="follow-hint__dot" aria-hidden />
            Following newest
          </span>
        )
      )}
    </div>
  );
}
