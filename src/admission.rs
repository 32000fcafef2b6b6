//! Who gets in, and how much they may do: the origin check, connection
//! limits per IP and per user, the rate of client messages, and the
//! throttle on failed authentications per address.
//!
//! Each refusal happens as early as it can: the origin and the per-IP limit
//! before the WebSocket upgrade (HTTP 403 and 429, nothing upgraded), the
//! per-user limit as soon as the user is known, the message rate on every
//! client frame. Counters are released when the connection ends (RAII).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::auth::{AuthError, Principal, Verifier};
use crate::log_limit::LogLimit;
use crate::metrics::Metrics;

/// Limits of the admission policy.
#[derive(Debug, Clone)]
pub struct AdmissionConfig {
    /// Origins allowed to open a WebSocket (`https://ops.example.com`).
    /// Empty: only the dashboard's own origin (the request's `Host`).
    pub allowed_origins: Vec<String>,
    /// Time a browser has to send its `auth` frame.
    pub auth_timeout: Duration,
    /// Connections one user may hold at once (0: no limit).
    pub max_connections_per_user: usize,
    /// Connections one client address may hold at once (0: no limit).
    pub max_connections_per_ip: usize,
    /// Client frames allowed per second, sustained.
    pub messages_per_second: f64,
    /// Client frames allowed in a burst.
    pub message_burst: f64,
    /// Host names served besides IP literals and `localhost`; see
    /// [`crate::guard`]. Checked when no JWT key is configured, or when
    /// this is not empty.
    pub allowed_hosts: Vec<String>,
    /// HTTP requests one IP address may have in flight (0: no limit).
    pub max_requests_per_ip: usize,
    /// Failed authentications one IP address may make in a minute before
    /// it is refused for the rest of that minute (0: no limit).
    pub auth_failures_per_minute: u32,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        AdmissionConfig {
            allowed_origins: Vec::new(),
            auth_timeout: Duration::from_secs(5),
            max_connections_per_user: 32,
            max_connections_per_ip: 0,
            messages_per_second: 10.0,
            message_burst: 30.0,
            allowed_hosts: Vec::new(),
            max_requests_per_ip: 64,
            auth_failures_per_minute: 20,
        }
    }
}

/// Whether a WebSocket upgrade from `origin` may proceed. Requests without
/// an `Origin` header do not come from a browser page and cannot ride on a
/// user's browser credentials; they are let through (to authenticate like
/// anyone else).
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin else { return true };
    let origin = origin.trim_end_matches('/');
    if !allowed.is_empty() {
        return allowed
            .iter()
            .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin));
    }
    // Same origin: the page was served by this gateway under `host`.
    let Some(host) = host else { return false };
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    authority.is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

/// Counts open connections per key (an IP address, a user) under a limit.
#[derive(Debug)]
pub struct ConnectionCounter {
    limit: usize,
    open: Mutex<HashMap<String, usize>>,
}

/// One admitted connection; dropping it releases its count.
#[derive(Debug)]
pub struct Counted {
    /// `None` when the counter has no limit and counts nothing.
    counter: Option<Arc<ConnectionCounter>>,
    key: String,
}

impl ConnectionCounter {
    pub fn new(limit: usize) -> Arc<ConnectionCounter> {
        Arc::new(ConnectionCounter {
            limit,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Counts one more connection for `key`, or `None` when it already has
    /// the limit. A limit of 0 admits everyone (and counts nothing).
    pub fn admit(self: &Arc<Self>, key: &str) -> Option<Counted> {
        if self.limit == 0 {
            return Some(Counted {
                counter: None,
                key: String::new(),
            });
        }
        let mut open = self.open.lock();
        let count = open.entry(key.to_owned()).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Counted {
            counter: Some(self.clone()),
            key: key.to_owned(),
        })
    }

    pub fn open(&self, key: &str) -> usize {
        self.open.lock().get(key).copied().unwrap_or(0)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let Some(counter) = &self.counter else { return };
        let mut open = counter.open.lock();
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Failed authentications per address: after `limit` failures within a
/// [`AUTH_FAILURE_WINDOW`], further attempts from that address are refused
/// (HTTP 429, close 4013) without looking at their token until the window
/// has passed. Failures are counted and logged (rate-limited). The address
/// is the client's, as [`crate::proxies`] tells it: behind a load balancer
/// that is not in `--trusted-proxies` every client has its address.
pub struct AuthThrottle {
    limit: u32,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    log: LogLimit,
}

/// The window failures are counted in.
pub const AUTH_FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Most addresses tracked at once; past it, expired windows are dropped,
/// then (an address flood) every window: the throttle fails open rather
/// than grow.
const MAX_TRACKED: usize = 100_000;

impl AuthThrottle {
    pub fn new(limit: u32) -> Arc<AuthThrottle> {
        Arc::new(AuthThrottle {
            limit,
            failures: Mutex::new(HashMap::new()),
            log: LogLimit::new(5, "failed authentications"),
        })
    }

    /// Verifies `token` for a client at `peer`, unless that address has
    /// failed too often lately; a failure is counted against it.
    pub async fn verify(
        &self,
        verifier: &Verifier,
        token: &str,
        peer: IpAddr,
        metrics: &Metrics,
    ) -> Result<Principal, AuthError> {
        if self.blocked(peer) {
            metrics.auth_throttled.inc();
            return Err(AuthError::Throttled);
        }
        verifier.verify(token).await.inspect_err(|err| {
            metrics.auth_failures.inc();
            self.failed(peer, err);
        })
    }

    /// True while `peer` has used up its failures in the current window.
    pub fn blocked(&self, peer: IpAddr) -> bool {
        let failures = self.failures.lock();
        self.limit > 0
            && failures.get(&peer).is_some_and(|(since, count)| {
                *count >= self.limit && since.elapsed() < AUTH_FAILURE_WINDOW
            })
    }

    /// Counts a failed authentication from `peer`, and logs it.
    pub fn failed(&self, peer: IpAddr, why: &AuthError) {
        if self.log.allow() {
            tracing::warn!(%peer, "authentication failed: {why}");
        }
        if self.limit == 0 {
            return;
        }
        let mut failures = self.failures.lock();
        if failures.len() >= MAX_TRACKED && !failures.contains_key(&peer) {
            failures.retain(|_, (since, _)| since.elapsed() < AUTH_FAILURE_WINDOW);
            if failures.len() >= MAX_TRACKED {
                failures.clear();
            }
        }
        let now = Instant::now();
        let entry = failures.entry(peer).or_insert((now, 0));
        if entry.0.elapsed() >= AUTH_FAILURE_WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: f64) -> TokenBucket {
        TokenBucket {
            rate,
            burst: burst.max(1.0),
            tokens: burst.max(1.0),
            last: Instant::now(),
        }
    }

    /// Takes a token if there is one.
    pub fn allow(&mut self) -> bool {
        let now = Instant::now();
        let earned = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_by_default_and_the_allowlist_when_given() {
        let host = Some("127.0.0.1:8000");
        assert!(origin_allowed(None, host, &[]), "not a browser");
        assert!(origin_allowed(Some("http://127.0.0.1:8000"), host, &[]));
        assert!(!origin_allowed(Some("http://evil.example"), host, &[]));
        assert!(!origin_allowed(Some("http://127.0.0.1:8001"), host, &[]));
        assert!(!origin_allowed(Some("null"), host, &[]));
        let allowed = vec!["https://ops.example.com".to_owned()];
        assert!(origin_allowed(
            Some("https://ops.example.com"),
            host,
            &allowed
        ));
        assert!(!origin_allowed(
            Some("http://127.0.0.1:8000"),
            host,
            &allowed
        ));
        assert!(!origin_allowed(
            Some("https://ops.example.com.evil.io"),
            host,
            &allowed
        ));
    }

    #[test]
    fn counters_admit_up_to_the_limit_and_release_on_drop() {
        let counter = ConnectionCounter::new(2);
        let a = counter.admit("alice").unwrap();
        let b = counter.admit("alice").unwrap();
        assert!(counter.admit("alice").is_none());
        assert!(counter.admit("bob").is_some(), "limits are per key");
        drop(a);
        assert_eq!(counter.open("alice"), 1);
        assert!(counter.admit("alice").is_some());
        drop(b);
        let unlimited = ConnectionCounter::new(0);
        for _ in 0..1000 {
            assert!(unlimited.admit("x").is_some());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_that_fails_too_often_is_refused_until_its_window_passes() {
        let throttle = AuthThrottle::new(3);
        let (attacker, other): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..2 {
            throttle.failed(attacker, &AuthError::Missing);
        }
        assert!(!throttle.blocked(attacker), "two failures of three");
        throttle.failed(attacker, &AuthError::Missing);
        assert!(throttle.blocked(attacker));
        assert!(!throttle.blocked(other), "per address");
        tokio::time::advance(AUTH_FAILURE_WINDOW).await;
        assert!(!throttle.blocked(attacker), "the window passed");
        throttle.failed(attacker, &AuthError::Missing);
        assert!(!throttle.blocked(attacker), "a new window starts from one");
        let off = AuthThrottle::new(0);
        for _ in 0..100 {
            off.failed(attacker, &AuthError::Missing);
        }
        assert!(!off.blocked(attacker));
    }

    #[tokio::test(start_paused = true)]
    async fn the_bucket_allows_a_burst_then_the_rate() {
        let mut bucket = TokenBucket::new(2.0, 3.0);
        assert!((0..3).all(|_| bucket.allow()));
        assert!(!bucket.allow());
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(bucket.allow());
        assert!(!bucket.allow());
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(
            (0..10).filter(|_| bucket.allow()).count(),
            3,
            "capped at the burst"
        );
    }
}
