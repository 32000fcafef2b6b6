//! The Lua scripts the gateways and publishers run in Redis, kept as `.lua`
//! files beside this module (one copy, read by every client that records or
//! publishes events) and embedded here.
//!
//! Both start with `append.lua` (appends to the stream and keeps it bounded
//! in entries and bytes) and `runs.lua` (keeps each run's events for its
//! state). [`RECORD`] is what a gateway's recorder runs for every message it
//! receives on the channel; [`PUBLISH`] is what a durable publisher runs to
//! record and publish in one step. Their keys and arguments are written at
//! the top of each file; docs/architecture.md explains the de-duplication
//! they share. The Python library ships the same files (its build,
//! clients/python/hatch_build.py, takes them from here), so its durable
//! publish is [`PUBLISH`] to the byte.

/// Records a message received on the channel once, whichever gateway sees
/// it first. Returns `{id, previous}`, or nil for an unknown duplicate.
pub const RECORD: &str = concat!(
    include_str!("scripts/append.lua"),
    include_str!("scripts/runs.lua"),
    include_str!("scripts/record.lua")
);

/// Records an event in the stream, counts it as seen, then publishes it.
/// Returns the entry id.
pub const PUBLISH: &str = concat!(
    include_str!("scripts/append.lua"),
    include_str!("scripts/runs.lua"),
    include_str!("scripts/publish.lua")
);

/// Most state transitions kept per run in Redis.
pub const MAX_RUN_STEPS: usize = 512;
