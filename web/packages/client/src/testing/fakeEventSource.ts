// The gateway's event stream and HTTP endpoints as a test drives them by
// hand, for the socket client's options (`createEventSource`, `fetch`):
// what the client's SSE tests connect through.

import type { EventSourceLike, HttpFetch, HttpResponseLike } from '../socket/sse.js';

/** An EventSource the test drives by hand: `open`, `receive`, `closeWith`, `fail` play the gateway. */
export class FakeEventSource implements EventSourceLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  /** The client closed it. */
  closed = false;
  private readonly closeListeners: Array<(ev: { data?: unknown }) => void> = [];

  constructor(readonly url: string) {}

  addEventListener(type: 'close', listener: (ev: { data?: unknown }) => void): void {
    if (type === 'close') this.closeListeners.push(listener);
  }
  close(): void {
    this.closed = true;
  }

  /** A query parameter of the URL it was opened with (`ticket`, `last_id`). */
  param(name: string): string | null {
    return new URL(this.url).searchParams.get(name);
  }

  // The gateway's side (nothing reaches a closed stream, as in a browser).
  open(): void {
    if (!this.closed) this.onopen?.({});
  }
  receive(frame: unknown): void {
    if (!this.closed) this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }
  /** `event: close` with the gateway's code and reason. */
  closeWith(code: number, reason = ''): void {
    this.closeEvent(JSON.stringify({ code, reason }));
  }
  /** `event: close` with this data, as it is. */
  closeEvent(data: string): void {
    if (this.closed) return;
    for (const listener of [...this.closeListeners]) listener({ data });
  }
  /** The stream drops (or is refused): an `error` event. */
  fail(): void {
    if (!this.closed) this.onerror?.({});
  }
}

/** Every stream a client opened through `create`, the last one at the end. */
export class FakeEventSources {
  readonly all: FakeEventSource[] = [];
  readonly create = (url: string): FakeEventSource => {
    const source = new FakeEventSource(url);
    this.all.push(source);
    return source;
  };
  last(): FakeEventSource {
    const source = this.all.at(-1);
    if (!source) throw new Error('no event stream was opened');
    return source;
  }
}

/** One request the client made. */
export interface HttpCall {
  url: string;
  method: string;
  /** The bearer token of its `Authorization` header, if any. */
  bearer: string | null;
}

/** How the fake gateway answers a request: a status and a JSON body, or a network failure. */
export type HttpAnswer = { status: number; body?: unknown } | 'network-error';

/**
 * The gateway's HTTP side: `GET …/healthz` answers 200 while `up`, a POST
 * that is not JSON gets 415 (as from the gateway's guard), and
 * `POST …/api/sse-ticket` hands out `ticket-1`, `ticket-2`, … (to any
 * token, or none) unless `ticketAnswer` says otherwise; a network error
 * for everything while down.
 */
export class FakeHttp {
  up = true;
  readonly calls: HttpCall[] = [];
  private issued = 0;
  /** Overrides the ticket endpoint's answer (e.g. 401 for a token). */
  ticketAnswer: ((bearer: string | null) => HttpAnswer | undefined) | null = null;

  readonly fetch: HttpFetch = async (url, init) => {
    const header = init.headers?.authorization ?? null;
    const bearer = header === null ? null : header.replace(/^Bearer /, '');
    this.calls.push({ url, method: init.method, bearer });
    const json = init.headers?.['content-type'] === 'application/json';
    const answer = init.method === 'POST' && !json ? { status: 415 } : this.answer(new URL(url).pathname, bearer);
    if (answer === 'network-error') throw new TypeError('Failed to fetch');
    return response(answer.status, answer.body);
  };

  /** The tickets asked for, with the token each was asked with. */
  ticketCalls(): HttpCall[] {
    return this.calls.filter((c) => c.url.endsWith('/api/sse-ticket'));
  }

  private answer(path: string, bearer: string | null): HttpAnswer {
    if (!this.up) return 'network-error';
    if (path.endsWith('/healthz')) return { status: 200, body: 'ok' };
    if (path.endsWith('/api/sse-ticket')) {
      const custom = this.ticketAnswer?.(bearer);
      if (custom !== undefined) return custom;
      this.issued += 1;
      return { status: 200, body: { ticket: `ticket-${this.issued}`, expires_in: 30 } };
    }
    return { status: 404, body: { error: 'not_found' } };
  }
}

function response(status: number, body: unknown): HttpResponseLike {
  return { ok: status >= 200 && status < 300, status, json: async () => body };
}
