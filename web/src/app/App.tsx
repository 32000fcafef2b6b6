// The dashboard: System Boot first, then the Operations Timeline. State is
// held once (the pipeline store in useGateway); both screens derive from it.

import { useMemo, useState } from 'react';
import { SystemBoot } from '../features/boot/components/SystemBoot';
import type { BootInputs } from '../features/boot/model/checks';
import { OperationsTimeline } from '../features/timeline/components/OperationsTimeline';
import { resolveEndpoints } from './config';
import { useGateway } from './useGateway';
import { useGatewayProbe } from './useGatewayProbe';

export function App() {
  const endpoints = useMemo(() => resolveEndpoints(window.location), []);
  const { state, link, retryNow, latency, dismissResumeNotice } = useGateway(endpoints.wsUrl);
  const probe = useGatewayProbe(endpoints.statusUrl, link.status === 'live' ? 'live' : 'not-live');
  const [booted, setBooted] = useState(endpoints.skipBoot);

  if (!booted) {
    const inputs: BootInputs = {
      version: __APP_VERSION__,
      statusUrl: endpoints.statusUrl,
      wsUrl: endpoints.wsUrl,
      probe,
      link,
      socketBus: state.bus,
      welcome: state.welcome,
      snapshot: {
        received: state.snapshotReceived,
        runs: Object.keys(state.runs).length,
        events: state.events.length,
      },
    };
    return <SystemBoot inputs={inputs} onDone={() => setBooted(true)} />;
  }

  return (
    <OperationsTimeline
      state={state}
      link={link}
      onRetry={retryNow}
      gateway={probe.phase === 'ok' ? probe.status : null}
      latency={latency}
      onDismissResumeNotice={dismissResumeNotice}
    />
  );
}
