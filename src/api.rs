//! The HTTP endpoints beside the WebSocket: health, readiness, status,
//! metrics, run state, event history, and publishing over HTTP.
//!
//! With authentication on, the run and event endpoints need
//! `Authorization: Bearer <token>` and answer only what the token's
//! principal may see, by the same rule as the WebSocket
//! ([`crate::auth::Principal::sees`]). Publishing needs the `publisher` (or
//! `admin`) role, and a publisher bound to a tenant publishes only into it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::admission::{AUTH_FAILURE_WINDOW, AuthThrottle};
use crate::auth::{ADMIN_ROLE, AuthError, PUBLISHER_ROLE, Principal, Verifier};
use crate::bus::{Publish, PublishError};
use crate::event::{EventId, Scope};
use crate::frames::{PROTOCOL_VERSION, SERVER_NAME};
use crate::hub::Hub;
use crate::pipeline::RunState;
use crate::tickets::Tickets;

/// Most events one `GET /api/events` returns.
const MAX_EVENTS_PAGE: usize = 1000;

/// What the endpoints share.
#[derive(Clone)]
pub struct ApiState {
    hub: Arc<Hub>,
    verifier: Option<Arc<Verifier>>,
    /// Failed authentications per address.
    throttle: Arc<AuthThrottle>,
    /// The gateway's bus, for `POST /api/events`.
    publisher: Arc<dyn Publish>,
    /// SSE tickets (`POST /api/sse-ticket`).
    tickets: Arc<Tickets>,
}

impl ApiState {
    pub fn new(
        hub: Arc<Hub>,
        verifier: Option<Arc<Verifier>>,
        throttle: Arc<AuthThrottle>,
        publisher: Arc<dyn Publish>,
    ) -> ApiState {
        ApiState {
            hub,
            verifier,
            throttle,
            publisher,
            tickets: Arc::default(),
        }
    }

    /// Issues SSE tickets from `tickets` (shared with the SSE endpoint).
    pub fn with_tickets(mut self, tickets: Arc<Tickets>) -> ApiState {
        self.tickets = tickets;
        self
    }

    /// The principal of a request from `peer`, or why it has none.
    async fn principal(&self, headers: &HeaderMap, peer: IpAddr) -> Result<Principal, AuthError> {
        let Some(verifier) = &self.verifier else {
            return Ok(Principal::anonymous());
        };
        let metrics = self.hub.metrics();
        let Some(token) = bearer_token(headers) else {
            metrics.auth_failures.inc();
            self.throttle.failed(peer, &AuthError::Missing);
            return Err(AuthError::Missing);
        };
        self.throttle.verify(verifier, token, peer, metrics).await
    }
}

/// The principal an API request speaks for, taken from its bearer token (or
/// anonymous without a key) before the handler runs and before any body is
/// read; a request whose token does not verify is answered by
/// [`unauthorized`].
struct Caller(Principal);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Response> {
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match state.principal(&parts.headers, peer.ip()).await {
            Ok(principal) => Ok(Caller(principal)),
            Err(err) => Err(unauthorized(&err)),
        }
    }
}

/// The routes of this module; `/metrics` among them unless it is served
/// on an address of its own ([`operations_routes`]).
pub fn routes(state: ApiState, with_metrics: bool) -> Router {
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/status", get(status))
        .route("/api/runs", get(list_runs))
        .route("/api/runs/{run_id}", get(one_run))
        .route("/api/events", get(list_events).post(publish_event))
        .route("/api/sse-ticket", axum::routing::post(sse_ticket));
    // Without it, a 404 of its own: the dashboard's fallback would answer
    // a page's path with the page.
    let router = if with_metrics {
        router.route("/metrics", get(metrics))
    } else {
        router.route("/metrics", get(not_here))
    };
    router.with_state(state)
}

async fn not_here() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// What the metrics address serves (`--metrics-listen`): metrics and the
/// probes, nothing about events.
pub fn operations_routes(state: ApiState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// 401 with a `WWW-Authenticate` header and the reason; 429 with
/// `Retry-After` for an address that failed too often.
pub fn unauthorized(err: &AuthError) -> Response {
    if *err == AuthError::Throttled {
        let mut response = api_error(StatusCode::TOO_MANY_REQUESTS, "throttled", &err.to_string());
        let retry = header::HeaderValue::from(AUTH_FAILURE_WINDOW.as_secs());
        response.headers_mut().insert(header::RETRY_AFTER, retry);
        return response;
    }
    let mut response = api_error(StatusCode::UNAUTHORIZED, "unauthorized", &err.to_string());
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": code, "message": message })),
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<ApiState>) -> Response {
    let bus = state.hub.bus_state();
    let code = if bus.up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(bus.to_json())).into_response()
}

/// Public: what a dashboard needs before it has a token.
async fn status(State(state): State<ApiState>) -> Response {
    let metrics = state.hub.metrics();
    axum::Json(serde_json::json!({
        "server": SERVER_NAME,
        "protocol": PROTOCOL_VERSION,
        "auth": { "required": state.verifier.is_some() },
        "bus": state.hub.bus_state().to_json(),
        "connections": metrics.connections_open.get(),
        "events_relayed": metrics.events_relayed.get(),
    }))
    .into_response()
}

async fn metrics(State(state): State<ApiState>) -> Response {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.hub.metrics().render(),
    )
        .into_response()
}

async fn list_runs(State(state): State<ApiState>, Caller(principal): Caller) -> Response {
    axum::Json(serde_json::json!({ "runs": state.hub.runs(&principal) })).into_response()
}

/// Query of `GET /api/runs/{run_id}`: which tenant's (and user's) run, when
/// the caller may see several of that id.
#[derive(Debug, serde::Deserialize)]
struct RunQuery {
    tenant: Option<String>,
    user_id: Option<String>,
}

async fn one_run(
    State(state): State<ApiState>,
    Path(run_id): Path<String>,
    Query(query): Query<RunQuery>,
    Caller(principal): Caller,
) -> Response {
    let matches = |scope: &Scope| {
        let wanted = |want: &Option<String>, have: &Option<Arc<str>>| {
            want.as_deref().is_none_or(|w| have.as_deref() == Some(w))
        };
        wanted(&query.tenant, &scope.tenant) && wanted(&query.user_id, &scope.user_id)
    };
    let mut found = state.hub.runs_called(&principal, &run_id, matches);
    match found.len() {
        0 => api_error(
            StatusCode::NOT_FOUND,
            "unknown_run",
            "no such run is retained",
        ),
        1 => axum::Json(found.remove(0)).into_response(),
        _ => {
            let keys: Vec<String> = found.iter().map(RunState::key).collect();
            let body = serde_json::json!({
                "error": "ambiguous_run",
                "message": "several runs have this id: name one with ?tenant= (and ?user_id=)",
                "keys": keys,
            });
            (StatusCode::CONFLICT, axum::Json(body)).into_response()
        }
    }
}

/// `POST /api/sse-ticket`: a single-use ticket for `GET /dashboard/sse`,
/// for the token's principal ([`crate::tickets`]).
async fn sse_ticket(State(state): State<ApiState>, Caller(principal): Caller) -> Response {
    match state.tickets.issue(principal) {
        Some(ticket) => axum::Json(serde_json::json!({
            "ticket": ticket,
            "expires_in": crate::tickets::TTL.as_secs(),
        }))
        .into_response(),
        None => api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_tickets",
            "too many tickets outstanding: try again shortly",
        ),
    }
}

/// Query of `GET /api/events`.
#[derive(Debug, serde::Deserialize)]
struct EventsQuery {
    after: Option<String>,
    limit: Option<usize>,
}

async fn list_events(
    State(state): State<ApiState>,
    Query(query): Query<EventsQuery>,
    Caller(principal): Caller,
) -> Response {
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
    let Some(page) = state.hub.events_page(&principal, after, limit) else {
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

/// `POST /api/events`: publishing for services without Redis access. The
/// body is one event, validated exactly as on the Redis path. The token and
/// its role are checked before a byte of the body is read, and the body must
/// arrive within [`body_deadline`] and fit in the event size limit.
async fn publish_event(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    if !(principal.has_role(PUBLISHER_ROLE) || principal.has_role(ADMIN_ROLE)) {
        return api_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "publishing needs the `publisher` role",
        );
    }
    let body = match read_body(&parts.headers, body, state.hub.max_event_bytes()).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let event = match state.hub.validate(&body) {
        Ok(event) => event,
        Err(rejection) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                rejection.reason(),
                &rejection.to_string(),
            );
        }
    };
    if let Err(message) = may_publish(&principal, &event.scope) {
        return api_error(StatusCode::FORBIDDEN, "forbidden", message);
    }
    match state.publisher.publish(&event).await {
        Ok(id) => (
            StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({ "id": id.to_string() })),
        )
            .into_response(),
        Err(PublishError::NotReplicated { id, .. }) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({
                "error": "not_replicated",
                "message": "recorded on the primary, but not yet on enough replicas: \
                    publish it again (a repeated step is folded once)",
                "id": id.to_string(),
            })),
        )
            .into_response(),
        Err(err) => api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "bus_unavailable",
            &err.to_string(),
        ),
    }
}

/// Whether `principal` may publish an event of `scope`. An admin publishes
/// anywhere. A publisher bound to a tenant publishes only into that tenant
/// (never a public event every tenant would see). A publisher without a
/// tenant is a system-wide service: it publishes public events and events
/// of any tenant.
fn may_publish(principal: &Principal, scope: &Scope) -> Result<(), &'static str> {
    match &principal.tenant {
        Some(tenant)
            if !principal.is_admin() && scope.tenant.as_deref() != Some(tenant.as_str()) =>
        {
            Err("the event's `tenant` must be the token's tenant")
        }
        _ => Ok(()),
    }
}

/// Slowest a request body may arrive, in bytes a second, beyond the first
/// [`BODY_GRACE`].
const MIN_BODY_RATE: u64 = 8 * 1024;
/// Time every body gets, however small.
const BODY_GRACE: Duration = Duration::from_secs(2);

/// How long a body of `bytes` may take to arrive: [`BODY_GRACE`] plus
/// [`MIN_BODY_RATE`] (10 s for 64 KiB).
pub fn body_deadline(bytes: usize) -> Duration {
    BODY_GRACE + Duration::from_secs_f64(bytes as f64 / MIN_BODY_RATE as f64)
}

/// Reads a body of at most `limit` bytes within its deadline; the refusal
/// otherwise (413 too large, 408 too slow, 400 broken).
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || {
        api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &format!("the event must be at most {limit} bytes"),
        )
    };
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let deadline = body_deadline(declared.unwrap_or(limit));
    match tokio::time::timeout(deadline, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(err)) if is_length_limit(&err) => Err(too_large()),
        Ok(Err(_)) => Err(api_error(
            StatusCode::BAD_REQUEST,
            "bad_body",
            "the body could not be read",
        )),
        Err(_) => Err(api_error(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            &format!("the body did not arrive within {} s", deadline.as_secs()),
        )),
    }
}

fn is_length_limit(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(error) = source {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_from_the_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer abc.def.ghi".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("abc.def.ghi"));
        headers.insert(header::AUTHORIZATION, "bearer  xyz ".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("xyz"));
        headers.insert(header::AUTHORIZATION, "Basic dXNlcg==".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
    }
}
