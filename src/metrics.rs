//! Counters and gauges the gateway exposes at `/metrics` (Prometheus text).
//!
//! Plain atomics, updated on the hot paths without locks; rendering reads
//! them with relaxed ordering, which is exact enough for monitoring.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use crate::event::Rejection;

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 15] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0,
];

/// A Prometheus histogram of durations with fixed buckets, lock-free.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, seconds: f64) {
        let seconds = seconds.max(0.0);
        if let Some(index) = LATENCY_BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[index].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_us.fetch_add((seconds * 1e6) as u64, Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_us.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// Every metric of one gateway.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Publisher's `ts` → relayed by the hub (events that carry `ts`).
    pub ingest_latency: Histogram,
    /// Relayed by the hub → written to a client's socket (one sample per
    /// batch written, timed from its oldest frame).
    pub delivery_latency: Histogram,
    pub events_received: AtomicU64,
    pub events_relayed: AtomicU64,
    /// Redis only: events the stream reader relayed before the recorder's
    /// reply for them came (or that this gateway's subscription missed).
    pub events_relayed_from_stream: AtomicU64,
    /// Redis only: times the stream reader found that entries after the
    /// last relayed one had been trimmed before it read them.
    pub history_gaps: AtomicU64,
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
    pub auth_throttled: AtomicU64,
    pub token_expiries: AtomicU64,
    pub origin_refusals: AtomicU64,
    pub host_refusals: AtomicU64,
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
            "tactical_link_events_relayed_from_stream_total",
            "Redis only: events the stream reader relayed before the recorder's reply for them came (or that this gateway's subscription missed).",
            self.events_relayed_from_stream.load(Relaxed),
        );
        counter(
            "tactical_link_history_gaps_total",
            "Redis only: times entries were trimmed from the stream before this gateway relayed them (its clients miss those events).",
            self.history_gaps.load(Relaxed),
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
            "tactical_link_auth_throttled_total",
            "Authentications refused unread because their address failed too often (HTTP 429, close 4013).",
            self.auth_throttled.load(Relaxed),
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
            "tactical_link_host_refusals_total",
            "HTTP requests refused for their Host header (HTTP 403).",
            self.host_refusals.load(Relaxed),
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
        self.ingest_latency.render(
            &mut out,
            "tactical_link_ingest_latency_seconds",
            "From an event's ts (publisher clock) to its relay by the gateway.",
        );
        self.delivery_latency.render(
            &mut out,
            "tactical_link_delivery_latency_seconds",
            "From relay to the frame written to a client socket, per batch.",
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_in_the_exposition() {
        let metrics = Metrics::default();
        for seconds in [0.0001, 0.0004, 0.003, 0.003, 20.0] {
            metrics.delivery_latency.observe(seconds);
        }
        let text = metrics.render();
        let line = |prefix: &str| {
            text.lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("{prefix} in {text}"))
                .rsplit(' ')
                .next()
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            line("tactical_link_delivery_latency_seconds_bucket{le=\"0.00025\"}"),
            "1"
        );
        assert_eq!(
            line("tactical_link_delivery_latency_seconds_bucket{le=\"0.0005\"}"),
            "2"
        );
        assert_eq!(
            line("tactical_link_delivery_latency_seconds_bucket{le=\"0.005\"}"),
            "4"
        );
        assert_eq!(
            line("tactical_link_delivery_latency_seconds_bucket{le=\"10\"}"),
            "4"
        );
        assert_eq!(
            line("tactical_link_delivery_latency_seconds_bucket{le=\"+Inf\"}"),
            "5"
        );
        assert_eq!(line("tactical_link_delivery_latency_seconds_count"), "5");
        assert!(text.contains("# TYPE tactical_link_ingest_latency_seconds histogram"));
    }
}
