//! The gateway's HTTP server: routes, start-up and the shutdown drain.
//!
//! [`Gateway::serve`] takes its listener and a cancellation token, so tests
//! start the real server on port 0 and stop it at will. Shutdown closes
//! every WebSocket with 1001 itself (HTTP graceful shutdown does not wait
//! for upgraded connections) and waits for them under a deadline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::create_response_with_body;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admission::{self, AdmissionConfig, AuthThrottle, ConnectionCounter};
use crate::api::{self, ApiState};
use crate::auth::Verifier;
use crate::bus::{self, Bus, BusConfig, Publish, PublishError};
use crate::connection::{self, Admission, ConnectionConfig, ConnectionContext};
use crate::guard::{self, Guard};
use crate::headers::{self, SecurityHeaders};
use crate::hub::{Hub, HubConfig};
use crate::listener;
use crate::metrics::Metrics;
use crate::web;

/// Everything the server needs, validated.
#[derive(Clone)]
pub struct ServerConfig {
    pub bus: BusConfig,
    pub hub: HubConfig,
    pub connection: ConnectionConfig,
    /// `None`: authentication off (only allowed on loopback addresses).
    pub verifier: Option<Arc<Verifier>>,
    pub admission: AdmissionConfig,
    /// TLS, when the gateway terminates it itself.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Time a client has for the TLS handshake and its request headers.
    pub handshake_timeout: Duration,
    /// Longest the shutdown waits for clients to be closed.
    pub drain_timeout: Duration,
    /// What every response tells the browser (CSP, framing, sniffing).
    pub headers: SecurityHeaders,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("bus", &self.bus)
            .field("hub", &self.hub)
            .field("connection", &self.connection)
            .field("verifier", &self.verifier)
            .field("admission", &self.admission)
            .field("tls", &self.tls.is_some())
            .field("handshake_timeout", &self.handshake_timeout)
            .field("drain_timeout", &self.drain_timeout)
            .field("headers", &self.headers)
            .finish()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bus: BusConfig::Memory,
            hub: HubConfig::default(),
            connection: ConnectionConfig::default(),
            verifier: None,
            admission: AdmissionConfig::default(),
            tls: None,
            handshake_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(5),
            headers: SecurityHeaders::default(),
        }
    }
}

/// A gateway before it serves: its hub and bus exist, so in-process
/// publishers can be attached first.
pub struct Gateway {
    hub: Arc<Hub>,
    bus: Arc<dyn Bus>,
    config: ServerConfig,
    /// Failed authentications per address, over the WebSocket and HTTP.
    throttle: Arc<AuthThrottle>,
}

#[derive(Clone)]
struct AppState {
    connections: ConnectionContext,
    per_ip: Arc<ConnectionCounter>,
}

impl Gateway {
    /// The gateway `config` describes. Fails only on a malformed Redis URL
    /// (the command line checks it first).
    pub fn new(config: ServerConfig) -> Result<Gateway, PublishError> {
        let metrics = Arc::new(Metrics::default());
        let hub = Arc::new(Hub::new(config.hub.clone(), config.bus.kind(), metrics));
        let bus = bus::open(&config.bus, hub.clone())?;
        let throttle = AuthThrottle::new(config.admission.auth_failures_per_minute);
        Ok(Gateway {
            hub,
            bus,
            config,
            throttle,
        })
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Publishes on this gateway's bus (the demo's simulator uses it).
    pub fn publisher(&self) -> Arc<dyn Publish> {
        self.bus.clone().publisher()
    }

    /// Serves until `shutdown` is cancelled, then drains. With
    /// `metrics_listener`, `/metrics` is served there and not on `listener`.
    pub async fn serve(
        self,
        listener: TcpListener,
        metrics_listener: Option<TcpListener>,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        let tracker = TaskTracker::new();
        self.start_background(&tracker, &shutdown);
        let state = self.app_state(&tracker, &shutdown);
        let api_state = ApiState::new(
            self.hub.clone(),
            self.config.verifier.clone(),
            self.throttle.clone(),
            self.publisher(),
        );
        let metrics_here = metrics_listener.is_none();
        if let Some(metrics_listener) = metrics_listener {
            let routes = api::operations_routes(api_state.clone());
            serve_metrics(&tracker, metrics_listener, routes, &shutdown);
        }
        let app = Router::new()
            .route("/dashboard/ws", get(websocket))
            .with_state(state)
            .merge(api::routes(api_state, metrics_here))
            .fallback(web::serve_asset)
            .layer(axum::middleware::from_fn_with_state(
                self.guard(),
                guard::check,
            ))
            .layer(axum::middleware::from_fn_with_state(
                self.config.headers.clone(),
                headers::add,
            ));
        let options = listener::SocketOptions {
            handshake_timeout: self.config.handshake_timeout,
            send_buffer: self.config.connection.socket_send_buffer,
        };
        let drain = listener::Drain::new(self.config.drain_timeout);
        listener::serve(
            listener,
            self.config.tls.clone(),
            app,
            options,
            &shutdown,
            &drain,
        )
        .await?;
        let deadline = drain.deadline();
        tracker.close();
        if tokio::time::timeout_at(deadline, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                remaining = tracker.len(),
                "shutdown deadline passed with connections still open"
            );
        }
        Ok(())
    }

    /// The bus link, and the key and revocation refreshers.
    fn start_background(&self, tracker: &TaskTracker, shutdown: &CancellationToken) {
        tracker.spawn(self.bus.clone().run(shutdown.clone()));
        if let Some(verifier) = &self.config.verifier {
            tracker.spawn(verifier.clone().refresh_loop(shutdown.clone()));
            if let Some(list) = verifier.revocations() {
                let (list, stop) = (list.clone(), shutdown.clone());
                tracker.spawn(async move { list.follow_file(stop).await });
            }
        }
    }

    /// The HTTP admission policy ([`guard`]).
    fn guard(&self) -> Guard {
        let admission = &self.config.admission;
        let check_hosts = self.config.verifier.is_none() || !admission.allowed_hosts.is_empty();
        Guard {
            allowed_hosts: check_hosts.then(|| admission.allowed_hosts.clone().into()),
            allowed_origins: admission.allowed_origins.clone().into(),
            per_ip: ConnectionCounter::new(admission.max_requests_per_ip),
            metrics: self.hub.metrics().clone(),
        }
    }

    fn app_state(&self, tracker: &TaskTracker, shutdown: &CancellationToken) -> AppState {
        let config = &self.config;
        AppState {
            connections: ConnectionContext {
                hub: self.hub.clone(),
                config: Arc::new(config.connection.clone()),
                shutdown: shutdown.clone(),
                tracker: tracker.clone(),
                verifier: config.verifier.clone(),
                admission: Arc::new(config.admission.clone()),
                per_user: ConnectionCounter::new(config.admission.max_connections_per_user),
                throttle: self.throttle.clone(),
            },
            per_ip: ConnectionCounter::new(config.admission.max_connections_per_ip),
        }
    }
}

/// Serves `/metrics` and the probes on an address of their own.
fn serve_metrics(
    tracker: &TaskTracker,
    listener: TcpListener,
    routes: Router,
    shutdown: &CancellationToken,
) {
    let stop = shutdown.clone();
    tracker.spawn(async move {
        let serving = axum::serve(listener, routes)
            .with_graceful_shutdown(async move { stop.cancelled().await });
        if let Err(err) = serving.await {
            tracing::error!("the metrics address stopped serving: {err}");
        }
    });
}

/// Query parameters of the WebSocket upgrade.
#[derive(Debug, serde::Deserialize)]
struct WsParams {
    /// The last event id the client saw: resume after it.
    last_id: Option<String>,
}

/// The upgrade: origin, per-IP limit and an `Authorization` header are
/// checked here, before any socket exists.
async fn websocket(
    Query(params): Query<WsParams>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(state): State<AppState>,
    request: Request,
) -> Response {
    // The handshake (method, Connection, Upgrade, version, key) is checked
    // by tungstenite; the gateway owns the upgraded stream from then on.
    let (mut parts, body) = request.into_parts();
    let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
        return (
            StatusCode::UPGRADE_REQUIRED,
            "a WebSocket upgrade is required\n",
        )
            .into_response();
    };
    let request = Request::from_parts(parts, body);
    let switching = match create_response_with_body(&request, Body::empty) {
        Ok(response) => response,
        Err(err) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("not a WebSocket upgrade: {err}\n"),
            )
                .into_response();
        }
    };
    let headers = request.headers();
    let ctx = &state.connections;
    let metrics = ctx.hub.metrics();
    let header = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if !admission::origin_allowed(
        header(header::ORIGIN),
        header(header::HOST),
        &ctx.admission.allowed_origins,
    ) {
        metrics.origin_refusals.fetch_add(1, Relaxed);
        return (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
    }
    let Some(ip_slot) = state.per_ip.admit(&peer.ip().to_string()) else {
        metrics.limit_refusals.fetch_add(1, Relaxed);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections from this address\n",
        )
            .into_response();
    };
    let principal = match (api::bearer_token(headers), &ctx.verifier) {
        (Some(token), Some(verifier)) => {
            match ctx
                .throttle
                .verify(verifier, token, peer.ip(), metrics)
                .await
            {
                Ok(principal) => Some(principal),
                Err(err) => return api::unauthorized(&err),
            }
        }
        _ => None,
    };
    let admission = Admission {
        principal,
        resume_from: params.last_id,
        ip_slot,
        peer: peer.ip(),
    };
    connection::start(on_upgrade, state.connections, admission);
    switching.into_response()
}
