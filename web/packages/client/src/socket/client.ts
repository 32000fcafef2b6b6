// The Tactical Link socket client: plain TypeScript, no framework.
//
// Owns one socket to the gateway at a time (a WebSocket, or the gateway's
// event stream where WebSocket upgrades fail: ./sse.ts, with the switch and
// the probes back decided by ./transport.ts) and carries out what the
// client's state machine (./authMachine.ts, around the link machine in
// ./machine.ts) decides: it opens and closes sockets, arms the retry and
// stable timers, sends `auth` frames, asks the page for tokens and hands
// frames to subscribers. Every rule of the link and of authentication lives
// in those pure modules; this file only turns sockets, timers, promises and
// browser events into their inputs, all of which can be injected (tests use
// a fake WebSocket and fake timers).
//
// Kept here, because they are about sockets and frames rather than rules:
// frame validation (./frames.ts), the application pings that detect a dead
// link, the connect timeout, and the resume bookkeeping of docs/protocol.md,
// "Resume": once it has seen an event, the client reconnects to
// `…/dashboard/ws?last_id=<last event id>`; the gateway answers with a
// `resumed` frame and replays exactly the events missed, which the client
// marks `replayed` for its subscribers (or, when the id is no longer
// retained, sends a snapshot with `resume_failed`).

import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import { BROWSER_CLOSE_CODES, NORMAL } from './closeCodes.js';
import {
  INITIAL_CLIENT_STATE,
  stepClient,
  type AuthInfo,
  type ClientCommand,
  type ClientInput,
  type ClientState,
  type TokenNeed,
} from './authMachine.js';
import { parseServerFrame, type FrameError, type ServerFrame } from './frames.js';
import type { LinkStatus } from './machine.js';
import { answersHttp, probeWebSocket, type WebSocketProbe } from './probe.js';
import type { SocketFactory, SocketLike } from './socketLike.js';
import { browserEventSource, browserFetch, gatewayUrls, SseSocket, type EventSourceFactory, type GatewayUrls, type HttpFetch } from './sse.js';
import {
  DEFAULT_TRANSPORT_POLICY,
  INITIAL_TRANSPORT_STATE,
  stepTransport,
  type Transport,
  type TransportCommand,
  type TransportInput,
  type TransportPolicy,
  type TransportState,
} from './transport.js';

export type { AuthInfo, Identity, TokenNeed } from './authMachine.js';
export { TOKEN_NEEDED_REASON } from './authMachine.js';
export type { LinkStatus } from './machine.js';
export type { Transport, TransportPolicy } from './transport.js';
export { DEFAULT_TRANSPORT_POLICY } from './transport.js';
export type { EventSourceFactory, EventSourceLike, GatewayUrls, HttpFetch, HttpResponseLike } from './sse.js';
export { gatewayUrls } from './sse.js';

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
  /** What carries the link: `websocket`, or `sse` (the gateway's event stream) where WebSocket upgrades fail. */
  transport: Transport;
}

/** Asks the page for a token; resolves to undefined when it has none (the page may still call `setToken` later). */
export type TokenProvider = (request: { need: TokenNeed }) => Promise<string | undefined> | string | undefined;

export type { SocketFactory, SocketLike } from './socketLike.js';

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
  /** Default: `new EventSource(url)` where there is one; null: no SSE fallback. */
  createEventSource?: EventSourceFactory | null;
  /** For SSE tickets and the health check. Default: the global fetch; null: no SSE fallback. */
  fetch?: HttpFetch | null;
  /** When to fall back to SSE and how often to try WebSocket again (./transport.ts). */
  transport?: Partial<TransportPolicy>;
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
  /**
   * Resume after this event id when the client has seen none itself (a page
   * that kept the last id it saw, e.g. across a reload): the gateway replays
   * what came after it, or sends a snapshot with `resume_failed` when it no
   * longer can.
   */
  lastId?: string;
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
  private state: ClientState = INITIAL_CLIENT_STATE;
  private transportState: TransportState = INITIAL_TRANSPORT_STATE;
  private current: LinkInfo = toInfo(INITIAL_CLIENT_STATE, INITIAL_TRANSPORT_STATE);
  private options: ConnectOptions | null = null;
  private socket: SocketLike | null = null;
  private resumePoint: string | null = null;
  /** The current socket asked to resume (its URL carries `last_id`). */
  private resuming = false;
  /** Event frames still to come as the replay announced by `resumed` on the current socket. */
  private replayLeft = 0;
  /** What carries the current (or last) socket. */
  private socketTransport: Transport = 'websocket';
  /** The current (or last) socket got its welcome. */
  private welcomed = false;
  /** Welcomes ever received: a health check answered after a newer welcome is not listened to. */
  private welcomes = 0;
  private probeTimer: ReturnType<typeof setTimeout> | null = null;
  private probe: WebSocketProbe | null = null;

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
  private readonly createEventSource: EventSourceFactory | null;
  private readonly fetchHttp: HttpFetch | null;
  private readonly transportPolicy: TransportPolicy;

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
    this.createEventSource = opts.createEventSource === undefined ? browserEventSource() : opts.createEventSource;
    this.fetchHttp = opts.fetch === undefined ? browserFetch() : opts.fetch;
    this.transportPolicy = { ...DEFAULT_TRANSPORT_POLICY, ...opts.transport };
  }

  /** Opens the link (or retries at once if it is waiting to reconnect). */
  connect(options: ConnectOptions): void {
    if (this.options !== null && this.options.url !== options.url) this.transportInput({ type: 'reset' });
    this.options = options;
    if (options.lastId !== undefined && this.resumePoint === null) this.resumePoint = options.lastId;
    this.stopWatching ??= this.env.watch({
      online: () => this.input({ type: 'wake' }),
      visible: () => this.input({ type: 'wake' }),
      offline: () => this.input({ type: 'network-offline' }),
    });
    this.input({ type: 'connect', url: options.url, token: options.token, online: this.env.isOnline() });
  }

  /** Skips the back-off wait, or reopens a link that went offline: reconnects now. */
  retryNow(): void {
    if (this.options) this.connect(this.options);
  }

  /** Closes the link for good; no reconnect until `connect` is called again. */
  close(): void {
    this.transportInput({ type: 'reset' });
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
    this.input({ type: 'set-token', token, online: this.env.isOnline() });
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

  /** The link now, in full. The same object until it changes (fit for useSyncExternalStore). */
  get info(): LinkInfo {
    return this.current;
  }

  /** `connecting`, `live`, `reconnecting` or `offline`. */
  get status(): LinkStatus {
    return this.current.status;
  }

  /** Id of the newest event seen (from `event` frames and `snapshot.last_id`): where a reconnect resumes. */
  get lastId(): string | null {
    return this.resumePoint;
  }

  /** Sends a client frame if the link is open. Returns whether it was sent. */
  send(frame: { type: string } & Record<string, unknown>): boolean {
    // An event stream carries nothing from the client.
    if (!this.socket || this.state.link.status !== 'live' || this.socketTransport === 'sse') return false;
    try {
      this.socket.send(JSON.stringify(frame));
      return true;
    } catch (err) {
      this.logger.warn('[tactical-link] send failed', err);
      return false;
    }
  }

  // --- machinery -----------------------------------------------------------

  private input(input: ClientInput): void {
    const { state, commands } = stepClient(this.state, input, this.backoff);
    this.state = state;
    for (const command of commands) this.run(command);
    // A command may have fed another input (a socket that cannot be created, an `auth` frame sent).
    this.publish();
  }

  /** Tells the status listeners when the link or its authentication changed. */
  private publish(): void {
    const info = toInfo(this.state, this.transportState);
    if (!sameInfo(info, this.current)) {
      this.current = info;
      for (const listener of [...this.statusListeners]) this.call(listener, info);
    }
  }

  private run(command: ClientCommand): void {
    switch (command.type) {
      case 'open':
        return this.open();
      case 'close':
        return this.dropSocket();
      case 'arm-retry':
        this.clearRetry();
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.input({ type: 'retry' });
        }, command.delayMs);
        return;
      case 'cancel-retry':
        return this.clearRetry();
      case 'arm-stable':
        this.clearStable();
        this.stableTimer = setTimeout(() => {
          this.stableTimer = null;
          this.input({ type: 'stable' });
        }, this.stableAfterMs);
        return;
      case 'cancel-stable':
        return this.clearStable();
      case 'send-auth':
        if (this.socket instanceof SseSocket) return this.streamAuth(this.socket, command.token);
        if (this.send({ type: 'auth', token: command.token })) this.input({ type: 'auth-sent', token: command.token });
        return;
      case 'request-token':
        return this.requestToken(command.need, command.request);
      case 'forget-resume-point':
        this.resumePoint = null;
        return;
      case 'deliver':
        // Status listeners hear of what the frame changed before subscribers get it.
        this.publish();
        return this.deliver(command.frame, LIVE);
    }
  }

  /** Asks the page for a token (once it has heard that one is needed) and feeds the answer back. */
  private requestToken(need: TokenNeed, request: number): void {
    this.publish();
    const provider = this.options?.onTokenNeeded;
    if (!provider) return;
    let answer: Promise<string | undefined>;
    try {
      answer = Promise.resolve(provider({ need }));
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer.then(
      (token) => this.input({ type: 'token-answer', request, token, online: this.env.isOnline() }),
      (err: unknown) => this.logger.warn('[tactical-link] token provider failed', err),
    );
  }

  private open(): void {
    this.dropSocket();
    const options = this.options;
    if (!options) return;
    const resumeFrom = options.resume !== false ? this.resumePoint : null;
    this.resuming = resumeFrom !== null;
    const stream = this.transportState.transport === 'sse' ? this.gatewayUrls() : null;
    const base = stream === null ? options.url : stream.stream;
    const url = resumeFrom === null ? base : resumeUrl(base, resumeFrom);
    let socket: SocketLike;
    try {
      socket = stream === null ? this.createSocket(url) : this.openStream(url, stream.ticket);
    } catch (err) {
      this.input({ type: 'fatal', reason: `cannot open ${options.url}: ${(err as Error).message}` });
      return;
    }
    this.socket = socket;
    this.socketTransport = stream === null ? 'websocket' : 'sse';
    this.welcomed = false;
    this.replayLeft = 0;
    this.connectTimer = setTimeout(() => {
      this.connectTimer = null;
      this.lose(`no answer from the gateway within ${Math.round(this.connectTimeoutMs / 1000)} s`);
    }, this.connectTimeoutMs);
    this.attach(socket);
  }

  private attach(socket: SocketLike): void {
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
      this.closed(ev.code, ev.reason);
    };
  }

  private closed(code: number, reason: string): void {
    if (this.socketTransport === 'websocket' && !this.welcomed) this.checkUpgrade();
    this.input({ type: 'closed', code, reason, now: this.now(), random: this.random(), online: this.env.isOnline() });
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
    switch (frame.type) {
      case 'welcome':
        // Pings need a socket that carries the client's frames.
        if (this.socketTransport === 'websocket') this.startHeartbeat(frame.heartbeat_ms);
        this.welcomed = true;
        this.welcomes += 1;
        this.transportInput({ type: 'welcome', transport: this.socketTransport });
        return this.input({ type: 'welcome', frame });
      case 'authenticated':
        // The machine hands it on (or not: a resumed view of another user).
        return this.input({ type: 'authenticated', frame, resumed: this.resuming });
      default:
        return this.deliver(frame, this.track(frame));
    }
  }

  /** Keeps the resume point and the replay count; says whether an event frame is replayed. */
  private track(frame: ServerFrame): FrameMeta {
    switch (frame.type) {
      case 'event':
        this.resumePoint = frame.id;
        if (this.replayLeft === 0) return LIVE;
        this.replayLeft -= 1;
        return REPLAYED;
      case 'snapshot':
        this.resumePoint = frame.last_id;
        this.replayLeft = 0;
        return LIVE;
      case 'resumed':
        this.replayLeft = frame.replayed;
        return LIVE;
      default:
        return LIVE;
    }
  }

  // --- transports (./transport.ts) ------------------------------------------

  /** The gateway's HTTP endpoints, when the SSE fallback is possible here (EventSource, fetch, a `…/dashboard/ws` URL). */
  private gatewayUrls(): GatewayUrls | null {
    if (!this.options || this.createEventSource === null || this.fetchHttp === null) return null;
    return gatewayUrls(this.options.url);
  }

  private openStream(url: string, ticketUrl: string): SseSocket {
    const { auth } = this.state;
    return new SseSocket({
      url,
      ticketUrl,
      token: auth.token,
      noAuth: auth.info.phase === 'none',
      fetch: this.fetchHttp!,
      createEventSource: this.createEventSource!,
    });
  }

  /**
   * An `auth` frame over SSE: the stream's ticket already carried `token`
   * (it counts as sent); any other token needs a new stream with a ticket
   * of its own, resuming.
   */
  private streamAuth(stream: SseSocket, token: string): void {
    if (stream.token === token) return this.input({ type: 'auth-sent', token });
    this.input({ type: 'reopen' });
  }

  /** A WebSocket ended before its welcome: an upgrade failure if the gateway answers plain HTTP now. */
  private checkUpgrade(): void {
    const urls = this.gatewayUrls();
    if (urls === null || this.transportState.transport !== 'websocket') return;
    const welcomes = this.welcomes;
    void answersHttp(this.fetchHttp!, urls.health, this.connectTimeoutMs).then((up) => {
      if (up && welcomes === this.welcomes && this.state.link.wanted) this.transportInput({ type: 'upgrade-failed' });
    });
  }

  private transportInput(input: TransportInput): void {
    const { state, commands } = stepTransport(this.transportState, input, this.transportPolicy);
    this.transportState = state;
    for (const command of commands) this.runTransport(command);
    this.publish();
  }

  private runTransport(command: TransportCommand): void {
    switch (command.type) {
      case 'arm-probe':
        this.stopProbe();
        this.probeTimer = setTimeout(() => {
          this.probeTimer = null;
          this.transportInput({ type: 'probe-due' });
        }, command.delayMs);
        return;
      case 'cancel-probe':
        return this.stopProbe();
      case 'probe':
        return this.startProbe();
      case 'retry-now':
        return this.input({ type: 'wake' });
      case 'reopen':
        return this.input({ type: 'reopen' });
    }
  }

  private startProbe(): void {
    if (!this.options) return;
    const probe = probeWebSocket(this.createSocket, this.options.url, this.connectTimeoutMs);
    this.probe = probe;
    void probe.result.then((ok) => {
      if (this.probe !== probe) return;
      this.probe = null;
      this.transportInput({ type: 'probe-result', ok });
    });
  }

  private stopProbe(): void {
    if (this.probeTimer !== null) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    const probe = this.probe;
    this.probe = null;
    probe?.cancel();
  }

  private deliver(frame: ServerFrame, meta: FrameMeta): void {
    for (const listener of [...this.frameListeners]) this.call(listener, frame, meta);
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
    this.closed(BROWSER_CLOSE_CODES.LOST, reason);
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

/**
 * Opens a link to the gateway: `connect({ url, token?, lastId? })`, then
 * `subscribe(listener)` (returns the unsubscribe function), `status`, `close()`.
 */
export function connect(options: ConnectOptions, clientOptions?: SocketClientOptions): SocketClient {
  const client = new SocketClient(clientOptions);
  client.connect(options);
  return client;
}

function toInfo({ link, auth }: ClientState, { transport }: TransportState): LinkInfo {
  return {
    transport,
    status: link.status,
    retryAt: link.retryAt,
    attempt: link.attempt,
    reason: link.reason,
    closeCode: link.closeCode,
    auth: auth.info,
  };
}

function sameInfo(a: LinkInfo, b: LinkInfo): boolean {
  return (
    a.status === b.status &&
    a.retryAt === b.retryAt &&
    a.attempt === b.attempt &&
    a.reason === b.reason &&
    a.closeCode === b.closeCode &&
    a.auth === b.auth &&
    a.transport === b.transport
  );
}
