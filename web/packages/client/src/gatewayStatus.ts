// `GET /api/status`: the gateway's own account of itself, read by the boot
// checks ("gateway reachable") and the header counters.

import { validateBus, type BusFrame } from './socket/frames.js';

/** The status endpoint's path, on the gateway's host. */
export const STATUS_PATH = '/api/status';

/** `http(s)://host/api/status` of the gateway whose WebSocket endpoint is `wsUrl` (absolute). */
export function statusUrlFor(wsUrl: string): string {
  const url = new URL(STATUS_PATH, wsUrl);
  url.protocol = url.protocol === 'wss:' || url.protocol === 'https:' ? 'https:' : 'http:';
  url.search = '';
  url.hash = '';
  return url.toString();
}

export interface GatewayStatus {
  server: string;
  protocol: number;
  bus: BusFrame;
  connections: number;
  events_relayed: number;
  /** Present once the gateway authenticates connections (not yet). */
  auth?: { required: boolean };
}

/** Validates a parsed /api/status body; throws an Error that says what is wrong. */
export function parseGatewayStatus(value: unknown): GatewayStatus {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('status is not a JSON object');
  }
  const o = value as Record<string, unknown>;
  const need = (key: string, type: 'string' | 'number') => {
    if (typeof o[key] !== type) throw new Error(`status.${key}: expected a ${type}`);
    return o[key];
  };
  if (typeof o.bus !== 'object' || o.bus === null) throw new Error('status.bus: expected an object');
  let bus: BusFrame;
  try {
    bus = validateBus(o.bus as Record<string, unknown>, 'status.bus');
  } catch (err) {
    const e = err as Error & { path?: string };
    throw new Error(`${e.path ?? 'status.bus'}: ${e.message}`);
  }
  const status: GatewayStatus = {
    server: need('server', 'string') as string,
    protocol: need('protocol', 'number') as number,
    bus,
    connections: need('connections', 'number') as number,
    events_relayed: need('events_relayed', 'number') as number,
  };
  if (typeof o.auth === 'object' && o.auth !== null) {
    status.auth = { required: (o.auth as Record<string, unknown>).required === true };
  }
  return status;
}

function crossOriginHint(url: string): string {
  if (typeof location === 'undefined') return '';
  try {
    return new URL(url, location.href).origin === location.origin ? '' : ' (cross-origin: the gateway must allow CORS)';
  } catch {
    return '';
  }
}

/** Fetches and validates the status, giving up after `timeoutMs`. */
export async function fetchGatewayStatus(url: string, timeoutMs = 5_000, fetchImpl: typeof fetch = fetch): Promise<GatewayStatus> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await fetchImpl(url, { signal: controller.signal, headers: { accept: 'application/json' }, cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      throw new Error('answer is not JSON (is this a Tactical Link gateway?)');
    }
    return parseGatewayStatus(body);
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`);
    if (err instanceof TypeError) throw new Error(`network error: ${err.message}${crossOriginHint(url)}`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
