// The gateway's event stream (`GET /dashboard/sse`, docs/protocol.md,
// "Server-Sent Events") behind the same SocketLike face as a WebSocket, so
// the client's rules (resume, back-off, close codes, authentication) apply
// to both unchanged.
//
// One SseSocket is one stream: it first trades the token for a single-use
// ticket (`POST /api/sse-ticket`, JSON, with `Authorization: Bearer`; EventSource
// cannot send headers, and a token never goes into a URL), then opens an
// EventSource on `…/dashboard/sse?ticket=…` (with `last_id=` when the
// client resumes). Without a token it asks for a ticket all the same: a
// gateway without a key hands one out (the stream ignores it), and one with
// a key answers 401, which is how the client learns that it needs a token.
//
// The stream is closed on its first error rather than left to
// EventSource's own reconnect: that would present the spent ticket again
// (and fail), and it would bypass the client's back-off and status. The
// client reconnects instead, with a fresh ticket and `?last_id=`, which the
// gateway reads like `Last-Event-ID`.
//
// What the gateway says, as close events: `event: close` carries its close
// code and reason; a ticket refused with 401 is 4401 ("token expired") or
// 4501 (any other reason); a failed ticket request or a stream that errors
// is 1006, like a WebSocket that drops.

import { AUTH_FAILED, BROWSER_CLOSE_CODES, TOKEN_EXPIRED } from './closeCodes.js';
import type { SocketLike } from './socketLike.js';

/** The part of the browser EventSource the client uses. */
export interface EventSourceLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  addEventListener(type: 'close', listener: (ev: { data?: unknown }) => void): void;
  close(): void;
}

export type EventSourceFactory = (url: string) => EventSourceLike;

/** The part of an HTTP response the client reads. */
export interface HttpResponseLike {
  readonly ok: boolean;
  readonly status: number;
  json(): Promise<unknown>;
}

/** The part of `fetch` the client uses (tickets and the health check). */
export type HttpFetch = (
  url: string,
  init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; cache: 'no-store'; signal?: AbortSignal },
) => Promise<HttpResponseLike>;

/** Where a gateway's HTTP endpoints are, from its WebSocket URL. */
export interface GatewayUrls {
  /** `http(s)://host/…/dashboard/sse` (the WebSocket URL's query kept). */
  stream: string;
  /** `http(s)://host/…/api/sse-ticket`. */
  ticket: string;
  /** `http(s)://host/…/healthz`. */
  health: string;
}

const WS_PATH = '/dashboard/ws';

/**
 * The HTTP endpoints beside `wsUrl` (`ws(s)://host[/prefix]/dashboard/ws`),
 * or null when it is not of that form (then there is no SSE fallback).
 */
export function gatewayUrls(wsUrl: string): GatewayUrls | null {
  let url: URL;
  try {
    url = new URL(wsUrl);
  } catch {
    return null;
  }
  const scheme = url.protocol === 'wss:' ? 'https:' : url.protocol === 'ws:' ? 'http:' : null;
  if (scheme === null || !url.pathname.endsWith(WS_PATH)) return null;
  const prefix = url.pathname.slice(0, -WS_PATH.length);
  const origin = `${scheme}//${url.host}${prefix}`;
  return { stream: `${origin}/dashboard/sse${url.search}`, ticket: `${origin}/api/sse-ticket`, health: `${origin}/healthz` };
}

export interface SseSocketOptions {
  /** The stream's URL, with `last_id` when resuming. */
  url: string;
  ticketUrl: string;
  /** The token the ticket is asked for with; null: none. */
  token: string | null;
  /** The gateway is known not to authenticate: no ticket is asked for. */
  noAuth: boolean;
  fetch: HttpFetch;
  createEventSource: EventSourceFactory;
}

/** See the module header. Starts on creation; events come asynchronously. */
export class SseSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  /** The token this stream authenticated with (through its ticket). */
  readonly token: string | null;
  private source: EventSourceLike | null = null;
  private ended = false;
  private readonly abort = typeof AbortController === 'undefined' ? null : new AbortController();

  constructor(private readonly options: SseSocketOptions) {
    this.token = options.noAuth ? null : options.token;
    void this.start();
  }

  /** An event stream carries nothing from the client. */
  send(_data: string): void {
    throw new Error('an SSE stream sends nothing to the gateway');
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.abort?.abort();
    this.source?.close();
    this.source = null;
  }

  private async start(): Promise<void> {
    const { options } = this;
    let url = options.url;
    if (!options.noAuth) {
      const ticket = await this.ticket();
      if (ticket === null) return;
      url = withParam(url, 'ticket', ticket);
    }
    if (this.ended) return;
    let source: EventSourceLike;
    try {
      source = options.createEventSource(url);
    } catch (err) {
      return this.end(BROWSER_CLOSE_CODES.LOST, `cannot open the event stream: ${(err as Error).message}`);
    }
    this.source = source;
    source.onopen = (ev) => this.onopen?.(ev);
    source.onmessage = (ev) => this.onmessage?.({ data: ev.data });
    source.addEventListener('close', (ev) => this.closeEvent(ev.data));
    source.onerror = (ev) => {
      this.onerror?.(ev);
      this.end(BROWSER_CLOSE_CODES.LOST, 'event stream failed');
    };
  }

  /** A ticket for the stream, or null once the socket has ended (refused, failed, or closed meanwhile). */
  private async ticket(): Promise<string | null> {
    const { fetch, ticketUrl, token } = this.options;
    // The gateway takes state-changing requests as JSON only (a cross-site form cannot send that).
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let response: HttpResponseLike;
    let body: unknown;
    try {
      response = await fetch(ticketUrl, { method: 'POST', headers, body: '{}', cache: 'no-store', signal: this.abort?.signal });
      body = await response.json().catch(() => null);
    } catch (err) {
      this.end(BROWSER_CLOSE_CODES.LOST, `no ticket: ${(err as Error).message}`);
      return null;
    }
    if (this.ended) return null;
    const field = (name: string) => (isObject(body) && typeof body[name] === 'string' ? (body[name] as string) : null);
    if (response.status === 401) {
      const message = field('message') ?? 'ticket refused';
      this.end(message === 'token expired' ? TOKEN_EXPIRED : AUTH_FAILED, message);
      return null;
    }
    const ticket = response.ok ? field('ticket') : null;
    if (ticket === null) this.end(BROWSER_CLOSE_CODES.LOST, `no ticket: the gateway answered ${response.status}`);
    return ticket;
  }

  /** `event: close`: the gateway's close code and reason. */
  private closeEvent(data: unknown): void {
    let parsed: unknown = null;
    try {
      parsed = typeof data === 'string' ? JSON.parse(data) : null;
    } catch {
      // Reported below as a lost stream.
    }
    if (isObject(parsed) && typeof parsed.code === 'number') {
      return this.end(parsed.code, typeof parsed.reason === 'string' ? parsed.reason : '');
    }
    this.end(BROWSER_CLOSE_CODES.LOST, 'unreadable close event');
  }

  private end(code: number, reason: string): void {
    if (this.ended) return;
    this.close();
    this.onclose?.({ code, reason });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `url` with one query parameter set (others kept). */
export function withParam(url: string, name: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(name, value);
  return u.toString();
}

/** The browser's EventSource, where there is one. */
export function browserEventSource(): EventSourceFactory | null {
  if (typeof EventSource === 'undefined') return null;
  return (url) => new EventSource(url) as unknown as EventSourceLike;
}

/** The browser's fetch, where there is one. */
export function browserFetch(): HttpFetch | null {
  if (typeof fetch === 'undefined') return null;
  return (url, init) => fetch(url, init);
}
