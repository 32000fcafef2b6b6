// The link state machine: pure transitions, no timers, no sockets.
//
// `step(state, input)` returns the next state and the commands the socket
// client must carry out (open or close the socket, arm or cancel a timer).
// The client's whole machine (./authMachine.ts) wraps this one with
// authentication. Keeping the rules here, apart from the browser, lets the
// tests walk every transition.
//
//   offline ──connect──▶ connecting ──opened──▶ live ──(10 s)──▶ live, attempt reset
//      ▲                     │  ▲                 │
//      │ terminal close,     │  └──retry (timer,  │ closed (any other code)
//      │ close(),       ▼     online, shown) ▼
//      └─ network offline ─ reconnecting ◀────────┘   delay = full jitter(attempt)
//
// A close that is terminal, or that needs a new token (expired 4401, refused
// 4501; ./closeCodes.ts), and `token-needed` (the gateway requires a token
// the client does not have) leave the link offline and not wanted: no retry
// with the same token; ./authMachine.ts connects again once a new one comes.
// `reopen` replaces the socket at once without counting a failure; `fatal`
// (a socket that cannot even be created) goes offline for good.

import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import { describeClose, isTerminalClose, needsNewToken } from './closeCodes.js';

export type LinkStatus = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface LinkState {
  readonly status: LinkStatus;
  /** Failed attempts since the link was last stable: the exponent of the next back-off. */
  readonly attempt: number;
  /** When the next automatic retry starts (Unix ms), while reconnecting. */
  readonly retryAt: number | null;
  /** Why the link is not live (the last close, or why it is offline); null while fine. */
  readonly reason: string | null;
  /** Code of the last close, if any. */
  readonly closeCode: number | null;
  /** The owner wants a connection (connect() called, no close(), no terminal close since). */
  readonly wanted: boolean;
}

export type LinkInput =
  /** The owner asks for a connection (also "retry now"). */
  | { type: 'connect' }
  /** The owner closes the link for good. */
  | { type: 'disconnect' }
  /** The current socket opened. */
  | { type: 'opened' }
  /** The link has been live long enough to count as stable. */
  | { type: 'stable' }
  /** The current socket closed (or was given up on). `random` in [0, 1) draws the jitter. */
  | { type: 'closed'; code: number; reason: string; now: number; random: number; online: boolean }
  /** A socket cannot even be created (bad URL): no retry can help. */
  | { type: 'fatal'; reason: string }
  /** The retry timer is due. */
  | { type: 'retry' }
  /** The network came back or the page became visible: retry at once if waiting. */
  | { type: 'wake' }
  /** The browser says it is offline. */
  | { type: 'network-offline' }
  /** The gateway wants a token the client does not have: close, and wait for one. */
  | { type: 'token-needed'; reason: string }
  /** Start over on a new socket at once (the current one is of no more use). */
  | { type: 'reopen' };

export type Command =
  | { type: 'open' }
  | { type: 'close' }
  | { type: 'arm-retry'; delayMs: number }
  | { type: 'cancel-retry' }
  | { type: 'arm-stable' }
  | { type: 'cancel-stable' };

export interface Step {
  state: LinkState;
  commands: Command[];
}

export const INITIAL_LINK_STATE: LinkState = {
  status: 'offline',
  attempt: 0,
  retryAt: null,
  reason: null,
  closeCode: null,
  wanted: false,
};

export const NETWORK_OFFLINE_REASON = 'browser is offline';
export const DISCONNECTED_REASON = 'disconnected';

function openNow(state: LinkState, attempt: number): Step {
  return {
    state: { ...state, status: 'connecting', attempt, retryAt: null, wanted: true },
    commands: [{ type: 'cancel-retry' }, { type: 'open' }],
  };
}

export function step(state: LinkState, input: LinkInput, policy: BackoffPolicy = DEFAULT_BACKOFF): Step {
  const same: Step = { state, commands: [] };
  switch (input.type) {
    case 'connect':
      if (state.wanted && (state.status === 'connecting' || state.status === 'live')) return same;
      // A fresh start forgets earlier failures; "retry now" keeps the count.
      return openNow(state, state.wanted ? state.attempt : 0);

    case 'disconnect':
      return {
        state: { ...state, status: 'offline', wanted: false, retryAt: null, reason: DISCONNECTED_REASON },
        commands: [{ type: 'cancel-retry' }, { type: 'cancel-stable' }, { type: 'close' }],
      };

    case 'opened':
      if (!state.wanted || state.status !== 'connecting') return same;
      return {
        state: { ...state, status: 'live', retryAt: null, reason: null, closeCode: null },
        commands: [{ type: 'arm-stable' }],
      };

    case 'stable':
      if (state.status !== 'live') return same;
      return { state: { ...state, attempt: 0 }, commands: [] };

    case 'closed':
      return closed(state, input, policy);

    case 'fatal':
      if (!state.wanted) return same;
      return {
        state: { ...state, status: 'offline', wanted: false, retryAt: null, reason: input.reason },
        commands: [{ type: 'cancel-retry' }, { type: 'cancel-stable' }],
      };

    case 'retry':
      if (!state.wanted || state.status !== 'reconnecting') return same;
      return openNow(state, state.attempt);

    case 'wake':
      if (!state.wanted || (state.status !== 'reconnecting' && state.status !== 'offline')) return same;
      return openNow(state, state.attempt);

    case 'network-offline':
      if (!state.wanted || state.status === 'offline') return same;
      return {
        state: { ...state, status: 'offline', retryAt: null, reason: NETWORK_OFFLINE_REASON },
        commands: [{ type: 'cancel-retry' }, { type: 'cancel-stable' }, { type: 'close' }],
      };

    case 'token-needed':
      if (!state.wanted) return same;
      return {
        state: { ...state, status: 'offline', wanted: false, retryAt: null, reason: input.reason, closeCode: null },
        commands: [{ type: 'cancel-retry' }, { type: 'cancel-stable' }, { type: 'close' }],
      };

    case 'reopen':
      if (!state.wanted || (state.status !== 'connecting' && state.status !== 'live')) return same;
      return {
        state: { ...state, status: 'connecting', retryAt: null },
        commands: [{ type: 'cancel-stable' }, { type: 'open' }],
      };
  }
}

/** The current socket closed: offline when the code or the browser says so, else a retry after a full-jitter delay. */
function closed(state: LinkState, input: Extract<LinkInput, { type: 'closed' }>, policy: BackoffPolicy): Step {
  if (!state.wanted || (state.status !== 'connecting' && state.status !== 'live')) return { state, commands: [] };
  const reason = describeClose(input.code, input.reason);
  if (isTerminalClose(input.code) || needsNewToken(input.code)) {
    return {
      state: { ...state, status: 'offline', wanted: false, retryAt: null, reason, closeCode: input.code },
      commands: [{ type: 'cancel-stable' }],
    };
  }
  if (!input.online) {
    return {
      state: { ...state, status: 'offline', retryAt: null, reason: NETWORK_OFFLINE_REASON, closeCode: input.code },
      commands: [{ type: 'cancel-stable' }],
    };
  }
  const delayMs = backoffDelay(state.attempt, input.random, policy);
  return {
    state: { ...state, status: 'reconnecting', attempt: state.attempt + 1, retryAt: input.now + delayMs, reason, closeCode: input.code },
    commands: [{ type: 'cancel-stable' }, { type: 'arm-retry', delayMs }],
  };
}
