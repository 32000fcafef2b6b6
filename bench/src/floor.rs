//! The floor: the smallest correct Redis → WebSocket relay, so that every
//! case can be measured against what a bare relay costs on the same
//! machine, in the same session (`tactical-link-bench floor`, started by
//! `--spawn-floor` as a process of its own, as the gateway is one).
//!
//! It subscribes to the channel and writes each message to every connected
//! client, in order; nothing else: no validation, no state, no history, no
//! authentication, no limits. It speaks just enough of the gateway's
//! protocol for the benchmark's clients to count and time its deliveries
//! exactly as the gateway's: a `snapshot` frame (empty) once the client is
//! in the fan-out, so that "ready" means what it means for the gateway, then
//! each message inside an `event` frame, as the gateway embeds it. What it
//! shares with the gateway is what any Rust relay would use: tokio, a
//! `broadcast` ring of 4,096 frames (a client that falls a whole ring
//! behind is dropped: a relay that skips is not a relay), tungstenite with
//! the gateway's buffer sizes, and frames written in batches (one flush per
//! wake-up). Redis is read on a thread of its own with a blocking
//! connection; if it fails, the floor stops with an error (the run then
//! fails loudly).

use std::io::Write as _;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::{self, error::TryRecvError};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{WebSocketStream, accept_async_with_config};
use tokio_util::sync::CancellationToken;

/// `tactical-link-bench floor`: serve the bare relay.
#[derive(Debug, Clone, Args)]
pub struct FloorArgs {
    /// Address to listen on (port 0: a free one, printed once ready).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Redis to subscribe to.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis: String,
    /// Redis pub/sub channel.
    #[arg(long, default_value = "system_events")]
    pub channel: String,
    /// Frames a client may fall behind before it is dropped (the
    /// gateway's default `--client-buffer`).
    #[arg(long, default_value_t = 4096)]
    pub ring: usize,
}

/// The frame a client gets once it is in the fan-out: the benchmark's
/// clients are ready on a `snapshot`.
const SNAPSHOT: &str = r#"{"type":"snapshot","runs":[],"recent_events":[]}"#;
/// What each message is wrapped in: `{"type":"event","event":<message>}`.
const EVENT_PREFIX: &str = r#"{"type":"event","event":"#;
/// Most frames written per flush.
const BATCH: usize = 256;

/// Subscribes, listens, prints the gateway's "listening on" line, and
/// relays until killed or Redis fails.
pub async fn serve(args: &FloorArgs) -> anyhow::Result<()> {
    let floor = bind(args).await?;
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "{}http://{}",
        testkit::process::LISTENING_PREFIX,
        floor.listener.local_addr()?
    )?;
    stdout.flush()?;
    relay(floor).await
}

/// A floor subscribed and listening.
pub struct Floor {
    pub listener: TcpListener,
    sender: broadcast::Sender<Utf8Bytes>,
    /// Cancelled when the Redis subscription fails.
    redis_gone: CancellationToken,
}

/// Subscribes to the channel, then listens: every message published from
/// now on reaches every client that connects.
pub async fn bind(args: &FloorArgs) -> anyhow::Result<Floor> {
    anyhow::ensure!(args.ring > 0, "--ring must be greater than 0");
    let (sender, _) = broadcast::channel::<Utf8Bytes>(args.ring);
    let redis_gone = CancellationToken::new();
    start_redis_reader(
        &args.redis,
        &args.channel,
        sender.clone(),
        redis_gone.clone(),
    )?;
    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    Ok(Floor {
        listener,
        sender,
        redis_gone,
    })
}

/// Serves every client that connects, each on a task of its own, until
/// the Redis subscription fails (an error: the run must not go on without
/// events).
pub async fn relay(floor: Floor) -> anyhow::Result<()> {
    let Floor {
        listener,
        sender,
        redis_gone,
    } = floor;
    loop {
        let accepted = tokio::select! {
            _ = redis_gone.cancelled() => anyhow::bail!("the Redis subscription failed"),
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                tokio::spawn(serve_client(stream, sender.clone()));
            }
            // Out of file descriptors, most likely: let some close.
            Err(err) => {
                eprintln!("floor: accept: {err}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Starts the thread that reads Redis, and returns once it is subscribed.
fn start_redis_reader(
    url: &str,
    channel: &str,
    sender: broadcast::Sender<Utf8Bytes>,
    gone: CancellationToken,
) -> anyhow::Result<()> {
    let client = redis::Client::open(url)?;
    let name = channel.to_owned();
    let (subscribed, is_subscribed) = mpsc::channel();
    std::thread::Builder::new()
        .name("floor-redis".into())
        .spawn(move || {
            let mut connection = match client.get_connection() {
                Ok(connection) => connection,
                Err(err) => return subscribed.send(Err(err)).unwrap_or(()),
            };
            let mut pubsub = connection.as_pubsub();
            if let Err(err) = pubsub.subscribe(&name) {
                return subscribed.send(Err(err)).unwrap_or(());
            }
            let _ = subscribed.send(Ok(()));
            loop {
                match pubsub.get_message() {
                    Ok(message) => {
                        if let Some(frame) = event_frame(message.get_payload_bytes()) {
                            // No receiver yet is not an error.
                            let _ = sender.send(frame);
                        }
                    }
                    Err(err) => {
                        eprintln!("floor: Redis: {err}");
                        return gone.cancel();
                    }
                }
            }
        })?;
    is_subscribed
        .recv()
        .context("the Redis thread ended")?
        .with_context(|| format!("cannot subscribe to {channel:?}"))?;
    Ok(())
}

/// The gateway's `event` frame around a message, or nothing for a message
/// that is not UTF-8 (a text frame cannot carry it).
pub fn event_frame(message: &[u8]) -> Option<Utf8Bytes> {
    let message = std::str::from_utf8(message).ok()?;
    let mut frame = String::with_capacity(EVENT_PREFIX.len() + message.len() + 1);
    frame.push_str(EVENT_PREFIX);
    frame.push_str(message);
    frame.push('}');
    Some(frame.into())
}

/// The gateway's buffer sizes (src/connection): 1 KiB to read, 8 KiB of
/// frames before a write.
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(8 * 1024)
}

/// One client: upgrade, join the fan-out, send the snapshot, then write
/// every frame until the client goes, falls a ring behind, or a write fails.
async fn serve_client(stream: TcpStream, sender: broadcast::Sender<Utf8Bytes>) {
    let _ = stream.set_nodelay(true);
    let Ok(mut socket) = accept_async_with_config(stream, Some(socket_config())).await else {
        return;
    };
    let mut frames = sender.subscribe();
    drop(sender);
    if socket.send(Message::text(SNAPSHOT)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            biased;
            received = frames.recv() => match received {
                Ok(first) => {
                    if !write_batch(&mut socket, &mut frames, first).await {
                        return;
                    }
                }
                // Lagged (a ring behind) or closed.
                Err(_) => return,
            },
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                // Pings are answered with the next flush.
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Writes `first` and every frame already waiting (up to [`BATCH`]), then
/// flushes once. False when the connection should end.
async fn write_batch(
    socket: &mut WebSocketStream<TcpStream>,
    frames: &mut broadcast::Receiver<Utf8Bytes>,
    first: Utf8Bytes,
) -> bool {
    if socket.feed(Message::Text(first)).await.is_err() {
        return false;
    }
    for _ in 1..BATCH {
        match frames.try_recv() {
            Ok(frame) => {
                if socket.feed(Message::Text(frame)).await.is_err() {
                    return false;
                }
            }
            Err(TryRecvError::Empty) => break,
            Err(_) => return false,
        }
    }
    socket.flush().await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{FrameKind, classify};
    use testkit::RedisServer;
    use tokio_tungstenite::connect_async;

    /// A real redis-server and two real clients: each gets the snapshot,
    /// then every message published after it, in order, as event frames.
    #[tokio::test]
    async fn relays_every_message_to_every_client_in_order() {
        let redis = RedisServer::start();
        let args = FloorArgs {
            listen: "127.0.0.1:0".into(),
            redis: redis.url(),
            channel: "system_events".into(),
            ring: 4096,
        };
        let floor = bind(&args).await.unwrap();
        let url = format!("ws://{}/dashboard/ws", floor.listener.local_addr().unwrap());
        let relaying = tokio::spawn(relay(floor));
        let mut clients = Vec::new();
        for _ in 0..2 {
            let (mut socket, _) = connect_async(url.as_str()).await.unwrap();
            let first = socket.next().await.unwrap().unwrap();
            assert_eq!(first.into_text().unwrap().as_str(), SNAPSHOT);
            clients.push(socket);
        }
        let messages: Vec<String> = (0..50).map(|n| format!(r#"{{"n":{n}}}"#)).collect();
        let publisher = tokio::task::spawn_blocking(move || {
            for message in &messages {
                assert_eq!(
                    redis.publish("system_events", message),
                    1,
                    "one subscriber: the floor"
                );
            }
            (redis, messages)
        });
        let (redis, messages) = publisher.await.unwrap();
        for socket in &mut clients {
            for message in &messages {
                let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
                    .await
                    .expect("a frame within 10 s")
                    .unwrap()
                    .unwrap();
                let expected = format!(r#"{{"type":"event","event":{message}}}"#);
                assert_eq!(frame.into_text().unwrap().as_str(), expected);
            }
        }
        drop(redis);
        let ended = tokio::time::timeout(Duration::from_secs(10), relaying).await;
        let error = ended.expect("the floor stops once Redis is gone").unwrap();
        assert!(error.is_err(), "an error, so the run fails");
    }

    #[test]
    fn the_benchmark_reads_the_floor_frames_as_the_gateway_frames() {
        assert_eq!(classify(SNAPSHOT), FrameKind::Start);
        let event = r#"{"type":"pipeline.stage","run_id":"bench-0","stage":"radar","status":"processing","bench_seq":7,"bench_sent_us":99}"#;
        let frame = event_frame(event.as_bytes()).unwrap();
        assert_eq!(
            frame.as_str(),
            format!(r#"{{"type":"event","event":{event}}}"#)
        );
        let FrameKind::Bench(probe) = classify(frame.as_str()) else {
            panic!("not a benchmark event: {}", frame.as_str());
        };
        assert_eq!((probe.seq, probe.sent_us), (7, 99));
        assert_eq!(event_frame(b"\xff\xfe"), None, "not UTF-8");
    }
}
