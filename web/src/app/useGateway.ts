// Wires the socket to the store: every frame goes through the pipeline
// reducer (the one copy of the dashboard's state); live events with a `ts`
// are marked for the latency readout (replayed ones are not: they were
// published while the link was down, so their age says nothing of latency).

import { useCallback, useReducer, useState } from 'react';
import { useSocket } from '../hooks/useSocket';
import type { FrameMeta } from '../lib/socket/client';
import type { ServerFrame } from '../lib/socket/frames';
import { latencyStart, LatencyTracker } from '../features/timeline/model/latency';
import { INITIAL_PIPELINE_STATE, pipelineReducer } from '../store/pipeline';

/** `token`: the one to start with (later ones: `setToken`). */
export function useGateway(wsUrl: string, token?: string) {
  const [state, dispatch] = useReducer(pipelineReducer, INITIAL_PIPELINE_STATE);
  const [latency] = useState(() => new LatencyTracker());
  const onFrame = useCallback(
    (frame: ServerFrame, meta: FrameMeta) => {
      const published = latencyStart(frame, meta);
      if (published !== null) latency.mark(published);
      dispatch({ type: 'frame', frame });
    },
    [latency],
  );
  const { link, retryNow, setToken } = useSocket({ url: wsUrl, token }, onFrame);
  const dismissResumeNotice = useCallback(() => dispatch({ type: 'dismiss-resume-notice' }), []);
  return { state, link, retryNow, setToken, latency, dismissResumeNotice };
}
