//! The benchmark's clients, over WebSocket or Server-Sent Events
//! ([`crate::sse`]): connect (spreading source addresses when one runs out
//! of ports), wait for the start of the stream, then count and time every
//! event until told to stop.
//!
//! One tokio task per client, each with its own [`Tally`]; the only shared
//! state on the hot path is one relaxed counter of deliveries, which the
//! orchestrator watches to know when the stream has drained.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{WebSocketStream, client_async_with_config};
use tokio_util::sync::CancellationToken;

use crate::probe::{FrameKind, classify};
use crate::publisher::unix_us;
use crate::sse::{self, Incoming, OpenError, SseClients, SseStream};
use crate::tally::Tally;

/// How the clients talk to the server.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// WebSocket (`/dashboard/ws`, or the target URL).
    #[default]
    Ws,
    /// Server-Sent Events (`GET /dashboard/sse` beside the target).
    Sse,
}

/// When a connected client counts as ready for the load.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Readiness {
    /// After the `snapshot` (or `resumed`) frame: Tactical Link's protocol.
    Snapshot,
    /// As soon as the upgrade succeeds: servers without a greeting (the
    /// Python baseline), followed by a short settle.
    Open,
}

/// Where the clients connect.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub addr: SocketAddr,
}

impl Target {
    /// Parses `ws://host:port/path` and resolves the host.
    pub fn parse(url: &str) -> anyhow::Result<Target> {
        let rest = url
            .strip_prefix("ws://")
            .ok_or_else(|| anyhow::anyhow!("{url:?}: only ws:// URLs are supported"))?;
        let authority = rest.split('/').next().unwrap_or_default();
        use std::net::ToSocketAddrs;
        let addr = authority
            .to_socket_addrs()
            .map_err(|err| anyhow::anyhow!("{url:?}: cannot resolve {authority:?}: {err}"))?
            .next()
            .ok_or_else(|| anyhow::anyhow!("{url:?}: {authority:?} resolves to nothing"))?;
        Ok(Target {
            url: url.to_owned(),
            addr,
        })
    }
}

/// Which loopback source address each client binds: the kernel's choice
/// for the first `per_source` clients, then 127.0.0.2, 127.0.0.3, … — and
/// the next one as soon as a connect fails with EADDRNOTAVAIL (the
/// address's ephemeral ports are used up).
#[derive(Debug)]
pub struct Sources {
    per_source: usize,
    floor: AtomicUsize,
    enabled: bool,
}

/// Highest source index: 127.0.0.254.
const MAX_SOURCE_INDEX: usize = 253;

impl Sources {
    /// Spreading only applies to an IPv4 loopback target.
    pub fn new(per_source: usize, target: SocketAddr) -> Sources {
        Sources {
            per_source: per_source.max(1),
            floor: AtomicUsize::new(0),
            enabled: matches!(target.ip(), IpAddr::V4(ip) if ip.is_loopback()),
        }
    }

    /// The source index of client `client` (0 = unbound).
    pub fn index_for(&self, client: usize) -> usize {
        if !self.enabled {
            return 0;
        }
        (client / self.per_source)
            .max(self.floor.load(Relaxed))
            .min(MAX_SOURCE_INDEX)
    }

    /// The address to bind for a source index.
    pub fn address(index: usize) -> Option<Ipv4Addr> {
        (index > 0).then(|| Ipv4Addr::new(127, 0, 0, 1 + index.min(MAX_SOURCE_INDEX) as u8))
    }

    /// Source `index` has no port left: move every later client past it.
    /// Returns false when there is no further address to try.
    pub fn exhausted(&self, index: usize) -> bool {
        if !self.enabled || index >= MAX_SOURCE_INDEX {
            return false;
        }
        self.floor.fetch_max(index + 1, Relaxed);
        true
    }

    /// Distinct source addresses in use for `clients` clients.
    pub fn used(&self, clients: usize) -> usize {
        if clients == 0 {
            0
        } else {
            self.index_for(clients - 1) + 1
        }
    }
}

/// What every client of a run shares.
pub struct Shared {
    pub target: Target,
    pub transport: Transport,
    /// HTTP clients of the SSE transport, per source address.
    pub sse_clients: SseClients,
    /// One token for every client (`--token`) ...
    pub token: Option<String>,
    /// ... or the HS256 secret to mint each client a token of its own
    /// (`--auth`: sub `bench-<index>`, role viewer), so the per-user
    /// connection limit applies to none of them.
    pub auth_secret: Option<Vec<u8>>,
    pub readiness: Readiness,
    /// Events each client should receive.
    pub expected: u64,
    pub sigfig: u8,
    /// Read buffer of each client socket (tungstenite's default is 128 KiB).
    pub read_buffer: usize,
    /// Longest a client may take from TCP connect to ready.
    pub handshake_timeout: Duration,
    /// Connections in progress at once.
    pub connecting: Semaphore,
    pub sources: Sources,
    pub ready: AtomicUsize,
    pub failed: AtomicUsize,
    /// Benchmark events received by the reading clients.
    pub delivered: AtomicU64,
    /// Ends the run: clients stop reading and report.
    pub stop: CancellationToken,
    /// How long a slow client reads, once stopped, to find its close frame.
    pub slow_drain: Duration,
    /// SO_RCVBUF of the slow clients' sockets: small, so that what they do
    /// not read backs up into the gateway instead of the kernel's buffers
    /// (several MB per loopback socket).
    pub slow_recv_buffer: u32,
}

/// What one client saw.
#[derive(Debug)]
pub struct ClientOutcome {
    pub slow: bool,
    /// The reason it never became ready, when it did not.
    pub failure: Option<String>,
    pub source: Option<Ipv4Addr>,
    pub tally: Tally,
    /// Frames that were neither control frames nor benchmark events.
    pub other_frames: u64,
    /// Close code the server sent, if it sent one.
    pub close_code: Option<u16>,
    /// The connection ended before the run did (close, reset, error).
    pub ended_early: bool,
    pub end_error: Option<String>,
}

impl ClientOutcome {
    pub fn ready(&self) -> bool {
        self.failure.is_none()
    }
}

/// One client's connection, on either transport.
enum Socket {
    Ws(Box<WebSocketStream<TcpStream>>),
    Sse(Box<SseStream>),
}

impl Socket {
    /// The next text frame, close or end (control frames are skipped).
    async fn next(&mut self) -> Incoming {
        let socket = match self {
            Socket::Sse(stream) => return stream.next().await,
            Socket::Ws(socket) => socket,
        };
        loop {
            return match socket.next().await {
                Some(Ok(Message::Text(text))) => Incoming::Text(text),
                Some(Ok(Message::Close(frame))) => {
                    Incoming::Close(frame.map_or(1005, |f| u16::from(f.code)))
                }
                Some(Ok(_)) => continue,
                Some(Err(err)) => Incoming::Ended(Some(short_error(&err))),
                None => Incoming::Ended(None),
            };
        }
    }
}

/// Runs client number `index`; `slow` clients stop reading once ready.
pub async fn run(index: usize, slow: bool, shared: Arc<Shared>) -> ClientOutcome {
    let mut outcome = ClientOutcome {
        slow,
        failure: None,
        source: None,
        tally: Tally::new(if slow { 0 } else { shared.expected }, shared.sigfig),
        other_frames: 0,
        close_code: None,
        ended_early: false,
        end_error: None,
    };
    let permit = shared.connecting.acquire().await;
    let opened = timeout(shared.handshake_timeout, open(index, &shared, &mut outcome)).await;
    drop(permit);
    let mut socket = match opened {
        Ok(Ok(socket)) => socket,
        Ok(Err(failure)) => {
            outcome.failure = Some(failure);
            shared.failed.fetch_add(1, Relaxed);
            return outcome;
        }
        Err(_) => {
            outcome.failure = Some("not ready within the handshake timeout".into());
            shared.failed.fetch_add(1, Relaxed);
            return outcome;
        }
    };
    shared.ready.fetch_add(1, Relaxed);
    if slow {
        // Stop reading: the server's buffers for this client fill up.
        shared.stop.cancelled().await;
        let _ = timeout(
            shared.slow_drain,
            read(&mut socket, &shared, &mut outcome, None),
        )
        .await;
        return outcome;
    }
    read(&mut socket, &shared, &mut outcome, Some(&shared.stop)).await;
    outcome
}

/// Connects, upgrades (or opens the event stream) and waits for
/// readiness. The error is a short, countable reason.
async fn open(
    index: usize,
    shared: &Shared,
    outcome: &mut ClientOutcome,
) -> Result<Socket, String> {
    let token = match (&shared.token, &shared.auth_secret) {
        (Some(token), _) => Some(token.clone()),
        (None, Some(secret)) => Some(mint(secret, index)?),
        (None, None) => None,
    };
    let mut socket = match shared.transport {
        Transport::Ws => Socket::Ws(Box::new(open_ws(index, shared, outcome, token).await?)),
        Transport::Sse => Socket::Sse(Box::new(open_sse(index, shared, outcome, token).await?)),
    };
    if shared.readiness == Readiness::Open {
        return Ok(socket);
    }
    loop {
        match socket.next().await {
            Incoming::Text(text) => match classify(text.as_str()) {
                FrameKind::Start => return Ok(socket),
                FrameKind::Welcome => {}
                FrameKind::Bench(_) | FrameKind::Other => outcome.other_frames += 1,
            },
            Incoming::Close(code) => return Err(format!("closed before ready: {code}")),
            Incoming::Ended(Some(err)) => return Err(format!("error before ready: {err}")),
            Incoming::Ended(None) => return Err("closed before ready".into()),
        }
    }
}

/// Connects and upgrades to WebSocket.
async fn open_ws(
    index: usize,
    shared: &Shared,
    outcome: &mut ClientOutcome,
    token: Option<String>,
) -> Result<WebSocketStream<TcpStream>, String> {
    let stream = loop {
        let source_index = shared.sources.index_for(index);
        let source = Sources::address(source_index);
        let recv_buffer = outcome.slow.then_some(shared.slow_recv_buffer);
        match connect_tcp(shared.target.addr, source, recv_buffer).await {
            Ok(stream) => {
                outcome.source = source;
                break stream;
            }
            Err(err)
                if err.kind() == std::io::ErrorKind::AddrNotAvailable
                    && shared.sources.exhausted(source_index) => {}
            Err(err) => return Err(format!("connect: {}", err.kind())),
        }
    };
    let _ = stream.set_nodelay(true);
    let mut request = shared
        .target
        .url
        .as_str()
        .into_client_request()
        .map_err(|err| format!("bad request: {err}"))?;
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "the token is not a valid header value".to_owned())?;
        request.headers_mut().insert("authorization", value);
    }
    let config = WebSocketConfig::default().read_buffer_size(shared.read_buffer);
    let (socket, _) = client_async_with_config(request, stream, Some(config))
        .await
        .map_err(|err| match err {
            WsError::Http(response) => {
                format!("upgrade refused: HTTP {}", response.status().as_u16())
            }
            WsError::Io(io) => format!("upgrade: {}", io.kind()),
            other => format!("upgrade: {other}"),
        })?;
    Ok(socket)
}

/// Opens the event stream beside the target's WebSocket URL. (Slow SSE
/// clients keep the default receive buffer: reqwest sets none.)
async fn open_sse(
    index: usize,
    shared: &Shared,
    outcome: &mut ClientOutcome,
    token: Option<String>,
) -> Result<SseStream, String> {
    let url = sse::url_for(&shared.target.url, shared.target.addr);
    loop {
        let source_index = shared.sources.index_for(index);
        let source = Sources::address(source_index);
        match shared
            .sse_clients
            .open(&url, source, token.as_deref())
            .await
        {
            Ok(stream) => {
                outcome.source = source;
                return Ok(stream);
            }
            Err(OpenError::AddrNotAvailable) if shared.sources.exhausted(source_index) => {}
            Err(OpenError::AddrNotAvailable) => return Err("connect: address not available".into()),
            Err(OpenError::Other(reason)) => return Err(reason),
        }
    }
}

/// A viewer token for client `index`, valid for an hour.
fn mint(secret: &[u8], index: usize) -> Result<String, String> {
    testkit::Minter::new(secret)
        .mint(
            &format!("bench-{index}"),
            None,
            &["viewer"],
            Duration::from_secs(3600),
        )
        .map_err(|err| format!("cannot mint a token: {err}"))
}

pub async fn connect_tcp(
    target: SocketAddr,
    source: Option<Ipv4Addr>,
    recv_buffer: Option<u32>,
) -> std::io::Result<TcpStream> {
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(bytes) = recv_buffer {
        socket.set_recv_buffer_size(bytes)?;
    }
    if let Some(ip) = source {
        bind_address_no_port(&socket);
        socket.bind(SocketAddr::new(IpAddr::V4(ip), 0))?;
    }
    socket.connect(target).await
}

/// IP_BIND_ADDRESS_NO_PORT: let `connect` pick the port per destination,
/// instead of `bind` reserving one for any destination.
fn bind_address_no_port(socket: &TcpSocket) {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: setsockopt on a socket we own, with a c_int option value.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Reads frames until the connection ends or `stop` is cancelled (never,
/// when `None`).
async fn read(
    socket: &mut Socket,
    shared: &Shared,
    outcome: &mut ClientOutcome,
    stop: Option<&CancellationToken>,
) {
    let never = CancellationToken::new();
    let stop = stop.unwrap_or(&never);
    loop {
        let incoming = tokio::select! {
            biased;
            _ = stop.cancelled() => return,
            incoming = socket.next() => incoming,
        };
        match incoming {
            Incoming::Text(text) => match classify(text.as_str()) {
                FrameKind::Bench(probe) => {
                    if !outcome.slow {
                        outcome.tally.record(probe.seq, probe.sent_us, unix_us());
                        shared.delivered.fetch_add(1, Relaxed);
                    }
                }
                FrameKind::Welcome | FrameKind::Start | FrameKind::Other => {
                    outcome.other_frames += 1
                }
            },
            Incoming::Close(code) => outcome.close_code = Some(code),
            Incoming::Ended(error) => {
                outcome.ended_early = true;
                outcome.end_error = error;
                return;
            }
        }
    }
}

fn short_error(err: &WsError) -> String {
    match err {
        WsError::Io(io) => io.kind().to_string(),
        WsError::Protocol(protocol) => format!("protocol: {protocol}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback() -> SocketAddr {
        "127.0.0.1:8000".parse().unwrap()
    }

    #[test]
    fn sources_fill_one_address_then_the_next() {
        let sources = Sources::new(1000, loopback());
        assert_eq!(sources.index_for(0), 0);
        assert_eq!(sources.index_for(999), 0);
        assert_eq!(sources.index_for(1000), 1);
        assert_eq!(Sources::address(0), None);
        assert_eq!(Sources::address(1), Some(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(sources.used(2500), 3);
        assert_eq!(sources.used(0), 0);
    }

    #[test]
    fn an_exhausted_address_moves_every_later_client_on() {
        let sources = Sources::new(1000, loopback());
        assert!(sources.exhausted(0));
        assert_eq!(sources.index_for(5), 1);
        assert_eq!(
            sources.index_for(2500),
            2,
            "a later block keeps its own index"
        );
        assert!(!sources.exhausted(MAX_SOURCE_INDEX));
        assert_eq!(
            Sources::address(MAX_SOURCE_INDEX),
            Some(Ipv4Addr::new(127, 0, 0, 254))
        );
    }

    #[test]
    fn no_spreading_for_a_remote_or_ipv6_target() {
        let sources = Sources::new(10, "[::1]:8000".parse().unwrap());
        assert_eq!(sources.index_for(100), 0);
        assert!(!sources.exhausted(0));
        let sources = Sources::new(10, "192.0.2.1:80".parse().unwrap());
        assert_eq!(sources.index_for(100), 0);
    }

    #[test]
    fn targets_parse_and_resolve() {
        let target = Target::parse("ws://127.0.0.1:9000/dashboard/ws").unwrap();
        assert_eq!(target.addr, "127.0.0.1:9000".parse().unwrap());
        assert!(Target::parse("http://127.0.0.1:9000/").is_err());
        assert!(Target::parse("ws://127.0.0.1/").is_err(), "no port");
    }
}
