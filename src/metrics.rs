//! What the gateway exposes at `/metrics`, in the OpenMetrics text format
//! that Prometheus reads, through the `prometheus-client` crate.
//!
//! Counters and gauges are the crate's (atomics, updated on the hot paths
//! without locks). The two latency histograms are our own, lock-free
//! ([`Histogram`]): the crate's histogram takes a lock per observation, and
//! the delivery latency is observed once per batch written to each client,
//! from every worker at once. They are encoded through the crate like the
//! rest. Names end in `_total` for counters (the crate adds it), `_seconds`
//! for durations.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

use crate::event::Rejection;

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 15] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0,
];

/// A histogram of durations with fixed buckets, lock-free. Clones share
/// their counts.
#[derive(Debug, Clone, Default)]
pub struct Histogram(Arc<HistogramCounts>);

#[derive(Debug, Default)]
struct HistogramCounts {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, seconds: f64) {
        let seconds = seconds.max(0.0);
        let counts = &self.0;
        if let Some(index) = LATENCY_BUCKETS.iter().position(|bound| seconds <= *bound) {
            counts.buckets[index].fetch_add(1, Relaxed);
        }
        counts.count.fetch_add(1, Relaxed);
        counts.sum_us.fetch_add((seconds * 1e6) as u64, Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.0.count.load(Relaxed)
    }
}

impl TypedMetric for Histogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Histogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let counts = &self.0;
        let count = counts.count.load(Relaxed);
        let mut buckets: Vec<(f64, u64)> = LATENCY_BUCKETS
            .iter()
            .zip(&counts.buckets)
            .map(|(bound, n)| (*bound, n.load(Relaxed)))
            .collect();
        let within: u64 = buckets.iter().map(|(_, n)| n).sum();
        buckets.push((f64::INFINITY, count.saturating_sub(within)));
        let sum = counts.sum_us.load(Relaxed) as f64 / 1e6;
        encoder
            .encode_histogram::<prometheus_client::encoding::NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// The label of rejected events: why.
type Reasons = Family<Vec<(&'static str, &'static str)>, Counter>;

/// A new metric of type `M`, registered as `tactical_link_<name>`.
fn registered<M>(registry: &mut Registry, name: &str, help: &str) -> M
where
    M: prometheus_client::registry::Metric + Clone + Default,
{
    let metric = M::default();
    registry.register(name, help, metric.clone());
    metric
}

/// Declares [`Metrics`] from one list: each metric once, with its field,
/// its type, its name (after `tactical_link_`; counters get `_total` from
/// the encoder) and its help.
macro_rules! metrics {
    ($($(#[$doc:meta])* $field:ident: $kind:ty = $name:literal, $help:literal;)*) => {
        /// Every metric of one gateway, and the registry that encodes them.
        #[derive(Debug)]
        pub struct Metrics {
            $($(#[$doc])* pub $field: $kind,)*
            rejected: Reasons,
            registry: Registry,
        }

        impl Default for Metrics {
            fn default() -> Self {
                let mut registry = Registry::with_prefix("tactical_link");
                let rejected = Reasons::default();
                for reason in Rejection::REASONS {
                    let _ = rejected.get_or_create(&vec![("reason", reason)]);
                }
                registry.register("events_rejected", "Messages not relayed, by reason.", rejected.clone());
                Metrics {
                    $($field: registered(&mut registry, $name, $help),)*
                    rejected,
                    registry,
                }
            }
        }
    };
}

metrics! {
    /// Publisher's `ts` → relayed by the hub (events that carry `ts`).
    ingest_latency: Histogram = "ingest_latency_seconds", "From an event's ts (publisher clock) to its relay by the gateway.";
    /// Relayed by the hub → written to a client's socket (one sample per
    /// batch written, timed from its oldest frame).
    delivery_latency: Histogram = "delivery_latency_seconds", "From relay to the frame written to a client socket, per batch.";
    events_received: Counter = "events_received", "Messages taken off the event bus.";
    events_relayed: Counter = "events_relayed", "Valid events relayed to clients.";
    /// Pipeline events that came after a newer event of their stage.
    events_stale: Counter = "events_stale", "Pipeline events that came after a newer event of their stage: relayed, and they do not move it back.";
    /// Stages that went past their deadline (each time one does).
    stalls: Counter = "stalls", "Times a stage stayed processing past its deadline (--stage-deadline).";
    /// Stages stalled now.
    stages_stalled: Gauge = "stages_stalled", "Stages processing past their deadline now.";
    /// Progress frames a client that was behind skipped for a newer one.
    frames_conflated: Counter = "frames_conflated", "Progress frames skipped for a newer one of the same stage by clients that were behind.";
    /// Redis only: events the stream reader relayed before the recorder's
    /// reply for them came (or that this gateway's subscription missed).
    events_relayed_from_stream: Counter = "events_relayed_from_stream", "Redis only: events the stream reader relayed before the recorder's reply for them came (or that this gateway's subscription missed).";
    /// Redis only: times the stream reader found that entries after the
    /// last relayed one had been trimmed before it read them.
    history_gaps: Counter = "history_gaps", "Redis only: times entries were trimmed from the stream before this gateway relayed them (its clients miss those events).";
    /// 1 while this gateway holds the recorder lease.
    recorder_leader: Gauge = "recorder_leader", "Redis only: 1 while this gateway records the channel (holds the recorder lease).";
    /// 1 while this gateway holds the standby lease.
    recorder_standby: Gauge = "recorder_standby", "Redis only: 1 while this gateway is the recorder's standby (holds the standby lease, listens to the channel).";
    recorder_takeovers: Counter = "recorder_takeovers", "Redis only: times this gateway took the recorder lease.";
    /// Events a gateway recorded at a takeover that its predecessor had not.
    standby_recorded: Counter = "standby_recorded", "Redis only: plain PUBLISH events recorded at a takeover from the standby buffer because the previous recorder had not (without it they would have been lost).";
    /// Snapshots sent as a connection's start (a resume that failed too).
    snapshots: Counter = "snapshots", "Snapshots sent to connecting clients: those without a last_id, and those whose last_id was not retained (resume_failures).";
    /// Clients resumed from their last event id.
    resumes: Counter = "resumes", "Clients resumed from their last event id: a resumed frame and the events they missed instead of a snapshot.";
    /// Resumes refused for an id not retained: a snapshot instead.
    resume_failures: Counter = "resume_failures", "Clients whose last_id was not retained (too old, unknown, malformed): sent a snapshot with resume_failed instead.";
    /// Event frames replayed to resuming clients.
    events_replayed: Counter = "events_replayed", "Event frames replayed to resuming clients (the events they missed).";
    connections_open: Gauge = "connections_open", "Client connections open now (WebSocket and SSE).";
    connections_total: Counter = "connections", "Client connections accepted (WebSocket and SSE).";
    sse_connections: Counter = "sse_connections", "Client connections accepted over Server-Sent Events.";
    frames_sent: Counter = "frames_sent", "Frames written to WebSocket clients.";
    slow_consumer_disconnects: Counter = "slow_consumer_disconnects", "Clients disconnected for falling behind (close 4001).";
    heartbeat_timeouts: Counter = "heartbeat_timeouts", "Clients dropped for not answering heartbeats (close 4002).";
    client_frames_rejected: Counter = "client_frames_rejected", "Client frames that were not understood.";
    bus_connects: Counter = "bus_connects", "Successful connections to the event bus.";
    bus_disconnects: Counter = "bus_disconnects", "Losses of the event bus link.";
    bus_up: Gauge = "bus_up", "1 while the event bus link is up.";
    auth_failures: Counter = "auth_failures", "Connections and requests refused for a missing, invalid or expired token.";
    auth_throttled: Counter = "auth_throttled", "Authentications refused unread because their address failed too often (HTTP 429, close 4013).";
    token_expiries: Counter = "token_expiries", "Connections closed because their token expired (close 4401).";
    origin_refusals: Counter = "origin_refusals", "Requests refused for their Origin (HTTP 403).";
    host_refusals: Counter = "host_refusals", "HTTP requests refused for their Host header (HTTP 403).";
    limit_refusals: Counter = "limit_refusals", "Connections and requests refused by a per-IP or per-user limit.";
    /// Closed before TLS and HTTP (`--proxy-protocol`).
    proxy_refusals: Counter = "proxy_refusals", "Connections closed before HTTP: a trusted proxy's PROXY header missing, malformed, too long or late, or a peer that is not a trusted proxy (--proxy-protocol).";
    rate_limited: Counter = "rate_limited", "Connections closed for sending frames too fast (close 1008).";
}

impl Metrics {
    pub fn count_rejection(&self, rejection: &Rejection) {
        self.rejected
            .get_or_create(&vec![("reason", rejection.reason())])
            .inc();
    }

    pub fn rejected(&self, reason: &str) -> u64 {
        Rejection::REASONS
            .iter()
            .find(|known| **known == reason)
            .map_or(0, |reason| {
                self.rejected
                    .get_or_create(&vec![("reason", *reason)])
                    .get()
            })
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8192);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the first line of `text` that starts with `prefix`.
    fn value(text: &str, prefix: &str) -> String {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix} in {text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn histogram_buckets_are_cumulative_in_the_exposition() {
        let metrics = Metrics::default();
        for seconds in [0.0001, 0.0004, 0.003, 0.003, 20.0] {
            metrics.delivery_latency.observe(seconds);
        }
        let text = metrics.render();
        let line = |prefix: &str| value(&text, prefix);
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
            line("tactical_link_delivery_latency_seconds_bucket{le=\"10.0\"}"),
            "4"
        );
        assert_eq!(
            line("tactical_link_delivery_latency_seconds_bucket{le=\"+Inf\"}"),
            "5"
        );
        assert_eq!(line("tactical_link_delivery_latency_seconds_count"), "5");
        assert!(text.contains("# TYPE tactical_link_ingest_latency_seconds histogram"));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn counters_gauges_and_reasons_are_exposed_by_name() {
        let metrics = Metrics::default();
        metrics.events_relayed.inc_by(3);
        metrics.connections_open.inc();
        metrics.count_rejection(&Rejection::NotJson("x".into()));
        let text = metrics.render();
        assert_eq!(value(&text, "tactical_link_events_relayed_total"), "3");
        assert_eq!(value(&text, "tactical_link_connections_open"), "1");
        assert_eq!(
            value(
                &text,
                "tactical_link_events_rejected_total{reason=\"not_json\"}"
            ),
            "1"
        );
        assert_eq!(
            value(
                &text,
                "tactical_link_events_rejected_total{reason=\"too_deep\"}"
            ),
            "0"
        );
        assert_eq!(metrics.rejected("not_json"), 1);
        assert_eq!(metrics.rejected("no_such_reason"), 0);
    }
}
