//! The flood itself: events of a given size at a given rate, published on a
//! thread of their own as plain `PUBLISH` (as services publish), durably
//! (the gateway's publish script: stream and channel in one step, as
//! `tactical-link publish` and the Python library do), or alternately.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;
use std::time::Duration;

use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use tactical_link::bus::redis::RedisPublisher;

use crate::publisher::{self, EventKind, PublishOutcome, event_json};

/// How the flood's events are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// `PUBLISH <channel> <json>`: the gateway records it.
    Plain,
    /// The publish script: recorded in the stream, then published.
    Durable,
    /// Plain and durable in turn.
    Mixed,
}

/// Which field of an event carries its padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PadIn {
    /// A field of the publisher's own (`data`): relayed, not interpreted.
    Data,
    /// The event's `detail`: a pipeline event's detail is also kept in its
    /// run's state and repeated in its frame and in snapshots.
    Detail,
}

/// The flood's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Events {
    pub kind: EventKind,
    pub pad_in: PadIn,
    /// Bytes of each event's JSON (within a few: the digits of its
    /// sequence number and time vary).
    pub bytes: usize,
}

impl Events {
    /// Event `seq`'s JSON, padded with `padding` (see [`Events::padding`]).
    pub fn json(&self, seq: u64, sent_us: u64, padding: &str) -> String {
        match self.pad_in {
            PadIn::Detail => event_json(self.kind, seq, sent_us, padding),
            PadIn::Data => {
                let bare = event_json(self.kind, seq, sent_us, "");
                format!(r#"{{"data":"{padding}",{}"#, &bare[1..])
            }
        }
    }

    /// The padding that brings an event to [`Events::bytes`]: what an event
    /// with the longest sequence number and time of the run lacks.
    pub fn padding(&self, events: u64) -> String {
        let bare = self.json(events, u64::from(u32::MAX) * 1_000_000, "");
        "x".repeat(self.bytes.saturating_sub(bare.len()))
    }
}

/// Publishes `count` events at `rate` a second on a new thread, until
/// `stop`; the handle returns what was done.
pub fn spawn(
    url: &str,
    channel: &str,
    via: Via,
    events: Events,
    (count, rate): (u64, f64),
    stop: Arc<AtomicBool>,
) -> anyhow::Result<JoinHandle<PublishOutcome>> {
    let client = redis::Client::open(url)?;
    let mut plain = client.get_connection_with_timeout(Duration::from_secs(5))?;
    plain.set_write_timeout(Some(Duration::from_secs(5)))?;
    plain.set_read_timeout(Some(Duration::from_secs(5)))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // On a thread of its own: the caller may be on a runtime, where
    // `block_on` cannot run.
    let durable = std::thread::scope(|scope| {
        let connect = scope.spawn(|| runtime.block_on(RedisPublisher::connect(url, channel)));
        connect
            .join()
            .map_err(|_| anyhow::anyhow!("the publisher's connect panicked"))
    })??;
    let channel = channel.to_owned();
    let padding = events.padding(count);
    let thread = std::thread::Builder::new().name("flood-publisher".into());
    Ok(thread.spawn(move || {
        let mut sent = 0u64;
        let make = |seq, sent_us| events.json(seq, sent_us, &padding);
        publisher::paced(count, rate, &stop, make, |payload| {
            sent += 1;
            let durably = match via {
                Via::Plain => false,
                Via::Durable => true,
                Via::Mixed => sent.is_multiple_of(2),
            };
            if durably {
                let published = runtime.block_on(durable.publish_text(&payload));
                return published.map(|_| None).map_err(|err| err.to_string());
            }
            redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(payload)
                .query::<i64>(&mut plain)
                .map(Some)
                .map_err(|err| err.to_string())
        })
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::probe;
    use tactical_link::event::parse_event;

    #[test]
    fn events_have_the_size_asked_for_and_are_valid() {
        for kind in [EventKind::Generic, EventKind::Pipeline] {
            for pad_in in [PadIn::Data, PadIn::Detail] {
                let events = Events {
                    kind,
                    pad_in,
                    bytes: 60_000,
                };
                let padding = events.padding(60_000);
                for seq in [0, 59_999] {
                    let json = events.json(seq, 1_764_342_000_123_456, &padding);
                    assert!((59_960..=60_000).contains(&json.len()), "{}", json.len());
                    let event = parse_event(json.as_bytes(), 64 * 1024).unwrap();
                    assert_eq!(event.pipeline.is_some(), kind == EventKind::Pipeline);
                    let detail = event.pipeline.and_then(|p| p.detail).unwrap_or_default();
                    assert_eq!(
                        detail.len() > 50_000,
                        pad_in == PadIn::Detail && kind == EventKind::Pipeline
                    );
                    assert_eq!(probe(&json).map(|p| p.seq), Some(seq));
                }
            }
        }
    }

    #[test]
    fn an_event_smaller_than_its_fields_is_not_padded() {
        let events = Events {
            kind: EventKind::Generic,
            pad_in: PadIn::Data,
            bytes: 10,
        };
        assert_eq!(events.padding(100), "");
    }
}
