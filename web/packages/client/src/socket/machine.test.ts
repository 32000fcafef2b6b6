import { describe, expect, it } from 'vitest';
import {
  DISCONNECTED_REASON,
  INITIAL_LINK_STATE,
  NETWORK_OFFLINE_REASON,
  step,
  type LinkInput,
  type LinkState,
} from './machine.js';

function run(inputs: LinkInput[], from: LinkState = INITIAL_LINK_STATE): LinkState {
  return inputs.reduce((state, input) => step(state, input).state, from);
}

const closed = (code: number, extra: Partial<Extract<LinkInput, { type: 'closed' }>> = {}): LinkInput => ({
  type: 'closed',
  code,
  reason: '',
  now: 1_000,
  random: 0.5,
  online: true,
  ...extra,
});

describe('link state machine', () => {
  it('starts offline and not wanted', () => {
    expect(INITIAL_LINK_STATE.status).toBe('offline');
    expect(INITIAL_LINK_STATE.wanted).toBe(false);
  });

  it('connect opens a socket and goes connecting, then live on open', () => {
    const first = step(INITIAL_LINK_STATE, { type: 'connect' });
    expect(first.state.status).toBe('connecting');
    expect(first.commands).toContainEqual({ type: 'open' });
    const live = step(first.state, { type: 'opened' });
    expect(live.state.status).toBe('live');
    expect(live.commands).toEqual([{ type: 'arm-stable' }]);
  });

  it('connect while already connecting or live does nothing', () => {
    const connecting = run([{ type: 'connect' }]);
    expect(step(connecting, { type: 'connect' }).commands).toEqual([]);
    const live = run([{ type: 'opened' }], connecting);
    expect(step(live, { type: 'connect' })).toEqual({ state: live, commands: [] });
  });

  it('a dropped link reconnects after a full-jitter delay and counts the attempt', () => {
    const live = run([{ type: 'connect' }, { type: 'opened' }]);
    const { state, commands } = step(live, closed(1006, { now: 10_000, random: 0.5 }));
    expect(state.status).toBe('reconnecting');
    expect(state.attempt).toBe(1);
    expect(state.retryAt).toBe(10_250); // 0.5 * min(30 s, 500 ms * 2^0)
    expect(state.closeCode).toBe(1006);
    expect(state.reason).toContain('1006');
    expect(commands).toContainEqual({ type: 'arm-retry', delayMs: 250 });
  });

  it('the delay ceiling doubles with each failed attempt', () => {
    let state = run([{ type: 'connect' }]);
    const delays: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      const next = step(state, closed(1006, { random: 0.999_999 }));
      const arm = next.commands.find((c) => c.type === 'arm-retry');
      delays.push(arm && arm.type === 'arm-retry' ? arm.delayMs : -1);
      state = step(next.state, { type: 'retry' }).state;
      expect(state.status).toBe('connecting');
    }
    expect(delays).toEqual([499, 999, 1999, 3999, 7999, 15_999, 29_999, 29_999]);
  });

  it('a link that stayed live until "stable" forgets earlier failures', () => {
    let state = run([{ type: 'connect' }, closed(1006), { type: 'retry' }, closed(1006), { type: 'retry' }]);
    expect(state.attempt).toBe(2);
    state = run([{ type: 'opened' }], state);
    expect(state.attempt).toBe(2); // not yet stable
    state = run([{ type: 'stable' }], state);
    expect(state.attempt).toBe(0);
    const next = step(state, closed(1001, { random: 0.999_999 }));
    expect(next.commands).toContainEqual({ type: 'arm-retry', delayMs: 499 });
  });

  it('a link that drops before it is stable keeps growing the back-off', () => {
    const state = run([
      { type: 'connect' },
      closed(1006),
      { type: 'retry' },
      { type: 'opened' },
      closed(4001),
    ]);
    expect(state.attempt).toBe(2);
    expect(state.status).toBe('reconnecting');
  });

  it.each([4500, 4999, 4700, 1002, 1003, 1007, 1008, 1009])('close code %i is terminal', (code) => {
    const live = run([{ type: 'connect' }, { type: 'opened' }]);
    const { state, commands } = step(live, closed(code, { reason: 'token refused' }));
    expect(state.status).toBe('offline');
    expect(state.wanted).toBe(false);
    expect(state.reason).toContain('token refused');
    expect(commands.some((c) => c.type === 'arm-retry')).toBe(false);
    // Nothing brings it back but an explicit connect.
    expect(step(state, { type: 'wake' }).state).toBe(state);
    expect(step(state, { type: 'retry' }).state).toBe(state);
    expect(step(state, { type: 'connect' }).state.status).toBe('connecting');
  });

  it.each([
    [4401, 'token expired (4401)'],
    [4501, 'token refused: authentication failed (4501)'],
  ])('close code %i waits for a new token instead of retrying', (code, reason) => {
    const live = run([{ type: 'connect' }, { type: 'opened' }]);
    const { state, commands } = step(live, closed(code, { reason: code === 4501 ? 'authentication failed' : '' }));
    expect(state).toMatchObject({ status: 'offline', wanted: false, closeCode: code, reason });
    expect(commands.some((c) => c.type === 'arm-retry')).toBe(false);
    expect(step(state, { type: 'wake' }).state).toBe(state);
    expect(step(state, { type: 'connect' }).state.status).toBe('connecting');
  });

  it('token-needed closes the socket and waits for a connect', () => {
    const live = run([{ type: 'connect' }, { type: 'opened' }]);
    const { state, commands } = step(live, { type: 'token-needed', reason: 'token needed' });
    expect(state).toMatchObject({ status: 'offline', wanted: false, reason: 'token needed', closeCode: null });
    expect(commands).toContainEqual({ type: 'close' });
    expect(step(state, { type: 'wake' }).state).toBe(state);
    expect(step(state, { type: 'token-needed', reason: 'again' }).state).toBe(state);
  });

  it('reopen starts a new socket at once, without counting a failure', () => {
    const live = run([{ type: 'connect' }, { type: 'opened' }]);
    const { state, commands } = step(live, { type: 'reopen' });
    expect(state).toMatchObject({ status: 'connecting', attempt: 0, wanted: true });
    expect(commands).toEqual([{ type: 'cancel-stable' }, { type: 'open' }]);
    const waiting = run([closed(1006)], live);
    expect(step(waiting, { type: 'reopen' }).state).toBe(waiting);
  });

  it.each([1000, 1001, 1005, 1006, 1011, 4000, 4001, 4002, 4013, 4408, 4499])('close code %i reconnects', (code) => {
    const live = run([{ type: 'connect' }, { type: 'opened' }]);
    expect(step(live, closed(code)).state.status).toBe('reconnecting');
  });

  it('wake (network back, page shown) retries at once while waiting', () => {
    const waiting = run([{ type: 'connect' }, closed(1006)]);
    const { state, commands } = step(waiting, { type: 'wake' });
    expect(state.status).toBe('connecting');
    expect(state.retryAt).toBeNull();
    expect(commands).toEqual([{ type: 'cancel-retry' }, { type: 'open' }]);
    // …and keeps the attempt count, so a flapping gateway is not hammered.
    expect(state.attempt).toBe(1);
  });

  it('wake does nothing while live or after disconnect', () => {
    const live = run([{ type: 'connect' }, { type: 'opened' }]);
    expect(step(live, { type: 'wake' }).state).toBe(live);
    const off = run([{ type: 'disconnect' }], live);
    expect(step(off, { type: 'wake' }).state).toBe(off);
  });

  it('the browser going offline stops retrying until it is back', () => {
    const waiting = run([{ type: 'connect' }, closed(1006)]);
    const offline = step(waiting, { type: 'network-offline' });
    expect(offline.state.status).toBe('offline');
    expect(offline.state.reason).toBe(NETWORK_OFFLINE_REASON);
    expect(offline.commands).toContainEqual({ type: 'cancel-retry' });
    expect(step(offline.state, { type: 'retry' }).state.status).toBe('offline');
    expect(step(offline.state, { type: 'wake' }).state.status).toBe('connecting');
  });

  it('a close while the browser is offline waits for the network instead of a timer', () => {
    const live = run([{ type: 'connect' }, { type: 'opened' }]);
    const { state, commands } = step(live, closed(1006, { online: false }));
    expect(state.status).toBe('offline');
    expect(state.wanted).toBe(true);
    expect(commands.some((c) => c.type === 'arm-retry')).toBe(false);
  });

  it('disconnect closes the socket and stays offline', () => {
    const live = run([{ type: 'connect' }, { type: 'opened' }]);
    const { state, commands } = step(live, { type: 'disconnect' });
    expect(state).toMatchObject({ status: 'offline', wanted: false, reason: DISCONNECTED_REASON });
    expect(commands).toContainEqual({ type: 'close' });
    // The close that follows is ours: no reconnect.
    expect(step(state, closed(1000)).state).toBe(state);
  });

  it('stale inputs are ignored', () => {
    const waiting = run([{ type: 'connect' }, closed(1006)]);
    expect(step(waiting, { type: 'opened' }).state).toBe(waiting);
    expect(step(waiting, closed(1006)).state).toBe(waiting);
    expect(step(waiting, { type: 'stable' }).state).toBe(waiting);
  });

  it('a socket that cannot be created is fatal', () => {
    const connecting = run([{ type: 'connect' }]);
    const { state } = step(connecting, { type: 'fatal', reason: 'bad url' });
    expect(state).toMatchObject({ status: 'offline', wanted: false, reason: 'bad url' });
  });
});
