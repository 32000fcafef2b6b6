// The dashboard: one <TacticalLinkProvider> (@tactical-link/react) around
// System Boot first, then the operations screen (Dashboard: the Operations
// Timeline and the runs board). State is held once, in the provider's
// store; every screen derives from it through the hooks.
// When the gateway wants a token the page does not have (or refused or let
// expire the one it had), the token prompt shows: in the boot console, or
// over the timeline. While the live link's token is about to run out, the
// timeline shows the expiry warning, which renews it on the same socket.

import { useCallback, useEffect, useMemo, useState } from 'react';
import { SystemBoot, TacticalLinkProvider, useGatewayProbe, useLinkStatus, useTacticalLink } from '@tactical-link/react';
import { ExpiryWarning } from '../features/auth/components/ExpiryWarning';
import { TokenPrompt } from '../features/auth/components/TokenPrompt';
import { forgetToken, loadToken, saveToken, sessionStore, takeFragmentToken } from '../lib/token';
import { resolveEndpoints, type Endpoints } from './config';
import { Dashboard } from './Dashboard';
import { useLatency } from './useLatency';

export function App() {
  const endpoints = useMemo(() => resolveEndpoints(window.location), []);
  // main.tsx has already moved a `#token=` of the address into the tab's storage.
  const [initialToken] = useState(() => loadToken(sessionStore()) ?? undefined);
  return (
    <TacticalLinkProvider url={endpoints.wsUrl} token={initialToken}>
      <div className="tl">
        <Screens endpoints={endpoints} initialToken={initialToken} />
      </div>
    </TacticalLinkProvider>
  );
}

/** Takes every token the page is given: kept for the tab, and handed to the link (a renewal when it is live). */
function useTokens(initialToken: string | undefined) {
  const { link } = useTacticalLink();
  /** The latest token given (the expiry warning reads its lifetime). */
  const [heldToken, setHeldToken] = useState<string | null>(initialToken ?? null);
  const giveToken = useCallback(
    (token: string) => {
      saveToken(sessionStore(), token);
      setHeldToken(token);
      link.setToken(token);
    },
    [link],
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
  return { heldToken, giveToken };
}

function Screens({ endpoints, initialToken }: { endpoints: Endpoints; initialToken: string | undefined }) {
  const link = useLinkStatus();
  const latency = useLatency();
  const { heldToken, giveToken } = useTokens(initialToken);
  const probe = useGatewayProbe(endpoints.statusUrl, link.status === 'live' ? 'live' : 'not-live');
  const [booted, setBooted] = useState(endpoints.skipBoot);

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
    return (
      <SystemBoot version={__APP_VERSION__} statusUrl={endpoints.statusUrl} probe={probe} onDone={() => setBooted(true)} prompt={prompt('inline')} />
    );
  }
  return (
    <Dashboard
      gateway={probe.phase === 'ok' ? probe.status : null}
      latency={latency}
      notice={<ExpiryWarning auth={link.auth} live={link.status === 'live'} token={heldToken} onRenew={giveToken} />}
      overlay={prompt('overlay')}
    />
  );
}
