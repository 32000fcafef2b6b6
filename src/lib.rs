//! Tactical Link: a real-time gateway from a Redis event bus to live
//! pipeline dashboards over WebSocket.
//!
//! # Layout
//!
//! The path of an event, in order (docs/architecture.md draws it):
//!
//! - [`bus`]: the event bus behind one interface ([`bus::Bus`],
//!   [`bus::Publish`]): [`bus::memory`] for a first look, [`bus::redis`]
//!   (recorder, stream reader, publisher, Lua scripts) in production.
//! - [`event`]: the event format publishers send, its validation, the
//!   `pipeline.stage` builder, and [`event::EventId`].
//! - [`hub`]: where a valid event is folded, serialised once, kept for
//!   resume and broadcast; snapshots and resume under one lock.
//! - [`pipeline`]: the authoritative state of every run: one order per
//!   stage, retries, progress, stalls, retention.
//! - [`history`]: the recent event frames a reconnecting client resumes from.
//! - [`frames`]: the WebSocket protocol's frames, serialised once.
//! - [`connection`]: one WebSocket client's protocol, from welcome to close
//!   (generic over its socket), with batching, conflation and heartbeats.
//! - [`disconnect`]: every close code, its reasons, and what a client does.
//!
//! Around it:
//!
//! - [`server`]: start-up, routes, the WebSocket upgrade, the shutdown drain.
//! - [`listener`]: the accept loop, TLS, the handshake deadline.
//! - [`proxies`]: the client's address behind a load balancer: trusted
//!   proxies, the PROXY protocol, `X-Forwarded-For` and `Forwarded`.
//! - [`guard`]: the HTTP admission policy (Host, requests per address,
//!   JSON and Origin on writes); [`headers`]: the security headers.
//! - [`api`]: the HTTP endpoints (health, status, runs, events, publish).
//! - [`auth`]: JWT verification, principals, and what each may see;
//!   [`revocation`]: the deny list of tokens and users.
//! - [`admission`]: origins, connection limits, message rate, the throttle
//!   on failed authentications.
//! - [`web`]: the embedded dashboard.
//! - [`simulator`]: the pipeline "war room".
//! - [`cli`]: subcommands, flags and their validation.
//! - [`metrics`], [`log_limit`], [`backoff`], [`clock`]: shared pieces.

pub mod admission;
pub mod api;
pub mod auth;
pub mod backoff;
pub mod bus;
pub mod cli;
pub mod clients;
pub mod clock;
pub mod connection;
pub mod disconnect;
pub mod event;
pub mod frames;
pub mod guard;
pub mod headers;
pub mod history;
pub mod hub;
pub mod listener;
pub mod log_limit;
pub mod metrics;
pub mod pipeline;
pub mod proxies;
pub mod revocation;
pub mod server;
pub mod simulator;
pub mod tickets;
pub mod web;
