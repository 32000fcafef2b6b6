// Probes beside the link, for ./transport.ts's rules: whether the gateway
// answers plain HTTP (after a WebSocket attempt failed), and whether a
// WebSocket gets through (while the link is on SSE). Each resolves to a
// yes or no and never throws; neither touches the link's own socket.

import { NORMAL } from './closeCodes.js';
import { parseServerFrame } from './frames.js';
import type { HttpFetch } from './sse.js';
import type { SocketFactory, SocketLike } from './socketLike.js';

/** Whether `GET url` answers 2xx within `timeoutMs`. */
export async function answersHttp(fetch: HttpFetch, url: string, timeoutMs: number): Promise<boolean> {
  const abort = typeof AbortController === 'undefined' ? null : new AbortController();
  const timer = setTimeout(() => abort?.abort(), timeoutMs);
  try {
    const response = await fetch(url, { method: 'GET', cache: 'no-store', signal: abort?.signal });
    return response.ok;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** A WebSocket probe under way: `result` says whether it got a welcome; `cancel` gives up on it (result: false). */
export interface WebSocketProbe {
  result: Promise<boolean>;
  cancel(): void;
}

/**
 * Opens a WebSocket to `url` and waits at most `timeoutMs` for its
 * `welcome`, then closes it (1000) either way: only the welcome is wanted,
 * so it never sends a token.
 */
export function probeWebSocket(createSocket: SocketFactory, url: string, timeoutMs: number): WebSocketProbe {
  let settle: (ok: boolean) => void = () => {};
  const result = new Promise<boolean>((resolve) => (settle = resolve));
  let socket: SocketLike | null = null;
  const finish = (ok: boolean) => {
    clearTimeout(timer);
    const open = socket;
    socket = null;
    if (open) {
      open.onopen = open.onmessage = open.onerror = open.onclose = null;
      try {
        open.close(NORMAL, 'probe done');
      } catch {
        // A socket that never opened may refuse to close.
      }
    }
    settle(ok);
  };
  const timer = setTimeout(() => finish(false), timeoutMs);
  try {
    socket = createSocket(url);
  } catch {
    finish(false);
    return { result, cancel: () => {} };
  }
  socket.onmessage = (ev) => {
    const parsed = typeof ev.data === 'string' ? parseServerFrame(ev.data) : null;
    finish(parsed !== null && parsed.ok && parsed.frame.type === 'welcome');
  };
  socket.onclose = () => finish(false);
  return { result, cancel: () => finish(false) };
}
