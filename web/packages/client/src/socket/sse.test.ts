import { describe, expect, it } from 'vitest';
import { gatewayUrls, SseSocket } from './sse.js';
import { FakeEventSources, FakeHttp } from '../testing/fakeEventSource.js';

describe('gatewayUrls', () => {
  it('puts the stream, the ticket endpoint and the health check beside the WebSocket endpoint', () => {
    expect(gatewayUrls('ws://127.0.0.1:8000/dashboard/ws')).toEqual({
      stream: 'http://127.0.0.1:8000/dashboard/sse',
      ticket: 'http://127.0.0.1:8000/api/sse-ticket',
      health: 'http://127.0.0.1:8000/healthz',
    });
    // Behind a proxy under a prefix, over TLS, with the query kept for the stream.
    expect(gatewayUrls('wss://ops.example/tl/dashboard/ws?x=1')).toEqual({
      stream: 'https://ops.example/tl/dashboard/sse?x=1',
      ticket: 'https://ops.example/tl/api/sse-ticket',
      health: 'https://ops.example/tl/healthz',
    });
  });

  it('has none for another kind of URL', () => {
    expect(gatewayUrls('/dashboard/ws')).toBeNull();
    expect(gatewayUrls('ws://host/socket')).toBeNull();
    expect(gatewayUrls('http://host/dashboard/ws')).toBeNull();
  });
});

function stream(token: string | null, http: FakeHttp, sources: FakeEventSources) {
  const closes: Array<{ code: number; reason: string }> = [];
  const socket = new SseSocket({
    url: 'http://gw.test/dashboard/sse?last_id=4-0',
    ticketUrl: 'http://gw.test/api/sse-ticket',
    token,
    noAuth: false,
    fetch: http.fetch,
    createEventSource: sources.create,
  });
  socket.onclose = (ev) => closes.push(ev);
  return { socket, closes };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('SseSocket', () => {
  it('opens the stream with its ticket, the resume point kept, and hands frames on', async () => {
    const http = new FakeHttp();
    const sources = new FakeEventSources();
    const { socket } = stream('tok', http, sources);
    const got: unknown[] = [];
    socket.onmessage = (ev) => got.push(ev.data);
    await tick();
    expect(http.ticketCalls()).toEqual([{ url: 'http://gw.test/api/sse-ticket', method: 'POST', bearer: 'tok' }]);
    expect(sources.last().url).toBe('http://gw.test/dashboard/sse?last_id=4-0&ticket=ticket-1');
    sources.last().receive('{"type":"bus"}');
    expect(got).toEqual(['{"type":"bus"}']);
    expect(() => socket.send('{}')).toThrow();
  });

  it('closed while its ticket is on the way, it never opens a stream nor reports a close', async () => {
    const http = new FakeHttp();
    const sources = new FakeEventSources();
    const { socket, closes } = stream('tok', http, sources);
    socket.close();
    await tick();
    expect(sources.all).toHaveLength(0);
    expect(closes).toEqual([]);
  });

  it('reports an unreadable close event, or an error, once, as a lost connection, and closes the stream', async () => {
    const http = new FakeHttp();
    const sources = new FakeEventSources();
    const { closes } = stream(null, http, sources);
    await tick();
    const source = sources.last();
    source.closeEvent('not json');
    source.onerror?.({});
    expect(closes).toEqual([{ code: 1006, reason: 'unreadable close event' }]);
    expect(source.closed).toBe(true);
  });

  it('a ticket endpoint answering something else than a ticket is a lost connection', async () => {
    const http = new FakeHttp();
    http.ticketAnswer = () => ({ status: 503, body: { error: 'too_many_tickets' } });
    const { closes } = stream('tok', http, new FakeEventSources());
    await tick();
    expect(closes).toEqual([{ code: 1006, reason: 'no ticket: the gateway answered 503' }]);
  });
});
