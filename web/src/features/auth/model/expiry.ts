// When the dashboard warns that its access token is about to run out, and
// what it checks of a fresh token before sending it as an in-band renewal.
//
// Threshold: the warning shows while the token in force on the live link has
// a quarter of its lifetime left, but at least 15 s and at most 2 min:
// `clamp(lifetime / 4, 15 s, 2 min)`. Two minutes is time enough to fetch a
// token and paste it; the quarter keeps a short-lived token (under 8
// minutes) from warning for most of its life; 15 s is about the least in
// which a person can paste one, so a token shorter than a minute warns for
// more than its last quarter (and one under 15 s from the start). A 1 h token
// warns for its last 2 min, a 4 min one for its last minute, a 30 s one for
// its last 15 s. The lifetime is `exp − iat` of
// the token the page holds when that token is the one in force (its `exp` is
// the identity's `expires_at`); otherwise (no `iat`, or a token the page
// does not hold) the time from when the page first saw that expiry to the
// expiry, which can only make the warning later, never earlier. The
// countdown uses the page's clock against the gateway's `expires_at`.
//
// Renewal (docs/protocol.md, "Authentication"): the gateway accepts a fresh
// token on the live socket only for the same `sub` and `tenant` (another
// user is closed with 1008), closes with 4401 when it has already expired,
// and with 4501 when it does not verify. The page cannot verify a signature,
// but it can read the claims: a paste that is not a JWT, is for another
// user, or expires no later than the token in force is refused here, and
// the live link stays as it is. Everything else goes to the gateway; a token
// it refuses closes the link (4501) and the token prompt takes over.

import { formatClock, parseRfc3339 } from '@tactical-link/client';

/** The most warning a token gets. */
export const MAX_WARNING_MS = 2 * 60_000;
/** The least warning a token gets: time to paste a fresh one. */
export const MIN_WARNING_MS = 15_000;
/** The share of a token's lifetime that is warned about, between the two. */
export const WARNING_SHARE = 1 / 4;

/** Who the gateway took the page for (the `authenticated` frame), as far as expiry goes. */
export interface IdentityLike {
  sub: string;
  tenant: string | null;
  /** RFC 3339; null for a token without expiry. */
  expires_at: string | null;
}

/** How long before expiry the warning starts. `lifetimeMs` null: unknown, the full two minutes. */
export function warningThresholdMs(lifetimeMs: number | null): number {
  if (lifetimeMs === null || !Number.isFinite(lifetimeMs) || lifetimeMs <= 0) return MAX_WARNING_MS;
  return Math.min(MAX_WARNING_MS, Math.max(MIN_WARNING_MS, lifetimeMs * WARNING_SHARE));
}

/** The claims of a JWT the page reads (unverified: for checks and lifetimes, never for trust). */
export interface TokenClaims {
  sub: string | null;
  tenant: string | null;
  /** Unix seconds. */
  exp: number | null;
  /** Unix seconds. */
  iat: number | null;
}

/** Reads the payload of a JWT (`header.payload.signature`, base64url JSON). Null when it is not one. */
export function readClaims(token: string): TokenClaims | null {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[\w-]+$/.test(part))) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(base64UrlDecode(parts[1]!));
  } catch {
    return null;
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
  const o = payload as Record<string, unknown>;
  const seconds = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : null);
  return {
    sub: typeof o.sub === 'string' ? o.sub : null,
    tenant: typeof o.tenant === 'string' ? o.tenant : null,
    exp: seconds(o.exp),
    iat: seconds(o.iat),
  };
}

function base64UrlDecode(text: string): string {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  const binary = atob(b64);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

/**
 * The lifetime of the token in force: `exp − iat` of `token` when that is
 * the token whose expiry the gateway reported, else from `seenAtMs` (when
 * the page first saw this expiry) to the expiry. Null when neither is known.
 */
export function tokenLifetimeMs(expiresAtMs: number, token: string | null, seenAtMs: number | null): number | null {
  const claims = token === null ? null : readClaims(token);
  if (claims !== null && claims.exp !== null && claims.iat !== null && claims.exp * 1000 === expiresAtMs && claims.iat < claims.exp) {
    return (claims.exp - claims.iat) * 1000;
  }
  if (seenAtMs !== null && seenAtMs < expiresAtMs) return expiresAtMs - seenAtMs;
  return null;
}

export type ExpiryView =
  /** Nothing to say: no expiry, or far enough away. */
  | { show: false }
  | { show: true; remainingMs: number; thresholdMs: number; expiresAtMs: number };

/** Whether the warning shows at `now`, and how long is left then. */
export function expiryView(input: {
  expiresAt: string | null;
  now: number;
  /** The token the page holds (the latest given), if any. */
  token: string | null;
  /** When the page first saw this `expiresAt`. */
  seenAtMs: number | null;
}): ExpiryView {
  if (input.expiresAt === null) return { show: false };
  const expiresAtMs = parseRfc3339(input.expiresAt);
  if (expiresAtMs === null) return { show: false };
  const thresholdMs = warningThresholdMs(tokenLifetimeMs(expiresAtMs, input.token, input.seenAtMs));
  const remainingMs = expiresAtMs - input.now;
  if (remainingMs > thresholdMs) return { show: false };
  return { show: true, remainingMs: Math.max(0, remainingMs), thresholdMs, expiresAtMs };
}

/** `mm:ss`, rounded up to the second (so `00:00` means it is over), never negative. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(total / 60);
  return `${String(minutes).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;
}

/**
 * What a screen reader is told of the time left: coarse steps, so that the
 * polite live region speaks a few times, not every second.
 */
export function spokenRemaining(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s === 0) return 'now';
  if (s > 60) return `in less than ${Math.ceil(s / 60)} minutes`;
  if (s > 30) return 'in less than a minute';
  if (s > 10) return 'in less than 30 seconds';
  return 'in less than 10 seconds';
}

export type RenewalCheck =
  | { ok: true; token: string }
  | { ok: false; problem: 'not-a-jwt' | 'other-user' | 'not-later'; message: string };

function who(sub: string | null, tenant: string | null): string {
  return `${sub ?? '(no sub)'}${tenant === null ? '' : ` · ${tenant}`}`;
}

/**
 * Checks a (cleaned, non-empty) pasted token against the identity in force
 * before it is sent as a renewal: it must read as a JWT, be for the same
 * `sub` and `tenant`, and expire later than the current token.
 */
export function checkRenewal(token: string, identity: IdentityLike): RenewalCheck {
  const claims = readClaims(token);
  if (claims === null) {
    return { ok: false, problem: 'not-a-jwt', message: 'That is not a JWT (three base64url parts separated by dots).' };
  }
  if (claims.sub !== identity.sub || claims.tenant !== identity.tenant) {
    return {
      ok: false,
      problem: 'other-user',
      message: `That token is for ${who(claims.sub, claims.tenant)}; this page is signed in as ${who(identity.sub, identity.tenant)}. A renewal must be for the same user and tenant.`,
    };
  }
  const current = identity.expires_at === null ? null : parseRfc3339(identity.expires_at);
  if (claims.exp === null) {
    return { ok: false, problem: 'not-later', message: 'That token has no expiry (exp); the gateway does not accept it.' };
  }
  if (current !== null && claims.exp * 1000 <= current) {
    return {
      ok: false,
      problem: 'not-later',
      message: `That token runs out at ${formatClock(claims.exp * 1000)}, no later than the one in use. Paste a newer one.`,
    };
  }
  return { ok: true, token };
}
