// Reconnect delays: capped exponential back-off with full jitter.
//
// delay = random(0, min(cap, base * 2^attempt)), as in the AWS architecture
// note "Exponential Backoff And Jitter". Full jitter spreads a crowd of
// dashboards that lost the gateway at the same instant, so they do not all
// come back in the same millisecond.

export interface BackoffPolicy {
  /** Ceiling of the first retry, in ms. */
  baseMs: number;
  /** Largest ceiling, in ms. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 30_000 };

/** The largest delay allowed before retry number `attempt` (0-based). */
export function backoffCeiling(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const n = Math.max(0, Math.floor(attempt));
  // 2^n overflows to Infinity for large n, and min() then picks the cap.
  return Math.min(policy.capMs, policy.baseMs * 2 ** n);
}

/**
 * The delay before retry number `attempt`, given `random` in [0, 1)
 * (Math.random by default; injected by tests).
 */
export function backoffDelay(
  attempt: number,
  random: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): number {
  // random() is in [0, 1); clamp anything else into it so the delay stays below the ceiling.
  const r = Math.min(Math.max(random, 0), 1 - 1e-12);
  return Math.floor(r * backoffCeiling(attempt, policy));
}
