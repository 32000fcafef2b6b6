// '@tactical-link/client/testing': sample frames shaped as docs/protocol.md
// shows them, and a WebSocket, an event stream, the gateway's HTTP side and
// a browser environment that a test drives by hand. For tests only (this
// package's, the React bindings', an app's).

export * from './fixtures.js';
export * from './fakeSocket.js';
export * from './fakeEventSource.js';
