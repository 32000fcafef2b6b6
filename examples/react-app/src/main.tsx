// An existing React app that embeds the Operations Timeline of one run,
// live from a Tactical Link gateway, with the packed @tactical-link packages.
//
//   ?ws=ws://127.0.0.1:8000/dashboard/ws   the gateway (default: that one)
//   ?run=run-42                            the run to show (default: the newest)

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { OperationsTimeline, TacticalLinkProvider, useLinkStatus } from '@tactical-link/react';
import '@tactical-link/react/styles.css';
import './app.css';

const params = new URLSearchParams(window.location.search);
const url = params.get('ws') ?? 'ws://127.0.0.1:8000/dashboard/ws';
const runId = params.get('run');

/** The app's own header, with the link's status from a hook. */
function Header() {
  const { status } = useLinkStatus();
  return (
    <header className="app-header">
      <h1>Operations</h1>
      <span className="app-link" data-testid="app-link" data-state={status}>
        {status}
      </span>
    </header>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <TacticalLinkProvider url={url}>
      <Header />
      <main className="app-main">
        <OperationsTimeline runId={runId} />
      </main>
    </TacticalLinkProvider>
  </StrictMode>,
);
