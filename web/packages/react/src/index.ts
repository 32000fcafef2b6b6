// @tactical-link/react: the Tactical Link dashboard's state and components
// for any React app. Put a <TacticalLinkProvider url=…> around them, and
// import '@tactical-link/react/styles.css' once. What each part owns:
//
//   provider.tsx                 one link and one pipeline store per provider
//   hooks/useTacticalLink.ts     useLinkStatus, useRuns, useRun, useEvents, …,
//                                each subscribed to its slice (hooks/selectors.ts)
//   timeline/                    OperationsTimeline (the six stages of a run),
//                                EventLog, and their pieces
//   board/                       RunsBoard (every run × six stages, filters)
//   boot/                        SystemBoot (the start-up checks)
//   ui/                          icons, labels, Elapsed
//   styles/                      the CSS, scoped under .tl

export { TacticalLinkProvider, type TacticalLink, type TacticalLinkProviderProps } from './provider.js';
export {
  useEvents,
  useLatestEvents,
  useLinkStatus,
  useNewestRunKey,
  usePipelineSelector,
  usePipelineState,
  useRun,
  useRunCounts,
  useRunKeys,
  useRuns,
  useShowsTenants,
  useShowsTenantsOfHeld,
  useTacticalLink,
} from './hooks/useTacticalLink.js';
export { useGatewayProbe } from './hooks/useGatewayProbe.js';
export { useNow } from './hooks/useNow.js';
export { usePrefersReducedMotion } from './hooks/usePrefersReducedMotion.js';
export { OperationsTimeline, type OperationsTimelineProps } from './timeline/OperationsTimeline.js';
export { PipelinePanel } from './timeline/PipelinePanel.js';
export { RunSummary } from './timeline/RunSummary.js';
export { StageCard } from './timeline/StageCard.js';
export { EventLog } from './timeline/EventLog.js';
export { eventsMatching, type EventFilter } from './timeline/eventFilter.js';
export { RunsBoard, RunsBoardView, type RunsBoardProps } from './board/RunsBoard.js';
export { SystemBoot, SystemBootView, type SystemBootProps } from './boot/SystemBoot.js';
export type { BootCheck, BootInputs, GatewayProbe } from './boot/checks.js';
export { Elapsed } from './ui/Elapsed.js';
export { LogoMark, StageGlyph, StatusIcon } from './ui/icons.js';
export { OUTCOME_LABEL, STAGE_LABEL, STAGE_ROLE, STATUS_LABEL } from './ui/labels.js';
export { VERSION } from './version.js';
