// Where the gateway is: same origin as the page, unless `?ws=` says otherwise.
//
//   ?ws=ws://127.0.0.1:8080/dashboard/ws   another gateway (dev, tests)
//   ?boot=skip                             open the timeline at once

import { statusUrlFor } from '@tactical-link/client';

export interface Endpoints {
  /** `ws(s)://host/dashboard/ws` */
  wsUrl: string;
  /** `http(s)://host/api/status`, on the same host as the WebSocket. */
  statusUrl: string;
  skipBoot: boolean;
}

export const WS_PATH = '/dashboard/ws';

export function resolveEndpoints(location: { href: string }): Endpoints {
  const page = new URL(location.href);
  const override = page.searchParams.get('ws');
  let ws: URL;
  try {
    ws = override ? new URL(override, page) : new URL(WS_PATH, page);
  } catch {
    ws = new URL(WS_PATH, page);
  }
  if (ws.protocol === 'http:') ws.protocol = 'ws:';
  else if (ws.protocol === 'https:') ws.protocol = 'wss:';
  return {
    wsUrl: ws.toString(),
    statusUrl: statusUrlFor(ws.toString()),
    skipBoot: page.searchParams.get('boot') === 'skip',
  };
}
