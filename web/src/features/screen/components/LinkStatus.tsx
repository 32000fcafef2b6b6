// The link badge: LIVE, CONNECTING, RECONNECTING IN N s, OFFLINE (or TOKEN
// NEEDED / REFUSED / EXPIRED), with a "retry now" button whenever the page
// is waiting for the network or the gateway (a missing token is asked for
// by the token prompt instead). Over the SSE fall-back it says LIVE (SSE),
// and `data-transport` is `sse` (else `websocket`) in every state.

import { useNow } from '@tactical-link/react';
import type { LinkInfo } from '@tactical-link/client';

interface Props {
  link: LinkInfo;
  onRetry: () => void;
}

export function linkText(link: LinkInfo, now: number): string {
  switch (link.status) {
    case 'live':
      return link.transport === 'sse' ? 'LIVE (SSE)' : 'LIVE';
    case 'connecting':
      return link.attempt > 0 ? `CONNECTING · TRY ${link.attempt + 1}` : 'CONNECTING';
    case 'reconnecting': {
      const s = link.retryAt === null ? 0 : Math.max(0, Math.ceil((link.retryAt - now) / 1000));
      return `RECONNECTING IN ${s} s`;
    }
    case 'offline':
      return link.auth.phase === 'needed' ? TOKEN_TEXT[link.auth.need] : 'OFFLINE';
  }
}

const SSE_TITLE = 'WebSocket upgrades fail on this network: events come over Server-Sent Events';

const TOKEN_TEXT = { missing: 'TOKEN NEEDED', refused: 'TOKEN REFUSED', expired: 'TOKEN EXPIRED' } as const;

export function LinkStatus({ link, onRetry }: Props) {
  const now = useNow(250, link.status === 'reconnecting');
  const waiting = (link.status === 'reconnecting' || link.status === 'offline') && link.auth.phase !== 'needed';
  return (
    <div className="link-status-wrap">
      <div
        className={`badge badge--link badge--${link.status}`}
        data-testid="link-status"
        data-state={link.status}
        data-transport={link.transport}
        role="status"
        aria-live="polite"
        title={link.reason ?? (link.transport === 'sse' ? SSE_TITLE : undefined)}
      >
        <span className="badge__dot" aria-hidden />
        <span className="visually-hidden">Gateway link: </span>
        {linkText(link, now)}
      </div>
      {waiting && (
        <button type="button" className="button button--small" data-testid="link-retry" onClick={onRetry}>
          {link.status === 'offline' ? 'Reconnect' : 'Retry now'}
        </button>
      )}
    </div>
  );
}
