// Which run the stages show: the newest by default ("follow newest", at
// most one switch every 3 s when runs start faster: follow.ts), or the one
// the user picked, until they go back to following.

import { runLabel, formatClock, type Run } from '@tactical-link/client';
import { OUTCOME_LABEL } from '../ui/labels.js';

interface Props {
  runs: readonly Run[];
  /** The key of the run picked by the user, or null to follow the newest. */
  pinned: string | null;
  /** The run shown while following (the newest, or one a little older while switches are limited: follow.ts). */
  followed?: Run;
  onPin: (key: string | null) => void;
  /** Name each run's tenant (one run id may be used in two tenants). */
  withTenants: boolean;
}

export const FOLLOW_NEWEST = '';

function optionLabel(run: Run, withTenants: boolean): string {
  const started = run.startedAt === null ? '' : ` · ${formatClock(run.startedAt).slice(0, 8)}`;
  const stalled = run.stalled ? ' · stalled' : '';
  return `${runLabel(run, withTenants)} — ${OUTCOME_LABEL[run.outcome]}${stalled}${started}`;
}

export function RunSelector({ runs, pinned, followed, onPin, withTenants }: Props) {
  const newest = followed ?? runs[0];
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
          <option value={FOLLOW_NEWEST}>{newest ? `Follow newest (${runLabel(newest, withTenants)})` : 'No runs yet'}</option>
          {runs.map((run) => (
            <option key={run.key} value={run.key}>
              {optionLabel(run, withTenants)}
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
