//! `pipeline.stage` events as the tests publish them: through the gateway's
//! own builder, without a `ts`, so the gateway orders them by arrival.

use tactical_link::event::{Stage, StageEvent, Status};

/// The JSON of `run` moving `stage` to `status`, with `detail` (the tests
/// put a sequence number there).
pub fn stage_event(run: &str, stage: Stage, status: Status, detail: &str) -> String {
    StageEvent::new(run, stage, status)
        .detail(detail)
        .without_ts()
        .to_json()
}
