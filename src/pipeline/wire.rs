//! How runs and stages are written for clients (docs/protocol.md,
//! "RunState"): the whole run in snapshots and `/api/runs`, and the run's
//! header with the one stage that changed in each event frame.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::{RunState, StageState};
use crate::clock;
use crate::event::{Scope, Stage};

fn time(ms: Option<i64>) -> Option<String> {
    ms.map(clock::format_ms)
}

/// A part of a run key: `/` and `%` escaped, so the parts join unambiguously.
fn escaped(part: &str) -> String {
    part.replace('%', "%25").replace('/', "%2F")
}

/// A run's key for clients and in Redis: `tenant/user/run_id` (parts
/// escaped, empty when absent). Unique among the runs a client may see.
pub fn run_key(scope: &Scope, run_id: &str) -> String {
    format!(
        "{}/{}/{}",
        escaped(scope.tenant.as_deref().unwrap_or("")),
        escaped(scope.user_id.as_deref().unwrap_or("")),
        escaped(run_id)
    )
}

impl RunState {
    /// The run's key ([`run_key`]).
    pub fn key(&self) -> String {
        run_key(&self.scope, &self.run_id)
    }

    /// The run's own fields, shared by the whole run and its deltas.
    fn header<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("key", &self.key())?;
        map.serialize_entry("run_id", &self.run_id)?;
        if let Some(tenant) = &self.scope.tenant {
            map.serialize_entry("tenant", tenant)?;
        }
        if let Some(user_id) = &self.scope.user_id {
            map.serialize_entry("user_id", user_id)?;
        }
        map.serialize_entry("version", &self.version.to_string())?;
        map.serialize_entry("outcome", &self.outcome)?;
        map.serialize_entry("started_at", &time(self.started_at))?;
        map.serialize_entry("updated_at", &time(self.updated_at))?;
        map.serialize_entry("ended_at", &time(self.ended_at))?;
        map.serialize_entry("stalled", &self.stalled())
    }

    /// The `run` of an event frame: the header, the stage the event
    /// changed and its new state, and whether the event came after a newer
    /// one of its stage (`stale`: it did not move the stage).
    pub fn delta_json(&self, stage: Stage, stale: bool) -> String {
        serde_json::to_string(&Delta {
            run: self,
            stage,
            stale,
        })
        .expect("a run serialises")
    }
}

impl Serialize for RunState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.header(&mut map)?;
        map.serialize_entry("stages", &Stages(&self.stages))?;
        map.end()
    }
}

struct Stages<'a>(&'a [StageState; 6]);

impl Serialize for Stages<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(6))?;
        for stage in Stage::ALL {
            map.serialize_entry(stage.as_str(), &self.0[stage.index()])?;
        }
        map.end()
    }
}

struct Delta<'a> {
    run: &'a RunState,
    stage: Stage,
    stale: bool,
}

impl Serialize for Delta<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.run.header(&mut map)?;
        map.serialize_entry("stage", self.stage.as_str())?;
        map.serialize_entry("state", self.run.stage(self.stage))?;
        map.serialize_entry("stale", &self.stale)?;
        map.end()
    }
}

impl Serialize for StageState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(9))?;
        map.serialize_entry("status", self.status.as_str())?;
        map.serialize_entry("detail", &self.detail)?;
        map.serialize_entry("started_at", &time(self.started_at))?;
        map.serialize_entry("ended_at", &time(self.ended_at))?;
        map.serialize_entry("error", &self.error)?;
        map.serialize_entry("attempt", &self.attempt)?;
        map.serialize_entry("progress", &self.progress)?;
        map.serialize_entry("eta", &time(self.eta_at))?;
        map.serialize_entry("stalled", &self.stalled)?;
        map.end()
    }
}
