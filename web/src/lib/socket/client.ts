// The Tactical Link socket client: plain TypeScript, no framework.
//
// Owns one WebSocket to the gateway at a time: opens it, validates every
// frame, hands frames to subscribers, keeps the link alive (application
// pings), and reconnects with capped full-jitter back-off when it drops.
// The rules of the link live in ./machine.ts; this file only carries out
// its commands against real sockets, timers and browser events, all of
// which can be injected (tests use a fake WebSocket and fake timers).
//
// Resume (docs/protocol.md, "Resume"): once it has seen an event, the client
// reconnects to `…/dashboard/ws?last_id=<last event id>`. The gateway then
// answers with a `resumed` frame and replays exactly the events missed; the
// client marks those event frames `replayed` for its subscribers. When the id
// is no longer retained, a snapshot with `resume_failed` comes instead.
//
// Authentication (docs/protocol.md, "Authentication"): the welcome says
// whether the gateway wants a token. When it does, the client sends
// `{"type":"auth","token":…}` at once as its first frame and reports
// `authenticated` frames in `getStatus().auth`; when it does not, no token
// leaves the page (the gateway would ignore one anyway). Without a token, with
// a refused one (4501) or an expired one (4401), the link goes offline and
// waits for a new token: from `onTokenNeeded`, or from `setToken`. A token
// given while the link is authenticated is sent as a renewal on the same
// socket. After a 4401 the new socket resumes from the last event seen.

import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff';
import { AUTH_FAILED, BROWSER_CLOSE_CODES, NORMAL, SLOW_CONSUMER, TOKEN_EXPIRED } from './closeCodes';
import { parseServerFrame, type AuthenticatedFrame, type FrameError, type ServerFrame } from './frames';
import { INITIAL_LINK_STATE, step, type Command, type LinkInput, type LinkState, type LinkStatus } from './machine';

export type { LinkStatus } from './machine';

/** What the client shows of its link. */
export interface LinkInfo {
  status: LinkStatus;
  /** When the next automatic retry starts (Unix ms), while `reconnecting`. */
  retryAt: number | null;
  /** Failed attempts since the link was last stable. */
  attempt: number;
  /** Why the link is not live; null while it is fine. */
  reason: string | null;
  /** Code of the last close, if any. */
  closeCode: number | null;
  /** Where authentication stands on this link. */
  auth: AuthInfo;
}

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

/** Asks the page for a token; resolves to undefined when it has none (the page may still call `setToken` later). */
export type TokenProvider = (request: { need: TokenNeed }) => Promise<string | undefined> | string | undefined;

/** The part of the browser WebSocket the client uses. */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

/** The browser around the client: network and page visibility. */
export interface Environment {
  isOnline(): boolean;
  /** Starts watching; returns a function that stops. */
  watch(handlers: { online(): void; offline(): void; visible(): void }): () => void;
}

export interface SocketClientOptions {
  /** Default: `new WebSocket(url)`. */
  createSocket?: SocketFactory;
  /** Default: window / document / navigator when present, else always online. */
  environment?: Environment;
  /** Default: Date.now. */
  now?: () => number;
  /** Default: Math.random. */
  random?: () => number;
  backoff?: BackoffPolicy;
  /** How long a link must stay live before failures are forgotten. Default 10 s. */
  stableAfterMs?: number;
  /** Give up on a socket that has not opened after this long. Default 10 s. */
  connectTimeoutMs?: number;
  /** Send application pings every `heartbeat_ms` and drop a link whose ping goes unanswered. Default true. */
  heartbeat?: boolean;
  /** Where unexpected problems are logged. Default: console. */
  logger?: Pick<Console, 'warn' | 'error'>;
}

export interface ConnectOptions {
  /** `ws(s)://host/dashboard/ws` */
  url: string;
  /** The token to authenticate with when the gateway requires one (later ones: `setToken`). */
  token?: string;
  /** Called when the gateway needs a token the client does not have (none, refused, expired). */
  onTokenNeeded?: TokenProvider;
  /** On reconnect, ask the gateway to replay what was missed (`?last_id=`). Default true. */
  resume?: boolean;
}

/** What the client knows about a frame beyond its content. */
export interface FrameMeta {
  /** An `event` frame replayed after a `resumed` frame: missed while the link was down, not live. */
  replayed: boolean;
}

export type FrameListener = (frame: ServerFrame, meta: FrameMeta) => void;
export type StatusListener = (info: LinkInfo) => void;
export type ErrorListener = (error: FrameError) => void;

/** The query parameter that names the event to resume after. */
export const RESUME_PARAM = 'last_id';

/** Why the link waits, for people. */
export const TOKEN_NEEDED_REASON = 'token needed: the gateway requires one';

const AUTH_UNKNOWN: AuthInfo = Object.freeze({ phase: 'unknown' });
const AUTH_NONE: AuthInfo = Object.freeze({ phase: 'none' });
const AUTH_PENDING: AuthInfo = Object.freeze({ phase: 'pending' });

const LIVE: FrameMeta = Object.freeze({ replayed: false });
const REPLAYED: FrameMeta = Object.freeze({ replayed: true });

/** `url` with `?last_id=<id>` set (other query parameters kept). */
export function resumeUrl(url: string, lastId: string): string {
  try {
    const u = new URL(url);
    u.searchParams.set(RESUME_PARAM, lastId);
    return u.toString();
  } catch {
    // Not an absolute URL: let the socket factory judge it, with the parameter appended.
    const [base, hash] = url.split('#', 2) as [string, string | undefined];
    const sep = base.includes('?') ? '&' : '?';
    return `${base}${sep}${RESUME_PARAM}=${encodeURIComponent(lastId)}${hash === undefined ? '' : `#${hash}`}`;
  }
}

export const defaultEnvironment: Environment = {
  isOnline() {
    return typeof navigator === 'undefined' || navigator.onLine !== false;
  },
  watch(handlers) {
    if (typeof window === 'undefined') return () => {};
    const onVisibility = () => {
      if (document.visibilityState === 'visible') handlers.visible();
    };
    window.addEventListener('online', handlers.online);
    window.addEventListener('offline', handlers.offline);
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      window.removeEventListener('online', handlers.online);
      window.removeEventListener('offline', handlers.offline);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  },
};

export class SocketClient {
  private state: LinkState = INITIAL_LINK_STATE;
  private auth: AuthInfo = AUTH_UNKNOWN;
  private info: LinkInfo = toInfo(INITIAL_LINK_STATE, AUTH_UNKNOWN);
  private options: ConnectOptions | null = null;
  private socket: SocketLike | null = null;
  private lastId: string | null = null;
  /** The token for the next `auth` frame. */
  private token: string | null = null;
  /** Tokens sent on the current socket that no `authenticated` frame has answered yet, oldest first. */
  private unanswered: string[] = [];
  /** The token of the latest `authenticated` frame on the current socket. */
  private acceptedToken: string | null = null;
  /** The token last refused or expired: a provider handing it back again is not listened to. */
  private spentToken: string | null = null;
  /** Counts token requests, so that a late answer to an old one is dropped. */
  private tokenRequest = 0;
  /** The user (sub, tenant) whose view `lastId` belongs to, once known. */
  private viewOwner: string | null = null;
  /** The current socket asked to resume. */
  private resuming = false;
  /** disconnect() was called and no connect() since: a token alone does not reopen the link. */
  private closedByOwner = false;
  /** Event frames still to come as the replay announced by `resumed` on the current socket. */
  private replayLeft = 0;

  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private stableTimer: ReturnType<typeof setTimeout> | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private lastFrameAt = 0;
  private pingSentAt: number | null = null;
  private pingNonce = 0;
  private stopWatching: (() => void) | null = null;

  private readonly frameListeners = new Set<FrameListener>();
  private readonly statusListeners = new Set<StatusListener>();
  private readonly errorListeners = new Set<ErrorListener>();

  private readonly createSocket: SocketFactory;
  private readonly env: Environment;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly backoff: BackoffPolicy;
  private readonly stableAfterMs: number;
  private readonly connectTimeoutMs: number;
  private readonly heartbeat: boolean;
  private readonly logger: Pick<Console, 'warn' | 'error'>;

  constructor(opts: SocketClientOptions = {}) {
    this.createSocket = opts.createSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    this.env = opts.environment ?? defaultEnvironment;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.stableAfterMs = opts.stableAfterMs ?? 10_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.heartbeat = opts.heartbeat ?? true;
    this.logger = opts.logger ?? console;
  }

  /** Opens the link (or retries at once if it is waiting to reconnect). */
  connect(options: ConnectOptions): void {
    if (this.options && this.options.url !== options.url) {
      // A new address: drop the old link entirely, and start from a snapshot there.
      this.disconnect();
      this.lastId = null;
      this.viewOwner = null;
    }
    if (options.token !== undefined && options.token !== this.options?.token) this.token = options.token || null;
    this.options = options;
    this.closedByOwner = false;
    this.stopWatching ??= this.env.watch({
      online: () => this.input({ type: 'wake' }),
      visible: () => this.input({ type: 'wake' }),
      offline: () => this.input({ type: 'network-offline' }),
    });
    this.input({ type: 'connect' });
    // No network at all: wait for the browser's `online` event instead.
    if (!this.env.isOnline()) this.input({ type: 'network-offline' });
  }

  /** Skips the back-off wait, or reopens a link that went offline: reconnects now. */
  retryNow(): void {
    if (this.options) this.connect(this.options);
  }

  /** Closes the link for good; no reconnect until `connect` is called again. */
  disconnect(): void {
    this.closedByOwner = true;
    this.input({ type: 'disconnect' });
    this.stopWatching?.();
    this.stopWatching = null;
  }

  /**
   * Gives the client a token. On an authenticated link it is sent at once as
   * a renewal (the gateway accepts one for the same user and tenant only);
   * while the link waits for a token it reconnects with it (resuming); in any
   * other state it is kept for the next `auth` frame.
   */
  setToken(token: string): void {
    const fresh = token.trim();
    if (!fresh) return;
    this.token = fresh;
    this.tokenRequest += 1;
    if (this.auth.phase === 'authenticated' && this.socket && this.state.status === 'live') {
      if (fresh !== (this.unanswered.at(-1) ?? this.acceptedToken)) this.sendAuth(fresh);
      return;
    }
    if (this.auth.phase === 'needed' && this.options && !this.closedByOwner) {
      this.auth = AUTH_PENDING;
      this.connect(this.options);
    }
  }

  /** Every validated server frame. Returns the unsubscribe function. */
  subscribe(listener: FrameListener): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  /** Every change of the link. Returns the unsubscribe function. */
  onStatus(listener: StatusListener): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Every frame that failed validation. Returns the unsubscribe function. */
  onError(listener: ErrorListener): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /** The link now. The same object until it changes (fit for useSyncExternalStore). */
  getStatus(): LinkInfo {
    return this.info;
  }

  /** Id of the newest event seen (from `event` frames and `snapshot.last_id`): where a reconnect resumes. */
  get lastEventId(): string | null {
    return this.lastId;
  }

  /** Sends a client frame if the link is open. Returns whether it was sent. */
  send(frame: { type: string } & Record<string, unknown>): boolean {
    if (!this.socket || this.state.status !== 'live') return false;
    try {
      this.socket.send(JSON.stringify(frame));
      return true;
    } catch (err) {
      this.logger.warn('[tactical-link] send failed', err);
      return false;
    }
  }

  // --- machinery -----------------------------------------------------------

  private input(input: LinkInput): void {
    const { state, commands } = step(this.state, input, this.backoff);
    this.state = state;
    for (const command of commands) this.run(command);
    // A command may have fed another input (a socket that cannot be created).
    this.publish();
  }

  /** Tells the status listeners when the link or its authentication changed. */
  private publish(): void {
    const info = toInfo(this.state, this.auth);
    if (!sameInfo(info, this.info)) {
      this.info = info;
      for (const listener of [...this.statusListeners]) this.call(listener, info);
    }
  }

  private sendAuth(token: string): void {
    if (this.send({ type: 'auth', token })) this.unanswered.push(token);
  }

  /** The link cannot go on without a new token: it goes offline and asks the page for one. */
  private needToken(need: TokenNeed, input: LinkInput): void {
    this.auth = Object.freeze({ phase: 'needed', need });
    this.input(input);
    this.requestToken(need);
  }

  private requestToken(need: TokenNeed): void {
    const provider = this.options?.onTokenNeeded;
    if (!provider) return;
    const request = ++this.tokenRequest;
    let answer: Promise<string | undefined>;
    try {
      answer = Promise.resolve(provider({ need }));
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer.then(
      (token) => {
        // Answered too late: a token came another way, or the need changed since.
        if (request !== this.tokenRequest || this.auth.phase !== 'needed') return;
        if (typeof token !== 'string' || token.trim() === '' || token.trim() === this.spentToken) return;
        this.setToken(token);
      },
      (err: unknown) => this.logger.warn('[tactical-link] token provider failed', err),
    );
  }

  private run(command: Command): void {
    switch (command.type) {
      case 'open':
        this.open();
        break;
      case 'close':
        this.dropSocket();
        break;
      case 'arm-retry':
        this.clearRetry();
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.input({ type: 'retry' });
        }, command.delayMs);
        break;
      case 'cancel-retry':
        this.clearRetry();
        break;
      case 'arm-stable':
        this.clearStable();
        this.stableTimer = setTimeout(() => {
          this.stableTimer = null;
          this.input({ type: 'stable' });
        }, this.stableAfterMs);
        break;
      case 'cancel-stable':
        this.clearStable();
        break;
    }
  }

  private open(): void {
    this.dropSocket();
    const options = this.options;
    if (!options) return;
    const resumeFrom = options.resume !== false ? this.lastId : null;
    this.resuming = resumeFrom !== null;
    this.unanswered = [];
    this.acceptedToken = null;
    const url = resumeFrom === null ? options.url : resumeUrl(options.url, resumeFrom);
    let socket: SocketLike;
    try {
      socket = this.createSocket(url);
    } catch (err) {
      this.input({ type: 'fatal', reason: `cannot open ${options.url}: ${(err as Error).message}` });
      return;
    }
    this.socket = socket;
    this.replayLeft = 0;
    this.connectTimer = setTimeout(() => {
      this.connectTimer = null;
      this.lose(`no answer from the gateway within ${Math.round(this.connectTimeoutMs / 1000)} s`);
    }, this.connectTimeoutMs);

    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.clearConnectTimer();
      this.lastFrameAt = this.now();
      this.input({ type: 'opened' });
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      this.receive(ev.data);
    };
    socket.onerror = () => {
      // A close event always follows; it carries the code.
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.detach();
      // Dropped for falling behind: back with a fresh snapshot, not a long replay.
      if (ev.code === SLOW_CONSUMER) this.lastId = null;
      const closed: LinkInput = {
        type: 'closed',
        code: ev.code,
        reason: ev.reason,
        now: this.now(),
        random: this.random(),
        online: this.env.isOnline(),
      };
      if (ev.code !== TOKEN_EXPIRED && ev.code !== AUTH_FAILED) {
        this.input(closed);
        return;
      }
      // Expired: the token in force. Refused: the first one not yet accepted.
      const used =
        (ev.code === TOKEN_EXPIRED ? this.acceptedToken : null) ?? this.unanswered[0] ?? this.acceptedToken ?? this.token;
      if (this.token !== null && this.token !== used) {
        // Another token came meanwhile: straight back with it, resuming.
        this.input(closed);
        this.auth = AUTH_PENDING;
        this.input({ type: 'connect' });
        return;
      }
      this.spentToken = used;
      this.token = null;
      this.needToken(ev.code === TOKEN_EXPIRED ? 'expired' : 'refused', closed);
    };
  }

  private receive(data: unknown): void {
    this.lastFrameAt = this.now();
    if (typeof data !== 'string') {
      this.report({ path: '', message: 'binary frame (the protocol sends text frames only)', excerpt: '' });
      return;
    }
    const result = parseServerFrame(data);
    if (!result.ok) {
      this.report(result.error);
      return;
    }
    const frame = result.frame;
    let meta = LIVE;
    switch (frame.type) {
      case 'event':
        this.lastId = frame.id;
        if (this.replayLeft > 0) {
          this.replayLeft -= 1;
          meta = REPLAYED;
        }
        break;
      case 'snapshot':
        this.lastId = frame.last_id;
        this.replayLeft = 0;
        break;
      case 'resumed':
        this.replayLeft = frame.replayed;
        break;
      case 'welcome':
        this.startHeartbeat(frame.heartbeat_ms);
        if (frame.auth === 'none') {
          this.auth = AUTH_NONE;
          this.publish();
        } else if (this.token !== null) {
          this.auth = AUTH_PENDING;
          this.publish();
          this.sendAuth(this.token);
        }
        break;
      case 'authenticated':
        if (this.authenticated(frame)) return;
        break;
      default:
        break;
    }
    for (const listener of [...this.frameListeners]) this.call(listener, frame, meta);
    // After the listeners have the welcome: the link waits for a token, if it has none.
    if (frame.type === 'welcome' && frame.auth === 'required' && this.token === null) {
      this.needToken('missing', { type: 'token-needed', reason: TOKEN_NEEDED_REASON });
    }
  }

  /**
   * Takes an `authenticated` frame. Returns true when the socket was given up
   * because it resumed the view of another user: the view on screen is not
   * this user's, so it starts again from a snapshot.
   */
  private authenticated(frame: AuthenticatedFrame): boolean {
    const owner = JSON.stringify([frame.sub, frame.tenant]);
    if (this.resuming && this.viewOwner !== null && this.viewOwner !== owner) {
      this.lastId = null;
      this.viewOwner = null;
      this.input({ type: 'reopen' });
      return true;
    }
    this.viewOwner = owner;
    this.acceptedToken = this.unanswered.shift() ?? this.acceptedToken;
    const { type: _type, ...identity } = frame;
    this.auth = Object.freeze({ phase: 'authenticated', identity });
    this.publish();
    // A token given while the first one was on its way: renew with it now.
    if (this.token !== null && this.token !== this.acceptedToken && this.unanswered.length === 0) this.sendAuth(this.token);
    return false;
  }

  /** Application-level keep-alive: a ping every interval; a ping unanswered for a whole interval means the link is dead. */
  private startHeartbeat(intervalMs: number): void {
    this.clearHeartbeat();
    if (!this.heartbeat || !(intervalMs > 0)) return;
    this.pingSentAt = null;
    this.heartbeatTimer = setInterval(() => {
      const now = this.now();
      if (this.pingSentAt !== null && this.lastFrameAt < this.pingSentAt && now - this.pingSentAt >= intervalMs) {
        this.lose(`no answer from the gateway for ${Math.round((now - this.lastFrameAt) / 1000)} s`);
        return;
      }
      this.pingSentAt = now;
      this.send({ type: 'ping', nonce: ++this.pingNonce });
    }, intervalMs);
  }

  /** Gives up on the current socket as if it had closed abnormally. */
  private lose(reason: string): void {
    const socket = this.socket;
    if (!socket) return;
    this.dropSocket();
    this.input({ type: 'closed', code: BROWSER_CLOSE_CODES.LOST, reason, now: this.now(), random: this.random(), online: this.env.isOnline() });
  }

  private dropSocket(): void {
    const socket = this.socket;
    this.detach();
    if (socket) {
      try {
        socket.close(NORMAL, 'client closed');
      } catch {
        // Closing a socket that never opened can throw in some browsers.
      }
    }
  }

  private detach(): void {
    const socket = this.socket;
    this.socket = null;
    this.clearConnectTimer();
    this.clearHeartbeat();
    if (socket) {
      socket.onopen = null;
      socket.onmessage = null;
      socket.onclose = null;
      socket.onerror = null;
    }
  }

  private report(error: FrameError): void {
    if (this.errorListeners.size === 0) {
      this.logger.warn(`[tactical-link] bad frame ${error.path}: ${error.message}`, error.excerpt);
    }
    for (const listener of [...this.errorListeners]) this.call(listener, error);
  }

  private call<A extends unknown[]>(listener: (...args: A) => void, ...args: A): void {
    try {
      listener(...args);
    } catch (err) {
      this.logger.error('[tactical-link] listener failed', err);
    }
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private clearStable(): void {
    if (this.stableTimer !== null) clearTimeout(this.stableTimer);
    this.stableTimer = null;
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }

  private clearHeartbeat(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }
}

/** Creates a socket client; nothing happens until `connect`. */
export function createSocketClient(options?: SocketClientOptions): SocketClient {
  return new SocketClient(options);
}

function toInfo(state: LinkState, auth: AuthInfo): LinkInfo {
  return {
    status: state.status,
    retryAt: state.retryAt,
    attempt: state.attempt,
    reason: state.reason,
    closeCode: state.closeCode,
    auth,
  };
}

function sameInfo(a: LinkInfo, b: LinkInfo): boolean {
  return (
    a.status === b.status &&
    a.retryAt === b.retryAt &&
    a.attempt === b.attempt &&
    a.reason === b.reason &&
    a.closeCode === b.closeCode &&
    a.auth === b.auth
  );
}
