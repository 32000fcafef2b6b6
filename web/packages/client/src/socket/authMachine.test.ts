import { describe, expect, it } from 'vitest';
import {
  INITIAL_CLIENT_STATE,
  stepClient,
  TOKEN_NEEDED_REASON,
  type ClientCommand,
  type ClientInput,
  type ClientState,
} from './authMachine.js';
import type { AuthenticatedFrame, WelcomeFrame } from './frames.js';
import { step } from './machine.js';

const URL = 'ws://gateway.test/dashboard/ws';

function run(inputs: ClientInput[], from: ClientState = INITIAL_CLIENT_STATE): ClientState {
  return inputs.reduce((state, input) => stepClient(state, input).state, from);
}

const connect = (token?: string, extra: Partial<Extract<ClientInput, { type: 'connect' }>> = {}): ClientInput => ({
  type: 'connect',
  url: URL,
  token,
  online: true,
  ...extra,
});

const closed = (code: number, reason = ''): ClientInput => ({ type: 'closed', code, reason, now: 1_000, random: 0.5, online: true });

const welcome = (auth: 'required' | 'none'): WelcomeFrame => ({
  type: 'welcome',
  protocol: 2,
  server: 'tactical-link/0.1.0',
  session: 'c1f0',
  heartbeat_ms: 15_000,
  max_client_frame_bytes: 4096,
  auth,
});

const authenticatedAs = (sub: string, tenant: string | null = 'acme', expiresAt = '2026-11-28T16:00:00.000Z'): AuthenticatedFrame => ({
  type: 'authenticated',
  sub,
  tenant,
  roles: ['viewer'],
  expires_at: expiresAt,
});

const answered = (frame: AuthenticatedFrame, resumed = false): ClientInput => ({ type: 'authenticated', frame, resumed });
const sent = (token: string): ClientInput => ({ type: 'auth-sent', token });

/** A live socket to a gateway that requires tokens, authenticated with `token`. */
function authenticated(token = 'tok-1', sub = 'alice'): ClientState {
  return run([connect(token), { type: 'opened' }, { type: 'welcome', frame: welcome('required') }, sent(token), answered(authenticatedAs(sub))]);
}

const types = (commands: ClientCommand[]) => commands.map((c) => c.type);

describe('client state machine: authentication', () => {
  it('starts knowing nothing of authentication, with no token', () => {
    expect(INITIAL_CLIENT_STATE.auth).toMatchObject({ info: { phase: 'unknown' }, token: null, unanswered: [], accepted: null });
    expect(INITIAL_CLIENT_STATE.link.status).toBe('offline');
  });

  it('connect keeps the token it is given, opens the link, and does not override a token given since', () => {
    const first = stepClient(INITIAL_CLIENT_STATE, connect('tok-1'));
    expect(first.state.auth.token).toBe('tok-1');
    expect(first.state.link.status).toBe('connecting');
    expect(first.commands).toContainEqual({ type: 'open' });
    const renewed = run([{ type: 'set-token', token: 'tok-2', online: true }], first.state);
    // The same options again ("retry now") keep the newer token…
    expect(run([connect('tok-1')], renewed).auth.token).toBe('tok-2');
    // …another token in the options replaces it; an empty one means none.
    expect(run([connect('tok-3')], renewed).auth.token).toBe('tok-3');
    expect(run([connect('')], renewed).auth.token).toBeNull();
  });

  it('connect to another address drops the old link and forgets where it was, before opening', () => {
    const state = authenticated();
    const { state: next, commands } = stepClient(state, connect('tok-1', { url: 'ws://other.test/dashboard/ws' }));
    const order = types(commands);
    expect(order.indexOf('close')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('close')).toBeLessThan(order.indexOf('forget-resume-point'));
    expect(order.indexOf('forget-resume-point')).toBeLessThan(order.indexOf('open'));
    expect(next.auth.viewOwner).toBeNull();
    expect(next.link.status).toBe('connecting');
    // The same address again forgets nothing.
    expect(types(stepClient(run([closed(1006)], state), connect('tok-1')).commands)).not.toContain('forget-resume-point');
  });

  it('connect with no network opens and closes at once, then waits offline for the network', () => {
    const { state, commands } = stepClient(INITIAL_CLIENT_STATE, connect('tok-1', { online: false }));
    expect(types(commands)).toEqual(['cancel-retry', 'open', 'cancel-retry', 'cancel-stable', 'close']);
    expect(state.link).toMatchObject({ status: 'offline', wanted: true, reason: 'browser is offline' });
  });

  it('a welcome without authentication: phase none, the frame is handed on, no token leaves', () => {
    const live = run([connect('tok-1'), { type: 'opened' }]);
    const frame = welcome('none');
    const { state, commands } = stepClient(live, { type: 'welcome', frame });
    expect(state.auth.info).toEqual({ phase: 'none' });
    expect(commands).toEqual([{ type: 'deliver', frame }]);
  });

  it('a welcome that requires a token: sends the token first, then hands the frame on', () => {
    const live = run([connect('tok-1'), { type: 'opened' }]);
    const frame = welcome('required');
    const { state, commands } = stepClient(live, { type: 'welcome', frame });
    expect(state.auth.info).toEqual({ phase: 'pending' });
    expect(commands).toEqual([{ type: 'send-auth', token: 'tok-1' }, { type: 'deliver', frame }]);
  });

  it('a welcome that requires a token the client lacks: handed on, then the link closes and the page is asked', () => {
    const live = run([connect(), { type: 'opened' }]);
    const frame = welcome('required');
    const { state, commands } = stepClient(live, { type: 'welcome', frame });
    expect(commands[0]).toEqual({ type: 'deliver', frame });
    expect(types(commands)).toContain('close');
    expect(commands.at(-1)).toEqual({ type: 'request-token', need: 'missing', request: state.auth.request });
    expect(state.auth.info).toEqual({ phase: 'needed', need: 'missing' });
    expect(state.link).toMatchObject({ status: 'offline', wanted: false, reason: TOKEN_NEEDED_REASON, closeCode: null });
    expect(types(commands)).not.toContain('send-auth');
  });

  it('an authenticated frame answers the oldest token sent: identity, accepted token, view owner', () => {
    const state = authenticated('tok-1');
    expect(state.auth.info).toEqual({
      phase: 'authenticated',
      identity: { sub: 'alice', tenant: 'acme', roles: ['viewer'], expires_at: '2026-11-28T16:00:00.000Z' },
    });
    expect(state.auth).toMatchObject({ accepted: 'tok-1', unanswered: [], viewOwner: JSON.stringify(['alice', 'acme']) });
    const frame = authenticatedAs('alice', 'acme', '2026-11-28T17:00:00.000Z');
    const again = stepClient(state, answered(frame));
    expect(again.commands).toEqual([{ type: 'deliver', frame }]);
    // A new frame, a new object for the page.
    expect(again.state.auth.info).not.toBe(state.auth.info);
  });

  it('a token given on an authenticated live link goes out as a renewal, once', () => {
    const state = authenticated('tok-1');
    const renewal = stepClient(state, { type: 'set-token', token: ' tok-2 ', online: true });
    expect(renewal.commands).toEqual([{ type: 'send-auth', token: 'tok-2' }]);
    expect(renewal.state.link).toBe(state.link);
    const pending = run([sent('tok-2')], renewal.state);
    expect(stepClient(pending, { type: 'set-token', token: 'tok-2', online: true }).commands).toEqual([]);
    // The token already accepted is not sent again either.
    expect(stepClient(state, { type: 'set-token', token: 'tok-1', online: true }).commands).toEqual([]);
    const done = run([answered(authenticatedAs('alice'))], pending);
    expect(done.auth).toMatchObject({ accepted: 'tok-2', unanswered: [] });
  });

  it('a token given while the first is unanswered follows it as a renewal once authenticated', () => {
    const pending = run([connect('tok-1'), { type: 'opened' }, { type: 'welcome', frame: welcome('required') }, sent('tok-1')]);
    const given = stepClient(pending, { type: 'set-token', token: 'tok-2', online: true });
    expect(given.commands).toEqual([]);
    const frame = authenticatedAs('alice');
    const { state, commands } = stepClient(given.state, answered(frame));
    expect(state.auth.accepted).toBe('tok-1');
    expect(commands).toEqual([{ type: 'send-auth', token: 'tok-2' }, { type: 'deliver', frame }]);
  });

  it('a blank token is ignored', () => {
    const state = authenticated();
    expect(stepClient(state, { type: 'set-token', token: '  ', online: true })).toEqual({ state, commands: [] });
  });

  it('4401: the accepted token is spent, the link waits offline and the page is asked for one', () => {
    const state = authenticated('tok-1');
    const { state: next, commands } = stepClient(state, closed(4401));
    expect(next.auth).toMatchObject({ info: { phase: 'needed', need: 'expired' }, spent: 'tok-1', token: null });
    expect(next.link).toMatchObject({ status: 'offline', wanted: false, closeCode: 4401 });
    expect(commands.at(-1)).toEqual({ type: 'request-token', need: 'expired', request: next.auth.request });
    expect(types(commands)).not.toContain('open');
  });

  it('4501: the first unanswered token is the refused one', () => {
    const pending = run([connect('bad'), { type: 'opened' }, { type: 'welcome', frame: welcome('required') }, sent('bad')]);
    const { state, commands } = stepClient(pending, closed(4501, 'authentication failed'));
    expect(state.auth).toMatchObject({ info: { phase: 'needed', need: 'refused' }, spent: 'bad', token: null });
    expect(state.link.reason).toBe('token refused: authentication failed (4501)');
    expect(commands.at(-1)).toMatchObject({ type: 'request-token', need: 'refused' });
  });

  it('4501 on a renewal still unanswered: the renewal is the refused token, not the one accepted before', () => {
    const renewing = run([{ type: 'set-token', token: 'tok-2', online: true }, sent('tok-2')], authenticated('tok-1'));
    const { state, commands } = stepClient(renewing, closed(4501));
    expect(state.auth).toMatchObject({ info: { phase: 'needed', need: 'refused' }, spent: 'tok-2', token: null });
    expect(types(commands)).not.toContain('open');
  });

  it('4401 while a renewal is on its way: the accepted token expired, so back at once with the renewal', () => {
    const renewing = run([{ type: 'set-token', token: 'tok-2', online: true }, sent('tok-2')], authenticated('tok-1'));
    const { state, commands } = stepClient(renewing, closed(4401));
    expect(state.auth).toMatchObject({ info: { phase: 'pending' }, token: 'tok-2', spent: null });
    expect(types(commands)).toContain('open');
  });

  it('4401 after a renewal was given: straight back with the new token, nobody asked', () => {
    const renewed = run([{ type: 'set-token', token: 'tok-2', online: true }], authenticated('tok-1'));
    const { state, commands } = stepClient(renewed, closed(4401));
    expect(state.auth.info).toEqual({ phase: 'pending' });
    expect(state.auth.token).toBe('tok-2');
    expect(state.link).toMatchObject({ status: 'connecting', wanted: true, closeCode: 4401 });
    expect(types(commands)).toEqual(['cancel-stable', 'cancel-retry', 'open']);
  });

  it('a token given while the link waits for one reopens it, pending', () => {
    const waiting = run([closed(4501)], authenticated('tok-1'));
    const { state, commands } = stepClient(waiting, { type: 'set-token', token: 'tok-2', online: true });
    expect(state.auth).toMatchObject({ info: { phase: 'pending' }, token: 'tok-2' });
    expect(state.link.status).toBe('connecting');
    expect(commands).toContainEqual({ type: 'open' });
    // With no network it waits for the network instead, the token kept.
    const offline = stepClient(waiting, { type: 'set-token', token: 'tok-2', online: false }).state;
    expect(offline.link).toMatchObject({ status: 'offline', wanted: true, reason: 'browser is offline' });
    expect(offline.auth).toMatchObject({ info: { phase: 'pending' }, token: 'tok-2' });
  });

  it('a token given after close() is kept but does not reopen the link', () => {
    const off = run([connect(), { type: 'opened' }, { type: 'welcome', frame: welcome('required') }, { type: 'disconnect' }]);
    expect(off.auth.info).toEqual({ phase: 'needed', need: 'missing' });
    const { state, commands } = stepClient(off, { type: 'set-token', token: 'tok-1', online: true });
    expect(commands).toEqual([]);
    expect(state.auth.token).toBe('tok-1');
    expect(state.link.status).toBe('offline');
  });

  it('takes the answer to the latest token request only, and not the spent token', () => {
    const waiting = run([closed(4401)], authenticated('tok-1'));
    const request = waiting.auth.request;
    const answer = (token: unknown, n = request): ClientInput => ({ type: 'token-answer', request: n, token, online: true });
    for (const token of ['tok-1', ' tok-1 ', '', '   ', undefined, 42]) {
      expect(stepClient(waiting, answer(token))).toEqual({ state: waiting, commands: [] });
    }
    expect(stepClient(waiting, answer('tok-2', request - 1)).commands).toEqual([]);
    const taken = stepClient(waiting, answer('tok-2'));
    expect(taken.state.auth).toMatchObject({ info: { phase: 'pending' }, token: 'tok-2' });
    expect(taken.commands).toContainEqual({ type: 'open' });
    // A token given another way first makes the answer late.
    const given = run([{ type: 'set-token', token: 'tok-3', online: true }], waiting);
    expect(stepClient(given, answer('tok-2')).commands).toEqual([]);
  });

  it('a resumed socket that authenticates as another user is given up, and the next starts from a snapshot', () => {
    const retried = run(
      [closed(1006), { type: 'retry' }, { type: 'opened' }, { type: 'welcome', frame: welcome('required') }, sent('alice-token')],
      authenticated('alice-token'),
    );
    const { state, commands } = stepClient(retried, answered(authenticatedAs('bob', 'other'), true));
    expect(types(commands)).toEqual(['forget-resume-point', 'cancel-stable', 'open']);
    expect(state.auth.viewOwner).toBeNull();
    expect(state.link.status).toBe('connecting');
    // The same user resuming, or another user on a fresh socket, is handed on.
    expect(types(stepClient(retried, answered(authenticatedAs('alice'), true)).commands)).toEqual(['deliver']);
    expect(types(stepClient(retried, answered(authenticatedAs('bob', 'other'), false)).commands)).toEqual(['deliver']);
    expect(types(stepClient(retried, answered(authenticatedAs('alice', null), true)).commands)).not.toContain('deliver');
  });

  it('a new socket starts with no token sent and none accepted', () => {
    const renewing = run([{ type: 'set-token', token: 'tok-2', online: true }, sent('tok-2')], authenticated('tok-1'));
    expect(renewing.auth).toMatchObject({ accepted: 'tok-1', unanswered: ['tok-2'] });
    const reopened = run([closed(1006), { type: 'retry' }], renewing);
    expect(reopened.auth).toMatchObject({ accepted: null, unanswered: [], token: 'tok-2' });
  });

  it('4001 forgets the resume point before anything else, even on a link nobody wants any more', () => {
    const state = authenticated();
    const { commands } = stepClient(state, closed(4001));
    expect(commands[0]).toEqual({ type: 'forget-resume-point' });
    expect(types(commands)).toContain('arm-retry');
    const off = run([{ type: 'disconnect' }], state);
    expect(stepClient(off, closed(4001)).commands).toEqual([{ type: 'forget-resume-point' }]);
    expect(types(stepClient(state, closed(4002)).commands)).not.toContain('forget-resume-point');
  });

  it('link inputs reach the link machine unchanged', () => {
    const waiting = run([closed(1006)], authenticated());
    for (const input of [{ type: 'retry' }, { type: 'wake' }, { type: 'network-offline' }, { type: 'stable' }] as const) {
      const expected = step(waiting.link, input);
      const { state, commands } = stepClient(waiting, input);
      expect(state.link).toEqual(expected.state);
      expect(commands).toEqual(expected.commands);
    }
    expect(stepClient(waiting, { type: 'opened' }).state).toBe(waiting);
  });
});
