import { describe, expect, it } from 'vitest';
import type { LinkInfo } from '../../../lib/socket/client';
import { BUS_DOWN, BUS_UP, WELCOME } from '../../../testing/fixtures';
import type { BusFrame, WelcomeFrame } from '../../../lib/socket/frames';
import { bootComplete, deriveChecks, type BootInputs } from './checks';

const NOW = Date.parse('2026-11-28T15:00:00.000Z');
const live: LinkInfo = { status: 'live', retryAt: null, attempt: 0, reason: null, closeCode: null, auth: { phase: 'none' } };
const STATUS = { server: 'tactical-link/0.1.0', protocol: 1, bus: BUS_UP as BusFrame, connections: 1, events_relayed: 0 };

function inputs(overrides: Partial<BootInputs> = {}): BootInputs {
  return {
    version: '0.1.0',
    statusUrl: 'http://h/api/status',
    wsUrl: 'ws://h/dashboard/ws',
    probe: { phase: 'ok', status: STATUS },
    link: live,
    socketBus: BUS_UP as BusFrame,
    welcome: WELCOME as WelcomeFrame,
    snapshot: { received: true, runs: 2, events: 17 },
    ...overrides,
  };
}

const byId = (b: BootInputs) => Object.fromEntries(deriveChecks(b, NOW).map((c) => [c.id, c]));

describe('deriveChecks', () => {
  it('lists the six checks in order', () => {
    expect(deriveChecks(inputs(), NOW).map((c) => c.id)).toEqual(['dashboard', 'gateway', 'auth', 'bus', 'state', 'stream']);
  });

  it('is complete when everything is up, with real details', () => {
    const checks = deriveChecks(inputs(), NOW);
    expect(checks.every((c) => c.state === 'ok')).toBe(true);
    expect(bootComplete(checks)).toBe(true);
    const c = byId(inputs());
    expect(c.gateway!.detail).toContain('tactical-link/0.1.0');
    expect(c.auth!.badge).toBe('N/A');
    expect(c.auth!.detail).toMatch(/^not required/);
    expect(c.state!.detail).toBe('2 runs · 17 recent events');
    expect(c.stream!.detail).toContain('session c1f0');
  });

  it('shows nothing as done before it is', () => {
    const b = inputs({
      probe: { phase: 'pending' },
      link: { ...live, status: 'connecting' },
      socketBus: null,
      welcome: null,
      snapshot: { received: false, runs: 0, events: 0 },
    });
    const checks = deriveChecks(b, NOW);
    expect(checks.filter((c) => c.state === 'ok').map((c) => c.id)).toEqual(['dashboard']);
    expect(bootComplete(checks)).toBe(false);
  });

  it('shows a failing gateway probe with its error and the retry countdown', () => {
    const c = byId(inputs({ probe: { phase: 'failed', error: 'HTTP 502 Bad Gateway', retryAt: NOW + 2_100 } }));
    expect(c.gateway).toMatchObject({ state: 'failed', badge: 'FAIL' });
    expect(c.gateway!.detail).toBe('HTTP 502 Bad Gateway · retry in 3 s');
    expect(c.auth!.state).toBe('pending');
  });

  it('treats a bus that is down as DEGRADED without blocking boot', () => {
    const b = inputs({ socketBus: BUS_DOWN as BusFrame });
    const c = byId(b);
    expect(c.bus).toMatchObject({ state: 'degraded', badge: 'DEGRADED', blocking: false });
    expect(c.bus!.detail).toContain('Connection refused (os error 111)');
    expect(bootComplete(deriveChecks(b, NOW))).toBe(true);
  });

  it('prefers the socket bus state over the status probe, and falls back to it', () => {
    expect(byId(inputs({ socketBus: BUS_DOWN as BusFrame })).bus!.state).toBe('degraded');
    expect(byId(inputs({ socketBus: null })).bus!.state).toBe('ok');
    const memory = { ...STATUS, bus: { ...STATUS.bus, kind: 'memory' } };
    expect(byId(inputs({ socketBus: null, probe: { phase: 'ok', status: memory } })).bus!.detail).toMatch(/^in-process bus up/);
  });

  it('shows the stream error while reconnecting and when refused', () => {
    const retrying = byId(inputs({ link: { ...live, status: 'reconnecting', retryAt: NOW + 4_000, reason: 'connection lost (1006)' } }));
    expect(retrying.stream).toMatchObject({ state: 'failed' });
    expect(retrying.stream!.detail).toBe('connection lost (1006) · retry in 4 s');
    const refused = byId(inputs({ link: { ...live, status: 'offline', reason: 'refused by the gateway (4501)' } }));
    expect(refused.stream!.detail).toBe('refused by the gateway (4501)');
  });

  it('fails the auth line when the gateway announces a required token', () => {
    const c = byId(inputs({ probe: { phase: 'ok', status: { ...STATUS, auth: { required: true } } } }));
    expect(c.auth!.state).toBe('failed');
  });

  it('fails the stream line when the gateway speaks another protocol version', () => {
    const c = byId(inputs({ welcome: { ...(WELCOME as WelcomeFrame), protocol: 2 } }));
    expect(c.stream).toMatchObject({ state: 'failed' });
    expect(c.stream!.detail).toContain('protocol 2');
  });

  it('waits for the snapshot even when the stream is live', () => {
    const checks = deriveChecks(inputs({ snapshot: { received: false, runs: 0, events: 0 } }), NOW);
    expect(bootComplete(checks)).toBe(false);
  });
});
