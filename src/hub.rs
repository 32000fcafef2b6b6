//! The hub: where bus messages become events, state and frames.
//!
//! Every message from the bus goes through [`Hub::ingest`]: it is validated,
//! given an id, folded into the run state, serialised once, and broadcast.
//! One lock orders all of that, so ids increase in relay order and a client
//! that subscribes (under the same lock) gets a snapshot and a stream with no
//! gap and no duplicate between them.
//!
//! Fan-out is a `tokio::sync::broadcast` ring of shared frames: sending costs
//! the same for one client or ten thousand, and a client that falls more than
//! the ring's capacity behind is told so (`Lagged`) instead of holding memory.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use parking_lot::Mutex;
use tokio::sync::broadcast;

use crate::clock;
use crate::event::{self, Rejection};
use crate::frames::{self, BusKind, BusState, Frame};
use crate::metrics::Metrics;
use crate::pipeline::{Retention, RunState, RunStore};

/// How the hub is sized.
#[derive(Debug, Clone)]
pub struct HubConfig {
    pub max_event_bytes: usize,
    pub retention: Retention,
    /// Frames a client may fall behind before it is dropped as slow.
    pub ring_capacity: usize,
    /// Event frames carried in each snapshot.
    pub recent_events: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            max_event_bytes: event::DEFAULT_MAX_EVENT_BYTES,
            retention: Retention::default(),
            ring_capacity: 4096,
            recent_events: 200,
        }
    }
}

/// The id of a relayed event: Unix milliseconds and a sequence within that
/// millisecond, written `ms-seq` like a Redis stream id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    pub ms: i64,
    pub seq: u64,
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl EventId {
    /// The next id after `self`, at wall-clock time `now_ms`. Never goes
    /// backwards, even when the clock does.
    fn next(previous: Option<EventId>, now_ms: i64) -> EventId {
        match previous {
            Some(prev) if now_ms <= prev.ms => EventId {
                ms: prev.ms,
                seq: prev.seq + 1,
            },
            _ => EventId { ms: now_ms, seq: 0 },
        }
    }
}

struct HubState {
    runs: RunStore,
    recent: VecDeque<Frame>,
    last_id: Option<EventId>,
    bus: BusState,
    /// The last snapshot built, valid while nothing has changed since.
    cached_snapshot: Option<Frame>,
}

/// A new subscriber's starting point.
pub struct Subscription {
    pub snapshot: Frame,
    pub frames: broadcast::Receiver<Frame>,
}

/// See the module documentation.
pub struct Hub {
    state: Mutex<HubState>,
    sender: broadcast::Sender<Frame>,
    config: HubConfig,
    metrics: Arc<Metrics>,
    rejection_log: RateLimit,
}

impl Hub {
    pub fn new(config: HubConfig, bus_kind: BusKind, metrics: Arc<Metrics>) -> Hub {
        let (sender, _) = broadcast::channel(config.ring_capacity);
        let bus = BusState {
            up: false,
            kind: bus_kind,
            since_ms: clock::now_ms(),
            detail: Some("not connected yet".into()),
        };
        Hub {
            state: Mutex::new(HubState {
                runs: RunStore::new(config.retention),
                recent: VecDeque::with_capacity(config.recent_events),
                last_id: None,
                bus,
                cached_snapshot: None,
            }),
            sender,
            config,
            metrics,
            rejection_log: RateLimit::new(10),
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Takes one message off the bus. Invalid messages are counted, logged
    /// (rate-limited, with a truncated sample) and dropped.
    pub fn ingest(&self, message: &[u8]) -> Result<EventId, Rejection> {
        self.metrics.events_received.fetch_add(1, Relaxed);
        let event = match event::parse_event(message, self.config.max_event_bytes) {
            Ok(event) => event,
            Err(rejection) => {
                self.metrics.count_rejection(&rejection);
                if self.rejection_log.allow() {
                    let sample = String::from_utf8_lossy(&message[..message.len().min(200)]);
                    tracing::warn!(
                        reason = rejection.reason(),
                        bytes = message.len(),
                        sample = %sample,
                        "rejected bus message: {rejection}"
                    );
                }
                return Err(rejection);
            }
        };
        let received_ms = clock::now_ms();
        let mut state = self.state.lock();
        let id = EventId::next(state.last_id, received_ms);
        let frame = frames::event_frame(
            &id.to_string(),
            received_ms,
            event.pipeline.as_ref(),
            &event.raw,
        );
        if let Some(update) = &event.pipeline {
            let at = event.published_at.map_or(received_ms, |p| p.unix_ms);
            state.runs.apply(update, at);
        }
        if state.recent.len() == self.config.recent_events {
            state.recent.pop_front();
        }
        if self.config.recent_events > 0 {
            state.recent.push_back(frame.clone());
        }
        state.last_id = Some(id);
        state.cached_snapshot = None;
        // An error only means nobody is subscribed right now.
        let _ = self.sender.send(frame);
        drop(state);
        self.metrics.events_relayed.fetch_add(1, Relaxed);
        Ok(id)
    }

    /// Records a change of the bus link and tells every client.
    pub fn set_bus(&self, up: bool, detail: Option<String>) {
        let mut state = self.state.lock();
        if state.bus.up == up && state.bus.detail == detail {
            return;
        }
        let was_up = state.bus.up;
        state.bus = BusState {
            up,
            kind: state.bus.kind,
            since_ms: if was_up == up {
                state.bus.since_ms
            } else {
                clock::now_ms()
            },
            detail,
        };
        state.cached_snapshot = None;
        self.metrics.bus_up.store(i64::from(up), Relaxed);
        let _ = self.sender.send(state.bus.frame());
    }

    pub fn bus_state(&self) -> BusState {
        self.state.lock().bus.clone()
    }

    /// A snapshot of the current state and the stream of every frame after
    /// it, taken atomically.
    pub fn subscribe(&self) -> Subscription {
        let mut state = self.state.lock();
        let frames = self.sender.subscribe();
        let snapshot = match &state.cached_snapshot {
            Some(frame) => frame.clone(),
            None => {
                let last_id = state.last_id.map(|id| id.to_string());
                let runs = state.runs.newest_first();
                let frame = frames::snapshot_frame(
                    last_id.as_deref(),
                    &state.bus,
                    &runs,
                    state.recent.iter(),
                );
                state.cached_snapshot = Some(frame.clone());
                frame
            }
        };
        Subscription { snapshot, frames }
    }

    /// A copy of one run's state.
    pub fn run(&self, run_id: &str) -> Option<RunState> {
        self.state.lock().runs.get(run_id).cloned()
    }

    /// The id of the newest relayed event.
    pub fn last_id(&self) -> Option<EventId> {
        self.state.lock().last_id
    }
}

/// Allows at most `per_second` events per wall-clock second; counts the rest
/// and reports them with the next allowed one.
struct RateLimit {
    per_second: u64,
    window_s: AtomicI64,
    used: AtomicU64,
    suppressed: AtomicU64,
}

impl RateLimit {
    fn new(per_second: u64) -> Self {
        RateLimit {
            per_second,
            window_s: AtomicI64::new(0),
            used: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    fn allow(&self) -> bool {
        let now_s = clock::now_ms() / 1000;
        if self.window_s.swap(now_s, Relaxed) != now_s {
            self.used.store(0, Relaxed);
            let suppressed = self.suppressed.swap(0, Relaxed);
            if suppressed > 0 {
                tracing::warn!(suppressed, "more rejected bus messages were not logged");
            }
        }
        if self.used.fetch_add(1, Relaxed) < self.per_second {
            true
        } else {
            self.suppressed.fetch_add(1, Relaxed);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> Hub {
        Hub::new(HubConfig::default(), BusKind::Memory, Arc::default())
    }

    #[test]
    fn ids_increase_even_when_the_clock_stalls_or_goes_back() {
        let a = EventId::next(None, 100);
        let b = EventId::next(Some(a), 100);
        let c = EventId::next(Some(b), 90);
        let d = EventId::next(Some(c), 101);
        assert!(a < b && b < c && c < d);
        assert_eq!(c.to_string(), "100-2");
        assert_eq!(d.to_string(), "101-0");
    }

    #[tokio::test]
    async fn a_subscriber_gets_a_snapshot_then_every_later_event() {
        let hub = hub();
        hub.ingest(
            br#"{"type":"pipeline.stage","run_id":"r1","stage":"radar","status":"processing"}"#,
        )
        .unwrap();
        let mut sub = hub.subscribe();
        let snapshot: serde_json::Value = serde_json::from_str(sub.snapshot.as_str()).unwrap();
        assert_eq!(
            snapshot["runs"][0]["stages"]["radar"]["status"],
            "processing"
        );
        assert_eq!(snapshot["recent_events"].as_array().unwrap().len(), 1);
        let id = hub
            .ingest(
                br#"{"type":"pipeline.stage","run_id":"r1","stage":"radar","status":"complete"}"#,
            )
            .unwrap();
        let frame: serde_json::Value =
            serde_json::from_str(sub.frames.recv().await.unwrap().as_str()).unwrap();
        assert_eq!(frame["id"], id.to_string());
        assert_eq!(frame["pipeline"]["status"], "complete");
        assert!(sub.frames.try_recv().is_err(), "nothing else was sent");
    }

    #[test]
    fn rejected_messages_are_counted_by_reason_and_not_broadcast() {
        let hub = hub();
        let mut sub = hub.subscribe();
        assert!(hub.ingest(b"garbage").is_err());
        assert!(hub.ingest(b"[]").is_err());
        assert_eq!(hub.metrics.rejected("not_json"), 1);
        assert_eq!(hub.metrics.rejected("not_object"), 1);
        assert!(sub.frames.try_recv().is_err());
        assert!(hub.last_id().is_none());
    }

    #[test]
    fn bus_changes_are_broadcast_once() {
        let hub = hub();
        let mut sub = hub.subscribe();
        hub.set_bus(true, None);
        hub.set_bus(true, None);
        let frame = sub.frames.try_recv().unwrap();
        assert!(frame.as_str().contains(r#""state":"up""#));
        assert!(sub.frames.try_recv().is_err());
        assert!(hub.bus_state().up);
    }

    #[test]
    fn snapshot_is_rebuilt_only_after_a_change() {
        let hub = hub();
        let a = hub.subscribe().snapshot;
        let b = hub.subscribe().snapshot;
        assert_eq!(
            a.as_str().as_ptr(),
            b.as_str().as_ptr(),
            "cached snapshot reused"
        );
        hub.ingest(br#"{"type":"note"}"#).unwrap();
        let c = hub.subscribe().snapshot;
        assert!(c.as_str().contains(r#""type":"note""#));
    }
}
