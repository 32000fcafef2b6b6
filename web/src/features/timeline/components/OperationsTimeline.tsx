// The Operations Timeline screen: header (link, who, bus, latency), run
// picker, the six stages of the selected run, and the event log. A notice
// (the token expiry warning) shows under the header; an overlay (the token
// prompt) makes the screen inert while it is shown.

import { useEffect, useMemo, useState, type ReactNode } from 'react';
import type { LinkInfo } from '../../../lib/socket/client';
import { STAGES, type BusFrame } from '../../../lib/socket/frames';
import type { GatewayStatus } from '../../../lib/gatewayStatus';
import type { LatencyTracker } from '../model/latency';
import type { PipelineState } from '../../../store/pipeline';
import { IDLE_STAGE, runsNewestFirst, showsTenants, type Viewer } from '../../../store/runs';
import { BusStatus } from './BusStatus';
import { EventLog } from './EventLog';
import { IdentityBadge } from './IdentityBadge';
import { LogoMark } from '../../../ui/icons';
import { LatencyReadout } from './LatencyReadout';
import { LinkStatus } from './LinkStatus';
import { ResumeNotice } from './ResumeNotice';
import { RunSelector } from './RunSelector';
import { RunSummary } from './RunSummary';
import { StageCard } from './StageCard';

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
}

const nf = new Intl.NumberFormat('en-US');

function viewerOf(link: LinkInfo): Viewer | null {
  return link.auth.phase === 'authenticated' ? link.auth.identity : null;
}

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
}

function OpsHeader({ link, onRetry, bus, latency, gateway }: HeaderProps) {
  return (
    <header className="ops__header">
      <div className="brand">
        <LogoMark className="brand__mark" />
        <div>
          <p className="brand__name">Tactical Link</p>
          <h1 className="brand__screen">Operations Timeline</h1>
        </div>
      </div>
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

export function OperationsTimeline({
  state,
  link,
  onRetry,
  gateway,
  latency,
  onDismissResumeNotice,
  notice,
  overlay,
}: Props) {
  const [pinned, setPinned] = useState<string | null>(null);
  const runs = useMemo(() => runsNewestFirst(state.runs), [state.runs]);
  const withTenants = showsTenants(runs, viewerOf(link));
  // A pinned run that is no longer retained falls back to the newest.
  const pinnedRun = pinned !== null ? state.runs[pinned] : undefined;
  const selected = pinnedRun ?? runs[0];
  const bus = state.bus ?? gateway?.bus ?? null;

  // Latency: whatever was marked before this screen existed was never shown here.
  useEffect(() => latency.discardPending(), [latency]);
  // …and everything marked since is on screen once React has committed it.
  useEffect(() => latency.flush(Date.now()), [state.events, latency]);

  const covered = overlay !== undefined && overlay !== null;
  return (
    <>
      <div className="ops" data-testid="operations-timeline" inert={covered}>
        <OpsHeader link={link} onRetry={onRetry} bus={bus} latency={latency} gateway={gateway} />

        {notice}
        <Banners link={link} state={state} bus={bus} onDismissResumeNotice={onDismissResumeNotice} />

        <main className="ops__main">
          <section className="panel pipeline" aria-labelledby="pipeline-title">
            <header className="panel__header pipeline__header">
              <h2 id="pipeline-title" className="visually-hidden">
                Pipeline
              </h2>
              <RunSelector runs={runs} pinned={pinnedRun ? pinnedRun.key : null} onPin={setPinned} withTenants={withTenants} />
              <RunSummary run={selected} />
            </header>
            <ol
              className="stages"
              aria-label={selected ? `Stages of ${selected.runId}` : 'Stages'}
              data-run-id={selected?.runId ?? ''}
              data-run-key={selected?.key ?? ''}
            >
              {STAGES.map((stage, i) => (
                <StageCard
                  key={stage}
                  stage={stage}
                  index={i}
                  view={selected ? selected.stages[stage] : IDLE_STAGE}
                />
              ))}
            </ol>
          </section>

          <EventLog events={state.events} />
        </main>
      </div>
      {overlay}
    </>
  );
}
