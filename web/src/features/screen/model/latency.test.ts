import { describe, expect, it, vi } from 'vitest';
import { parseServerFrame, type ServerFrame } from '@tactical-link/client';
import { eventFrame, snapshotFrame } from '@tactical-link/client/testing';
import { LATENCY_WINDOW, latencyStart, LatencyTracker, latencyStats, percentile } from './latency';

function frame(value: unknown): ServerFrame {
  const parsed = parseServerFrame(JSON.stringify(value));
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.frame;
}

describe('percentile (nearest rank)', () => {
  it('picks the nearest-rank value', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 95)).toBe(95);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([], 50)).toBeNull();
  });
});

describe('latencyStats', () => {
  it('reports last, p50 and p95 regardless of sample order', () => {
    expect(latencyStats([30, 10, 20, 40])).toEqual({ count: 4, last: 40, p50: 20, p95: 40 });
  });
});

describe('LatencyTracker', () => {
  it('turns marked events into samples when they are shown', () => {
    const tracker = new LatencyTracker();
    const listener = vi.fn();
    tracker.subscribe(listener);
    tracker.mark(1_000);
    tracker.mark(1_004);
    expect(tracker.getStats().count).toBe(0);
    tracker.flush(1_010);
    expect(tracker.getStats()).toEqual({ count: 2, last: 6, p50: 6, p95: 10 });
    expect(listener).toHaveBeenCalledTimes(1);
    tracker.flush(2_000); // nothing pending: no change, no notification
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it(`keeps only the last ${LATENCY_WINDOW} samples`, () => {
    const tracker = new LatencyTracker();
    for (let i = 0; i < 150; i += 1) {
      tracker.mark(0);
      tracker.flush(i < 50 ? 1_000 : 5);
    }
    expect(tracker.getStats()).toMatchObject({ count: LATENCY_WINDOW, p95: 5, last: 5 });
  });

  it('discards marks that were never shown', () => {
    const tracker = new LatencyTracker();
    tracker.mark(0);
    tracker.discardPending();
    tracker.flush(100_000);
    expect(tracker.getStats().count).toBe(0);
  });

  it('keeps the same stats object until a flush changes it', () => {
    const tracker = new LatencyTracker();
    const a = tracker.getStats();
    expect(tracker.getStats()).toBe(a);
    tracker.mark(1);
    tracker.flush(2);
    expect(tracker.getStats()).not.toBe(a);
  });
});

describe('latencyStart', () => {
  const TS = '2026-11-28T15:00:00.123Z';
  const LIVE = { replayed: false };
  const REPLAYED = { replayed: true };

  it('starts a sample at the ts of a live event (RFC 3339 or Unix ms)', () => {
    expect(latencyStart(frame(eventFrame('1-0', 'r', 'radar', 'processing', { ts: TS })), LIVE)).toBe(Date.parse(TS));
    expect(latencyStart(frame(eventFrame('1-0', 'r', 'radar', 'processing', { ts: 1_795_878_000_123 })), LIVE)).toBe(
      1_795_878_000_123,
    );
  });

  it('takes no sample from replayed events, events without ts, or other frames', () => {
    expect(latencyStart(frame(eventFrame('1-0', 'r', 'radar', 'processing', { ts: TS })), REPLAYED)).toBeNull();
    expect(latencyStart(frame(eventFrame('1-0', 'r', 'radar', 'processing')), LIVE)).toBeNull();
    const snap = snapshotFrame([], [eventFrame('1-0', 'r', 'radar', 'processing', { ts: TS })], '1-0');
    expect(latencyStart(frame(snap), LIVE)).toBeNull();
  });
});
