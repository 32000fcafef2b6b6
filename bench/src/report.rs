//! The result of one benchmark run: a serialisable [`Report`], written as
//! JSON with `--json` (and read back by `summarize`); [`crate::table`]
//! prints it.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::publisher::PublishOutcome;

/// Everything one run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// Which server: `tactical-link`, `baseline`, or what `--label` says.
    pub label: String,
    /// The standard case this run belongs to, if any (`--case`).
    pub case: String,
    pub target: String,
    /// When the run started, in microseconds since the epoch.
    pub started_us: u64,
    pub setup: Setup,
    pub connect: Connect,
    pub deliveries: Deliveries,
    /// Publish→receive latency of every delivery to a reading client, µs.
    pub latency_us: Option<Latency>,
    pub publish: PublishOutcome,
    pub throughput: Throughput,
    pub server: Server,
    pub slow: Option<Slow>,
    /// Counters the gateway exposes at /metrics, when it does.
    pub server_metrics: BTreeMap<String, f64>,
    /// The machine's load averages (1, 5, 15 min) as the run started.
    #[serde(default)]
    pub load_average: Option<[f64; 3]>,
    /// `/metrics` scraped while events were published (`--scrape-metrics`).
    #[serde(default)]
    pub scrapes: Option<Scrapes>,
    pub notes: Vec<String>,
}

/// How the run was set up.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Setup {
    pub clients: usize,
    pub slow_clients: usize,
    pub events: u64,
    pub rate: f64,
    pub event_kind: String,
    pub payload_bytes: usize,
    pub prefill: u64,
    pub auth: bool,
    pub readiness: String,
    pub open_files_limit: u64,
    /// How events were published: `redis`, or `http` (`POST /api/events`);
    /// and the gateway's bus. Empty in reports from before it was recorded.
    #[serde(default)]
    pub publish: String,
    /// How the clients read: `ws` or `sse`. Empty in reports from before
    /// it was recorded (all WebSocket).
    #[serde(default)]
    pub transport: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Connect {
    pub requested: usize,
    pub connected: usize,
    pub failed: usize,
    /// Failures by reason.
    pub failures: BTreeMap<String, u64>,
    /// From the first connect to the last client ready.
    pub seconds: f64,
    pub source_addresses: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Deliveries {
    /// Events × reading clients (those that never connected included).
    pub expected: u64,
    pub received: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
    /// Deliveries of sequence numbers this run did not publish.
    pub unexpected: u64,
    pub clients_with_loss: u64,
    /// Reading clients whose connection ended before the run did.
    pub ended_early: u64,
    /// Close codes the reading clients received.
    pub close_codes: BTreeMap<u16, u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Latency {
    pub count: u64,
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Latency {
    pub fn from_histogram(histogram: &Histogram<u64>) -> Option<Latency> {
        if histogram.is_empty() {
            return None;
        }
        // highest_equivalent: report the top of each bucket, never below
        // the value that was recorded.
        let at = |q: f64| histogram.highest_equivalent(histogram.value_at_quantile(q));
        Some(Latency {
            count: histogram.len(),
            min: histogram.min(),
            mean: histogram.mean(),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            p999: at(0.999),
            max: histogram.highest_equivalent(histogram.max()),
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Throughput {
    /// From the first publish to the last delivery.
    pub window_s: f64,
    /// Deliveries per second over that window.
    pub delivered_per_s: f64,
    /// Waiting for the last deliveries stopped at `--drain-max` while
    /// deliveries were still coming.
    pub drain_capped: bool,
    /// Seconds spent waiting for deliveries after the last publish.
    pub drain_s: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Server {
    pub pid: Option<u32>,
    pub rss_before_kib: Option<u64>,
    pub rss_connected_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
    /// Highest RSS sampled during the publish phase.
    pub rss_peak_kib: Option<u64>,
    /// Highest kernel TCP buffer memory (machine-wide) in the same samples.
    #[serde(default)]
    pub tcp_mem_peak_kib: Option<u64>,
    /// (connected − before) / connected clients.
    pub rss_per_connection_bytes: Option<f64>,
    /// CPU time used from the first publish to the end of the drain.
    pub cpu_s: Option<f64>,
    /// The same as a share of one core.
    pub cpu_percent: Option<f64>,
    pub redis_cpu_s: Option<f64>,
    pub redis_cpu_percent: Option<f64>,
    /// The benchmark process itself (clients and publisher), same window.
    pub bench_cpu_s: f64,
    pub bench_cpu_percent: f64,
    /// Every process of the machine, same window (200% = two cores busy).
    pub machine_cpu_percent: Option<f64>,
    /// Of that, interrupts: mostly loopback TCP, charged to no process.
    pub irq_cpu_percent: Option<f64>,
    /// What is left for processes other than the server, Redis and the
    /// benchmark: other work on a shared machine, noise in the figures.
    pub others_cpu_percent: Option<f64>,
}

/// The scrapes of `/metrics` during the publish phase and the drain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scrapes {
    /// Seconds from the start of one scrape to the start of the next.
    pub every_s: f64,
    /// Scrapes answered with 200.
    pub ok: u64,
    /// Scrapes refused, failed or not answered within 5 s.
    pub failed: u64,
    /// Bytes of the last answer.
    pub bytes: usize,
    /// Mean and longest time from connect to the whole answer read.
    pub mean_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Slow {
    pub clients: usize,
    /// Close codes the slow clients found once they read again.
    pub close_codes: BTreeMap<u16, u64>,
    /// Slow clients still open at the end, with no close frame.
    pub still_open: u64,
    /// How the others ended without a close frame, by error.
    #[serde(default)]
    pub ended: BTreeMap<String, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tally::new_histogram;

    #[test]
    fn latency_percentiles_come_from_the_histogram() {
        let mut histogram = new_histogram(3);
        for value in 1..=1000 {
            histogram.record(value).unwrap();
        }
        let latency = Latency::from_histogram(&histogram).unwrap();
        assert_eq!(latency.count, 1000);
        assert_eq!(latency.p50, 500);
        assert_eq!(latency.p90, 900);
        assert_eq!(latency.p99, 990);
        assert_eq!(latency.max, 1000);
        assert!(Latency::from_histogram(&new_histogram(3)).is_none());
    }
}
