// The operations screen: header (view switch, link, who, bus, latency), the
// banners, and one of two views, which app/ hands in: the timeline (the
// stages of a run and the event log) or the runs board. A notice (the token
// expiry warning) shows under the header; an overlay (the token prompt)
// makes the screen inert while it is shown. The state comes from the
// provider's hooks (@tactical-link/react), each part subscribed to the slice
// it shows (the bus, the run counts, the notices), so an event renders the
// screen's frame only when one of those changed.

import { useEffect, type ReactNode } from 'react';
import type { BusFrame, GatewayStatus, LinkInfo, PipelineState } from '@tactical-link/client';
import { LogoMark, useLatestEvents, useLinkStatus, usePipelineSelector, useRunCounts, useTacticalLink } from '@tactical-link/react';
import type { LatencyTracker } from '../model/latency';
import { BusStatus } from './BusStatus';
import { IdentityBadge } from './IdentityBadge';
import { LatencyReadout } from './LatencyReadout';
import { LinkStatus } from './LinkStatus';
import { ResumeNotice } from './ResumeNotice';
import { ViewSwitch, type ScreenView } from './ViewSwitch';

interface Props {
  /** Last answer of GET /api/status, if any. */
  gateway: GatewayStatus | null;
  latency: LatencyTracker;
  /** A banner under the header (the token expiry warning), if any. */
  notice?: ReactNode;
  /** A dialog over the screen; the screen is inert while there is one. */
  overlay?: ReactNode;
  view: ScreenView;
  onView: (view: ScreenView) => void;
  /** The timeline view: the stages of the run shown, and the event log. */
  timeline: ReactNode;
  /** The board view. */
  board: ReactNode;
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

const snapshotReceived = (state: PipelineState) => state.snapshotReceived;
const resumeFailed = (state: PipelineState) => state.resumeFailed;
const busOf = (state: PipelineState) => state.bus;

/** What to know about the state on screen: link down, resume failed, bus down. */
function Banners({ link, bus }: { link: LinkInfo; bus: BusFrame | null }) {
  const snapshot = usePipelineSelector(snapshotReceived);
  const failed = usePipelineSelector(resumeFailed);
  const { store } = useTacticalLink();
  return (
    <>
      {link.status !== 'live' && snapshot && (
        <div className="stale-banner" role="note" data-testid="stale-banner">
          Live link {link.status === 'offline' ? 'offline' : 'down'}
          {link.reason ? ` — ${link.reason}` : ''}. Showing the last known state; it catches up on reconnect.
        </div>
      )}
      {failed !== null && (
        <ResumeNotice lastId={failed} onDismiss={() => store.dispatch({ type: 'dismiss-resume-notice' })} />
      )}
      {bus?.state === 'down' && (
        <div className="stale-banner stale-banner--bus" role="note" data-testid="bus-banner">
          The gateway has lost its event bus{bus.detail ? `: ${bus.detail}` : ''}. Stages may lag until it is back
          {bus.lossy ? '; events published meanwhile are lost' : ''}.
        </div>
      )}
    </>
  );
}

/**
 * Latency: whatever was marked before this screen existed was never shown
 * here; everything marked since is on screen once React has committed the
 * latest events (the one part of the screen rendered for each of them).
 * Renders nothing.
 */
function LatencyFlush({ latency }: { latency: LatencyTracker }) {
  const events = useLatestEvents();
  useEffect(() => latency.discardPending(), [latency]);
  useEffect(() => latency.flush(Date.now()), [events, latency]);
  return null;
}

export function OperationsScreen(props: Props) {
  const { gateway, latency, view, overlay } = props;
  const { link: client } = useTacticalLink();
  const link = useLinkStatus();
  const [held, stalled] = useRunCounts();
  const bus = usePipelineSelector(busOf) ?? gateway?.bus ?? null;

  const views = <ViewSwitch view={view} onView={props.onView} runs={held} stalled={stalled} />;
  const covered = overlay !== undefined && overlay !== null;
  const title = view === 'board' ? 'Runs Board' : 'Operations Timeline';
  return (
    <>
      <div className="ops" data-testid="operations-timeline" data-view={view} inert={covered}>
        <OpsHeader link={link} onRetry={() => client.retryNow()} bus={bus} latency={latency} gateway={gateway} title={title} views={views} />
        <LatencyFlush latency={latency} />
        {props.notice}
        <Banners link={link} bus={bus} />
        {view === 'board' ? (
          <main className="ops__main ops__main--board">{props.board}</main>
        ) : (
          <main className="ops__main">{props.timeline}</main>
        )}
      </div>
      {overlay}
    </>
  );
}
