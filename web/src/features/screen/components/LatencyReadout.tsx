// End-to-end latency, publish → shown: last, p50, p95 over the last 100
// live events that carried a `ts`.

import { useSyncExternalStore } from 'react';
import { LATENCY_WINDOW, type LatencyTracker } from '../model/latency';

const ms = (v: number | null) => (v === null ? '—' : `${Math.round(v)}`);

export function LatencyReadout({ tracker }: { tracker: LatencyTracker }) {
  const stats = useSyncExternalStore(tracker.subscribe, tracker.getStats);
  return (
    <div
      className="latency"
      data-testid="latency"
      data-count={stats.count}
      title={`Publish (event ts) to on-screen, over the last ${LATENCY_WINDOW} live events with a ts (${stats.count} so far)`}
    >
      <span className="latency__label">E2E</span>
      {stats.count === 0 ? (
        <span className="latency__value muted">no samples</span>
      ) : (
        <>
          <span className="latency__metric">
            <span className="latency__key">last</span>
            <span className="latency__value" data-testid="latency-last">
              {ms(stats.last)}
            </span>
            <span className="latency__unit">ms</span>
          </span>
          <span className="latency__metric">
            <span className="latency__key">p50</span>
            <span className="latency__value" data-testid="latency-p50">
              {ms(stats.p50)}
            </span>
          </span>
          <span className="latency__metric">
            <span className="latency__key">p95</span>
            <span className="latency__value" data-testid="latency-p95">
              {ms(stats.p95)}
            </span>
          </span>
        </>
      )}
    </div>
  );
}
