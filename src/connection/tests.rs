//! The protocol over an in-memory socket: a WebSocket on each end of a
//! `tokio::io::duplex` pipe, a real hub on the in-process bus and a real
//! verifier with an HS256 secret. Time is paused, so timeouts of seconds
//! pass at once and in order.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::DuplexStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::*;
use crate::admission::{AdmissionConfig, AuthThrottle};
use crate::auth::{AuthConfig, KeySource, Verifier, mint_hs256};
use crate::disconnect::{self, Disconnect};
use crate::frames::{BusKind, PROTOCOL_VERSION, SERVER_NAME};
use crate::hub::{Hub, HubConfig};
use crate::metrics::Metrics;
use crate::revocation::RevocationList;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
/// The pipe's buffer: room for everything a test sends, unless it means
/// to fill it.
const ROOMY: usize = 1 << 20;

/// How a gateway for one test is set up.
#[derive(Default)]
struct Setup {
    hub: HubConfig,
    connection: ConnectionConfig,
    admission: AdmissionConfig,
    auth: bool,
    revocations: Option<RevocationList>,
}

/// What the in-process bus does with a message: validate it, relay it.
fn publish(hub: &Hub, message: &[u8]) -> Result<crate::event::EventId, crate::event::Rejection> {
    hub.validate(message).map(|event| hub.relay_next(&event))
}

impl Setup {
    fn context(self) -> ConnectionContext {
        let hub = Hub::new(self.hub, BusKind::Memory, Arc::new(Metrics::default()));
        hub.set_bus(true, None);
        hub.mark_history_loaded();
        let verifier = self.auth.then(|| {
            let verifier = Verifier::new(AuthConfig {
                source: KeySource::Secret(SECRET.to_vec()),
                issuer: None,
                audience: None,
                leeway: Duration::from_secs(5),
                jwks_refresh: Duration::from_secs(300),
                max_lifetime: None,
            })
            .expect("a verifier");
            match self.revocations {
                Some(list) => Arc::new(verifier.with_revocations(Arc::new(list))),
                None => Arc::new(verifier),
            }
        });
        ConnectionContext {
            hub: Arc::new(hub),
            config: Arc::new(self.connection),
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
            verifier,
            per_user: ConnectionCounter::new(self.admission.max_connections_per_user),
            throttle: AuthThrottle::new(self.admission.auth_failures_per_minute),
            admission: Arc::new(self.admission),
        }
    }
}

fn token(sub: &str, ttl: Duration) -> String {
    mint_hs256(SECRET, sub, None, &[], ttl, None, None).expect("a token")
}

/// What the client saw next, pings aside.
#[derive(Debug, PartialEq)]
enum Got {
    Frame(Value),
    Close(u16),
    /// The connection ended without a close frame.
    Gone,
    /// Nothing within the wait.
    Nothing,
}

/// The client end of a connection, and the task serving the other end.
struct Client {
    socket: WebSocketStream<DuplexStream>,
    /// How the connection ended, and the server's end of the pipe, kept
    /// open so that the client can read what was sent before the close
    /// (reading a ping makes it write a pong first).
    served: JoinHandle<(Ending, WebSocketStream<DuplexStream>)>,
}

impl Client {
    /// Connects through a pipe of `pipe_bytes`, resuming after `resume_from`.
    async fn connect(
        ctx: &ConnectionContext,
        resume_from: Option<&str>,
        pipe_bytes: usize,
    ) -> Client {
        let (server_end, client_end) = tokio::io::duplex(pipe_bytes);
        let config = upgrade::socket_config(&ctx.config);
        let server = WebSocketStream::from_raw_socket(server_end, Role::Server, Some(config)).await;
        let socket = WebSocketStream::from_raw_socket(client_end, Role::Client, None).await;
        let admission = Admission {
            principal: None,
            resume_from: resume_from.map(str::to_owned),
            ip_slot: ConnectionCounter::new(0)
                .admit("198.51.100.7")
                .expect("no limit"),
            peer: "198.51.100.7".parse().unwrap(),
        };
        let ctx = ctx.clone();
        let served = tokio::spawn(async move {
            let mut server = server;
            (serve(&mut server, &ctx, Box::new(admission)).await, server)
        });
        Client { socket, served }
    }

    async fn open(ctx: &ConnectionContext) -> Client {
        Client::connect(ctx, None, ROOMY).await
    }

    /// The next frame or close within `within`, answering pings meanwhile.
    async fn next(&mut self, within: Duration) -> Got {
        let deadline = Instant::now() + within;
        loop {
            let message = match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return Got::Nothing,
                Ok(None | Some(Err(_))) => return Got::Gone,
                Ok(Some(Ok(message))) => message,
            };
            match message {
                Message::Text(text) => {
                    return Got::Frame(serde_json::from_str(text.as_str()).expect("JSON"));
                }
                Message::Close(frame) => {
                    return frame.map_or(Got::Gone, |frame| Got::Close(u16::from(frame.code)));
                }
                _ => {}
            }
        }
    }

    /// The next frame, which must come.
    async fn frame(&mut self) -> Value {
        match self.next(Duration::from_secs(60)).await {
            Got::Frame(frame) => frame,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The next frame, which must be of type `kind`.
    async fn frame_of(&mut self, kind: &str) -> Value {
        let frame = self.frame().await;
        assert_eq!(frame["type"], kind, "{frame}");
        frame
    }

    /// The close code, which must come before any other frame.
    async fn close_code(&mut self) -> u16 {
        match self.next(Duration::from_secs(300)).await {
            Got::Close(code) => code,
            other => panic!("expected a close, got {other:?}"),
        }
    }

    async fn send(&mut self, frame: Value) {
        let text = frame.to_string();
        self.socket
            .send(Message::text(text))
            .await
            .expect("the client sends");
    }

    async fn authenticate(&mut self, token: &str) {
        self.send(json!({"type": "auth", "token": token})).await;
    }

    /// How the server ended the connection.
    async fn ending(self) -> Ending {
        self.served.await.expect("the connection task").0
    }
}

#[tokio::test(start_paused = true)]
async fn the_welcome_names_the_session_and_limits_then_the_snapshot_follows() {
    let ctx = Setup {
        connection: ConnectionConfig {
            heartbeat: Duration::from_secs(7),
            max_client_frame_bytes: 2048,
            ..ConnectionConfig::default()
        },
        ..Setup::default()
    }
    .context();
    let id = publish(&ctx.hub, br#"{"type":"note"}"#).unwrap();
    let mut client = Client::open(&ctx).await;
    let welcome = client.frame_of("welcome").await;
    assert_eq!(welcome["protocol"], PROTOCOL_VERSION);
    assert_eq!(welcome["server"], SERVER_NAME);
    assert_eq!(welcome["heartbeat_ms"], 7000);
    assert_eq!(welcome["max_client_frame_bytes"], 2048);
    assert_eq!(welcome["auth"], "none");
    let session = welcome["session"].as_str().expect("a session");
    assert!(uuid::Uuid::parse_str(session).is_ok(), "{session}");
    let snapshot = client.frame_of("snapshot").await;
    assert_eq!(snapshot["last_id"], id.to_string());
    assert_eq!(snapshot["recent_events"][0]["event"]["type"], "note");

    let mut other = Client::open(&ctx).await;
    assert_ne!(other.frame_of("welcome").await["session"], session);

    // With authentication on, the welcome says so and nothing follows it
    // until the client authenticates.
    let ctx = Setup {
        auth: true,
        ..Setup::default()
    }
    .context();
    let mut client = Client::open(&ctx).await;
    assert_eq!(client.frame_of("welcome").await["auth"], "required");
    assert_eq!(client.next(Duration::from_secs(1)).await, Got::Nothing);
}

#[tokio::test(start_paused = true)]
async fn no_auth_frame_within_the_auth_timeout_closes_with_4408() {
    let ctx = Setup {
        auth: true,
        admission: AdmissionConfig {
            auth_timeout: Duration::from_secs(5),
            ..AdmissionConfig::default()
        },
        ..Setup::default()
    }
    .context();
    let started = Instant::now();
    let mut client = Client::open(&ctx).await;
    client.frame_of("welcome").await;
    assert_eq!(client.close_code().await, disconnect::AUTH_TIMEOUT);
    assert_eq!(started.elapsed(), Duration::from_secs(5), "at the deadline");
    assert_eq!(client.ending().await, Some(Disconnect::auth_timeout()));
    assert_eq!(ctx.hub.metrics().auth_failures.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_refused_token_closes_with_4501_before_anything_is_sent() {
    let ctx = Setup {
        auth: true,
        ..Setup::default()
    }
    .context();
    let other_secret = b"another secret, just as long as the first";
    let forged = mint_hs256(
        other_secret,
        "alice",
        None,
        &[],
        Duration::from_secs(60),
        None,
        None,
    );
    for token in ["not-a-token".to_owned(), forged.unwrap()] {
        let mut client = Client::open(&ctx).await;
        client.frame_of("welcome").await;
        client.authenticate(&token).await;
        assert_eq!(client.close_code().await, disconnect::AUTH_FAILED);
        assert_eq!(
            client.ending().await.map(|d| d.code),
            Some(disconnect::AUTH_FAILED)
        );
    }
    assert_eq!(ctx.hub.metrics().auth_failures.get(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_renewal_for_the_same_user_moves_the_expiry_and_one_for_another_closes_with_1008() {
    let ctx = Setup {
        auth: true,
        connection: ConnectionConfig {
            heartbeat: Duration::from_secs(3600),
            ..ConnectionConfig::default()
        },
        ..Setup::default()
    }
    .context();
    // Without renewal, the token's expiry closes the connection (4401).
    let started = Instant::now();
    let mut lapsing = Client::open(&ctx).await;
    lapsing.frame_of("welcome").await;
    lapsing
        .authenticate(&token("alice", Duration::from_secs(20)))
        .await;
    lapsing.frame_of("authenticated").await;
    lapsing.frame_of("snapshot").await;
    assert_eq!(lapsing.close_code().await, disconnect::TOKEN_EXPIRED);
    let lasted = started.elapsed();
    assert!(
        lasted > Duration::from_secs(18) && lasted <= Duration::from_secs(21),
        "{lasted:?}"
    );

    // A renewal for the same user is answered, and the connection outlives
    // the first token.
    let mut client = Client::open(&ctx).await;
    client.frame_of("welcome").await;
    client
        .authenticate(&token("alice", Duration::from_secs(20)))
        .await;
    let first = client.frame_of("authenticated").await;
    client.frame_of("snapshot").await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    client
        .authenticate(&token("alice", Duration::from_secs(3600)))
        .await;
    let renewed = client.frame_of("authenticated").await;
    assert_eq!(renewed["sub"], "alice");
    assert!(renewed["expires_at"].as_str() > first["expires_at"].as_str());
    tokio::time::sleep(Duration::from_secs(15)).await;
    client.send(json!({"type": "ping", "nonce": 1})).await;
    assert_eq!(
        client.frame_of("pong").await["nonce"],
        1,
        "open past the first token"
    );

    // A renewal for another user is refused.
    client
        .authenticate(&token("bob", Duration::from_secs(3600)))
        .await;
    assert_eq!(client.close_code().await, disconnect::POLICY);
    assert_eq!(
        client.ending().await,
        Some(Disconnect::renewal_for_another_user())
    );
    assert_eq!(ctx.hub.metrics().token_expiries.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_resuming_client_gets_resumed_then_exactly_the_events_it_missed() {
    let ctx = Setup::default().context();
    let seen = publish(&ctx.hub, br#"{"type":"a"}"#).unwrap();
    let b = publish(&ctx.hub, br#"{"type":"b"}"#).unwrap();
    let c = publish(&ctx.hub, br#"{"type":"c"}"#).unwrap();
    let mut client = Client::connect(&ctx, Some(&seen.to_string()), ROOMY).await;
    client.frame_of("welcome").await;
    let resumed = client.frame_of("resumed").await;
    assert_eq!(resumed["last_id"], seen.to_string());
    assert_eq!(resumed["replayed"], 2);
    for id in [b, c] {
        assert_eq!(client.frame_of("event").await["id"], id.to_string());
    }
    assert_eq!(client.next(Duration::from_secs(1)).await, Got::Nothing);
    let d = publish(&ctx.hub, br#"{"type":"d"}"#).unwrap();
    assert_eq!(
        client.frame_of("event").await["id"],
        d.to_string(),
        "live, no duplicate"
    );

    // An id no longer retained gets a snapshot that says so.
    let mut lost = Client::connect(&ctx, Some("1-0"), ROOMY).await;
    lost.frame_of("welcome").await;
    let snapshot = lost.frame_of("snapshot").await;
    assert_eq!(snapshot["resume_failed"], "1-0");
    assert_eq!(snapshot["last_id"], d.to_string());

    // The opening work each kind of start did, as /metrics shows it.
    let mut fresh = Client::open(&ctx).await;
    fresh.frame_of("welcome").await;
    fresh.frame_of("snapshot").await;
    let metrics = ctx.hub.metrics();
    assert_eq!(metrics.resumes.get(), 1);
    assert_eq!(metrics.events_replayed.get(), 2, "b and c");
    assert_eq!(
        metrics.snapshots.get(),
        2,
        "the failed resume and the fresh client"
    );
    assert_eq!(metrics.resume_failures.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_client_over_its_message_rate_is_closed_with_1008() {
    let ctx = Setup {
        admission: AdmissionConfig {
            messages_per_second: 1.0,
            message_burst: 3.0,
            ..AdmissionConfig::default()
        },
        ..Setup::default()
    }
    .context();
    let mut client = Client::open(&ctx).await;
    client.frame_of("welcome").await;
    client.frame_of("snapshot").await;
    for nonce in 1..=4 {
        client.send(json!({"type": "ping", "nonce": nonce})).await;
    }
    for nonce in 1..=3 {
        assert_eq!(
            client.frame_of("pong").await["nonce"],
            nonce,
            "within the burst"
        );
    }
    assert_eq!(client.close_code().await, disconnect::POLICY);
    assert_eq!(client.ending().await, Some(Disconnect::rate_limited()));
    assert_eq!(ctx.hub.metrics().rate_limited.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn protocol_pings_count_against_the_message_rate() {
    let ctx = Setup {
        admission: AdmissionConfig {
            messages_per_second: 1.0,
            message_burst: 3.0,
            ..AdmissionConfig::default()
        },
        ..Setup::default()
    }
    .context();
    let mut client = Client::open(&ctx).await;
    client.frame_of("welcome").await;
    client.frame_of("snapshot").await;
    for _ in 0..4 {
        client
            .socket
            .send(Message::Ping(Default::default()))
            .await
            .unwrap();
    }
    assert_eq!(client.close_code().await, disconnect::POLICY);
    assert_eq!(client.ending().await, Some(Disconnect::rate_limited()));
    assert_eq!(ctx.hub.metrics().rate_limited.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn before_auth_only_a_few_pings_are_served() {
    let ctx = Setup {
        auth: true,
        ..Setup::default()
    }
    .context();
    let mut client = Client::open(&ctx).await;
    client.frame_of("welcome").await;
    for _ in 0..4 {
        client
            .socket
            .send(Message::Ping(Default::default()))
            .await
            .unwrap();
    }
    assert_eq!(client.close_code().await, disconnect::POLICY);
    assert_eq!(client.ending().await, Some(Disconnect::auth_first()));
    assert_eq!(ctx.hub.metrics().rate_limited.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_address_that_failed_too_often_is_refused_even_with_a_good_token() {
    let ctx = Setup {
        auth: true,
        admission: AdmissionConfig {
            auth_failures_per_minute: 2,
            ..AdmissionConfig::default()
        },
        ..Setup::default()
    }
    .context();
    for _ in 0..2 {
        let mut client = Client::open(&ctx).await;
        client.frame_of("welcome").await;
        client.authenticate("not-a-token").await;
        assert_eq!(client.close_code().await, disconnect::AUTH_FAILED);
    }
    let mut client = Client::open(&ctx).await;
    client.frame_of("welcome").await;
    client
        .authenticate(&token("alice", Duration::from_secs(60)))
        .await;
    assert_eq!(client.close_code().await, disconnect::TRY_AGAIN_LATER);
    assert_eq!(ctx.hub.metrics().auth_throttled.get(), 1);
    // A minute later the address may try again.
    tokio::time::advance(crate::admission::AUTH_FAILURE_WINDOW).await;
    let mut client = Client::open(&ctx).await;
    client.frame_of("welcome").await;
    client
        .authenticate(&token("alice", Duration::from_secs(60)))
        .await;
    assert_eq!(client.frame().await["type"], "authenticated");
}

#[tokio::test(start_paused = true)]
async fn a_client_behind_gets_the_newest_progress_of_a_stage_and_every_transition() {
    let ctx = Setup::default().context();
    let mut client = Client::open(&ctx).await;
    client.frame_of("welcome").await;
    client.frame_of("snapshot").await;
    let stage = |status: &str, extra: &str| {
        format!(
            r#"{{"type":"pipeline.stage","run_id":"slow","stage":"analyst","status":"{status}"{extra}}}"#
        )
    };
    // Published before the connection's task runs: it finds all of them
    // waiting at once, as a client that reads slowly does.
    publish(&ctx.hub, stage("processing", "").as_bytes()).unwrap();
    for percent in 1..=300 {
        let progress = format!(r#","progress":{}"#, percent as f64 / 3.0);
        publish(&ctx.hub, stage("processing", &progress).as_bytes()).unwrap();
    }
    let last = publish(&ctx.hub, stage("complete", "").as_bytes()).unwrap();
    let mut statuses = Vec::new();
    loop {
        let frame = client.frame_of("event").await;
        statuses.push(frame["pipeline"]["status"].as_str().unwrap().to_owned());
        if frame["pipeline"]["status"] == "complete" {
            assert_eq!(frame["run"]["state"]["status"], "complete");
            assert_eq!(
                frame["run"]["version"],
                last.to_string(),
                "the state is exact"
            );
            break;
        }
    }
    assert_eq!(statuses.first().map(String::as_str), Some("processing"));
    assert!(
        statuses.len() < 100,
        "{} frames: progress was conflated",
        statuses.len()
    );
    assert!(ctx.hub.metrics().frames_conflated.get() > 200);
    assert_eq!(ctx.hub.metrics().slow_consumer_disconnects.get(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_client_that_falls_a_ring_behind_is_closed_with_4001() {
    let ctx = Setup {
        hub: HubConfig {
            ring_capacity: 8,
            ..HubConfig::default()
        },
        ..Setup::default()
    }
    .context();
    let mut client = Client::open(&ctx).await;
    client.frame_of("welcome").await;
    client.frame_of("snapshot").await;
    // A ring's worth is delivered...
    for _ in 0..8 {
        publish(&ctx.hub, br#"{"type":"tick"}"#).unwrap();
    }
    for _ in 0..8 {
        client.frame_of("event").await;
    }
    // ...more than that, published before the connection runs, is not.
    for _ in 0..20 {
        publish(&ctx.hub, br#"{"type":"tick"}"#).unwrap();
    }
    assert_eq!(client.close_code().await, disconnect::SLOW_CONSUMER);
    assert_eq!(client.ending().await, Some(Disconnect::slow_consumer()));
    assert_eq!(ctx.hub.metrics().slow_consumer_disconnects.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_client_that_takes_no_bytes_is_closed_with_4001_after_the_write_timeout() {
    let write_timeout = Duration::from_secs(10);
    let ctx = Setup {
        connection: ConnectionConfig {
            write_timeout,
            heartbeat: Duration::from_secs(3600),
            ..ConnectionConfig::default()
        },
        ..Setup::default()
    }
    .context();
    let mut client = Client::connect(&ctx, None, 16 * 1024).await;
    client.frame_of("welcome").await;
    client.frame_of("snapshot").await;
    // From here on the client reads nothing: 80 KB do not fit the pipe.
    let event = json!({"type": "note", "pad": "x".repeat(2000)}).to_string();
    for _ in 0..40 {
        publish(&ctx.hub, event.as_bytes()).unwrap();
    }
    let started = Instant::now();
    let ending = client.ending().await;
    assert_eq!(ending, Some(Disconnect::slow_consumer()));
    assert!(
        started.elapsed() >= write_timeout,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ctx.hub.metrics().slow_consumer_disconnects.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_silent_client_is_closed_with_4002_after_two_heartbeats_and_an_answering_one_is_not() {
    let ctx = Setup::default().context();
    let heartbeat = ctx.config.heartbeat;
    let mut answering = Client::open(&ctx).await;
    answering.frame_of("welcome").await;
    answering.frame_of("snapshot").await;
    // Reading answers the gateway's pings (tungstenite sends the pongs).
    assert_eq!(answering.next(heartbeat * 3).await, Got::Nothing);

    let mut silent = Client::open(&ctx).await;
    silent.frame_of("welcome").await;
    silent.frame_of("snapshot").await;
    // The answering client reads on while the silent one reads nothing.
    let (answered, silent_close) = tokio::join!(answering.next(heartbeat * 5), async {
        tokio::time::sleep(heartbeat * 2 + Duration::from_secs(1)).await;
        silent.close_code().await
    });
    assert_eq!(answered, Got::Nothing, "the answering client stays");
    assert_eq!(silent_close, disconnect::HEARTBEAT_TIMEOUT);
    assert_eq!(silent.ending().await, Some(Disconnect::heartbeat_timeout()));
    assert_eq!(ctx.hub.metrics().heartbeat_timeouts.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_closes_with_1001() {
    let ctx = Setup::default().context();
    let mut client = Client::open(&ctx).await;
    client.frame_of("welcome").await;
    client.frame_of("snapshot").await;
    ctx.shutdown.cancel();
    assert_eq!(client.close_code().await, disconnect::GOING_AWAY);
    assert_eq!(client.ending().await, Some(Disconnect::shutdown()));
}

#[tokio::test(start_paused = true)]
async fn a_token_revoked_while_open_closes_with_4501() {
    let path = std::env::temp_dir().join(format!("tl-conn-revoked-{}", std::process::id()));
    std::fs::write(&path, "# nobody yet\n").unwrap();
    let list = RevocationList::load(&path).unwrap();
    let ctx = Setup {
        auth: true,
        revocations: Some(list),
        connection: ConnectionConfig {
            heartbeat: Duration::from_secs(3600),
            ..ConnectionConfig::default()
        },
        ..Setup::default()
    }
    .context();
    let list = ctx
        .verifier
        .as_ref()
        .unwrap()
        .revocations()
        .unwrap()
        .clone();
    let following = tokio::spawn({
        let stop = ctx.shutdown.clone();
        async move { list.follow_file(stop).await }
    });
    let mut client = Client::open(&ctx).await;
    client.frame_of("welcome").await;
    client
        .authenticate(&token("alice", Duration::from_secs(3600)))
        .await;
    client.frame_of("authenticated").await;
    client.frame_of("snapshot").await;
    assert_eq!(client.next(Duration::from_secs(10)).await, Got::Nothing);
    std::fs::write(&path, "# alice left\nsub alice\n").unwrap();
    let revoked = Instant::now();
    assert_eq!(client.close_code().await, disconnect::AUTH_FAILED);
    assert!(revoked.elapsed() <= crate::revocation::POLL_INTERVAL * 2);
    assert_eq!(client.ending().await, Some(Disconnect::token_revoked()));
    ctx.shutdown.cancel();
    following.await.unwrap();
    std::fs::remove_file(&path).unwrap();
}

/// Every idle connection holds its task's future: what it may need only
/// rarely (a JWKS reload for a renewal) is boxed, not inline, and no level
/// of the task keeps its own copy of the socket or the admission. 3,248
/// bytes with the reload inline and those copies; 2,352 without (debug
/// build, the socket by reference as `upgrade::start` passes it).
#[tokio::test]
async fn a_connection_task_stays_within_its_size_budget() {
    let ctx = Setup {
        auth: true,
        ..Setup::default()
    }
    .context();
    let (server_end, _client_end) = tokio::io::duplex(1024);
    let config = upgrade::socket_config(&ctx.config);
    let mut socket = WebSocketStream::from_raw_socket(server_end, Role::Server, Some(config)).await;
    let admission = Admission {
        principal: None,
        resume_from: None,
        ip_slot: ConnectionCounter::new(0).admit("198.51.100.7").unwrap(),
        peer: "198.51.100.7".parse().unwrap(),
    };
    let task = serve(&mut socket, &ctx, Box::new(admission));
    let size = std::mem::size_of_val(&task);
    assert!(size <= 2_600, "the connection future grew to {size} bytes");
    let verifier = ctx.verifier.as_ref().unwrap();
    let verify = std::mem::size_of_val(&verifier.verify("a token"));
    assert!(verify <= 256, "a token check holds {verify} bytes inline");
}
