//! The Redis link: every event recorded in a Redis stream, every gateway
//! relaying from that stream.
//!
//! Two tasks, each with its own reconnect loop (capped, jittered back-off,
//! interruptible by shutdown):
//!
//! - the **recorder** subscribes to the pub/sub channel, validates each
//!   message and records it in the stream `tactical-link:<channel>:events`
//!   with [`RECORD_SCRIPT`]. Several gateways on one Redis all receive every
//!   message; the script records each publication once (see below), so the
//!   stream holds every event once, in publish order. Messages already
//!   waiting are recorded together, in one pipeline. The script answers with
//!   the entry's id and the id before it, so the recorder relays the event
//!   at once when the hub has relayed everything before it. The reader may
//!   bring it first; the hub takes whichever comes first. Either way one
//!   Redis round trip separates publish and relay.
//! - the **reader** follows the stream (`XREAD BLOCK`) from the last id the
//!   hub relayed and hands the hub, under its stream id, each entry it has
//!   not relayed yet: whatever the recorder could not relay at once (entries
//!   recorded while this gateway's subscription was down, or by another
//!   gateway whose copy came first and whose id this one did not learn). On
//!   start it first reloads the retained window (`XREVRANGE`), so state and
//!   history survive a gateway restart. Every gateway reads the same stream,
//!   so every gateway gives an event the same id, and a client can resume on
//!   any of them.
//!
//! De-duplication: for each payload the script keeps, for a short window, how
//! many times each gateway has seen it (`HINCRBY seen:<sha1> <gateway> 1`).
//! The n-th sighting by one gateway is a new publication only when no other
//! gateway has reported n sightings yet; the first gateway to report it
//! records it. Publishers of ours ([`PUBLISH_SCRIPT`]) record the event
//! themselves and count it as seen, so gateways skip its pub/sub copy, and it
//! is recorded even while no gateway runs. docs/architecture.md says what
//! this guarantees and where it stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use parking_lot::Mutex;
use rand::SeedableRng;
use rand::rngs::StdRng;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamId, StreamRangeReply, StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands, AsyncConnectionConfig, Script};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::event;
use crate::event::EventId;
use crate::history::DEFAULT_HISTORY_SIZE;
use crate::hub::Hub;

/// Longest wait for a TCP connection and handshake to Redis.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for Redis to answer one command.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the reader's `XREAD` blocks when nothing comes.
const READ_BLOCK: Duration = Duration::from_secs(2);
/// Entries read per `XREAD`.
const READ_BATCH: usize = 1000;
/// Field of a stream entry that holds the event's JSON.
const EVENT_FIELD: &str = "e";
/// Field of a stream entry that holds the id of the entry before it
/// (empty for the first): lets a reader tell that entries between the last
/// one it relayed and this one were trimmed before it read them.
const PREVIOUS_FIELD: &str = "p";
/// Default length of the de-duplication window, in seconds.
pub const DEFAULT_DEDUP_WINDOW_S: u64 = 60;

/// Records a message a gateway received on the channel, unless another
/// gateway (or the publisher) already recorded that publication.
/// KEYS[1] stream. ARGV: seen-key prefix, gateway id, payload, max length,
/// window (s). Returns `{id, previous}`: the publication's entry id and the
/// stream's last id before it (`""` when it was empty), whether this call
/// recorded it or another did; nil for a duplicate whose id is unknown.
/// Fields of the seen hash: a count per gateway (and `~publisher`), and
/// `#<n>` = `id previous` of the n-th publication of the payload.
pub const RECORD_SCRIPT: &str = r#"
local seen = ARGV[1] .. redis.sha1hex(ARGV[3])
local mine = redis.call('HINCRBY', seen, ARGV[2], 1)
local fields = redis.call('HGETALL', seen)
local highest = 0
for i = 1, #fields, 2 do
  local name = fields[i]
  if name ~= ARGV[2] and string.sub(name, 1, 1) ~= '#' then
    local n = tonumber(fields[i + 1])
    if n > highest then highest = n end
  end
end
redis.call('EXPIRE', seen, ARGV[5])
if mine > highest then
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  local previous = ''
  if #last > 0 then previous = last[1][1] end
  local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'e', ARGV[3], 'p', previous)
  redis.call('HSET', seen, '#' .. mine, id .. ' ' .. previous)
  return {id, previous}
end
local known = redis.call('HGET', seen, '#' .. mine)
if known then
  local space = string.find(known, ' ', 1, true)
  return {string.sub(known, 1, space - 1), string.sub(known, space + 1)}
end
return false
"#;

/// Publishes an event the durable way: recorded in the stream, counted as
/// seen, then published on the channel for every other subscriber.
/// KEYS[1] stream. ARGV: seen-key prefix, payload, max length, window (s),
/// channel. Returns the entry id.
pub const PUBLISH_SCRIPT: &str = r#"
local seen = ARGV[1] .. redis.sha1hex(ARGV[2])
-- This publication's ordinal: one past every sighting so far, so a gateway
-- that already recorded earlier copies of the payload still skips this one.
local fields = redis.call('HGETALL', seen)
local n = 1
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, 1) ~= '#' then
    local count = tonumber(fields[i + 1])
    if count >= n then n = count + 1 end
  end
end
redis.call('HSET', seen, '~publisher', n)
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local previous = ''
if #last > 0 then previous = last[1][1] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[2], 'p', previous)
redis.call('HSET', seen, '#' .. n, id .. ' ' .. previous)
redis.call('EXPIRE', seen, ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[2])
return id
"#;

/// The Redis keys of one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// The stream that records every event.
    pub stream: String,
    /// Prefix of the per-payload de-duplication hashes.
    pub seen_prefix: String,
    /// Hash of settings the gateways share with publishers (`maxlen`).
    pub settings: String,
}

impl Keys {
    pub fn for_channel(channel: &str) -> Keys {
        Keys {
            stream: format!("tactical-link:{channel}:events"),
            seen_prefix: format!("tactical-link:{channel}:seen:"),
            settings: format!("tactical-link:{channel}:settings"),
        }
    }
}

/// How the link behaves.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    pub url: String,
    pub channel: String,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How often an idle subscription is checked with a PING.
    pub ping_interval: Duration,
    /// Entries the stream keeps (approximately, never fewer).
    pub history_size: usize,
    /// How long a payload is remembered for de-duplication.
    pub dedup_window: Duration,
}

impl LinkConfig {
    pub fn new(url: &str, channel: &str) -> Self {
        LinkConfig {
            url: url.to_owned(),
            channel: channel.to_owned(),
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_secs(5),
            ping_interval: Duration::from_secs(5),
            history_size: DEFAULT_HISTORY_SIZE,
            dedup_window: Duration::from_secs(DEFAULT_DEDUP_WINDOW_S),
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

/// A connection for commands: our own limits, not redis-rs's default
/// response timeout of 500 ms, which a pipeline of large events on a busy
/// Redis can exceed (the link would then drop and reconnect for nothing).
pub fn command_connection_config() -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(COMMAND_TIMEOUT))
}

async fn within<T>(
    limit: Duration,
    work: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, LinkError> {
    match tokio::time::timeout(limit, work).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(LinkError::Timeout(limit)),
    }
}

/// The bus is up while both halves are: the hub hears of every change.
struct Health {
    hub: Arc<Hub>,
    recorder_up: AtomicBool,
    reader_up: AtomicBool,
    problem: Mutex<Option<String>>,
}

#[derive(Clone, Copy)]
enum Part {
    Recorder,
    Reader,
}

impl Health {
    fn report(&self, part: Part, result: Result<(), String>) {
        let up = result.is_ok();
        let flag = match part {
            Part::Recorder => &self.recorder_up,
            Part::Reader => &self.reader_up,
        };
        let was_up = self.recorder_up.load(Relaxed) && self.reader_up.load(Relaxed);
        flag.store(up, Relaxed);
        let mut problem = self.problem.lock();
        if let Err(detail) = result {
            *problem = Some(detail);
        }
        let now_up = self.recorder_up.load(Relaxed) && self.reader_up.load(Relaxed);
        if now_up {
            *problem = None;
        }
        if was_up && !now_up {
            self.hub.metrics().bus_disconnects.fetch_add(1, Relaxed);
        }
        self.hub.set_bus(now_up, problem.clone());
    }
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
    let health = Health {
        hub: hub.clone(),
        recorder_up: AtomicBool::new(false),
        reader_up: AtomicBool::new(false),
        problem: Mutex::new(None),
    };
    let link = Link {
        keys: Keys::for_channel(&config.channel),
        gateway_id: uuid::Uuid::new_v4().to_string(),
        client,
        config,
        health,
    };
    tokio::join!(
        link.reconnecting(Part::Recorder, &shutdown),
        link.reconnecting(Part::Reader, &shutdown),
    );
}

/// What both halves of the link share.
struct Link {
    client: redis::Client,
    config: LinkConfig,
    keys: Keys,
    /// Names this gateway in the de-duplication counts.
    gateway_id: String,
    health: Health,
}

impl Link {
    /// Runs one half's connections again and again, with back-off, until
    /// shutdown.
    async fn reconnecting(&self, part: Part, shutdown: &CancellationToken) {
        let (config, health) = (&self.config, &self.health);
        let name = match part {
            Part::Recorder => "recorder",
            Part::Reader => "stream reader",
        };
        let mut backoff = Backoff::new(config.backoff_base, config.backoff_cap);
        let mut rng = StdRng::from_os_rng();
        loop {
            let connection = async {
                match part {
                    Part::Recorder => {
                        let Link {
                            client,
                            keys,
                            gateway_id,
                            ..
                        } = self;
                        record(client, config, keys, gateway_id, health, &mut backoff).await
                    }
                    Part::Reader => {
                        read(&self.client, config, &self.keys, health, &mut backoff).await
                    }
                }
            };
            let error = tokio::select! {
                _ = shutdown.cancelled() => return,
                error = connection => error,
            };
            let detail = format!("{name}: {error}");
            if backoff.attempt() == 0 {
                tracing::warn!(error = %detail, "Redis link lost or unreachable; retrying with back-off");
            } else {
                tracing::debug!(error = %detail, attempt = backoff.attempt(), "Redis still unreachable");
            }
            health.report(part, Err(detail));
            let delay = backoff.next_delay(&mut rng);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }
}

/// The recorder: one subscription, until it fails.
async fn record(
    client: &redis::Client,
    config: &LinkConfig,
    keys: &Keys,
    gateway_id: &str,
    health: &Health,
    backoff: &mut Backoff,
) -> LinkError {
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(config.channel.as_str()).await?;
        let mut commands = client
            .get_multiplexed_async_connection_with_config(&command_connection_config())
            .await?;
        // Publishers read the stream length from here.
        let _: () = commands
            .hset(&keys.settings, "maxlen", config.history_size)
            .await?;
        Ok((pubsub, commands))
    };
    let (pubsub, mut commands) = match within(CONNECT_TIMEOUT, connect).await {
        Ok(connected) => connected,
        Err(err) => return err,
    };
    let (mut sink, mut messages) = pubsub.split();
    backoff.reset();
    health.hub.metrics().bus_connects.fetch_add(1, Relaxed);
    tracing::info!(channel = %config.channel, "recorder subscribed to Redis");
    health.report(Part::Recorder, Ok(()));

    let window = config.dedup_window.as_secs().max(1);
    let mut load_script = redis::cmd("SCRIPT");
    load_script.arg("LOAD").arg(RECORD_SCRIPT);
    let load = load_script.query_async::<String>(&mut commands);
    let script_sha = match within(COMMAND_TIMEOUT, load).await {
        Ok(sha) => sha,
        Err(err) => return err,
    };
    let mut ping = tokio::time::interval(config.ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.reset();
    let batch_limit = record_batch_limit(config.history_size);
    let mut batch = Vec::with_capacity(batch_limit);
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else { return LinkError::Closed };
                // Every message already waiting goes in one pipeline: one
                // round trip for the lot, in order.
                batch.clear();
                let mut closed = false;
                let mut next = Some(message);
                while let Some(message) = next.take() {
                    // Invalid messages are counted and logged by the hub,
                    // and never recorded.
                    if let Ok(event) = health.hub.validate(message.get_payload_bytes()) {
                        batch.push((message, event));
                    }
                    if batch.len() < batch_limit {
                        match messages.next().now_or_never() {
                            Some(Some(message)) => next = Some(message),
                            Some(None) => closed = true,
                            None => {}
                        }
                    }
                }
                if !batch.is_empty() {
                    let recording = Recording { sha: &script_sha, keys, gateway_id, config, window };
                    if let Err(err) = recording.record(&mut commands, &batch, &health.hub).await {
                        return err;
                    }
                }
                if closed {
                    return LinkError::Closed;
                }
            }
            _ = ping.tick() => {
                if let Err(err) = within(COMMAND_TIMEOUT, sink.ping::<redis::Value>()).await {
                    return err;
                }
            }
        }
    }
}

/// Most messages recorded in one pipeline.
const RECORD_BATCH: usize = 512;

/// Messages recorded in one pipeline for a stream that keeps `history_size`
/// entries: at most a quarter of them. The stream runs ahead of what the
/// hub has relayed by up to one pipeline; were that more than the stream
/// keeps, the stream reader (`XREAD` from the hub's last id) could find
/// the entries after that id trimmed away, and skip them.
fn record_batch_limit(history_size: usize) -> usize {
    (history_size / 4).clamp(1, RECORD_BATCH)
}

/// One pipeline of [`RECORD_SCRIPT`] calls.
struct Recording<'a> {
    sha: &'a str,
    keys: &'a Keys,
    gateway_id: &'a str,
    config: &'a LinkConfig,
    window: u64,
}

impl Recording<'_> {
    /// Records `batch` in order, then relays each event straight from the
    /// reply when nothing is missing before it ([`Hub::relay_recorded`]);
    /// the stream reader relays the rest.
    async fn record(
        &self,
        commands: &mut MultiplexedConnection,
        batch: &[(redis::Msg, event::ValidEvent)],
        hub: &Hub,
    ) -> Result<(), LinkError> {
        let mut pipe = redis::pipe();
        for (message, _) in batch {
            pipe.cmd("EVALSHA")
                .arg(self.sha)
                .arg(1)
                .arg(&self.keys.stream)
                .arg(&self.keys.seen_prefix)
                .arg(self.gateway_id)
                .arg(message.get_payload_bytes())
                .arg(self.config.history_size)
                .arg(self.window);
        }
        let replies: Vec<redis::Value> =
            within(COMMAND_TIMEOUT, pipe.query_async(commands)).await?;
        for ((_, event), reply) in batch.iter().zip(replies) {
            if let Some((id, previous)) = recorded_ids(reply) {
                hub.relay_recorded(previous, id, event);
            }
        }
        Ok(())
    }
}

/// The `{id, previous}` reply of [`RECORD_SCRIPT`], or `None` (a duplicate
/// whose id is unknown, or a reply of another shape).
fn recorded_ids(reply: redis::Value) -> Option<(EventId, Option<EventId>)> {
    let redis::Value::Array(parts) = reply else {
        return None;
    };
    let text = |value: &redis::Value| match value {
        redis::Value::BulkString(bytes) => std::str::from_utf8(bytes).ok().map(str::to_owned),
        redis::Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    };
    let [id, previous] = parts.as_slice() else {
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

/// The reader: follows the stream until the connection fails.
async fn read(
    client: &redis::Client,
    config: &LinkConfig,
    keys: &Keys,
    health: &Health,
    backoff: &mut Backoff,
) -> LinkError {
    // XREAD blocks for READ_BLOCK; our own timeout covers a dead link.
    let connection_config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(None);
    let mut connection = match within(
        CONNECT_TIMEOUT,
        client.get_multiplexed_async_connection_with_config(&connection_config),
    )
    .await
    {
        Ok(connection) => connection,
        Err(err) => return err,
    };
    let hub = &health.hub;
    if hub.last_id().is_none() {
        match reload(&mut connection, keys, config.history_size, hub).await {
            Ok(count) if count > 0 => tracing::info!(events = count, "reloaded history from Redis"),
            Ok(_) => {}
            Err(err) => return err,
        }
    }
    hub.mark_history_loaded();
    backoff.reset();
    tracing::info!(stream = %keys.stream, "following the event stream");
    health.report(Part::Reader, Ok(()));
    let options = StreamReadOptions::default()
        .block(READ_BLOCK.as_millis() as usize)
        .count(READ_BATCH);
    loop {
        let after = hub
            .last_id()
            .map_or_else(|| "0-0".to_owned(), |id| id.to_string());
        let streams = [&keys.stream];
        let ids = [&after];
        let read =
            connection.xread_options::<_, _, Option<StreamReadReply>>(&streams, &ids, &options);
        let reply = match within(READ_BLOCK + COMMAND_TIMEOUT, read).await {
            Ok(reply) => reply,
            Err(err) => return err,
        };
        // Most entries were relayed already, straight from the recorder's
        // reply: skip them without parsing or taking the hub's lock.
        let relayed = hub.last_id();
        for stream in reply.map(|r| r.keys).unwrap_or_default() {
            for entry in stream.ids {
                if !is_after(&entry, relayed) || !is_new(hub, &entry) {
                    continue;
                }
                if !follows_last_relayed(hub, &entry) {
                    // The entries before this one were trimmed from the
                    // stream. A live recorder that is behind may still hold
                    // them on its subscription: give it a moment.
                    if health.recorder_up.load(Relaxed) {
                        wait_for_recorder(hub, &entry).await;
                        if !is_new(hub, &entry) {
                            continue;
                        }
                    }
                    if !follows_last_relayed(hub, &entry) {
                        report_trimmed_gap(hub, &entry);
                    }
                }
                if relay_entry(hub, &entry) {
                    hub.metrics()
                        .events_relayed_from_stream
                        .fetch_add(1, Relaxed);
                }
            }
        }
    }
}

/// How long the reader waits for a live recorder that makes no progress
/// to relay the events before a hole in the stream, before it moves past
/// them. While the recorder makes progress, the reader waits on.
const RECORDER_GRACE: Duration = Duration::from_millis(500);

/// True when the hub has not relayed `entry` yet (or its id is unreadable:
/// [`relay_entry`] says so).
fn is_new(hub: &Hub, entry: &StreamId) -> bool {
    is_after(entry, hub.last_id())
}

/// True when `entry` comes after `last` (or either is unknown).
fn is_after(entry: &StreamId, last: Option<EventId>) -> bool {
    match (entry.id.parse::<EventId>(), last) {
        (Ok(id), Some(last)) => id > last,
        _ => true,
    }
}

/// Waits until the hub has relayed what comes before `entry`, or `entry`
/// itself, or the hub has relayed nothing new for [`RECORDER_GRACE`]. Holes
/// are rare (a gateway far behind, or cut off), so this polls.
async fn wait_for_recorder(hub: &Hub, entry: &StreamId) {
    let mut last = hub.last_id();
    let mut deadline = tokio::time::Instant::now() + RECORDER_GRACE;
    while tokio::time::Instant::now() < deadline {
        if follows_last_relayed(hub, entry) || !is_new(hub, entry) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        let now = hub.last_id();
        if now != last {
            last = now;
            deadline = tokio::time::Instant::now() + RECORDER_GRACE;
        }
    }
}

/// Loads the newest `count` entries of the stream into an empty hub.
async fn reload(
    connection: &mut MultiplexedConnection,
    keys: &Keys,
    count: usize,
    hub: &Hub,
) -> Result<usize, LinkError> {
    let range =
        connection.xrevrange_count::<_, _, _, _, StreamRangeReply>(&keys.stream, "+", "-", count);
    let reply = within(COMMAND_TIMEOUT, range).await?;
    let entries = reply.ids.len();
    for entry in reply.ids.iter().rev() {
        relay_entry(hub, entry);
    }
    Ok(entries)
}

/// False when `entry` does not follow the last relayed event: the entries
/// between were trimmed from the stream before this gateway read them (it
/// was cut off, or far behind, for longer than the stream keeps). True when
/// it follows, and for entries written before the stream carried the
/// previous id.
fn follows_last_relayed(hub: &Hub, entry: &StreamId) -> bool {
    let (Some(redis::Value::BulkString(previous)), Some(last)) =
        (entry.map.get(PREVIOUS_FIELD), hub.last_id())
    else {
        return true;
    };
    std::str::from_utf8(previous)
        .ok()
        .and_then(|p| p.parse::<EventId>().ok())
        == Some(last)
}

/// Counts and logs a hole before `entry`: its clients never get the
/// events trimmed from the stream there.
fn report_trimmed_gap(hub: &Hub, entry: &StreamId) {
    let previous = match entry.map.get(PREVIOUS_FIELD) {
        Some(redis::Value::BulkString(previous)) => String::from_utf8_lossy(previous),
        _ => "".into(),
    };
    let last = hub.last_id().map(|id| id.to_string()).unwrap_or_default();
    hub.metrics().history_gaps.fetch_add(1, Relaxed);
    tracing::warn!(
        last_relayed = %last,
        next = %entry.id,
        entry_before_next = %previous,
        "events between these ids were trimmed from the Redis stream before this gateway read them; its clients miss them (raise --history-size)"
    );
}

/// Relays one stream entry; true when it was new to the hub.
fn relay_entry(hub: &Hub, entry: &StreamId) -> bool {
    let Ok(id) = entry.id.parse::<EventId>() else {
        tracing::warn!(id = %entry.id, "skipping a stream entry with an unexpected id");
        return false;
    };
    let payload = match entry.map.get(EVENT_FIELD) {
        Some(redis::Value::BulkString(bytes)) => bytes.as_slice(),
        _ => {
            tracing::warn!(id = %entry.id, "skipping a stream entry without an `e` field");
            return false;
        }
    };
    match event::parse_event(payload, usize::MAX) {
        Ok(event) => hub.relay(Some(id), &event).is_some(),
        Err(rejection) => {
            hub.metrics().count_rejection(&rejection);
            tracing::warn!(id = %entry.id, "skipping an invalid stream entry: {rejection}");
            false
        }
    }
}

/// Publishes `payload` with [`PUBLISH_SCRIPT`]; returns the entry id.
pub async fn publish_recorded(
    connection: &mut MultiplexedConnection,
    keys: &Keys,
    channel: &str,
    maxlen: usize,
    payload: &str,
) -> redis::RedisResult<String> {
    Script::new(PUBLISH_SCRIPT)
        .key(&keys.stream)
        .arg(&keys.seen_prefix)
        .arg(payload)
        .arg(maxlen)
        .arg(DEFAULT_DEDUP_WINDOW_S)
        .arg(channel)
        .invoke_async(connection)
        .await
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
    }
}
