//! The authoritative state of every pipeline run.
//!
//! The gateway folds each `pipeline.stage` event into a [`RunState`], so a
//! client that connects or reloads gets the exact current timeline in its
//! snapshot instead of an empty one. The folding rules are written down in
//! docs/protocol.md ("RunState"); the dashboard applies the same rules to
//! live events. Retention is bounded by a run count and an age.

use std::collections::HashMap;

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::clock;
use crate::event::{PipelineUpdate, Scope, Stage, Status};

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

/// One stage of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageState {
    pub status: Status,
    pub detail: Option<String>,
    #[serde(serialize_with = "ser_time")]
    pub started_at: Option<i64>,
    #[serde(serialize_with = "ser_time")]
    pub ended_at: Option<i64>,
    pub error: Option<String>,
}

impl StageState {
    fn idle() -> Self {
        StageState {
            status: Status::Idle,
            detail: None,
            started_at: None,
            ended_at: None,
            error: None,
        }
    }
}

/// Where a run stands as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Running,
    Complete,
    Error,
}

/// The state of one pipeline run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunState {
    pub run_id: String,
    /// The run's `tenant`, when its events carry one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<std::sync::Arc<str>>,
    /// The run's `user_id`, when its events carry one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<std::sync::Arc<str>>,
    #[serde(serialize_with = "ser_time")]
    pub started_at: Option<i64>,
    #[serde(serialize_with = "ser_time")]
    pub updated_at: Option<i64>,
    #[serde(serialize_with = "ser_time")]
    pub ended_at: Option<i64>,
    pub outcome: Outcome,
    #[serde(serialize_with = "ser_stages")]
    pub stages: [StageState; 6],
    /// When the gateway last saw an event of this run (its own clock, so
    /// that a publisher's skewed `ts` cannot make retention misbehave).
    #[serde(skip)]
    pub seen_ms: i64,
}

impl RunState {
    fn new(scope: &Scope, run_id: String, at: i64) -> Self {
        RunState {
            run_id,
            tenant: scope.tenant.clone(),
            user_id: scope.user_id.clone(),
            started_at: Some(at),
            updated_at: Some(at),
            ended_at: None,
            outcome: Outcome::Running,
            stages: std::array::from_fn(|_| StageState::idle()),
            seen_ms: clock::now_ms(),
        }
    }

    /// Who may see this run: the scope of its events.
    pub fn scope(&self) -> Scope {
        Scope {
            tenant: self.tenant.clone(),
            user_id: self.user_id.clone(),
        }
    }

    pub fn stage(&self, stage: Stage) -> &StageState {
        &self.stages[stage.index()]
    }

    /// Folds one update in, at time `at` (Unix ms).
    pub fn apply(&mut self, update: &PipelineUpdate, at: i64) {
        let stage = &mut self.stages[update.stage.index()];
        stage.status = update.status;
        match update.status {
            Status::Processing => {
                stage.started_at = Some(at);
                stage.ended_at = None;
                stage.error = None;
            }
            Status::Complete => {
                stage.started_at.get_or_insert(at);
                stage.ended_at = Some(at);
                stage.error = None;
            }
            Status::Error => {
                stage.ended_at = Some(at);
                stage.error = Some(update.detail.clone().unwrap_or_else(|| "error".into()));
            }
            Status::Idle => {
                stage.started_at = None;
                stage.ended_at = None;
                stage.error = None;
            }
        }
        if let Some(detail) = &update.detail {
            stage.detail = Some(detail.clone());
        }
        self.updated_at = Some(at);
        self.seen_ms = clock::now_ms();
        let outcome = if self.stages.iter().any(|s| s.status == Status::Error) {
            Outcome::Error
        } else if self.stage(Stage::Report).status == Status::Complete {
            Outcome::Complete
        } else {
            Outcome::Running
        };
        self.ended_at = match outcome {
            Outcome::Running => None,
            _ if self.outcome == outcome => self.ended_at,
            _ => Some(at),
        };
        self.outcome = outcome;
    }
}

/// Every retained run, keyed by scope and run id: two tenants' runs never
/// share state, even when their publishers pick the same run id.
#[derive(Debug, Default)]
pub struct RunStore {
    runs: HashMap<(Scope, String), RunState>,
    retention: Retention,
}

impl RunStore {
    pub fn new(retention: Retention) -> Self {
        RunStore {
            runs: HashMap::new(),
            retention,
        }
    }

    /// Applies an update at time `at`, creating the run when it is new, and
    /// evicts what retention no longer allows.
    pub fn apply(&mut self, scope: &Scope, update: &PipelineUpdate, at: i64) {
        let key = (scope.clone(), update.run_id.clone());
        match self.runs.get_mut(&key) {
            Some(run) => run.apply(update, at),
            None => {
                let mut run = RunState::new(scope, update.run_id.clone(), at);
                run.apply(update, at);
                self.runs.insert(key, run);
            }
        }
        self.evict(clock::now_ms());
    }

    /// Drops runs older than the retention age, then the least recently
    /// updated runs beyond the count limit.
    pub fn evict(&mut self, now_ms: i64) {
        let oldest_allowed = now_ms - self.retention.max_age_ms;
        self.runs.retain(|_, run| run.seen_ms >= oldest_allowed);
        while self.runs.len() > self.retention.max_runs {
            let stalest = self
                .runs
                .values()
                .min_by_key(|run| (run.seen_ms, run.updated_at))
                .map(|run| (run.scope(), run.run_id.clone()));
            match stalest {
                Some(id) => self.runs.remove(&id),
                None => break,
            };
        }
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

fn ser_time<S: serde::Serializer>(value: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(ms) => s.serialize_str(&clock::format_ms(*ms)),
        None => s.serialize_none(),
    }
}

fn ser_stages<S: serde::Serializer>(stages: &[StageState; 6], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(6))?;
    for stage in Stage::ALL {
        map.serialize_entry(stage.as_str(), &stages[stage.index()])?;
    }
    map.end()
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(run: &str, stage: Stage, status: Status, detail: Option<&str>) -> PipelineUpdate {
        PipelineUpdate {
            run_id: run.into(),
            stage,
            status,
            detail: detail.map(str::to_owned),
        }
    }

    #[test]
    fn a_full_run_ends_complete_with_durations() {
        let now = clock::now_ms();
        let mut store = RunStore::new(Retention::default());
        let mut t = now;
        for stage in Stage::ALL {
            store.apply(
                &Scope::default(),
                &update("r1", stage, Status::Processing, Some("working")),
                t,
            );
            t += 100;
            store.apply(
                &Scope::default(),
                &update("r1", stage, Status::Complete, None),
                t,
            );
        }
        let run = store.get("r1").unwrap();
        assert_eq!(run.outcome, Outcome::Complete);
        assert_eq!(run.ended_at, Some(t));
        assert_eq!(run.started_at, Some(now));
        let radar = run.stage(Stage::Radar);
        assert_eq!(radar.status, Status::Complete);
        assert_eq!(radar.ended_at.unwrap() - radar.started_at.unwrap(), 100);
        assert_eq!(radar.detail.as_deref(), Some("working"));
    }

    #[test]
    fn an_error_sets_reason_and_outcome() {
        let now = clock::now_ms();
        let mut store = RunStore::new(Retention::default());
        store.apply(
            &Scope::default(),
            &update("r", Stage::Radar, Status::Processing, None),
            now,
        );
        store.apply(
            &Scope::default(),
            &update("r", Stage::Radar, Status::Error, Some("feed timed out")),
            now + 5,
        );
        let run = store.get("r").unwrap();
        assert_eq!(run.outcome, Outcome::Error);
        assert_eq!(run.ended_at, Some(now + 5));
        assert_eq!(
            run.stage(Stage::Radar).error.as_deref(),
            Some("feed timed out")
        );
        // A retry of the stage clears the error and the run runs again.
        store.apply(
            &Scope::default(),
            &update("r", Stage::Radar, Status::Processing, None),
            now + 9,
        );
        let run = store.get("r").unwrap();
        assert_eq!(run.outcome, Outcome::Running);
        assert_eq!(run.ended_at, None);
        assert_eq!(run.stage(Stage::Radar).error, None);
    }

    #[test]
    fn retention_keeps_the_most_recent_runs() {
        let now = clock::now_ms();
        let mut store = RunStore::new(Retention {
            max_runs: 3,
            max_age_ms: 60_000,
        });
        for i in 0..5 {
            store.apply(
                &Scope::default(),
                &update(&format!("r{i}"), Stage::Radar, Status::Processing, None),
                now + i,
            );
        }
        let ids: Vec<_> = store
            .newest_first()
            .iter()
            .map(|r| r.run_id.clone())
            .collect();
        assert_eq!(ids, ["r4", "r3", "r2"]);
        store.evict(now + 120_000);
        assert!(
            store.is_empty(),
            "runs not seen for longer than max age are dropped"
        );
    }

    #[test]
    fn run_state_serialises_as_documented() {
        let mut store = RunStore::new(Retention::default());
        store.apply(
            &Scope::default(),
            &update("r", Stage::Analyst, Status::Processing, Some("x")),
            1_795_878_000_123,
        );
        let json = serde_json::to_value(store.get("r").unwrap()).unwrap();
        assert_eq!(json["outcome"], "running");
        assert_eq!(json["stages"]["analyst"]["status"], "processing");
        assert_eq!(
            json["stages"]["analyst"]["started_at"],
            "2026-11-28T15:00:00.123Z"
        );
        assert_eq!(json["stages"]["radar"]["status"], "idle");
        assert_eq!(json["ended_at"], serde_json::Value::Null);
    }
}
