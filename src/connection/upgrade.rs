//! From an HTTP request to a served connection: the WebSocket's limits, the
//! task that serves a WebSocket or an SSE stream, and the count of
//! connections open and ever opened. The HTTP side (origin, per-IP limit, a
//! Bearer header or an SSE ticket) is checked before, in `clients`.

use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use super::{Admission, ConnectionConfig, ConnectionContext, serve};

/// The socket's buffers and limits. A batch of fragments and frames fits;
/// past the maximum, writes fail instead of growing without bound.
pub(super) fn socket_config(config: &ConnectionConfig) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(config.read_buffer_bytes)
        .write_buffer_size(config.write_buffer_bytes)
        .max_write_buffer_size(config.write_buffer_bytes + 8 * 1024 * 1024)
        .max_message_size(Some(config.max_client_frame_bytes))
        .max_frame_size(Some(config.max_client_frame_bytes))
}

/// Starts the connection task once the HTTP upgrade completes.
///
/// The task lives as long as the connection, so what it holds is held per
/// idle connection: the admission goes down boxed and the socket by
/// reference, because every `async fn` keeps its arguments for its whole
/// life, and each level would otherwise hold its own copy
/// (`a_connection_task_stays_within_its_size_budget`).
pub fn start(on_upgrade: hyper::upgrade::OnUpgrade, ctx: ConnectionContext, admission: Admission) {
    let tracker = ctx.tracker.clone();
    let admission = Box::new(admission);
    tracker.spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(err) => {
                tracing::debug!("WebSocket upgrade failed: {err}");
                return;
            }
        };
        let config = socket_config(&ctx.config);
        let mut socket =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        counted(&mut socket, &ctx, admission).await;
    });
}

/// Starts the task of an SSE client (its response is already streaming).
pub fn start_sse(mut socket: super::SseSocket, ctx: ConnectionContext, admission: Admission) {
    let tracker = ctx.tracker.clone();
    let admission = Box::new(admission);
    tracker.spawn(async move {
        ctx.hub.metrics().sse_connections.inc();
        counted(&mut socket, &ctx, admission).await;
    });
}

/// Serves a connection, counted among those open and ever opened.
async fn counted(socket: impl super::Socket, ctx: &ConnectionContext, admission: Box<Admission>) {
    let metrics = ctx.hub.metrics().clone();
    metrics.connections_total.inc();
    metrics.connections_open.inc();
    serve(socket, ctx, admission).await;
    metrics.connections_open.dec();
}
