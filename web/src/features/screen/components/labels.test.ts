import { describe, expect, it } from 'vitest';
import type { LinkInfo, BusFrame } from '@tactical-link/client';
import { busText } from './BusStatus';
import { identityText } from './IdentityBadge';
import { linkText } from './LinkStatus';

const base: LinkInfo = { status: 'live', retryAt: null, attempt: 0, reason: null, closeCode: null, auth: { phase: 'none' }, transport: 'websocket' };
const bus = (kind: string, state: 'up' | 'down'): BusFrame => ({ type: 'bus', kind, state, since: '', detail: null, lossy: false });

describe('linkText', () => {
  it('names each link state, with the retry countdown', () => {
    expect(linkText(base, 0)).toBe('LIVE');
    expect(linkText({ ...base, transport: 'sse' }, 0)).toBe('LIVE (SSE)');
    expect(linkText({ ...base, status: 'connecting' }, 0)).toBe('CONNECTING');
    expect(linkText({ ...base, status: 'connecting', attempt: 2 }, 0)).toBe('CONNECTING · TRY 3');
    expect(linkText({ ...base, status: 'reconnecting', retryAt: 10_000 }, 7_100)).toBe('RECONNECTING IN 3 s');
    expect(linkText({ ...base, status: 'reconnecting', retryAt: 10_000 }, 11_000)).toBe('RECONNECTING IN 0 s');
    expect(linkText({ ...base, status: 'offline' }, 0)).toBe('OFFLINE');
    expect(linkText({ ...base, status: 'offline', auth: { phase: 'needed', need: 'missing' } }, 0)).toBe('TOKEN NEEDED');
    expect(linkText({ ...base, status: 'offline', auth: { phase: 'needed', need: 'refused' } }, 0)).toBe('TOKEN REFUSED');
    expect(linkText({ ...base, status: 'offline', auth: { phase: 'needed', need: 'expired' } }, 0)).toBe('TOKEN EXPIRED');
  });
});

describe('busText', () => {
  it('names the bus and its state', () => {
    expect(busText(null)).toBe('BUS —');
    expect(busText(bus('redis', 'up'))).toBe('REDIS UP');
    expect(busText(bus('redis', 'down'))).toBe('REDIS DOWN');
    expect(busText(bus('memory', 'up'))).toBe('IN-PROCESS BUS');
    expect(busText(bus('nats', 'down'))).toBe('NATS DOWN');
  });
});

describe('identityText', () => {
  it('names the user and tenant once authenticated, nothing before', () => {
    const identity = { sub: 'alice', tenant: 'acme', roles: ['viewer'], expires_at: null };
    expect(identityText({ phase: 'authenticated', identity })).toBe('alice · acme');
    expect(identityText({ phase: 'authenticated', identity: { ...identity, tenant: null } })).toBe('alice');
    expect(identityText({ phase: 'pending' })).toBeNull();
    expect(identityText({ phase: 'none' })).toBeNull();
  });
});
