// Which run the stages show: the newest by default ("follow newest", at
// most one switch every 3 s when runs start faster: follow.ts), or the one
// the user picked, until they go back to following.
//
// The picker reads the runs held from the provider itself: its list of
// options is rebuilt only when a run comes or goes (`useRunKeys`), and each
// option renders again only when its own label changes (a run's outcome,
// its stall: runOption.ts), so an event that only moves a stage renders
// none of it.

import { memo, useCallback } from 'react';
import { runLabel, type PipelineState, type Run } from '@tactical-link/client';
import { heldRunsNewestFirst } from '../hooks/selectors.js';
import { usePipelineSelector, useRunKeys } from '../hooks/useTacticalLink.js';
import { optionFields, optionLabel, sameOptionFields } from './runOption.js';

interface Props {
  /** The key of the run picked by the user, or null to follow the newest. */
  pinned: string | null;
  /** The run shown while following (the newest, or one a little older while switches are limited: follow.ts). */
  followed?: Run;
  onPin: (key: string | null) => void;
  /** Name each run's tenant (one run id may be used in two tenants). */
  withTenants: boolean;
}

export const FOLLOW_NEWEST = '';

/** One run of the picker: renders again only when what its label says changes (runOption.ts). */
const RunOption = memo(function RunOption({ runKey, withTenants }: { runKey: string; withTenants: boolean }) {
  const select = useCallback((state: PipelineState) => {
    const run = state.runs[runKey];
    return run === undefined ? null : optionFields(run);
  }, [runKey]);
  const fields = usePipelineSelector(select, sameOptionFields);
  return <option value={runKey}>{fields === null ? runKey : optionLabel(fields, withTenants)}</option>;
});

/** The options, one per run held: rebuilt only when a run comes or goes. */
const RunOptions = memo(function RunOptions({ keys, withTenants }: { keys: readonly string[]; withTenants: boolean }) {
  return keys.map((key) => <RunOption key={key} runKey={key} withTenants={withTenants} />);
});

export function RunSelector({ pinned, followed, onPin, withTenants }: Props) {
  const keys = useRunKeys();
  const none = keys.length === 0;
  const newest = usePipelineSelector(
    useCallback((state: PipelineState) => {
      const run = heldRunsNewestFirst(state.runs)[0];
      return run === undefined ? null : runLabel(run, withTenants);
    }, [withTenants]),
  );
  const following = followed ? runLabel(followed, withTenants) : newest;
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
          disabled={none}
          onChange={(e) => onPin(e.target.value === FOLLOW_NEWEST ? null : e.target.value)}
        >
          <option value={FOLLOW_NEWEST}>{following === null ? 'No runs yet' : `Follow newest (${following})`}</option>
          <RunOptions keys={keys} withTenants={withTenants} />
        </select>
      </div>
      {pinned !== null ? (
        <button type="button" className="button button--ghost" data-testid="follow-newest" onClick={() => onPin(null)}>
          Follow newest
        </button>
      ) : (
        !none && (
          <span className="follow-hint" data-testid="following-newest">
            <span className="follow-hint__dot" aria-hidden />
            Following newest
          </span>
        )
      )}
    </div>
  );
}
