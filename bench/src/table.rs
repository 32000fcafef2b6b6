//! One run's [`Report`] as the readable table printed at the end of a run:
//! one labelled row per figure, section by section.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::report::Report;

/// Rows of `key value`, the keys in a column.
#[derive(Default)]
struct Rows(String);

impl Rows {
    fn row(&mut self, key: &str, value: String) {
        let _ = writeln!(self.0, "  {key:<26} {value}");
    }
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
        let mut rows = Rows::default();
        self.setup_rows(&mut rows);
        self.delivery_rows(&mut rows);
        self.publish_rows(&mut rows);
        self.server_rows(&mut rows);
        self.gateway_rows(&mut rows);
        for note in &self.notes {
            rows.row("note", note.clone());
        }
        rows.0
    }

    /// What ran against what, and how the clients connected.
    fn setup_rows(&self, rows: &mut Rows) {
        let s = &self.setup;
        let title = if self.case.is_empty() {
            self.label.clone()
        } else {
            format!("{} · {}", self.label, self.case)
        };
        rows.row("run", title);
        rows.row("target", self.target.clone());
        if let Some([one, five, fifteen]) = self.load_average {
            rows.row(
                "machine load",
                format!("{one:.2} {five:.2} {fifteen:.2} (1, 5, 15 min) at the start"),
            );
        }
        let published = if s.publish.is_empty() {
            String::new()
        } else {
            format!(" · published {}", s.publish)
        };
        rows.row(
            "load",
            format!(
                "{} clients ({} slow) · {} events at {}/s ({} events, {} B padding) · auth {}{published}",
                s.clients,
                s.slow_clients,
                s.events,
                s.rate,
                s.event_kind,
                s.payload_bytes,
                if s.auth { "on" } else { "off" },
            ),
        );
        let c = &self.connect;
        rows.row(
            "clients",
            format!(
                "{} connected, {} failed, in {:.1} s from {} source address(es)",
                c.connected, c.failed, c.seconds, c.source_addresses
            ),
        );
        for (reason, n) in &c.failures {
            rows.row("  failure", format!("{n} × {reason}"));
        }
    }

    /// Loss, order and latency of the deliveries.
    fn delivery_rows(&self, rows: &mut Rows) {
        let d = &self.deliveries;
        rows.row(
            "deliveries",
            format!(
                "{} expected, {} received, {} lost, {} duplicated, {} reordered",
                d.expected, d.received, d.lost, d.duplicated, d.reordered
            ),
        );
        if d.unexpected > 0 || d.ended_early > 0 || !d.close_codes.is_empty() {
            rows.row(
                "  connections",
                format!(
                    "{} ended early; close codes {}; {} foreign events",
                    d.ended_early,
                    codes(&d.close_codes),
                    d.unexpected
                ),
            );
        }
        let latency = self.latency_us.as_ref().map_or("-".into(), |l| {
            format!(
                "p50 {} · p90 {} · p99 {} · p99.9 {} · max {}",
                us(l.p50),
                us(l.p90),
                us(l.p99),
                us(l.p999),
                us(l.max)
            )
        });
        rows.row("latency", latency);
    }

    /// What the publisher achieved and how fast deliveries came.
    fn publish_rows(&self, rows: &mut Rows) {
        if self.setup.events == 0 {
            return;
        }
        let p = &self.publish;
        rows.row(
            "publish",
            format!(
                "{} published at {:.0}/s over {:.1} s, {} errors, at most {:.1} ms behind",
                p.published, p.achieved_rate, p.seconds, p.errors, p.max_behind_ms
            ),
        );
        let t = &self.throughput;
        rows.row(
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

    /// The server's memory and everyone's CPU; how the slow clients ended.
    fn server_rows(&self, rows: &mut Rows) {
        let v = &self.server;
        rows.row(
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
            rows.row(
                "kernel TCP buffers",
                format!("peak {} (machine-wide)", kib(Some(tcp))),
            );
        }
        if self.setup.events > 0 {
            rows.row(
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
            let ended: String = slow
                .ended
                .iter()
                .map(|(why, n)| format!("; {n} ended: {why}"))
                .collect();
            rows.row(
                "slow clients",
                format!(
                    "{}: close codes {}; {} still open{ended}",
                    slow.clients,
                    codes(&slow.close_codes),
                    slow.still_open,
                ),
            );
        }
    }

    /// The gateway's own split of the latency, from its /metrics, and the
    /// scrapes of /metrics during the run.
    fn gateway_rows(&self, rows: &mut Rows) {
        if let Some(s) = &self.scrapes {
            rows.row(
                "/metrics scrapes",
                format!(
                    "{} every {} s, {} failed · {:.2} ms mean, {:.2} ms max · {} bytes",
                    s.ok, s.every_s, s.failed, s.mean_ms, s.max_ms, s.bytes
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
                rows.row(
                    "gateway mean",
                    format!(
                        "{stage} {:.2} ms over {count} samples",
                        1000.0 * sum / count
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Latency, Scrapes, Slow};

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
        report.load_average = Some([1.5, 2.25, 3.0]);
        report.scrapes = Some(Scrapes {
            every_s: 1.0,
            ok: 12,
            failed: 1,
            bytes: 9000,
            mean_ms: 0.8,
            max_ms: 2.5,
        });
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
            "1.50 2.25 3.00 (1, 5, 15 min)",
            "12 every 1 s, 1 failed · 0.80 ms mean, 2.50 ms max · 9000 bytes",
        ] {
            assert!(table.contains(needle), "{needle:?} missing from\n{table}");
        }
        let json = serde_json::to_string(&report).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back.deliveries.lost, 10);
        assert_eq!(back.slow.unwrap().close_codes[&4001], 3);
        assert_eq!(back.load_average, report.load_average);
        assert_eq!(back.scrapes, report.scrapes);
    }
}
