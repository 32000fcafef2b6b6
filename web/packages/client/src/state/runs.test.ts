import { describe, expect, it } from 'vitest';
import { runDelta, runWire } from '../testing/fixtures.js';
import { findRun, runFromWire, runLabel, runsNewestFirst, runWithDelta, showsTenants, type Run } from './runs.js';

const T0 = Date.parse('2026-11-28T15:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function run(runId: string, startOffset: number | null, tenant: string | null = null): Run {
  return runFromWire(runWire(runId, {}, { tenant, started_at: startOffset === null ? null : iso(T0 + startOffset) }) as never);
}

describe('runFromWire', () => {
  it('reads times as Unix ms, eta included, and keeps attempt, progress and stalled', () => {
    const r = runFromWire(
      runWire(
        'r',
        { analyst: { status: 'processing', started_at: iso(T0), attempt: 3, progress: 62.5, eta: iso(T0 + 90_000), stalled: true } },
        { tenant: 'acme', user_id: 'bob', version: '1764342000123-4', stalled: true, ended_at: null },
      ) as never,
    );
    expect(r).toMatchObject({ key: 'acme/bob/r', tenant: 'acme', userId: 'bob', version: '1764342000123-4', stalled: true, startedAt: T0 });
    expect(r.stages.analyst).toMatchObject({ startedAt: T0, attempt: 3, progress: 62.5, eta: T0 + 90_000, stalled: true });
  });
});

describe('runWithDelta', () => {
  it('without a held copy: the delta stage, the others idle', () => {
    const r = runWithDelta(undefined, runDelta('r', 'quality', { status: 'error', error: 'x' }, { version: '1-0' }));
    expect(r.stages.quality).toMatchObject({ status: 'error', error: 'x' });
    expect(r.stages.radar.status).toBe('idle');
  });
});

describe('runsNewestFirst', () => {
  it('orders by start time, newest first, then by key (so one id in two tenants has a fixed order)', () => {
    const runs = [run('b', 10), run('a', 30), run('c', 10), run('x', 5, 'acme'), run('x', 5, 'globex'), run('none', null)];
    const byKey = Object.fromEntries(runs.map((r) => [r.key, r]));
    expect(runsNewestFirst(byKey).map((r) => r.key)).toEqual(['//a', '//c', '//b', 'globex//x', 'acme//x', '//none']);
  });
});

describe('findRun', () => {
  const runs = Object.fromEntries(
    [run('x', 5, 'acme'), run('x', 9, 'globex'), run('a/b', 1), run('y', 3)].map((r) => [r.key, r]),
  );

  it('by key first, else by run id: the newest run of that id', () => {
    expect(findRun(runs, 'acme//x')?.tenant).toBe('acme');
    expect(findRun(runs, 'x')?.tenant).toBe('globex');
    expect(findRun(runs, 'y')?.key).toBe('//y');
    expect(findRun(runs, 'a/b')?.key).toBe('//a%2Fb');
    expect(findRun(runs, 'nope')).toBeUndefined();
  });
});

describe('showsTenants', () => {
  const acme = run('r1', 0, 'acme');
  const globex = run('r2', 0, 'globex');
  const untenanted = run('r3', 0);

  it('always for an admin', () => {
    expect(showsTenants([untenanted], { tenant: null, roles: ['admin'] })).toBe(true);
  });

  it("not for a tenant's user, whose runs are all their tenant's (or nobody's)", () => {
    expect(showsTenants([acme, untenanted], { tenant: 'acme', roles: ['viewer'] })).toBe(false);
  });

  it('without authentication: when some run has a tenant', () => {
    expect(showsTenants([untenanted], null)).toBe(false);
    expect(showsTenants([untenanted, globex], null)).toBe(true);
  });
});

describe('runLabel', () => {
  it('names the tenant only when asked', () => {
    expect(runLabel(run('shared-name', 0, 'acme'), true)).toBe('shared-name (acme)');
    expect(runLabel(run('shared-name', 0), true)).toBe('shared-name (no tenant)');
    expect(runLabel(run('shared-name', 0, 'acme'), false)).toBe('shared-name');
  });
});
