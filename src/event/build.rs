//! Writing `pipeline.stage` events: the one builder the CLI, the simulator,
//! the tests and the benchmark use, so the format is spelt out once (and
//! what it writes is checked against the parser below).

use serde::Serialize;

use super::{PIPELINE_STAGE_TYPE, Stage, Status};
use crate::clock;

/// A `pipeline.stage` event as a publisher writes it. `ts` defaults to now.
#[derive(Debug, Clone, Serialize)]
pub struct StageEvent {
    #[serde(rename = "type")]
    kind: &'static str,
    pub run_id: String,
    pub stage: &'static str,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

impl StageEvent {
    /// An event of `run_id` moving `stage` to `status`, stamped now.
    pub fn new(run_id: impl Into<String>, stage: Stage, status: Status) -> StageEvent {
        StageEvent {
            kind: PIPELINE_STAGE_TYPE,
            run_id: run_id.into(),
            stage: stage.as_str(),
            status: status.as_str(),
            detail: None,
            ts: Some(clock::format_ms(clock::now_ms())),
            source: None,
            tenant: None,
            user_id: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> StageEvent {
        self.detail = Some(detail.into());
        self
    }

    pub fn source(mut self, source: impl Into<String>) -> StageEvent {
        self.source = Some(source.into());
        self
    }

    pub fn tenant(mut self, tenant: impl Into<String>) -> StageEvent {
        self.tenant = Some(tenant.into());
        self
    }

    pub fn user_id(mut self, user_id: impl Into<String>) -> StageEvent {
        self.user_id = Some(user_id.into());
        self
    }

    /// `ts` as Unix milliseconds, written in RFC 3339.
    pub fn at_ms(mut self, unix_ms: i64) -> StageEvent {
        self.ts = Some(clock::format_ms(unix_ms));
        self
    }

    /// No `ts`: the gateway orders the event by arrival.
    pub fn without_ts(mut self) -> StageEvent {
        self.ts = None;
        self
    }

    /// The event's JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a stage event serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DEFAULT_MAX_EVENT_BYTES, parse_event};

    #[test]
    fn what_the_builder_writes_the_gateway_reads_back() {
        let text = StageEvent::new("run-7", Stage::Quality, Status::Error)
            .detail("Checks failed")
            .source("quality")
            .tenant("acme")
            .at_ms(1_795_878_000_123)
            .to_json();
        let event = parse_event(text.as_bytes(), DEFAULT_MAX_EVENT_BYTES).unwrap();
        let update = event.pipeline.unwrap();
        assert_eq!(update.run_id, "run-7");
        assert_eq!(
            (update.stage, update.status),
            (Stage::Quality, Status::Error)
        );
        assert_eq!(update.detail.as_deref(), Some("Checks failed"));
        assert_eq!(event.scope.tenant.as_deref(), Some("acme"));
        assert_eq!(event.published_at.unwrap().unix_ms, 1_795_878_000_123);
        let bare = StageEvent::new("r", Stage::Radar, Status::Idle)
            .without_ts()
            .to_json();
        assert_eq!(
            bare,
            r#"{"type":"pipeline.stage","run_id":"r","stage":"radar","status":"idle"}"#
        );
    }
}
