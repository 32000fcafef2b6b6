//! `tactical-link-bench`: a load benchmark for the gateway, beside the
//! Python baseline of the original design (bench/baselines/) and the floor,
//! a bare relay of the benchmark's own ([`floor`]).
//!
//! One run: start (or find) Redis and the server, open N WebSocket clients,
//! wait until every one has its snapshot, publish M events at R events/s
//! with plain `PUBLISH`, wait for the deliveries to drain, and report loss,
//! latency, throughput, and the server's memory and CPU beside the
//! benchmark's own (both share the machine's cores).
//! `tactical-link-bench summarize` turns the JSON of many runs into
//! docs/performance.md, which says how to run it and what the figures mean.
//! `tactical-link-bench redis-cost` measures what Redis spends per event as
//! gateways are added; `tactical-link-bench wait-cost` what waiting for a
//! replica costs a durable publish; `tactical-link-bench storm` what a
//! gateway's death or a rolling restart costs the clients, the gateways and
//! Redis; `tactical-link-bench flood` the gateway's memory under a flood of
//! large events.
//!
//! # Layout
//!
//! - [`args`]: the command line, checked before anything starts.
//! - [`run`]: one run, phase by phase, into a [`report::Report`].
//! - [`servers`]: the Redis and the server a run starts, or finds.
//! - [`floor`]: the bare relay every case is measured against.
//! - [`clients`]: every client of a run, connected, stopped and added up.
//! - [`client`]: one client (WebSocket or SSE) and its source address.
//! - [`sse`]: the Server-Sent Events client: the event stream as frames.
//! - [`probe`]: reads a frame's type, sequence number and send time cheaply.
//! - [`tally`]: per-client loss/duplicate accounting and latency histogram.
//! - [`load`]: the publish phase: paced events, the drain, CPU shares.
//! - [`publisher`]: the paced publisher and the events it sends.
//! - [`scrape`]: `/metrics` scraped during the publish phase.
//! - [`system`]: the machine's CPU and TCP memory, this process's CPU.
//! - [`report`]: one run's figures, as JSON.
//! - [`files`]: writing files, JSON, and sections spliced into a page.
//! - [`table`]: one run's figures as the table printed at the end.
//! - [`summary`]: medians over trials, side by side, as Markdown and SVG.
//! - [`redis_cost`]: Redis CPU per event with 1, 2, 4, 8 … gateways.
//! - [`wait_cost`]: durable publishes with and without `WAIT` for a replica.
//! - [`storm`]: reconnect storms through HAProxy to three gateways.
//! - [`flood`]: memory under a flood of large events, against its bound.

pub mod args;
pub mod client;
pub mod clients;
pub mod files;
pub mod flood;
pub mod floor;
pub mod load;
pub mod probe;
pub mod publisher;
pub mod redis_cost;
pub mod report;
pub mod run;
pub mod scrape;
pub mod servers;
pub mod sse;
pub mod storm;
pub mod summary;
pub mod system;
pub mod table;
pub mod tally;
pub mod wait_cost;

pub use args::{BenchAction, BenchArgs, RunArgs};
pub use run::run;
