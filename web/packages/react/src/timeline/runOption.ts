// What the run picker says of each run: its name, outcome, whether it
// stalled, and its start. The picker's options subscribe to these fields
// only (not to the run object, which changes with every event of the run),
// and render again only when one of them does.

import { formatClock, runLabel, type Run } from '@tactical-link/client';
import { OUTCOME_LABEL } from '../ui/labels.js';

export type OptionFields = Pick<Run, 'runId' | 'tenant' | 'outcome' | 'stalled' | 'startedAt'>;

/** The fields of `run` its option shows. */
export function optionFields(run: Run): OptionFields {
  const { runId, tenant, outcome, stalled, startedAt } = run;
  return { runId, tenant, outcome, stalled, startedAt };
}

/** Whether two runs' options read the same. */
export function sameOptionFields(a: OptionFields | null, b: OptionFields | null): boolean {
  if (a === null || b === null) return a === b;
  return a.runId === b.runId && a.tenant === b.tenant && a.outcome === b.outcome && a.stalled === b.stalled && a.startedAt === b.startedAt;
}

export function optionLabel(fields: OptionFields, withTenants: boolean): string {
  const started = fields.startedAt === null ? '' : ` · ${formatClock(fields.startedAt).slice(0, 8)}`;
  const stalled = fields.stalled ? ' · stalled' : '';
  return `${runLabel(fields, withTenants)} — ${OUTCOME_LABEL[fields.outcome]}${stalled}${started}`;
}
