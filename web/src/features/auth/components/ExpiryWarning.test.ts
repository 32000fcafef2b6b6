import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuthInfo } from '@tactical-link/client';
import { ExpiryWarning } from './ExpiryWarning';

const NOW = Date.UTC(2026, 10, 28, 15, 0, 0);

function authenticated(expiresInMs: number | null): AuthInfo {
  return {
    phase: 'authenticated',
    identity: {
      sub: 'alice',
      tenant: 'acme',
      roles: ['viewer'],
      expires_at: expiresInMs === null ? null : new Date(NOW + expiresInMs).toISOString(),
    },
  };
}

/** A token (unsigned: the page reads claims only) of `lifetimeMs` that runs out `expiresInMs` from now. */
function token(expiresInMs: number, lifetimeMs: number): string {
  const enc = (o: object) => btoa(JSON.stringify(o)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const exp = (NOW + expiresInMs) / 1000;
  return `${enc({ alg: 'HS256' })}.${enc({ sub: 'alice', tenant: 'acme', exp, iat: exp - lifetimeMs / 1000 })}.c2ln`;
}

function render(auth: AuthInfo, options: { live?: boolean; token?: string | null } = {}): string {
  const { live = true, token = null } = options;
  return renderToStaticMarkup(createElement(ExpiryWarning, { auth, live, token, onRenew: () => {} }));
}

describe('ExpiryWarning', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
  });
  afterEach(() => vi.useRealTimers());

  it('shows a polite status with the mm:ss left and a labelled field to paste a fresh token', () => {
    const html = render(authenticated(90_000), { token: token(90_000, 3_600_000) });
    expect(html).toContain('data-testid="expiry-warning"');
    expect(html).toContain('data-pending="false"');
    expect(html).toMatch(/role="status" aria-live="polite"/);
    expect(html).toMatch(/data-testid="expiry-countdown" aria-hidden="true">01:30</);
    expect(html).toContain('in less than 2 minutes');
    expect(html).toMatch(/<label[^>]*for="([^"]+)"[^>]*>Fresh access token<\/label><input id="\1"/);
    expect(html).toMatch(/<input[^>]*type="password"[^>]*data-testid|data-testid="expiry-token-input"[^>]*type="password"/);
    expect(html).toContain('data-testid="expiry-renew"');
    // No error before a submit.
    expect(html).not.toContain('role="alert"');
  });

  it('says "now" once the expiry has passed and the gateway has not closed yet', () => {
    const html = render(authenticated(-2_000));
    expect(html).toContain('>00:00<');
    expect(html).toContain('Access token expires now');
  });

  it('is absent while the token has more than the threshold left', () => {
    // A 1 h token: two minutes.
    expect(render(authenticated(120_000), { token: token(120_000, 3_600_000) })).toContain('>02:00<');
    expect(render(authenticated(120_001), { token: token(120_001, 3_600_000) })).toBe('');
    // A 4 min token: its last minute.
    expect(render(authenticated(60_000), { token: token(60_000, 240_000) })).toContain('>01:00<');
    expect(render(authenticated(60_001), { token: token(60_001, 240_000) })).toBe('');
    // A 30 s token: its last 15 s.
    expect(render(authenticated(15_000), { token: token(15_000, 30_000) })).toContain('>00:15<');
    expect(render(authenticated(15_001), { token: token(15_001, 30_000) })).toBe('');
    // No token held and the expiry first seen now, 90 s ahead: a lifetime of 90 s, so 22.5 s.
    expect(render(authenticated(90_000))).toBe('');
  });

  it('is absent without an expiry, without a live link, or without authentication', () => {
    expect(render(authenticated(null))).toBe('');
    expect(render(authenticated(30_000), { live: false, token: token(30_000, 3_600_000) })).toBe('');
    expect(render({ phase: 'pending' })).toBe('');
    expect(render({ phase: 'none' })).toBe('');
    expect(render({ phase: 'needed', need: 'expired' })).toBe('');
  });
});
