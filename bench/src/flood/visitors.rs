//! The clients of a flood: they arrive in waves and come and go as long as
//! the flood lasts. Each visit connects (resuming from the last event id the
//! client saw, after its first visit), reads the snapshot or the replay,
//! then some live events; then the client either leaves, or stops reading
//! for a while, as a stalled browser tab does, and leaves when the gateway
//! closes it or the stall ends. It pauses a moment (resuming within the
//! retained history, or not) and comes back.
//!
//! What they did is added up in [`Visits`]; how many were connected at once
//! is counted as they connect and leave, for the bound's connection term.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{WebSocketStream, client_async_with_config};
use tokio_util::sync::CancellationToken;

use crate::client::Target;
use crate::probe::frame_type;

/// How the clients behave.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub clients: usize,
    pub waves: usize,
    /// Seconds between two waves.
    pub wave_every_s: f64,
    /// Live events read in each visit.
    pub read_events: u64,
    /// One visit in this many stops reading instead of leaving.
    pub stop_every: usize,
    /// Seconds a stalled client stops reading.
    pub stall_s: f64,
    /// Seconds between two visits: the client's index picks one of these.
    pub pauses_s: Vec<f64>,
    /// SO_RCVBUF of each client socket.
    pub recv_buffer: u32,
}

/// What the visits added up to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Visits {
    pub visits: u64,
    pub connect_failures: u64,
    pub snapshots: u64,
    pub resumed: u64,
    pub resume_failed: u64,
    /// Events replayed to resuming clients.
    pub replayed_events: u64,
    pub live_events: u64,
    /// Visits that stopped reading.
    pub stalls: u64,
    /// Closes the gateway sent, by code.
    pub closes: std::collections::BTreeMap<u16, u64>,
    /// Largest frame a client received, and largest snapshot, in bytes.
    pub largest_frame: u64,
    pub largest_snapshot: u64,
    /// Most connections open at once.
    pub peak_open: u64,
}

/// What every client shares.
pub struct Crowd {
    pub target: Target,
    pub plan: Plan,
    /// The flood is over: clients leave and stop coming back.
    pub stop: CancellationToken,
    open: AtomicU64,
    peak_open: AtomicU64,
    visits: Mutex<Visits>,
}

impl Crowd {
    pub fn new(target: Target, plan: Plan) -> Arc<Crowd> {
        Arc::new(Crowd {
            target,
            plan,
            stop: CancellationToken::new(),
            open: AtomicU64::new(0),
            peak_open: AtomicU64::new(0),
            visits: Mutex::new(Visits::default()),
        })
    }

    /// Every client, each a task: wave `index % waves` arrives
    /// `wave × wave_every_s` seconds after the start.
    pub fn start(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        (0..self.plan.clients)
            .map(|index| tokio::spawn(client(index, self.clone())))
            .collect()
    }

    fn lock_visits(&self) -> std::sync::MutexGuard<'_, Visits> {
        self.visits
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Connections open now.
    pub fn open(&self) -> u64 {
        self.open.load(Relaxed)
    }

    /// What the visits added up to so far.
    pub fn visits(&self) -> Visits {
        let mut visits = self.lock_visits().clone();
        visits.peak_open = self.peak_open.load(Relaxed);
        visits
    }
}

/// Counts a connection open while it lives.
struct Open<'a>(&'a Crowd);

impl<'a> Open<'a> {
    fn new(crowd: &'a Crowd) -> Open<'a> {
        let now = crowd.open.fetch_add(1, Relaxed) + 1;
        crowd.peak_open.fetch_max(now, Relaxed);
        Open(crowd)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Relaxed);
    }
}

/// One client: waits for its wave, then visits until the flood is over.
async fn client(index: usize, crowd: Arc<Crowd>) {
    let plan = &crowd.plan;
    let wave = index % plan.waves.max(1);
    let arrival = Duration::from_secs_f64(wave as f64 * plan.wave_every_s);
    let pause = plan
        .pauses_s
        .get(index % plan.pauses_s.len().max(1))
        .copied();
    let pause = Duration::from_secs_f64(pause.unwrap_or(1.0));
    let stop = crowd.stop.clone();
    tokio::select! {
        () = stop.cancelled() => return,
        () = tokio::time::sleep(arrival) => {}
    }
    let mut last_id: Option<String> = None;
    for number in 0.. {
        let stalls = (index + number).is_multiple_of(plan.stop_every.max(1));
        let mut seen = Seen::default();
        tokio::select! {
            () = stop.cancelled() => {}
            outcome = visit(&crowd, last_id.as_deref(), stalls, &mut seen) => {
                if outcome.is_err() {
                    crowd.lock_visits().connect_failures += 1;
                }
            }
        }
        if seen.last_id.is_some() {
            last_id = seen.last_id.take();
        }
        crowd.lock_visits().add(&seen, stalls);
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// What one visit saw.
#[derive(Debug, Default)]
struct Seen {
    start: Option<Start>,
    /// Events the `resumed` frame said would be replayed, and those read.
    replay: u64,
    replayed: u64,
    live: u64,
    close: Option<u16>,
    last_id: Option<String>,
    largest_frame: u64,
    snapshot_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Snapshot,
    ResumeFailed,
    Resumed,
}

impl Visits {
    fn add(&mut self, seen: &Seen, stalled: bool) {
        self.visits += 1;
        match seen.start {
            Some(Start::Snapshot) => self.snapshots += 1,
            Some(Start::ResumeFailed) => self.resume_failed += 1,
            Some(Start::Resumed) => self.resumed += 1,
            None => {}
        }
        self.replayed_events += seen.replayed;
        self.live_events += seen.live;
        self.stalls += u64::from(stalled && seen.start.is_some());
        if let Some(code) = seen.close {
            *self.closes.entry(code).or_default() += 1;
        }
        self.largest_frame = self.largest_frame.max(seen.largest_frame);
        self.largest_snapshot = self.largest_snapshot.max(seen.snapshot_bytes);
    }
}

type Socket = WebSocketStream<TcpStream>;

/// One visit; an error when it could not connect.
async fn visit(
    crowd: &Crowd,
    resume_from: Option<&str>,
    stalls: bool,
    seen: &mut Seen,
) -> anyhow::Result<()> {
    let (mut socket, _open) = connect(crowd, resume_from).await?;
    let plan = &crowd.plan;
    // The start, its replay, then `read_events` live events.
    let mut wanted = None;
    while wanted.is_none_or(|left: u64| left > 0) {
        let Some(text) = next_text(&mut socket, seen).await else {
            return Ok(());
        };
        let counted = read_frame(text.as_str(), seen);
        wanted = match (wanted, counted) {
            (None, Counted::Start { replay }) => Some(replay + plan.read_events),
            (Some(left), Counted::Event) => Some(left - 1),
            (wanted, _) => wanted,
        };
    }
    if stalls {
        tokio::time::sleep(Duration::from_secs_f64(plan.stall_s)).await;
        // Whatever the gateway sent meanwhile, up to its close if it closed.
        let drain = async { while next_text(&mut socket, seen).await.is_some() {} };
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
        return Ok(());
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
    Ok(())
}

/// Connects and upgrades, resuming from `resume_from` when given.
async fn connect<'a>(
    crowd: &'a Crowd,
    resume_from: Option<&str>,
) -> anyhow::Result<(Socket, Open<'a>)> {
    let target = &crowd.target;
    let socket = TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(crowd.plan.recv_buffer)?;
    let stream =
        tokio::time::timeout(Duration::from_secs(10), socket.connect(target.addr)).await??;
    let open = Open::new(crowd);
    let url = match resume_from {
        Some(id) => format!("{}?last_id={id}", target.url),
        None => target.url.clone(),
    };
    let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
    let upgrade = client_async_with_config(url.as_str(), stream, Some(config));
    let (socket, _) = tokio::time::timeout(Duration::from_secs(10), upgrade).await??;
    Ok((socket, open))
}

/// The next text frame, or `None` when the connection ended (its close
/// code noted) or stayed silent for 10 s.
async fn next_text(socket: &mut Socket, seen: &mut Seen) -> Option<Utf8Bytes> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next()).await;
        match message.ok()?? {
            Ok(Message::Text(text)) => {
                seen.largest_frame = seen.largest_frame.max(text.len() as u64);
                return Some(text);
            }
            Ok(Message::Close(frame)) => {
                seen.close = Some(frame.map_or(1005, |f| u16::from(f.code)));
                return None;
            }
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

/// What a frame counted for.
#[derive(Debug, PartialEq, Eq)]
enum Counted {
    /// A snapshot, or `resumed` with the number of events replayed after it.
    Start {
        replay: u64,
    },
    Event,
    Other,
}

/// Notes one frame in `seen`: the start, events, the last event id.
fn read_frame(text: &str, seen: &mut Seen) -> Counted {
    match frame_type(text) {
        Some("snapshot") => {
            seen.snapshot_bytes = text.len() as u64;
            seen.last_id = string_field(text, "last_id").or(seen.last_id.take());
            seen.start = Some(if text.contains(r#""resume_failed":null"#) {
                Start::Snapshot
            } else {
                Start::ResumeFailed
            });
            Counted::Start { replay: 0 }
        }
        Some("resumed") => {
            seen.start = Some(Start::Resumed);
            seen.replay = number_field(text, "replayed").unwrap_or(0);
            Counted::Start {
                replay: seen.replay,
            }
        }
        Some("event") => {
            if let Some(id) = string_field(text, "id") {
                seen.last_id = Some(id);
            }
            if seen.replayed < seen.replay {
                seen.replayed += 1;
            } else {
                seen.live += 1;
            }
            Counted::Event
        }
        _ => Counted::Other,
    }
}

/// The string value of the first `"name":"…"` in `text` (ids have no
/// escapes).
pub fn string_field(text: &str, name: &str) -> Option<String> {
    let key = format!(r#""{name}":""#);
    let rest = &text[text.find(&key)? + key.len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// The number value of the first `"name":N` in `text`.
pub fn number_field(text: &str, name: &str) -> Option<u64> {
    let key = format!(r#""{name}":"#);
    let rest = &text[text.find(&key)? + key.len()..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_from_the_frames_prefix() {
        let event =
            r#"{"type":"event","id":"1764342000123-4","received_at":"x","event":{"id":"no"}}"#;
        assert_eq!(
            string_field(event, "id").as_deref(),
            Some("1764342000123-4")
        );
        let resumed = r#"{"type":"resumed","last_id":"5-0","replayed":312,"bus":{}}"#;
        assert_eq!(number_field(resumed, "replayed"), Some(312));
        assert_eq!(string_field(resumed, "missing"), None);
        assert_eq!(number_field(r#"{"replayed":null}"#, "replayed"), None);
    }

    #[test]
    fn a_visit_counts_its_start_its_replay_and_its_live_events() {
        let mut seen = Seen::default();
        let resumed = r#"{"type":"resumed","last_id":"5-0","replayed":2,"bus":{}}"#;
        assert_eq!(read_frame(resumed, &mut seen), Counted::Start { replay: 2 });
        for seq in 1..=3 {
            let event = format!(r#"{{"type":"event","id":"5-{seq}","event":{{}}}}"#);
            assert_eq!(read_frame(&event, &mut seen), Counted::Event);
        }
        assert_eq!(
            read_frame(r#"{"type":"bus","state":"up"}"#, &mut seen),
            Counted::Other
        );
        assert_eq!((seen.replayed, seen.live), (2, 1));
        assert_eq!(seen.last_id.as_deref(), Some("5-3"));
        assert_eq!(seen.start, Some(Start::Resumed));

        let mut fresh = Seen::default();
        let snapshot = r#"{"type":"snapshot","last_id":"9-0","resume_failed":null,"runs":[]}"#;
        assert_eq!(
            read_frame(snapshot, &mut fresh),
            Counted::Start { replay: 0 }
        );
        assert_eq!(fresh.start, Some(Start::Snapshot));
        assert_eq!(fresh.last_id.as_deref(), Some("9-0"));
        assert_eq!(fresh.snapshot_bytes, snapshot.len() as u64);
        let failed = r#"{"type":"snapshot","last_id":"9-0","resume_failed":"1-0","runs":[]}"#;
        read_frame(failed, &mut fresh);
        assert_eq!(fresh.start, Some(Start::ResumeFailed));

        let mut visits = Visits::default();
        visits.add(&seen, false);
        fresh.close = Some(4001);
        visits.add(&fresh, true);
        assert_eq!(
            (visits.visits, visits.resumed, visits.resume_failed),
            (2, 1, 1)
        );
        assert_eq!(
            (visits.replayed_events, visits.live_events, visits.stalls),
            (2, 1, 1)
        );
        assert_eq!(visits.closes.get(&4001), Some(&1));
    }
}
