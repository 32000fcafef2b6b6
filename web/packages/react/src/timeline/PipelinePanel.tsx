// The selected run: the run picker (when the page lets the user pick), the
// run at a glance, and its six stage cards. The run shown is the one pinned
// (by the picker, a row of the runs board, or the page), else the newest.
// From props, but for the picker, which reads the runs held from the
// provider (RunSelector.tsx): with `onPin`, put it under a provider.

import type { Ref } from 'react';
import { STAGES, IDLE_STAGE, type Run } from '@tactical-link/client';
import { RunSelector } from './RunSelector.js';
import { RunSummary } from './RunSummary.js';
import { StageCard } from './StageCard.js';

interface Props {
  /** The run shown, if any. */
  selected: Run | undefined;
  /** Whether it was picked (else the page follows the newest). */
  pinned: boolean;
  /** The run id or key asked for, when no run of it is held yet. */
  waitingFor?: string | null;
  /** Shows the run picker; called with the key picked, or null to follow the newest. */
  onPin?: (key: string | null) => void;
  withTenants: boolean;
  /** Focused when a run is opened from the board. */
  panelRef?: Ref<HTMLElement>;
}

export function PipelinePanel({ selected, pinned, waitingFor = null, onPin, withTenants, panelRef }: Props) {
  return (
    <section className="panel pipeline" aria-labelledby="pipeline-title" ref={panelRef} tabIndex={-1}>
      <header className="panel__header pipeline__header">
        <h2 id="pipeline-title" className="visually-hidden">
          {selected ? `Pipeline of ${selected.runId}` : 'Pipeline'}
        </h2>
        {onPin && (
          <RunSelector
            pinned={pinned && selected ? selected.key : null}
            followed={pinned ? undefined : selected}
            onPin={onPin}
            withTenants={withTenants}
          />
        )}
        <RunSummary run={selected} waitingFor={waitingFor} />
      </header>
      <ol
        className="stages"
        aria-label={selected ? `Stages of ${selected.runId}` : 'Stages'}
        data-run-id={selected?.runId ?? waitingFor ?? ''}
        data-run-key={selected?.key ?? ''}
      >
        {STAGES.map((stage, i) => (
          <StageCard key={stage} stage={stage} index={i} view={selected ? selected.stages[stage] : IDLE_STAGE} />
        ))}
      </ol>
    </section>
  );
}
