// The latency readout's tracker, fed by the provider's link: every live
// event with a `ts` is marked as it arrives (replayed ones are not: they were
// published while the link was down, so their age says nothing of latency);
// the operations screen flushes the marks once React has shown them.

import { useEffect, useState } from 'react';
import { useTacticalLink } from '@tactical-link/react';
import { latencyStart, LatencyTracker } from '../features/screen/model/latency';

export function useLatency(): LatencyTracker {
  const { link } = useTacticalLink();
  const [latency] = useState(() => new LatencyTracker());
  useEffect(
    () =>
      link.subscribe((frame, meta) => {
        const published = latencyStart(frame, meta);
        if (published !== null) latency.mark(published);
      }),
    [link, latency],
  );
  return latency;
}
