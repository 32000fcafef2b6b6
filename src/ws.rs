//! One WebSocket client, from upgrade to close.
//!
//! Each connection is a single task that waits on four things at once: the
//! hub's frames, the client's frames, the heartbeat timer and shutdown.
//! Frames waiting in the ring are written in batches (`feed` then one
//! `flush`), so a burst costs one syscall, not one per frame. Nothing here
//! can make the hub or another client wait: a client that cannot keep up is
//! closed with 4001 (see docs/protocol.md, "Slow consumers"). Close codes and
//! their reasons are in [`crate::disconnect`].

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admission::{AdmissionConfig, ConnectionCounter, Counted, TokenBucket};
use crate::auth::{Principal, Verifier};
use crate::disconnect::Disconnect;
use crate::frames::{self, BusKind, ClientFrame, Frame};
use crate::hub::{Hub, Start, Subscription};
use crate::metrics::Metrics;
use crate::revocation;

/// Per-connection limits and timers.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Interval between server pings; a peer silent for two is dropped.
    pub heartbeat: Duration,
    /// Longest a write may wait on a client that does not read.
    pub write_timeout: Duration,
    /// Largest frame a client may send.
    pub max_client_frame_bytes: usize,
    /// Socket read buffer (tungstenite's default of 128 KiB per connection
    /// is far more than a dashboard's pings need). Small on purpose:
    /// tungstenite zeroes this many bytes before every read attempt, and a
    /// connection attempts one each time it wakes for an event.
    pub read_buffer_bytes: usize,
    /// Bytes buffered before a write reaches the socket.
    pub write_buffer_bytes: usize,
    /// Most frames written per flush.
    pub max_batch: usize,
    /// The kernel send buffer of each accepted socket (`SO_SNDBUF`), or 0
    /// for the kernel's auto-tuning. Bounds the kernel memory a client that
    /// stops reading can hold (auto-tuning lets it grow to `tcp_wmem`'s
    /// maximum, 4 MiB on common kernels) and lets it be found sooner.
    pub socket_send_buffer: usize,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            heartbeat: Duration::from_secs(15),
            write_timeout: Duration::from_secs(10),
            max_client_frame_bytes: 4096,
            read_buffer_bytes: 1024,
            write_buffer_bytes: 8192,
            max_batch: 64,
            socket_send_buffer: 256 * 1024,
        }
    }
}

/// Longest a new client waits for the history to be loaded at start-up.
const HISTORY_WAIT: Duration = Duration::from_secs(5);
/// Longest wait for this gateway to relay the event a resuming client last
/// saw on another gateway.
const AHEAD_WAIT: Duration = Duration::from_secs(1);

/// What every connection shares.
#[derive(Clone)]
pub struct ConnectionContext {
    pub hub: Arc<Hub>,
    pub config: Arc<ConnectionConfig>,
    pub shutdown: CancellationToken,
    pub tracker: TaskTracker,
    /// `None` when authentication is off (loopback only).
    pub verifier: Option<Arc<Verifier>>,
    pub admission: Arc<AdmissionConfig>,
    /// Open connections per user.
    pub per_user: Arc<ConnectionCounter>,
}

/// What the upgrade request established before the socket was accepted.
pub struct Admission {
    /// The principal of an `Authorization: Bearer` header, when it had one.
    pub principal: Option<Principal>,
    /// The last event id the client saw, to resume after.
    pub resume_from: Option<String>,
    /// The connection's place under the per-IP limit.
    pub ip_slot: Counted,
}

/// The WebSocket of one client.
type WebSocket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Frames larger than this are written in fragments of this size, so that
/// tungstenite's write buffer, which keeps the capacity of the largest
/// frame it ever held, stays this small: a 90 KB snapshot written whole
/// would leave every connection holding 90 KB for its whole life.
const FRAGMENT_BYTES: usize = 8 * 1024;

/// Starts the connection task once the HTTP upgrade completes.
pub fn start(on_upgrade: hyper::upgrade::OnUpgrade, ctx: ConnectionContext, admission: Admission) {
    let config = &ctx.config;
    // A batch of fragments and frames fits; past the maximum, writes fail
    // instead of growing without bound.
    let socket_config = WebSocketConfig::default()
        .read_buffer_size(config.read_buffer_bytes)
        .write_buffer_size(config.write_buffer_bytes)
        .max_write_buffer_size(config.write_buffer_bytes + 8 * 1024 * 1024)
        .max_message_size(Some(config.max_client_frame_bytes))
        .max_frame_size(Some(config.max_client_frame_bytes));
    let tracker = ctx.tracker.clone();
    tracker.spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(err) => {
                tracing::debug!("WebSocket upgrade failed: {err}");
                return;
            }
        };
        let socket = WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            Some(socket_config),
        )
        .await;
        serve(socket, ctx, admission).await;
    });
}

async fn serve(mut socket: WebSocket, ctx: ConnectionContext, admission: Admission) {
    let metrics = ctx.hub.metrics().clone();
    metrics.connections_total.fetch_add(1, Relaxed);
    metrics.connections_open.fetch_add(1, Relaxed);
    let session = uuid::Uuid::new_v4().to_string();
    tracing::debug!(%session, "client connected");
    let close = run(&mut socket, &ctx, &metrics, &session, admission).await;
    if let Some(close) = close {
        tracing::debug!(%session, code = close.code, reason = close.reason, "closing client");
        let _ = timeout(Duration::from_secs(1), socket.send(close.message())).await;
    }
    metrics.connections_open.fetch_sub(1, Relaxed);
    tracing::debug!(%session, "client gone");
}

/// The connection: greeting, authentication, then the loop. Returns the
/// close frame to send, if any.
async fn run(
    socket: &mut WebSocket,
    ctx: &ConnectionContext,
    metrics: &Metrics,
    session: &str,
    admission: Admission,
) -> Option<Disconnect> {
    let config = &ctx.config;
    let Admission {
        principal,
        resume_from,
        ip_slot: _ip_slot,
    } = admission;
    let welcome = frames::welcome_frame(
        session,
        config.heartbeat.as_millis() as u64,
        config.max_client_frame_bytes,
        ctx.verifier.is_some(),
    );
    if let Err(failure) = write_all(socket, [welcome], config.write_timeout, metrics).await {
        return failure.close(metrics);
    }
    // Nothing but the welcome goes out before the client is authenticated.
    let mut principal = match (principal, &ctx.verifier) {
        (Some(principal), _) => principal,
        (None, None) => Principal::anonymous(),
        (None, Some(verifier)) => {
            match authenticate(socket, verifier, ctx.admission.auth_timeout, metrics).await {
                Ok(principal) => principal,
                Err(close) => return close,
            }
        }
    };
    // Right after a gateway starts, its history may still be loading from
    // Redis: wait for it rather than answer from an empty one.
    if !ctx.hub.wait_for_history(HISTORY_WAIT).await && resume_from.is_some() {
        return Some(Disconnect::history_loading());
    }
    // On Redis, a client coming from another gateway may have seen an event
    // this one has not relayed yet: wait a moment for it rather than refuse
    // the resume. (On the in-process bus no other gateway gives out ids.)
    if let Some(id) = resume_from.as_deref().and_then(|id| id.parse().ok())
        && ctx.hub.bus_state().kind == BusKind::Redis
    {
        ctx.hub.wait_until_relayed(id, AHEAD_WAIT).await;
    }
    let _user_slot = match ctx.verifier {
        None => None,
        Some(_) => match ctx.per_user.admit(&principal.sub) {
            Some(slot) => Some(slot),
            None => {
                metrics.limit_refusals.fetch_add(1, Relaxed);
                return Some(Disconnect::too_many_connections());
            }
        },
    };
    let Subscription {
        start,
        frames: mut live,
    } = ctx.hub.subscribe(&principal, resume_from.as_deref());
    let mut greeting = Vec::new();
    if ctx.verifier.is_some() {
        greeting.push(frames::authenticated_frame(&principal));
    }
    match start {
        Start::Snapshot {
            frame,
            resume_failed,
        } => {
            if let Some(id) = resume_failed {
                tracing::debug!(%session, last_id = %id, "cannot resume: sending a snapshot");
            }
            greeting.push(frame);
        }
        Start::Resumed { resumed, missed } => {
            greeting.push(resumed);
            greeting.extend(missed);
        }
    }
    if let Err(failure) = write_all(socket, greeting, config.write_timeout, metrics).await {
        return failure.close(metrics);
    }
    let expiry = tokio::time::sleep_until(expiry_instant(&principal));
    tokio::pin!(expiry);
    let mut bucket = TokenBucket::new(
        ctx.admission.messages_per_second,
        ctx.admission.message_burst,
    );
    // Reused for every batch: no allocation per wake-up once it has grown
    // (and none at all for a connection that never receives anything).
    let mut batch: Vec<Frame> = Vec::new();
    // Checked once, not per frame: with authentication off every client is
    // anonymous and sees everything.
    let mut sees_everything = principal.is_admin();
    // Made once: a fresh `cancelled()` per wake-up would register and
    // unregister a waiter on the shared token every time.
    let shutdown = ctx.shutdown.cancelled();
    tokio::pin!(shutdown);
    // With a revocation list, this connection checks its token whenever
    // the list's generation changes (looked at every POLL_INTERVAL).
    let revocations = ctx
        .verifier
        .as_ref()
        .and_then(|verifier| verifier.revocations());
    let mut revocations_seen = revocations.map_or(0, |list| list.generation());
    let mut revocation_check = tokio::time::interval_at(
        Instant::now() + revocation::POLL_INTERVAL,
        revocation::POLL_INTERVAL,
    );
    let mut last_heard = Instant::now();
    let mut heartbeat =
        tokio::time::interval_at(Instant::now() + config.heartbeat, config.heartbeat);
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => {
                return Some(Disconnect::shutdown());
            }
            _ = &mut expiry => {
                metrics.token_expiries.fetch_add(1, Relaxed);
                return Some(Disconnect::token_expired());
            }
            _ = revocation_check.tick(), if revocations.is_some() => {
                let Some(list) = revocations else { continue };
                let generation = list.generation();
                if generation != revocations_seen {
                    revocations_seen = generation;
                    if list.is_revoked(&principal) {
                        metrics.auth_failures.fetch_add(1, Relaxed);
                        return Some(Disconnect::token_revoked());
                    }
                }
            }
            received = live.recv() => {
                let first = match received {
                    Ok(item) => item,
                    Err(RecvError::Lagged(_)) => return Some(slow_consumer(metrics)),
                    Err(RecvError::Closed) => return Some(Disconnect::shutdown()),
                };
                let oldest = first.relayed_at;
                batch.clear();
                if sees_everything || principal.sees(&first.scope) {
                    batch.push(first.frame);
                }
                while batch.len() < config.max_batch {
                    match live.try_recv() {
                        Ok(item) if sees_everything || principal.sees(&item.scope) => batch.push(item.frame),
                        Ok(_) => {}
                        Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => break,
                        Err(TryRecvError::Lagged(_)) => return Some(slow_consumer(metrics)),
                    }
                }
                if batch.is_empty() {
                    continue;
                }
                if let Err(failure) = write_all(socket, batch.drain(..), config.write_timeout, metrics).await {
                    return failure.close(metrics);
                }
                metrics.delivery_latency.observe(oldest.elapsed().as_secs_f64());
            }
            incoming = socket.next() => {
                last_heard = Instant::now();
                let text = match incoming {
                    None => return None,
                    Some(Err(err)) => return Disconnect::after_read_error(&err),
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        metrics.client_frames_rejected.fetch_add(1, Relaxed);
                        return Some(Disconnect::binary_frame());
                    }
                    // tungstenite answers pings itself; a pong just proves life.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    // tungstenite replies to the close handshake itself.
                    Some(Ok(Message::Close(_))) => return None,
                    Some(Ok(Message::Frame(_))) => continue,
                };
                if !bucket.allow() {
                    metrics.rate_limited.fetch_add(1, Relaxed);
                    return Some(Disconnect::rate_limited());
                }
                let reply = match frames::parse_client_frame(text.as_str()) {
                    Ok(ClientFrame::Ping { nonce }) => frames::pong_frame(nonce),
                    Ok(ClientFrame::Auth { token }) => {
                        let Some(verifier) = &ctx.verifier else {
                            // Authentication is off: nothing to renew.
                            continue;
                        };
                        let renewed = match verifier.verify(&token).await {
                            Ok(renewed) => renewed,
                            Err(err) => {
                                metrics.auth_failures.fetch_add(1, Relaxed);
                                return Some(Disconnect::token_refused(&err));
                            }
                        };
                        if renewed.sub != principal.sub || renewed.tenant != principal.tenant {
                            metrics.auth_failures.fetch_add(1, Relaxed);
                            return Some(Disconnect::renewal_for_another_user());
                        }
                        principal = renewed;
                        sees_everything = principal.is_admin();
                        expiry.as_mut().reset(expiry_instant(&principal));
                        frames::authenticated_frame(&principal)
                    }
                    Err(message) => {
                        metrics.client_frames_rejected.fetch_add(1, Relaxed);
                        frames::error_frame("bad_frame", &message)
                    }
                };
                if let Err(failure) = write_all(socket, [reply], config.write_timeout, metrics).await {
                    return failure.close(metrics);
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() >= config.heartbeat * 2 {
                    metrics.heartbeat_timeouts.fetch_add(1, Relaxed);
                    return Some(Disconnect::heartbeat_timeout());
                }
                let ping = socket.send(Message::Ping(bytes::Bytes::new()));
                match timeout(config.write_timeout, ping).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return WriteFailure::Broken.close(metrics),
                    Err(_) => return WriteFailure::TimedOut.close(metrics),
                }
            }
        }
    }
}

/// Waits for the browser's `auth` frame. Anything else first is refused.
async fn authenticate(
    socket: &mut WebSocket,
    verifier: &Verifier,
    limit: Duration,
    metrics: &Metrics,
) -> Result<Principal, Option<Disconnect>> {
    let deadline = Instant::now() + limit;
    loop {
        let message = match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => {
                metrics.auth_failures.fetch_add(1, Relaxed);
                return Err(Some(Disconnect::auth_timeout()));
            }
            Ok(None) => return Err(None),
            Ok(Some(Err(err))) => return Err(Disconnect::after_read_error(&err)),
            Ok(Some(Ok(message))) => message,
        };
        match message {
            Message::Text(text) => {
                let Ok(ClientFrame::Auth { token }) = frames::parse_client_frame(text.as_str())
                else {
                    metrics.auth_failures.fetch_add(1, Relaxed);
                    return Err(Some(Disconnect::auth_first()));
                };
                return verifier.verify(&token).await.map_err(|err| {
                    metrics.auth_failures.fetch_add(1, Relaxed);
                    Some(Disconnect::token_refused(&err))
                });
            }
            Message::Binary(_) => {
                return Err(Some(Disconnect::binary_frame()));
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            Message::Close(_) => return Err(None),
        }
    }
}

/// When the principal's token runs out (far away for the anonymous one).
fn expiry_instant(principal: &Principal) -> Instant {
    let Some(expires_at) = principal.expires_at else {
        return Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
    };
    let left_ms = (expires_at * 1000 - crate::clock::now_ms()).max(0);
    Instant::now() + Duration::from_millis(left_ms as u64)
}

fn slow_consumer(metrics: &Metrics) -> Disconnect {
    metrics.slow_consumer_disconnects.fetch_add(1, Relaxed);
    Disconnect::slow_consumer()
}

/// Why a write did not complete.
enum WriteFailure {
    /// The client did not take the bytes in time: it is not reading.
    TimedOut,
    /// The connection is gone.
    Broken,
}

impl WriteFailure {
    fn close(self, metrics: &Metrics) -> Option<Disconnect> {
        match self {
            WriteFailure::TimedOut => Some(slow_consumer(metrics)),
            WriteFailure::Broken => None,
        }
    }
}

/// Writes frames with one flush, within `limit`.
async fn write_all(
    socket: &mut WebSocket,
    batch: impl IntoIterator<Item = Frame>,
    limit: Duration,
    metrics: &Metrics,
) -> Result<(), WriteFailure> {
    let write = async {
        let mut count = 0u64;
        for frame in batch {
            if frame.len() <= FRAGMENT_BYTES {
                socket.feed(Message::Text(frame)).await?;
            } else {
                for fragment in fragments(frame) {
                    socket.feed(fragment).await?;
                }
            }
            count += 1;
        }
        socket.flush().await?;
        Ok::<u64, tungstenite::Error>(count)
    };
    // Most writes complete at once (the socket buffer has room): only a
    // write that has to wait gets a timer, so the common case does not
    // insert and remove a timer entry for every batch.
    let mut write = std::pin::pin!(write);
    let first_try = std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await;
    let outcome = match first_try {
        Poll::Ready(result) => Ok(result),
        Poll::Pending => timeout(limit, write).await,
    };
    match outcome {
        Ok(Ok(count)) => {
            metrics.frames_sent.fetch_add(count, Relaxed);
            Ok(())
        }
        Ok(Err(_)) => Err(WriteFailure::Broken),
        Err(_) => Err(WriteFailure::TimedOut),
    }
}

/// A large text frame as a fragmented message (RFC 6455, section 5.4):
/// slices of the shared bytes, no copy.
fn fragments(frame: Frame) -> impl Iterator<Item = Message> {
    let bytes = Bytes::from(frame);
    let count = bytes.len().div_ceil(FRAGMENT_BYTES);
    (0..count).map(move |index| {
        let start = index * FRAGMENT_BYTES;
        let end = (start + FRAGMENT_BYTES).min(bytes.len());
        let opcode = if index == 0 {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        let is_final = index + 1 == count;
        Message::Frame(tungstenite::protocol::frame::Frame::message(
            bytes.slice(start..end),
            opcode,
            is_final,
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_frame_is_split_into_fragments_that_join_back_exactly() {
        let text: String = (0..3 * FRAGMENT_BYTES + 17)
            .map(|i| if i % 7 == 0 { 'é' } else { 'x' })
            .collect();
        let parts: Vec<_> = fragments(Frame::from(text.clone()))
            .map(|message| match message {
                Message::Frame(frame) => frame,
                other => panic!("a raw frame, not {other:?}"),
            })
            .collect();
        assert!(parts.len() > 3, "split into several fragments");
        assert_eq!(parts[0].header().opcode, OpCode::Data(Data::Text));
        for (index, part) in parts.iter().enumerate() {
            assert!(part.len() <= FRAGMENT_BYTES + 14, "header + one slice");
            if index > 0 {
                assert_eq!(part.header().opcode, OpCode::Data(Data::Continue));
            }
            assert_eq!(part.header().is_final, index + 1 == parts.len());
        }
        let joined: Vec<u8> = parts.iter().flat_map(|p| p.payload().to_vec()).collect();
        assert_eq!(joined, text.as_bytes());
    }
}
