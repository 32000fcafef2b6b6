// @tactical-link/client: the framework-free client of the Tactical Link
// gateway (docs/protocol.md). What each part owns:
//
//   socket/client.ts     connect({ url, token?, lastId? }) and SocketClient:
//                        one socket at a time, resume, pings, listeners
//   socket/authMachine.ts, socket/machine.ts, socket/transport.ts
//                        the rules of the link, of authentication and of
//                        the transport (WebSocket, or the SSE fall-back) (pure)
//   socket/sse.ts, socket/probe.ts
//                        the event stream with its tickets; the probes
//   socket/frames.ts     frame types and their validators
//   socket/closeCodes.ts the protocol's close codes
//   socket/backoff.ts    capped exponential back-off with full jitter
//   socket/eventId.ts    event ids and run versions, compared
//   state/               the runs and events as the gateway sends them:
//                        pipelineReducer, Run, createPipelineStore (its
//                        listeners told at once or once per frame)
//   events.ts            the events publishers send: types and checkEvent
//   time.ts, gatewayStatus.ts, bus.ts
//                        times, GET /api/status, bus names
//
// Sample frames for tests are in '@tactical-link/client/testing'.

export * from './socket/client.js';
export * from './socket/frames.js';
export * from './socket/closeCodes.js';
export * from './socket/backoff.js';
export * from './socket/eventId.js';
export * from './state/pipeline.js';
export * from './state/runs.js';
export * from './state/store.js';
export * from './state/schedule.js';
export * from './events.js';
export * from './time.js';
export * from './gatewayStatus.js';
export * from './bus.js';
