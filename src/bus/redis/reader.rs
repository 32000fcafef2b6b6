//! The stream reader: follows the stream (`XREAD BLOCK`) from the last id
//! the hub relayed and relays, under its stream id, each entry the hub has
//! not relayed yet: on a follower (a gateway that neither records nor
//! stands by, [`super::lease`]) every event; on the others whatever the
//! recorder could not relay at once (entries recorded while its
//! subscription was down, or by another gateway). With
//! `--stream-read-pause-ms` it waits that long after each read that brought
//! entries, so that Redis serves fewer, larger reads. On start it first reloads the retained
//! window (`XREVRANGE`), so state and history survive a gateway restart.
//! Every gateway reads the same stream, so every gateway gives an event the
//! same id, and a client can resume on any of them.
//!
//! Each entry carries the id of the entry before it (field `p`): a hole
//! between the last relayed event and the next entry means entries were
//! trimmed before this gateway read them. A live recorder that is behind
//! may still hold them on its subscription, so the reader first asks it for
//! a barrier (everything Redis sent it so far, recorded and relayed); a hole
//! still there after that was never on this gateway's subscription, and the
//! reader counts and logs it and moves on. A starved recorder delays the
//! reader; it never makes it skip events.

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamId, StreamRangeReply, StreamReadOptions, StreamReadReply};

use super::{
    COMMAND_TIMEOUT, CONNECT_TIMEOUT, EVENT_FIELD, Link, LinkError, PREVIOUS_FIELD, Part, within,
};
use crate::event::{self, EventId, ValidEvent};
use crate::hub::Hub;

/// How long the reader's `XREAD` blocks when nothing comes.
const READ_BLOCK: Duration = Duration::from_secs(2);
/// Most entries read per `XREAD`.
const READ_BATCH: usize = 1000;
/// Most bytes of events one `XREAD` may bring, counting each at the
/// largest event size allowed: a follower reads every event from the
/// stream, and a reply of a thousand large events would be tens of MiB.
const READ_BYTES: usize = 1024 * 1024;

/// Entries read per `XREAD` when events may be `max_event_bytes` long.
fn read_batch(max_event_bytes: usize) -> usize {
    (READ_BYTES / max_event_bytes.max(1)).clamp(8, READ_BATCH)
}
/// Entries read per `XREVRANGE` when reloading history.
const RELOAD_PAGE: usize = 100;
/// Longest the reader waits for the recorder's barrier; a recorder that
/// cannot answer within it has lost its link (its own ping times out
/// first) and is reported down.
const BARRIER_WAIT: Duration = Duration::from_secs(15);

impl Link {
    /// Reloads history once, then follows the stream until the connection
    /// fails.
    pub(super) async fn read(&self, backoff: &mut crate::backoff::Backoff) -> LinkError {
        // XREAD blocks for READ_BLOCK; our own timeout covers a dead link.
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(None);
        let connect = self.endpoint.connect(&config);
        let mut connection = match within(CONNECT_TIMEOUT, connect).await {
            Ok(connection) => connection,
            Err(err) => return err,
        };
        let hub = &self.health.hub;
        // Once only: a gateway that has run since then follows its own
        // subscription, and a reload after a reconnect would put the
        // stream's newest entries before the events still waiting there.
        if !hub.history_loaded() {
            match self.restore_runs(&mut connection).await {
                Ok(count) if count > 0 => {
                    tracing::info!(runs = count, "restored run state from Redis")
                }
                Ok(_) => {}
                Err(err) => return err,
            }
            match self.reload(&mut connection).await {
                Ok(count) if count > 0 => {
                    tracing::info!(events = count, "reloaded history from Redis")
                }
                Ok(_) => {}
                Err(err) => return err,
            }
        }
        hub.mark_history_loaded();
        backoff.reset();
        tracing::info!(stream = %self.keys.stream, "following the event stream");
        self.health.report(Part::Reader, Ok(()));
        loop {
            if let Err(err) = self.follow(&mut connection).await {
                return err;
            }
        }
    }

    /// Loads the newest entries of the stream into an empty hub: at most
    /// `--history-size` of them and `--history-bytes` of payload, read
    /// backwards a page at a time, so a stream of large events never comes
    /// into memory whole.
    async fn reload(&self, connection: &mut MultiplexedConnection) -> Result<usize, LinkError> {
        let (count, max_bytes) = (self.config.history_size, self.config.history_bytes);
        let mut newest_first: Vec<StreamId> = Vec::new();
        let (mut bytes, mut before) = (0usize, "+".to_owned());
        while newest_first.len() < count && bytes < max_bytes {
            let page = RELOAD_PAGE.min(count - newest_first.len());
            let range = connection.xrevrange_count::<_, _, _, _, StreamRangeReply>(
                &self.keys.stream,
                &before,
                "-",
                page,
            );
            let reply = within(COMMAND_TIMEOUT, range).await?;
            let full = reply.ids.len() == page;
            for entry in reply.ids {
                bytes += payload_len(&entry);
                before = format!("({}", entry.id);
                newest_first.push(entry);
                if bytes >= max_bytes {
                    break;
                }
            }
            if !full {
                break;
            }
        }
        for entry in newest_first.iter().rev() {
            self.relay_entry(entry);
        }
        Ok(newest_first.len())
    }

    /// Restores the state of the newest `--max-runs` runs from their events
    /// kept in Redis (keys.rs, runs.lua): every one exact, however short the
    /// stream. Returns how many runs.
    async fn restore_runs(
        &self,
        connection: &mut MultiplexedConnection,
    ) -> Result<usize, LinkError> {
        let newest = connection.zrevrange::<_, Vec<String>>(
            &self.keys.runs,
            0,
            self.config.max_runs as isize - 1,
        );
        let runs = within(COMMAND_TIMEOUT, newest).await?;
        for run in &runs {
            let mut pipe = redis::pipe();
            pipe.xrange_all(self.keys.run_log(run))
                .hgetall(self.keys.run_progress(run));
            let (log, progress): (StreamRangeReply, Vec<(String, String)>) =
                within(COMMAND_TIMEOUT, pipe.query_async(connection)).await?;
            for entry in &log.ids {
                self.restore_entry(&entry.id, payload_of(entry));
            }
            for (_, recorded) in &progress {
                if let Some((id, payload)) = recorded.split_once(' ') {
                    self.restore_entry(id, Some(payload.as_bytes()));
                }
            }
        }
        Ok(runs.len())
    }

    fn restore_entry(&self, id: &str, payload: Option<&[u8]>) {
        let (Ok(id), Some(payload)) = (id.parse::<EventId>(), payload) else {
            tracing::warn!(%id, "skipping a run entry that is not an event");
            return;
        };
        if let Ok(event) = event::parse_event(payload, usize::MAX) {
            self.health.hub.restore(id, &event);
        }
    }

    /// One `XREAD` after the hub's last id, and the relay of what it brings.
    async fn follow(&self, connection: &mut MultiplexedConnection) -> Result<(), LinkError> {
        let hub = &self.health.hub;
        let options = StreamReadOptions::default()
            .block(READ_BLOCK.as_millis() as usize)
            .count(read_batch(hub.max_event_bytes()));
        let after = hub
            .last_id()
            .map_or_else(|| "0-0".to_owned(), |id| id.to_string());
        let (streams, ids) = ([&self.keys.stream], [&after]);
        let read =
            connection.xread_options::<_, _, Option<StreamReadReply>>(&streams, &ids, &options);
        let reply = match within(READ_BLOCK + COMMAND_TIMEOUT, read).await {
            Err(LinkError::Timeout(limit)) => return still_answers(connection, limit).await,
            reply => reply?,
        };
        // Most entries were relayed already, straight from the recorder's
        // reply: skip them without parsing or taking the hub's lock.
        let relayed = hub.last_id();
        let mut brought = false;
        for stream in reply.map(|r| r.keys).unwrap_or_default() {
            for entry in stream.ids {
                brought = true;
                if is_after(&entry, relayed) && is_new(hub, &entry) {
                    self.catch_up(&entry).await;
                }
            }
        }
        if brought && !self.config.stream_read_pause.is_zero() {
            // --stream-read-pause-ms: let the next events gather.
            tokio::time::sleep(self.config.stream_read_pause).await;
        }
        Ok(())
    }

    /// Relays one entry the hub has not relayed, after dealing with a hole
    /// before it.
    async fn catch_up(&self, entry: &StreamId) {
        let hub = &self.health.hub;
        if !follows_last_relayed(hub, entry) {
            // The entries before this one were trimmed from the stream. A
            // live recorder that is behind may still hold them on its
            // subscription: have it record everything it was sent.
            if self.health.recorder_up() {
                self.barrier().await;
                if !is_new(hub, entry) {
                    return;
                }
            }
            if !follows_last_relayed(hub, entry) {
                report_trimmed_gap(hub, entry);
            }
        }
        if self.relay_entry(entry) {
            hub.metrics().events_relayed_from_stream.inc();
        }
    }

    /// Asks the recorder to record everything Redis has sent it so far, and
    /// waits until it has (or cannot).
    async fn barrier(&self) {
        let (done, recorded) = tokio::sync::oneshot::channel();
        if self.barriers.sender.send(done).is_ok() {
            let _ = tokio::time::timeout(BARRIER_WAIT, recorded).await;
        }
    }

    /// Relays one stream entry; true when it was new to the hub. The event
    /// is the recorder's parse when it has one, else parsed here.
    fn relay_entry(&self, entry: &StreamId) -> bool {
        let hub = &self.health.hub;
        let Ok(id) = entry.id.parse::<EventId>() else {
            tracing::warn!(id = %entry.id, "skipping a stream entry with an unexpected id");
            return false;
        };
        let Some(redis::Value::BulkString(payload)) = entry.map.get(EVENT_FIELD) else {
            tracing::warn!(id = %entry.id, "skipping a stream entry without an `e` field");
            return false;
        };
        match self.parsed.take(payload) {
            Some(event) => hub.relay_at(id, &event),
            None => parse_entry(hub, entry, payload).is_some_and(|event| hub.relay_at(id, &event)),
        }
    }
}

/// After an `XREAD` that outlived its limit: a gateway process that was
/// frozen (stopped, starved of CPU, its machine suspended) wakes with every
/// timer due at once, before it has read what Redis sent meanwhile. Only a
/// `PING` that goes unanswered too means the connection is dead; the link
/// would otherwise drop, with it, a subscription full of waiting events.
async fn still_answers(
    connection: &mut MultiplexedConnection,
    limit: Duration,
) -> Result<(), LinkError> {
    within(
        COMMAND_TIMEOUT,
        redis::cmd("PING").query_async::<String>(connection),
    )
    .await
    .map(drop)
    .map_err(|_| LinkError::Timeout(limit))
}

/// An entry's event.
fn payload_of(entry: &StreamId) -> Option<&[u8]> {
    match entry.map.get(EVENT_FIELD) {
        Some(redis::Value::BulkString(payload)) => Some(payload),
        _ => None,
    }
}

/// Bytes of an entry's event.
fn payload_len(entry: &StreamId) -> usize {
    payload_of(entry).map_or(0, <[u8]>::len)
}

/// Parses a stream entry's payload; an invalid one is counted and logged.
fn parse_entry(hub: &Hub, entry: &StreamId, payload: &[u8]) -> Option<ValidEvent> {
    event::parse_event(payload, usize::MAX)
        .inspect_err(|rejection| {
            hub.metrics().count_rejection(rejection);
            tracing::warn!(id = %entry.id, "skipping an invalid stream entry: {rejection}");
        })
        .ok()
}

/// True when the hub has not relayed `entry` yet (or its id is unreadable:
/// `relay_entry` says so).
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

/// False when `entry` does not follow the last relayed event: the entries
/// between were trimmed from the stream before this gateway read them (it
/// was cut off, or far behind, for longer than the stream keeps). A gateway
/// that has relayed nothing yet expects the stream's first entry (no
/// previous id). True when it follows, and for entries written before the
/// stream carried the previous id.
fn follows_last_relayed(hub: &Hub, entry: &StreamId) -> bool {
    let Some(redis::Value::BulkString(previous)) = entry.map.get(PREVIOUS_FIELD) else {
        return true;
    };
    let previous = std::str::from_utf8(previous)
        .ok()
        .and_then(|p| p.parse::<EventId>().ok());
    previous == hub.last_id()
}

/// Counts and logs a hole before `entry`: its clients never get the
/// events trimmed from the stream there.
fn report_trimmed_gap(hub: &Hub, entry: &StreamId) {
    let previous = match entry.map.get(PREVIOUS_FIELD) {
        Some(redis::Value::BulkString(previous)) => String::from_utf8_lossy(previous),
        _ => "".into(),
    };
    let last = hub.last_id().map(|id| id.to_string()).unwrap_or_default();
    hub.metrics().history_gaps.inc();
    tracing::warn!(
        last_relayed = %last,
        next = %entry.id,
        entry_before_next = %previous,
        "events between these ids were trimmed from the Redis stream before this gateway read them; its clients miss them (raise --history-size)"
    );
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::frames::BusKind;
    use crate::hub::HubConfig;

    fn entry(id: &str, previous: &str) -> StreamId {
        let mut entry = StreamId {
            id: id.to_owned(),
            ..StreamId::default()
        };
        let previous = redis::Value::BulkString(previous.as_bytes().to_vec());
        entry.map.insert(PREVIOUS_FIELD.to_owned(), previous);
        entry
    }

    #[test]
    fn a_read_brings_at_most_a_mebibyte_of_the_largest_events() {
        assert_eq!(read_batch(64 * 1024), 16);
        assert_eq!(read_batch(512), READ_BATCH);
        assert_eq!(read_batch(16 * 1024 * 1024), 8);
    }

    #[test]
    fn a_gateway_that_relayed_nothing_sees_a_hole_before_a_trimmed_streams_first_entry() {
        let hub = Hub::new(HubConfig::default(), BusKind::Redis, Arc::default());
        assert!(
            follows_last_relayed(&hub, &entry("1-0", "")),
            "the first entry ever"
        );
        assert!(
            !follows_last_relayed(&hub, &entry("392-0", "391-0")),
            "the entries before it were trimmed"
        );
        assert!(
            follows_last_relayed(&hub, &StreamId::default()),
            "no previous id field"
        );
    }
}
