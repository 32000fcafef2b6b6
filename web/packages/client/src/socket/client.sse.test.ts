// The socket client over the gateway's event stream: the fall-back from
// WebSocket, resume, close codes, tickets and the probes back, through a
// fake EventSource, fake WebSockets and a fake HTTP side (fake timers).

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SocketClient, type FrameMeta, type TokenNeed } from './client.js';
import type { ServerFrame } from './frames.js';
import { AUTHENTICATED, eventFrame, resumedFrame, snapshotFrame, WELCOME, WELCOME_AUTH } from '../testing/fixtures.js';
import { FakeEnvironment, FakeSockets } from '../testing/fakeSocket.js';
import { FakeEventSources, FakeHttp } from '../testing/fakeEventSource.js';

const URL = 'ws://gateway.test/dashboard/ws';
const PROBE_MS = 60_000;

let sockets: FakeSockets;
let sources: FakeEventSources;
let http: FakeHttp;
let env: FakeEnvironment;
let needs: TokenNeed[];

function makeClient(): SocketClient {
  return new SocketClient({
    createSocket: sockets.create,
    createEventSource: sources.create,
    fetch: http.fetch,
    environment: env,
    random: () => 0.5,
    logger: { warn: vi.fn(), error: vi.fn() },
    transport: { probeEveryMs: PROBE_MS },
  });
}

/** Lets promises (tickets, health checks) settle, and due timers run. */
const settle = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

/** Plays a proxy that strips `Upgrade`: every WebSocket attempt fails before its welcome, until the client falls back. */
async function failUpgrades(count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    sockets.last().drop(1006);
    await settle(2_000);
  }
}

/** Connects, falls back to SSE, opens the stream and gets its welcome and snapshot. */
async function liveOverSse(client: SocketClient, token?: string, welcome: object = WELCOME): Promise<void> {
  client.connect({ url: URL, token, onTokenNeeded: ({ need }) => void needs.push(need) });
  await failUpgrades(3);
  await settle();
  sources.last().open();
  sources.last().receive(welcome);
  if (welcome === WELCOME_AUTH) sources.last().receive(AUTHENTICATED);
  sources.last().receive(snapshotFrame([], [], '5-0'));
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-11-28T15:00:00.000Z'));
  sockets = new FakeSockets();
  sources = new FakeEventSources();
  http = new FakeHttp();
  env = new FakeEnvironment();
  needs = [];
});

afterEach(() => {
  vi.useRealTimers();
});

describe('SocketClient over SSE', () => {
  it('falls back to the event stream after three WebSocket attempts end before their welcome', async () => {
    const client = makeClient();
    const frames: ServerFrame[] = [];
    client.subscribe((frame) => frames.push(frame));
    client.connect({ url: URL });
    await failUpgrades(2);
    expect(sources.all).toHaveLength(0);
    expect(client.info.transport).toBe('websocket');
    await failUpgrades(1);
    expect(client.info.transport).toBe('sse');
    expect(sockets.all).toHaveLength(3);
    // Each failure was checked against plain HTTP; then one ticket, with no token.
    expect(http.calls.filter((c) => c.url === 'http://gateway.test/healthz')).toHaveLength(3);
    expect(http.ticketCalls()).toEqual([{ url: 'http://gateway.test/api/sse-ticket', method: 'POST', bearer: null }]);
    expect(sources.last().url).toBe('http://gateway.test/dashboard/sse?ticket=ticket-1');
    sources.last().open();
    expect(client.info.status).toBe('live');
    sources.last().receive(WELCOME);
    sources.last().receive(snapshotFrame([], [], '5-0'));
    sources.last().receive(eventFrame('6-0', 'run-1', 'radar', 'processing'));
    expect(frames.map((f) => f.type)).toEqual(['welcome', 'snapshot', 'event']);
    expect(client.lastId).toBe('6-0');
    expect(client.send({ type: 'ping', nonce: 1 })).toBe(false);
  });

  it('never counts a gateway that is down (no HTTP either) as an upgrade failure', async () => {
    const client = makeClient();
    http.up = false;
    client.connect({ url: URL });
    await failUpgrades(5);
    expect(sources.all).toHaveLength(0);
    expect(client.info.transport).toBe('websocket');
    http.up = true;
    await settle(30_000);
    sockets.last().open();
    sockets.last().receive(WELCOME);
    // A welcome forgets the failures: two more do not switch.
    sockets.last().drop(1006);
    await failUpgrades(1);
    expect(client.info.transport).toBe('websocket');
  });

  it('has no fall-back without EventSource: nothing is fetched', async () => {
    const client = new SocketClient({ createSocket: sockets.create, createEventSource: null, fetch: http.fetch, environment: env, random: () => 0.5 });
    client.connect({ url: URL });
    await failUpgrades(4);
    expect(http.calls).toEqual([]);
    expect(client.info.transport).toBe('websocket');
  });

  it('resumes after a drop on a new stream with last_id (no ticket once the gateway said it does not authenticate)', async () => {
    const client = makeClient();
    const metas: Array<[string, FrameMeta]> = [];
    client.subscribe((frame, meta) => metas.push([frame.type, meta]));
    await liveOverSse(client);
    sources.last().receive(eventFrame('7-0', 'run-1', 'radar', 'processing'));
    const first = sources.last();
    first.fail();
    expect(first.closed).toBe(true);
    expect(client.info.status).toBe('reconnecting');
    await settle(5_000);
    const second = sources.last();
    expect(second).not.toBe(first);
    expect([second.param('ticket'), second.param('last_id')]).toEqual([null, '7-0']);
    expect(http.ticketCalls()).toHaveLength(1);
    second.open();
    second.receive(WELCOME);
    second.receive(resumedFrame('7-0', 1));
    second.receive(eventFrame('8-0', 'run-1', 'radar', 'complete'));
    second.receive(eventFrame('9-0', 'run-1', 'analyst', 'processing'));
    expect(metas.filter(([type]) => type === 'event').map(([, meta]) => meta.replayed)).toEqual([false, true, false]);
    expect(client.info).toMatchObject({ status: 'live', transport: 'sse' });
  });

  it('reads `event: close` codes as WebSocket close codes: terminal ones stay offline', async () => {
    const client = makeClient();
    await liveOverSse(client);
    sources.last().closeWith(1008, 'too many connections');
    expect(sources.last().closed).toBe(true);
    expect(client.info).toMatchObject({ status: 'offline', closeCode: 1008 });
    await settle(120_000);
    expect(sources.all).toHaveLength(1);
  });

  it('after `event: close` 1001 it reconnects with back-off; after 4001 it starts again from a snapshot', async () => {
    const client = makeClient();
    await liveOverSse(client);
    sources.last().receive(eventFrame('7-0', 'run-1', 'radar', 'processing'));
    sources.last().closeWith(1001, 'shutting down');
    expect(client.info.status).toBe('reconnecting');
    await settle(5_000);
    expect(sources.all).toHaveLength(2);
    expect(sources.last().param('last_id')).toBe('7-0');
    sources.last().open();
    sources.last().receive(WELCOME);
    sources.last().closeWith(4001, 'slow consumer');
    await settle(10_000);
    expect(sources.all).toHaveLength(3);
    expect(sources.last().param('last_id')).toBeNull();
  });

  it('asks for the ticket with the token; the welcome needs no auth frame; `authenticated` answers', async () => {
    const client = makeClient();
    client.connect({ url: URL, token: 'token-a' });
    await failUpgrades(3);
    expect(http.ticketCalls().map((c) => c.bearer)).toEqual(['token-a']);
    const stream = sources.last();
    stream.open();
    stream.receive(WELCOME_AUTH);
    expect(client.info.auth.phase).toBe('pending');
    stream.receive(AUTHENTICATED);
    expect(client.info.auth).toMatchObject({ phase: 'authenticated', identity: { sub: 'alice' } });
    expect(client.info.status).toBe('live');
    expect(stream.closed).toBe(false);
  });

  it.each([
    ['no token', 'missing', 4501, null, 'authentication required: send a token'],
    ['a bad token', 'refused', 4501, 'bad', 'invalid token: bad signature'],
    ['an expired token', 'expired', 4401, 'old', 'token expired'],
  ] as const)('a ticket refused (401) for %s asks the page for a %s one and stays offline', async (_what, need, code, token, message) => {
    const answer = { status: 401, body: { error: 'unauthorized', message } };
    const client = makeClient();
    http.ticketAnswer = () => answer;
    client.connect({ url: URL, token: token ?? undefined, onTokenNeeded: ({ need: n }) => void needs.push(n) });
    await failUpgrades(3);
    await settle();
    expect(sources.all).toHaveLength(0);
    expect(client.info).toMatchObject({ status: 'offline', closeCode: code, auth: { phase: 'needed', need } });
    expect(needs).toEqual([need]);
    // A token from the page: a ticket with it, and the stream opens.
    http.ticketAnswer = null;
    client.setToken('fresh');
    await settle();
    expect(http.ticketCalls().at(-1)?.bearer).toBe('fresh');
    expect(sources.all).toHaveLength(1);
  });

  it('a failed ticket request is a lost connection: back-off, then a new ticket', async () => {
    const client = makeClient();
    await liveOverSse(client, 'token-a', WELCOME_AUTH);
    sources.last().closeWith(1001);
    http.up = false;
    await settle(5_000);
    expect(sources.all).toHaveLength(1);
    expect(client.info).toMatchObject({ status: 'reconnecting', closeCode: 1006 });
    expect(client.info.reason).toContain('no ticket');
    http.up = true;
    await settle(10_000);
    expect(sources.all).toHaveLength(2);
    expect(sources.last().param('ticket')).toBe('ticket-2');
  });

  it('renews a token on a new stream with a ticket of the new token, resuming', async () => {
    const client = makeClient();
    await liveOverSse(client, 'token-a', WELCOME_AUTH);
    sources.last().receive(eventFrame('9-0', 'run-1', 'radar', 'processing'));
    const before = sources.last();
    client.setToken('token-b');
    expect(before.closed).toBe(true);
    await settle();
    expect(http.ticketCalls().map((c) => c.bearer)).toEqual(['token-a', 'token-b']);
    const after = sources.last();
    expect(after.param('last_id')).toBe('9-0');
    after.open();
    after.receive(WELCOME_AUTH);
    after.receive({ ...AUTHENTICATED, expires_at: '2026-11-28T17:00:00.000Z' });
    after.receive(resumedFrame('9-0', 0));
    expect(client.info.auth).toMatchObject({ phase: 'authenticated', identity: { expires_at: '2026-11-28T17:00:00.000Z' } });
    expect(sources.all).toHaveLength(2);
  });

  it('after 4401 on the stream, waits for a new token and then resumes over SSE', async () => {
    const client = makeClient();
    await liveOverSse(client, 'token-a', WELCOME_AUTH);
    sources.last().receive(eventFrame('9-0', 'run-1', 'radar', 'processing'));
    sources.last().closeWith(4401, 'token expired');
    expect(client.info).toMatchObject({ status: 'offline', auth: { phase: 'needed', need: 'expired' } });
    await settle(60_000);
    expect(sources.all).toHaveLength(1);
    client.setToken('token-b');
    await settle();
    expect(sources.all).toHaveLength(2);
    expect(sources.last().param('last_id')).toBe('9-0');
    expect(http.ticketCalls().at(-1)?.bearer).toBe('token-b');
  });

  it('does not ping over SSE (it could not), so a quiet stream stays live', async () => {
    const client = makeClient();
    await liveOverSse(client);
    await settle(WELCOME.heartbeat_ms * 4);
    expect(client.info.status).toBe('live');
    expect(sources.last().closed).toBe(false);
  });

  it('probes WebSocket every few minutes and moves back when one gets its welcome, resuming', async () => {
    const client = makeClient();
    await liveOverSse(client);
    sources.last().receive(eventFrame('7-0', 'run-1', 'radar', 'processing'));
    await settle(PROBE_MS);
    const failed = sockets.last();
    expect(failed.url).toBe(URL);
    failed.drop(1006);
    await settle();
    expect(client.info.transport).toBe('sse');
    await settle(PROBE_MS);
    const probe = sockets.last();
    expect(probe).not.toBe(failed);
    probe.open();
    probe.receive(WELCOME);
    expect(probe.closedWith?.code).toBe(1000);
    await settle();
    expect(sources.last().closed).toBe(true);
    expect(client.info).toMatchObject({ transport: 'websocket', status: 'connecting' });
    const back = sockets.last();
    expect(new globalThis.URL(back.url).searchParams.get('last_id')).toBe('7-0');
    back.open();
    back.receive(WELCOME);
    expect(client.info).toMatchObject({ transport: 'websocket', status: 'live' });
  });

  it('close() stops the probes and a new address starts over on WebSocket', async () => {
    const client = makeClient();
    await liveOverSse(client);
    client.close();
    expect(sources.last().closed).toBe(true);
    expect(client.info.transport).toBe('websocket');
    const before = sockets.all.length;
    await settle(PROBE_MS * 3);
    expect(sockets.all).toHaveLength(before);
    client.connect({ url: 'ws://elsewhere.test/dashboard/ws' });
    expect(sockets.last().url).toBe('ws://elsewhere.test/dashboard/ws');
  });
});
