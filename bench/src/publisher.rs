//! The load: M events at R events/s, published to Redis with plain
//! `PUBLISH system_events <json>`, as any service would, or to the
//! gateway's `POST /api/events` (one keep-alive HTTP connection, one request
//! at a time).
//!
//! The publisher runs on its own OS thread (with a blocking Redis
//! connection, or a single-threaded runtime of its own for HTTP), not as a
//! task of the clients' runtime: ten thousand client tasks would otherwise
//! delay it by whole milliseconds, and tokio's timer cannot pace finer than
//! 1 ms. Each event is stamped just before it is
//! written, so a late send never inflates the measured latency; it shows up
//! as a lower achieved rate instead.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use clap::ValueEnum;

use tactical_link::event::Stage;

/// Which kind of event the benchmark publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// `pipeline.stage` events: validated, folded into run state, and in
    /// every snapshot, like the real publishers' (the default).
    Pipeline,
    /// A generic event (`bench.tick`): relayed, not interpreted.
    Generic,
}

/// Pipeline runs the benchmark's events cycle through.
const RUNS: u64 = 20;

/// Microseconds since the Unix epoch.
pub fn unix_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The JSON of event `seq`, sent at `sent_us`. Pipeline events walk 20 runs
/// through the six stages (processing, then complete); `padding` bytes of
/// `detail` make it larger. The benchmark fields come last (see
/// [`crate::probe`]).
pub fn event_json(kind: EventKind, seq: u64, sent_us: u64, padding: &str) -> String {
    let mut out = String::with_capacity(256 + padding.len());
    match kind {
        EventKind::Pipeline => {
            let step = seq % 12;
            let stage = Stage::ALL[(step / 2) as usize];
            let status = if step.is_multiple_of(2) {
                "processing"
            } else {
                "complete"
            };
            let run = (seq / 12) % RUNS;
            let _ = write!(
                out,
                r#"{{"type":"pipeline.stage","run_id":"bench-{run}","stage":"{}","status":"{status}","#,
                stage.as_str()
            );
        }
        EventKind::Generic => out.push_str(r#"{"type":"bench.tick","#),
    }
    let _ = write!(
        out,
        r#""detail":"{padding}","ts":{},"source":"tactical-link-bench","bench_seq":{seq},"bench_sent_us":{sent_us}}}"#,
        sent_us / 1000
    );
    out
}

/// Where events are published.
#[derive(Debug, Clone)]
pub enum Destination {
    /// `PUBLISH <channel>` on Redis.
    Redis { url: String, channel: String },
    /// `POST` to the gateway's `/api/events` URL, with a token of the
    /// publisher role when authentication is on.
    Http { url: String, token: Option<String> },
}

/// What to publish, and where.
#[derive(Debug, Clone)]
pub struct PublishPlan {
    pub destination: Destination,
    pub events: u64,
    /// Events per second.
    pub rate: f64,
    pub kind: EventKind,
    pub payload_bytes: usize,
}

/// What the publisher did.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PublishOutcome {
    pub published: u64,
    pub errors: u64,
    /// From the first to the last publish.
    pub seconds: f64,
    /// Events per second actually published.
    pub achieved_rate: f64,
    /// Longest the publisher ran behind its schedule, in milliseconds.
    pub max_behind_ms: f64,
    /// Lowest `PUBLISH` reply: how many subscribers Redis delivered to
    /// (none when publishing over HTTP).
    pub min_subscribers: Option<i64>,
    /// Microseconds since the epoch of the first publish.
    pub first_us: u64,
    pub last_error: Option<String>,
}

/// Publishes the plan on a new thread; the handle returns what was done.
/// `stop` ends it early.
pub fn spawn(
    plan: PublishPlan,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<std::thread::JoinHandle<PublishOutcome>> {
    let thread = std::thread::Builder::new().name("bench-publisher".into());
    let handle = match plan.destination.clone() {
        Destination::Redis { url, channel } => {
            let client = redis::Client::open(url.as_str())?;
            let mut connection = client.get_connection_with_timeout(Duration::from_secs(5))?;
            connection.set_write_timeout(Some(Duration::from_secs(5)))?;
            connection.set_read_timeout(Some(Duration::from_secs(5)))?;
            thread.spawn(move || {
                publish(&plan, &stop, |payload| {
                    redis::cmd("PUBLISH")
                        .arg(&channel)
                        .arg(payload)
                        .query::<i64>(&mut connection)
                        .map(Some)
                        .map_err(|err| err.to_string())
                })
            })?
        }
        Destination::Http { url, token } => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .pool_max_idle_per_host(1)
                .build()?;
            thread.spawn(move || {
                publish(&plan, &stop, |payload| {
                    let mut request = client
                        .post(&url)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(payload);
                    if let Some(token) = &token {
                        request = request.bearer_auth(token);
                    }
                    runtime.block_on(async {
                        let response = request.send().await.map_err(|err| err.to_string())?;
                        let status = response.status();
                        // Read the body, so the connection is kept for the next.
                        let body = response.text().await.map_err(|err| err.to_string())?;
                        if status.is_success() {
                            Ok(None)
                        } else {
                            Err(format!("{status}: {body}"))
                        }
                    })
                })
            })?
        }
    };
    Ok(handle)
}

/// Publishes the plan on schedule with `send`, which answers how many
/// subscribers received the event, when it knows.
fn publish(
    plan: &PublishPlan,
    stop: &AtomicBool,
    send: impl FnMut(String) -> Result<Option<i64>, String>,
) -> PublishOutcome {
    let padding = "x".repeat(plan.payload_bytes);
    let make = |seq, sent_us| event_json(plan.kind, seq, sent_us, &padding);
    paced(plan.events, plan.rate, stop, make, send)
}

/// Sends `events` events at `rate` a second (until `stop`): each made by
/// `make(seq, sent_us)` just before it is sent with `send`, which answers
/// how many subscribers received it, when it knows.
pub fn paced(
    events: u64,
    rate: f64,
    stop: &AtomicBool,
    mut make: impl FnMut(u64, u64) -> String,
    mut send: impl FnMut(String) -> Result<Option<i64>, String>,
) -> PublishOutcome {
    let mut outcome = PublishOutcome::default();
    let start = Instant::now();
    let mut max_behind = Duration::ZERO;
    let mut last = start;
    for seq in 0..events {
        if stop.load(Relaxed) {
            break;
        }
        let due = start + Duration::from_secs_f64(seq as f64 / rate);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        } else {
            max_behind = max_behind.max(now - due);
        }
        let sent_us = unix_us();
        if seq == 0 {
            outcome.first_us = sent_us;
        }
        match send(make(seq, sent_us)) {
            Ok(subscribers) => {
                outcome.published += 1;
                if let Some(subscribers) = subscribers {
                    outcome.min_subscribers = Some(
                        outcome
                            .min_subscribers
                            .map_or(subscribers, |m| m.min(subscribers)),
                    );
                }
            }
            Err(err) => {
                outcome.errors += 1;
                outcome.last_error = Some(err);
            }
        }
        last = Instant::now();
    }
    outcome.seconds = (last - start).as_secs_f64();
    outcome.achieved_rate = if outcome.seconds > 0.0 {
        outcome.published as f64 / outcome.seconds
    } else {
        0.0
    };
    outcome.max_behind_ms = max_behind.as_secs_f64() * 1000.0;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{Probe, probe};
    use tactical_link::event::parse_event;

    #[test]
    fn pipeline_events_are_valid_and_carry_seq_and_send_time() {
        for seq in [0, 1, 11, 12, 239, 240] {
            let json = event_json(EventKind::Pipeline, seq, 1_764_342_000_123_456, "xx");
            let event = parse_event(json.as_bytes(), 64 * 1024).unwrap();
            assert!(event.pipeline.is_some(), "{json}");
            assert_eq!(
                probe(&json),
                Some(Probe {
                    seq,
                    sent_us: 1_764_342_000_123_456
                })
            );
        }
        let json = event_json(EventKind::Pipeline, 13, 5_000, "");
        assert!(
            json.contains(r#""run_id":"bench-1","stage":"radar","status":"complete""#),
            "{json}"
        );
        assert!(json.contains(r#""ts":5,"#), "{json}");
        assert!(event_json(EventKind::Pipeline, 240, 0, "").contains(r#""run_id":"bench-0""#));
    }

    #[test]
    fn generic_events_are_valid_and_not_pipeline_events() {
        let json = event_json(EventKind::Generic, 7, 99, "");
        let event = parse_event(json.as_bytes(), 64 * 1024).unwrap();
        assert!(event.pipeline.is_none());
        assert_eq!(
            probe(&json),
            Some(Probe {
                seq: 7,
                sent_us: 99
            })
        );
    }
}
