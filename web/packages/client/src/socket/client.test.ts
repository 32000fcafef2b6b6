import { afterEach, beforeEach, describe, expect, it, vi, type Mock } from 'vitest';
import { connect, resumeUrl, SocketClient, type FrameMeta, type LinkInfo } from './client.js';
import type { FrameError, ServerFrame } from './frames.js';
import { AUTHENTICATED, BUS_DOWN, eventFrame, resumedFrame, snapshotFrame, WELCOME, WELCOME_AUTH } from '../testing/fixtures.js';
import { FakeEnvironment, FakeSocket } from '../testing/fakeSocket.js';

const URL = 'ws://gateway.test/dashboard/ws';

let sockets: FakeSocket[];
let env: FakeEnvironment;
let random: number;
let statuses: LinkInfo[];
type LogFn = (...args: unknown[]) => void;
let logger: { warn: Mock<LogFn>; error: Mock<LogFn> };

function makeClient(extra: Partial<ConstructorParameters<typeof SocketClient>[0]> = {}): SocketClient {
  const client = new SocketClient({
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    environment: env,
    random: () => random,
    logger,
    ...extra,
  });
  client.onStatus((info) => statuses.push(info));
  return client;
}

function last(): FakeSocket {
  const s = sockets.at(-1);
  if (!s) throw new Error('no socket was opened');
  return s;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-11-28T15:00:00.000Z'));
  sockets = [];
  env = new FakeEnvironment();
  random = 0.5;
  statuses = [];
  logger = { warn: vi.fn<LogFn>(), error: vi.fn<LogFn>() };
});

afterEach(() => {
  vi.useRealTimers();
});

describe('SocketClient', () => {
  it('is offline until connect, then connecting, then live when the socket opens', () => {
    const client = makeClient();
    expect(client.info.status).toBe('offline');
    client.connect({ url: URL });
    expect(sockets).toHaveLength(1);
    expect(last().url).toBe(URL);
    expect(client.info.status).toBe('connecting');
    last().open();
    expect(client.info.status).toBe('live');
    expect(statuses.map((s) => s.status)).toEqual(['connecting', 'live']);
  });

  it('hands every valid frame to subscribers, in order, and tracks the last event id', () => {
    const client = makeClient();
    const frames: ServerFrame[] = [];
    const unsubscribe = client.subscribe((f) => frames.push(f));
    client.connect({ url: URL });
    last().open();
    last().receive(WELCOME);
    last().receive(snapshotFrame([], [], '5-0'));
    expect(client.lastId).toBe('5-0');
    last().receive(eventFrame('6-0', 'run-1', 'radar', 'processing'));
    expect(client.lastId).toBe('6-0');
    expect(frames.map((f) => f.type)).toEqual(['welcome', 'snapshot', 'event']);
    unsubscribe();
    last().receive(eventFrame('7-0', 'run-1', 'radar', 'complete'));
    expect(frames).toHaveLength(3);
    expect(client.lastId).toBe('7-0');
  });

  it('reports bad frames to onError without throwing and without delivering them', () => {
    const client = makeClient();
    const frames: ServerFrame[] = [];
    const errors: FrameError[] = [];
    client.subscribe((f) => frames.push(f));
    client.onError((e) => errors.push(e));
    client.connect({ url: URL });
    last().open();
    expect(() => last().receive('{oops')).not.toThrow();
    last().receive({ type: 'event', id: 1, received_at: 'x', event: { type: 'x' } });
    last().onmessage?.({ data: new ArrayBuffer(4) });
    expect(errors).toHaveLength(3);
    expect(errors[1]?.path).toBe('event.id');
    expect(frames).toHaveLength(0);
    expect(client.info.status).toBe('live');
  });

  it('warns on the console about bad frames when nobody listens for errors', () => {
    const client = makeClient();
    client.connect({ url: URL });
    last().open();
    last().receive('[]');
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  it('a throwing subscriber does not stop the others', () => {
    const client = makeClient();
    const seen: string[] = [];
    client.subscribe(() => {
      throw new Error('boom');
    });
    client.subscribe((f) => seen.push(f.type));
    client.connect({ url: URL });
    last().open();
    last().receive(WELCOME);
    expect(seen).toEqual(['welcome']);
    expect(logger.error).toHaveBeenCalled();
  });

  it('reconnects after a drop with a full-jitter delay, and reports when', () => {
    const client = makeClient();
    client.connect({ url: URL });
    last().open();
    random = 0.5;
    last().drop(1006);
    const info = client.info;
    expect(info.status).toBe('reconnecting');
    expect(info.retryAt).toBe(Date.now() + 250);
    expect(info.closeCode).toBe(1006);
    vi.advanceTimersByTime(249);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    expect(client.info.status).toBe('connecting');
    last().open();
    expect(client.info.status).toBe('live');
  });

  it('backs off exponentially up to the 30 s cap while the gateway stays away', () => {
    const client = makeClient();
    random = 0.999_999;
    client.connect({ url: URL });
    const delays: number[] = [];
    for (let i = 0; i < 9; i += 1) {
      last().drop(1006);
      const retryAt = client.info.retryAt;
      if (retryAt === null) throw new Error('no retry scheduled');
      delays.push(retryAt - Date.now());
      vi.advanceTimersByTime(retryAt - Date.now());
    }
    expect(delays).toEqual([499, 999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999]);
    expect(sockets).toHaveLength(10);
  });

  it('forgets failures once the link has been live for 10 s', () => {
    const client = makeClient();
    random = 0.999_999;
    client.connect({ url: URL });
    for (let i = 0; i < 4; i += 1) {
      last().drop(1006);
      vi.advanceTimersByTime(client.info.retryAt! - Date.now());
    }
    last().open();
    vi.advanceTimersByTime(9_999);
    expect(client.info.attempt).toBe(4);
    vi.advanceTimersByTime(1);
    expect(client.info.attempt).toBe(0);
    last().drop(1001);
    expect(client.info.retryAt! - Date.now()).toBe(499);
  });

  it('does not forget failures when the link drops before 10 s', () => {
    const client = makeClient();
    random = 0.999_999;
    client.connect({ url: URL });
    last().drop(1006);
    vi.advanceTimersByTime(client.info.retryAt! - Date.now());
    last().open();
    vi.advanceTimersByTime(5_000);
    last().drop(4001);
    expect(client.info.retryAt! - Date.now()).toBe(999);
  });

  it.each([4500, 4999, 1002, 1003, 1007, 1008, 1009])('stays offline after terminal close %i', (code) => {
    const client = makeClient();
    client.connect({ url: URL });
    last().open();
    last().drop(code, 'token refused');
    expect(client.info).toMatchObject({ status: 'offline', closeCode: code });
    expect(client.info.reason).toContain('token refused');
    vi.advanceTimersByTime(10 * 60_000);
    env.goOnline();
    expect(sockets).toHaveLength(1);
  });

  it('retries at once when the network comes back or the page becomes visible', () => {
    const client = makeClient();
    random = 0.999_999;
    client.connect({ url: URL });
    for (let i = 0; i < 6; i += 1) {
      last().drop(1006);
      vi.advanceTimersByTime(client.info.retryAt! - Date.now());
    }
    last().drop(1006);
    expect(client.info.status).toBe('reconnecting');
    const before = sockets.length;
    env.handlers?.visible();
    expect(sockets).toHaveLength(before + 1);
    last().drop(1006);
    env.handlers?.online();
    expect(sockets).toHaveLength(before + 2);
    // The pending timer was cancelled: no extra socket later.
    last().open();
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(before + 2);
  });

  it('goes offline with the browser and comes back with it', () => {
    const client = makeClient();
    client.connect({ url: URL });
    last().open();
    const first = last();
    env.goOffline();
    expect(client.info.status).toBe('offline');
    expect(first.closedWith).not.toBeNull();
    vi.advanceTimersByTime(120_000);
    expect(sockets).toHaveLength(1);
    env.goOnline();
    expect(sockets).toHaveLength(2);
    expect(client.info.status).toBe('connecting');
  });

  it('waits for the network when connect is called while the browser is offline', () => {
    env.online = false;
    const client = makeClient();
    client.connect({ url: URL });
    expect(client.info).toMatchObject({ status: 'offline', reason: 'browser is offline' });
    vi.advanceTimersByTime(60_000);
    env.goOnline();
    expect(client.info.status).toBe('connecting');
    expect(sockets).toHaveLength(2);
    expect(sockets[0]?.closedWith).not.toBeNull();
  });

  it('does not schedule retries while the browser reports no network', () => {
    const client = makeClient();
    client.connect({ url: URL });
    last().open();
    env.online = false;
    last().drop(1006);
    expect(client.info.status).toBe('offline');
    vi.advanceTimersByTime(120_000);
    expect(sockets).toHaveLength(1);
  });

  it('disconnect closes the socket, stops retrying and stops watching the browser', () => {
    const client = makeClient();
    client.connect({ url: URL });
    last().open();
    client.close();
    expect(client.info).toMatchObject({ status: 'offline', reason: 'disconnected' });
    expect(last().closedWith?.code).toBe(1000);
    expect(env.handlers).toBeNull();
    vi.advanceTimersByTime(120_000);
    expect(sockets).toHaveLength(1);
  });

  it('ignores events from a socket it has given up on', () => {
    const client = makeClient();
    client.connect({ url: URL });
    const old = last();
    old.drop(1006);
    vi.advanceTimersByTime(client.info.retryAt! - Date.now());
    const frames: ServerFrame[] = [];
    client.subscribe((f) => frames.push(f));
    old.receive(WELCOME);
    old.open();
    expect(frames).toHaveLength(0);
    expect(client.info.status).toBe('connecting');
  });

  it('gives up on a socket that does not open within the connect timeout', () => {
    const client = makeClient({ connectTimeoutMs: 5_000 });
    client.connect({ url: URL });
    vi.advanceTimersByTime(5_000);
    expect(client.info.status).toBe('reconnecting');
    expect(client.info.reason).toMatch(/no answer/);
    expect(sockets[0]?.closedWith).not.toBeNull();
  });

  it('pings every heartbeat and drops a link whose ping goes unanswered', () => {
    const client = makeClient();
    client.connect({ url: URL });
    last().open();
    last().receive({ ...WELCOME, heartbeat_ms: 1_000 });
    vi.advanceTimersByTime(1_000);
    expect(JSON.parse(last().sent.at(-1)!)).toEqual({ type: 'ping', nonce: 1 });
    last().receive({ type: 'pong', nonce: 1 });
    vi.advanceTimersByTime(1_000);
    expect(client.info.status).toBe('live');
    expect(last().sent).toHaveLength(2);
    // No answer to the second ping for a whole interval: the link is dead.
    vi.advanceTimersByTime(1_000);
    expect(client.info.status).toBe('reconnecting');
    expect(client.info.reason).toMatch(/no answer/);
  });

  it('goes offline for good when the socket cannot even be created', () => {
    const client = makeClient({
      createSocket: () => {
        throw new SyntaxError('invalid URL');
      },
    });
    client.connect({ url: 'nope' });
    expect(client.info).toMatchObject({ status: 'offline' });
    expect(client.info.reason).toMatch(/invalid URL/);
  });

  it('keeps the same status object until something changes', () => {
    const client = makeClient();
    const a = client.info;
    client.retryNow();
    expect(client.info).toBe(a);
    client.connect({ url: URL });
    expect(client.info).not.toBe(a);
  });
});

describe('SocketClient: resume', () => {
  /** Drops the current socket and lets the retry timer open the next one. */
  function dropAndReopen(client: SocketClient, code = 1006): FakeSocket {
    last().drop(code);
    vi.advanceTimersByTime(client.info.retryAt! - Date.now());
    return last();
  }

  it('connects without last_id the first time, then resumes from the last event on every reconnect', () => {
    const client = makeClient();
    client.connect({ url: URL });
    expect(last().url).toBe(URL);
    last().open();
    last().receive(WELCOME);
    last().receive(snapshotFrame([], [], '5-0'));
    last().receive(eventFrame('6-0', 'run-1', 'radar', 'processing'));
    expect(dropAndReopen(client).url).toBe(`${URL}?last_id=6-0`);
    last().open();
    last().receive(resumedFrame('6-0', 1));
    last().receive(eventFrame('7-0', 'run-1', 'radar', 'complete'));
    expect(dropAndReopen(client).url).toBe(`${URL}?last_id=7-0`);
    // A reconnect that never opened still resumes from the same place.
    expect(dropAndReopen(client).url).toBe(`${URL}?last_id=7-0`);
  });

  it('resumes from the snapshot last_id when no event came after it', () => {
    const client = makeClient();
    client.connect({ url: URL });
    last().open();
    last().receive(snapshotFrame([], [], '5-0'));
    expect(dropAndReopen(client).url).toBe(`${URL}?last_id=5-0`);
  });

  it('does not resume when it has seen no event yet (empty gateway, or dropped before the snapshot)', () => {
    const client = makeClient();
    client.connect({ url: URL });
    expect(dropAndReopen(client).url).toBe(URL);
    last().open();
    last().receive(snapshotFrame([], [], null));
    expect(dropAndReopen(client).url).toBe(URL);
  });

  it('keeps the other query parameters and replaces an old last_id', () => {
    const client = makeClient();
    const url = 'ws://gateway.test/dashboard/ws?tenant=a%20b&last_id=stale#frag';
    client.connect({ url });
    last().open();
    last().receive(eventFrame('1764342000123-0', 'r', 'radar', 'processing'));
    const next = new globalThis.URL(dropAndReopen(client).url);
    expect(next.searchParams.get('tenant')).toBe('a b');
    expect(next.searchParams.getAll('last_id')).toEqual(['1764342000123-0']);
    expect(next.pathname).toBe('/dashboard/ws');
  });

  it('resumeUrl also copes with a URL it cannot parse', () => {
    expect(resumeUrl('ws://h/ws', '1-0')).toBe('ws://h/ws?last_id=1-0');
    expect(resumeUrl('ws://h/ws?x=1', '1-0')).toBe('ws://h/ws?x=1&last_id=1-0');
    expect(resumeUrl('/dashboard/ws', '1-0')).toBe('/dashboard/ws?last_id=1-0');
    expect(resumeUrl('/dashboard/ws?x=1#f', 'a b')).toBe('/dashboard/ws?x=1&last_id=a%20b#f');
  });

  it('does not resume when resume is turned off', () => {
    const client = makeClient();
    client.connect({ url: URL, resume: false });
    last().open();
    last().receive(eventFrame('6-0', 'r', 'radar', 'processing'));
    expect(dropAndReopen(client).url).toBe(URL);
  });

  it('marks exactly the announced number of events as replayed, then live again', () => {
    const client = makeClient();
    const seen: Array<[string, boolean]> = [];
    client.subscribe((f: ServerFrame, meta: FrameMeta) => seen.push([f.type === 'event' ? f.id : f.type, meta.replayed]));
    client.connect({ url: URL });
    last().open();
    last().receive(snapshotFrame([], [], '1-0'));
    last().receive(eventFrame('2-0', 'r', 'radar', 'processing'));
    dropAndReopen(client).open();
    last().receive(WELCOME);
    last().receive(resumedFrame('2-0', 2, BUS_DOWN));
    last().receive(eventFrame('3-0', 'r', 'radar', 'complete'));
    last().receive(eventFrame('4-0', 'r', 'analyst', 'processing'));
    last().receive(eventFrame('5-0', 'r', 'analyst', 'complete'));
    expect(seen).toEqual([
      ['snapshot', false],
      ['2-0', false],
      ['welcome', false],
      ['resumed', false],
      ['3-0', true],
      ['4-0', true],
      ['5-0', false],
    ]);
    expect(client.lastId).toBe('5-0');
  });

  it('forgets an unfinished replay when the socket drops', () => {
    const client = makeClient();
    const replayed: boolean[] = [];
    client.subscribe((f, meta) => {
      if (f.type === 'event') replayed.push(meta.replayed);
    });
    client.connect({ url: URL });
    last().open();
    last().receive(eventFrame('1-0', 'r', 'radar', 'processing'));
    dropAndReopen(client).open();
    last().receive(resumedFrame('1-0', 5));
    last().receive(eventFrame('2-0', 'r', 'radar', 'complete'));
    const next = dropAndReopen(client);
    expect(next.url).toBe(`${URL}?last_id=2-0`);
    next.open();
    last().receive(snapshotFrame([], [], '9-0', undefined, '2-0'));
    last().receive(eventFrame('10-0', 'r', 'report', 'complete'));
    expect(replayed).toEqual([false, true, false]);
  });

  it('comes back with a fresh snapshot after being dropped as a slow consumer (4001)', () => {
    const client = makeClient();
    client.connect({ url: URL });
    last().open();
    last().receive(eventFrame('6-0', 'r', 'radar', 'processing'));
    expect(dropAndReopen(client, 4001).url).toBe(URL);
  });

  it('does not carry the resume point to another gateway address', () => {
    const client = makeClient();
    client.connect({ url: URL });
    last().open();
    last().receive(eventFrame('6-0', 'r', 'radar', 'processing'));
    client.connect({ url: 'ws://other.test/dashboard/ws' });
    expect(last().url).toBe('ws://other.test/dashboard/ws');
    expect(client.lastId).toBeNull();
  });
});

describe('SocketClient: authentication', () => {
  const sent = (s: FakeSocket) => s.sent.map((text) => JSON.parse(text) as Record<string, unknown>);

  /** Opens the current socket as a gateway that requires a token would. */
  function openWithAuth(socket = last()): FakeSocket {
    socket.open();
    socket.receive({ ...WELCOME_AUTH, heartbeat_ms: 60_000 });
    return socket;
  }

  it('sends the token as the first frame right after a welcome that requires one, then reports who it is', () => {
    const client = makeClient();
    client.connect({ url: URL, token: 'tok-1' });
    expect(client.info.auth).toEqual({ phase: 'unknown' });
    last().open();
    expect(last().sent).toEqual([]);
    last().receive(WELCOME_AUTH);
    expect(sent(last())).toEqual([{ type: 'auth', token: 'tok-1' }]);
    expect(client.info.auth).toEqual({ phase: 'pending' });
    const frames: string[] = [];
    client.subscribe((f) => frames.push(f.type));
    last().receive(AUTHENTICATED);
    expect(client.info.auth).toEqual({
      phase: 'authenticated',
      identity: { sub: 'alice', tenant: 'acme', roles: ['viewer'], expires_at: '2026-11-28T16:00:00.000Z' },
    });
    expect(frames).toEqual(['authenticated']);
  });

  it('sends no token to a gateway that does not authenticate', () => {
    const client = makeClient();
    client.connect({ url: URL, token: 'tok-1' });
    last().open();
    last().receive(WELCOME);
    last().receive(snapshotFrame([], [], '1-0'));
    expect(last().sent).toEqual([]);
    expect(client.info.auth).toEqual({ phase: 'none' });
    expect(client.info.status).toBe('live');
  });

  it('sends the token again as the first frame of every new socket, which still resumes by URL', () => {
    const client = makeClient();
    client.connect({ url: URL, token: 'tok-1' });
    openWithAuth().receive(AUTHENTICATED);
    last().receive(eventFrame('9-0', 'r', 'radar', 'processing'));
    last().drop(1006);
    vi.advanceTimersByTime(client.info.retryAt! - Date.now());
    expect(last().url).toBe(`${URL}?last_id=9-0`);
    openWithAuth();
    expect(sent(last())).toEqual([{ type: 'auth', token: 'tok-1' }]);
  });

  it('renews on a live link: setToken sends an auth frame on the same socket and takes the new authenticated', () => {
    const client = makeClient();
    client.connect({ url: URL, token: 'tok-1' });
    const socket = openWithAuth();
    socket.receive(AUTHENTICATED);
    client.setToken('tok-2');
    expect(sockets).toHaveLength(1);
    expect(sent(socket)).toEqual([
      { type: 'auth', token: 'tok-1' },
      { type: 'auth', token: 'tok-2' },
    ]);
    // The same token again is not sent twice.
    client.setToken('tok-2');
    expect(socket.sent).toHaveLength(2);
    socket.receive({ ...AUTHENTICATED, expires_at: '2026-11-28T17:00:00.000Z' });
    const auth = client.info.auth;
    expect(auth.phase === 'authenticated' && auth.identity.expires_at).toBe('2026-11-28T17:00:00.000Z');
    expect(client.info.status).toBe('live');
  });

  it('a token given while the first is being checked is sent as a renewal once authenticated', () => {
    const client = makeClient();
    client.connect({ url: URL, token: 'tok-1' });
    const socket = openWithAuth();
    client.setToken('tok-2');
    expect(socket.sent).toHaveLength(1);
    socket.receive(AUTHENTICATED);
    expect(sent(socket).at(-1)).toEqual({ type: 'auth', token: 'tok-2' });
  });

  it('without a token, closes at the welcome, says a token is needed and asks the page for one', async () => {
    const onTokenNeeded = vi.fn(() => Promise.resolve<string | undefined>(undefined));
    const client = makeClient();
    const frames: string[] = [];
    client.subscribe((f) => frames.push(f.type));
    client.connect({ url: URL, onTokenNeeded });
    const socket = openWithAuth();
    expect(frames).toEqual(['welcome']);
    expect(socket.sent).toEqual([]);
    expect(socket.closedWith?.code).toBe(1000);
    expect(client.info).toMatchObject({ status: 'offline', auth: { phase: 'needed', need: 'missing' } });
    expect(client.info.reason).toMatch(/token needed/);
    expect(onTokenNeeded).toHaveBeenCalledWith({ need: 'missing' });
    await vi.advanceTimersByTimeAsync(60_000);
    env.handlers?.visible();
    expect(sockets).toHaveLength(1);

    // The page gives one later: the client connects and sends it.
    client.setToken('tok-1');
    expect(client.info).toMatchObject({ status: 'connecting', auth: { phase: 'pending' } });
    expect(sockets).toHaveLength(2);
    openWithAuth();
    expect(sent(last())).toEqual([{ type: 'auth', token: 'tok-1' }]);
  });

  it('4401: asks the page for a new token, then reconnects with it, resuming from the last event', async () => {
    let answer: (token: string | undefined) => void = () => {};
    const onTokenNeeded = vi.fn(() => new Promise<string | undefined>((resolve) => (answer = resolve)));
    const client = makeClient();
    client.connect({ url: URL, token: 'tok-1', onTokenNeeded });
    openWithAuth().receive(AUTHENTICATED);
    last().receive(snapshotFrame([], [], '5-0'));
    last().receive(eventFrame('6-0', 'r', 'radar', 'processing'));
    last().drop(4401, 'token expired');
    expect(client.info).toMatchObject({
      status: 'offline',
      closeCode: 4401,
      reason: 'token expired (4401)',
      auth: { phase: 'needed', need: 'expired' },
    });
    expect(onTokenNeeded).toHaveBeenCalledWith({ need: 'expired' });
    // No retry with the expired token meanwhile.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);

    answer('tok-2');
    await vi.advanceTimersByTimeAsync(0);
    expect(sockets).toHaveLength(2);
    expect(last().url).toBe(`${URL}?last_id=6-0`);
    openWithAuth();
    expect(sent(last())).toEqual([{ type: 'auth', token: 'tok-2' }]);
    last().receive(AUTHENTICATED);
    last().receive(resumedFrame('6-0', 0));
    expect(client.info).toMatchObject({ status: 'live', auth: { phase: 'authenticated' } });
  });

  it('4401: a provider that hands back the expired token, or nothing, leaves the link waiting for setToken', async () => {
    const answers: Array<string | undefined> = ['tok-1', undefined];
    const client = makeClient();
    client.connect({ url: URL, token: 'tok-1', onTokenNeeded: () => answers.shift() });
    openWithAuth().receive(AUTHENTICATED);
    last().drop(4401);
    await vi.advanceTimersByTimeAsync(0);
    expect(sockets).toHaveLength(1);
    expect(client.info.auth).toEqual({ phase: 'needed', need: 'expired' });
    client.setToken('tok-2');
    expect(sockets).toHaveLength(2);
  });

  it('4401 after a renewal was already given: reconnects at once with the fresh token', () => {
    const onTokenNeeded = vi.fn(() => undefined);
    const client = makeClient();
    client.connect({ url: URL, token: 'tok-1', onTokenNeeded });
    const socket = openWithAuth();
    socket.receive(AUTHENTICATED);
    socket.receive(eventFrame('6-0', 'r', 'radar', 'processing'));
    // The renewal crosses the expiry on the wire.
    client.setToken('tok-2');
    socket.drop(4401);
    expect(onTokenNeeded).not.toHaveBeenCalled();
    expect(sockets).toHaveLength(2);
    expect(last().url).toBe(`${URL}?last_id=6-0`);
    openWithAuth();
    expect(sent(last())).toEqual([{ type: 'auth', token: 'tok-2' }]);
  });

  it('4501 is terminal until setToken: the status says the token was refused', async () => {
    const onTokenNeeded = vi.fn(() => undefined);
    const client = makeClient();
    client.connect({ url: URL, token: 'bad', onTokenNeeded });
    openWithAuth().drop(4501, 'authentication failed');
    expect(client.info).toMatchObject({
      status: 'offline',
      closeCode: 4501,
      auth: { phase: 'needed', need: 'refused' },
    });
    expect(client.info.reason).toBe('token refused: authentication failed (4501)');
    expect(onTokenNeeded).toHaveBeenCalledWith({ need: 'refused' });
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    env.goOnline();
    env.handlers?.visible();
    expect(sockets).toHaveLength(1);

    client.setToken('good');
    expect(sockets).toHaveLength(2);
    openWithAuth();
    expect(sent(last())).toEqual([{ type: 'auth', token: 'good' }]);
    last().receive(AUTHENTICATED);
    expect(client.info).toMatchObject({ status: 'live', auth: { phase: 'authenticated' } });
  });

  it('a late answer of the provider is dropped once a token came another way', async () => {
    let answer: (token: string | undefined) => void = () => {};
    const client = makeClient();
    client.connect({ url: URL, onTokenNeeded: () => new Promise((resolve) => (answer = resolve)) });
    openWithAuth();
    client.setToken('from-page');
    openWithAuth().receive(AUTHENTICATED);
    answer('from-provider');
    await vi.advanceTimersByTimeAsync(0);
    expect(sockets).toHaveLength(2);
    expect(sockets.flatMap(sent)).toEqual([{ type: 'auth', token: 'from-page' }]);
  });

  it('a provider that throws or rejects is logged, and the link keeps waiting', async () => {
    const client = makeClient();
    client.connect({
      url: URL,
      onTokenNeeded: () => {
        throw new Error('no token service');
      },
    });
    openWithAuth();
    await vi.advanceTimersByTimeAsync(0);
    expect(logger.warn).toHaveBeenCalled();
    expect(client.info.auth).toEqual({ phase: 'needed', need: 'missing' });
  });

  it('a token given after disconnect() is kept but does not reopen the link', () => {
    const client = makeClient();
    client.connect({ url: URL });
    openWithAuth();
    client.close();
    client.setToken('tok-1');
    expect(sockets).toHaveLength(1);
    client.connect({ url: URL });
    openWithAuth();
    expect(sent(last())).toEqual([{ type: 'auth', token: 'tok-1' }]);
  });

  it('4408 (no auth in time) reconnects with back-off like any drop', () => {
    const client = makeClient();
    client.connect({ url: URL, token: 'tok-1' });
    openWithAuth().drop(4408, 'authentication timeout');
    expect(client.info).toMatchObject({ status: 'reconnecting', closeCode: 4408 });
    expect(client.info.reason).toBe('no token sent in time: authentication timeout (4408)');
  });

  it('a resumed socket that authenticates as another user starts over from a snapshot', () => {
    const client = makeClient();
    client.connect({ url: URL, token: 'alice' });
    openWithAuth().receive(AUTHENTICATED);
    last().receive(snapshotFrame([], [], '5-0'));
    last().drop(4401);
    client.setToken('bob');
    expect(last().url).toBe(`${URL}?last_id=5-0`);
    const frames: string[] = [];
    client.subscribe((f) => frames.push(f.type));
    openWithAuth().receive({ ...AUTHENTICATED, sub: 'bob', tenant: 'other' });
    // Not handed on: the resume would mix alice's view with bob's events.
    expect(frames).toEqual(['welcome']);
    expect(sockets).toHaveLength(3);
    expect(last().url).toBe(URL);
    openWithAuth();
    expect(sent(last())).toEqual([{ type: 'auth', token: 'bob' }]);
    last().receive({ ...AUTHENTICATED, sub: 'bob', tenant: 'other' });
    const auth = client.info.auth;
    expect(auth.phase === 'authenticated' && auth.identity.sub).toBe('bob');
  });
});

describe('connect(): the socketService shape', () => {
  const options = () => ({
    createSocket: (url: string) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    environment: env,
    random: () => random,
    logger,
  });

  it('opens at once; subscribe returns its unsubscribe; status says the link; close() ends it for good', () => {
    const link = connect({ url: URL }, options());
    expect(link.status).toBe('connecting');
    const types: string[] = [];
    const off = link.subscribe((frame) => types.push(frame.type));
    last().open();
    expect(link.status).toBe('live');
    last().receive(WELCOME);
    off();
    last().receive(snapshotFrame());
    expect(types).toEqual(['welcome']);
    link.close();
    expect(link.status).toBe('offline');
    expect(last().closedWith).not.toBeNull();
    vi.advanceTimersByTime(120_000);
    expect(sockets).toHaveLength(1);
  });

  it('lastId resumes from the first socket on, and the gateway replays after it', () => {
    const link = connect({ url: URL, lastId: '1764342000123-4' }, options());
    expect(new globalThis.URL(last().url).searchParams.get('last_id')).toBe('1764342000123-4');
    const replayed: boolean[] = [];
    link.subscribe((frame, meta) => frame.type === 'event' && replayed.push(meta.replayed));
    last().open();
    last().receive(WELCOME);
    last().receive(resumedFrame('1764342000123-4', 1));
    last().receive(eventFrame('1764342000124-0', 'run-1', 'radar', 'complete'));
    last().receive(eventFrame('1764342000125-0', 'run-1', 'analyst', 'processing'));
    expect(replayed).toEqual([true, false]);
    expect(link.lastId).toBe('1764342000125-0');
  });

  it('without lastId the first socket asks for a snapshot', () => {
    connect({ url: URL }, options());
    expect(new globalThis.URL(last().url).searchParams.has('last_id')).toBe(false);
  });
});
