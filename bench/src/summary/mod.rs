//! `tactical-link-bench summarize DIR`: the JSON reports of many runs,
//! grouped by case and server, reduced to medians, shown side by side with
//! ratios and the targets of the standard cases, as Markdown (spliced into
//! docs/performance.md between two markers) and as an SVG latency plot.
//!
//! This module loads the reports and takes the medians; [`targets`] holds
//! the standard cases' targets and verdicts, [`markdown`] and [`svg`]
//! write the two outputs, [`format`] the figures in both. With
//! `--compare BEFORE,AFTER`, [`compare`] sets two builds side by side
//! instead.

pub mod compare;
pub mod format;
pub mod markdown;
pub mod svg;
pub mod targets;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use crate::files;
use crate::report::Report;
pub use markdown::{BEGIN, END, markdown};
pub use svg::latency_svg;
pub use targets::{TARGETS, Target, verdict};

/// Label of our gateway, of the baseline and of the floor, in the reports.
pub const OURS: &str = "tactical-link";
pub const BASELINE: &str = "baseline";
pub const FLOOR: &str = "floor";

#[derive(Debug, Clone, Args)]
pub struct SummarizeArgs {
    /// Directory holding the runs' JSON reports.
    pub dir: PathBuf,
    /// Splice the tables into this Markdown file.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Write the latency plot here (SVG).
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// A sentence on what was measured (commit, machine), shown under the date.
    #[arg(long, default_value = "")]
    pub context: String,
    /// Two labels (`--label` of the runs), BEFORE,AFTER: set the two builds
    /// side by side, between markers of their own, instead of the summary.
    #[arg(long, value_name = "BEFORE,AFTER", value_parser = two_labels)]
    pub compare: Option<(String, String)>,
}

/// `BEFORE,AFTER`: two labels, neither empty.
fn two_labels(text: &str) -> Result<(String, String), String> {
    match text.split_once(',') {
        Some((before, after))
            if !before.is_empty() && !after.is_empty() && !after.contains(',') =>
        {
            Ok((before.to_owned(), after.to_owned()))
        }
        _ => Err(format!("{text:?}: expected two labels, BEFORE,AFTER")),
    }
}

/// Runs `tactical-link-bench summarize`.
pub fn run(args: &SummarizeArgs) -> anyhow::Result<()> {
    let reports = load(&args.dir)?;
    anyhow::ensure!(
        !reports.is_empty(),
        "no JSON report in {}",
        args.dir.display()
    );
    if let Some((before, after)) = &args.compare {
        return write_comparison(args, &reports, before, after);
    }
    let groups = group(&reports);
    let svg_link = match (&args.svg, &args.markdown) {
        (Some(svg), Some(md)) => Some(relative_to(svg, md.parent().unwrap_or(Path::new("")))),
        (Some(svg), None) => Some(svg.display().to_string()),
        _ => None,
    };
    let section = markdown(&groups, &reports, svg_link.as_deref(), &args.context);
    println!("{section}");
    if let Some(svg) = &args.svg {
        files::write(svg, &latency_svg(&groups))?;
    }
    if let Some(md) = &args.markdown {
        files::splice_into(md, &section, markdown::BEGIN, markdown::END)?;
    }
    Ok(())
}

/// `--compare`: printed, and spliced into `--markdown` between its markers.
fn write_comparison(
    args: &SummarizeArgs,
    reports: &[Report],
    before: &str,
    after: &str,
) -> anyhow::Result<()> {
    for label in [before, after] {
        anyhow::ensure!(
            reports.iter().any(|r| r.label == label),
            "no run labelled {label} in {}",
            args.dir.display()
        );
    }
    let section = compare::compare(reports, before, after, &args.context);
    println!("{section}");
    if let Some(md) = &args.markdown {
        files::splice_into(md, &section, compare::COMPARE_BEGIN, compare::COMPARE_END)?;
    }
    Ok(())
}

fn relative_to(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Every `*.json` report in `dir`, sorted by start time.
pub fn load(dir: &Path) -> anyhow::Result<Vec<Report>> {
    let mut reports = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path)?;
            let report: Report = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a benchmark report", path.display()))?;
            reports.push(report);
        }
    }
    reports.sort_by_key(|r| r.started_us);
    Ok(reports)
}

/// Medians of one server's trials of one case.
#[derive(Debug, Clone, Default)]
pub struct Medians {
    pub trials: usize,
    pub clients: usize,
    pub rate: f64,
    pub connected: f64,
    pub expected: f64,
    pub lost: f64,
    /// Largest loss of any trial.
    pub worst_lost: u64,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
    pub max: Option<f64>,
    pub delivered_per_s: Option<f64>,
    pub server_cpu: Option<f64>,
    pub redis_cpu: Option<f64>,
    pub bench_cpu: Option<f64>,
    /// Other processes of the shared machine during the publish phase.
    pub others_cpu: Option<f64>,
    pub rss_per_connection: Option<f64>,
    pub rss_peak_kib: Option<f64>,
    pub drain_capped: usize,
    /// Slow clients closed with 4001 (median), when there were slow clients.
    pub slow_closed: Option<f64>,
}

/// The median of the values present.
pub fn median(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let mut values: Vec<f64> = values
        .into_iter()
        .flatten()
        .filter(|v| v.is_finite())
        .collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

impl Medians {
    pub fn of(runs: &[&Report]) -> Medians {
        let m = |f: &dyn Fn(&Report) -> Option<f64>| median(runs.iter().map(|r| f(r)));
        let latency = |f: fn(&crate::report::Latency) -> u64| {
            median(
                runs.iter()
                    .map(|r| r.latency_us.as_ref().map(|l| f(l) as f64)),
            )
        };
        let events = runs.iter().any(|r| r.setup.events > 0);
        Medians {
            trials: runs.len(),
            clients: runs.first().map_or(0, |r| r.setup.clients),
            rate: runs.first().map_or(0.0, |r| r.setup.rate),
            connected: m(&|r| Some(r.connect.connected as f64)).unwrap_or(0.0),
            expected: m(&|r| Some(r.deliveries.expected as f64)).unwrap_or(0.0),
            lost: m(&|r| Some(r.deliveries.lost as f64)).unwrap_or(0.0),
            worst_lost: runs.iter().map(|r| r.deliveries.lost).max().unwrap_or(0),
            p50: latency(|l| l.p50),
            p90: latency(|l| l.p90),
            p99: latency(|l| l.p99),
            p999: latency(|l| l.p999),
            max: latency(|l| l.max),
            delivered_per_s: if events {
                m(&|r| Some(r.throughput.delivered_per_s))
            } else {
                None
            },
            server_cpu: m(&|r| r.server.cpu_percent),
            redis_cpu: m(&|r| r.server.redis_cpu_percent),
            bench_cpu: if events {
                m(&|r| Some(r.server.bench_cpu_percent))
            } else {
                None
            },
            others_cpu: m(&|r| r.server.others_cpu_percent),
            rss_per_connection: m(&|r| r.server.rss_per_connection_bytes),
            rss_peak_kib: m(&|r| r.server.rss_peak_kib.map(|v| v as f64)),
            drain_capped: runs.iter().filter(|r| r.throughput.drain_capped).count(),
            slow_closed: if runs.iter().any(|r| r.slow.is_some()) {
                // The gateway's own count when it has one: a client whose
                // buffers are full often gets a reset, not the close frame.
                m(&|r| {
                    let codes = r
                        .slow
                        .as_ref()
                        .map(|s| s.close_codes.get(&4001).copied().unwrap_or(0) as f64);
                    let counted = r
                        .server_metrics
                        .get("tactical_link_slow_consumer_disconnects_total")
                        .copied();
                    match (codes, counted) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    }
                })
            } else {
                None
            },
        }
    }
}

/// Tactical Link ÷ floor for one case: `value` of each of our runs over
/// that of the floor run of the same trial, the median over trials. Runs
/// pair in the order they ran (`reports` is sorted by start; bench/run.sh
/// runs a trial's servers back to back, so a pair shares the machine's
/// load of the moment, which the ratio of two medians would not).
pub fn ratio_to_floor(
    reports: &[Report],
    case: &str,
    value: impl Fn(&Report) -> Option<f64>,
) -> Option<f64> {
    let runs = |label: &'static str| {
        reports
            .iter()
            .filter(move |r| r.case == case && r.label == label)
    };
    median(
        runs(OURS)
            .zip(runs(FLOOR))
            .map(|(ours, floor)| Some(value(ours)? / value(floor)?)),
    )
}

/// Case → label → medians, cases in standard order then the rest.
pub type Groups = Vec<(String, BTreeMap<String, Medians>)>;

pub fn group(reports: &[Report]) -> Groups {
    let mut by_case: BTreeMap<String, BTreeMap<String, Vec<&Report>>> = BTreeMap::new();
    for report in reports {
        by_case
            .entry(report.case.clone())
            .or_default()
            .entry(report.label.clone())
            .or_default()
            .push(report);
    }
    let order = |case: &str| {
        TARGETS
            .iter()
            .position(|t| t.case == case)
            .unwrap_or(TARGETS.len())
    };
    let mut groups: Groups = by_case
        .into_iter()
        .map(|(case, labels)| {
            let medians = labels
                .into_iter()
                .map(|(label, runs)| (label, Medians::of(&runs)))
                .collect();
            (case, medians)
        })
        .collect();
    groups.sort_by(|a, b| order(&a.0).cmp(&order(&b.0)).then(a.0.cmp(&b.0)));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Latency;

    fn run(case: &str, label: &str, p99: u64, delivered: f64, lost: u64) -> Report {
        let mut r = Report {
            case: case.into(),
            label: label.into(),
            ..Report::default()
        };
        r.setup.clients = 1000;
        r.setup.events = 5000;
        r.connect.connected = 1000;
        r.deliveries.expected = 5_000_000;
        r.deliveries.lost = lost;
        r.latency_us = Some(Latency {
            p50: p99 / 4,
            p90: p99 / 2,
            p99,
            p999: p99 * 2,
            max: p99 * 3,
            ..Latency::default()
        });
        r.throughput.delivered_per_s = delivered;
        r
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median([Some(3.0), None, Some(1.0), Some(2.0)]), Some(2.0));
        assert_eq!(median([Some(4.0), Some(1.0)]), Some(2.5));
        assert_eq!(median([None]), None);
    }

    #[test]
    fn groups_take_medians_and_keep_the_worst_loss() {
        let reports = vec![
            run("1000x500", OURS, 10_000, 500_000.0, 0),
            run("1000x500", OURS, 30_000, 490_000.0, 5),
            run("1000x500", OURS, 20_000, 495_000.0, 0),
            run("1000x500", BASELINE, 5_000_000, 40_000.0, 0),
            run("custom", OURS, 1_000, 1.0, 0),
        ];
        let groups = group(&reports);
        assert_eq!(groups[0].0, "1000x500", "standard cases first");
        let ours = &groups[0].1[OURS];
        assert_eq!(ours.trials, 3);
        assert_eq!(ours.p99, Some(20_000.0));
        assert_eq!(ours.delivered_per_s, Some(495_000.0));
        assert_eq!(ours.lost, 0.0);
        assert_eq!(ours.worst_lost, 5);
        let (ok, misses) = verdict(&TARGETS[1], ours, groups[0].1.get(BASELINE));
        assert!(!ok);
        assert_eq!(misses, ["5 lost (worst trial)"]);
    }

    #[test]
    fn verdicts_name_each_missed_target() {
        let reports = vec![
            run("100x2000", OURS, 2_500, 200_000.0, 0),
            run("1000x500", OURS, 10_000, 400_000.0, 0),
            run("1000x500", BASELINE, 1_000_000, 50_000.0, 0),
        ];
        let groups = group(&reports);
        let (ok, misses) = verdict(&TARGETS[0], &groups[0].1[OURS], None);
        assert!(!ok);
        assert_eq!(misses, ["p99 2.5 ms > 2.0 ms"]);
        let (ok, misses) = verdict(&TARGETS[1], &groups[1].1[OURS], groups[1].1.get(BASELINE));
        assert!(!ok, "8× is not 10×");
        assert_eq!(misses, ["throughput 8.0× the baseline's < 10×"]);
        let mut idle = Medians {
            clients: 10,
            connected: 10.0,
            rss_per_connection: Some(9_000.0),
            ..Medians::default()
        };
        assert!(verdict(&TARGETS[3], &idle, None).0);
        idle.rss_per_connection = Some(20_000.0);
        assert_eq!(
            verdict(&TARGETS[3], &idle, None).1,
            ["19.5 KiB per connection > 10.0 KiB"]
        );
    }

    #[test]
    fn ratios_to_the_floor_pair_runs_by_trial() {
        let mut reports = vec![
            run("1000x500", OURS, 20_000, 500_000.0, 0),
            run("1000x500", FLOOR, 10_000, 500_000.0, 0),
            run("1000x500", OURS, 90_000, 500_000.0, 0),
            run("1000x500", FLOOR, 30_000, 500_000.0, 0),
            run("1000x500", OURS, 40_000, 500_000.0, 0),
            run("1000x500", FLOOR, 40_000, 500_000.0, 0),
            run("1000x500", OURS, 5_000, 500_000.0, 0),
        ];
        for (i, r) in reports.iter_mut().enumerate() {
            r.started_us = i as u64;
        }
        let p99 = |r: &Report| r.latency_us.as_ref().map(|l| l.p99 as f64);
        // Pairs 2×, 3×, 1× (the fourth run of ours has no floor beside it):
        // the median is 2×, where the ratio of the medians would be 1×.
        assert_eq!(ratio_to_floor(&reports, "1000x500", p99), Some(2.0));
        assert_eq!(ratio_to_floor(&reports, "100x2000", p99), None);
        let groups = group(&reports);
        let section = markdown(&groups, &reports, None, "");
        assert!(
            section.contains("| 1000x500 | p50 7.5 ms p99 30 ms, CPU – | p50 7.5 ms p99 30 ms, CPU – | not run | 2.0× | 2.0× | – | – |"),
            "{section}"
        );
        assert!(section.contains("| idle-15000 | not run | not run | not run |"));
    }

    #[test]
    fn markdown_has_both_servers_side_by_side_and_splices_between_markers() {
        let reports = vec![
            run("1000x500", OURS, 10_000, 500_000.0, 0),
            run("1000x500", BASELINE, 5_000_000, 50_000.0, 0),
        ];
        let groups = group(&reports);
        let section = markdown(&groups, &reports, Some("img/latency.svg"), "At commit abc.");
        assert!(section.contains("| 1000x500 | 0 lost; ≥ 10× baseline events/s; p99 ≤ 30 ms | 500k /s, p50 2.5 ms p90 5.0 ms p99 10 ms, lost 0 |"), "{section}");
        assert!(
            section.contains("10× events/s, 500× lower p99 | **yes** |"),
            "{section}"
        );
        assert!(section.contains("| 100x2000 | 0 lost; p99 ≤ 2 ms | not run |"));
        assert!(section.contains("![Latency"));
        assert!(section.contains("\nAt commit abc.\n"));
        let doc = format!("# Performance\n\nintro\n\n{BEGIN}\nold\n{END}\n\nafter\n");
        let splice = |old: &str| markdown::splice_between(old, &section, BEGIN, END);
        let spliced = splice(&doc);
        assert!(spliced.starts_with("# Performance\n\nintro\n\n"));
        assert!(spliced.ends_with("\n\nafter\n"));
        assert!(!spliced.contains("old"));
        assert_eq!(splice(&spliced), spliced, "idempotent");
        assert!(splice("").starts_with("# Performance"));
    }

    #[test]
    fn the_svg_has_a_panel_per_latency_case_and_a_line_per_server() {
        let reports = vec![
            run("100x2000", OURS, 1_000, 200_000.0, 0),
            run("100x2000", BASELINE, 900_000, 20_000.0, 0),
            run("1000x500", OURS, 10_000, 500_000.0, 0),
        ];
        let svg = latency_svg(&group(&reports));
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(svg.contains(">100x2000</text>") && svg.contains(">1000x500</text>"));
        assert!(svg.contains(">target</text>"));
    }
}
