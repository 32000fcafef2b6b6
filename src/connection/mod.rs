//! One WebSocket client's protocol, from the welcome to the close.
//!
//! A connection goes through its opening (`opening`: greet, authenticate,
//! wait for the history or the event a resuming client last saw, admit the
//! user, subscribe and send the start), then lives as a [`Connection`]
//! (`live`): one task waiting on the hub's frames, the client's frames,
//! the heartbeat, token expiry, the revocation list and shutdown, with one
//! method for each. Every step either carries on or ends the connection
//! with a [`Disconnect`] (the codes are in [`crate::disconnect`]).
//!
//! Both are generic over the socket ([`Socket`]: a `Sink` and `Stream` of
//! WebSocket messages), so the protocol is tested without a network; the
//! HTTP upgrade that makes a real one is in `upgrade`, the batched writes
//! in `write`. Nothing here can make the hub or another client wait: a
//! client that cannot keep up is closed with 4001 (docs/protocol.md,
//! "Slow consumers").

mod live;
mod opening;
mod sse;
mod upgrade;
mod write;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admission::{AdmissionConfig, AuthThrottle, ConnectionCounter, Counted};
use crate::auth::{Principal, Verifier};
use crate::disconnect::Disconnect;
use crate::hub::Hub;

pub use live::Connection;
pub use sse::SseSocket;
pub use upgrade::start;
pub use upgrade::start_sse;

/// What a connection talks through: a WebSocket, or in tests anything that
/// sends and receives WebSocket messages the same way.
pub trait Socket:
    Sink<Message, Error = tungstenite::Error>
    + Stream<Item = Result<Message, tungstenite::Error>>
    + Unpin
    + Send
{
}

impl<S> Socket for S where
    S: Sink<Message, Error = tungstenite::Error>
        + Stream<Item = Result<Message, tungstenite::Error>>
        + Unpin
        + Send
{
}

/// How a connection ends: the close frame to send, or `None` when the peer
/// is gone and there is nobody to tell.
pub type Ending = Option<Disconnect>;

/// What each step of a connection returns: `Ok` to carry on, `Err` to end.
pub type Step<T = ()> = Result<T, Ending>;

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
    /// Failed authentications per address.
    pub throttle: Arc<AuthThrottle>,
}

/// What the upgrade request established before the socket was accepted.
pub struct Admission {
    /// The principal of an `Authorization: Bearer` header, when it had one.
    pub principal: Option<Principal>,
    /// The last event id the client saw, to resume after.
    pub resume_from: Option<String>,
    /// The connection's place under the per-IP limit.
    pub ip_slot: Counted,
    /// The client's address.
    pub peer: std::net::IpAddr,
}

/// The opening, then the live connection: the opening's result is consumed
/// by the call that runs it, not kept beside it for the connection's life.
async fn open_and_run<S: Socket>(
    socket: &mut S,
    ctx: &ConnectionContext,
    session: &str,
    admission: Box<Admission>,
) -> Ending {
    match opening::Opening::new(socket, ctx, session)
        .run(*admission)
        .await
    {
        Ok(connection) => run(connection).await,
        Err(ending) => ending,
    }
}

async fn run<S: Socket>(mut connection: live::Connection<'_, S>) -> Ending {
    connection.run().await
}

/// Runs one client's connection on `socket` until it ends, sends the close
/// frame it ends with, and returns it.
pub async fn serve<S: Socket>(
    mut socket: S,
    ctx: &ConnectionContext,
    admission: Box<Admission>,
) -> Ending {
    let session = uuid::Uuid::new_v4().to_string();
    tracing::debug!(%session, "client connected");
    // The connection (and with it the client's places under the per-IP and
    // per-user limits) is gone before the close frame is sent.
    let ending = open_and_run(&mut socket, ctx, &session, admission).await;
    if let Some(disconnect) = ending {
        tracing::debug!(%session, code = disconnect.code, reason = disconnect.reason, "closing client");
        let _ = timeout(Duration::from_secs(1), socket.send(disconnect.message())).await;
    }
    tracing::debug!(%session, "client gone");
    ending
}
