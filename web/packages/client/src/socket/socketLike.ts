// What the client needs of a socket, whatever carries it: the browser
// WebSocket has this shape, and so has ./sse.ts's SseSocket (the gateway's
// event stream), so the client's rules see one kind of socket. Kept apart
// so the transports and the client import it without importing each other.

/** The part of the browser WebSocket the client uses. */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;
