// React binding of the plain-TS socket client: connects while mounted,
// forwards every frame to `onFrame`, and exposes the link status (with its
// authentication) and the client's actions.

import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { createSocketClient, type FrameMeta, type LinkInfo, type SocketClient, type TokenProvider } from '../lib/socket/client';
import type { ServerFrame } from '../lib/socket/frames';

export interface UseSocketOptions {
  url: string;
  /** The token to start with; later ones go through `setToken` (changing this does not reconnect). */
  token?: string;
  resume?: boolean;
  onTokenNeeded?: TokenProvider;
}

export interface UseSocket {
  link: LinkInfo;
  client: SocketClient;
  retryNow: () => void;
  setToken: (token: string) => void;
}

export function useSocket(options: UseSocketOptions, onFrame: (frame: ServerFrame, meta: FrameMeta) => void): UseSocket {
  const [client] = useState(createSocketClient);
  const onFrameRef = useRef(onFrame);
  const tokenRef = useRef(options.token);
  const providerRef = useRef(options.onTokenNeeded);
  useEffect(() => {
    onFrameRef.current = onFrame;
    providerRef.current = options.onTokenNeeded;
  });

  const { url, resume } = options;
  useEffect(() => {
    const unsubscribe = client.subscribe((frame, meta) => onFrameRef.current(frame, meta));
    client.connect({
      url,
      token: tokenRef.current,
      resume,
      onTokenNeeded: (request) => providerRef.current?.(request),
    });
    return () => {
      unsubscribe();
      client.disconnect();
    };
  }, [client, url, resume]);

  const link = useSyncExternalStore(
    useCallback((notify) => client.onStatus(notify), [client]),
    () => client.getStatus(),
  );
  const retryNow = useCallback(() => client.retryNow(), [client]);
  const setToken = useCallback((token: string) => client.setToken(token), [client]);
  return { link, client, retryNow, setToken };
}
