//! The recorder: one subscription to the channel, and every message on it
//! recorded in the stream once, by the gateway that holds the recorder
//! lease ([`super::lease`]); the standby keeps what it receives
//! ([`super::standby`]) and records it if it takes the lease over. The
//! subscription always carries the delivery probes; it carries the channel
//! from the connection on until the lease loop says this gateway follows
//! (then it unsubscribes: a follower relays from the stream), and again
//! whenever it stands by or records.
//!
//! Messages already waiting are recorded together, in one pipeline of
//! [`scripts::RECORD`] calls: one round trip for the lot, in order. The
//! script answers with the entry's id and the id before it, so the recorder
//! relays each event straight from the reply when the hub has relayed
//! everything before it ([`Hub::relay_after`]); the stream reader relays the
//! rest, in order, using the recorder's parse ([`Parsed`]).

use futures_util::{FutureExt, StreamExt};
use redis::AsyncCommands;
use redis::aio::{MultiplexedConnection, PubSubStream};

use super::lease::Role;
use super::parsed::Parsed;
use super::scripts::MAX_RUN_STEPS;
use super::{COMMAND_TIMEOUT, CONNECT_TIMEOUT, Link, LinkError, Part, RunRecord, scripts, within};
use std::sync::Arc;

use crate::event::{EventId, ValidEvent};
use crate::hub::{Hub, Relay};

/// Most messages recorded in one pipeline.
const RECORD_BATCH: usize = 512;

/// Messages recorded in one pipeline for a stream that keeps `history_size`
/// entries: at most a quarter of them. The stream runs ahead of what the
/// hub has relayed by up to one pipeline; were that more than the stream
/// keeps, the stream reader (`XREAD` from the hub's last id) could find
/// the entries after that id trimmed away, and skip them.
pub fn record_batch_limit(history_size: usize) -> usize {
    (history_size / 4).clamp(1, RECORD_BATCH)
}

/// The recorder's connections: the subscription and one for commands.
struct Connected {
    messages: PubSubStream,
    sink: redis::aio::PubSubSink,
    commands: MultiplexedConnection,
    script_sha: String,
    probe: Probe,
}

/// Whether the subscription delivers: a probe published through the command
/// connection (to the primary) must come back on the subscription. A socket
/// can stay open and answer pings while nothing published reaches it (a
/// subscription left on a demoted node after a failover): readiness must
/// mean that delivery works.
#[derive(Debug, Default)]
struct Probe {
    sent: u64,
    seen: u64,
    /// When the oldest probe not seen yet was sent.
    waiting_since: Option<tokio::time::Instant>,
}

/// Longest a probe may take to come back before the subscription is taken
/// for dead and made again. It waits behind every message before it, so a
/// burst of large events on a busy machine delays it by seconds: a dead
/// server is found out sooner by the ping (answered as soon as the socket
/// is read, unanswered after [`COMMAND_TIMEOUT`]); the probe finds a
/// subscription that answers and delivers nothing.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Link {
    /// Subscribes and records until the connection fails.
    pub(super) async fn record(&self, backoff: &mut crate::backoff::Backoff) -> LinkError {
        let mut connected = match self.connect_recorder().await {
            Ok(connected) => connected,
            Err(err) => return err,
        };
        backoff.reset();
        self.roles.set_listening(true);
        self.health.hub.metrics().bus_connects.inc();
        tracing::info!(channel = %self.config.channel, "recorder subscribed to Redis");
        self.health.report(Part::Recorder, Ok(()));
        let mut ping = tokio::time::interval(self.config.ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.reset();
        let limit = record_batch_limit(self.config.history_size);
        let mut batch = Vec::with_capacity(limit);
        let mut barriers = self.barriers.requests.lock().await;
        let mut roles = self.roles.watch();
        roles.borrow_and_update();
        loop {
            let step = tokio::select! {
                Some(done) = barriers.recv() => {
                    let drained = self.drain(&mut connected, &mut batch, limit).await;
                    let _ = done.send(());
                    drained
                }
                Ok(()) = roles.changed() => {
                    let role = *roles.borrow_and_update();
                    self.align(&mut connected, role).await
                }
                message = connected.messages.next() => {
                    let Some(message) = message else { return LinkError::Closed };
                    let closed = self.collect(message, &mut connected, &mut batch, limit);
                    match self.record_or_keep(&mut connected, &batch).await {
                        Ok(()) if closed => Err(LinkError::Closed),
                        result => result,
                    }
                }
                _ = ping.tick() => self.probe(&mut connected).await,
            };
            if let Err(err) = step {
                return err;
            }
        }
    }

    /// The holder of the lease records `batch` (after what it kept as a
    /// standby, if it has just taken over); any other gateway keeps it.
    async fn record_or_keep(
        &self,
        connected: &mut Connected,
        batch: &[Arc<ValidEvent>],
    ) -> Result<(), LinkError> {
        if !self.roles.records() {
            self.standby.keep(batch);
            return Ok(());
        }
        self.record_standby(connected).await?;
        self.record_batch(connected, batch).await.map(|_| ())
    }

    /// Subscribes to the channel while this gateway records or stands by,
    /// and not otherwise (a follower relays from the stream); a recorder
    /// records what it kept as a standby first.
    async fn align(&self, connected: &mut Connected, role: Role) -> Result<(), LinkError> {
        let channel = self.config.channel.as_str();
        let listen = role != Role::Follower;
        // Subscribed to the channel (not only to the probes): from the
        // connection on until this says otherwise (`Roles::listening`).
        let listening = self.roles.listening();
        if listen && !listening {
            within(COMMAND_TIMEOUT, connected.sink.subscribe(channel)).await?;
        } else if !listen && listening {
            within(COMMAND_TIMEOUT, connected.sink.unsubscribe(channel)).await?;
            // Only what a standby heard without a gap is worth recording.
            drop(self.standby.take());
        }
        self.roles.set_listening(listen);
        if role == Role::Recorder {
            self.record_standby(connected).await?;
        }
        Ok(())
    }

    /// Records what this gateway kept as a standby: at a takeover, the
    /// messages the previous holder may not have recorded. Those it had
    /// are known to the script and not recorded again.
    async fn record_standby(&self, connected: &mut Connected) -> Result<(), LinkError> {
        let kept = self.standby.take();
        for chunk in kept.chunks(record_batch_limit(self.config.history_size)) {
            let new = self.record_batch(connected, chunk).await?;
            self.health
                .hub
                .metrics()
                .standby_recorded
                .inc_by(new as u64);
        }
        Ok(())
    }

    /// A barrier for the reader: records every message Redis sent on the
    /// subscription before now (a standby too: the script knows those the
    /// holder recorded and answers their ids). A `PING` on the subscription is answered
    /// after every message already sent on it, and the driver queues those
    /// in socket order, so once the ping is answered they are all waiting.
    async fn drain(
        &self,
        connected: &mut Connected,
        batch: &mut Vec<Arc<ValidEvent>>,
        limit: usize,
    ) -> Result<(), LinkError> {
        within(COMMAND_TIMEOUT, connected.sink.ping::<redis::Value>()).await?;
        while let Some(next) = connected.messages.next().now_or_never() {
            let Some(message) = next else {
                return Err(LinkError::Closed);
            };
            let closed = self.collect(message, connected, batch, limit);
            self.record_standby(connected).await?;
            self.record_batch(connected, batch).await?;
            if closed {
                return Err(LinkError::Closed);
            }
        }
        Ok(())
    }

    async fn connect_recorder(&self) -> Result<Connected, LinkError> {
        let connect = async {
            let client = self.endpoint.client().await?;
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(self.config.channel.as_str()).await?;
            pubsub.subscribe(self.keys.probe.as_str()).await?;
            let mut commands = client
                .get_multiplexed_async_connection_with_config(&super::command_connection_config())
                .await?;
            // Publishers read the stream's bounds from here.
            let bounds = [
                ("maxlen", self.config.history_size),
                ("maxbytes", self.config.history_bytes),
                ("retention_s", self.config.run_retention_s.max(1) as usize),
            ];
            let _: () = commands.hset_multiple(&self.keys.settings, &bounds).await?;
            Ok((pubsub, commands))
        };
        let (pubsub, mut commands) = within(CONNECT_TIMEOUT, connect).await?;
        let mut load = redis::cmd("SCRIPT");
        load.arg("LOAD").arg(scripts::RECORD);
        let script_sha = within(COMMAND_TIMEOUT, load.query_async::<String>(&mut commands)).await?;
        let (sink, messages) = pubsub.split();
        Ok(Connected {
            messages,
            sink,
            commands,
            script_sha,
            probe: Probe::default(),
        })
    }

    /// Validates `first` and every message already waiting behind it, up to
    /// `limit`, into `batch`. Invalid messages are counted and logged by the
    /// hub, and never recorded. True when the subscription ended.
    fn collect(
        &self,
        first: redis::Msg,
        connected: &mut Connected,
        batch: &mut Vec<Arc<ValidEvent>>,
        limit: usize,
    ) -> bool {
        batch.clear();
        let mut next = Some(first);
        while let Some(message) = next.take() {
            if message.get_channel_name() == self.keys.probe {
                self.probe_came_back(&mut connected.probe, message.get_payload_bytes());
            } else if let Ok(event) = self.health.hub.validate(message.get_payload_bytes()) {
                let event = Arc::new(event);
                self.parsed.keep(&event);
                batch.push(event);
            }
            if batch.len() < limit {
                match connected.messages.next().now_or_never() {
                    Some(Some(message)) => next = Some(message),
                    Some(None) => return true,
                    None => {}
                }
            }
        }
        false
    }

    /// Pings the subscription, and publishes a probe that must come back on
    /// it; fails when the previous one has not within [`PROBE_TIMEOUT`].
    async fn probe(&self, connected: &mut Connected) -> Result<(), LinkError> {
        let probe = &mut connected.probe;
        if probe
            .waiting_since
            .is_some_and(|since| since.elapsed() > PROBE_TIMEOUT)
        {
            return Err(LinkError::Deaf);
        }
        within(COMMAND_TIMEOUT, connected.sink.ping::<redis::Value>()).await?;
        probe.sent += 1;
        probe
            .waiting_since
            .get_or_insert_with(tokio::time::Instant::now);
        let payload = format!("{} {}", self.gateway_id, probe.sent);
        let publish = connected
            .commands
            .publish::<_, _, i64>(&self.keys.probe, payload);
        within(COMMAND_TIMEOUT, publish).await.map(|_| ())
    }

    /// Notes a probe on the probe channel: ours says the subscription works.
    fn probe_came_back(&self, probe: &mut Probe, payload: &[u8]) {
        let text = String::from_utf8_lossy(payload);
        let Some((gateway, n)) = text.split_once(' ') else {
            return;
        };
        if gateway == self.gateway_id
            && let Ok(n) = n.parse::<u64>()
        {
            probe.seen = probe.seen.max(n);
            if probe.seen >= probe.sent {
                probe.waiting_since = None;
            }
        }
    }

    /// Records `batch` in order in one pipeline, then relays each event
    /// straight from the reply when nothing is missing before it. Returns
    /// how many this call recorded (the others were recorded already).
    async fn record_batch(
        &self,
        connected: &mut Connected,
        batch: &[Arc<ValidEvent>],
    ) -> Result<usize, LinkError> {
        if batch.is_empty() {
            return Ok(0);
        }
        let window = self.config.dedup_window.as_secs().max(1);
        let mut pipe = redis::pipe();
        for event in batch {
            let run = RunRecord::of(event);
            pipe.cmd("EVALSHA")
                .arg(&connected.script_sha)
                .arg(6)
                .arg(&self.keys.stream)
                .arg(&self.keys.settings)
                .arg(run.keys(&self.keys))
                .arg(self.keys.seen(event.raw.as_bytes()))
                .arg(&self.gateway_id)
                .arg(event.raw.as_bytes())
                .arg(self.config.history_size)
                .arg(window)
                .arg(self.config.history_bytes)
                .arg(&run.run)
                .arg(run.kind)
                .arg(run.stage)
                .arg(MAX_RUN_STEPS)
                .arg(self.config.run_retention_s.max(1));
        }
        let replies: Vec<redis::Value> =
            within(COMMAND_TIMEOUT, pipe.query_async(&mut connected.commands)).await?;
        let mut new = 0;
        for (event, reply) in batch.iter().zip(replies) {
            new += usize::from(relay_recorded(&self.health.hub, &self.parsed, event, reply));
        }
        Ok(new)
    }
}

/// Relays one recorded event from its reply when it follows the last relayed
/// one; otherwise leaves its parse to the stream reader. True when this call
/// recorded it.
fn relay_recorded(hub: &Hub, parsed: &Parsed, event: &ValidEvent, reply: redis::Value) -> bool {
    let Some(recorded) = recorded(reply) else {
        // A duplicate whose id is unknown: the reader brings it.
        return false;
    };
    if hub.relay_after(recorded.previous, recorded.id, event) != Relay::NotNext {
        parsed.forget(event.raw.as_bytes());
    }
    recorded.new
}

/// What [`scripts::RECORD`] said of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub id: EventId,
    /// The entry before it (`None` for the stream's first).
    pub previous: Option<EventId>,
    /// This call recorded it (another recorder had not).
    pub new: bool,
}

/// The `{id, previous, recorded}` reply of [`scripts::RECORD`], or `None` (a
/// duplicate whose id is unknown, or a reply of another shape).
pub fn recorded(reply: redis::Value) -> Option<Recorded> {
    let redis::Value::Array(parts) = &reply else {
        return None;
    };
    let new = matches!(parts.get(2), Some(redis::Value::Int(1)));
    let (id, previous) = recorded_ids(reply)?;
    Some(Recorded { id, previous, new })
}

/// The id and previous id of a [`scripts::RECORD`] reply.
fn recorded_ids(reply: redis::Value) -> Option<(EventId, Option<EventId>)> {
    let redis::Value::Array(parts) = reply else {
        return None;
    };
    let text = |value: &redis::Value| match value {
        redis::Value::BulkString(bytes) => std::str::from_utf8(bytes).ok().map(str::to_owned),
        redis::Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    };
    let (Some(id), Some(previous)) = (parts.first(), parts.get(1)) else {
        return None;
    };
    let id = text(id)?.parse().ok()?;
    let previous = text(previous)?;
    let previous = if previous.is_empty() {
        None
    } else {
        Some(previous.parse().ok()?)
    };
    Some((id, previous))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipeline_never_outruns_the_stream_it_records_into() {
        assert_eq!(record_batch_limit(10_000), RECORD_BATCH);
        assert_eq!(record_batch_limit(64), 16);
        assert_eq!(record_batch_limit(2), 1);
        for size in [1, 3, 64, 100, 2047, 2048, 100_000] {
            assert!(record_batch_limit(size) * 4 <= size.max(4));
        }
    }

    #[test]
    fn the_record_reply_gives_the_id_and_the_one_before() {
        let bulk = |s: &str| redis::Value::BulkString(s.as_bytes().to_vec());
        let id = |ms, seq| EventId { ms, seq };
        assert_eq!(
            recorded_ids(redis::Value::Array(vec![bulk("5-1"), bulk("5-0")])),
            Some((id(5, 1), Some(id(5, 0))))
        );
        assert_eq!(
            recorded_ids(redis::Value::Array(vec![bulk("5-0"), bulk("")])),
            Some((id(5, 0), None)),
            "the first entry of an empty stream"
        );
        assert_eq!(
            recorded_ids(redis::Value::Nil),
            None,
            "an unknown duplicate"
        );
        assert_eq!(
            recorded_ids(redis::Value::Array(vec![bulk("5-0")])),
            None,
            "another shape"
        );
        let reply =
            |flag| redis::Value::Array(vec![bulk("5-1"), bulk("5-0"), redis::Value::Int(flag)]);
        assert!(recorded(reply(1)).unwrap().new);
        assert!(!recorded(reply(0)).unwrap().new, "recorded by another");
    }
}
