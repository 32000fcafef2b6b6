// The selected run: the run picker, the run at a glance, and its six stage
// cards. The run shown is the one pinned (by the picker, or a row of the
// runs board), else the newest.

import type { Ref } from 'react';
import { STAGES } from '../../../lib/socket/frames';
import { IDLE_STAGE, type Run } from '../../../store/runs';
import { RunSelector } from './RunSelector';
import { RunSummary } from './RunSummary';
import { StageCard } from './StageCard';

interface Props {
  /** Newest first. */
  runs: readonly Run[];
  /** The run shown, if any. */
  selected: Run | undefined;
  /** Whether the user picked it (else the page follows the newest). */
  pinned: boolean;
  onPin: (key: string | null) => void;
  withTenants: boolean;
  /** Focused when a run is opened from the board. */
  panelRef?: Ref<HTMLElement>;
}

export function PipelinePanel({ runs, selected, pinned, onPin, withTenants, panelRef }: Props) {
  return (
    <section className="panel pipeline" aria-labelledby="pipeline-title" ref={panelRef} tabIndex={-1}>
      <header className="panel__header pipeline__header">
        <h2 id="pipeline-title" className="visually-hidden">
          {selected ? `Pipeline of ${selected.runId}` : 'Pipeline'}
        </h2>
        <RunSelector runs={runs} pinned={pinned && selected ? selected.key : null} onPin={onPin} withTenants={withTenants} />
        <RunSummary run={selected} />
      </header>
      <ol
        className="stages"
        aria-label={selected ? `Stages of ${selected.runId}` : 'Stages'}
        data-run-id={selected?.runId ?? ''}
        data-run-key={selected?.key ?? ''}
      >
        {STAGES.map((stage, i) => (
          <StageCard key={stage} stage={stage} index={i} view={selected ? selected.stages[stage] : IDLE_STAGE} />
        ))}
      </ol>
    </section>
  );
}
