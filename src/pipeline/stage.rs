//! One stage of one run: its events, kept in one order, and the state they
//! fold into.
//!
//! The state of a stage depends only on the set of its events, never on the
//! order they arrived in: the events are sorted by [`Step::key`] and folded
//! from the first, so every gateway, whatever order its copies came in,
//! shows the same thing (docs/events.md, "Ordering"). The key is, in order:
//!
//! 1. the event's time: its `ts`, or, without one, the time in its id (when
//!    it was recorded; the same on every gateway). For events that carry a
//!    `seq`, the time is made non-decreasing in `seq` (each takes the latest
//!    time of the events with a lower or equal `seq`), so that a publisher's
//!    clock stepping back cannot reorder what its `seq` orders;
//! 2. `seq` (events without one after those with one, at equal times);
//! 3. the status: at equal times `processing` comes before `complete` and
//!    `error`, so a terminal state is never undone by an equal `processing`;
//! 4. the id, which is unique.
//!
//! The fold: `processing` after a terminal state (or `idle`) starts a new
//! attempt, numbered one past the last unless the event says (`attempt`);
//! `processing` within an attempt updates its progress and detail; an event
//! of an earlier attempt than the current one changes nothing.

use std::sync::Arc;

use crate::event::{EventId, PipelineUpdate, Status};

/// One event of a stage, as the fold needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: EventId,
    /// The event's `ts` in Unix ms, or its id's time when it has none.
    pub time_ms: i64,
    pub seq: Option<u64>,
    pub attempt: Option<u32>,
    pub status: Status,
    pub detail: Option<Arc<str>>,
    pub progress: Option<f32>,
    pub eta_s: Option<f64>,
}

impl Step {
    pub fn new(update: &PipelineUpdate, id: EventId, time_ms: i64) -> Step {
        Step {
            id,
            time_ms,
            seq: update.seq,
            attempt: update.attempt,
            status: update.status,
            detail: update.detail.as_deref().map(Arc::from),
            progress: update.progress,
            eta_s: update.eta_s,
        }
    }

    /// Where the step sorts, given its time made monotonic in `seq`.
    fn key(&self, time_ms: i64) -> (i64, u64, u8, EventId) {
        let rank = match self.status {
            Status::Idle => 0,
            Status::Processing => 1,
            Status::Complete | Status::Error => 2,
        };
        (time_ms, self.seq.unwrap_or(u64::MAX), rank, self.id)
    }

    /// A progress update: `processing` with progress, nothing else to say
    /// for the order of the stage.
    fn is_progress(&self) -> bool {
        self.status == Status::Processing && self.progress.is_some()
    }
}

/// The state of one stage of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct StageState {
    pub status: Status,
    pub detail: Option<Arc<str>>,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub error: Option<Arc<str>>,
    /// 0 before the stage first runs, then 1, 2, … (a retry).
    pub attempt: u32,
    pub progress: Option<f32>,
    /// When a `processing` stage expects to be done (Unix ms).
    pub eta_at: Option<i64>,
    /// Processing for longer than its deadline ([`super::Deadlines`]).
    pub stalled: bool,
}

impl StageState {
    pub fn idle() -> StageState {
        StageState {
            status: Status::Idle,
            detail: None,
            started_at: None,
            ended_at: None,
            error: None,
            attempt: 0,
            progress: None,
            eta_at: None,
            stalled: false,
        }
    }

    /// Folds one step in; see the module documentation.
    fn apply(&mut self, step: &Step) {
        if step.attempt.is_some_and(|attempt| attempt < self.attempt) {
            return;
        }
        let applied = match step.status {
            Status::Processing => self.processing(step),
            Status::Complete | Status::Error => {
                self.finish(step);
                true
            }
            Status::Idle => {
                *self = StageState {
                    attempt: self.attempt,
                    detail: self.detail.take(),
                    ..StageState::idle()
                };
                true
            }
        };
        if applied && let Some(detail) = &step.detail {
            self.detail = Some(detail.clone());
        }
    }

    /// A `processing` step: a new attempt, or progress within this one.
    /// False when it belongs to an attempt that has ended.
    fn processing(&mut self, step: &Step) -> bool {
        let new_attempt = match step.attempt {
            Some(attempt) => attempt > self.attempt || self.status == Status::Idle,
            None => self.status != Status::Processing,
        };
        if !new_attempt && self.status != Status::Processing {
            return false;
        }
        if new_attempt {
            self.status = Status::Processing;
            self.attempt = step.attempt.unwrap_or(self.attempt + 1);
            self.started_at = Some(step.time_ms);
            self.ended_at = None;
            self.error = None;
            self.progress = None;
            self.eta_at = None;
        }
        if step.progress.is_some() {
            self.progress = step.progress;
        }
        if let Some(eta_s) = step.eta_s {
            self.eta_at = Some(step.time_ms + (eta_s * 1000.0) as i64);
        }
        true
    }

    /// A `complete` or `error` step.
    fn finish(&mut self, step: &Step) {
        match step.attempt {
            Some(attempt) if attempt > self.attempt => {
                self.attempt = attempt;
                self.started_at = None;
            }
            None if self.attempt == 0 => self.attempt = 1,
            _ => {}
        }
        self.status = step.status;
        self.started_at.get_or_insert(step.time_ms);
        self.ended_at = Some(step.time_ms);
        self.progress = None;
        self.eta_at = None;
        self.error = match step.status {
            Status::Error => Some(step.detail.clone().unwrap_or_else(|| Arc::from("error"))),
            _ => None,
        };
    }
}

/// Most steps a stage keeps. Past it, the oldest progress updates that
/// neither start an attempt nor are the newest are merged away (their
/// detail passes to the next step): state transitions are never dropped.
pub const MAX_STEPS: usize = 64;

/// The steps of one stage, in their order, and what they fold into.
#[derive(Debug, Clone, Default)]
pub struct StageLog {
    steps: Vec<Step>,
}

/// What adding a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// It is the stage's newest event.
    Newest,
    /// An older event came after a newer one: it took its place in the
    /// order, and the state is what the whole set folds into.
    Stale,
    /// The same id was added before: nothing changed.
    Known,
}

impl StageLog {
    /// Adds `step` in its place and returns how it fitted.
    pub fn add(&mut self, step: Step) -> Added {
        if self.steps.iter().any(|known| known.id == step.id) {
            return Added::Known;
        }
        let id = step.id;
        self.steps.push(step);
        self.sort();
        self.trim();
        if self.steps.last().is_some_and(|last| last.id == id) {
            Added::Newest
        } else {
            Added::Stale
        }
    }

    /// The state the steps fold into.
    pub fn fold(&self) -> StageState {
        let mut state = StageState::idle();
        for step in &self.steps {
            state.apply(step);
        }
        state
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Sorts by key, with times made monotonic in `seq`.
    fn sort(&mut self) {
        let mut with_seq: Vec<(u64, EventId, i64)> = self
            .steps
            .iter()
            .filter_map(|step| step.seq.map(|seq| (seq, step.id, step.time_ms)))
            .collect();
        with_seq.sort_unstable();
        let mut latest = i64::MIN;
        let monotonic: std::collections::HashMap<EventId, i64> = with_seq
            .into_iter()
            .map(|(_, id, time)| {
                latest = latest.max(time);
                (id, latest)
            })
            .collect();
        self.steps.sort_by_cached_key(|step| {
            let time = monotonic.get(&step.id).copied().unwrap_or(step.time_ms);
            step.key(time)
        });
    }

    /// Merges away the oldest progress updates past [`MAX_STEPS`].
    fn trim(&mut self) {
        while self.steps.len() > MAX_STEPS {
            let droppable = (1..self.steps.len() - 1).find(|&at| {
                self.steps[at].is_progress() && self.steps[at - 1].status == Status::Processing
            });
            let Some(at) = droppable else { break };
            let dropped = self.steps.remove(at);
            let next = &mut self.steps[at];
            if next.detail.is_none() {
                next.detail = dropped.detail;
            }
        }
    }
}
