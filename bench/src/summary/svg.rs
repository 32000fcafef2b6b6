//! The summary's latency plot, as SVG: one panel per case with latencies,
//! percentiles on the x axis, a log-scale latency axis shared by all
//! panels, one line per server, and the targets as dashes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::format::fmt_us;
use super::targets::TARGETS;
use super::{BASELINE, FLOOR, Groups, Medians, OURS};

/// Panel width and height, and the margins left, above and below.
const PANEL_W: f64 = 260.0;
const PANEL_H: f64 = 300.0;
const LEFT: f64 = 70.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;

/// Each server's label, colour and name in the legend.
const SERVERS: [(&str, &str, &str); 3] = [
    (OURS, "#1f6feb", "Tactical Link"),
    (FLOOR, "#868e96", "floor (bare relay)"),
    (BASELINE, "#d9480f", "baseline (Python)"),
];

const QUANTILES: [&str; 4] = ["p50", "p90", "p99", "p99.9"];

type Panel<'a> = &'a (String, BTreeMap<String, Medians>);

/// The log-scale latency axis: whole decades around every value drawn.
struct Scale {
    lo_dec: f64,
    hi_dec: f64,
}

impl Scale {
    /// Decades from 100 µs to 100 s, trimmed to the data; the targets
    /// drawn must fit too.
    fn of(panels: &[Panel]) -> Scale {
        let targets = panels.iter().flat_map(|(case, _)| {
            TARGETS
                .iter()
                .filter(move |t| t.case == case.as_str())
                .flat_map(|t| [t.p90_us, t.p99_us])
                .map(|v| v.map(|v| v as f64))
        });
        let values: Vec<f64> = panels
            .iter()
            .flat_map(|(_, labels)| labels.values())
            .flat_map(|m| [m.p50, m.p90, m.p99, m.p999])
            .chain(targets)
            .flatten()
            .collect();
        let lo = values
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .max(1.0);
        let hi = values.iter().copied().fold(0.0, f64::max).max(lo * 10.0);
        Scale {
            lo_dec: lo.log10().floor(),
            hi_dec: hi.log10().ceil(),
        }
    }

    /// The y coordinate of `v` microseconds.
    fn y(&self, v: f64) -> f64 {
        TOP + PANEL_H - (v.max(1.0).log10() - self.lo_dec) / (self.hi_dec - self.lo_dec) * PANEL_H
    }
}

/// The latency plot of every case that has latencies.
pub fn latency_svg(groups: &Groups) -> String {
    let panels: Vec<Panel> = groups
        .iter()
        .filter(|(_, labels)| labels.values().any(|m| m.p50.is_some()))
        .collect();
    let width = LEFT + PANEL_W * panels.len().max(1) as f64 + 20.0;
    let height = TOP + PANEL_H + BOTTOM;
    let scale = Scale::of(&panels);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="20" font-size="14" font-weight="bold">Publish → receive latency (median of trials), log scale</text>"#
    );
    legend(&mut svg);
    grid(&mut svg, &scale, width);
    for (i, panel) in panels.iter().enumerate() {
        draw_panel(&mut svg, &scale, i, panel);
    }
    svg.push_str("</svg>\n");
    svg
}

/// A line of each server's colour, with its name.
fn legend(svg: &mut String) {
    for (i, (_, color, name)) in SERVERS.iter().enumerate() {
        let x = LEFT + 420.0 + i as f64 * 150.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{x}" y1="16" x2="{}" y2="16" stroke="{color}" stroke-width="3"/><text x="{}" y="20">{name}</text>"#,
            x + 20.0,
            x + 25.0
        );
    }
}

/// A horizontal rule and a label at every decade.
fn grid(svg: &mut String, scale: &Scale, width: f64) {
    for decade in scale.lo_dec as i32..=scale.hi_dec as i32 {
        let v = 10f64.powi(decade);
        let yy = scale.y(v);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            width - 20.0,
            LEFT - 6.0,
            yy + 4.0,
            fmt_us(Some(v))
        );
    }
}

/// Panel `i`: its frame and labels, the case's targets, a line per server.
fn draw_panel(svg: &mut String, scale: &Scale, i: usize, (case, labels): Panel) {
    let x0 = LEFT + i as f64 * PANEL_W;
    let x = |q: usize| x0 + 30.0 + q as f64 * (PANEL_W - 60.0) / 3.0;
    let _ = writeln!(
        svg,
        r##"<rect x="{x0}" y="{TOP}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#999"/>"##
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-weight="bold">{case}</text>"#,
        x0 + PANEL_W / 2.0,
        TOP + PANEL_H + 40.0
    );
    for (q, name) in QUANTILES.iter().enumerate() {
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{name}</text>"#,
            x(q),
            TOP + PANEL_H + 18.0
        );
    }
    if let Some(target) = TARGETS.iter().find(|t| t.case == case.as_str()) {
        for (q, limit) in [(1, target.p90_us), (2, target.p99_us)] {
            if let Some(limit) = limit {
                let yy = scale.y(limit as f64);
                let _ = writeln!(
                    svg,
                    r##"<line x1="{:.1}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#2b8a3e" stroke-width="2" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" fill="#2b8a3e" font-size="10">target</text>"##,
                    x(q) - 18.0,
                    x(q) + 18.0,
                    x(q) + 20.0,
                    yy + 3.0
                );
            }
        }
    }
    for (label, color, _) in SERVERS {
        if let Some(m) = labels.get(label) {
            let points: Vec<(f64, f64)> = [m.p50, m.p90, m.p99, m.p999]
                .iter()
                .enumerate()
                .filter_map(|(q, v)| v.map(|v| (x(q), scale.y(v))))
                .collect();
            server_line(svg, &points, color);
        }
    }
}

/// A polyline through `points`, a dot on each.
fn server_line(svg: &mut String, points: &[(f64, f64)], color: &str) {
    let path = points
        .iter()
        .map(|(px, py)| format!("{px:.1},{py:.1}"))
        .collect::<Vec<_>>()
        .join(" ");
    let _ = writeln!(
        svg,
        r#"<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>"#
    );
    for (px, py) in points {
        let _ = writeln!(
            svg,
            r#"<circle cx="{px:.1}" cy="{py:.1}" r="3.5" fill="{color}"/>"#
        );
    }
}
