//! `tactical-link-bench redis-cost`: what Redis spends per event as
//! gateways are added. For each gateway count N, in a few trials: one
//! fresh `redis-server`, N gateway processes on it, M plain `PUBLISH`
//! events at R a second (as the services publish), until every gateway has
//! relayed all of them; Redis's own CPU time (`INFO cpu`) and commands
//! (`INFO stats`) before and after, per event. Medians per N, as a table
//! printed, written as JSON, and spliced into docs/performance.md.
//!
//! [`measure`] runs one measurement; [`summary`] takes the medians and
//! writes the table.

pub mod measure;
pub mod summary;

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tactical_link::cli::ConfigError;

use crate::files;
use crate::publisher::EventKind;
pub use measure::Measurement;
pub use summary::{Row, Summary};

/// The flags of `redis-cost`.
#[derive(Debug, Clone, Args)]
pub struct RedisCostArgs {
    /// Gateway counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    pub gateways: Vec<usize>,
    /// Events published in each measurement.
    #[arg(long, default_value_t = 5000)]
    pub events: u64,
    /// Events published per second.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Measurements of each gateway count (the table shows medians).
    #[arg(long, default_value_t = 3)]
    pub trials: usize,
    /// Kind of event published.
    #[arg(long, value_enum, default_value = "pipeline")]
    pub event_kind: EventKind,
    /// Seconds Redis is watched with the gateways connected and no event,
    /// before publishing: its idle CPU and commands, taken out of the net
    /// figures.
    #[arg(long, default_value_t = 2.0)]
    pub idle: f64,
    /// The tactical-link binary (default: the one beside this binary).
    #[arg(long)]
    pub gateway_bin: Option<PathBuf>,
    /// Extra argument for every gateway's `serve` (repeatable).
    #[arg(long = "gateway-arg", allow_hyphen_values = true)]
    pub gateway_args: Vec<String>,
    /// Redis pub/sub channel.
    #[arg(long, default_value = "system_events")]
    pub channel: String,
    /// Write every measurement and the medians as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Splice the table into this Markdown file (between its markers).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// A sentence on what was measured (commit, machine), under the table.
    #[arg(long, default_value = "")]
    pub context: String,
}

fn bad(flag: &'static str, message: &str) -> ConfigError {
    ConfigError {
        flag,
        message: message.to_owned(),
    }
}

impl RedisCostArgs {
    /// Checks the flags before anything is started.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.gateways.is_empty() || self.gateways.iter().any(|n| !(1..=64).contains(n)) {
            return Err(bad(
                "gateways",
                "gateway counts from 1 to 64, comma-separated",
            ));
        }
        if self.events == 0 {
            return Err(bad("events", "must be greater than 0"));
        }
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return Err(bad("rate", "must be a positive number"));
        }
        if self.trials == 0 {
            return Err(bad("trials", "must be greater than 0"));
        }
        if !(self.idle.is_finite() && self.idle > 0.0) {
            return Err(bad("idle", "must be a positive number of seconds"));
        }
        Ok(())
    }
}

/// Runs every measurement (trial by trial, the gateway counts in turn up
/// then down, so a drift of the machine spreads over all of them), then
/// prints and writes the medians.
pub fn run(args: &RedisCostArgs) -> anyhow::Result<()> {
    args.validate()?;
    let bin = crate::servers::gateway_bin(args.gateway_bin.as_deref())?;
    let mut measurements = Vec::new();
    for trial in 1..=args.trials {
        let mut counts = args.gateways.clone();
        if trial % 2 == 0 {
            counts.reverse();
        }
        for gateways in counts {
            eprintln!(
                "==> trial {trial} of {}: {gateways} gateway(s)",
                args.trials
            );
            let measured = measure::measure(args, &bin, gateways, trial)
                .with_context(|| format!("{gateways} gateway(s), trial {trial}"))?;
            eprintln!("    {}", measured.line());
            measurements.push(measured);
        }
    }
    let summary = Summary::new(args, measurements);
    let table = summary.markdown();
    println!("{table}");
    if let Some(path) = &args.json {
        files::write_json(path, &summary)?;
    }
    if let Some(path) = &args.markdown {
        files::splice_into(path, &table, summary::BEGIN, summary::END)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BenchAction, BenchArgs};
    use clap::Parser;

    fn parse(args: &[&str]) -> RedisCostArgs {
        let argv = ["tactical-link-bench", "redis-cost"].iter().chain(args);
        match BenchArgs::try_parse_from(argv).unwrap().action {
            Some(BenchAction::RedisCost(args)) => args,
            other => panic!("not redis-cost: {other:?}"),
        }
    }

    #[test]
    fn flags_are_checked_before_anything_starts() {
        let defaults = parse(&[]);
        assert_eq!(defaults.gateways, vec![1, 2, 4, 8]);
        assert_eq!(
            (defaults.events, defaults.rate, defaults.trials),
            (5000, 1000.0, 3)
        );
        assert!(defaults.validate().is_ok());
        let some = parse(&["--gateways", "1,3", "--events", "100", "--rate", "50"]);
        assert_eq!(some.gateways, vec![1, 3]);
        assert_eq!(
            parse(&["--gateways", "0,2"]).validate().unwrap_err().flag,
            "gateways"
        );
        assert_eq!(
            parse(&["--gateways", "65"]).validate().unwrap_err().flag,
            "gateways"
        );
        assert_eq!(
            parse(&["--events", "0"]).validate().unwrap_err().flag,
            "events"
        );
        assert_eq!(parse(&["--rate", "0"]).validate().unwrap_err().flag, "rate");
        assert_eq!(
            parse(&["--trials", "0"]).validate().unwrap_err().flag,
            "trials"
        );
        assert_eq!(parse(&["--idle=-1"]).validate().unwrap_err().flag, "idle");
    }
}
