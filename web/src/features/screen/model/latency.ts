// End-to-end latency, publish → shown: the time from an event's `ts` to the
// moment the page has rendered it.
//
// The socket side marks each live event that carries a `ts`; after React has
// committed the update to the DOM, the timeline calls `flush(Date.now())`,
// which turns the marks into samples. Stats cover the last 100 samples.
// This is measurement, not page state: it lives outside the store.

import { parseTs, type FrameMeta, type ServerFrame } from '@tactical-link/client';

export const LATENCY_WINDOW = 100;
const MAX_PENDING = 1_000;

export interface LatencyStats {
  /** Samples in the window. */
  count: number;
  last: number | null;
  p50: number | null;
  p95: number | null;
}

const EMPTY: LatencyStats = { count: 0, last: null, p50: null, p95: null };

/** Nearest-rank percentile of ascending `sorted` values; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1]!;
}

export function latencyStats(samples: readonly number[]): LatencyStats {
  if (samples.length === 0) return EMPTY;
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: samples.length,
    last: samples[samples.length - 1]!,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
  };
}

/**
 * When the event in `frame` was published, if it is a live event with a `ts`:
 * the start of a latency sample. Null for everything else, including events
 * replayed after a reconnect (their age is how long the link was down).
 */
export function latencyStart(frame: ServerFrame, meta: FrameMeta): number | null {
  if (frame.type !== 'event' || meta.replayed) return null;
  return parseTs(frame.event.ts);
}

export class LatencyTracker {
  private pending: number[] = [];
  private samples: number[] = [];
  private stats: LatencyStats = EMPTY;
  private readonly listeners = new Set<() => void>();

  /** A live event published at `publishedMs` has entered the store. */
  mark(publishedMs: number): void {
    this.pending.push(publishedMs);
    if (this.pending.length > MAX_PENDING) this.pending.splice(0, this.pending.length - MAX_PENDING);
  }

  /** Everything marked so far is on screen at `shownMs`. */
  flush(shownMs: number): void {
    if (this.pending.length === 0) return;
    for (const published of this.pending) this.samples.push(shownMs - published);
    this.pending = [];
    if (this.samples.length > LATENCY_WINDOW) this.samples.splice(0, this.samples.length - LATENCY_WINDOW);
    this.stats = latencyStats(this.samples);
    for (const listener of [...this.listeners]) listener();
  }

  /** Forgets marks that were never shown (e.g. while the boot screen was up). */
  discardPending(): void {
    this.pending = [];
  }

  getStats = (): LatencyStats => this.stats;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}
