// <OperationsTimeline>: the six stages of one run, live, as the gateway
// sends them (status, detail, timing, attempt, progress, ETA, stalled), with
// the run at a glance above them. Under a <TacticalLinkProvider>. It reads
// the run it shows, not every run: an event of another run does not render
// it (the run picker reads the runs held on its own: RunSelector.tsx).

import type { Ref } from 'react';
import { useRun, useShowsTenantsOfHeld } from '../hooks/useTacticalLink.js';
import { useFollowedRun } from './follow.js';
import { PipelinePanel } from './PipelinePanel.js';

export interface OperationsTimelineProps {
  /**
   * The run to show: its run id, or its key (`tenant/user_id/run_id`) when
   * one run id is used by several tenants. Without one, the newest run (at
   * most one switch every 3 s when new runs start faster: follow.ts).
   */
  runId?: string | null;
  /** Shows a run picker; called with the key picked, or null to follow the newest run. */
  onSelectRun?: (key: string | null) => void;
  /** The panel element, e.g. to focus it. */
  panelRef?: Ref<HTMLElement>;
}

export function OperationsTimeline({ runId = null, onSelectRun, panelRef }: OperationsTimelineProps) {
  const named = useRun(runId);
  const withTenants = useShowsTenantsOfHeld();
  // Without a run given, the newest, switched to at most every few seconds at high rates (follow.ts).
  const followed = useFollowedRun(runId === null);
  const selected = runId === null ? followed : named;
  return (
    <div className="tl">
      <PipelinePanel
        selected={selected}
        pinned={runId !== null}
        waitingFor={runId !== null && selected === undefined ? runId : null}
        onPin={onSelectRun}
        withTenants={withTenants}
        panelRef={panelRef}
      />
    </div>
  );
}
