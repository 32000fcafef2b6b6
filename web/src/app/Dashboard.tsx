// The screen after boot: the operations screen with its two views, the
// timeline and the runs board. What both views share is worked out here
// once: the runs newest first, whether to name tenants, which run is picked.
// A row of the board opens that run in the timeline (pinned, by key) and
// moves focus to it.

import { useCallback, useEffect, useMemo, useRef, useState, type ComponentProps } from 'react';
import { RunsBoard } from '../features/board/components/RunsBoard';
import { OperationsTimeline } from '../features/timeline/components/OperationsTimeline';
import type { ScreenView } from '../features/timeline/components/ViewSwitch';
import type { LinkInfo } from '../lib/socket/client';
import { runsNewestFirst, showsTenants, type Viewer } from '../store/runs';

type Shared = 'runs' | 'withTenants' | 'view' | 'onView' | 'pinned' | 'onPin' | 'board' | 'pipelineRef';
type Props = Omit<ComponentProps<typeof OperationsTimeline>, Shared>;

function viewerOf(link: LinkInfo): Viewer | null {
  return link.auth.phase === 'authenticated' ? link.auth.identity : null;
}

export function Dashboard(props: Props) {
  const { state, link } = props;
  const [view, setView] = useState<ScreenView>('timeline');
  const [pinned, setPinned] = useState<string | null>(null);
  const runs = useMemo(() => runsNewestFirst(state.runs), [state.runs]);
  const withTenants = showsTenants(runs, viewerOf(link));

  const pipelineRef = useRef<HTMLElement>(null);
  const focusPipeline = useRef(false);
  const openRun = useCallback((key: string) => {
    setPinned(key);
    setView('timeline');
    focusPipeline.current = true;
  }, []);
  useEffect(() => {
    if (view === 'timeline' && focusPipeline.current) {
      focusPipeline.current = false;
      pipelineRef.current?.focus();
    }
  }, [view, pinned]);

  return (
    <OperationsTimeline
      {...props}
      runs={runs}
      withTenants={withTenants}
      view={view}
      onView={setView}
      pinned={pinned}
      onPin={setPinned}
      pipelineRef={pipelineRef}
      board={<RunsBoard runs={state.runs} maxRuns={state.maxRuns} withTenants={withTenants} onOpen={openRun} />}
    />
  );
}
