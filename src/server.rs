//! The gateway's HTTP server: routes, start-up and the shutdown drain.
//!
//! [`Gateway::serve`] takes its listener and a cancellation token, so tests
//! start the real server on port 0 and stop it at will. Shutdown closes
//! every WebSocket with 1001 itself (axum's graceful shutdown does not wait
//! for upgraded connections) and waits for them under a deadline.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bus::redis::{LinkConfig, run_link};
use crate::frames::{BusKind, PROTOCOL_VERSION, SERVER_NAME};
use crate::hub::{EventId, Hub, HubConfig};
use crate::metrics::Metrics;
use crate::web;
use crate::ws::{self, ConnectionConfig, ConnectionContext};

/// Which bus the gateway reads.
#[derive(Debug, Clone)]
pub enum BusConfig {
    /// The in-process bus: events come from publishers in this process.
    Memory,
    /// A Redis pub/sub channel.
    Redis(LinkConfig),
}

/// Everything the server needs, validated.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bus: BusConfig,
    pub hub: HubConfig,
    pub connection: ConnectionConfig,
    /// Longest the shutdown waits for clients to be closed.
    pub drain_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bus: BusConfig::Memory,
            hub: HubConfig::default(),
            connection: ConnectionConfig::default(),
            drain_timeout: Duration::from_secs(5),
        }
    }
}

/// A gateway before it serves: its hub exists, so in-process publishers can
/// be attached first.
pub struct Gateway {
    hub: Arc<Hub>,
    config: ServerConfig,
}

#[derive(Clone)]
struct AppState {
    hub: Arc<Hub>,
    connections: ConnectionContext,
}

impl Gateway {
    pub fn new(config: ServerConfig) -> Gateway {
        let kind = match config.bus {
            BusConfig::Memory => BusKind::Memory,
            BusConfig::Redis(_) => BusKind::Redis,
        };
        let hub = Arc::new(Hub::new(
            config.hub.clone(),
            kind,
            Arc::new(Metrics::default()),
        ));
        Gateway { hub, config }
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Serves until `shutdown` is cancelled, then drains.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        let tracker = TaskTracker::new();
        match &self.config.bus {
            BusConfig::Memory => self.hub.set_bus(true, None),
            BusConfig::Redis(link) => {
                tracker.spawn(run_link(self.hub.clone(), link.clone(), shutdown.clone()));
            }
        }
        let state = AppState {
            hub: self.hub.clone(),
            connections: ConnectionContext {
                hub: self.hub.clone(),
                config: Arc::new(self.config.connection.clone()),
                shutdown: shutdown.clone(),
                tracker: tracker.clone(),
            },
        };
        let app = Router::new()
            .route("/dashboard/ws", get(websocket))
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/api/status", get(status))
            .route("/metrics", get(metrics))
            .route("/api/runs", get(list_runs))
            .route("/api/runs/{run_id}", get(one_run))
            .route("/api/events", get(list_events))
            .fallback(web::serve_asset)
            .with_state(state);
        let http_shutdown = shutdown.clone();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { http_shutdown.cancelled().await })
            .await?;
        tracker.close();
        if tokio::time::timeout(self.config.drain_timeout, tracker.wait())
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
}

/// Query parameters of the WebSocket upgrade.
#[derive(Debug, serde::Deserialize)]
struct WsParams {
    /// The last event id the client saw: resume after it.
    last_id: Option<String>,
}

async fn websocket(
    ws: WebSocketUpgrade,
    Query(params): Query<WsParams>,
    State(state): State<AppState>,
) -> Response {
    ws::upgrade(ws, state.connections, params.last_id)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    let bus = state.hub.bus_state();
    let code = if bus.up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(bus.to_json())).into_response()
}

async fn status(State(state): State<AppState>) -> Response {
    use std::sync::atomic::Ordering::Relaxed;
    let metrics = state.hub.metrics();
    axum::Json(serde_json::json!({
        "server": SERVER_NAME,
        "protocol": PROTOCOL_VERSION,
        "bus": state.hub.bus_state().to_json(),
        "connections": metrics.connections_open.load(Relaxed),
        "events_relayed": metrics.events_relayed.load(Relaxed),
        "last_event_id": state.hub.last_id().map(|id| id.to_string()),
    }))
    .into_response()
}

async fn list_runs(State(state): State<AppState>) -> Response {
    axum::Json(serde_json::json!({ "runs": state.hub.runs() })).into_response()
}

async fn one_run(State(state): State<AppState>, Path(run_id): Path<String>) -> Response {
    match state.hub.run(&run_id) {
        Some(run) => axum::Json(run).into_response(),
        None => api_error(
            StatusCode::NOT_FOUND,
            "unknown_run",
            "no such run is retained",
        ),
    }
}

/// Query of `GET /api/events`.
#[derive(Debug, serde::Deserialize)]
struct EventsQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// Most events one `GET /api/events` returns.
const MAX_EVENTS_PAGE: usize = 1000;

async fn list_events(State(state): State<AppState>, Query(query): Query<EventsQuery>) -> Response {
    let after = match query.after.as_deref().map(str::parse::<EventId>) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(())) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "bad_id",
                "`after` must be an event id like 1764342000123-0",
            );
        }
    };
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_EVENTS_PAGE);
    let Some(page) = state.hub.events_page(after, limit) else {
        return api_error(
            StatusCode::GONE,
            "not_retained",
            "`after` is older than the retained history or unknown; start again without it",
        );
    };
    // The frames are JSON already: splice them, do not re-serialise.
    let mut body = String::from(r#"{"events":["#);
    for (i, (_, frame)) in page.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(frame.as_str());
    }
    body.push_str(r#"],"last_id":"#);
    let last = page.last().map(|(id, _)| id.to_string());
    body.push_str(&serde_json::to_string(&last).expect("serialises"));
    body.push('}');
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": code, "message": message })),
    )
        .into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.hub.metrics().render(),
    )
        .into_response()
}
