// WebSocket close codes of the protocol, grouped into "reconnect" and
// "terminal" (docs/protocol.md, "Close codes").

const TERMINAL_CODES = new Set([1003, 1008, 1009]);

/** The token expired without renewal: reconnect, but with a fresh token. */
export const TOKEN_EXPIRED = 4401;
/** The token was refused: terminal until the page has another. */
export const AUTH_FAILED = 4501;

/** True when the gateway told us not to come back without a change. */
export function isTerminalClose(code: number): boolean {
  return TERMINAL_CODES.has(code) || (code >= 4500 && code <= 4999);
}

const MEANINGS: Record<number, string> = {
  1000: 'normal closure',
  1001: 'gateway shutting down',
  1003: 'binary frame refused',
  1005: 'no close code',
  1006: 'connection lost',
  1008: 'policy violation',
  1009: 'client frame too large',
  1011: 'gateway internal error',
  1012: 'gateway restarting',
  1013: 'gateway overloaded',
  1015: 'TLS handshake failed',
  4001: 'slow consumer: fell behind',
  4002: 'heartbeat timeout',
  4013: 'gateway not ready: try again later',
  4401: 'token expired',
  4408: 'no token sent in time',
  4501: 'token refused',
};

/** True when reconnecting with the same token cannot help: a new one is needed first. */
export function needsNewToken(code: number): boolean {
  return code === TOKEN_EXPIRED || code === AUTH_FAILED;
}

/** A short description of a close code, for people. */
export function describeClose(code: number, reason = ''): string {
  const meaning =
    MEANINGS[code] ??
    (code >= 4500 && code <= 4999 ? 'refused by the gateway' : code >= 4000 && code <= 4499 ? 'dropped by the gateway' : 'closed');
  const said = reason.trim();
  // The gateway's own words, unless they only repeat the meaning.
  const text = said && said.toLowerCase() !== meaning ? `${meaning}: ${said}` : meaning;
  return `${text} (${code})`;
}
