// A WebSocket and a browser environment that a test drives by hand, for the
// socket client's options (`createSocket`, `environment`): what the client's
// own tests and those of the React bindings connect through.

import type { Environment, SocketLike } from '../socket/client.js';

/** A WebSocket the test drives by hand: `open`, `receive`, `drop` play the gateway. */
export class FakeSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  readonly sent: string[] = [];
  closedWith: { code?: number; reason?: string } | null = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(data);
  }
  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
  }

  // The gateway's side.
  open(): void {
    this.onopen?.({});
  }
  receive(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }
  drop(code: number, reason = ''): void {
    this.onerror?.({});
    this.onclose?.({ code, reason });
  }
}

/** Every socket a client opened through `create`, the last one at the end. */
export class FakeSockets {
  readonly all: FakeSocket[] = [];
  readonly create = (url: string): FakeSocket => {
    const socket = new FakeSocket(url);
    this.all.push(socket);
    return socket;
  };
  last(): FakeSocket {
    const socket = this.all.at(-1);
    if (!socket) throw new Error('no socket was opened');
    return socket;
  }
}

/** Online and visible until the test says otherwise. */
export class FakeEnvironment implements Environment {
  online = true;
  handlers: { online(): void; offline(): void; visible(): void } | null = null;
  isOnline(): boolean {
    return this.online;
  }
  watch(handlers: { online(): void; offline(): void; visible(): void }) {
    this.handlers = handlers;
    return () => {
      this.handlers = null;
    };
  }
  goOffline(): void {
    this.online = false;
    this.handlers?.offline();
  }
  goOnline(): void {
    this.online = true;
    this.handlers?.online();
  }
}
