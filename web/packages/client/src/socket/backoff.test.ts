import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';

describe('backoffCeiling', () => {
  it('doubles from the base and stops at the cap', () => {
    const ceilings = Array.from({ length: 9 }, (_, attempt) => backoffCeiling(attempt));
    expect(ceilings).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('never exceeds the cap, even for huge attempt counts', () => {
    expect(backoffCeiling(1_000)).toBe(DEFAULT_BACKOFF.capMs);
    expect(backoffCeiling(Number.MAX_SAFE_INTEGER)).toBe(DEFAULT_BACKOFF.capMs);
  });

  it('treats negative or fractional attempts as whole non-negative ones', () => {
    expect(backoffCeiling(-3)).toBe(500);
    expect(backoffCeiling(2.9)).toBe(2000);
  });

  it('follows a custom policy', () => {
    expect(backoffCeiling(3, { baseMs: 100, capMs: 450 })).toBe(450);
    expect(backoffCeiling(2, { baseMs: 100, capMs: 450 })).toBe(400);
  });
});

describe('backoffDelay (full jitter)', () => {
  it('spans the whole range from zero to just under the ceiling', () => {
    expect(backoffDelay(0, 0)).toBe(0);
    expect(backoffDelay(0, 0.5)).toBe(250);
    expect(backoffDelay(0, 0.999_999)).toBe(499);
    expect(backoffDelay(3, 0.5)).toBe(2000);
  });

  it('is capped at 30 s', () => {
    expect(backoffDelay(20, 0.999_999)).toBeLessThan(30_000);
    expect(backoffDelay(20, 0.999_999)).toBeGreaterThan(29_900);
  });

  it('stays within [0, ceiling) for random draws', () => {
    for (let attempt = 0; attempt < 12; attempt += 1) {
      for (let i = 0; i < 50; i += 1) {
        const d = backoffDelay(attempt, Math.random());
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(backoffCeiling(attempt));
      }
    }
  });

  it('clamps a random value outside [0, 1]', () => {
    expect(backoffDelay(0, -1)).toBe(0);
    expect(backoffDelay(0, 2)).toBe(499);
  });
});
