//! The event bus behind the gateway, behind one interface: Redis in
//! production ([`redis`]), the in-process bus for a first look and for tests
//! ([`memory`]).
//!
//! A bus does two things, and the rest of the gateway sees only these:
//!
//! - it **feeds the hub** ([`Bus::run`]): every event published on it reaches
//!   the [`Hub`](crate::hub::Hub) once, in one order, under its id, and the
//!   state of the link is reported to the hub (and so to every client);
//! - it **publishes** ([`Publish::publish`]): the CLI, the simulator and the
//!   HTTP API hand it an event they have validated, and get its id back once
//!   it is recorded wherever the bus keeps its record.
//!
//! The hub knows nothing of which bus feeds it; a bus knows the hub only
//! through the hub's public relay methods.

pub mod memory;
pub mod redis;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::event::{EventId, Rejection, ValidEvent};
use crate::frames::BusKind;
use crate::hub::Hub;

/// Which bus a gateway reads.
#[derive(Debug, Clone)]
pub enum BusConfig {
    /// The in-process bus: events come from publishers in this process.
    Memory,
    /// A Redis pub/sub channel, recorded in a Redis stream.
    Redis(redis::LinkConfig),
}

impl BusConfig {
    pub fn kind(&self) -> BusKind {
        match self {
            BusConfig::Memory => BusKind::Memory,
            BusConfig::Redis(_) => BusKind::Redis,
        }
    }
}

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the event was refused: {0}")]
    Rejected(#[from] Rejection),
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("redis answered with an unexpected reply: {0}")]
    BadReply(String),
    #[error("not a Redis URL: {0}")]
    BadUrl(String),
    /// Recorded on the primary as `id`, but fewer replicas than asked
    /// confirmed it in time: a failover now could lose it. Publishing it
    /// again is safe (run state folds a repeated step once).
    #[error("recorded as {id} but confirmed by {acked} of {wanted} replicas in time")]
    NotReplicated {
        id: EventId,
        acked: u32,
        wanted: u32,
    },
}

/// Sends validated events to a bus.
pub trait Publish: Send + Sync {
    /// Publishes `event` and returns the id it was recorded under.
    fn publish<'a>(&'a self, event: &'a ValidEvent)
    -> BoxFuture<'a, Result<EventId, PublishError>>;
}

/// A bus a gateway reads: it publishes, and it feeds the hub it was opened
/// with.
pub trait Bus: Publish {
    /// Feeds the hub until `shutdown`: connects, reconnects with back-off,
    /// reloads history, and reports the link's state to the hub. Never
    /// fails: a broken link is a bus reported down.
    fn run(self: Arc<Self>, shutdown: CancellationToken) -> BoxFuture<'static, ()>;

    /// The same bus, as a publisher to hand out.
    fn publisher(self: Arc<Self>) -> Arc<dyn Publish>;
}

/// Opens the bus `config` names, feeding `hub`. Nothing connects until
/// [`Bus::run`]; only a malformed Redis URL fails here.
pub fn open(config: &BusConfig, hub: Arc<Hub>) -> Result<Arc<dyn Bus>, PublishError> {
    Ok(match config {
        BusConfig::Memory => Arc::new(memory::MemoryBus::new(hub)),
        BusConfig::Redis(link) => Arc::new(redis::RedisBus::new(link.clone(), hub)?),
    })
}
