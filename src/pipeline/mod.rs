//! The authoritative state of every pipeline run.
//!
//! The gateway is the one place that folds `pipeline.stage` events into runs
//! ([`RunStore`]); clients replace their copy with what it sends (the run
//! and stage state in every event frame, the runs in every snapshot) rather
//! than folding events themselves. Each stage keeps its events in one order
//! and folds them from the first ([`stage`]), so the state depends only on
//! which events arrived, not in what order: every gateway agrees. Runs are
//! keyed by tenant, user and run id, so two tenants' runs never share state.
//! A processing stage past its deadline is marked stalled ([`Deadlines`]).
//! Retention is bounded by a run count and an age.

pub mod stage;
mod wire;

use std::collections::HashMap;

use crate::clock;
use crate::event::{EventId, PipelineUpdate, Scope, Stage, Status};
pub use stage::{Added, StageLog, StageState, Step};
pub use wire::run_key;

/// How many runs, and for how long, the gateway remembers.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub max_runs: usize,
    pub max_age_ms: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_runs: 100,
            max_age_ms: 24 * 3600 * 1000,
        }
    }
}

/// How long each stage may stay `processing` before it is shown stalled
/// (`--stage-deadline`); `None`: never.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deadlines {
    pub per_stage: [Option<i64>; 6],
}

impl Deadlines {
    /// Whether `state` (of `stage`) is stalled at `now_ms`.
    pub fn stalled(&self, stage: Stage, state: &StageState, now_ms: i64) -> bool {
        let (Some(deadline), Some(started)) = (self.per_stage[stage.index()], state.started_at)
        else {
            return false;
        };
        state.status == Status::Processing && now_ms - started > deadline
    }
}

/// Where a run stands as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Running,
    Complete,
    Error,
}

/// Identifies a run: who may see it, and its id.
pub type RunKey = (Scope, String);

/// The state of one pipeline run.
#[derive(Debug, Clone)]
pub struct RunState {
    pub run_id: String,
    pub scope: Scope,
    pub started_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub outcome: Outcome,
    pub stages: [StageState; 6],
    /// The id of the newest event folded into the run (the highest id): the
    /// same on every gateway that folded the same events, and it only grows,
    /// so a client keeps the copy with the highest. Retention goes by it too
    /// (its time is when the event was recorded, not a publisher's clock).
    pub version: EventId,
    logs: [StageLog; 6],
}

impl RunState {
    fn new(scope: &Scope, run_id: &str) -> Self {
        RunState {
            run_id: run_id.to_owned(),
            scope: scope.clone(),
            started_at: None,
            updated_at: None,
            ended_at: None,
            outcome: Outcome::Running,
            stages: std::array::from_fn(|_| StageState::idle()),
            version: EventId {
                ms: i64::MIN,
                seq: 0,
            },
            logs: Default::default(),
        }
    }

    /// Who may see this run: the scope of its events.
    pub fn scope(&self) -> Scope {
        self.scope.clone()
    }

    pub fn stage(&self, stage: Stage) -> &StageState {
        &self.stages[stage.index()]
    }

    /// Whether any stage is stalled.
    pub fn stalled(&self) -> bool {
        self.stages.iter().any(|stage| stage.stalled)
    }

    /// The events each stage keeps, in their order.
    pub fn steps(&self, stage: Stage) -> &[Step] {
        self.logs[stage.index()].steps()
    }

    /// Adds one step to `stage` and folds that stage and the run again.
    fn add(&mut self, stage: Stage, step: Step, deadlines: &Deadlines, now_ms: i64) -> Added {
        let id = step.id;
        let added = self.logs[stage.index()].add(step);
        if added == Added::Known {
            return added;
        }
        self.version = self.version.max(id);
        let mut state = self.logs[stage.index()].fold();
        state.stalled = deadlines.stalled(stage, &state, now_ms);
        self.stages[stage.index()] = state;
        self.refold_run();
        added
    }

    /// The run's own fields, from its stages: it started with its earliest
    /// event and was updated with its latest (by their times, never going
    /// back); it is in error when a stage is, complete when the report is,
    /// and ended when its outcome is no longer running.
    fn refold_run(&mut self) {
        let times = self
            .logs
            .iter()
            .flat_map(|log| log.steps())
            .map(|s| s.time_ms);
        self.started_at = times.clone().min();
        self.updated_at = times.max();
        self.outcome = if self.stages.iter().any(|s| s.status == Status::Error) {
            Outcome::Error
        } else if self.stage(Stage::Report).status == Status::Complete {
            Outcome::Complete
        } else {
            Outcome::Running
        };
        self.ended_at = match self.outcome {
            Outcome::Running => None,
            _ => self.stages.iter().filter_map(|s| s.ended_at).max(),
        };
    }
}

/// What folding one event did to its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub stage: Stage,
    pub added: Added,
}

/// Every retained run, keyed by scope and run id: two tenants' runs never
/// share state, even when their publishers pick the same run id.
#[derive(Debug, Default)]
pub struct RunStore {
    runs: HashMap<RunKey, RunState>,
    retention: Retention,
    deadlines: Deadlines,
}

impl RunStore {
    pub fn new(retention: Retention, deadlines: Deadlines) -> Self {
        RunStore {
            runs: HashMap::new(),
            retention,
            deadlines,
        }
    }

    /// Folds the event `id` (time `time_ms`) into its run, creating the run
    /// when it is new, and evicts what retention no longer allows.
    pub fn apply(
        &mut self,
        scope: &Scope,
        update: &PipelineUpdate,
        id: EventId,
        time_ms: i64,
    ) -> Applied {
        let key = (scope.clone(), update.run_id.clone());
        let now_ms = clock::now_ms();
        let run = self
            .runs
            .entry(key)
            .or_insert_with(|| RunState::new(scope, &update.run_id));
        let added = run.add(
            update.stage,
            Step::new(update, id, time_ms),
            &self.deadlines,
            now_ms,
        );
        self.evict(now_ms);
        Applied {
            stage: update.stage,
            added,
        }
    }

    /// Marks stalled the stages past their deadline at `now_ms`, and
    /// unmarks those no longer; returns the runs and stages that changed.
    pub fn refresh_stalls(&mut self, now_ms: i64) -> Vec<(RunKey, Stage)> {
        let mut changed = Vec::new();
        for (key, run) in &mut self.runs {
            for stage in Stage::ALL {
                let state = &mut run.stages[stage.index()];
                let stalled = self.deadlines.stalled(stage, state, now_ms);
                if state.stalled != stalled {
                    state.stalled = stalled;
                    changed.push((key.clone(), stage));
                }
            }
        }
        changed
    }

    /// Drops the runs whose newest event was recorded longer ago than the
    /// retention age, then, beyond the count limit, those with the oldest
    /// newest event (the lowest version): a client holding `max_runs` runs
    /// drops the same ones.
    pub fn evict(&mut self, now_ms: i64) {
        let oldest_allowed = now_ms - self.retention.max_age_ms;
        self.runs.retain(|_, run| run.version.ms >= oldest_allowed);
        while self.runs.len() > self.retention.max_runs {
            let stalest = self
                .runs
                .values()
                .min_by_key(|run| run.version)
                .map(|run| (run.scope(), run.run_id.clone()));
            match stalest {
                Some(id) => self.runs.remove(&id),
                None => break,
            };
        }
    }

    pub fn get_by_key(&self, key: &RunKey) -> Option<&RunState> {
        self.runs.get(key)
    }

    /// The first run called `run_id` that passes `visible`.
    pub fn find(&self, run_id: &str, visible: impl Fn(&Scope) -> bool) -> Option<&RunState> {
        self.runs
            .iter()
            .find(|((scope, id), _)| id == run_id && visible(scope))
            .map(|(_, run)| run)
    }

    /// The public run called `run_id` (events with neither tenant nor user).
    pub fn get(&self, run_id: &str) -> Option<&RunState> {
        self.runs.get(&(Scope::default(), run_id.to_owned()))
    }

    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    pub fn max_runs(&self) -> usize {
        self.retention.max_runs
    }

    /// How many stages are stalled now.
    pub fn stalled_stages(&self) -> usize {
        self.runs
            .values()
            .map(|run| run.stages.iter().filter(|s| s.stalled).count())
            .sum()
    }

    /// Every run, newest start first.
    pub fn newest_first(&self) -> Vec<&RunState> {
        let mut runs: Vec<&RunState> = self.runs.values().collect();
        runs.sort_by(|a, b| {
            b.started_at
                .cmp(&a.started_at)
                .then_with(|| b.run_id.cmp(&a.run_id))
        });
        runs
    }
}

#[cfg(test)]
mod tests;
