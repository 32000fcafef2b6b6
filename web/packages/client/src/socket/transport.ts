// Which transport the link uses, WebSocket or Server-Sent Events, and when
// it changes: the rules, pure (the client carries out the commands).
//
// Some networks (a proxy that strips `Upgrade`) never let a WebSocket
// through while plain HTTP works. The client then falls back to the
// gateway's event stream (docs/protocol.md, "Server-Sent Events"):
//
// - a WebSocket attempt that ends before its `welcome` while the gateway
//   answers plain HTTP (the client checks `GET /healthz` after the failure)
//   is an upgrade failure; a gateway that is down fails that check too, so
//   a restart never counts. After `switchAfter` upgrade failures in a row
//   the next attempt goes over SSE, at once;
// - a `welcome` over WebSocket forgets earlier upgrade failures;
// - while on SSE, the client tries a WebSocket again every `probeEveryMs`
//   (a probe beside the live stream: a socket that gets its `welcome` is
//   closed at once). When one gets through, the link moves back to
//   WebSocket (`reopen`, resuming); otherwise the next probe is armed.
//   A probe is armed on the first SSE `welcome` and after each probe.

export type Transport = 'websocket' | 'sse';

export interface TransportPolicy {
  /** Upgrade failures in a row before the link falls back to SSE. */
  readonly switchAfter: number;
  /** While on SSE, how long between WebSocket probes. */
  readonly probeEveryMs: number;
}

export const DEFAULT_TRANSPORT_POLICY: TransportPolicy = Object.freeze({ switchAfter: 3, probeEveryMs: 5 * 60_000 });

export interface TransportState {
  readonly transport: Transport;
  /** WebSocket attempts in a row that ended before their welcome while the gateway answered HTTP. */
  readonly failures: number;
  /** A probe is armed or under way. */
  readonly probing: boolean;
}

export const INITIAL_TRANSPORT_STATE: TransportState = Object.freeze({ transport: 'websocket', failures: 0, probing: false });

export type TransportInput =
  /** A `welcome` on the link's socket, over `transport`. */
  | { type: 'welcome'; transport: Transport }
  /** A WebSocket ended before its welcome and the gateway answered plain HTTP just after. */
  | { type: 'upgrade-failed' }
  /** The probe timer is due. */
  | { type: 'probe-due' }
  /** A probe WebSocket got its welcome (`ok`) or did not. */
  | { type: 'probe-result'; ok: boolean }
  /** Back to the start (a new gateway address, or close()). */
  | { type: 'reset' };

export type TransportCommand =
  /** Arm the probe timer. */
  | { type: 'arm-probe'; delayMs: number }
  /** Stop the probe timer and any probe under way. */
  | { type: 'cancel-probe' }
  /** Open a probe WebSocket beside the link; feed `probe-result`. */
  | { type: 'probe' }
  /** The transport changed while the link waits: try again now rather than after the back-off. */
  | { type: 'retry-now' }
  /** The transport changed under a live link: replace its socket now (resuming). */
  | { type: 'reopen' };

export interface TransportStep {
  state: TransportState;
  commands: TransportCommand[];
}

export function stepTransport(
  state: TransportState,
  input: TransportInput,
  policy: TransportPolicy = DEFAULT_TRANSPORT_POLICY,
): TransportStep {
  const same: TransportStep = { state, commands: [] };
  switch (input.type) {
    case 'welcome':
      if (input.transport !== state.transport) return same;
      if (state.transport === 'websocket') return state.failures === 0 ? same : { state: { ...state, failures: 0 }, commands: [] };
      if (state.probing) return same;
      return { state: { ...state, probing: true }, commands: [{ type: 'arm-probe', delayMs: policy.probeEveryMs }] };
    case 'upgrade-failed': {
      if (state.transport !== 'websocket') return same;
      const failures = state.failures + 1;
      if (failures < policy.switchAfter) return { state: { ...state, failures }, commands: [] };
      return { state: { transport: 'sse', failures: 0, probing: false }, commands: [{ type: 'retry-now' }] };
    }
    case 'probe-due':
      if (state.transport !== 'sse' || !state.probing) return same;
      return { state, commands: [{ type: 'probe' }] };
    case 'probe-result':
      if (state.transport !== 'sse' || !state.probing) return same;
      if (!input.ok) return { state, commands: [{ type: 'arm-probe', delayMs: policy.probeEveryMs }] };
      return { state: INITIAL_TRANSPORT_STATE, commands: [{ type: 'cancel-probe' }, { type: 'reopen' }] };
    case 'reset':
      if (state === INITIAL_TRANSPORT_STATE) return same;
      return { state: INITIAL_TRANSPORT_STATE, commands: state.probing ? [{ type: 'cancel-probe' }] : [] };
  }
}
