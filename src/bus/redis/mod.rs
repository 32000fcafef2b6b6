//! The Redis bus: every event recorded in a Redis stream, every gateway
//! relaying from that stream.
//!
//! Two halves, each with its own reconnect loop (capped, jittered back-off,
//! interruptible by shutdown), on a thread of their own so a gateway busy
//! writing to thousands of sockets does not delay them:
//!
//! - the [`recorder`] subscribes to the pub/sub channel and validates each
//!   message. The gateway holding the recorder [`lease`] records it in the
//!   stream `tactical-link:{<channel>}:events` with [`scripts::RECORD`]; the
//!   one holding the standby lease keeps a [`standby`] buffer and records it
//!   only if it takes the recorder lease over; every other gateway (a
//!   follower) unsubscribes from the channel. So Redis sends each message
//!   to two gateways and runs the record script once per event, whatever
//!   the number of gateways, and the stream holds every event once, in
//!   publish order;
//! - the [`reader`] follows the stream from the last id the hub relayed and
//!   relays what the recorder did not (on a follower, every event); on
//!   start it reloads the retained window, so state and history survive a
//!   gateway restart.
//!
//! The halves (and the recorder lease) move together: when one loses a
//! connection that was up, the others drop theirs and connect again too,
//! so after a failover none stays on the old server (a demoted primary
//! still serves reads and pub/sub), and readiness is green only once all
//! are on the new one.
//!
//! De-duplication: for each payload the script keeps, for a short window, how
//! many times each gateway has seen it (`HINCRBY seen:<sha1> <gateway> 1`).
//! The n-th sighting by one gateway is a new publication only when no other
//! gateway has reported n sightings yet. That keeps a takeover (two
//! recorders for a moment, or a standby recording its buffer) from recording
//! anything twice. Publishers of ours ([`publisher`], [`scripts::PUBLISH`])
//! record the event themselves and count it as seen, so gateways skip its
//! pub/sub copy, and it is recorded even while no gateway runs.
//!
//! Where Redis is ([`endpoint`]): one server, the primary a set of Sentinels
//! names, or the Cluster master owning the channel's slot, asked anew at
//! every reconnect. A delivery probe on the subscription keeps readiness
//! honest: a subscription that no longer delivers (a frozen or demoted
//! primary) is dropped and the bus reported down.
//! docs/architecture.md says what this guarantees and where it stops.

pub mod endpoint;
mod keys;
pub mod lease;
mod parsed;
pub mod publisher;
mod reader;
pub mod recorder;
pub mod scripts;
mod standby;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use rand::SeedableRng;
use rand::rngs::StdRng;
use redis::AsyncConnectionConfig;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::bus::{Bus, Publish, PublishError};
use crate::event::{EventId, ValidEvent};
use crate::history::{DEFAULT_HISTORY_BYTES, DEFAULT_HISTORY_SIZE};
use crate::hub::Hub;
pub use endpoint::Endpoint;
pub use keys::{Keys, RunRecord};
use lease::Roles;
use parsed::Parsed;
pub use publisher::RedisPublisher;
use standby::Standby;

/// Longest wait for a TCP connection and handshake to Redis.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for Redis to answer one command.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// Field of a stream entry that holds the event's JSON.
const EVENT_FIELD: &str = "e";
/// Field of a stream entry that holds the id of the entry before it
/// (empty for the first): lets a reader tell that entries between the last
/// one it relayed and this one were trimmed before it read them.
const PREVIOUS_FIELD: &str = "p";
/// Default length of the de-duplication window, in seconds.
pub const DEFAULT_DEDUP_WINDOW_S: u64 = 60;

/// How the link behaves.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    pub url: String,
    pub channel: String,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How often an idle subscription is checked with a PING.
    pub ping_interval: Duration,
    /// Entries the stream keeps (approximately, never fewer).
    pub history_size: usize,
    /// Bytes of events a restarting gateway reloads from the stream.
    pub history_bytes: usize,
    /// How long a run's events are kept in Redis after its last one.
    pub run_retention_s: u64,
    /// Runs whose state a restarting gateway restores.
    pub max_runs: usize,
    /// How long a payload is remembered for de-duplication.
    pub dedup_window: Duration,
    /// Replicas a publish waits for.
    pub replication: publisher::Replication,
    /// Pause after a read of the stream that brought events.
    pub stream_read_pause: Duration,
}

impl LinkConfig {
    pub fn new(url: &str, channel: &str) -> Self {
        LinkConfig {
            url: url.to_owned(),
            channel: channel.to_owned(),
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_secs(5),
            ping_interval: Duration::from_secs(1),
            history_size: DEFAULT_HISTORY_SIZE,
            history_bytes: DEFAULT_HISTORY_BYTES,
            run_retention_s: 24 * 3600,
            max_runs: 100,
            dedup_window: Duration::from_secs(DEFAULT_DEDUP_WINDOW_S),
            replication: publisher::Replication::NONE,
            stream_read_pause: Duration::ZERO,
        }
    }
}

/// Why one connection of the link ended.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkError {
    #[error("{0}")]
    Redis(#[from] redis::RedisError),
    #[error("no answer from Redis within {0:?}")]
    Timeout(Duration),
    #[error("connection closed by Redis")]
    Closed,
    #[error("the subscription delivers nothing: a probe published did not come back")]
    Deaf,
    #[error("another connection of the link to this Redis was lost: connecting again with it")]
    Moved,
}

/// A connection for commands: our own limits, not redis-rs's default
/// response timeout of 500 ms, which a pipeline of large events on a busy
/// Redis can exceed (the link would then drop and reconnect for nothing).
pub fn command_connection_config() -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(COMMAND_TIMEOUT))
}

async fn within<T>(
    limit: Duration,
    work: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, LinkError> {
    match tokio::time::timeout(limit, work).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(LinkError::Timeout(limit)),
    }
}

/// The Redis bus of one gateway: the link that feeds its hub, and a
/// publisher.
pub struct RedisBus {
    config: LinkConfig,
    hub: Arc<Hub>,
    publisher: RedisPublisher,
}

impl RedisBus {
    pub fn new(config: LinkConfig, hub: Arc<Hub>) -> Result<RedisBus, PublishError> {
        let publisher =
            RedisPublisher::new(&config.url, &config.channel)?.with_replication(config.replication);
        Ok(RedisBus {
            config,
            hub,
            publisher,
        })
    }
}

impl Publish for RedisBus {
    fn publish<'a>(
        &'a self,
        event: &'a ValidEvent,
    ) -> BoxFuture<'a, Result<EventId, PublishError>> {
        self.publisher.publish(event)
    }
}

impl Bus for RedisBus {
    fn run(self: Arc<Self>, shutdown: CancellationToken) -> BoxFuture<'static, ()> {
        // The link runs on a thread of its own: with thousands of connection
        // tasks on the shared workers, its wake-ups would otherwise queue
        // behind theirs, and every event waits for the link before it
        // reaches anyone.
        let (done, finished) = tokio::sync::oneshot::channel::<()>();
        let (hub, config) = (self.hub.clone(), self.config.clone());
        let spawned = std::thread::Builder::new()
            .name("redis-link".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the Redis link");
                runtime.block_on(run_link(hub, config, shutdown));
                drop(done);
            });
        if let Err(err) = spawned {
            self.hub
                .set_bus(false, Some(format!("cannot start the Redis link: {err}")));
        }
        Box::pin(async move {
            let _ = finished.await;
        })
    }

    fn publisher(self: Arc<Self>) -> Arc<dyn Publish> {
        self
    }
}

/// The bus is up while both halves are: the hub hears of every change.
struct Health {
    hub: Arc<Hub>,
    recorder_up: AtomicBool,
    reader_up: AtomicBool,
    problem: Mutex<Option<String>>,
}

#[derive(Clone, Copy)]
enum Part {
    Recorder,
    Reader,
    /// The recorder lease: not part of readiness (another gateway may hold
    /// it); its losses show in the logs and metrics.
    Lease,
}

impl Health {
    fn recorder_up(&self) -> bool {
        self.recorder_up.load(Relaxed)
    }

    fn report(&self, part: Part, result: Result<(), String>) {
        let up = result.is_ok();
        let flag = match part {
            Part::Recorder => &self.recorder_up,
            Part::Reader => &self.reader_up,
            Part::Lease => return,
        };
        let was_up = self.recorder_up.load(Relaxed) && self.reader_up.load(Relaxed);
        flag.store(up, Relaxed);
        let mut problem = self.problem.lock();
        if let Err(detail) = result {
            *problem = Some(detail);
        }
        let now_up = self.recorder_up.load(Relaxed) && self.reader_up.load(Relaxed);
        if now_up {
            *problem = None;
        }
        if was_up && !now_up {
            self.hub.metrics().bus_disconnects.inc();
        }
        self.hub.set_bus(now_up, problem.clone());
    }
}

/// Runs the link until `shutdown` is cancelled. Never returns an error:
/// every failure is reported to the hub as the bus being down.
pub async fn run_link(hub: Arc<Hub>, config: LinkConfig, shutdown: CancellationToken) {
    let endpoint = match Endpoint::parse(&config.url, &config.channel) {
        Ok(endpoint) => endpoint,
        Err(err) => {
            // The URL is validated with the configuration; this is a backstop.
            hub.set_bus(false, Some(format!("invalid Redis URL: {err}")));
            return;
        }
    };
    let link = Link {
        keys: Keys::for_channel(&config.channel),
        gateway_id: uuid::Uuid::new_v4().to_string(),
        endpoint,
        config,
        health: Health {
            hub,
            recorder_up: AtomicBool::new(false),
            reader_up: AtomicBool::new(false),
            problem: Mutex::new(None),
        },
        parsed: Parsed::default(),
        barriers: Barriers::default(),
        roles: Roles::default(),
        standby: Standby::default(),
        lost: tokio::sync::watch::Sender::new(0),
    };
    // At shutdown a recorder hands its lease over before it stops
    // recording (lease.rs), so the recorder part has a token of its own.
    let recording = CancellationToken::new();
    tokio::join!(
        link.reconnecting(Part::Recorder, &recording),
        link.reconnecting(Part::Reader, &shutdown),
        async {
            link.reconnecting(Part::Lease, &shutdown).await;
            link.hand_over().await;
            recording.cancel();
        },
    );
}

/// What both halves of the link share.
struct Link {
    /// Where the Redis is, asked at every connection.
    endpoint: Endpoint,
    config: LinkConfig,
    keys: Keys,
    /// Names this gateway in the de-duplication counts.
    gateway_id: String,
    health: Health,
    /// Events the recorder validated, for the reader.
    parsed: Parsed,
    /// The reader's requests that the recorder record everything sent to it.
    barriers: Barriers,
    /// Whether this gateway records the channel, stands by, or follows.
    roles: Roles,
    /// What it keeps meanwhile.
    standby: Standby,
    /// Counts connections lost after they were up; each loss makes every
    /// part connect again.
    lost: tokio::sync::watch::Sender<u64>,
}

/// Requests from the reader to the recorder: "record every message Redis
/// has sent you, then answer".
struct Barriers {
    sender: tokio::sync::mpsc::UnboundedSender<tokio::sync::oneshot::Sender<()>>,
    /// Held by the recorder's connection while it runs.
    requests:
        tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<tokio::sync::oneshot::Sender<()>>>,
}

impl Default for Barriers {
    fn default() -> Self {
        let (sender, requests) = tokio::sync::mpsc::unbounded_channel();
        Barriers {
            sender,
            requests: tokio::sync::Mutex::new(requests),
        }
    }
}

impl Link {
    /// Runs one half's connections again and again, with back-off, until
    /// shutdown; drops a connection when another part lost its own.
    async fn reconnecting(&self, part: Part, shutdown: &CancellationToken) {
        let name = match part {
            Part::Recorder => "recorder",
            Part::Reader => "stream reader",
            Part::Lease => "recorder lease",
        };
        let mut backoff = Backoff::new(self.config.backoff_base, self.config.backoff_cap);
        let mut rng = StdRng::from_os_rng();
        let mut lost = self.lost.subscribe();
        loop {
            lost.mark_unchanged();
            let connection = async {
                match part {
                    Part::Recorder => self.record(&mut backoff).await,
                    Part::Reader => self.read(&mut backoff).await,
                    Part::Lease => self.hold_lease(&mut backoff).await,
                }
            };
            let error = tokio::select! {
                _ = shutdown.cancelled() => return,
                error = connection => error,
                _ = lost.changed() => LinkError::Moved,
            };
            // Connected (the back-off was reset), then lost: the others go too.
            let was_up = backoff.attempt() == 0;
            if was_up && !matches!(error, LinkError::Moved) {
                self.lost.send_modify(|n| *n += 1);
            }
            match part {
                Part::Lease => self.role_is(lease::Role::Follower),
                Part::Recorder => self.roles.set_listening(false),
                Part::Reader => {}
            }
            self.after_failure(part, &format!("{name}: {error}"), was_up, &backoff);
            let delay = backoff.next_delay(&mut rng);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// Logs a failure and reports the part down.
    fn after_failure(&self, part: Part, detail: &str, was_up: bool, backoff: &Backoff) {
        if was_up {
            tracing::warn!(error = %detail, "Redis link lost or unreachable; retrying with back-off");
        } else {
            tracing::debug!(error = %detail, attempt = backoff.attempt(), "Redis still unreachable");
        }
        self.health.report(part, Err(detail.to_owned()));
    }
}
