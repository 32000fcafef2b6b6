// The WebSocket close codes of the protocol (docs/protocol.md, "Close codes"):
// the one TypeScript list of them, and how the client reads each one.
//
// Every code the gateway sends is an `export const NAME = number;` line
// below; the gateway's Rust table has the same names and values, and a Rust
// test parses this file to keep the two equal (so keep one per line, in this
// form). Grouping: 4000–4499 reconnect (4001 without resuming), 4500–4999
// and 1002 / 1003 / 1007 / 1008 / 1009 are terminal, every other code
// reconnects. 4401 and 4501 need a new token first.
//
// Codes a browser reports but the gateway never sends (1005, 1006, …) are
// kept apart, in BROWSER_CLOSE_CODES.

/** Normal closure: the gateway does not send it; the client closes its own sockets with it. */
export const NORMAL = 1000;
/** The gateway is shutting down: reconnect with back-off. */
export const GOING_AWAY = 1001;
/** WebSocket protocol error: terminal, the client must be fixed. */
export const PROTOCOL_ERROR = 1002;
/** A binary frame was sent (the protocol is text only): terminal. */
export const UNSUPPORTED_DATA = 1003;
/** Invalid UTF-8 in a text frame: terminal. */
export const INVALID_DATA = 1007;
/** Policy: a frame before `auth`, too many connections, message rate exceeded, a renewal for another user: terminal. */
export const POLICY = 1008;
/** A client frame larger than `max_client_frame_bytes`: terminal. */
export const TOO_BIG = 1009;
/** Slow consumer: fell behind and was dropped; reconnect from a fresh snapshot, not a long replay. */
export const SLOW_CONSUMER = 4001;
/** No frame from the client within the heartbeat timeout: reconnect. */
export const HEARTBEAT_TIMEOUT = 4002;
/** The gateway is not ready (keys or history still loading): reconnect with back-off. */
export const TRY_AGAIN_LATER = 4013;
/** The token expired without renewal: reconnect, but with a fresh token. */
export const TOKEN_EXPIRED = 4401;
/** No `auth` frame within the auth timeout: reconnect. */
export const AUTH_TIMEOUT = 4408;
/** The token was refused (invalid or revoked): terminal until the page has another. */
export const AUTH_FAILED = 4501;

/**
 * Codes a browser reports in a close event that the gateway never sends:
 * from the browser itself, or from something between it and the gateway
 * (a proxy). Never part of the protocol list above.
 */
export const BROWSER_CLOSE_CODES = Object.freeze({
  /** The close frame carried no code. */
  NO_STATUS: 1005,
  /** The connection dropped without a close frame; the client also reports the sockets it gives up on (timeouts) with it. */
  LOST: 1006,
  /** The server (a proxy) hit an internal error. */
  INTERNAL_ERROR: 1011,
  /** The server (a proxy) is restarting. */
  SERVICE_RESTART: 1012,
  /** The server (a proxy) is overloaded. */
  OVERLOADED: 1013,
  /** The TLS handshake failed. */
  TLS_HANDSHAKE: 1015,
});

/** Codes below 4000 that tell the client not to come back without a change. */
const TERMINAL_CODES: ReadonlySet<number> = new Set([PROTOCOL_ERROR, UNSUPPORTED_DATA, INVALID_DATA, POLICY, TOO_BIG]);

/** True when the gateway told us not to come back without a change. */
export function isTerminalClose(code: number): boolean {
  return TERMINAL_CODES.has(code) || (code >= 4500 && code <= 4999);
}

/** True when reconnecting with the same token cannot help: a new one is needed first. */
export function needsNewToken(code: number): boolean {
  return code === TOKEN_EXPIRED || code === AUTH_FAILED;
}

/** True when the client should reconnect from a fresh snapshot rather than resume. */
export function forgetsResumePoint(code: number): boolean {
  return code === SLOW_CONSUMER;
}

const MEANINGS: Readonly<Record<number, string>> = {
  [NORMAL]: 'normal closure',
  [GOING_AWAY]: 'gateway shutting down',
  [PROTOCOL_ERROR]: 'protocol error',
  [UNSUPPORTED_DATA]: 'binary frame refused',
  [INVALID_DATA]: 'invalid UTF-8 in a text frame',
  [POLICY]: 'policy violation',
  [TOO_BIG]: 'client frame too large',
  [SLOW_CONSUMER]: 'slow consumer: fell behind',
  [HEARTBEAT_TIMEOUT]: 'heartbeat timeout',
  [TRY_AGAIN_LATER]: 'gateway not ready: try again later',
  [TOKEN_EXPIRED]: 'token expired',
  [AUTH_TIMEOUT]: 'no token sent in time',
  [AUTH_FAILED]: 'token refused',
  [BROWSER_CLOSE_CODES.NO_STATUS]: 'no close code',
  [BROWSER_CLOSE_CODES.LOST]: 'connection lost',
  [BROWSER_CLOSE_CODES.INTERNAL_ERROR]: 'gateway internal error',
  [BROWSER_CLOSE_CODES.SERVICE_RESTART]: 'gateway restarting',
  [BROWSER_CLOSE_CODES.OVERLOADED]: 'gateway overloaded',
  [BROWSER_CLOSE_CODES.TLS_HANDSHAKE]: 'TLS handshake failed',
};

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
