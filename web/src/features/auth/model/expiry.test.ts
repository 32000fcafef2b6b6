import { describe, expect, it } from 'vitest';
import {
  checkRenewal,
  expiryView,
  formatCountdown,
  MAX_WARNING_MS,
  readClaims,
  spokenRemaining,
  tokenLifetimeMs,
  warningThresholdMs,
} from './expiry';

/** Bytes as base64url without padding. */
function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
const text = (s: string) => b64url(new TextEncoder().encode(s));

/** An unsigned JWT with these claims (the page never checks signatures). */
function jwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => text(JSON.stringify(o));
  return `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}.c2lnbmF0dXJl`;
}

const T0 = Date.UTC(2026, 10, 28, 15, 0, 0); // 2026-11-28T15:00:00Z
const iso = (ms: number) => new Date(ms).toISOString();
const S = 1000;

describe('warningThresholdMs', () => {
  it('is two minutes for long tokens and unknown lifetimes', () => {
    expect(warningThresholdMs(3600 * S)).toBe(MAX_WARNING_MS);
    expect(warningThresholdMs(8 * 60 * S)).toBe(2 * 60 * S);
    expect(warningThresholdMs(null)).toBe(2 * 60 * S);
    expect(warningThresholdMs(0)).toBe(2 * 60 * S);
    expect(warningThresholdMs(Number.NaN)).toBe(2 * 60 * S);
  });

  it('is a quarter of the lifetime when that is shorter', () => {
    expect(warningThresholdMs(5 * 60 * S)).toBe(75 * S);
    expect(warningThresholdMs(4 * 60 * S)).toBe(60 * S);
    expect(warningThresholdMs(8 * 60 * S - 4)).toBe(2 * 60 * S - 1);
    expect(warningThresholdMs(60 * S + 4)).toBe(15 * S + 1);
  });

  it('is never under 15 s, the time to paste a token', () => {
    expect(warningThresholdMs(60 * S)).toBe(15 * S);
    expect(warningThresholdMs(20 * S)).toBe(15 * S);
    expect(warningThresholdMs(10 * S)).toBe(15 * S);
  });
});

describe('readClaims', () => {
  it('reads sub, tenant, exp and iat of a JWT payload', () => {
    expect(readClaims(jwt({ sub: 'alice', tenant: 'acme', exp: 200, iat: 100, roles: ['viewer'] }))).toEqual({
      sub: 'alice',
      tenant: 'acme',
      exp: 200,
      iat: 100,
    });
    expect(readClaims(jwt({ sub: 'bob' }))).toEqual({ sub: 'bob', tenant: null, exp: null, iat: null });
  });

  it('reads base64url with - and _ and multi-byte text', () => {
    // "ü?>" in the payload makes both url-safe characters appear in its base64url.
    const token = jwt({ sub: 'jürgen', note: '??>>>', exp: 1 });
    expect(token.split('.')[1]).toMatch(/[-_]/);
    expect(readClaims(token)?.sub).toBe('jürgen');
  });

  it('is null for what is not a JWT with a JSON object payload', () => {
    expect(readClaims('not-a-token')).toBeNull();
    expect(readClaims('a.b')).toBeNull();
    expect(readClaims('a.b.c.d')).toBeNull();
    expect(readClaims('a.!!!.c')).toBeNull();
    expect(readClaims(`x.${text('[1,2]')}.y`)).toBeNull();
    expect(readClaims(`x.${text('{"sub":')}.y`)).toBeNull();
    expect(readClaims(`x.${b64url(new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]))}.y`)).toBeNull();
  });
});

describe('tokenLifetimeMs', () => {
  const exp = T0 / 1000 + 600;
  it('is exp − iat of the token whose expiry is in force', () => {
    expect(tokenLifetimeMs(exp * 1000, jwt({ sub: 'a', exp, iat: exp - 20 }), T0)).toBe(20 * S);
  });

  it('falls back to when the page saw the expiry when the token is another one or has no iat', () => {
    const seen = exp * 1000 - 90 * S;
    expect(tokenLifetimeMs(exp * 1000, jwt({ sub: 'a', exp: exp + 60, iat: exp - 20 }), seen)).toBe(90 * S);
    expect(tokenLifetimeMs(exp * 1000, jwt({ sub: 'a', exp }), seen)).toBe(90 * S);
    expect(tokenLifetimeMs(exp * 1000, null, seen)).toBe(90 * S);
    expect(tokenLifetimeMs(exp * 1000, 'garbage', seen)).toBe(90 * S);
  });

  it('is null when nothing tells', () => {
    expect(tokenLifetimeMs(exp * 1000, null, null)).toBeNull();
    expect(tokenLifetimeMs(exp * 1000, null, exp * 1000 + 1)).toBeNull();
    expect(tokenLifetimeMs(exp * 1000, jwt({ sub: 'a', exp, iat: exp }), null)).toBeNull();
  });
});

describe('expiryView', () => {
  const hourToken = (expMs: number) => jwt({ sub: 'a', exp: expMs / 1000, iat: expMs / 1000 - 3600 });

  it('stays hidden without an expiry, or with one that cannot be read', () => {
    expect(expiryView({ expiresAt: null, now: T0, token: null, seenAtMs: T0 })).toEqual({ show: false });
    expect(expiryView({ expiresAt: 'soon', now: T0, token: null, seenAtMs: T0 })).toEqual({ show: false });
  });

  it('shows from two minutes before the expiry of a long token, and counts down to zero', () => {
    const expMs = T0 + 3600 * S;
    const at = (now: number) => expiryView({ expiresAt: iso(expMs), now, token: hourToken(expMs), seenAtMs: T0 });
    expect(at(expMs - 120 * S - 1)).toEqual({ show: false });
    expect(at(expMs - 120 * S)).toEqual({ show: true, remainingMs: 120 * S, thresholdMs: 120 * S, expiresAtMs: expMs });
    expect(at(expMs - 61_500)).toMatchObject({ show: true, remainingMs: 61_500 });
    // Past the expiry (the gateway has not closed yet): zero, not negative.
    expect(at(expMs + 3 * S)).toMatchObject({ show: true, remainingMs: 0 });
  });

  it('shows for the last quarter of a short token', () => {
    const expMs = T0 + 4 * 60 * S;
    const token = jwt({ sub: 'a', exp: expMs / 1000, iat: T0 / 1000 });
    const at = (now: number) => expiryView({ expiresAt: iso(expMs), now, token, seenAtMs: T0 + 2 * S });
    expect(at(T0 + 3 * 60 * S - 1).show).toBe(false);
    expect(at(T0 + 3 * 60 * S)).toMatchObject({ show: true, remainingMs: 60 * S, thresholdMs: 60 * S });
  });

  it('shows for the last 15 s of a token shorter than a minute', () => {
    const expMs = T0 + 30 * S;
    const token = jwt({ sub: 'a', exp: expMs / 1000, iat: T0 / 1000 });
    const at = (now: number) => expiryView({ expiresAt: iso(expMs), now, token, seenAtMs: T0 + 2 * S });
    expect(at(T0 + 14_999).show).toBe(false);
    expect(at(T0 + 15 * S)).toMatchObject({ show: true, remainingMs: 15 * S, thresholdMs: 15 * S });
  });

  it('after a reload late in a long token, still warns two minutes ahead (the token says its lifetime)', () => {
    const expMs = T0 + 3600 * S;
    const seen = expMs - 3 * 60 * S;
    expect(expiryView({ expiresAt: iso(expMs), now: expMs - 119 * S, token: hourToken(expMs), seenAtMs: seen }).show).toBe(true);
    // Without the token, the lifetime seen (3 min) gives 45 s.
    expect(expiryView({ expiresAt: iso(expMs), now: expMs - 46 * S, token: null, seenAtMs: seen }).show).toBe(false);
    expect(expiryView({ expiresAt: iso(expMs), now: expMs - 45 * S, token: null, seenAtMs: seen }).show).toBe(true);
  });

  it('hides once a renewal moved the expiry later', () => {
    const oldExp = T0 + 20 * S;
    const now = T0 + 17 * S;
    const fresh = T0 + 17 * S + 3600 * S;
    expect(expiryView({ expiresAt: iso(oldExp), now, token: null, seenAtMs: T0 }).show).toBe(true);
    expect(expiryView({ expiresAt: iso(fresh), now, token: hourToken(fresh), seenAtMs: now }).show).toBe(false);
  });
});

describe('formatCountdown', () => {
  it('writes mm:ss, rounding up to the second', () => {
    expect(formatCountdown(120 * S)).toBe('02:00');
    expect(formatCountdown(119_001)).toBe('02:00');
    expect(formatCountdown(119_000)).toBe('01:59');
    expect(formatCountdown(5_500)).toBe('00:06');
    expect(formatCountdown(1)).toBe('00:01');
    expect(formatCountdown(0)).toBe('00:00');
    expect(formatCountdown(-5 * S)).toBe('00:00');
    expect(formatCountdown(61 * 60 * S)).toBe('61:00');
  });
});

describe('spokenRemaining', () => {
  it('speaks in coarse steps', () => {
    expect(spokenRemaining(120 * S)).toBe('in less than 2 minutes');
    expect(spokenRemaining(61 * S)).toBe('in less than 2 minutes');
    expect(spokenRemaining(60 * S)).toBe('in less than a minute');
    expect(spokenRemaining(31 * S)).toBe('in less than a minute');
    expect(spokenRemaining(30 * S)).toBe('in less than 30 seconds');
    expect(spokenRemaining(10 * S)).toBe('in less than 10 seconds');
    expect(spokenRemaining(1)).toBe('in less than 10 seconds');
    expect(spokenRemaining(0)).toBe('now');
  });
});

describe('checkRenewal', () => {
  const expMs = T0 + 60 * S;
  const identity = { sub: 'alice', tenant: 'acme', expires_at: iso(expMs) };

  it('accepts a token for the same user and tenant that expires later', () => {
    const token = jwt({ sub: 'alice', tenant: 'acme', exp: expMs / 1000 + 1 });
    expect(checkRenewal(token, identity)).toEqual({ ok: true, token });
    // A token without expiry in force: any later one will do.
    expect(checkRenewal(token, { ...identity, expires_at: null }).ok).toBe(true);
  });

  it('refuses what is not a JWT', () => {
    expect(checkRenewal('not-a-token', identity)).toMatchObject({ ok: false, problem: 'not-a-jwt' });
  });

  it('refuses a token for another user or tenant, naming both', () => {
    const bob = checkRenewal(jwt({ sub: 'bob', tenant: 'acme', exp: expMs / 1000 + 600 }), identity);
    expect(bob).toMatchObject({ ok: false, problem: 'other-user' });
    expect(!bob.ok && bob.message).toContain('bob · acme');
    expect(!bob.ok && bob.message).toContain('alice · acme');
    expect(checkRenewal(jwt({ sub: 'alice', tenant: 'other', exp: expMs / 1000 + 600 }), identity)).toMatchObject({
      problem: 'other-user',
    });
    expect(checkRenewal(jwt({ sub: 'alice', exp: expMs / 1000 + 600 }), identity)).toMatchObject({ problem: 'other-user' });
  });

  it('refuses a token that expires no later than the one in use, or never says', () => {
    expect(checkRenewal(jwt({ sub: 'alice', tenant: 'acme', exp: expMs / 1000 }), identity)).toMatchObject({
      ok: false,
      problem: 'not-later',
    });
    expect(checkRenewal(jwt({ sub: 'alice', tenant: 'acme', exp: expMs / 1000 - 30 }), identity)).toMatchObject({
      problem: 'not-later',
    });
    expect(checkRenewal(jwt({ sub: 'alice', tenant: 'acme' }), identity)).toMatchObject({ problem: 'not-later' });
  });
});
