// <TacticalLinkProvider>: one link to the gateway and one pipeline store
// for the components under it. It connects while mounted (resuming on every
// reconnect), feeds every frame into the store, and closes on unmount; the
// hooks (./hooks/useTacticalLink.ts) read from it. The store applies each
// frame as it comes; it tells the components at once when the page has
// been quiet for a frame, and else once per animation frame, so a lone
// event does not wait for a frame and a burst of events costs one render,
// not one per event (idleFirstScheduler, @tactical-link/client).

import { createContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import {
  createPipelineStore,
  createSocketClient,
  followLink,
  idleFirstScheduler,
  type PipelineStore,
  type PipelineStoreOptions,
  type SocketClient,
  type SocketClientOptions,
  type TokenProvider,
} from '@tactical-link/client';

export interface TacticalLink {
  /** The socket client: `status`, `info`, `subscribe`, `setToken`, `retryNow`, `close`, … */
  link: SocketClient;
  /** The runs and events as the gateway sent them. */
  store: PipelineStore;
  /** The WebSocket URL the link connects to. */
  url: string;
}

export const TacticalLinkContext = createContext<TacticalLink | null>(null);

export interface TacticalLinkProviderProps {
  /** The gateway's WebSocket endpoint, absolute: `ws(s)://host/dashboard/ws`. */
  url: string;
  /**
   * The token to authenticate with, when the gateway requires one. A new
   * value later is given to the link as it is (a renewal on a live link,
   * for the same user and tenant), without reconnecting.
   */
  token?: string;
  /** Resume after this event id when the link has seen none itself (e.g. one kept across a reload). */
  lastId?: string;
  /** Ask for the missed events on every reconnect (`?last_id=`). Default true. */
  resume?: boolean;
  /** Called when the gateway wants a token the link does not have (none, refused, expired). */
  onTokenNeeded?: TokenProvider;
  /** Options of the socket client (its socket factory, back-off, …), read once. */
  clientOptions?: SocketClientOptions;
  /**
   * Options of the store, read once. Default: its listeners (the hooks) hear
   * of a change at once when none came in the last frame, else once per
   * animation frame (`idleFirstScheduler()`); `{ schedule: frameScheduler() }`
   * always waits for the frame; `{}`
   * tells them of every change at once.
   */
  storeOptions?: PipelineStoreOptions;
  children?: ReactNode;
}

export function TacticalLinkProvider(props: TacticalLinkProviderProps) {
  const { url, token, resume, clientOptions, children } = props;
  const [link] = useState(() => createSocketClient(clientOptions));
  const [store] = useState(() => createPipelineStore(undefined, props.storeOptions ?? { schedule: idleFirstScheduler() }));
  const latest = useRef({ token, lastId: props.lastId, onTokenNeeded: props.onTokenNeeded });
  useEffect(() => {
    latest.current.onTokenNeeded = props.onTokenNeeded;
  });

  useEffect(() => {
    const stop = followLink(store, link);
    link.connect({
      url,
      token: latest.current.token,
      lastId: latest.current.lastId,
      resume,
      onTokenNeeded: (request) => latest.current.onTokenNeeded?.(request),
    });
    return () => {
      stop();
      link.close();
    };
  }, [link, store, url, resume]);

  useEffect(() => {
    if (token === undefined || token === latest.current.token) return;
    latest.current.token = token;
    link.setToken(token);
  }, [link, token]);

  const value = useMemo(() => ({ link, store, url }), [link, store, url]);
  return <TacticalLinkContext.Provider value={value}>{children}</TacticalLinkContext.Provider>;
}
