//! The two ways a client connects, and what both check before a connection
//! exists: the WebSocket upgrade (`GET /dashboard/ws`) and the Server-Sent
//! Events stream (`GET /dashboard/sse`), each refused for a foreign
//! `Origin` (403), past the per-address connection limit (429) or with a
//! token that does not verify (401), then served by the same connection
//! code ([`crate::connection`]).
//!
//! An SSE client authenticates with `Authorization: Bearer` (tools) or with
//! a single-use ticket from `POST /api/sse-ticket` ([`crate::tickets`]:
//! `EventSource` cannot send headers, and a JWT never goes into a URL). It
//! resumes with `Last-Event-ID` (what `EventSource` sends by itself after a
//! drop) or `?last_id=`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::handshake::server::create_response_with_body;

use crate::admission::{self, ConnectionCounter, Counted};
use crate::api;
use crate::auth::{AuthError, Principal};
use crate::connection::{self, Admission, ConnectionContext, SseSocket};
use crate::tickets::Tickets;

/// What the client endpoints share.
#[derive(Clone)]
pub struct ClientsState {
    pub connections: ConnectionContext,
    /// Open connections (WebSocket and SSE) per address.
    pub per_ip: Arc<ConnectionCounter>,
    pub tickets: Arc<Tickets>,
}

/// Query parameters of both endpoints.
#[derive(Debug, serde::Deserialize)]
pub struct ClientParams {
    /// The last event id the client saw: resume after it.
    last_id: Option<String>,
    /// An SSE ticket (`POST /api/sse-ticket`).
    ticket: Option<String>,
}

/// The origin, the per-address limit and a Bearer header: the client's
/// place under the limit and its principal (when it sent a header).
async fn admit(
    state: &ClientsState,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<(Counted, Option<Principal>), Response> {
    let ctx = &state.connections;
    let metrics = ctx.hub.metrics();
    let header = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let allowed = &ctx.admission.allowed_origins;
    if !admission::origin_allowed(header(header::ORIGIN), header(header::HOST), allowed) {
        metrics.origin_refusals.inc();
        return Err((StatusCode::FORBIDDEN, "origin not allowed\n").into_response());
    }
    let Some(ip_slot) = state.per_ip.admit(&peer.ip().to_string()) else {
        metrics.limit_refusals.inc();
        let message = "too many connections from this address\n";
        return Err((StatusCode::TOO_MANY_REQUESTS, message).into_response());
    };
    let principal = match (api::bearer_token(headers), &ctx.verifier) {
        (Some(token), Some(verifier)) => Some(
            ctx.throttle
                .verify(verifier, token, peer.ip(), metrics)
                .await
                .map_err(|err| api::unauthorized(&err))?,
        ),
        _ => None,
    };
    Ok((ip_slot, principal))
}

/// `GET /dashboard/ws`: the upgrade, once the client is admitted.
pub async fn websocket(
    Query(params): Query<ClientParams>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(state): State<ClientsState>,
    request: Request,
) -> Response {
    // The handshake (method, Connection, Upgrade, version, key) is checked
    // by tungstenite; the gateway owns the upgraded stream from then on.
    let (mut parts, body) = request.into_parts();
    let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
        let message = "a WebSocket upgrade is required (or use /dashboard/sse)\n";
        return (StatusCode::UPGRADE_REQUIRED, message).into_response();
    };
    let request = Request::from_parts(parts, body);
    let switching = match create_response_with_body(&request, Body::empty) {
        Ok(response) => response,
        Err(err) => {
            let message = format!("not a WebSocket upgrade: {err}\n");
            return (StatusCode::BAD_REQUEST, message).into_response();
        }
    };
    let (ip_slot, principal) = match admit(&state, request.headers(), peer).await {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal,
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

/// `GET /dashboard/sse`: the same connection as an event stream.
pub async fn sse(
    Query(params): Query<ClientParams>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(state): State<ClientsState>,
    headers: HeaderMap,
) -> Response {
    let (ip_slot, from_header) = match admit(&state, &headers, peer).await {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal,
    };
    let principal = match sse_principal(&state, from_header, params.ticket.as_deref()) {
        Ok(principal) => principal,
        Err(err) => return api::unauthorized(&err),
    };
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let admission = Admission {
        principal,
        resume_from: last_event_id.or(params.last_id),
        ip_slot,
        peer: peer.ip(),
    };
    let (socket, mut body) = SseSocket::new();
    connection::start_sse(socket, state.connections, admission);
    let chunks = futures_util::stream::poll_fn(move |cx| body.poll_recv(cx));
    let body = Body::from_stream(chunks.map(Ok::<_, Infallible>));
    let headers = [
        (header::CONTENT_TYPE, "text/event-stream"),
        (header::CACHE_CONTROL, "no-cache, no-transform"),
        (header::HeaderName::from_static("x-accel-buffering"), "no"),
    ];
    (headers, body).into_response()
}

/// An SSE client's principal: from its Bearer header, or its ticket; with
/// authentication off, nobody needs either.
fn sse_principal(
    state: &ClientsState,
    from_header: Option<Principal>,
    ticket: Option<&str>,
) -> Result<Option<Principal>, AuthError> {
    let ctx = &state.connections;
    if from_header.is_some() || ctx.verifier.is_none() {
        return Ok(from_header);
    }
    let ticket = ticket.ok_or(AuthError::Missing)?;
    match state.tickets.redeem(ticket) {
        Some(principal) => Ok(Some(principal)),
        None => {
            ctx.hub.metrics().auth_failures.inc();
            Err(AuthError::Invalid("unknown, used or expired ticket".into()))
        }
    }
}
