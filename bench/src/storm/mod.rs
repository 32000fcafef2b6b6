//! `tactical-link-bench storm`: reconnect storms behind a load balancer.
//! As many WebSocket clients as this machine's open-file limits allow,
//! through HAProxy (the shipped `deploy/haproxy.cfg`) to three gateway
//! processes on one Redis, events published at a steady rate; then (a) the
//! gateway holding the recorder lease is killed (SIGKILL), or (b) all three
//! are restarted one after another (SIGTERM, ready again, the next). Every
//! client resumes with its last event id as the dashboard does. Measured:
//! the time until every client is live again, each client's resume time,
//! events lost or duplicated per client, the gateways' snapshot and resume
//! work per second, Redis commands per second, and every process's CPU,
//! over a steady window before the fault and over the storm.
//!
//! [`stack`] starts and reads Redis, the gateways and HAProxy;
//! [`follower`] is one client; [`scenario`] runs one storm; [`figures`]
//! computes its figures; [`summary`] takes the medians over trials and
//! writes the tables.

pub mod figures;
pub mod follower;
pub mod scenario;
pub mod stack;
pub mod summary;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use tactical_link::cli::ConfigError;

use crate::files;
pub use figures::Measurement;

/// What happens to the gateways.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// SIGKILL the gateway that holds the recorder lease.
    #[default]
    Kill,
    /// SIGTERM each gateway in turn, start it again, wait until the load
    /// balancer sends it clients, then the next.
    Rolling,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Kill => "kill one (SIGKILL)",
            Scenario::Rolling => "rolling restart",
        }
    }
}

/// The flags of `storm`.
#[derive(Debug, Clone, Args)]
pub struct StormArgs {
    /// Clients (default: as many as the open-file limits allow: this
    /// process holds one file per client, HAProxy two).
    #[arg(long)]
    pub clients: Option<usize>,
    /// Events published per second throughout.
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    /// Scenarios, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "kill,rolling")]
    pub scenarios: Vec<Scenario>,
    /// Storms of each scenario (the tables show medians).
    #[arg(long, default_value_t = 3)]
    pub trials: usize,
    /// Seconds of events before the fault (the steady window).
    #[arg(long, default_value_t = 5.0)]
    pub warmup: f64,
    /// Seconds of events once every client is live again.
    #[arg(long, default_value_t = 3.0)]
    pub tail: f64,
    /// Longest wait for every client to be live again, in seconds.
    #[arg(long, default_value_t = 120.0)]
    pub storm_timeout: f64,
    /// The clients' back-off: the first retry waits up to this many ms
    /// (doubling per failed attempt), as the dashboard's client does.
    #[arg(long, default_value_t = 500)]
    pub backoff_base_ms: u64,
    #[arg(long, default_value_t = 30_000)]
    pub backoff_cap_ms: u64,
    /// Clients ignore the close frame's `reconnect_after_ms`.
    #[arg(long)]
    pub ignore_hint: bool,
    /// First connections opened at once.
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
    /// The tactical-link binary (default: the one beside this binary).
    #[arg(long)]
    pub gateway_bin: Option<PathBuf>,
    /// Extra argument for every gateway's `serve` (repeatable).
    #[arg(long = "gateway-arg", allow_hyphen_values = true)]
    pub gateway_args: Vec<String>,
    /// Redis pub/sub channel.
    #[arg(long, default_value = "system_events")]
    pub channel: String,
    /// Name of this variant in the tables (e.g. "no pacing").
    #[arg(long, default_value = "")]
    pub label: String,
    /// Earlier storms' JSON to show beside these (before/after).
    #[arg(long)]
    pub compare: Vec<PathBuf>,
    /// Write every measurement as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Splice the tables into this Markdown file (between its markers).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// A sentence on what was measured (commit, machine), under the tables.
    #[arg(long, default_value = "")]
    pub context: String,
}

fn bad(flag: &'static str, message: &str) -> ConfigError {
    ConfigError {
        flag,
        message: message.to_owned(),
    }
}

/// Clients that fit `open_files` (this process's limit, which HAProxy and
/// the gateways inherit): HAProxy needs two files a connection and the
/// testkit gives it a `maxconn` of (limit − 100) / 2; a margin of 100
/// under that leaves room for its health checks and a reconnecting
/// client's new connection arriving before its old one is closed.
pub fn clients_for(open_files: u64) -> usize {
    let proxy = (open_files.saturating_sub(100) / 2).min(20_000);
    let bench = open_files.saturating_sub(500);
    proxy.saturating_sub(100).min(bench) as usize
}

impl StormArgs {
    /// Clients of every storm (set by [`run`] from the file limits when
    /// `--clients` is not given).
    pub fn client_count(&self) -> usize {
        self.clients.unwrap_or_default()
    }

    /// Checks the flags before anything is started.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.clients == Some(0) {
            return Err(bad("clients", "must be greater than 0"));
        }
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return Err(bad("rate", "must be a positive number"));
        }
        if self.scenarios.is_empty() {
            return Err(bad("scenarios", "name at least one: kill, rolling"));
        }
        if self.trials == 0 {
            return Err(bad("trials", "must be greater than 0"));
        }
        for (flag, value) in [
            ("warmup", self.warmup),
            ("tail", self.tail),
            ("storm-timeout", self.storm_timeout),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(bad(flag, "must be a positive number of seconds"));
            }
        }
        if self.backoff_base_ms == 0 || self.backoff_cap_ms < self.backoff_base_ms {
            return Err(bad("backoff-base-ms", "needs 0 < base ≤ cap"));
        }
        if self.connect_concurrency == 0 {
            return Err(bad("connect-concurrency", "must be greater than 0"));
        }
        Ok(())
    }
}

/// Runs every storm (trial by trial, the scenarios in turn), then prints
/// and writes the medians.
pub async fn run(mut args: StormArgs) -> anyhow::Result<()> {
    args.validate()?;
    let open_files = crate::system::raise_nofile_limit();
    let clients = *args.clients.get_or_insert(clients_for(open_files));
    let bin = crate::servers::gateway_bin(args.gateway_bin.as_deref())?;
    let mut measurements = Vec::new();
    for trial in 1..=args.trials {
        for scenario in args.scenarios.clone() {
            eprintln!(
                "==> trial {trial} of {}: {} · {clients} clients · {}/s",
                args.trials,
                scenario.name(),
                args.rate
            );
            let measured = scenario::measure(&args, &bin, scenario, trial)
                .await
                .with_context(|| format!("{}, trial {trial}", scenario.name()))?;
            eprintln!("    {}", summary::line(&measured));
            measurements.push(measured);
            // After every storm, so a long run stopped early keeps its figures.
            if let Some(path) = &args.json {
                files::write_json(path, &measurements)?;
            }
        }
    }
    let mut all = Vec::new();
    for path in &args.compare {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let earlier: Vec<Measurement> = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a storm's JSON", path.display()))?;
        all.extend(earlier);
    }
    all.extend(measurements);
    let tables = summary::markdown(&all, &args.context);
    println!("{tables}");
    if let Some(path) = &args.markdown {
        files::splice_into(path, &tables, summary::BEGIN, summary::END)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BenchAction, BenchArgs};
    use clap::Parser;

    fn parse(args: &[&str]) -> StormArgs {
        let argv = ["tactical-link-bench", "storm"].iter().chain(args);
        match BenchArgs::try_parse_from(argv).unwrap().action {
            Some(BenchAction::Storm(args)) => args,
            other => panic!("not storm: {other:?}"),
        }
    }

    #[test]
    fn flags_are_checked_before_anything_starts() {
        let defaults = parse(&[]);
        assert_eq!(defaults.scenarios, vec![Scenario::Kill, Scenario::Rolling]);
        assert_eq!((defaults.rate, defaults.trials), (2.0, 3));
        assert!(defaults.validate().is_ok());
        assert_eq!(
            parse(&["--scenarios", "rolling"]).scenarios,
            vec![Scenario::Rolling]
        );
        assert_eq!(
            parse(&["--clients", "0"]).validate().unwrap_err().flag,
            "clients"
        );
        assert_eq!(parse(&["--rate", "0"]).validate().unwrap_err().flag, "rate");
        assert_eq!(
            parse(&["--trials", "0"]).validate().unwrap_err().flag,
            "trials"
        );
        assert_eq!(parse(&["--tail", "0"]).validate().unwrap_err().flag, "tail");
        let backoff = parse(&["--backoff-base-ms", "500", "--backoff-cap-ms", "100"]);
        assert_eq!(backoff.validate().unwrap_err().flag, "backoff-base-ms");
    }

    #[test]
    fn as_many_clients_as_the_files_allow() {
        assert_eq!(
            clients_for(20_000),
            9_850,
            "HAProxy's two files a connection"
        );
        assert_eq!(
            clients_for(1_000_000),
            19_900,
            "HAProxy's maxconn of 20,000"
        );
        assert_eq!(clients_for(1_024), 362);
    }
}
