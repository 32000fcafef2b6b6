//! The event bus behind the gateway: Redis pub/sub in production, an
//! in-process bus for a first look and for tests.
//!
//! Both feed the same [`Hub`](crate::hub::Hub). The in-process bus is the hub
//! itself: publishing calls [`Hub::ingest`](crate::hub::Hub::ingest)
//! directly. The Redis link ([`redis`]) is a task that keeps a subscription
//! alive and feeds the hub. [`Publisher`] is how the simulator, the CLI and
//! the demo send events, whichever bus is in use. On Redis it records the
//! event in the gateways' stream as well as publishing it, so the event is
//! kept even while no gateway is running.

pub mod redis;

use std::sync::Arc;
use std::time::Duration;

use ::redis::AsyncCommands;

use crate::event::Rejection;
use crate::history::DEFAULT_HISTORY_SIZE;
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
    /// Recorded in the stream and published on the channel of a Redis server.
    Redis {
        connection: ::redis::aio::MultiplexedConnection,
        channel: String,
        keys: redis::Keys,
        maxlen: usize,
    },
}

impl Publisher {
    /// Connects to Redis at `url` for publishing on `channel`.
    pub async fn connect_redis(url: &str, channel: &str) -> Result<Publisher, PublishError> {
        let client = ::redis::Client::open(url)?;
        let config = redis::command_connection_config();
        let connect = client.get_multiplexed_async_connection_with_config(&config);
        let mut connection = tokio::time::timeout(redis::CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| PublishError::Timeout(redis::CONNECT_TIMEOUT))??;
        let keys = redis::Keys::for_channel(channel);
        // The gateways say how long the stream is kept; before any has run,
        // the default.
        let maxlen: Option<usize> = connection.hget(&keys.settings, "maxlen").await?;
        Ok(Publisher::Redis {
            connection,
            channel: channel.to_owned(),
            keys,
            maxlen: maxlen.unwrap_or(DEFAULT_HISTORY_SIZE),
        })
    }

    /// Publishes one event (JSON text). On Redis, returns the id under
    /// which the event was recorded.
    pub async fn publish(&mut self, event: &str) -> Result<Option<String>, PublishError> {
        match self {
            Publisher::Memory(hub) => {
                hub.ingest(event.as_bytes())?;
                Ok(None)
            }
            Publisher::Redis {
                connection,
                channel,
                keys,
                maxlen,
            } => {
                let send = redis::publish_recorded(connection, keys, channel, *maxlen, event);
                let id = tokio::time::timeout(redis::COMMAND_TIMEOUT, send)
                    .await
                    .map_err(|_| PublishError::Timeout(redis::COMMAND_TIMEOUT))??;
                Ok(Some(id))
            }
        }
    }
}
