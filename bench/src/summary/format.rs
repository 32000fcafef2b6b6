//! How the summary writes its figures: latencies, rates, percentages,
//! memory, ratios and server names, the same in the tables and the plot.

use super::{BASELINE, FLOOR, OURS};

/// Formats microseconds for a table.
pub fn fmt_us(value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(v) if v >= 10_000_000.0 => format!("{:.1} s", v / 1e6),
        Some(v) if v >= 1_000_000.0 => format!("{:.2} s", v / 1e6),
        Some(v) if v >= 10_000.0 => format!("{:.0} ms", v / 1e3),
        Some(v) if v >= 1_000.0 => format!("{:.1} ms", v / 1e3),
        Some(v) => format!("{:.2} ms", v / 1e3),
    }
}

pub fn fmt_rate(value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(v) if v >= 10_000.0 => format!("{:.0}k", v / 1e3),
        Some(v) => format!("{v:.0}"),
    }
}

pub fn fmt_pct(value: Option<f64>) -> String {
    value.map_or("–".into(), |v| format!("{v:.0}%"))
}

pub fn fmt_kib(bytes: Option<f64>) -> String {
    bytes.map_or("–".into(), |b| format!("{:.1} KiB", b / 1024.0))
}

pub fn fmt_ratio(value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(v) if v >= 10.0 => format!("{v:.0}×"),
        Some(v) => format!("{v:.1}×"),
    }
}

pub fn label_name(label: &str) -> String {
    match label {
        OURS => "Tactical Link".into(),
        BASELINE => "baseline (Python)".into(),
        FLOOR => "floor (bare relay)".into(),
        other => other.into(),
    }
}
