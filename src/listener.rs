//! Accepting connections: the PROXY header of a trusted load balancer,
//! plain TCP or TLS, with a deadline on the handshake, and the client
//! address every request carries.
//!
//! axum's `serve` has no handshake deadline and no TLS, so the gateway runs
//! its own accept loop on hyper: a client gets `--handshake-timeout` to
//! finish the TLS handshake and to send its request headers, after which
//! the connection is dropped (a half-open handshake ties up nothing). A
//! trusted proxy under `--proxy-protocol` gets the same time, before that,
//! for its PROXY header ([`crate::proxies::header`]); a connection without
//! a valid one, or from a peer that may not connect directly, is closed,
//! counted and logged. Each request then carries its client's address
//! (the PROXY header's, or the forwarding header's of a trusted HTTP
//! proxy, [`crate::proxies`]) as axum's `ConnectInfo<SocketAddr>`, which
//! every limit, the throttle and the logs read; an address taken from a
//! request header has port 0. An accept error (out of file descriptors,
//! for one) is logged and the loop goes on after a short pause instead of
//! spinning or stopping.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::log_limit::LogLimit;
use crate::metrics::Metrics;
use crate::proxies::{self, Arrival, ProxyPolicy, header};

/// The shutdown's one deadline (`--drain-timeout` from the moment shutdown
/// begins), shared by the HTTP requests in flight and the WebSockets.
pub struct Drain {
    timeout: Duration,
    deadline: std::sync::OnceLock<tokio::time::Instant>,
}

impl Drain {
    pub fn new(timeout: Duration) -> Drain {
        Drain {
            timeout,
            deadline: std::sync::OnceLock::new(),
        }
    }

    /// The deadline, fixed the first time it is asked for (when shutdown
    /// begins).
    pub fn deadline(&self) -> tokio::time::Instant {
        *self
            .deadline
            .get_or_init(|| tokio::time::Instant::now() + self.timeout)
    }
}

/// Builds the TLS acceptor from PEM files: the certificate chain and its
/// private key. Errors say which file is wrong.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| format!("cannot read certificates from {}: {err}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|err| format!("cannot read a private key from {}: {err}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|err| format!("the certificate and key do not fit together: {err}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// How accepted connections are set up.
#[derive(Debug, Clone)]
pub struct SocketOptions {
    /// Time a client has for the TLS handshake and its request headers
    /// (and a trusted proxy for its PROXY header).
    pub handshake_timeout: Duration,
    /// `SO_SNDBUF` of each accepted socket; 0 leaves the kernel's
    /// auto-tuning on.
    pub send_buffer: usize,
    /// Who may speak for a client, and how.
    pub proxies: Arc<ProxyPolicy>,
    /// Where refused connections are counted.
    pub metrics: Arc<Metrics>,
}

/// What every connection's task shares.
struct Setup {
    app: Router,
    tls: Option<TlsAcceptor>,
    options: SocketOptions,
    shutdown: CancellationToken,
    drain_timeout: Duration,
    refusals: LogLimit,
}

/// Serves `app` on `listener` until `shutdown`, then lets requests in flight
/// finish until the drain's deadline (upgraded WebSockets are closed by
/// their own tasks).
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    options: SocketOptions,
    shutdown: &CancellationToken,
    drain: &Drain,
) -> std::io::Result<()> {
    let setup = Arc::new(Setup {
        app,
        tls,
        options,
        shutdown: shutdown.clone(),
        drain_timeout: drain.timeout,
        refusals: LogLimit::new(5, "refused connections"),
    });
    let connections = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!("accept failed: {err}; pausing");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        if setup.options.send_buffer > 0 {
            let _ = socket2::SockRef::from(&stream).set_send_buffer_size(setup.options.send_buffer);
        }
        connections.spawn(setup.clone().accept(stream, peer));
    }
    connections.close();
    if tokio::time::timeout_at(drain.deadline(), connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("HTTP requests still in flight at the shutdown deadline");
    }
    Ok(())
}

impl Setup {
    /// One accepted connection: its PROXY header when its peer is a
    /// trusted proxy that must send one, then TLS and HTTP.
    async fn accept(self: Arc<Self>, mut stream: TcpStream, peer: SocketAddr) {
        let peer = proxies::canonical(peer);
        match self.options.proxies.arrival(peer.ip()) {
            Arrival::Plain => self.secure(stream, peer).await,
            Arrival::Refused => self.refuse(peer, &"not a trusted proxy (--proxy-protocol)"),
            Arrival::Header => {
                match header::read(&mut stream, self.options.handshake_timeout).await {
                    Ok(received) => {
                        let client = received.source.map_or(peer, proxies::canonical);
                        let (read, write) = stream.into_split();
                        let rest = std::io::Cursor::new(received.rest);
                        let stream = tokio::io::join(rest.chain(read), write);
                        self.secure(stream, client).await;
                    }
                    Err(err) => self.refuse(peer, &err),
                }
            }
        }
    }

    /// Closes a connection before HTTP (by dropping it), counted and
    /// logged.
    fn refuse(&self, peer: SocketAddr, why: &dyn std::fmt::Display) {
        self.options.metrics.proxy_refusals.inc();
        if self.refusals.allow() {
            tracing::warn!(%peer, "connection refused: {why}");
        }
    }

    /// The TLS handshake, when the gateway serves TLS, then HTTP for
    /// `client`.
    async fn secure<S>(&self, stream: S, client: SocketAddr)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Some(acceptor) = &self.tls else {
            return self.http(stream, client).await;
        };
        let timeout = self.options.handshake_timeout;
        match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => self.http(stream, client).await,
            Ok(Err(err)) => tracing::debug!(%client, "TLS handshake failed: {err}"),
            Err(_) => tracing::debug!(%client, "TLS handshake timed out"),
        }
    }

    /// Serves one HTTP connection from `client` (the peer, or the address
    /// its PROXY header gave).
    async fn http<S>(&self, stream: S, client: SocketAddr)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let app = self.app.clone();
        let policy = self.options.proxies.clone();
        let from_headers = policy.reads_headers_from(client.ip());
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            let client = if from_headers {
                request_client(&policy, client, request.headers())
            } else {
                client
            };
            request.extensions_mut().insert(ConnectInfo(client));
            app.clone().oneshot(request)
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.options.handshake_timeout);
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::pin!(connection);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(%client, "connection ended: {err}");
                }
            }
            _ = self.shutdown.cancelled() => {
                connection.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(self.drain_timeout, connection).await;
            }
        }
    }
}

/// The client of one request over a connection from `connection`, a
/// trusted proxy: the address its forwarding header names, port 0.
fn request_client(
    policy: &ProxyPolicy,
    connection: SocketAddr,
    headers: &hyper::HeaderMap,
) -> SocketAddr {
    let client = policy.client(connection.ip(), headers);
    if client == connection.ip() {
        connection
    } else {
        SocketAddr::new(client, 0)
    }
}
