//! Publishing on Redis the durable way: the event is recorded in the
//! gateways' stream and published on the channel in one script
//! ([`scripts::PUBLISH`]), so it is kept even while no gateway runs, and
//! every gateway skips its pub/sub copy (it is counted as seen).
//!
//! One multiplexed connection, opened on first use and again after an
//! error, serves every publish; concurrent publishes share it.
//!
//! Redis replicates asynchronously: a primary that dies right after
//! answering can take the event with it. With [`Replication`] the
//! publisher follows each publish with `WAIT`, and succeeds only once that
//! many replicas hold the event (docs/scaling.md weighs the cost).

use futures_util::future::BoxFuture;
use redis::Script;
use redis::aio::MultiplexedConnection;

use super::scripts::MAX_RUN_STEPS;
use super::{
    COMMAND_TIMEOUT, CONNECT_TIMEOUT, DEFAULT_DEDUP_WINDOW_S, Endpoint, Keys, RunRecord, scripts,
};
use crate::bus::{Publish, PublishError};
use crate::event::{self, EventId, ValidEvent};
use crate::history::{DEFAULT_HISTORY_BYTES, DEFAULT_HISTORY_SIZE};

/// How much of the stream and of runs is kept, as the gateways said.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    max_len: usize,
    max_bytes: usize,
    retention_s: u64,
}

/// How many replicas must hold an event before a publish succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replication {
    /// Replicas that must acknowledge; 0 waits for none.
    pub replicas: u32,
    /// How long to wait for them; kept below the command timeout.
    pub timeout: std::time::Duration,
}

impl Replication {
    /// No waiting: the primary's answer is enough.
    pub const NONE: Replication = Replication {
        replicas: 0,
        timeout: std::time::Duration::ZERO,
    };
}

/// Publishes events on one channel of one Redis.
pub struct RedisPublisher {
    endpoint: Endpoint,
    replication: Replication,
    channel: String,
    keys: Keys,
    script: Script,
    /// The connection and the stream bounds the gateways asked for, once
    /// connected.
    connected: tokio::sync::Mutex<Option<(MultiplexedConnection, Bounds)>>,
}

impl RedisPublisher {
    /// A publisher for `channel` at `url`; nothing connects until the first
    /// publish ([`RedisPublisher::connect`] connects at once).
    pub fn new(url: &str, channel: &str) -> Result<RedisPublisher, PublishError> {
        Ok(RedisPublisher {
            endpoint: Endpoint::parse(url, channel).map_err(PublishError::BadUrl)?,
            replication: Replication::NONE,
            channel: channel.to_owned(),
            keys: Keys::for_channel(channel),
            script: Script::new(scripts::PUBLISH),
            connected: tokio::sync::Mutex::new(None),
        })
    }

    /// A publisher already connected: a bad URL or an unreachable Redis is
    /// reported now rather than at the first publish.
    pub async fn connect(url: &str, channel: &str) -> Result<RedisPublisher, PublishError> {
        let publisher = RedisPublisher::new(url, channel)?;
        publisher.connection().await?;
        Ok(publisher)
    }

    /// The same publisher, waiting for `replication` after each publish.
    pub fn with_replication(mut self, replication: Replication) -> RedisPublisher {
        self.replication = replication;
        self
    }

    /// Validates `text` as an event, then publishes it.
    pub async fn publish_text(&self, text: &str) -> Result<EventId, PublishError> {
        let event = event::parse_event(text.as_bytes(), event::DEFAULT_MAX_EVENT_BYTES)?;
        self.publish_event(&event).await
    }

    async fn connection(&self) -> Result<(MultiplexedConnection, Bounds), PublishError> {
        let mut slot = self.connected.lock().await;
        if let Some(connected) = slot.as_ref() {
            return Ok(connected.clone());
        }
        let config = super::command_connection_config();
        let connect = self.endpoint.connect(&config);
        let mut connection = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| PublishError::Timeout(CONNECT_TIMEOUT))??;
        // The gateways say how much of the stream is kept; before any has
        // run, the defaults.
        let (maxlen, maxbytes, retention): (Option<usize>, Option<usize>, Option<u64>) =
            redis::cmd("HMGET")
                .arg(&self.keys.settings)
                .arg("maxlen")
                .arg("maxbytes")
                .arg("retention_s")
                .query_async(&mut connection)
                .await?;
        let bounds = Bounds {
            max_len: maxlen.unwrap_or(DEFAULT_HISTORY_SIZE),
            max_bytes: maxbytes.unwrap_or(DEFAULT_HISTORY_BYTES),
            retention_s: retention.unwrap_or(24 * 3600),
        };
        let connected = (connection, bounds);
        *slot = Some(connected.clone());
        Ok(connected)
    }

    async fn publish_event(&self, event: &ValidEvent) -> Result<EventId, PublishError> {
        let (mut connection, bounds) = self.connection().await?;
        let run = RunRecord::of(event);
        let mut invocation = self.script.key(&self.keys.stream);
        invocation.key(&self.keys.settings);
        for key in run.keys(&self.keys) {
            invocation.key(key);
        }
        invocation.key(self.keys.seen(event.raw.as_bytes()));
        invocation
            .arg(&event.raw)
            .arg(bounds.max_len)
            .arg(DEFAULT_DEDUP_WINDOW_S)
            .arg(&self.channel)
            .arg(bounds.max_bytes)
            .arg(&run.run)
            .arg(run.kind)
            .arg(run.stage)
            .arg(MAX_RUN_STEPS)
            .arg(bounds.retention_s);
        let send = invocation.invoke_async::<String>(&mut connection);
        let reply = match tokio::time::timeout(COMMAND_TIMEOUT, send).await {
            Ok(Ok(id)) => id,
            Ok(Err(err)) => return Err(self.lost(err.into()).await),
            Err(_) => return Err(self.lost(PublishError::Timeout(COMMAND_TIMEOUT)).await),
        };
        let id: EventId = reply.parse().map_err(|()| PublishError::BadReply(reply))?;
        self.replicated(&mut connection, id).await?;
        Ok(id)
    }

    /// Waits until the replicas asked for hold everything this connection
    /// wrote, `id` included. `WAIT` holds the connection meanwhile, so
    /// publishes sent during it are confirmed by the next one together.
    async fn replicated(
        &self,
        connection: &mut MultiplexedConnection,
        id: EventId,
    ) -> Result<(), PublishError> {
        let Replication { replicas, timeout } = self.replication;
        if replicas == 0 {
            return Ok(());
        }
        let mut command = redis::cmd("WAIT");
        command.arg(replicas).arg(timeout.as_millis() as u64);
        let wait = command.query_async::<u32>(connection);
        let acked = match tokio::time::timeout(COMMAND_TIMEOUT, wait).await {
            Ok(Ok(acked)) => acked,
            Ok(Err(err)) => return Err(self.lost(err.into()).await),
            Err(_) => return Err(self.lost(PublishError::Timeout(COMMAND_TIMEOUT)).await),
        };
        if acked < replicas {
            return Err(PublishError::NotReplicated {
                id,
                acked,
                wanted: replicas,
            });
        }
        Ok(())
    }

    /// Forgets the connection after a failure: the next publish connects
    /// again.
    async fn lost(&self, error: PublishError) -> PublishError {
        *self.connected.lock().await = None;
        error
    }
}

impl Publish for RedisPublisher {
    fn publish<'a>(
        &'a self,
        event: &'a ValidEvent,
    ) -> BoxFuture<'a, Result<EventId, PublishError>> {
        Box::pin(self.publish_event(event))
    }
}
