import { describe, expect, it } from 'vitest';
import { INITIAL_TRANSPORT_STATE, stepTransport, type TransportInput, type TransportState } from './transport.js';

const POLICY = { switchAfter: 3, probeEveryMs: 60_000 };

function run(inputs: TransportInput[], from: TransportState = INITIAL_TRANSPORT_STATE) {
  let state = from;
  const commands: string[] = [];
  for (const input of inputs) {
    const next = stepTransport(state, input, POLICY);
    state = next.state;
    commands.push(...next.commands.map((c) => (c.type === 'arm-probe' ? `arm-probe ${c.delayMs}` : c.type)));
  }
  return { state, commands };
}

const failed: TransportInput = { type: 'upgrade-failed' };
const SSE: TransportState = { transport: 'sse', failures: 0, probing: false };

describe('stepTransport', () => {
  it('falls back to SSE after three upgrade failures in a row, and tries again at once', () => {
    expect(run([failed, failed]).state).toEqual({ transport: 'websocket', failures: 2, probing: false });
    const { state, commands } = run([failed, failed, failed]);
    expect(state).toEqual(SSE);
    expect(commands).toEqual(['retry-now']);
  });

  it('a WebSocket welcome forgets earlier failures', () => {
    const { state } = run([failed, failed, { type: 'welcome', transport: 'websocket' }, failed, failed]);
    expect(state).toEqual({ transport: 'websocket', failures: 2, probing: false });
  });

  it('on SSE, arms one probe at the first welcome, not at every reconnect', () => {
    const welcome: TransportInput = { type: 'welcome', transport: 'sse' };
    const { state, commands } = run([welcome, welcome], SSE);
    expect(state.probing).toBe(true);
    expect(commands).toEqual(['arm-probe 60000']);
  });

  it('a probe that gets through moves the link back to WebSocket; one that does not arms the next', () => {
    const armed = run([{ type: 'welcome', transport: 'sse' }], SSE).state;
    expect(run([{ type: 'probe-due' }], armed).commands).toEqual(['probe']);
    expect(run([{ type: 'probe-result', ok: false }], armed)).toEqual({ state: armed, commands: ['arm-probe 60000'] });
    const back = run([{ type: 'probe-result', ok: true }], armed);
    expect(back.state).toBe(INITIAL_TRANSPORT_STATE);
    expect(back.commands).toEqual(['cancel-probe', 'reopen']);
  });

  it('ignores what does not apply to the transport in use', () => {
    expect(run([failed], SSE).state).toBe(SSE);
    expect(run([{ type: 'welcome', transport: 'websocket' }], SSE).state).toBe(SSE);
    expect(run([{ type: 'probe-due' }, { type: 'probe-result', ok: true }]).state).toBe(INITIAL_TRANSPORT_STATE);
  });

  it('a reset goes back to WebSocket and stops probing', () => {
    const armed = run([{ type: 'welcome', transport: 'sse' }], SSE).state;
    expect(run([{ type: 'reset' }], armed)).toEqual({ state: INITIAL_TRANSPORT_STATE, commands: ['cancel-probe'] });
    expect(run([{ type: 'reset' }]).commands).toEqual([]);
  });
});
