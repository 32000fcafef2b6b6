//! What the Redis failover tests (Sentinel, Cluster) fail Redis under: a
//! [`Scene`] of two gateways with clients on each, each gateway's
//! `/readyz` polled from a thread of its own throughout, and a durable
//! publisher at a steady pace logging what it was told of each event; and
//! the checks on what the clients ended with: every event a publish was
//! told succeeded, and every event of the stream, exactly once, in stream
//! order, and readiness that told the truth.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use serde_json::Value;
use tactical_link::bus::PublishError;
use tactical_link::bus::redis::RedisPublisher;
use tactical_link::bus::redis::publisher::Replication;
use tactical_link::event::EventId;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::follow::{Followed, follow_to_last};
use crate::{Gateway, Served, eventually, http};

/// How often `/readyz` is polled.
const POLL: Duration = Duration::from_millis(100);

/// One answer of a gateway's `/readyz`.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When the request was sent.
    pub at: Instant,
    pub gateway: usize,
    /// It answered 200.
    pub ready: bool,
}

/// The `/readyz` of some gateways, polled until stopped.
pub struct ReadinessWatch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<Sample>>,
}

impl ReadinessWatch {
    pub fn start(gateways: Vec<SocketAddr>) -> ReadinessWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !stopped.load(Relaxed) {
                for (gateway, addr) in gateways.iter().enumerate() {
                    let at = Instant::now();
                    let status = http::get(*addr, "/readyz", Duration::from_secs(1));
                    let ready = status.is_ok_and(|(code, _)| code == 200);
                    samples.push(Sample { at, gateway, ready });
                }
                std::thread::sleep(POLL);
            }
            samples
        });
        ReadinessWatch { stop, thread }
    }

    /// Stops polling; every sample, in order.
    pub fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Relaxed);
        self.thread.join().expect("the /readyz poller")
    }
}

/// For each of `gateways`, the longest time it was not ready: from its
/// first 503 (or refusal) of a run to the next 200; `None` when it never
/// said 503.
pub fn outages(samples: &[Sample], gateways: usize) -> Vec<Option<Duration>> {
    (0..gateways)
        .map(|gateway| {
            let mut longest: Option<Duration> = None;
            let mut down_since: Option<Instant> = None;
            for sample in samples.iter().filter(|s| s.gateway == gateway) {
                match (sample.ready, down_since) {
                    (false, None) => down_since = Some(sample.at),
                    (true, Some(since)) => {
                        let outage = sample.at - since;
                        longest = Some(longest.map_or(outage, |l| l.max(outage)));
                        down_since = None;
                    }
                    _ => {}
                }
            }
            assert!(down_since.is_none(), "gateway {gateway} ended not ready");
            longest
        })
        .collect()
}

/// What one publish was told.
#[derive(Debug, Clone)]
pub struct Published {
    /// When it was sent.
    pub at: Instant,
    /// The id it was recorded under, when the publisher was told (a
    /// success, or recorded but not replicated).
    pub id: Option<EventId>,
    /// It succeeded: recorded, and replicated as asked.
    pub succeeded: bool,
}

/// Publishes `event(n)` for n = 0, 1, … every `pace` (or as soon as the
/// previous publish answered, when that took longer) until `stop`; logs
/// what each was told.
pub async fn publish_steadily(
    publisher: &RedisPublisher,
    pace: Duration,
    stop: CancellationToken,
    event: impl Fn(usize) -> String,
) -> Vec<Published> {
    let mut tick = tokio::time::interval(pace);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut log = Vec::new();
    for n in 0.. {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let at = Instant::now();
        let told = publisher.publish_text(&event(n)).await;
        let (id, succeeded) = match told {
            Ok(id) => (Some(id), true),
            Err(PublishError::NotReplicated { id, .. }) => (Some(id), false),
            Err(_) => (None, false),
        };
        log.push(Published { at, id, succeeded });
    }
    log
}

/// Checks what one client ended with: every id once, in increasing
/// (stream) order; every event a publish was told succeeded among them,
/// and kept in `stream` (the ids of the stream on the primary now); and
/// every event of `stream` among them.
pub fn check_client(name: &str, followed: &Followed, published: &[Published], stream: &[EventId]) {
    let ids: Vec<EventId> = followed
        .ids
        .iter()
        .map(|id| id.parse().expect("an event id"))
        .collect();
    if let Some(pair) = ids.windows(2).find(|pair| pair[0] >= pair[1]) {
        panic!(
            "{name} got {} then {}: not once, in order",
            pair[0], pair[1]
        );
    }
    let got: HashSet<EventId> = ids.into_iter().collect();
    let kept: HashSet<EventId> = stream.iter().copied().collect();
    let succeeded = published.iter().filter(|p| p.succeeded);
    let lost: Vec<EventId> = succeeded
        .filter_map(|p| p.id)
        .filter(|id| !kept.contains(id))
        .collect();
    assert!(
        lost.is_empty(),
        "events a publish was told succeeded are not in the stream: {lost:?}"
    );
    let missing: Vec<&EventId> = stream.iter().filter(|id| !got.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{name} misses events of the stream: {missing:?}"
    );
}

/// Truthful readiness: whenever gateway g said ready at t, the first event
/// kept in `stream` from a publish sent at or after t reached each of g's
/// clients within `bound` of t. `clients[g]` are gateway g's clients.
/// Returns the longest such delay seen.
pub fn check_truthful(
    samples: &[Sample],
    published: &[Published],
    stream: &[EventId],
    clients: &[Vec<&Followed>],
    bound: Duration,
) -> Duration {
    let kept: HashSet<EventId> = stream.iter().copied().collect();
    let received: Vec<Vec<HashMap<&str, Instant>>> = clients
        .iter()
        .map(|of_gateway| of_gateway.iter().map(|f| arrivals(f)).collect())
        .collect();
    let mut longest = Duration::ZERO;
    for sample in samples.iter().filter(|s| s.ready) {
        let next = published
            .iter()
            .find(|p| p.at >= sample.at && p.id.is_some_and(|id| kept.contains(&id)));
        let Some(id) = next.and_then(|p| p.id) else {
            continue;
        };
        let id = id.to_string();
        for (client, got) in received[sample.gateway].iter().enumerate() {
            let at = got.get(id.as_str()).unwrap_or_else(|| {
                panic!(
                    "gateway {} said ready, yet its client {client} never got {id}, published next",
                    sample.gateway
                )
            });
            let delay = at.saturating_duration_since(sample.at);
            assert!(
                delay <= bound,
                "gateway {} said ready, yet {id}, published next, reached its client {client} {delay:?} later (bound {bound:?})",
                sample.gateway
            );
            longest = longest.max(delay);
        }
    }
    longest
}

fn arrivals(followed: &Followed) -> HashMap<&str, Instant> {
    let ids = followed.ids.iter().map(String::as_str);
    ids.zip(followed.received.iter().copied()).collect()
}

/// The ids of `channel`'s stream on the Redis at `port`, once it is
/// checked that `count` of its events contain `plain` (the plain `PUBLISH`
/// events a test sent around a failover: each recorded, and once).
pub fn stream_ids_with_plain(port: u16, channel: &str, plain: &str, count: usize) -> Vec<EventId> {
    let entries = stream(port, channel);
    let recorded = entries.iter().filter(|(_, e)| e.contains(plain)).count();
    assert_eq!(
        recorded, count,
        "plain PUBLISH before and after are recorded"
    );
    entries.iter().map(|(id, _)| *id).collect()
}

/// The entries (id, event) of `channel`'s stream on the Redis at `port`.
pub fn stream(port: u16, channel: &str) -> Vec<(EventId, String)> {
    let mut connection = crate::redis::connect(port, Duration::from_secs(2)).expect("Redis");
    let reply: ::redis::streams::StreamRangeReply = ::redis::cmd("XRANGE")
        .arg(tactical_link::bus::redis::Keys::for_channel(channel).stream)
        .arg("-")
        .arg("+")
        .query(&mut connection)
        .expect("XRANGE");
    let entries = reply.ids.iter().map(|entry| {
        let event: String = entry.get("e").unwrap_or_default();
        (entry.id.parse().expect("an entry id"), event)
    });
    entries.collect()
}

/// `PUBLISH channel payload`, as an existing service does, on the Redis at
/// `port`.
pub fn plain_publish(port: u16, channel: &str, payload: &str) {
    let mut connection = crate::redis::connect(port, Duration::from_secs(2)).expect("Redis");
    let _: i64 = ::redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query(&mut connection)
        .expect("PUBLISH");
}

/// Publishes `event` until it is recorded (told succeeded, or recorded but
/// not replicated), at most 50 tries.
pub async fn publish_until_recorded(publisher: &RedisPublisher, event: &str) -> EventId {
    for _ in 0..50 {
        match publisher.publish_text(event).await {
            Ok(id) | Err(PublishError::NotReplicated { id, .. }) => return id,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("{event} could not be published");
}

/// Clients on each gateway of a [`Scene`].
const CLIENTS: usize = 2;
/// How often the scene's publisher publishes.
const PACE: Duration = Duration::from_millis(20);

/// Two gateways on one Redis URL, clients on each following until the last
/// event, `/readyz` polled, and a durable publisher waiting for one replica
/// at a steady pace: what a failover test fails Redis under.
pub struct Scene {
    pub gateways: Vec<Gateway>,
    seen: Vec<Arc<AtomicUsize>>,
    followers: Vec<Vec<JoinHandle<Followed>>>,
    readiness: ReadinessWatch,
    pub publisher: Arc<RedisPublisher>,
    stop: CancellationToken,
    publishing: JoinHandle<Vec<Published>>,
}

/// What a scene ended with.
pub struct Outcome {
    pub published: Vec<Published>,
    /// The clients of each gateway.
    pub followed: Vec<Vec<Followed>>,
    pub samples: Vec<Sample>,
}

/// The event the scene's publisher publishes n-th.
fn scene_event(n: usize) -> String {
    format!(r#"{{"type":"failover.test","n":{n}}}"#)
}

const LAST: &str = r#"{"type":"failover.last"}"#;

fn is_last(frame: &Value) -> bool {
    frame["event"]["type"] == "failover.last"
}

impl Scene {
    /// Starts the gateways on `url` (reconnect back-off at most 1 s) and
    /// their clients, then the readiness poller and the publisher.
    pub async fn start(url: &str, channel: &str) -> Scene {
        let args = ["serve", "--redis", url, "--channel", channel];
        let args = [&args[..], &["--redis-backoff-max", "1"]].concat();
        let gateways = vec![Gateway::start(&args), Gateway::start(&args)];
        let mut seen = Vec::new();
        let mut followers = Vec::new();
        for gateway in &gateways {
            gateway.wait_bus_up(Duration::from_secs(15)).await;
            let counts: Vec<Arc<AtomicUsize>> = (0..CLIENTS).map(|_| Arc::default()).collect();
            followers.push(counts.iter().map(|n| follow_last(gateway, n)).collect());
            seen.extend(counts);
        }
        for gateway in &gateways {
            let open =
                async || gateway.metric("tactical_link_connections_open").await == CLIENTS as f64;
            eventually(Duration::from_secs(10), "every client connected", open).await;
        }
        let readiness = ReadinessWatch::start(gateways.iter().map(|g| g.addr).collect());
        let wait = Replication {
            replicas: 1,
            timeout: Duration::from_millis(500),
        };
        let publisher = RedisPublisher::new(url, channel).expect("a Redis URL");
        let publisher = Arc::new(publisher.with_replication(wait));
        let stop = CancellationToken::new();
        let publishing = {
            let (publisher, stop) = (publisher.clone(), stop.clone());
            tokio::spawn(async move { publish_steadily(&publisher, PACE, stop, scene_event).await })
        };
        Scene {
            gateways,
            seen,
            followers,
            readiness,
            publisher,
            stop,
            publishing,
        }
    }

    /// Waits until every client has `more` events more than the one with
    /// most has now.
    pub async fn more_events(&self, more: usize, what: &str) {
        let now = self.seen.iter().map(|n| n.load(Relaxed)).max().unwrap_or(0);
        let all = async || self.seen.iter().all(|n| n.load(Relaxed) >= now + more);
        eventually(Duration::from_secs(20), what, all).await;
    }

    /// Waits until every gateway says ready.
    pub async fn all_ready(&self) {
        for gateway in &self.gateways {
            gateway.wait_bus_up(Duration::from_secs(20)).await;
        }
    }

    /// Stops the publisher, publishes the last event, and waits for every
    /// client to have it.
    pub async fn finish(self) -> Outcome {
        self.stop.cancel();
        let published = self.publishing.await.expect("the publisher");
        publish_until_recorded(&self.publisher, LAST).await;
        let mut followed = Vec::new();
        for of_gateway in self.followers {
            let mut got = Vec::new();
            for client in of_gateway {
                got.push(client.await.expect("a client"));
            }
            followed.push(got);
        }
        let samples = self.readiness.stop();
        Outcome {
            published,
            followed,
            samples,
        }
    }
}

fn follow_last(gateway: &Gateway, seen: &Arc<AtomicUsize>) -> JoinHandle<Followed> {
    let limit = Duration::from_secs(60);
    tokio::spawn(follow_to_last(
        gateway.ws_url(),
        limit,
        seen.clone(),
        is_last,
    ))
}

/// What [`Outcome::check`] measured.
#[derive(Debug)]
pub struct Measured {
    /// The longest 503 seen on each gateway (a shorter one than the
    /// polling interval may go unseen).
    pub outages: Vec<Option<Duration>>,
    /// The longest from a 200 to the next event reaching that gateway's
    /// clients.
    pub delivery: Duration,
    pub publishes: usize,
    pub succeeded: usize,
    pub recorded: usize,
}

impl Outcome {
    /// Every client got every event of `stream` (the stream on the primary
    /// now) and every event told succeeded, once, in order; every `/readyz`
    /// 503 seen lasted at most `outage`, and readiness told the truth
    /// within `delivery`.
    pub fn check(&self, stream: &[EventId], outage: Duration, delivery: Duration) -> Measured {
        for (g, of_gateway) in self.followed.iter().enumerate() {
            for (c, client) in of_gateway.iter().enumerate() {
                let name = format!("client {c} of gateway {g}");
                check_client(&name, client, &self.published, stream);
            }
        }
        let outages = outages(&self.samples, self.followed.len());
        for (g, seen) in outages.iter().enumerate() {
            assert!(
                seen.is_none_or(|o| o <= outage),
                "gateway {g} was not ready for {seen:?} (bound {outage:?})"
            );
        }
        let clients: Vec<Vec<&Followed>> =
            self.followed.iter().map(|f| f.iter().collect()).collect();
        let (samples, published) = (&self.samples, &self.published);
        let longest = check_truthful(samples, published, stream, &clients, delivery);
        Measured {
            outages,
            delivery: longest,
            publishes: published.len(),
            succeeded: published.iter().filter(|p| p.succeeded).count(),
            recorded: published.iter().filter(|p| p.id.is_some()).count(),
        }
    }
}

/// Waits until the stream of `channel` on the Redis at `port` holds an
/// event containing `text`.
pub async fn recorded(port: u16, channel: &str, text: &str) {
    let (channel, text) = (channel.to_owned(), text.to_owned());
    let holds = async || {
        let (channel, text) = (channel.clone(), text.clone());
        let entries = tokio::task::spawn_blocking(move || stream(port, &channel));
        let entries = entries.await.expect("XRANGE ran");
        entries.iter().any(|(_, event)| event.contains(&text))
    };
    eventually(Duration::from_secs(10), "an event recorded", holds).await;
}
