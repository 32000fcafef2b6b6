//! The Redis keys of one channel, and what the record and publish scripts
//! are told about an event's run.
//!
//! Every key of a channel carries the hash tag `{<channel>}`, so that on a
//! Redis Cluster all of them live in one slot and a script may touch them
//! together; every key a script touches is passed to it as a key, the
//! per-payload de-duplication hash included.

use crate::event::{Status, ValidEvent};
use crate::pipeline::run_key;

/// The Redis keys of one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// The stream that records every event.
    pub stream: String,
    /// Prefix of the per-payload de-duplication hashes.
    pub seen_prefix: String,
    /// Hash of settings the gateways share with publishers (`maxlen`,
    /// `maxbytes`, `retention_s`, `max_steps`).
    pub settings: String,
    /// Sorted set of run keys by the time of their last event.
    pub runs: String,
    /// The recorder lease: the id of the gateway that records the channel.
    pub lease: String,
    /// The standby lease: the id of the gateway that listens beside the
    /// recorder, ready to take over.
    pub standby: String,
    /// Set, with no expiry, by the first gateway to take the recorder
    /// lease: once the channel has been recorded, a recorder may have died
    /// with messages unrecorded, and only a standby may take over.
    pub recorded_before: String,
    /// The pub/sub channel of the gateways' delivery probes.
    pub probe: String,
    prefix: String,
}

impl Keys {
    pub fn for_channel(channel: &str) -> Keys {
        let prefix = format!("tactical-link:{{{channel}}}:");
        Keys {
            stream: format!("{prefix}events"),
            seen_prefix: format!("{prefix}seen:"),
            settings: format!("{prefix}settings"),
            runs: format!("{prefix}runs"),
            lease: format!("{prefix}recorder"),
            standby: format!("{prefix}standby"),
            recorded_before: format!("{prefix}recorded-before"),
            probe: format!("{prefix}probe"),
            prefix,
        }
    }

    /// The de-duplication hash of one payload: the prefix and the payload's
    /// SHA-1 in hex (what record.lua and publish.lua are given as KEYS[6]).
    pub fn seen(&self, payload: &[u8]) -> String {
        format!(
            "{}{}",
            self.seen_prefix,
            sha1_smol::Sha1::from(payload).digest()
        )
    }

    /// The stream of a run's state transitions.
    pub fn run_log(&self, run: &str) -> String {
        format!("{}run:{run}", self.prefix)
    }

    /// The hash of a run's newest progress per stage.
    pub fn run_progress(&self, run: &str) -> String {
        format!("{}progress:{run}", self.prefix)
    }
}

/// What the scripts keep of an event for its run: nothing for an event of
/// no run; the newest progress of a stage; or a state transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// The run's key ([`run_key`]), `""` for an event of no run.
    pub run: String,
    /// `transition` or `progress`.
    pub kind: &'static str,
    pub stage: &'static str,
}

impl RunRecord {
    pub fn of(event: &ValidEvent) -> RunRecord {
        let Some(update) = &event.pipeline else {
            return RunRecord {
                run: String::new(),
                kind: "none",
                stage: "",
            };
        };
        let progress =
            update.status == Status::Processing && update.progress.is_some_and(|p| p > 0.0);
        RunRecord {
            run: run_key(&event.scope, &update.run_id),
            kind: if progress { "progress" } else { "transition" },
            stage: update.stage.as_str(),
        }
    }

    /// The script's keys 3 to 5: the runs index, the run's log and its
    /// progress (for an event of no run, unused keys of the same slot).
    pub fn keys(&self, keys: &Keys) -> Vec<String> {
        vec![
            keys.runs.clone(),
            keys.run_log(&self.run),
            keys.run_progress(&self.run),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::parse_event;

    #[test]
    fn every_key_of_a_channel_shares_its_hash_tag() {
        let keys = Keys::for_channel("system_events");
        let run = RunRecord::of(
            &parse_event(
                br#"{"type":"pipeline.stage","run_id":"r/1","stage":"radar","status":"processing","tenant":"acme"}"#,
                1024,
            )
            .unwrap(),
        );
        assert_eq!(run.run, "acme//r%2F1");
        assert_eq!(run.kind, "transition");
        let all = [
            keys.stream.clone(),
            keys.settings.clone(),
            keys.seen_prefix.clone(),
            keys.lease.clone(),
            keys.standby.clone(),
            keys.recorded_before.clone(),
        ]
        .into_iter()
        .chain(run.keys(&keys));
        for key in all {
            assert!(key.starts_with("tactical-link:{system_events}:"), "{key}");
        }
        let progress = parse_event(
            br#"{"type":"pipeline.stage","run_id":"r","stage":"radar","status":"processing","progress":5}"#,
            1024,
        )
        .unwrap();
        assert_eq!(RunRecord::of(&progress).kind, "progress");
        assert_eq!(
            RunRecord::of(&parse_event(br#"{"type":"note"}"#, 64).unwrap()).run,
            ""
        );
    }
}
