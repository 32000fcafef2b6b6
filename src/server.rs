//! The gateway's HTTP server: routes, start-up and the shutdown drain.
//!
//! [`Gateway::serve`] takes its listener and a cancellation token, so tests
//! start the real server on port 0 and stop it at will. Shutdown closes
//! every WebSocket with 1001 itself (HTTP graceful shutdown does not wait
//! for upgraded connections) and waits for them under a deadline.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admission::{AdmissionConfig, AuthThrottle, ConnectionCounter};
use crate::api::{self, ApiState};
use crate::auth::Verifier;
use crate::bus::{self, Bus, BusConfig, Publish, PublishError};
use crate::clients::{self, ClientsState};
use crate::connection::{ConnectionConfig, ConnectionContext};
use crate::guard::{self, Guard};
use crate::headers::{self, SecurityHeaders};
use crate::hub::{Hub, HubConfig};
use crate::listener;
use crate::metrics::Metrics;
use crate::pipeline::Deadlines;
use crate::proxies::ProxyPolicy;
use crate::tickets::Tickets;
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
    /// Which load balancers may say who the client is.
    pub proxies: ProxyPolicy,
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
            .field("proxies", &self.proxies)
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
            proxies: ProxyPolicy::default(),
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
    /// SSE tickets, issued over HTTP and redeemed by the SSE endpoint.
    tickets: Arc<Tickets>,
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
            tickets: Arc::default(),
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
        )
        .with_tickets(self.tickets.clone());
        let metrics_here = metrics_listener.is_none();
        if let Some(metrics_listener) = metrics_listener {
            let routes = api::operations_routes(api_state.clone());
            serve_metrics(&tracker, metrics_listener, routes, &shutdown);
        }
        let app = Router::new()
            .route("/dashboard/ws", get(clients::websocket))
            .route("/dashboard/sse", get(clients::sse))
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
            proxies: Arc::new(self.config.proxies.clone()),
            metrics: self.hub.metrics().clone(),
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
        if self.config.hub.deadlines != Deadlines::default() {
            tracker.spawn(sweep_stalls(self.hub.clone(), shutdown.clone()));
        }
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

    fn app_state(&self, tracker: &TaskTracker, shutdown: &CancellationToken) -> ClientsState {
        let config = &self.config;
        ClientsState {
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
            tickets: self.tickets.clone(),
        }
    }
}

/// Marks stalled stages every second, until shutdown.
async fn sweep_stalls(hub: Arc<Hub>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(STALL_SWEEP);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => hub.sweep_stalls(),
        }
    }
}

/// How often stages are checked against their deadline.
const STALL_SWEEP: Duration = Duration::from_secs(1);

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
