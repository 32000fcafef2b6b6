// The operations screen: header (view switch, link, who, bus, latency), and
// one of two views: the timeline (run picker, the six stages of the selected
// run, the event log) or the runs board, which app/ hands in. A notice (the
// token expiry warning) shows under the header; an overlay (the token
// prompt) makes the screen inert while it is shown.

import { useEffect, type ReactNode, type Ref } from 'react';
import type { LinkInfo } from '../../../lib/socket/client';
import type { BusFrame } from '../../../lib/socket/frames';
import type { GatewayStatus } from '../../../lib/gatewayStatus';
import type { LatencyTracker } from '../model/latency';
import type { PipelineState } from '../../../store/pipeline';
import type { Run } from '../../../store/runs';
import { LogoMark } from '../../../ui/icons';
import { BusStatus } from './BusStatus';
import { EventLog } from './EventLog';
import { IdentityBadge } from './IdentityBadge';
import { LatencyReadout } from './LatencyReadout';
import { LinkStatus } from './LinkStatus';
import { PipelinePanel } from './PipelinePanel';
import { ResumeNotice } from './ResumeNotice';
import { ViewSwitch, type ScreenView } from './ViewSwitch';

interface Props {
  state: PipelineState;
  link: LinkInfo;
  onRetry: () => void;
  /** Last answer of GET /api/status, if any. */
  gateway: GatewayStatus | null;
  latency: LatencyTracker;
  onDismissResumeNotice: () => void;
  /** A banner under the header (the token expiry warning), if any. */
  notice?: ReactNode;
  /** A dialog over the screen; the screen is inert while there is one. */
  overlay?: ReactNode;
  /** Every run held, newest first, and whether views name their tenants. */
  runs: readonly Run[];
  withTenants: boolean;
  view: ScreenView;
  onView: (view: ScreenView) => void;
  /** The key of the run the user picked, or null to follow the newest. */
  pinned: string | null;
  onPin: (key: string | null) => void;
  /** The runs board, shown in the board view. */
  board: ReactNode;
  /** The pipeline panel, for focus when a run is opened from the board. */
  pipelineRef?: Ref<HTMLElement>;
}

const nf = new Intl.NumberFormat('en-US');


function GatewayStats({ gateway }: { gateway: GatewayStatus }) {
  return (
    <div className="gateway-stats" data-testid="gateway-stats" title={gateway.server}>
      <span>
        <span className="gateway-stats__value">{nf.format(gateway.connections)}</span>{' '}
        {gateway.connections === 1 ? 'client' : 'clients'}
      </span>
      <span>
        <span className="gateway-stats__value">{nf.format(gateway.events_relayed)}</span> relayed
      </span>
    </div>
  );
}

interface HeaderProps {
  link: LinkInfo;
  onRetry: () => void;
  bus: BusFrame | null;
  latency: LatencyTracker;
  gateway: GatewayStatus | null;
  /** The screen's name (the view's) and the view switch. */
  title: string;
  views: ReactNode;
}

function OpsHeader({ link, onRetry, bus, latency, gateway, title, views }: HeaderProps) {
  return (
    <header className="ops__header">
      <div className="brand">
        <LogoMark className="brand__mark" />
        <div>
          <p className="brand__name">Tactical Link</p>
          <h1 className="brand__screen">{title}</h1>
        </div>
      </div>
      {views}
      <div className="ops__status" aria-label="System status">
        <LinkStatus link={link} onRetry={onRetry} />
        <IdentityBadge auth={link.auth} />
        <BusStatus bus={bus} stale={link.status !== 'live'} />
        <LatencyReadout tracker={latency} />
        {gateway && <GatewayStats gateway={gateway} />}
      </div>
    </header>
  );
}

interface BannersProps {
  link: LinkInfo;
  state: PipelineState;
  bus: BusFrame | null;
  onDismissResumeNotice: () => void;
}

/** What to know about the state on screen: link down, resume failed, bus down. */
function Banners({ link, state, bus, onDismissResumeNotice }: BannersProps) {
  return (
    <>
      {link.status !== 'live' && state.snapshotReceived && (
        <div className="stale-banner" role="note" data-testid="stale-banner">
          Live link {link.status === 'offline' ? 'offline' : 'down'}
          {link.reason ? ` — ${link.reason}` : ''}. Showing the last known state; it catches up on reconnect.
        </div>
      )}
      {state.resumeFailed !== null && <ResumeNotice lastId={state.resumeFailed} onDismiss={onDismissResumeNotice} />}
      {bus?.state === 'down' && (
        <div className="stale-banner stale-banner--bus" role="note" data-testid="bus-banner">
          The gateway has lost its event bus{bus.detail ? `: ${bus.detail}` : ''}. Stages may lag until it is back
          {bus.lossy ? '; events published meanwhile are lost' : ''}.
        </div>
      )}
    </>
  );
}

export function OperationsTimeline(props: Props) {
  const { state, link, gateway, latency, runs, view, pinned, overlay } = props;
  // A pinned run that is no longer retained falls back to the newest.
  const pinnedRun = pinned !== null ? state.runs[pinned] : undefined;
  const bus = state.bus ?? gateway?.bus ?? null;

  // Latency: whatever was marked before this screen existed was never shown here.
  useEffect(() => latency.discardPending(), [latency]);
  // …and everything marked since is on screen once React has committed it.
  useEffect(() => latency.flush(Date.now()), [state.events, latency]);

  const views = <ViewSwitch view={view} onView={props.onView} runs={runs.length} stalled={runs.filter((r) => r.stalled).length} />;
  const covered = overlay !== undefined && overlay !== null;
  return (
    <>
      <div className="ops" data-testid="operations-timeline" data-view={view} inert={covered}>
        <OpsHeader link={link} onRetry={props.onRetry} bus={bus} latency={latency} gateway={gateway} title={view === 'board' ? 'Runs Board' : 'Operations Timeline'} views={views} />

        {props.notice}
        <Banners link={link} state={state} bus={bus} onDismissResumeNotice={props.onDismissResumeNotice} />

        {view === 'board' ? (
          <main className="ops__main ops__main--board">{props.board}</main>
        ) : (
          <main className="ops__main">
            <PipelinePanel
              runs={runs}
              selected={pinnedRun ?? runs[0]}
              pinned={pinnedRun !== undefined}
              onPin={props.onPin}
              withTenants={props.withTenants}
              panelRef={props.pipelineRef}
            />
            <EventLog events={state.events} />
          </main>
        )}
      </div>
      {overlay}
    </>
  );
}
