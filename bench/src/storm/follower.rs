//! One client of a storm: it connects through the load balancer, reads
//! every frame, and after any disconnect reconnects there with
//! `?last_id=` as the dashboard's client does (capped exponential back-off
//! with full jitter, or the gateway's `reconnect_after_ms` hint when the
//! close frame carries one), until the run stops. It counts every event by
//! sequence number ([`Tally`]: lost and duplicated are exact) and times
//! each disconnect: from the close to the `resumed` frame, and how much of
//! that it spent waiting by its own choice.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{WebSocketStream, client_async_with_config};
use tokio_util::sync::CancellationToken;

use crate::client::{Sources, Target};
use crate::probe::probe;
use crate::publisher::unix_us;
use crate::tally::Tally;

/// The dashboard's reconnect policy (web/packages/client, backoff.ts and
/// machine.ts): the n-th retry waits random(0, min(cap, base × 2ⁿ)); the
/// count goes back to 0 once a link has been live for [`STABLE`].
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    /// Wait as long as the close frame's `reconnect_after_ms` says, when it
    /// says so (a first retry only).
    pub honour_hint: bool,
}

/// How long a link must stay live before the back-off starts over.
pub const STABLE: Duration = Duration::from_secs(10);

impl Backoff {
    /// The wait before retry `attempt`, given `random` in [0, 1).
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
            .min(self.cap);
        ceiling.mul_f64(random.clamp(0.0, 1.0 - 1e-12))
    }
}

/// What every follower of a run shares.
pub struct Fleet {
    pub target: Target,
    pub sources: Sources,
    /// First connections in progress at once (reconnections are not held
    /// back: a real crowd does not coordinate).
    pub connecting: Semaphore,
    pub backoff: Backoff,
    /// Highest sequence number a client can see, plus one.
    pub capacity: u64,
    pub sigfig: u8,
    pub read_buffer: usize,
    /// Clients live now: they have their snapshot or `resumed` frame and
    /// their socket is open.
    pub live: AtomicUsize,
    /// Clients that never became live at first.
    pub failed: AtomicUsize,
    /// Disconnects so far, over every client.
    pub disconnects: AtomicUsize,
    /// Benchmark events received, over every client.
    pub delivered: AtomicU64,
    pub stop: CancellationToken,
    /// What every time is measured from.
    pub epoch: Instant,
}

impl Fleet {
    /// Milliseconds since the fleet's epoch.
    pub fn now_ms(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64() * 1e3
    }
}

/// How a new connection started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    Snapshot,
    Resumed,
    /// A snapshot whose `resume_failed` is set: the gateway did not retain
    /// the client's id.
    ResumeFailed,
}

/// One disconnect and what it took to be live again.
#[derive(Debug, Clone)]
pub struct Disconnect {
    /// When the client saw its link end, ms since the fleet's epoch.
    pub closed_ms: f64,
    /// The close code, when a close frame came (none for a dropped link).
    pub code: Option<u16>,
    /// The `reconnect_after_ms` of the close frame.
    pub hint_ms: Option<u64>,
    /// Time spent waiting by choice (back-off or hint) before attempts.
    pub waited_ms: f64,
    /// Connection attempts until one started.
    pub attempts: u32,
    /// When it was live again, and how it started.
    pub live_ms: Option<f64>,
    pub start: Option<Start>,
    /// Events replayed by the `resumed` frame.
    pub replayed: u64,
}

/// What one follower saw over the run.
#[derive(Debug)]
pub struct Followed {
    pub tally: Tally,
    /// Why it never became live at first, when it did not.
    pub failure: Option<String>,
    pub disconnects: Vec<Disconnect>,
}

type Socket = WebSocketStream<TcpStream>;

/// One follower's state between connections.
struct Follower {
    index: usize,
    fleet: Arc<Fleet>,
    last_id: Option<String>,
    attempt: u32,
    tally: Tally,
    disconnects: Vec<Disconnect>,
}

/// Runs follower `index` until the fleet stops.
pub async fn run(index: usize, fleet: Arc<Fleet>) -> Followed {
    let mut follower = Follower {
        index,
        tally: Tally::new(fleet.capacity, fleet.sigfig),
        fleet,
        last_id: None,
        attempt: 0,
        disconnects: Vec::new(),
    };
    let fleet = follower.fleet.clone();
    let permit = fleet.connecting.acquire().await;
    let first = tokio::time::timeout(Duration::from_secs(60), follower.open()).await;
    drop(permit);
    let mut socket = match first {
        Ok(Ok((socket, _))) => socket,
        Ok(Err(why)) => return follower.failed(why),
        Err(_) => return follower.failed("not live within 60 s".into()),
    };
    loop {
        follower.fleet.live.fetch_add(1, Relaxed);
        let live_since = Instant::now();
        let ended = follower.read(&mut socket).await;
        follower.fleet.live.fetch_sub(1, Relaxed);
        let Some((code, hint_ms)) = ended else {
            break;
        };
        if live_since.elapsed() >= STABLE {
            follower.attempt = 0;
        }
        follower.fleet.disconnects.fetch_add(1, Relaxed);
        match follower.reconnect(code, hint_ms).await {
            Some(next) => socket = next,
            None => break,
        }
    }
    Followed {
        tally: follower.tally,
        failure: None,
        disconnects: follower.disconnects,
    }
}

impl Follower {
    fn failed(self, why: String) -> Followed {
        self.fleet.failed.fetch_add(1, Relaxed);
        Followed {
            tally: self.tally,
            failure: Some(why),
            disconnects: self.disconnects,
        }
    }

    /// Reads until the link ends (its close code and hint) or the run
    /// stops (`None`).
    async fn read(&mut self, socket: &mut Socket) -> Option<(Option<u16>, Option<u64>)> {
        let fleet = self.fleet.clone();
        loop {
            let message = tokio::select! {
                biased;
                _ = fleet.stop.cancelled() => return None,
                message = socket.next() => message,
            };
            match message {
                Some(Ok(Message::Text(text))) => self.on_frame(text.as_str()),
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.as_ref().map(|f| u16::from(f.code));
                    let hint = frame.and_then(|f| reconnect_hint(f.reason.as_str()));
                    return Some((code, hint));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Some((None, None)),
            }
        }
    }

    /// Counts an event frame and keeps its id; other frames say nothing
    /// the follower needs once it is live.
    fn on_frame(&mut self, text: &str) {
        let Some(id) = event_id(text) else {
            return;
        };
        self.last_id = Some(id.to_owned());
        if let Some(probe) = probe(text) {
            self.tally.record(probe.seq, probe.sent_us, unix_us());
            self.fleet.delivered.fetch_add(1, Relaxed);
        }
    }

    /// Waits and retries until a connection starts (or the run stops).
    async fn reconnect(&mut self, code: Option<u16>, hint_ms: Option<u64>) -> Option<Socket> {
        let fleet = self.fleet.clone();
        let mut record = Disconnect {
            closed_ms: fleet.now_ms(),
            code,
            hint_ms,
            waited_ms: 0.0,
            attempts: 0,
            live_ms: None,
            start: None,
            replayed: 0,
        };
        let mut hint = hint_ms.filter(|_| fleet.backoff.honour_hint);
        let opened = loop {
            let wait = match hint.take() {
                Some(ms) => Duration::from_millis(ms),
                None => fleet.backoff.delay(self.attempt, rand::random::<f64>()),
            };
            self.attempt += 1;
            record.waited_ms += wait.as_secs_f64() * 1e3;
            tokio::select! {
                _ = fleet.stop.cancelled() => break None,
                _ = tokio::time::sleep(wait) => {}
            }
            record.attempts += 1;
            if let Ok(opened) = self.open().await {
                break Some(opened);
            }
        };
        let (socket, start, replayed) = match opened {
            Some((socket, (start, replayed))) => (Some(socket), Some(start), replayed),
            None => (None, None, 0),
        };
        record.live_ms = start.map(|_| fleet.now_ms());
        (record.start, record.replayed) = (start, replayed);
        self.disconnects.push(record);
        socket
    }

    /// Connects (resuming after the last id seen, if any), and reads up to
    /// the start: the snapshot or `resumed` frame.
    async fn open(&mut self) -> Result<(Socket, (Start, u64)), String> {
        let fleet = &self.fleet;
        let url = match &self.last_id {
            Some(id) => format!("{}?last_id={id}", fleet.target.url),
            None => fleet.target.url.clone(),
        };
        let stream = self.connect_tcp().await?;
        let request = url
            .as_str()
            .into_client_request()
            .map_err(|err| err.to_string())?;
        let config = WebSocketConfig::default().read_buffer_size(fleet.read_buffer);
        let (mut socket, _) = client_async_with_config(request, stream, Some(config))
            .await
            .map_err(|err| match err {
                WsError::Http(response) => format!("HTTP {}", response.status().as_u16()),
                other => other.to_string(),
            })?;
        let started = tokio::time::timeout(Duration::from_secs(30), self.start(&mut socket));
        match started.await {
            Ok(Ok(start)) => Ok((socket, start)),
            Ok(Err(why)) => Err(why),
            Err(_) => Err("no start within 30 s".into()),
        }
    }

    /// Reads the welcome and the start frame.
    async fn start(&mut self, socket: &mut Socket) -> Result<(Start, u64), String> {
        while let Some(message) = socket.next().await {
            let text = match message {
                Ok(Message::Text(text)) => text,
                Ok(Message::Close(_)) => return Err("closed before the start".into()),
                Ok(_) => continue,
                Err(err) => return Err(err.to_string()),
            };
            let frame: serde_json::Value =
                serde_json::from_str(text.as_str()).map_err(|err| err.to_string())?;
            let last_id = frame["last_id"].as_str().map(str::to_owned);
            match frame["type"].as_str() {
                Some("resumed") => {
                    return Ok((Start::Resumed, frame["replayed"].as_u64().unwrap_or(0)));
                }
                Some("snapshot") => {
                    self.last_id = last_id.or(self.last_id.take());
                    let failed = !frame["resume_failed"].is_null();
                    let start = if failed {
                        Start::ResumeFailed
                    } else {
                        Start::Snapshot
                    };
                    return Ok((start, 0));
                }
                _ => {}
            }
        }
        Err("closed before the start".into())
    }

    /// A TCP connection to the target, from the next loopback address when
    /// one has no port left.
    async fn connect_tcp(&self) -> Result<TcpStream, String> {
        let sources = &self.fleet.sources;
        loop {
            let index = sources.index_for(self.index);
            let source = Sources::address(index);
            match crate::client::connect_tcp(self.fleet.target.addr, source, None).await {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Err(err)
                    if err.kind() == std::io::ErrorKind::AddrNotAvailable
                        && sources.exhausted(index) => {}
                Err(err) => return Err(format!("connect: {}", err.kind())),
            }
        }
    }
}

/// The id of an event frame (`{"type":"event","id":"…"`, as the gateway
/// writes every one), without parsing the rest.
pub fn event_id(text: &str) -> Option<&str> {
    let rest = text.strip_prefix(r#"{"type":"event","id":""#)?;
    Some(&rest[..rest.find('"')?])
}

/// The `reconnect_after_ms=N` a close frame's reason may carry.
pub fn reconnect_hint(reason: &str) -> Option<u64> {
    const KEY: &str = "reconnect_after_ms=";
    let rest = &reason[reason.find(KEY)? + KEY.len()..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_is_the_dashboards() {
        let backoff = Backoff {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            honour_hint: true,
        };
        assert_eq!(backoff.delay(0, 0.5), Duration::from_millis(250));
        assert_eq!(backoff.delay(2, 0.5), Duration::from_millis(1000));
        assert_eq!(backoff.delay(0, 0.0), Duration::ZERO);
        assert!(backoff.delay(0, 0.999) < Duration::from_millis(500));
        assert!(
            backoff.delay(0, 1.0) <= Duration::from_millis(500),
            "never past the ceiling"
        );
        assert_eq!(
            backoff.delay(40, 0.5),
            Duration::from_secs(15),
            "capped at 30 s"
        );
    }

    #[test]
    fn reads_event_ids_and_hints() {
        let frame = r#"{"type":"event","id":"1764342000123-4","received_at":"x","event":{}}"#;
        assert_eq!(event_id(frame), Some("1764342000123-4"));
        assert_eq!(event_id(r#"{"type":"snapshot","last_id":"1-0"}"#), None);
        assert_eq!(
            reconnect_hint("gateway shutting down; reconnect_after_ms=1234"),
            Some(1234)
        );
        assert_eq!(reconnect_hint("gateway shutting down"), None);
        assert_eq!(reconnect_hint("reconnect_after_ms="), None);
    }
}
