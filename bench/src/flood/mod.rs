//! `tactical-link-bench flood`: memory under a flood of large events, with
//! clients coming and going. A release gateway on a Redis of its own; R
//! events a second of S bytes for D seconds ([`load`]); meanwhile C clients
//! arrive in waves and connect, read, stall, leave and resume
//! ([`visitors`]); the gateway's RSS sampled every 100 ms ([`sampler`]),
//! then read once the flood is over and every client gone, then after
//! `malloc_trim`, then on a restart against the full stream ([`trial`]);
//! Redis's memory and stream beside it ([`redis_figures`]). Each figure is
//! checked against the bound computed from the flags the gateway ran with
//! ([`bound`]; docs/operations.md, "Memory"), and set beside the figures
//! of the issue and of an earlier run ([`report`]).
//!
//! A benchmark, not a test: it takes a minute or more per trial and its
//! figures depend on the machine.

pub mod bound;
pub mod load;
pub mod redis_figures;
pub mod report;
pub mod sampler;
pub mod trial;
pub mod visitors;

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tactical_link::cli::ConfigError;

use crate::publisher::EventKind;
use bound::{Flags, Inputs, Shape};
use load::{Events, PadIn, Via};
use report::FloodReport;

const MIB: u64 = 1024 * 1024;

/// The flags of `flood`.
#[derive(Debug, Clone, Args)]
pub struct FloodArgs {
    /// Events published per second.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Bytes of each event's JSON.
    #[arg(long, default_value_t = 60_000)]
    pub event_bytes: usize,
    /// Seconds of flood.
    #[arg(long, default_value_t = 60.0)]
    pub duration: f64,
    /// How events are published.
    #[arg(long, value_enum, default_value = "plain")]
    pub via: Via,
    /// Kind of event published.
    #[arg(long, value_enum, default_value = "generic")]
    pub event_kind: EventKind,
    /// Which field carries the padding.
    #[arg(long, value_enum, default_value = "data")]
    pub pad_in: PadIn,
    /// WebSocket clients.
    #[arg(long, default_value_t = 200)]
    pub clients: usize,
    /// Waves the clients arrive in.
    #[arg(long, default_value_t = 4)]
    pub waves: usize,
    /// Seconds between two waves.
    #[arg(long, default_value_t = 5.0)]
    pub wave_every: f64,
    /// Live events a client reads in each visit.
    #[arg(long, default_value_t = 100)]
    pub read_events: u64,
    /// One visit in this many stops reading instead of leaving.
    #[arg(long, default_value_t = 4)]
    pub stop_every: usize,
    /// Seconds a stalled client stops reading (past the gateway's
    /// 10 s write timeout, so it is closed first).
    #[arg(long, default_value_t = 12.0)]
    pub stall: f64,
    /// Seconds between a client's visits, comma-separated: client i pauses
    /// the (i mod n)-th. Short pauses resume within the history; long ones
    /// fall out of it and get a snapshot.
    #[arg(long, value_delimiter = ',', default_value = "0.2,0.6,1.5")]
    pub pauses: Vec<f64>,
    /// SO_RCVBUF of each client socket, in bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    pub recv_buffer: u32,
    /// Seconds after the flood and the clients are gone before the final RSS.
    #[arg(long, default_value_t = 5.0)]
    pub final_wait: f64,
    /// Seconds the restarted gateway is watched after it is ready.
    #[arg(long, default_value_t = 3.0)]
    pub restart_settle: f64,
    /// Milliseconds between two RSS readings.
    #[arg(long, default_value_t = 100)]
    pub sample_ms: u64,
    /// The gateway's --history-bytes.
    #[arg(long, default_value_t = 64 * MIB)]
    pub history_bytes: u64,
    /// The gateway's --history-size.
    #[arg(long, default_value_t = 10_000)]
    pub history_size: u64,
    /// The gateway's --client-buffer (frames of the broadcast ring).
    #[arg(long, default_value_t = 4096)]
    pub client_buffer: u64,
    /// The gateway's --max-event-bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    pub max_event_bytes: u64,
    /// The gateway's --max-runs.
    #[arg(long, default_value_t = 100)]
    pub max_runs: u64,
    /// Trials, each with a fresh Redis and gateway (medians reported).
    #[arg(long, default_value_t = 1)]
    pub trials: usize,
    /// Call malloc_trim(0) in the gateway through gdb after the final
    /// reading, and read its RSS again.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub trim: bool,
    /// The tactical-link binary (default: the one beside this binary).
    #[arg(long)]
    pub gateway_bin: Option<PathBuf>,
    /// Extra argument for the gateway's `serve` (repeatable).
    #[arg(long = "gateway-arg", allow_hyphen_values = true)]
    pub gateway_args: Vec<String>,
    /// Environment variable for the gateway, KEY=VALUE (repeatable):
    /// MALLOC_ARENA_MAX=2, MALLOC_TRIM_THRESHOLD_=131072, …
    #[arg(long = "gateway-env", value_parser = key_value)]
    pub gateway_env: Vec<(String, String)>,
    /// Redis pub/sub channel.
    #[arg(long, default_value = "system_events")]
    pub channel: String,
    /// What the gateway measured is, for the report (a commit, a variant).
    #[arg(long, default_value = "")]
    pub label: String,
    /// The JSON of an earlier flood, shown beside this one (the "before").
    #[arg(long)]
    pub before: Option<PathBuf>,
    /// Write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

fn key_value(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    Ok((key.to_owned(), value.to_owned()))
}

fn bad(flag: &'static str, message: &str) -> ConfigError {
    ConfigError {
        flag,
        message: message.to_owned(),
    }
}

impl FloodArgs {
    /// Checks the flags before anything is started.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = |value: f64| value.is_finite() && value > 0.0;
        let seconds = |value: f64| value.is_finite() && value >= 0.0;
        if !positive(self.rate) {
            return Err(bad("rate", "must be a positive number"));
        }
        if !positive(self.duration) {
            return Err(bad("duration", "must be a positive number of seconds"));
        }
        if self.event_bytes as u64 > self.max_event_bytes {
            return Err(bad("event-bytes", "must not exceed --max-event-bytes"));
        }
        for (flag, count) in [
            ("clients", self.clients),
            ("waves", self.waves),
            ("stop-every", self.stop_every),
            ("trials", self.trials),
        ] {
            if count == 0 {
                return Err(bad(flag, "must be greater than 0"));
            }
        }
        for (flag, value) in [
            ("wave-every", self.wave_every),
            ("stall", self.stall),
            ("final-wait", self.final_wait),
            ("restart-settle", self.restart_settle),
        ] {
            if !seconds(value) {
                return Err(bad(flag, "must be a number of seconds"));
            }
        }
        if self.pauses.is_empty() || !self.pauses.iter().all(|p| seconds(*p)) {
            return Err(bad("pauses", "seconds, comma-separated"));
        }
        if self.sample_ms == 0 {
            return Err(bad("sample-ms", "must be greater than 0"));
        }
        Ok(())
    }

    /// The flags passed to every gateway: those the bound is computed from.
    pub fn gateway_flags(&self) -> Vec<String> {
        [
            ("--history-bytes", self.history_bytes),
            ("--history-size", self.history_size),
            ("--client-buffer", self.client_buffer),
            ("--max-event-bytes", self.max_event_bytes),
            ("--max-runs", self.max_runs),
        ]
        .into_iter()
        .flat_map(|(flag, value)| [flag.to_owned(), value.to_string()])
        .collect()
    }

    /// The flood's events.
    pub fn events(&self) -> Events {
        Events {
            kind: self.event_kind,
            pad_in: self.pad_in,
            bytes: self.event_bytes,
        }
    }

    /// How the clients behave.
    pub fn visit_plan(&self) -> visitors::Plan {
        visitors::Plan {
            clients: self.clients,
            waves: self.waves,
            wave_every_s: self.wave_every,
            read_events: self.read_events,
            stop_every: self.stop_every,
            stall_s: self.stall,
            pauses_s: self.pauses.clone(),
            recv_buffer: self.recv_buffer,
        }
    }

    /// The bound's inputs: the gateway's flags, the events' shape, and
    /// what was measured.
    pub fn bound_inputs(&self, peak_connections: u64, fixed_bytes: u64) -> Inputs {
        let flags = Flags {
            history_bytes: self.history_bytes,
            client_buffer: self.client_buffer,
            max_event_bytes: self.max_event_bytes,
            max_runs: self.max_runs,
            recent_bytes: tactical_link::hub::HubConfig::default().recent_bytes as u64,
        };
        let long_details = self.pad_in == PadIn::Detail && self.event_kind == EventKind::Pipeline;
        Inputs {
            flags,
            shape: if long_details {
                Shape::any(&flags)
            } else {
                Shape { longest_detail: 0 }
            },
            // The hub clones one `Frame` (a shared buffer) into the history
            // and the ring: hub.rs, `relay_locked`.
            ring_shares_history: true,
            peak_connections,
            fixed_bytes,
        }
    }
}

/// Runs every trial, then prints and writes the report.
pub async fn run(args: &FloodArgs) -> anyhow::Result<()> {
    args.validate()?;
    crate::system::raise_nofile_limit();
    let bin = crate::servers::gateway_bin(args.gateway_bin.as_deref())?;
    let before = match &args.before {
        Some(path) => Some(FloodReport::read(path)?),
        None => None,
    };
    let mut trials = Vec::new();
    for number in 1..=args.trials {
        eprintln!("==> flood trial {number} of {}", args.trials);
        let trial = trial::run(args, &bin, number)
            .await
            .with_context(|| format!("trial {number}"))?;
        eprintln!("    {}", report::line(&trial));
        trials.push(trial);
    }
    let report = FloodReport::new(args, trials);
    println!("{}", report.table(before.as_ref()));
    if let Some(path) = &args.json {
        report.write(path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BenchAction, BenchArgs};
    use clap::Parser;

    fn parse(args: &[&str]) -> FloodArgs {
        let argv = ["tactical-link-bench", "flood"].iter().chain(args);
        match BenchArgs::try_parse_from(argv).unwrap().action {
            Some(BenchAction::Flood(args)) => args,
            other => panic!("not flood: {other:?}"),
        }
    }

    #[test]
    fn the_defaults_are_the_issues_flood() {
        let args = parse(&[]);
        assert!(args.validate().is_ok());
        assert_eq!(
            (args.rate, args.event_bytes, args.clients),
            (1000.0, 60_000, 200)
        );
        assert_eq!(args.via, Via::Plain);
        assert_eq!(
            args.gateway_flags().join(" "),
            "--history-bytes 67108864 --history-size 10000 --client-buffer 4096 \
             --max-event-bytes 65536 --max-runs 100"
        );
        assert!(args.trim);
        assert!(!parse(&["--trim", "false"]).trim);
    }

    #[test]
    fn flags_are_checked_before_anything_starts() {
        let flag = |args: &[&str]| parse(args).validate().unwrap_err().flag;
        assert_eq!(flag(&["--rate", "0"]), "rate");
        assert_eq!(flag(&["--event-bytes", "70000"]), "event-bytes");
        assert_eq!(flag(&["--clients", "0"]), "clients");
        assert_eq!(flag(&["--pauses", "0.5,-1"]), "pauses");
        assert_eq!(flag(&["--stall=-1"]), "stall");
        let env = parse(&["--gateway-env", "MALLOC_ARENA_MAX=2"]);
        assert_eq!(env.gateway_env, [("MALLOC_ARENA_MAX".into(), "2".into())]);
        let argv = ["tactical-link-bench", "flood", "--gateway-env", "NOVALUE"];
        assert!(BenchArgs::try_parse_from(argv).is_err());
    }

    #[test]
    fn long_details_only_for_pipeline_events_padded_in_their_detail() {
        let shape = |args: &[&str]| parse(args).bound_inputs(1, 0).shape.longest_detail;
        assert_eq!(shape(&[]), 0);
        assert_eq!(
            shape(&["--pad-in", "detail"]),
            0,
            "a generic event's detail is not kept"
        );
        assert_eq!(
            shape(&["--pad-in", "detail", "--event-kind", "pipeline"]),
            64 * 1024
        );
    }
}
