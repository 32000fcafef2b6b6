// Wires the socket to the store: every frame goes through the pipeline
// reducer (the one copy of the dashboard's state); live events with a `ts`
// are marked for the latency readout.

import { useCallback, useReducer, useState } from 'react';
import { useSocket } from '../hooks/useSocket';
import type { ServerFrame } from '../lib/socket/frames';
import { parseTs } from '../lib/time';
import { LatencyTracker } from '../features/timeline/model/latency';
import { INITIAL_PIPELINE_STATE, pipelineReducer } from '../features/timeline/model/pipeline';

export function useGateway(wsUrl: string) {
  const [state, dispatch] = useReducer(pipelineReducer, INITIAL_PIPELINE_STATE);
  const [latency] = useState(() => new LatencyTracker());
  const onFrame = useCallback(
    (frame: ServerFrame) => {
      if (frame.type === 'event') {
        const published = parseTs(frame.event.ts);
        if (published !== null) latency.mark(published);
      }
      dispatch({ type: 'frame', frame });
    },
    [latency],
  );
  const { link, retryNow } = useSocket({ url: wsUrl }, onFrame);
  return { state, link, retryNow, latency };
}
