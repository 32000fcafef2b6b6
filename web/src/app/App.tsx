// The dashboard: System Boot first, then the operations screen (Dashboard:
// the Operations Timeline and the runs board). State is held once (the
// pipeline store in useGateway); both screens derive from it.
// When the gateway wants a token the page does not have (or refused or let
// expire the one it had), the token prompt shows: in the boot console, or
// over the timeline. While the live link's token is about to run out, the
// timeline shows the expiry warning, which renews it on the same socket.

import { useCallback, useEffect, useMemo, useState } from 'react';
import { ExpiryWarning } from '../features/auth/components/ExpiryWarning';
import { TokenPrompt } from '../features/auth/components/TokenPrompt';
import { SystemBoot } from '../features/boot/components/SystemBoot';
import type { BootInputs } from '../features/boot/model/checks';
import { forgetToken, loadToken, saveToken, sessionStore, takeFragmentToken } from '../lib/token';
import { resolveEndpoints } from './config';
import { Dashboard } from './Dashboard';
import { useGateway } from './useGateway';
import { useGatewayProbe } from './useGatewayProbe';

export function App() {
  const endpoints = useMemo(() => resolveEndpoints(window.location), []);
  // main.tsx has already moved a `#token=` of the address into the tab's storage.
  const [initialToken] = useState(() => loadToken(sessionStore()) ?? undefined);
  const { state, link, retryNow, setToken, latency, dismissResumeNotice } = useGateway(endpoints.wsUrl, initialToken);
  /** The latest token given (the expiry warning reads its lifetime). */
  const [heldToken, setHeldToken] = useState<string | null>(initialToken ?? null);
  const probe = useGatewayProbe(endpoints.statusUrl, link.status === 'live' ? 'live' : 'not-live');
  const [booted, setBooted] = useState(endpoints.skipBoot);

  const giveToken = useCallback(
    (token: string) => {
      saveToken(sessionStore(), token);
      setHeldToken(token);
      setToken(token);
    },
    [setToken],
  );

  // A link with a new `#token=` opened in this tab: the token is taken (and
  // the address cleaned) at once, as a renewal when the link is up.
  useEffect(() => {
    const onHashChange = () => {
      const token = takeFragmentToken(window);
      if (token !== null) giveToken(token);
    };
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }, [giveToken]);

  // A token the gateway refused or let expire is not kept for the next load.
  const need = link.auth.phase === 'needed' ? link.auth.need : null;
  useEffect(() => {
    if (need === 'refused' || need === 'expired') forgetToken(sessionStore());
  }, [need]);

  const prompt = (variant: 'inline' | 'overlay') =>
    need === null ? null : (
      <TokenPrompt need={need} variant={variant} onSubmit={giveToken} detail={link.closeCode !== null ? link.reason : null} />
    );

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
    return <SystemBoot inputs={inputs} onDone={() => setBooted(true)} prompt={prompt('inline')} />;
  }

  return (
    <Dashboard
      state={state}
      link={link}
      onRetry={retryNow}
      gateway={probe.phase === 'ok' ? probe.status : null}
      latency={latency}
      onDismissResumeNotice={dismissResumeNotice}
      notice={<ExpiryWarning auth={link.auth} live={link.status === 'live'} token={heldToken} onRenew={giveToken} />}
      overlay={prompt('overlay')}
    />
  );
}
