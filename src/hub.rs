//! The hub: where events become state and frames, and reach every client.
//!
//! A bus validates each message with [`Hub::validate`] (which counts and
//! logs what it refuses) and relays each valid event once, in order, under
//! its id: [`Hub::relay_next`] when the hub picks the id (the in-process
//! bus), [`Hub::relay_at`] / [`Hub::relay_after`] when the bus's record gave
//! it one (the Redis stream, so every gateway gives an event the same id).
//! A relay folds the event into the run state, serialises its frame once,
//! keeps it in the history ring and broadcasts it. One lock orders all of
//! that, so ids increase in relay order and a client that subscribes (under
//! the same lock) gets a snapshot, or the history it missed, and a stream
//! with no gap and no duplicate between them.
//!
//! Fan-out is a `tokio::sync::broadcast` ring of shared frames: sending costs
//! the same for one client or ten thousand, and a client that falls more than
//! the ring's capacity behind is told so (`Lagged`) instead of holding memory.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::broadcast;

use crate::auth::{Principal, View};
use crate::clock;
use crate::event::{self, EventId, PipelineUpdate, Rejection, Scope, Stage, Status, ValidEvent};
use crate::frames::{self, BusKind, BusState, Frame, Outbound};
use crate::history::{self, History, Since};
use crate::log_limit::LogLimit;
use crate::metrics::Metrics;
use crate::pipeline::{Added, Deadlines, Retention, RunKey, RunState, RunStore};

/// How the hub is sized.
#[derive(Debug, Clone)]
pub struct HubConfig {
    pub max_event_bytes: usize,
    pub retention: Retention,
    /// How long each stage may stay processing before it is stalled.
    pub deadlines: Deadlines,
    /// Frames a client may fall behind before it is dropped as slow.
    pub ring_capacity: usize,
    /// Event frames carried in each snapshot.
    pub recent_events: usize,
    /// Most bytes of event frames carried in each snapshot: the newest that
    /// fit.
    pub recent_bytes: usize,
    /// Events kept for resume.
    pub history_size: usize,
    /// Bytes of event frames kept for resume.
    pub history_bytes: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            max_event_bytes: event::DEFAULT_MAX_EVENT_BYTES,
            retention: Retention::default(),
            deadlines: Deadlines::default(),
            ring_capacity: 4096,
            recent_events: 200,
            recent_bytes: 256 * 1024,
            history_size: history::DEFAULT_HISTORY_SIZE,
            history_bytes: history::DEFAULT_HISTORY_BYTES,
        }
    }
}

struct HubState {
    runs: RunStore,
    history: History,
    last_id: Option<EventId>,
    bus: BusState,
    /// The last snapshot built for each view, valid while nothing has
    /// changed since: ten thousand dashboards of one tenant connecting at
    /// once cost one snapshot.
    cached_snapshots: HashMap<View, Frame>,
    /// Bytes of the cached snapshots.
    cached_bytes: usize,
}

/// Most bytes of snapshots cached at once (each view has its own: a
/// thousand users of one tenant connecting at once hold a thousand).
const MAX_CACHED_SNAPSHOT_BYTES: usize = 16 * 1024 * 1024;

/// A `run` frame for every stalled stage `principal` may see: what a client
/// that resumes needs besides the events it missed.
fn stall_frames(runs: &RunStore, principal: &Principal) -> Vec<Frame> {
    runs.newest_first()
        .into_iter()
        .filter(|run| run.stalled() && principal.sees(&run.scope))
        .flat_map(|run| {
            Stage::ALL
                .into_iter()
                .filter(|stage| run.stage(*stage).stalled)
                .map(|stage| frames::run_frame(&run.delta_json(stage, false)))
        })
        .collect()
}

/// The conflation key of a run's stage: frames with the same key report
/// progress of the same stage, and only the newest matters to a client
/// that is behind. Never 0 (0 means "never conflate").
fn conflation_key(key: &RunKey, stage: Stage) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (key, stage).hash(&mut hasher);
    hasher.finish().max(1)
}

impl HubState {
    fn forget_snapshots(&mut self) {
        self.cached_snapshots.clear();
        self.cached_bytes = 0;
    }
}

/// What [`Hub::relay_after`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relay {
    /// It followed the last relayed event and is relayed now.
    Relayed,
    /// It was relayed already.
    AlreadyRelayed,
    /// Events are missing before it: left to whoever relays in order.
    NotNext,
}

/// Where a new subscriber starts.
pub enum Start {
    /// The whole current state. `resume_failed` holds the id the client
    /// asked to resume from when that was not possible.
    Snapshot {
        frame: Frame,
        resume_failed: Option<String>,
    },
    /// The client's id was retained: a `resumed` frame, then exactly the
    /// event frames it missed (those it may see).
    Resumed {
        resumed: Frame,
        missed: Vec<Frame>,
        /// How many of `missed` are events (the rest report stalls).
        replayed: usize,
    },
}

/// A new subscriber's starting point and the live stream after it. The
/// stream carries every frame; the subscriber drops those its principal
/// may not see.
pub struct Subscription {
    pub start: Start,
    pub frames: broadcast::Receiver<Outbound>,
}

/// See the module documentation.
pub struct Hub {
    state: Mutex<HubState>,
    sender: broadcast::Sender<Outbound>,
    config: HubConfig,
    metrics: Arc<Metrics>,
    rejection_log: LogLimit,
    stale_log: LogLimit,
    /// Whether the history has been loaded (from Redis) since start.
    history_loaded: tokio::sync::watch::Sender<bool>,
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
                runs: RunStore::new(config.retention, config.deadlines),
                history: History::new(config.history_size, config.history_bytes),
                last_id: None,
                bus,
                cached_snapshots: HashMap::new(),
                cached_bytes: 0,
            }),
            sender,
            config,
            metrics,
            rejection_log: LogLimit::new(10, "rejected bus messages"),
            stale_log: LogLimit::new(10, "stale events"),
            history_loaded: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Says the history is complete: reloaded from Redis, or, on the
    /// in-process bus, there from the start.
    pub fn mark_history_loaded(&self) {
        self.history_loaded.send_replace(true);
    }

    /// Whether the history is loaded (see [`Hub::mark_history_loaded`]).
    pub fn history_loaded(&self) -> bool {
        *self.history_loaded.borrow()
    }

    /// Waits, at most `limit`, for the history to be loaded. A client that
    /// resumes before then could be told its id is unknown when it is
    /// only not loaded yet.
    pub async fn wait_for_history(&self, limit: std::time::Duration) -> bool {
        let mut loaded = self.history_loaded.subscribe();
        tokio::time::timeout(limit, loaded.wait_for(|loaded| *loaded))
            .await
            .is_ok_and(|result| result.is_ok())
    }

    /// The largest event accepted, in bytes.
    pub fn max_event_bytes(&self) -> usize {
        self.config.max_event_bytes
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Checks one message from the bus. Invalid messages are counted, logged
    /// (rate-limited, with a truncated sample) and refused.
    pub fn validate(&self, message: &[u8]) -> Result<ValidEvent, Rejection> {
        self.metrics.events_received.inc();
        event::parse_event(message, self.config.max_event_bytes).inspect_err(|rejection| {
            self.metrics.count_rejection(rejection);
            if self.rejection_log.allow() {
                let sample = String::from_utf8_lossy(&message[..message.len().min(200)]);
                tracing::warn!(
                    reason = rejection.reason(),
                    bytes = message.len(),
                    sample = %sample,
                    "rejected bus message: {rejection}"
                );
            }
        })
    }

    /// Relays `event` under `id` when it follows the last relayed event with
    /// nothing between: `previous` is the id of the event before it in the
    /// bus's record (`None` when it is the first). Otherwise does nothing and
    /// says why; whoever brings events in order ([`Hub::relay_at`]) relays it
    /// later. A compare-and-append: the check and the relay are one step.
    pub fn relay_after(&self, previous: Option<EventId>, id: EventId, event: &ValidEvent) -> Relay {
        let state = self.state.lock();
        if state.last_id.is_some_and(|last| id <= last) {
            return Relay::AlreadyRelayed;
        }
        if state.last_id != previous {
            return Relay::NotNext;
        }
        self.relay_locked(state, id, event);
        Relay::Relayed
    }

    /// Relays `event` under `id`, an id the bus gave it. Returns false, doing
    /// nothing, when `id` is not newer than the last relayed event: it was
    /// relayed already.
    pub fn relay_at(&self, id: EventId, event: &ValidEvent) -> bool {
        let state = self.state.lock();
        if state.last_id.is_some_and(|last| id <= last) {
            return false;
        }
        self.relay_locked(state, id, event);
        true
    }

    /// Folds an event recorded earlier into its run without relaying it:
    /// a restarting gateway restores the state of every retained run this
    /// way before it reloads the history. Folding is idempotent by id.
    pub fn restore(&self, id: EventId, event: &ValidEvent) {
        if let Some(update) = &event.pipeline {
            let mut state = self.state.lock();
            let time_ms = event.published_at.map_or(id.ms, |p| p.unix_ms);
            state.runs.apply(&event.scope, update, id, time_ms);
            state.forget_snapshots();
        }
    }

    /// Runs kept at most.
    pub fn max_runs(&self) -> usize {
        self.config.retention.max_runs
    }

    /// Relays `event` under the next id the hub picks (the in-process bus,
    /// which has no ids of its own).
    pub fn relay_next(&self, event: &ValidEvent) -> EventId {
        let state = self.state.lock();
        let id = EventId::next(state.last_id, clock::now_ms());
        self.relay_locked(state, id, event);
        id
    }

    /// Relays `event` under `id`, newer than every relayed id, and releases
    /// the lock.
    fn relay_locked(
        &self,
        mut state: parking_lot::MutexGuard<'_, HubState>,
        id: EventId,
        event: &ValidEvent,
    ) {
        let received_ms = clock::now_ms();
        let folded = event
            .pipeline
            .as_ref()
            .map(|update| self.fold(&mut state, id, event, update));
        let frame = frames::event_frame(
            &id.to_string(),
            received_ms,
            event.pipeline.as_ref(),
            folded.as_ref().map(|(delta, _)| delta.as_str()),
            &event.raw,
        );
        let item = Outbound {
            frame,
            scope: event.scope.clone(),
            relayed_at: std::time::Instant::now(),
            conflate: folded.map_or(0, |(_, conflate)| conflate),
        };
        state.history.push(id, item.clone());
        state.last_id = Some(id);
        state.forget_snapshots();
        // An error only means nobody is subscribed right now.
        let _ = self.sender.send(item);
        drop(state);
        self.metrics.events_relayed.inc();
        if let Some(published) = event.published_at {
            let seconds = (received_ms - published.unix_ms) as f64 / 1000.0;
            self.metrics.ingest_latency.observe(seconds);
        }
    }

    /// Folds a pipeline event into its run ([`RunStore::apply`]); returns the
    /// run's delta for the event frame, and the frame's conflation key (0
    /// unless it only reports progress). Its time is its `ts`, or the time
    /// of its id: the same on every gateway, so every gateway folds alike.
    fn fold(
        &self,
        state: &mut HubState,
        id: EventId,
        event: &ValidEvent,
        update: &PipelineUpdate,
    ) -> (String, u64) {
        let time_ms = event.published_at.map_or(id.ms, |p| p.unix_ms);
        let applied = state.runs.apply(&event.scope, update, id, time_ms);
        let stale = applied.added == Added::Stale;
        if stale {
            self.metrics.events_stale.inc();
            if self.stale_log.allow() {
                tracing::info!(%id, run = %update.run_id, stage = %update.stage, status = %update.status,
                    "stale, not applied: an older event of this stage came after a newer one");
            }
        }
        let key = (event.scope.clone(), update.run_id.clone());
        let run = state
            .runs
            .get_by_key(&key)
            .expect("the run was just folded into");
        let progress_only = update.progress.is_some()
            && !stale
            && run.stage(update.stage).status == Status::Processing;
        let conflate = if progress_only {
            conflation_key(&key, update.stage)
        } else {
            0
        };
        (run.delta_json(update.stage, stale), conflate)
    }

    /// Marks stalled the stages past their deadline, unmarks those no longer,
    /// and sends a `run` frame for each change. The gateway calls it every
    /// second when a deadline is configured.
    pub fn sweep_stalls(&self) {
        let mut state = self.state.lock();
        let changed = state.runs.refresh_stalls(clock::now_ms());
        for (key, stage) in &changed {
            let run = state
                .runs
                .get_by_key(key)
                .expect("a run that changed exists");
            if run.stage(*stage).stalled {
                self.metrics.stalls.inc();
                tracing::warn!(run = %run.run_id, tenant = run.scope.tenant.as_deref().unwrap_or(""),
                    %stage, "stage stalled: processing for longer than its deadline");
            }
            let frame = frames::run_frame(&run.delta_json(*stage, false));
            let _ = self.sender.send(Outbound::scoped(frame, key.0.clone()));
        }
        if !changed.is_empty() {
            state.forget_snapshots();
        }
        let stalled = state.runs.stalled_stages();
        self.metrics.stages_stalled.set(stalled as i64);
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
        state.forget_snapshots();
        self.metrics.bus_up.set(i64::from(up));
        let _ = self.sender.send(Outbound::public(state.bus.frame()));
    }

    pub fn bus_state(&self) -> BusState {
        self.state.lock().bus.clone()
    }

    /// Where a new client of `principal` starts, and the stream of every
    /// frame after that, taken atomically. With `resume_from` (the last
    /// event id the client saw), the client gets exactly the events it
    /// missed when that id is retained, else a snapshot saying resume was
    /// not possible.
    pub fn subscribe(&self, principal: &Principal, resume_from: Option<&str>) -> Subscription {
        let mut state = self.state.lock();
        let frames = self.sender.subscribe();
        if let Some(requested) = resume_from {
            let missed = match requested.parse::<EventId>() {
                Ok(id) => state.history.since(id, |item| principal.sees(&item.scope)),
                Err(()) => Since::Unknown,
            };
            let start = match missed {
                Since::Frames(missed) => {
                    let replayed = missed.len();
                    let mut missed: Vec<Frame> =
                        missed.into_iter().map(|item| item.frame).collect();
                    // Stalls are not events, so no replay brings them.
                    missed.extend(stall_frames(&state.runs, principal));
                    Start::Resumed {
                        resumed: frames::resumed_frame(requested, replayed, &state.bus),
                        missed,
                        replayed,
                    }
                }
                Since::Unknown => Start::Snapshot {
                    frame: self.snapshot_frame(&state, principal, Some(requested)),
                    resume_failed: Some(requested.to_owned()),
                },
            };
            return Subscription { start, frames };
        }
        let view = principal.view();
        let frame = match state.cached_snapshots.get(&view) {
            Some(frame) => frame.clone(),
            None => {
                let frame = self.snapshot_frame(&state, principal, None);
                if state.cached_bytes + frame.len() > MAX_CACHED_SNAPSHOT_BYTES {
                    state.forget_snapshots();
                }
                state.cached_bytes += frame.len();
                state.cached_snapshots.insert(view, frame.clone());
                frame
            }
        };
        Subscription {
            start: Start::Snapshot {
                frame,
                resume_failed: None,
            },
            frames,
        }
    }

    fn snapshot_frame(
        &self,
        state: &HubState,
        principal: &Principal,
        resume_failed: Option<&str>,
    ) -> Frame {
        let last_id = state.last_id.map(|id| id.to_string());
        let runs: Vec<&RunState> = state
            .runs
            .newest_first()
            .into_iter()
            .filter(|run| principal.sees(&run.scope()))
            .collect();
        let recent = state.history.newest(
            self.config.recent_events,
            self.config.recent_bytes,
            |item| principal.sees(&item.scope),
        );
        frames::snapshot_frame(
            last_id.as_deref(),
            &state.bus,
            (&runs, state.runs.max_runs()),
            recent.into_iter().map(|item| &item.frame),
            resume_failed,
        )
    }

    /// Every retained run `principal` may see, newest start first.
    pub fn runs(&self, principal: &Principal) -> Vec<RunState> {
        self.state
            .lock()
            .runs
            .newest_first()
            .into_iter()
            .filter(|run| principal.sees(&run.scope()))
            .cloned()
            .collect()
    }

    /// Up to `limit` event frames `principal` may see after `after` (from
    /// the oldest retained when `None`); `None` when `after` is not retained.
    pub fn events_page(
        &self,
        principal: &Principal,
        after: Option<EventId>,
        limit: usize,
    ) -> Option<Vec<(EventId, Frame)>> {
        let page = self
            .state
            .lock()
            .history
            .page(after, limit, |item| principal.sees(&item.scope))?;
        Some(
            page.into_iter()
                .map(|(id, item)| (id, item.frame))
                .collect(),
        )
    }

    /// A copy of the run called `run_id` that `principal` may see.
    /// Every retained run called `run_id` that `principal` may see and
    /// that `matches` (a tenant and user filter): one, none, or several (an
    /// admin sees one per tenant that used the id).
    pub fn runs_called(
        &self,
        principal: &Principal,
        run_id: &str,
        matches: impl Fn(&Scope) -> bool,
    ) -> Vec<RunState> {
        self.state
            .lock()
            .runs
            .newest_first()
            .into_iter()
            .filter(|run| run.run_id == run_id && principal.sees(&run.scope) && matches(&run.scope))
            .cloned()
            .collect()
    }

    /// The id of the newest relayed event.
    pub fn last_id(&self) -> Option<EventId> {
        self.state.lock().last_id
    }

    /// Waits, at most `limit`, until the hub has relayed `id` or a later
    /// event. A client moving from a gateway that is a moment ahead of this
    /// one resumes from an id this one is about to relay. Rare, so it polls.
    pub async fn wait_until_relayed(&self, id: EventId, limit: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if self.last_id().is_some_and(|last| last >= id) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> Hub {
        Hub::new(HubConfig::default(), BusKind::Memory, Arc::default())
    }

    /// What the in-process bus does with a message: validate, then relay.
    fn ingest(hub: &Hub, message: &[u8]) -> Result<EventId, Rejection> {
        hub.validate(message).map(|event| hub.relay_next(&event))
    }

    #[tokio::test]
    async fn a_subscriber_gets_a_snapshot_then_every_later_event() {
        let hub = hub();
        ingest(
            &hub,
            br#"{"type":"pipeline.stage","run_id":"r1","stage":"radar","status":"processing"}"#,
        )
        .unwrap();
        let mut sub = hub.subscribe(&Principal::anonymous(), None);
        let snapshot: serde_json::Value = serde_json::from_str(snapshot_text(&sub.start)).unwrap();
        assert_eq!(
            snapshot["runs"][0]["stages"]["radar"]["status"],
            "processing"
        );
        assert_eq!(snapshot["recent_events"].as_array().unwrap().len(), 1);
        let id = ingest(
            &hub,
            br#"{"type":"pipeline.stage","run_id":"r1","stage":"radar","status":"complete"}"#,
        )
        .unwrap();
        let frame: serde_json::Value =
            serde_json::from_str(sub.frames.recv().await.unwrap().frame.as_str()).unwrap();
        assert_eq!(frame["id"], id.to_string());
        assert_eq!(frame["pipeline"]["status"], "complete");
        assert!(sub.frames.try_recv().is_err(), "nothing else was sent");
    }

    #[tokio::test]
    async fn the_ring_and_the_history_share_each_frame() {
        let hub = hub();
        let mut sub = hub.subscribe(&Principal::anonymous(), None);
        ingest(&hub, br#"{"type":"large","data":"xxxxxxxx"}"#).unwrap();
        let live = sub.frames.recv().await.unwrap().frame;
        let kept = hub
            .events_page(&Principal::anonymous(), None, 1)
            .unwrap()
            .remove(0)
            .1;
        assert_eq!(live.as_ptr(), kept.as_ptr(), "one buffer, not a copy");
    }

    #[test]
    fn rejected_messages_are_counted_by_reason_and_not_broadcast() {
        let hub = hub();
        let mut sub = hub.subscribe(&Principal::anonymous(), None);
        assert!(ingest(&hub, b"garbage").is_err());
        assert!(ingest(&hub, b"[]").is_err());
        assert_eq!(hub.metrics.rejected("not_json"), 1);
        assert_eq!(hub.metrics.rejected("not_object"), 1);
        assert!(sub.frames.try_recv().is_err());
        assert!(hub.last_id().is_none());
    }

    #[test]
    fn bus_changes_are_broadcast_once() {
        let hub = hub();
        let mut sub = hub.subscribe(&Principal::anonymous(), None);
        hub.set_bus(true, None);
        hub.set_bus(true, None);
        let frame = sub.frames.try_recv().unwrap().frame;
        assert!(frame.as_str().contains(r#""state":"up""#));
        assert!(sub.frames.try_recv().is_err());
        assert!(hub.bus_state().up);
    }

    #[test]
    fn snapshot_is_rebuilt_only_after_a_change() {
        let hub = hub();
        let a = hub.subscribe(&Principal::anonymous(), None).start;
        let b = hub.subscribe(&Principal::anonymous(), None).start;
        assert_eq!(
            snapshot_text(&a).as_ptr(),
            snapshot_text(&b).as_ptr(),
            "cached snapshot reused"
        );
        ingest(&hub, br#"{"type":"note"}"#).unwrap();
        let c = hub.subscribe(&Principal::anonymous(), None).start;
        assert!(snapshot_text(&c).contains(r#""type":"note""#));
    }

    fn snapshot_text(start: &Start) -> &str {
        match start {
            Start::Snapshot { frame, .. } => frame.as_str(),
            Start::Resumed { .. } => panic!("expected a snapshot"),
        }
    }

    #[test]
    fn a_resuming_subscriber_gets_exactly_what_it_missed() {
        let hub = hub();
        let first = ingest(&hub, br#"{"type":"a"}"#).unwrap();
        ingest(&hub, br#"{"type":"b"}"#).unwrap();
        ingest(&hub, br#"{"type":"c"}"#).unwrap();
        let sub = hub.subscribe(&Principal::anonymous(), Some(&first.to_string()));
        let Start::Resumed {
            resumed, missed, ..
        } = sub.start
        else {
            panic!("the id is retained")
        };
        assert!(
            resumed.as_str().contains(r#""replayed":2"#),
            "{}",
            resumed.as_str()
        );
        assert!(missed[0].as_str().contains(r#""type":"b""#));
        assert!(missed[1].as_str().contains(r#""type":"c""#));
        let sub = hub.subscribe(&Principal::anonymous(), Some("123-0"));
        let Start::Snapshot {
            frame,
            resume_failed,
        } = sub.start
        else {
            panic!("an unknown id gets a snapshot")
        };
        assert_eq!(resume_failed.as_deref(), Some("123-0"));
        assert!(frame.as_str().contains(r#""resume_failed":"123-0""#));
        assert!(matches!(
            hub.subscribe(&Principal::anonymous(), Some("nonsense"))
                .start,
            Start::Snapshot { .. }
        ));
    }

    #[test]
    fn a_recorded_id_is_relayed_once() {
        let hub = hub();
        let event = event::parse_event(br#"{"type":"x"}"#, 1024).unwrap();
        let id = EventId { ms: 5, seq: 1 };
        assert!(hub.relay_at(id, &event));
        assert!(!hub.relay_at(id, &event), "same id again");
        assert!(!hub.relay_at(EventId { ms: 5, seq: 0 }, &event), "older id");
        assert_eq!(hub.metrics.events_relayed.get(), 1);
    }

    #[test]
    fn a_recorded_event_is_relayed_straight_only_when_nothing_is_missing_before_it() {
        let hub = hub();
        let event = event::parse_event(br#"{"type":"x"}"#, 1024).unwrap();
        let id = |seq| EventId { ms: 9, seq };
        assert_eq!(
            hub.relay_after(Some(id(0)), id(1), &event),
            Relay::NotNext,
            "the hub has not seen 9-0"
        );
        assert_eq!(hub.relay_after(None, id(0), &event), Relay::Relayed);
        assert_eq!(hub.relay_after(Some(id(0)), id(1), &event), Relay::Relayed);
        assert_eq!(
            hub.relay_after(Some(id(0)), id(1), &event),
            Relay::AlreadyRelayed
        );
        assert_eq!(
            hub.relay_after(Some(id(2)), id(3), &event),
            Relay::NotNext,
            "9-2 is missing"
        );
        assert_eq!(hub.last_id(), Some(id(1)));
        assert_eq!(hub.metrics.events_relayed.get(), 2);
    }
}
