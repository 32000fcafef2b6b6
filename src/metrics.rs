//! Counters and gauges the gateway exposes at `/metrics` (Prometheus text).
//!
//! Plain atomics, updated on the hot paths without locks; rendering reads
//! them with relaxed ordering, which is exact enough for monitoring.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use crate::event::Rejection;

/// Every metric of one gateway.
#[derive(Debug, Default)]
pub struct Metrics {
    pub events_received: AtomicU64,
    pub events_relayed: AtomicU64,
    rejected: [AtomicU64; Rejection::REASONS.len()],
    pub connections_open: AtomicI64,
    pub connections_total: AtomicU64,
    pub frames_sent: AtomicU64,
    pub slow_consumer_disconnects: AtomicU64,
    pub heartbeat_timeouts: AtomicU64,
    pub client_frames_rejected: AtomicU64,
    pub bus_connects: AtomicU64,
    pub bus_disconnects: AtomicU64,
    pub bus_up: AtomicI64,
    pub auth_failures: AtomicU64,
    pub token_expiries: AtomicU64,
    pub origin_refusals: AtomicU64,
    pub limit_refusals: AtomicU64,
    pub rate_limited: AtomicU64,
}

impl Metrics {
    pub fn count_rejection(&self, rejection: &Rejection) {
        let index = Rejection::REASONS
            .iter()
            .position(|reason| *reason == rejection.reason())
            .expect("every rejection has a listed reason");
        self.rejected[index].fetch_add(1, Relaxed);
    }

    pub fn rejected(&self, reason: &str) -> u64 {
        Rejection::REASONS
            .iter()
            .position(|r| *r == reason)
            .map(|i| self.rejected[i].load(Relaxed))
            .unwrap_or(0)
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            "tactical_link_events_received_total",
            "Messages taken off the event bus.",
            self.events_received.load(Relaxed),
        );
        counter(
            "tactical_link_events_relayed_total",
            "Valid events relayed to clients.",
            self.events_relayed.load(Relaxed),
        );
        counter(
            "tactical_link_connections_total",
            "WebSocket connections accepted.",
            self.connections_total.load(Relaxed),
        );
        counter(
            "tactical_link_frames_sent_total",
            "Frames written to WebSocket clients.",
            self.frames_sent.load(Relaxed),
        );
        counter(
            "tactical_link_slow_consumer_disconnects_total",
            "Clients disconnected for falling behind (close 4001).",
            self.slow_consumer_disconnects.load(Relaxed),
        );
        counter(
            "tactical_link_heartbeat_timeouts_total",
            "Clients dropped for not answering heartbeats (close 4002).",
            self.heartbeat_timeouts.load(Relaxed),
        );
        counter(
            "tactical_link_client_frames_rejected_total",
            "Client frames that were not understood.",
            self.client_frames_rejected.load(Relaxed),
        );
        counter(
            "tactical_link_bus_connects_total",
            "Successful connections to the event bus.",
            self.bus_connects.load(Relaxed),
        );
        counter(
            "tactical_link_bus_disconnects_total",
            "Losses of the event bus link.",
            self.bus_disconnects.load(Relaxed),
        );
        counter(
            "tactical_link_auth_failures_total",
            "Connections refused for a missing, invalid or expired token.",
            self.auth_failures.load(Relaxed),
        );
        counter(
            "tactical_link_token_expiries_total",
            "Connections closed because their token expired (close 4401).",
            self.token_expiries.load(Relaxed),
        );
        counter(
            "tactical_link_origin_refusals_total",
            "WebSocket upgrades refused for their Origin (HTTP 403).",
            self.origin_refusals.load(Relaxed),
        );
        counter(
            "tactical_link_limit_refusals_total",
            "Connections refused by a per-IP or per-user connection limit.",
            self.limit_refusals.load(Relaxed),
        );
        counter(
            "tactical_link_rate_limited_total",
            "Connections closed for sending frames too fast (close 1008).",
            self.rate_limited.load(Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP tactical_link_events_rejected_total Messages not relayed, by reason.\n# TYPE tactical_link_events_rejected_total counter"
        );
        for (reason, value) in Rejection::REASONS.iter().zip(&self.rejected) {
            let _ = writeln!(
                out,
                "tactical_link_events_rejected_total{{reason=\"{reason}\"}} {}",
                value.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP tactical_link_connections_open WebSocket connections open now.\n# TYPE tactical_link_connections_open gauge\ntactical_link_connections_open {}",
            self.connections_open.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP tactical_link_bus_up 1 while the event bus link is up.\n# TYPE tactical_link_bus_up gauge\ntactical_link_bus_up {}",
            self.bus_up.load(Relaxed)
        );
        out
    }
}
