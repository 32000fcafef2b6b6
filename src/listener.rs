//! Accepting connections: plain TCP or TLS, with a deadline on the
//! handshake.
//!
//! axum's `serve` has no handshake deadline and no TLS, so the gateway runs
//! its own accept loop on hyper: a client gets `--handshake-timeout` to
//! finish the TLS handshake and to send its request headers, after which
//! the connection is dropped (a half-open handshake ties up nothing). An
//! accept error (out of file descriptors, for one) is logged and the loop
//! goes on after a short pause instead of spinning or stopping.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

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
#[derive(Debug, Clone, Copy)]
pub struct SocketOptions {
    /// Time a client has for the TLS handshake and its request headers.
    pub handshake_timeout: Duration,
    /// `SO_SNDBUF` of each accepted socket; 0 leaves the kernel's
    /// auto-tuning on.
    pub send_buffer: usize,
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
    let handshake_timeout = options.handshake_timeout;
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
        if options.send_buffer > 0 {
            let _ = socket2::SockRef::from(&stream).set_send_buffer_size(options.send_buffer);
        }
        let (app, tls, shutdown) = (app.clone(), tls.clone(), shutdown.clone());
        let drain_timeout = drain.timeout;
        connections.spawn(async move {
            match tls {
                None => {
                    serve_connection(
                        stream,
                        peer,
                        app,
                        (handshake_timeout, drain_timeout),
                        shutdown,
                    )
                    .await
                }
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            serve_connection(
                                stream,
                                peer,
                                app,
                                (handshake_timeout, drain_timeout),
                                shutdown,
                            )
                            .await;
                        }
                        Ok(Err(err)) => tracing::debug!(%peer, "TLS handshake failed: {err}"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
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

/// Serves one HTTP connection; `timeouts` are the handshake timeout and the
/// drain timeout.
async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    app: Router,
    (handshake_timeout, drain_timeout): (Duration, Duration),
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(handshake_timeout);
    let connection = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(err) = result {
                tracing::debug!(%peer, "connection ended: {err}");
            }
        }
        _ = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(drain_timeout, connection).await;
        }
    }
}
