// The System Boot checks: each line is a real check with its real result.
//
// `deriveChecks` turns what the page actually knows (the status probe, the
// socket link, the store) into the lines of the boot screen. Nothing is ever
// shown as done before it is. The event bus line is a warning, not a gate:
// with the bus down the dashboard still shows the last known state and says
// "Redis down", so boot goes on (the line reads DEGRADED).

import { PROTOCOL_VERSION, busLabel, formatClock, type AuthInfo, type LinkInfo, type TokenNeed, type BusFrame, type WelcomeFrame, type GatewayStatus } from '@tactical-link/client';

export type CheckId = 'dashboard' | 'gateway' | 'auth' | 'bus' | 'state' | 'stream';
export type CheckState = 'pending' | 'ok' | 'failed' | 'degraded';

export interface BootCheck {
  id: CheckId;
  label: string;
  state: CheckState;
  /** The short word shown in the status column. */
  badge: string;
  detail: string;
  /** Boot waits for this check to be ok. */
  blocking: boolean;
}

/** What the status probe (GET /api/status) knows. */
export type GatewayProbe =
  | { phase: 'pending' }
  | { phase: 'ok'; status: GatewayStatus }
  | { phase: 'failed'; error: string; retryAt: number | null };

export interface BootInputs {
  version: string;
  statusUrl: string;
  wsUrl: string;
  probe: GatewayProbe;
  link: LinkInfo;
  /** The bus as the socket last told (snapshot / bus frames), if it has. */
  socketBus: BusFrame | null;
  welcome: WelcomeFrame | null;
  snapshot: { received: boolean; runs: number; events: number };
}

const BADGE: Record<CheckState, string> = { pending: 'WAIT', ok: 'OK', failed: 'FAIL', degraded: 'DEGRADED' };

function check(id: CheckId, label: string, state: CheckState, detail: string, blocking = true, badge = BADGE[state]): BootCheck {
  return { id, label, state, badge, detail, blocking };
}

function inSeconds(at: number | null, now: number): string {
  if (at === null) return '';
  return ` · retry in ${Math.max(0, Math.ceil((at - now) / 1000))} s`;
}

/** What the gateway asks of a token, and what became of the one sent. */
function authCheck(auth: AuthInfo, probe: GatewayProbe): BootCheck {
  const label = 'Authenticated';
  switch (auth.phase) {
    case 'none':
      return check('auth', label, 'ok', NOT_REQUIRED, true, 'N/A');
    case 'authenticated': {
      const { sub, tenant } = auth.identity;
      return check('auth', label, 'ok', `as ${sub}${tenant === null ? '' : ` (tenant ${tenant})`}`);
    }
    case 'pending':
      return check('auth', label, 'pending', 'token sent, waiting for the gateway');
    case 'needed':
      return check('auth', label, 'failed', TOKEN_NEED_TEXT[auth.need]);
    case 'unknown':
      // No welcome yet: the status probe may already tell.
      if (probe.phase !== 'ok') return check('auth', label, 'pending', 'waiting for the gateway');
      if (probe.status.auth?.required) return check('auth', label, 'pending', 'the gateway requires a token; waiting for the live link');
      return check('auth', label, 'ok', NOT_REQUIRED, true, 'N/A');
  }
}

const NOT_REQUIRED = 'not required: the gateway accepts anonymous dashboards';

const TOKEN_NEED_TEXT: Record<TokenNeed, string> = {
  missing: 'the gateway requires a token: paste one below',
  refused: 'token refused by the gateway: paste another one',
  expired: 'token expired: paste a fresh one',
};

export function deriveChecks(inputs: BootInputs, now: number): BootCheck[] {
  const { probe, link } = inputs;
  const checks: BootCheck[] = [];

  checks.push(check('dashboard', 'Dashboard loaded', 'ok', `bundle ${inputs.version} running`));

  if (probe.phase === 'ok') {
    checks.push(check('gateway', 'Gateway reachable', 'ok', `${probe.status.server} · protocol ${probe.status.protocol}`));
  } else if (probe.phase === 'failed') {
    checks.push(check('gateway', 'Gateway reachable', 'failed', `${probe.error}${inSeconds(probe.retryAt, now)}`));
  } else {
    checks.push(check('gateway', 'Gateway reachable', 'pending', `GET ${inputs.statusUrl}`));
  }

  checks.push(authCheck(link.auth, probe));

  const bus = inputs.socketBus ?? (probe.phase === 'ok' ? probe.status.bus : null);
  if (!bus) {
    checks.push(check('bus', 'Event bus link', 'pending', 'waiting for the gateway', false));
  } else if (bus.state === 'up') {
    const since = Date.parse(bus.since);
    checks.push(
      check('bus', 'Event bus link', 'ok', `${busLabel(bus.kind)} up${Number.isNaN(since) ? '' : ` since ${formatClock(since)}`}`, false),
    );
  } else {
    checks.push(
      check('bus', 'Event bus link', 'degraded', `${busLabel(bus.kind)} down: ${bus.detail ?? 'no detail'} · gateway retrying`, false),
    );
  }

  if (inputs.snapshot.received) {
    const { runs, events } = inputs.snapshot;
    checks.push(
      check('state', 'State loaded', 'ok', `${runs} ${runs === 1 ? 'run' : 'runs'} · ${events} recent ${events === 1 ? 'event' : 'events'}`),
    );
  } else {
    checks.push(check('state', 'State loaded', 'pending', 'waiting for the snapshot'));
  }

  switch (link.status) {
    case 'live':
      if (inputs.welcome && inputs.welcome.protocol !== PROTOCOL_VERSION) {
        checks.push(
          check(
            'stream',
            'Live stream open',
            'failed',
            `the gateway speaks protocol ${inputs.welcome.protocol}; this dashboard speaks ${PROTOCOL_VERSION}`,
          ),
        );
        break;
      }
      checks.push(
        check(
          'stream',
          'Live stream open',
          'ok',
          inputs.welcome ? `session ${inputs.welcome.session.slice(0, 8)} · ${carrier(link, inputs.welcome)}` : inputs.wsUrl,
        ),
      );
      break;
    case 'connecting':
      checks.push(check('stream', 'Live stream open', 'pending', `connecting to ${inputs.wsUrl}`));
      break;
    case 'reconnecting':
      checks.push(check('stream', 'Live stream open', 'failed', `${link.reason ?? 'closed'}${inSeconds(link.retryAt, now)}`));
      break;
    case 'offline':
      checks.push(check('stream', 'Live stream open', 'failed', link.reason ?? 'not connected'));
      break;
  }

  return checks;
}

/** What carries the live stream: the WebSocket's heartbeat, or the event stream that replaces it. */
function carrier(link: LinkInfo, welcome: WelcomeFrame): string {
  if (link.transport === 'sse') return 'Server-Sent Events (WebSocket upgrades fail on this network)';
  return `heartbeat ${Math.round(welcome.heartbeat_ms / 1000)} s`;
}

/** Boot is done when every blocking check is ok. */
export function bootComplete(checks: readonly BootCheck[]): boolean {
  return checks.every((c) => !c.blocking || c.state === 'ok');
}
