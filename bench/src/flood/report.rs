//! A flood's report: every trial, the medians, the bound and whether each
//! figure is within it, as JSON and as the Markdown tables printed at the
//! end, beside the figures the issue gave and those of an earlier run.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::FloodArgs;
use super::bound::Bound;
use super::trial::Trial;

/// What the issue reported (a 1,000/s × 60 KB flood at 200 clients, ~200
/// events of 60 KB retained), as it wrote them.
pub const ISSUE: [(&str, &str); 4] = [
    ("peak", "2.3–2.6 GB"),
    ("final", "2.6 GB"),
    ("restart", "574 MB"),
    ("redis", "632 MB"),
];

/// The flood as it was asked for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Setup {
    pub label: String,
    pub rate: f64,
    pub event_bytes: usize,
    pub duration_s: f64,
    pub via: String,
    pub event_kind: String,
    pub pad_in: String,
    pub clients: usize,
    pub waves: usize,
    pub gateway_flags: Vec<String>,
    pub gateway_args: Vec<String>,
    pub gateway_env: Vec<(String, String)>,
}

/// The medians over the trials, KiB (Redis: bytes).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Medians {
    pub idle_kib: Option<u64>,
    pub peak_kib: Option<u64>,
    pub final_kib: Option<u64>,
    pub trimmed_kib: Option<u64>,
    pub restart_ready_kib: Option<u64>,
    pub restart_peak_kib: Option<u64>,
    pub restart_trimmed_kib: Option<u64>,
    pub redis_peak_bytes: Option<u64>,
    pub redis_final_bytes: Option<u64>,
    pub bound_bytes: Option<u64>,
    pub bound_at_rest_bytes: Option<u64>,
}

/// Every trial and their medians.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FloodReport {
    pub setup: Setup,
    pub medians: Medians,
    pub trials: Vec<Trial>,
}

/// The median of the values present (the lower middle of an even count).
pub fn median(values: impl IntoIterator<Item = Option<u64>>) -> Option<u64> {
    let mut present: Vec<u64> = values.into_iter().flatten().collect();
    present.sort_unstable();
    present.get(present.len().checked_sub(1)? / 2).copied()
}

impl FloodReport {
    pub fn new(args: &FloodArgs, trials: Vec<Trial>) -> FloodReport {
        let of = |figure: fn(&Trial) -> Option<u64>| median(trials.iter().map(figure));
        let medians = Medians {
            idle_kib: of(|t| Some(t.idle_kib)),
            peak_kib: of(|t| t.peak_kib),
            final_kib: of(|t| t.final_kib),
            trimmed_kib: of(|t| t.trimmed_kib),
            restart_ready_kib: of(|t| t.restart_ready_kib),
            restart_peak_kib: of(|t| t.restart_peak_kib),
            restart_trimmed_kib: of(|t| t.restart_trimmed_kib),
            redis_peak_bytes: of(|t| t.redis.peak_bytes),
            redis_final_bytes: of(|t| t.redis.final_bytes),
            bound_bytes: of(|t| t.bound.map(|b| b.total)),
            bound_at_rest_bytes: of(|t| t.bound.map(|b| b.at_rest)),
        };
        let setup = Setup {
            label: args.label.clone(),
            rate: args.rate,
            event_bytes: args.event_bytes,
            duration_s: args.duration,
            via: format!("{:?}", args.via).to_lowercase(),
            event_kind: format!("{:?}", args.event_kind).to_lowercase(),
            pad_in: format!("{:?}", args.pad_in).to_lowercase(),
            clients: args.clients,
            waves: args.waves,
            gateway_flags: args.gateway_flags(),
            gateway_args: args.gateway_args.clone(),
            gateway_env: args.gateway_env.clone(),
        };
        FloodReport {
            setup,
            medians,
            trials,
        }
    }

    pub fn read(path: &Path) -> anyhow::Result<FloodReport> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a flood's JSON", path.display()))
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        crate::files::write_json(path, self)
    }

    /// How many trials had each figure within the bound, as "n of N".
    fn within(&self, index: usize) -> String {
        let judged: Vec<bool> = self
            .trials
            .iter()
            .filter_map(|t| t.within()[index])
            .collect();
        let held = judged.iter().filter(|held| **held).count();
        format!("{held} of {}", judged.len())
    }

    /// The figures, the bound and its terms, the clients and the load, as
    /// Markdown; `before` adds its column.
    pub fn table(&self, before: Option<&FloodReport>) -> String {
        let mut out = self.figures(before);
        out.push('\n');
        if let Some(bound) = self.median_bound() {
            out.push_str(&bound_table(&bound));
            out.push('\n');
        }
        for trial in &self.trials {
            out.push_str(&format!("- trial {}: {}\n", trial.trial, line(trial)));
        }
        out
    }

    fn figures(&self, before: Option<&FloodReport>) -> String {
        let (m, b) = (&self.medians, before.map(|b| &b.medians));
        let now = format!(
            "{} (median of {})",
            name(&self.setup.label, "now"),
            self.trials.len()
        );
        let before_name = before.map_or("before".into(), |b| name(&b.setup.label, "before"));
        let mut out = format!(
            "| figure | the issue | {before_name} | {now} | bound | within |\n|---|---|---|---|---|---|\n"
        );
        for row in ROWS {
            let bound = match row.bound {
                Against::Nothing => String::new(),
                Against::Bound => mib(m.bound_bytes.map(|b| b / 1024)),
                Against::AtRest => mib(m.bound_at_rest_bytes.map(|b| b / 1024)),
            };
            let before = b.map_or(String::new(), |b| mib((row.value)(b)));
            let within = row.within.map_or(String::new(), |index| self.within(index));
            let (figure, issue, now) = (row.figure, row.issue, mib((row.value)(m)));
            out.push_str(&format!(
                "| {figure} | {issue} | {before} | {now} | {bound} | {within} |\n"
            ));
        }
        out
    }

    /// The bound of the trial with the median total.
    fn median_bound(&self) -> Option<Bound> {
        let total = self.medians.bound_bytes?;
        self.trials
            .iter()
            .filter_map(|t| t.bound)
            .find(|b| b.total == total)
    }
}

/// What a figure is checked against.
#[derive(Clone, Copy)]
enum Against {
    Nothing,
    Bound,
    AtRest,
}

/// A row of the figures: its name, the issue's figure, its median (KiB),
/// its bound, and its index in [`Trial::within`].
#[derive(Clone, Copy)]
struct Row {
    figure: &'static str,
    issue: &'static str,
    value: fn(&Medians) -> Option<u64>,
    bound: Against,
    within: Option<usize>,
}

const fn row(
    figure: &'static str,
    issue: &'static str,
    value: fn(&Medians) -> Option<u64>,
    (bound, within): (Against, Option<usize>),
) -> Row {
    Row {
        figure,
        issue,
        value,
        bound,
        within,
    }
}

const NOTHING: (Against, Option<usize>) = (Against::Nothing, None);

const ROWS: [Row; 9] = [
    row(
        "gateway RSS, idle after start (the fixed overhead)",
        "",
        |m| m.idle_kib,
        NOTHING,
    ),
    row(
        "gateway RSS, peak during the flood",
        ISSUE[0].1,
        |m| m.peak_kib,
        (Against::Bound, Some(0)),
    ),
    row(
        "gateway RSS, final (flood over, clients gone, then the wait)",
        ISSUE[1].1,
        |m| m.final_kib,
        (Against::AtRest, Some(1)),
    ),
    row(
        "… after `malloc_trim(0)`",
        "",
        |m| m.trimmed_kib,
        (Against::AtRest, Some(2)),
    ),
    row(
        "gateway RSS after a restart on the full stream, once ready",
        ISSUE[2].1,
        |m| m.restart_ready_kib,
        NOTHING,
    ),
    row(
        "… highest during its reload and the settle",
        "",
        |m| m.restart_peak_kib,
        (Against::AtRest, Some(3)),
    ),
    row(
        "… after `malloc_trim(0)`",
        "",
        |m| m.restart_trimmed_kib,
        (Against::AtRest, Some(4)),
    ),
    row(
        "Redis `used_memory`, final",
        ISSUE[3].1,
        |m| kib(m.redis_final_bytes),
        NOTHING,
    ),
    row(
        "Redis `used_memory`, highest sampled",
        "",
        |m| kib(m.redis_peak_bytes),
        NOTHING,
    ),
];

fn kib(bytes: Option<u64>) -> Option<u64> {
    bytes.map(|b| b / 1024)
}

fn name(label: &str, otherwise: &str) -> String {
    if label.is_empty() {
        otherwise.to_owned()
    } else {
        label.to_owned()
    }
}

/// KiB as MiB with one decimal.
pub fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "–".into(),
        |kib| format!("{:.1} MiB", kib as f64 / 1024.0),
    )
}

/// The bound's terms.
pub fn bound_table(bound: &Bound) -> String {
    let m = |bytes: u64| mib(Some(bytes / 1024));
    let rows = [
        ("largest event frame F", m(bound.largest_frame)),
        ("history: --history-bytes", m(bound.history)),
        ("ring: --client-buffer × F", m(bound.ring)),
        ("frames: max(history, ring), shared", m(bound.frames)),
        (
            "snapshot cache: 16 MiB + one snapshot",
            m(bound.snapshot_cache),
        ),
        (
            "per connection",
            format!("{:.0} KiB", bound.per_connection as f64 / 1024.0),
        ),
        (
            "connections: per connection × peak open",
            m(bound.connections),
        ),
        ("fixed: idle gateway after start", m(bound.fixed)),
        ("**bound**", format!("**{}**", m(bound.total))),
        (
            "**at rest**: history + snapshot cache + fixed",
            format!("**{}**", m(bound.at_rest)),
        ),
    ];
    let mut out = String::from("| bound term | bytes |\n|---|---|\n");
    for (term, value) in rows {
        out.push_str(&format!("| {term} | {value} |\n"));
    }
    out
}

/// One line of a trial, for the progress log.
pub fn line(trial: &Trial) -> String {
    let v = &trial.visits;
    let metric = |name: &str| trial.gateway_metrics.get(name).map_or(0, |v| *v as u64);
    let closes: Vec<String> = v
        .closes
        .iter()
        .map(|(code, n)| format!("{n}×{code}"))
        .collect();
    format!(
        "peak {} at {:.0} s, final {}, trimmed {}, restart {} (highest {}, trimmed {}), Redis {}; \
         bound {} (at rest {}); {} published at {:.0}/s ({} errors), {} received by the gateway, \
         {} bus reconnects; connections closed {:.1} s after the clients left ({} still open); {} visits ({} could not connect, peak {} open): {} snapshots, \
         {} resumed ({} replayed), {} resume failed, {} stalls, closes [{}], largest frame {} B, \
         largest snapshot {} B; load {:.1}",
        mib(trial.peak_kib),
        trial.peak_at_s,
        mib(trial.final_kib),
        mib(trial.trimmed_kib),
        mib(trial.restart_ready_kib),
        mib(trial.restart_peak_kib),
        mib(trial.restart_trimmed_kib),
        mib(trial.redis.final_bytes.map(|b| b / 1024)),
        mib(trial.bound.map(|b| b.total / 1024)),
        mib(trial.bound.map(|b| b.at_rest / 1024)),
        trial.publish.published,
        trial.publish.achieved_rate,
        trial.publish.errors,
        metric("tactical_link_events_received_total"),
        metric("tactical_link_bus_connects_total").saturating_sub(1),
        trial.closed_after_s,
        trial.still_open,
        v.visits,
        v.connect_failures,
        v.peak_open,
        v.snapshots,
        v.resumed,
        v.replayed_events,
        v.resume_failed,
        v.stalls,
        closes.join(" "),
        v.largest_frame,
        v.largest_snapshot,
        trial.load_average.unwrap_or(f64::NAN),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_ignores_missing_values() {
        assert_eq!(median([Some(3), None, Some(1), Some(2)]), Some(2));
        assert_eq!(median([Some(4), Some(1)]), Some(1), "the lower middle");
        assert_eq!(median([None, None]), None);
        assert_eq!(mib(Some(1536)), "1.5 MiB");
        assert_eq!(mib(None), "–");
    }
}
