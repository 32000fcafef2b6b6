//! Tactical Link: a real-time gateway from a Redis event bus to live
//! pipeline dashboards over WebSocket.
//!
//! # Layout
//!
//! - [`event`]: the event format publishers send, and its validation.
//! - [`auth`]: JWT verification, principals, and what each may see.
//! - [`admission`]: origin check, connection limits, client message rate.
//! - [`pipeline`]: the authoritative state of every pipeline run.
//! - [`hub`]: validates, numbers, folds and fans out every event; snapshots.
//! - [`history`]: the recent events a reconnecting client resumes from.
//! - [`frames`]: the WebSocket protocol's frames, serialised once.
//! - [`connection`]: one WebSocket client's protocol, from welcome to close.
//! - [`disconnect`]: every close code, its reasons, and what a client does.
//! - [`bus`]: the in-process bus, the Redis link, and publishing.
//! - [`server`]: start-up, the WebSocket upgrade and the shutdown drain.
//! - [`api`]: the HTTP endpoints (health, status, runs, events, publish).
//! - [`listener`]: the accept loop, TLS and the handshake deadline.
//! - [`web`]: the embedded dashboard.
//! - [`simulator`]: the pipeline "war room".
//! - [`cli`]: subcommands, flags and their validation.
//! - [`metrics`], [`backoff`], [`clock`]: small shared pieces.

pub mod admission;
pub mod api;
pub mod auth;
pub mod backoff;
pub mod bus;
pub mod cli;
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
pub mod revocation;
pub mod server;
pub mod simulator;
pub mod web;
