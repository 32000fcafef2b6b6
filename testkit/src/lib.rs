//! What Tactical Link's integration tests and its load benchmark start and
//! talk to, written once for both: a real `redis-server` and gateways on
//! free ports, stopped when dropped, and the clients that talk to them.
//!
//! # Layout
//!
//! - [`redis`]: a `redis-server` of our own (start, kill, restart, persist).
//! - [`cluster`]: a Redis Cluster of three masters and three replicas.
//! - [`sentinel`]: a primary, its replica and three Redis Sentinels.
//! - [`haproxy`]: HAProxy on the shipped `deploy/haproxy.cfg`, before gateways.
//! - [`gateway`]: the gateway in this process, through `Gateway::serve`.
//! - [`process`]: the gateway (or another server) as a child process.
//! - [`served`]: what both kinds of gateway answer: URLs, metrics, readiness.
//! - [`http`]: a blocking HTTP GET and the Prometheus text it fetches.
//! - [`ws`]: a WebSocket client reading JSON frames with timeouts.
//! - [`failover`]: readiness polled, a durable publisher's log, and the
//!   checks on what clients got, while a test fails Redis.
//! - [`follow`]: a client that resumes after every disconnect, as the
//!   dashboard does, until it has every event.
//! - [`procstat`]: a process's memory and CPU time, from `/proc`.
//! - [`tokens`]: HS256 secrets and tokens, as an identity provider mints them.
//! - [`temp`]: free ports (and pairs of them), unique names and temporary
//!   directories.
//! - [`wait`]: polling until a condition holds.
//! - [`events`]: `pipeline.stage` events as the tests publish them.

pub mod cluster;
pub mod events;
pub mod failover;
pub mod follow;
pub mod gateway;
pub mod haproxy;
pub mod http;
pub mod process;
pub mod procstat;
pub mod redis;
pub mod sentinel;
pub mod served;
pub mod temp;
pub mod tokens;
pub mod wait;
pub mod ws;

pub use cluster::RedisCluster;
pub use events::stage_event;
pub use gateway::Gateway;
pub use haproxy::HaProxy;
pub use process::{GatewayProcess, Signal};
pub use redis::RedisServer;
pub use sentinel::RedisSentinel;
pub use served::Served;
pub use temp::{TempDir, free_port, free_port_pairs};
pub use tokens::Minter;
pub use wait::{eventually, wait_until};
pub use ws::{Client, Next};
