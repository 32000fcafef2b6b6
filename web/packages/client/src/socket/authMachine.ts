// The socket client's state machine: the link machine (./machine.ts) with
// authentication around it. Pure, like the link machine: `stepClient(state,
// input)` returns the next state and the commands the client carries out
// (open a socket, send an `auth` frame, ask the page for a token, hand a
// frame to subscribers, …); no sockets, timers or promises here.
//
// The rules (docs/protocol.md, "Authentication"):
// - The welcome says whether the gateway wants a token. When it does, the
//   client sends `{"type":"auth","token":…}` at once as its first frame;
//   when it does not, no token leaves the page.
// - Without a token (the gateway requires one), with a refused one (4501) or
//   an expired one (4401), the link goes offline, the token is dropped and
//   the page is asked for a new one (`request-token`; a late answer, or one
//   handing back the spent token, is not listened to). A token given
//   meanwhile reopens the link, resuming; after close() it is only kept.
// - A token given while the link is authenticated is sent as a renewal on
//   the same socket; one given while the first is unanswered follows it.
// - A socket that resumed the view of one user but authenticates as another
//   is given up: the next one starts from a snapshot (`forget-resume-point`),
//   so one user's view never continues with another's events.
// - After 4001 (slow consumer) the next socket starts from a snapshot too.
// - Over SSE (./sse.ts) the client sends no frames: the stream's ticket
//   carries the token, and ./client.ts turns `send-auth` into `auth-sent`
//   (the ticket's token) or `reopen` (another token: a new stream with a
//   ticket of its own). A stream refused for want of a token (4501 with no
//   token used) asks for a `missing` one.

import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import { forgetsResumePoint, needsNewToken, TOKEN_EXPIRED } from './closeCodes.js';
import type { AuthenticatedFrame, WelcomeFrame } from './frames.js';
import { INITIAL_LINK_STATE, step, type Command, type LinkInput, type LinkState } from './machine.js';

/** Who the gateway took the client for, from its latest `authenticated` frame. */
export type Identity = Omit<AuthenticatedFrame, 'type'>;

/** Why the client needs a (new) token. */
export type TokenNeed = 'missing' | 'refused' | 'expired';

export type AuthInfo =
  /** No welcome yet: the client does not know whether the gateway wants a token. */
  | { phase: 'unknown' }
  /** The gateway does not authenticate (`welcome.auth` is `none`). */
  | { phase: 'none' }
  /** A token was sent (or given, and a socket is on its way); no answer yet. */
  | { phase: 'pending' }
  | { phase: 'authenticated'; identity: Identity }
  /** The link is offline until a token comes (`setToken`, or `onTokenNeeded`). */
  | { phase: 'needed'; need: TokenNeed };

export interface AuthState {
  /** Where authentication stands, for the page: a new object only when it changes. */
  readonly info: AuthInfo;
  /** The token for the next `auth` frame. */
  readonly token: string | null;
  /** Tokens sent on the current socket that no `authenticated` frame has answered yet, oldest first. */
  readonly unanswered: readonly string[];
  /** The token of the latest `authenticated` frame on the current socket. */
  readonly accepted: string | null;
  /** The token last refused or expired: a provider handing it back again is not listened to. */
  readonly spent: string | null;
  /** Number of the latest token request (or token given): an answer to an older request is dropped. */
  readonly request: number;
  /** The user (sub, tenant) whose view the resume point belongs to, once known. */
  readonly viewOwner: string | null;
}

export interface ClientState {
  readonly link: LinkState;
  readonly auth: AuthState;
  /** Address and token of the latest connect(); null before the first. */
  readonly target: { readonly url: string; readonly token: string | undefined } | null;
  /** close() was called and no connect() since: a token alone does not reopen the link. */
  readonly closedByOwner: boolean;
}

/** The link inputs that reach the link machine unchanged. */
type PlainLinkInput = Extract<LinkInput, { type: 'opened' | 'stable' | 'fatal' | 'retry' | 'wake' | 'network-offline' | 'reopen' }>;

export type ClientInput =
  /** connect() (also "retry now"); `token` as given to it, `online` as the browser says. */
  | { type: 'connect'; url: string; token: string | undefined; online: boolean }
  /** close(). */
  | { type: 'disconnect' }
  /** setToken(). */
  | { type: 'set-token'; token: string; online: boolean }
  /** The page answered token request number `request` (anything, not only strings). */
  | { type: 'token-answer'; request: number; token: unknown; online: boolean }
  /** An `auth` frame left on the current socket. */
  | { type: 'auth-sent'; token: string }
  /** The welcome of the current socket. */
  | { type: 'welcome'; frame: WelcomeFrame }
  /** An `authenticated` frame; `resumed`: the current socket asked to resume (`?last_id=`). */
  | { type: 'authenticated'; frame: AuthenticatedFrame; resumed: boolean }
  /** The current socket closed (or was given up on). */
  | Extract<LinkInput, { type: 'closed' }>
  | PlainLinkInput;

export type ClientCommand =
  /** The link machine's: open / close the socket, arm / cancel its timers. */
  | Command
  /** Send `{"type":"auth","token"}` on the current socket; feed `auth-sent` if it left. */
  | { type: 'send-auth'; token: string }
  /** Ask the page for a token; feed its answer back as `token-answer` with this `request`. */
  | { type: 'request-token'; need: TokenNeed; request: number }
  /** The next socket starts from a snapshot: forget the last event id. */
  | { type: 'forget-resume-point' }
  /** Hand this frame to the subscribers now. */
  | { type: 'deliver'; frame: WelcomeFrame | AuthenticatedFrame };

export interface ClientStep {
  state: ClientState;
  commands: ClientCommand[];
}

const AUTH_UNKNOWN: AuthInfo = Object.freeze({ phase: 'unknown' });
const AUTH_NONE: AuthInfo = Object.freeze({ phase: 'none' });
const AUTH_PENDING: AuthInfo = Object.freeze({ phase: 'pending' });

/** Why the link waits, for people. */
export const TOKEN_NEEDED_REASON = 'token needed: the gateway requires one';

export const INITIAL_CLIENT_STATE: ClientState = {
  link: INITIAL_LINK_STATE,
  auth: { info: AUTH_UNKNOWN, token: null, unanswered: [], accepted: null, spent: null, request: 0, viewOwner: null },
  target: null,
  closedByOwner: false,
};

export function stepClient(state: ClientState, input: ClientInput, policy: BackoffPolicy = DEFAULT_BACKOFF): ClientStep {
  switch (input.type) {
    case 'connect':
      return connect(state, input, policy);
    case 'disconnect':
      return linkStep({ ...state, closedByOwner: true }, [], { type: 'disconnect' }, policy);
    case 'set-token':
      return giveToken(state, input.token, input.online, policy);
    case 'token-answer':
      return tokenAnswer(state, input, policy);
    case 'auth-sent':
      return withAuth(state, { unanswered: [...state.auth.unanswered, input.token] });
    case 'welcome':
      return welcome(state, input.frame, policy);
    case 'authenticated':
      return authenticated(state, input.frame, input.resumed, policy);
    case 'closed':
      return closed(state, input, policy);
    default:
      return linkStep(state, [], input, policy);
  }
}

/**
 * Runs `input` through the link machine after `before`. A socket it opens
 * starts with no token sent and none accepted.
 */
function linkStep(state: ClientState, before: ClientCommand[], input: LinkInput, policy: BackoffPolicy): ClientStep {
  const next = step(state.link, input, policy);
  const commands = [...before, ...next.commands];
  if (next.state === state.link) return { state, commands };
  const opens = next.commands.some((c) => c.type === 'open');
  const auth = opens ? { ...state.auth, unanswered: [], accepted: null } : state.auth;
  return { state: { ...state, link: next.state, auth }, commands };
}

function withAuth(state: ClientState, patch: Partial<AuthState>, commands: ClientCommand[] = []): ClientStep {
  return { state: { ...state, auth: { ...state.auth, ...patch } }, commands };
}

/** Opens the link (the browser permitting: with no network it waits for `online`). */
function reconnect(state: ClientState, before: ClientCommand[], online: boolean, policy: BackoffPolicy): ClientStep {
  const opened = linkStep(state, before, { type: 'connect' }, policy);
  return online ? opened : linkStep(opened.state, opened.commands, { type: 'network-offline' }, policy);
}

function connect(state: ClientState, input: Extract<ClientInput, { type: 'connect' }>, policy: BackoffPolicy): ClientStep {
  let start: ClientStep = { state, commands: [] };
  if (state.target !== null && state.target.url !== input.url) {
    // A new address: drop the old link entirely, and start from a snapshot there.
    const dropped = linkStep(state, [], { type: 'disconnect' }, policy);
    start = withAuth(dropped.state, { viewOwner: null }, [...dropped.commands, { type: 'forget-resume-point' }]);
  }
  const { auth } = start.state;
  const token = input.token !== undefined && input.token !== state.target?.token ? input.token || null : auth.token;
  const target = { url: input.url, token: input.token };
  return reconnect({ ...start.state, auth: { ...auth, token }, target, closedByOwner: false }, start.commands, input.online, policy);
}

/**
 * A token from the page. On an authenticated link it goes out at once as a
 * renewal; while the link waits for a token it reopens the link; otherwise
 * it is kept for the next `auth` frame.
 */
function giveToken(state: ClientState, given: string, online: boolean, policy: BackoffPolicy): ClientStep {
  const token = given.trim();
  if (!token) return { state, commands: [] };
  const auth = { ...state.auth, token, request: state.auth.request + 1 };
  const kept = { ...state, auth };
  if (auth.info.phase === 'authenticated' && state.link.status === 'live') {
    const latest = auth.unanswered.at(-1) ?? auth.accepted;
    return { state: kept, commands: token === latest ? [] : [{ type: 'send-auth', token }] };
  }
  if (auth.info.phase === 'needed' && state.target !== null && !state.closedByOwner) {
    return reconnect({ ...kept, auth: { ...auth, info: AUTH_PENDING } }, [], online, policy);
  }
  return { state: kept, commands: [] };
}

function tokenAnswer(state: ClientState, input: Extract<ClientInput, { type: 'token-answer' }>, policy: BackoffPolicy): ClientStep {
  const { auth } = state;
  // Answered too late: a token came another way, or the need changed since.
  if (input.request !== auth.request || auth.info.phase !== 'needed') return { state, commands: [] };
  const token = typeof input.token === 'string' ? input.token.trim() : '';
  if (token === '' || token === auth.spent) return { state, commands: [] };
  return giveToken(state, token, input.online, policy);
}

/** The link cannot go on without a new token: it goes offline (`input`) and the page is asked for one. */
function needToken(state: ClientState, need: TokenNeed, input: LinkInput, before: ClientCommand[], policy: BackoffPolicy): ClientStep {
  const request = state.auth.request + 1;
  const asked = { ...state, auth: { ...state.auth, info: Object.freeze({ phase: 'needed', need }) as AuthInfo, request } };
  const now = linkStep(asked, before, input, policy);
  return { state: now.state, commands: [...now.commands, { type: 'request-token', need, request }] };
}

function welcome(state: ClientState, frame: WelcomeFrame, policy: BackoffPolicy): ClientStep {
  const deliver: ClientCommand = { type: 'deliver', frame };
  if (frame.auth === 'none') return withAuth(state, { info: AUTH_NONE }, [deliver]);
  const { token } = state.auth;
  if (token !== null) return withAuth(state, { info: AUTH_PENDING }, [{ type: 'send-auth', token }, deliver]);
  // The page gets the welcome, then the link waits for a token.
  return needToken(state, 'missing', { type: 'token-needed', reason: TOKEN_NEEDED_REASON }, [deliver], policy);
}

function authenticated(state: ClientState, frame: AuthenticatedFrame, resumed: boolean, policy: BackoffPolicy): ClientStep {
  const owner = JSON.stringify([frame.sub, frame.tenant]);
  const { auth } = state;
  if (resumed && auth.viewOwner !== null && auth.viewOwner !== owner) {
    // The view on screen is not this user's: not handed on; start again from a snapshot.
    const forgot = withAuth(state, { viewOwner: null }, [{ type: 'forget-resume-point' }]);
    return linkStep(forgot.state, forgot.commands, { type: 'reopen' }, policy);
  }
  const [answered, ...unanswered] = auth.unanswered;
  const accepted = answered ?? auth.accepted;
  const { type: _type, ...identity } = frame;
  const info: AuthInfo = Object.freeze({ phase: 'authenticated', identity });
  const deliver: ClientCommand = { type: 'deliver', frame };
  const patch = { info, unanswered, accepted, viewOwner: owner };
  // A token given while the first one was on its way: renew with it now.
  const { token } = auth;
  if (token !== null && token !== accepted && unanswered.length === 0) return withAuth(state, patch, [{ type: 'send-auth', token }, deliver]);
  return withAuth(state, patch, [deliver]);
}

function closed(state: ClientState, input: Extract<LinkInput, { type: 'closed' }>, policy: BackoffPolicy): ClientStep {
  const before: ClientCommand[] = forgetsResumePoint(input.code) ? [{ type: 'forget-resume-point' }] : [];
  if (!needsNewToken(input.code)) return linkStep(state, before, input, policy);
  const { auth } = state;
  // Expired: the token in force. Refused: the first one not yet accepted.
  const used = (input.code === TOKEN_EXPIRED ? auth.accepted : null) ?? auth.unanswered[0] ?? auth.accepted ?? auth.token;
  if (auth.token !== null && auth.token !== used) {
    // Another token came meanwhile: straight back with it, resuming.
    const down = linkStep(state, before, input, policy);
    return linkStep({ ...down.state, auth: { ...down.state.auth, info: AUTH_PENDING } }, down.commands, { type: 'connect' }, policy);
  }
  const spent = { ...state, auth: { ...auth, spent: used, token: null } };
  // Refused with no token at all (an SSE ticket asked for without one): one is missing.
  const need: TokenNeed = used === null ? 'missing' : input.code === TOKEN_EXPIRED ? 'expired' : 'refused';
  return needToken(spent, need, input, before, policy);
}
