//! The result of one benchmark run: a serialisable [`Report`] (written as
//! JSON with `--json`) and the readable table printed at the end.

use std::collections::BTreeMap;
use std::fmt::Write as _;

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

fn us(value: u64) -> String {
    if value >= 10_000_000 {
        format!("{:.1} s", value as f64 / 1e6)
    } else if value >= 10_000 {
        format!("{:.1} ms", value as f64 / 1e3)
    } else if value >= 1_000 {
        format!("{:.2} ms", value as f64 / 1e3)
    } else {
        format!("{value} µs")
    }
}

fn kib(value: Option<u64>) -> String {
    value.map_or("-".into(), |v| format!("{:.1} MiB", v as f64 / 1024.0))
}

fn opt(value: Option<f64>, unit: &str, decimals: usize) -> String {
    value.map_or("-".into(), |v| format!("{v:.decimals$}{unit}"))
}

fn codes(codes: &BTreeMap<u16, u64>) -> String {
    if codes.is_empty() {
        return "none".into();
    }
    codes
        .iter()
        .map(|(code, n)| format!("{code}×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Report {
    /// The readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let mut row = |key: &str, value: String| {
            let _ = writeln!(out, "  {key:<26} {value}");
        };
        let s = &self.setup;
        let title = if self.case.is_empty() {
            self.label.clone()
        } else {
            format!("{} · {}", self.label, self.case)
        };
        row("run", title);
        row("target", self.target.clone());
        row(
            "load",
            format!(
                "{} clients ({} slow) · {} events at {}/s ({} events, {} B padding) · auth {}{}",
                s.clients,
                s.slow_clients,
                s.events,
                s.rate,
                s.event_kind,
                s.payload_bytes,
                if s.auth { "on" } else { "off" },
                if s.publish.is_empty() {
                    String::new()
                } else {
                    format!(" · published {}", s.publish)
                },
            ),
        );
        let c = &self.connect;
        row(
            "clients",
            format!(
                "{} connected, {} failed, in {:.1} s from {} source address(es)",
                c.connected, c.failed, c.seconds, c.source_addresses
            ),
        );
        for (reason, n) in &c.failures {
            row("  failure", format!("{n} × {reason}"));
        }
        let d = &self.deliveries;
        row(
            "deliveries",
            format!(
                "{} expected, {} received, {} lost, {} duplicated, {} reordered",
                d.expected, d.received, d.lost, d.duplicated, d.reordered
            ),
        );
        if d.unexpected > 0 || d.ended_early > 0 || !d.close_codes.is_empty() {
            row(
                "  connections",
                format!(
                    "{} ended early; close codes {}; {} foreign events",
                    d.ended_early,
                    codes(&d.close_codes),
                    d.unexpected
                ),
            );
        }
        match &self.latency_us {
            Some(l) => row(
                "latency",
                format!(
                    "p50 {} · p90 {} · p99 {} · p99.9 {} · max {}",
                    us(l.p50),
                    us(l.p90),
                    us(l.p99),
                    us(l.p999),
                    us(l.max)
                ),
            ),
            None => row("latency", "-".into()),
        }
        let p = &self.publish;
        if s.events > 0 {
            row(
                "publish",
                format!(
                    "{} published at {:.0}/s over {:.1} s, {} errors, at most {:.1} ms behind",
                    p.published, p.achieved_rate, p.seconds, p.errors, p.max_behind_ms
                ),
            );
            let t = &self.throughput;
            row(
                "delivered",
                format!(
                    "{:.0} events/s over {:.1} s (drain {:.1} s{})",
                    t.delivered_per_s,
                    t.window_s,
                    t.drain_s,
                    if t.drain_capped { ", capped" } else { "" }
                ),
            );
        }
        let v = &self.server;
        row(
            "server RSS",
            format!(
                "{} before · {} connected · {} after · peak {} · {} per connection",
                kib(v.rss_before_kib),
                kib(v.rss_connected_kib),
                kib(v.rss_after_kib),
                kib(v.rss_peak_kib),
                opt(v.rss_per_connection_bytes.map(|b| b / 1024.0), " KiB", 1),
            ),
        );
        if let Some(tcp) = v.tcp_mem_peak_kib {
            row(
                "kernel TCP buffers",
                format!("peak {} (machine-wide)", kib(Some(tcp))),
            );
        }
        if s.events > 0 {
            row(
                "CPU (publish phase)",
                format!(
                    "server {} · redis {} · bench {:.0}% · kernel irq {} · other processes {} (100% = one core)",
                    opt(v.cpu_percent, "%", 0),
                    opt(v.redis_cpu_percent, "%", 0),
                    v.bench_cpu_percent,
                    opt(v.irq_cpu_percent, "%", 0),
                    opt(v.others_cpu_percent, "%", 0),
                ),
            );
        }
        if let Some(slow) = &self.slow {
            row(
                "slow clients",
                format!(
                    "{}: close codes {}; {} still open{}",
                    slow.clients,
                    codes(&slow.close_codes),
                    slow.still_open,
                    slow.ended
                        .iter()
                        .map(|(why, n)| format!("; {n} ended: {why}"))
                        .collect::<String>()
                ),
            );
        }
        let metric = |name: &str| self.server_metrics.get(name).copied();
        for (stage, name) in [
            ("publish → relay", "ingest"),
            ("relay → socket write", "delivery"),
        ] {
            let sum = metric(&format!("tactical_link_{name}_latency_seconds_sum"));
            let count = metric(&format!("tactical_link_{name}_latency_seconds_count"));
            if let (Some(sum), Some(count)) = (sum, count)
                && count > 0.0
            {
                row(
                    "gateway mean",
                    format!(
                        "{stage} {:.2} ms over {count} samples",
                        1000.0 * sum / count
                    ),
                );
            }
        }
        for note in &self.notes {
            row("note", note.clone());
        }
        out
    }
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

    #[test]
    fn units_are_readable() {
        assert_eq!(us(850), "850 µs");
        assert_eq!(us(1_850), "1.85 ms");
        assert_eq!(us(25_300), "25.3 ms");
        assert_eq!(us(45_000_000), "45.0 s");
        assert_eq!(kib(Some(2048)), "2.0 MiB");
        assert_eq!(kib(None), "-");
    }

    #[test]
    fn the_table_shows_every_figure_and_round_trips_through_json() {
        let mut report = Report {
            label: "tactical-link".into(),
            case: "100x2000".into(),
            ..Report::default()
        };
        report.setup.clients = 100;
        report.setup.events = 20_000;
        report.setup.rate = 2000.0;
        report.connect.connected = 100;
        report.deliveries.expected = 2_000_000;
        report.deliveries.received = 1_999_990;
        report.deliveries.lost = 10;
        report.deliveries.close_codes.insert(4001, 2);
        report.latency_us = Some(Latency {
            p50: 400,
            p99: 1_800,
            ..Latency::default()
        });
        report.server.rss_per_connection_bytes = Some(7.5 * 1024.0);
        report.slow = Some(Slow {
            clients: 3,
            close_codes: [(4001, 3)].into(),
            still_open: 0,
            ended: [("connection reset".to_owned(), 1)].into(),
        });
        let table = report.table();
        for needle in [
            "tactical-link · 100x2000",
            "100 connected",
            "2000000 expected, 1999990 received, 10 lost",
            "close codes 4001×2",
            "p50 400 µs",
            "p99 1.80 ms",
            "7.5 KiB per connection",
            "3: close codes 4001×3; 0 still open; 1 ended: connection reset",
        ] {
            assert!(table.contains(needle), "{needle:?} missing from\n{table}");
        }
        let json = serde_json::to_string(&report).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back.deliveries.lost, 10);
        assert_eq!(back.slow.unwrap().close_codes[&4001], 3);
    }
}
