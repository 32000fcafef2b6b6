//! A dashboard-like client for failover tests: it follows the event
//! stream at a URL (a gateway, or a load balancer before several) and,
//! after any disconnect, reconnects there with `?last_id=` as the
//! dashboard does, until it has a given number of events, or a given last
//! event. It counts what it has so far where the test can watch it, notes
//! when each event came, and tells how often it resumed.

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
    /// When it got each of them (those of its first snapshot: when the
    /// snapshot came).
    pub received: Vec<Instant>,
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
    let what = format!("{until} events");
    follow_until(url, &what, limit, seen, |ids, _| ids.len() >= until).await
}

/// [`follow`] until it has an event frame for which `last` is true (the
/// last event a test publishes).
pub async fn follow_to_last(
    url: String,
    limit: Duration,
    seen: Arc<AtomicUsize>,
    last: impl Fn(&Value) -> bool,
) -> Followed {
    let done = |_: &[String], frame: Option<&Value>| frame.is_some_and(&last);
    follow_until(url, "the last event", limit, seen, done).await
}

/// What a follower has so far, and whether it is done.
struct Progress<'a> {
    followed: Followed,
    seen: &'a AtomicUsize,
    done: bool,
}

impl Progress<'_> {
    fn push(&mut self, id: String) {
        self.followed.ids.push(id);
        self.followed.received.push(Instant::now());
        self.seen.store(self.followed.ids.len(), Relaxed);
    }
}

/// Follows `url` until `done` (given the ids so far and the last event
/// frame) is true.
async fn follow_until(
    url: String,
    what: &str,
    limit: Duration,
    seen: Arc<AtomicUsize>,
    done: impl Fn(&[String], Option<&Value>) -> bool,
) -> Followed {
    let deadline = Instant::now() + limit;
    let followed = Followed {
        ids: Vec::new(),
        received: Vec::new(),
        resumes: 0,
    };
    let mut progress = Progress {
        done: done(&followed.ids, None),
        followed,
        seen: &seen,
    };
    while !progress.done {
        let ids = &progress.followed.ids;
        assert!(
            Instant::now() < deadline,
            "{} events, not {what}, after {limit:?}",
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
        if start(&mut client, &mut progress).await {
            read_events(&mut client, &mut progress, &done).await;
        }
    }
    progress.followed
}

/// Reads the welcome and the first frame (a snapshot at first, `resumed`
/// after); false when the connection failed meanwhile.
async fn start(client: &mut Client, progress: &mut Progress<'_>) -> bool {
    match client.next(Duration::from_secs(10)).await {
        Next::Frame(welcome) if welcome["type"] == "welcome" => {}
        _ => return false,
    }
    let start = match client.next(Duration::from_secs(10)).await {
        Next::Frame(start) => start,
        _ => return false,
    };
    match start["type"].as_str() {
        Some("snapshot") => {
            let ids = &progress.followed.ids;
            assert!(ids.is_empty(), "a resume fell back to a snapshot: {start}");
            for id in snapshot_event_ids(&start) {
                progress.push(id);
            }
        }
        Some("resumed") => progress.followed.resumes += 1,
        _ => panic!("unexpected start frame {start}"),
    }
    true
}

/// Reads event frames until `done`, a close, or 10 s of silence.
async fn read_events(
    client: &mut Client,
    progress: &mut Progress<'_>,
    done: &impl Fn(&[String], Option<&Value>) -> bool,
) {
    progress.done = done(&progress.followed.ids, None);
    while !progress.done {
        match client.next(Duration::from_secs(10)).await {
            Next::Frame(frame) if frame["type"] == "event" => {
                progress.push(frame["id"].as_str().expect("an event id").to_owned());
                progress.done = done(&progress.followed.ids, Some(&frame));
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
