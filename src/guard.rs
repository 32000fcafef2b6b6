//! The admission policy applied to every HTTP request, before any handler
//! runs: which `Host` names are served, how many requests one address may
//! have in flight, and what a state-changing request must look like.
//!
//! - **Host.** A page on `evil.example` whose name an attacker points at
//!   127.0.0.1 (DNS rebinding) sends `Host: evil.example`; were it served,
//!   the attacker's script would read every event of a gateway without a key.
//!   Only IP literals, `localhost` (and `*.localhost`), and the names of
//!   `--allowed-hosts` are served; the rest get 403, WebSocket upgrades
//!   included. Checked when no JWT key is configured (a token is what keeps a
//!   rebound page out otherwise) or when `--allowed-hosts` is given.
//! - **Requests in flight per address** (`--max-requests-per-ip`): one
//!   address cannot tie up the gateway with slow requests; over the limit,
//!   429. WebSockets are counted by their own limit once upgraded.
//! - **State-changing requests** (any method but GET, HEAD, OPTIONS) must say
//!   `Content-Type: application/json`, which a cross-site form cannot send
//!   without a CORS preflight the gateway never grants (415 otherwise), and
//!   an `Origin`, when the browser sends one, must be the gateway's own or
//!   one of `--allowed-origin` (403 otherwise).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::admission::{self, ConnectionCounter};
use crate::metrics::Metrics;

/// What the guard checks, built once.
#[derive(Clone)]
pub struct Guard {
    /// `None`: every Host is served (a JWT key is configured and no
    /// `--allowed-hosts` was given).
    pub allowed_hosts: Option<Arc<[String]>>,
    pub allowed_origins: Arc<[String]>,
    pub per_ip: Arc<ConnectionCounter>,
    pub metrics: Arc<Metrics>,
}

/// Whether `host` (a `Host` header: name or address, maybe with a port) may
/// be served, given the names of `--allowed-hosts`.
pub fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let name = strip_port(host);
    if name.parse::<IpAddr>().is_ok() || host.parse::<IpAddr>().is_ok() {
        return true;
    }
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || allowed.iter().any(|a| a.eq_ignore_ascii_case(&name))
}

/// `host` without its port; IPv6 literals lose their brackets.
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The guard as an axum middleware.
pub async fn check(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let Some(allowed) = &guard.allowed_hosts
        && !host.is_some_and(|host| host_allowed(host, allowed))
    {
        guard.metrics.host_refusals.fetch_add(1, Relaxed);
        return refuse(
            StatusCode::FORBIDDEN,
            "host not allowed: this gateway serves loopback names, IP addresses and --allowed-hosts only",
        );
    }
    if is_state_changing(request.method())
        && let Some(refusal) = check_write(&guard, &request)
    {
        return refusal;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_string());
    let _slot = match peer.map(|ip| guard.per_ip.admit(&ip)) {
        Some(None) => {
            guard.metrics.limit_refusals.fetch_add(1, Relaxed);
            return refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests in flight from this address",
            );
        }
        Some(slot) => slot,
        None => None,
    };
    next.run(request).await
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A state-changing request's content type and origin, or the refusal.
fn check_write(guard: &Guard, request: &Request) -> Option<Response> {
    let headers = request.headers();
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    let json = text(header::CONTENT_TYPE).is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json {
        return Some(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        ));
    }
    let origin = text(header::ORIGIN);
    if origin.is_some()
        && !admission::origin_allowed(origin, text(header::HOST), &guard.allowed_origins)
    {
        guard.metrics.origin_refusals.fetch_add(1, Relaxed);
        return Some(refuse(StatusCode::FORBIDDEN, "origin not allowed"));
    }
    None
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": status.canonical_reason(), "message": message })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_ip_literals_are_served_other_names_only_when_allowed() {
        for host in [
            "127.0.0.1:8000",
            "localhost",
            "LOCALHOST:80",
            "app.localhost:8000",
            "[::1]:8000",
            "10.1.2.3",
            "::1",
        ] {
            assert!(host_allowed(host, &[]), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8000",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "",
        ] {
            assert!(!host_allowed(host, &[]), "{host}");
        }
        let allowed = vec!["ops.example.com".to_owned()];
        assert!(host_allowed("ops.example.com:8443", &allowed));
        assert!(host_allowed("OPS.example.com.", &allowed));
        assert!(!host_allowed("evil.example", &allowed));
    }
}
