import { describe, expect, it } from 'vitest';
import type { AuthInfo, LinkInfo, BusFrame, WelcomeFrame } from '@tactical-link/client';
import { BUS_DOWN, BUS_UP, WELCOME, WELCOME_AUTH } from '@tactical-link/client/testing';
import { bootComplete, deriveChecks, type BootInputs } from './checks.js';

const NOW = Date.parse('2026-11-28T15:00:00.000Z');
const live: LinkInfo = { status: 'live', retryAt: null, attempt: 0, reason: null, closeCode: null, auth: { phase: 'none' }, transport: 'websocket' };
const STATUS = { server: 'tactical-link/0.1.0', protocol: 2, bus: BUS_UP as BusFrame, connections: 1, events_relayed: 0 };

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
    expect(c.stream!.detail).toContain('heartbeat 15 s');
  });

  it('says when the stream comes over Server-Sent Events', () => {
    const c = byId(inputs({ link: { ...live, transport: 'sse' } }));
    expect(c.stream).toMatchObject({ state: 'ok' });
    expect(c.stream!.detail).toBe('session c1f0 · Server-Sent Events (WebSocket upgrades fail on this network)');
  });

  it('shows nothing as done before it is', () => {
    const b = inputs({
      probe: { phase: 'pending' },
      link: { ...live, status: 'connecting', auth: { phase: 'unknown' } },
      socketBus: null,
      welcome: null,
      snapshot: { received: false, runs: 0, events: 0 },
    });
    const checks = deriveChecks(b, NOW);
    expect(checks.filter((c) => c.state === 'ok').map((c) => c.id)).toEqual(['dashboard']);
    expect(bootComplete(checks)).toBe(false);
  });

  it('shows a failing gateway probe with its error and the retry countdown', () => {
    const c = byId(
      inputs({
        probe: { phase: 'failed', error: 'HTTP 502 Bad Gateway', retryAt: NOW + 2_100 },
        link: { ...live, status: 'connecting', auth: { phase: 'unknown' } },
      }),
    );
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

  describe('the auth line', () => {
    const required = { phase: 'ok', status: { ...STATUS, auth: { required: true } } } as const;
    const withAuth = (auth: AuthInfo, overrides: Partial<BootInputs> = {}) =>
      byId(inputs({ probe: required, link: { ...live, auth }, welcome: WELCOME_AUTH as WelcomeFrame, ...overrides })).auth!;

    it('is not required when the welcome says auth none, even before the status probe answers', () => {
      const c = byId(inputs({ probe: { phase: 'pending' }, link: { ...live, auth: { phase: 'none' } } })).auth!;
      expect(c).toMatchObject({ state: 'ok', badge: 'N/A' });
      expect(c.detail).toMatch(/^not required/);
    });

    it('waits while the gateway is unknown, and while a required token has not been answered', () => {
      expect(byId(inputs({ probe: { phase: 'pending' }, link: { ...live, auth: { phase: 'unknown' } } })).auth!.state).toBe('pending');
      const announced = withAuth({ phase: 'unknown' }, { link: { ...live, status: 'connecting', auth: { phase: 'unknown' } } });
      expect(announced).toMatchObject({ state: 'pending' });
      expect(announced.detail).toContain('requires a token');
      const sent = withAuth({ phase: 'pending' });
      expect(sent).toMatchObject({ state: 'pending', badge: 'WAIT' });
      expect(bootComplete(deriveChecks(inputs({ probe: required, link: { ...live, auth: { phase: 'pending' } } }), NOW))).toBe(false);
    });

    it('is ok as the user and tenant of the authenticated frame', () => {
      const identity = { sub: 'alice', tenant: 'acme', roles: ['viewer'], expires_at: '2026-11-28T16:00:00.000Z' };
      expect(withAuth({ phase: 'authenticated', identity })).toMatchObject({ state: 'ok', badge: 'OK', detail: 'as alice (tenant acme)' });
      expect(withAuth({ phase: 'authenticated', identity: { ...identity, tenant: null } }).detail).toBe('as alice');
      expect(bootComplete(deriveChecks(inputs({ probe: required, link: { ...live, auth: { phase: 'authenticated', identity } } }), NOW))).toBe(true);
    });

    it.each([
      ['missing', 'the gateway requires a token: paste one below'],
      ['refused', 'token refused by the gateway: paste another one'],
      ['expired', 'token expired: paste a fresh one'],
    ] as const)('fails with the reason when a token is %s', (need, detail) => {
      const offline = { ...live, status: 'offline' as const, auth: { phase: 'needed' as const, need } };
      const c = withAuth({ phase: 'needed', need }, { link: offline });
      expect(c).toMatchObject({ state: 'failed', badge: 'FAIL', detail });
      expect(bootComplete(deriveChecks(inputs({ probe: required, link: offline }), NOW))).toBe(false);
    });
  });

  it('fails the stream line when the gateway speaks another protocol version', () => {
    const c = byId(inputs({ welcome: { ...(WELCOME as WelcomeFrame), protocol: 1 } }));
    expect(c.stream).toMatchObject({ state: 'failed' });
    expect(c.stream!.detail).toContain('the gateway speaks protocol 1; this dashboard speaks 2');
  });

  it('waits for the snapshot even when the stream is live', () => {
    const checks = deriveChecks(inputs({ snapshot: { received: false, runs: 0, events: 0 } }), NOW);
    expect(bootComplete(checks)).toBe(false);
  });
});
