//! The Redis link: a subscription to the events channel that survives
//! Redis going away.
//!
//! redis-rs's pub/sub stream simply ends when its connection drops, so this
//! task owns the reconnect loop: connect, subscribe, forward every message
//! to the hub in order (no task per message), ping so that a silent dead
//! link is noticed, and on any failure report the bus down, wait a capped,
//! jittered back-off and start again. Redis pub/sub is at-most-once: what is
//! published while the link is down is lost, and the `bus` frame says so.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use futures_util::StreamExt;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::hub::Hub;

/// Longest wait for a TCP connection and handshake to Redis.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for Redis to answer one command.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// How the link behaves.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    pub url: String,
    pub channel: String,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How often an idle subscription is checked with a PING.
    pub ping_interval: Duration,
}

impl LinkConfig {
    pub fn new(url: &str, channel: &str) -> Self {
        LinkConfig {
            url: url.to_owned(),
            channel: channel.to_owned(),
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_secs(5),
            ping_interval: Duration::from_secs(5),
        }
    }
}

/// Why one connection of the link ended.
#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error("{0}")]
    Redis(#[from] redis::RedisError),
    #[error("no answer from Redis within {0:?}")]
    Timeout(Duration),
    #[error("connection closed by Redis")]
    Closed,
}

/// Runs the link until `shutdown` is cancelled. Never returns an error:
/// every failure is reported to the hub as the bus being down.
pub async fn run_link(hub: Arc<Hub>, config: LinkConfig, shutdown: CancellationToken) {
    let client = match redis::Client::open(config.url.as_str()) {
        Ok(client) => client,
        Err(err) => {
            // The URL is validated with the configuration; this is a backstop.
            hub.set_bus(false, Some(format!("invalid Redis URL: {err}")));
            return;
        }
    };
    let mut backoff = Backoff::new(config.backoff_base, config.backoff_cap);
    let mut rng = StdRng::from_os_rng();
    loop {
        let outcome = tokio::select! {
            _ = shutdown.cancelled() => return,
            outcome = connect_and_forward(&client, &config, &hub, &mut backoff) => outcome,
        };
        let detail = outcome.to_string();
        if hub.bus_state().up {
            hub.metrics().bus_disconnects.fetch_add(1, Relaxed);
            tracing::warn!(error = %detail, "lost the Redis link; events published until it is back are lost");
        } else if backoff.attempt() == 0 {
            tracing::warn!(error = %detail, "cannot reach Redis; retrying with back-off");
        } else {
            tracing::debug!(error = %detail, attempt = backoff.attempt(), "Redis still unreachable");
        }
        hub.set_bus(false, Some(detail));
        let delay = backoff.next_delay(&mut rng);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// One connection: subscribe, then forward until it fails.
async fn connect_and_forward(
    client: &redis::Client,
    config: &LinkConfig,
    hub: &Hub,
    backoff: &mut Backoff,
) -> LinkError {
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(config.channel.as_str()).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    let pubsub = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Err(_) => return LinkError::Timeout(CONNECT_TIMEOUT),
        Ok(Err(err)) => return err.into(),
        Ok(Ok(pubsub)) => pubsub,
    };
    let (mut sink, mut stream) = pubsub.split();
    backoff.reset();
    hub.metrics().bus_connects.fetch_add(1, Relaxed);
    tracing::info!(channel = %config.channel, "subscribed to Redis");
    hub.set_bus(true, None);

    let mut ping = tokio::time::interval(config.ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.reset();
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(message) => {
                    // Rejections are counted and logged by the hub.
                    let _ = hub.ingest(message.get_payload_bytes());
                }
                None => return LinkError::Closed,
            },
            _ = ping.tick() => {
                match tokio::time::timeout(COMMAND_TIMEOUT, sink.ping::<redis::Value>()).await {
                    Err(_) => return LinkError::Timeout(COMMAND_TIMEOUT),
                    Ok(Err(err)) => return err.into(),
                    Ok(Ok(_)) => {}
                }
            }
        }
    }
}
