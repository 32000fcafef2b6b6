//! A dashboard-like client for failover tests: it follows the event
//! stream at a URL (a gateway, or a load balancer before several) and,
//! after any disconnect, reconnects there with `?last_id=` as the
//! dashboard does, until it has a given number of events. It counts what
//! it has so far where the test can watch it, and tells how often it
//! resumed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::ws::{Client, Next};

/// What one client ended with.
#[derive(Debug, Clone)]
pub struct Followed {
    /// The id of every event it has, in the order it got them.
    pub ids: Vec<String>,
    /// How many times it reconnected and resumed.
    pub resumes: usize,
}

/// Follows `url` until `until` events, at most `limit` (then panics);
/// `seen` holds how many it has so far. Like the dashboard it takes the
/// events its first snapshot holds (`recent_events`, up to `last_id`) as
/// seen: the protocol sends only later events as `event` frames. A resume
/// the gateway refuses (a snapshot instead) is a failure.
pub async fn follow(
    url: String,
    until: usize,
    limit: Duration,
    seen: Arc<AtomicUsize>,
) -> Followed {
    let deadline = Instant::now() + limit;
    let mut ids: Vec<String> = Vec::new();
    let mut resumes = 0;
    while ids.len() < until {
        assert!(
            Instant::now() < deadline,
            "only {} of {until} events after {limit:?}",
            ids.len()
        );
        let target = match ids.last() {
            None => url.clone(),
            Some(last) => format!("{url}?last_id={last}"),
        };
        let Ok((socket, _)) = tokio_tungstenite::connect_async(&target).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mut client = Client { socket };
        match client.next(Duration::from_secs(10)).await {
            Next::Frame(welcome) if welcome["type"] == "welcome" => {}
            _ => continue,
        }
        let start = match client.next(Duration::from_secs(10)).await {
            Next::Frame(start) => start,
            _ => continue,
        };
        match start["type"].as_str() {
            Some("snapshot") => {
                assert!(ids.is_empty(), "a resume fell back to a snapshot: {start}");
                ids = snapshot_event_ids(&start);
            }
            Some("resumed") => resumes += 1,
            _ => panic!("unexpected start frame {start}"),
        }
        seen.store(ids.len(), Relaxed);
        read_events(&mut client, &mut ids, until, &seen).await;
    }
    Followed { ids, resumes }
}

/// Reads event frames into `ids` until `until`, a close, or 10 s of
/// silence.
async fn read_events(client: &mut Client, ids: &mut Vec<String>, until: usize, seen: &AtomicUsize) {
    while ids.len() < until {
        match client.next(Duration::from_secs(10)).await {
            Next::Frame(frame) if frame["type"] == "event" => {
                ids.push(frame["id"].as_str().expect("an event id").to_owned());
                seen.store(ids.len(), Relaxed);
            }
            Next::Frame(_) => {}
            Next::Closed(_) | Next::TimedOut => return,
        }
    }
}

/// The ids of the events a snapshot reflects, oldest first; the last is
/// the snapshot's `last_id`.
pub fn snapshot_event_ids(snapshot: &Value) -> Vec<String> {
    let ids: Vec<String> = snapshot["recent_events"]
        .as_array()
        .expect("recent_events")
        .iter()
        .map(|event| event["id"].as_str().expect("an event id").to_owned())
        .collect();
    assert_eq!(
        ids.last().map(String::as_str),
        snapshot["last_id"].as_str(),
        "the snapshot's events end at its last_id"
    );
    ids
}
