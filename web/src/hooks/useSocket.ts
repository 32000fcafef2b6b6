// React binding of the plain-TS socket client: connects while mounted,
// forwards every frame to `onFrame`, and exposes the link status.

import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { createSocketClient, type ConnectOptions, type FrameMeta, type LinkInfo, type SocketClient } from '../lib/socket/client';
import type { ServerFrame } from '../lib/socket/frames';

export interface UseSocket {
  link: LinkInfo;
  client: SocketClient;
  retryNow: () => void;
}

export function useSocket(options: ConnectOptions, onFrame: (frame: ServerFrame, meta: FrameMeta) => void): UseSocket {
  const [client] = useState(createSocketClient);
  const onFrameRef = useRef(onFrame);
  useEffect(() => {
    onFrameRef.current = onFrame;
  });

  const { url, token, sendAuth, resume } = options;
  useEffect(() => {
    const unsubscribe = client.subscribe((frame, meta) => onFrameRef.current(frame, meta));
    client.connect({ url, token, sendAuth, resume });
    return () => {
      unsubscribe();
      client.disconnect();
    };
  }, [client, url, token, sendAuth, resume]);

  const link = useSyncExternalStore(
    useCallback((notify) => client.onStatus(notify), [client]),
    () => client.getStatus(),
  );
  const retryNow = useCallback(() => client.retryNow(), [client]);
  return { link, client, retryNow };
}
