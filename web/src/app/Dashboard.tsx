// The screen after boot: the operations screen with its two views, built
// from the components of @tactical-link/react: the timeline (the stages of
// one run, OperationsTimeline, and the EventLog) and the RunsBoard. The run
// shown is the one pinned (by the run picker or a board row, by key), else
// the newest; a board row opens its run in the timeline and moves focus to
// it. It reads only whether the run pinned is still held, so events do not
// render it: each view below subscribes to what it shows.

import { useCallback, useEffect, useRef, useState, type ComponentProps } from 'react';
import type { PipelineState } from '@tactical-link/client';
import { EventLog, OperationsTimeline, RunsBoard, useLatestEvents, usePipelineSelector } from '@tactical-link/react';
import { OperationsScreen } from '../features/screen/components/OperationsScreen';
import type { ScreenView } from '../features/screen/components/ViewSwitch';

type Props = Omit<ComponentProps<typeof OperationsScreen>, 'view' | 'onView' | 'timeline' | 'board'>;

/** The event log of the latest events: the one part of the timeline view every event renders. */
function LiveEventLog() {
  return <EventLog events={useLatestEvents()} />;
}

export function Dashboard(props: Props) {
  const [view, setView] = useState<ScreenView>('timeline');
  const [pinned, setPinned] = useState<string | null>(null);
  // A pinned run that is no longer retained falls back to the newest.
  const held = usePipelineSelector(useCallback((state: PipelineState) => pinned !== null && state.runs[pinned] !== undefined, [pinned]));
  const shown = held ? pinned : null;

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

  const timeline = (
    <>
      <OperationsTimeline runId={shown} onSelectRun={setPinned} panelRef={pipelineRef} />
      <LiveEventLog />
    </>
  );
  return <OperationsScreen {...props} view={view} onView={setView} timeline={timeline} board={<RunsBoard onOpen={openRun} />} />;
}
