//! The event bus behind the gateway: Redis pub/sub in production, an
//! in-process bus for a first look and for tests.
//!
//! Both feed the same [`Hub`](crate::hub::Hub). The in-process bus is the hub
//! itself: publishing calls [`Hub::ingest`](crate::hub::Hub::ingest)
//! directly. The Redis link ([`redis`]) is a task that keeps a subscription
//! alive and feeds the hub. [`Publisher`] is how the simulator, the CLI and
//! the demo send events, whichever bus is in use.

pub mod redis;

use std::sync::Arc;
use std::time::Duration;

use ::redis::AsyncCommands;

use crate::event::Rejection;
use crate::hub::Hub;

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the event was refused: {0}")]
    Rejected(#[from] Rejection),
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
}

/// Sends events to the bus the gateway reads.
#[derive(Clone)]
pub enum Publisher {
    /// Straight into a hub in this process.
    Memory(Arc<Hub>),
    /// `PUBLISH <channel>` on a Redis server.
    Redis {
        connection: ::redis::aio::MultiplexedConnection,
        channel: String,
    },
}

impl Publisher {
    /// Connects to Redis at `url` for publishing on `channel`.
    pub async fn connect_redis(url: &str, channel: &str) -> Result<Publisher, PublishError> {
        let client = ::redis::Client::open(url)?;
        let connect = client.get_multiplexed_async_connection();
        let connection = tokio::time::timeout(redis::CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| PublishError::Timeout(redis::CONNECT_TIMEOUT))??;
        Ok(Publisher::Redis {
            connection,
            channel: channel.to_owned(),
        })
    }

    /// Publishes one event (JSON text). On Redis, returns how many
    /// subscribers (gateways, mostly) received it.
    pub async fn publish(&mut self, event: &str) -> Result<Option<u64>, PublishError> {
        match self {
            Publisher::Memory(hub) => {
                hub.ingest(event.as_bytes())?;
                Ok(None)
            }
            Publisher::Redis {
                connection,
                channel,
            } => {
                let send = connection.publish::<_, _, u64>(channel.as_str(), event);
                let receivers = tokio::time::timeout(redis::COMMAND_TIMEOUT, send)
                    .await
                    .map_err(|_| PublishError::Timeout(redis::COMMAND_TIMEOUT))??;
                Ok(Some(receivers))
            }
        }
    }
}
