//! The standard cases' targets (docs/performance.md), and whether a
//! server's medians meet them.

use super::Medians;
use super::format::{fmt_kib, fmt_ratio, fmt_us};

/// The target of a standard case (docs/performance.md).
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub case: &'static str,
    pub text: &'static str,
    pub p90_us: Option<u64>,
    pub p99_us: Option<u64>,
    /// Delivered events/s at least this many times the baseline's.
    pub throughput_ratio: Option<f64>,
    pub rss_per_connection_bytes: Option<f64>,
}

/// The standard cases, in the order they are shown.
pub const TARGETS: &[Target] = &[
    Target {
        case: "100x2000",
        text: "0 lost; p99 ≤ 2 ms",
        p90_us: None,
        p99_us: Some(2_000),
        throughput_ratio: None,
        rss_per_connection_bytes: None,
    },
    Target {
        case: "1000x500",
        text: "0 lost; ≥ 10× baseline events/s; p99 ≤ 30 ms",
        p90_us: None,
        p99_us: Some(30_000),
        throughput_ratio: Some(10.0),
        rss_per_connection_bytes: None,
    },
    Target {
        case: "10000x5",
        text: "0 lost; p90 ≤ 150 ms",
        p90_us: Some(150_000),
        p99_us: None,
        throughput_ratio: None,
        rss_per_connection_bytes: None,
    },
    Target {
        case: "idle-15000",
        text: "≤ 10 KiB server RSS per connection",
        p90_us: None,
        p99_us: None,
        throughput_ratio: None,
        rss_per_connection_bytes: Some(10.0 * 1024.0),
    },
];

/// Whether `ours` meets `target` (with `baseline` for ratio targets), and why not.
pub fn verdict(target: &Target, ours: &Medians, baseline: Option<&Medians>) -> (bool, Vec<String>) {
    let mut misses = Vec::new();
    let latency_case = target.rss_per_connection_bytes.is_none();
    if latency_case && ours.worst_lost > 0 {
        misses.push(format!("{} lost (worst trial)", ours.worst_lost));
    }
    if (ours.connected as usize) < ours.clients {
        misses.push(format!(
            "{} of {} clients connected",
            ours.connected, ours.clients
        ));
    }
    let mut check = |name: &str, value: Option<f64>, limit: Option<u64>| {
        if let Some(limit) = limit {
            match value {
                Some(v) if v <= limit as f64 => {}
                Some(v) => misses.push(format!(
                    "{name} {} > {}",
                    fmt_us(Some(v)),
                    fmt_us(Some(limit as f64))
                )),
                None => misses.push(format!("no {name}")),
            }
        }
    };
    check("p90", ours.p90, target.p90_us);
    check("p99", ours.p99, target.p99_us);
    if let Some(wanted) = target.throughput_ratio {
        let ratio = baseline.and_then(|b| Some(ours.delivered_per_s? / b.delivered_per_s?));
        match ratio {
            Some(r) if r >= wanted => {}
            Some(r) => misses.push(format!(
                "throughput {} the baseline's < {wanted}×",
                fmt_ratio(Some(r))
            )),
            None => misses.push("no baseline throughput to compare".into()),
        }
    }
    if let Some(limit) = target.rss_per_connection_bytes {
        match ours.rss_per_connection {
            Some(v) if v <= limit => {}
            Some(v) => misses.push(format!(
                "{} per connection > {}",
                fmt_kib(Some(v)),
                fmt_kib(Some(limit))
            )),
            None => misses.push("no RSS figure".into()),
        }
    }
    (misses.is_empty(), misses)
}
