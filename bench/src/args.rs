//! The benchmark's command line: one run's flags, checked before anything
//! is started, or the `summarize` subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tactical_link::cli::ConfigError;

use crate::client::{Readiness, Transport};
use crate::publisher::EventKind;

/// `tactical-link-bench`: run the benchmark, or `summarize` results.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "tactical-link-bench",
    version,
    about = "Load-test a Tactical Link gateway (or the Python baseline) over WebSocket or SSE",
    args_conflicts_with_subcommands = true
)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub action: Option<BenchAction>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum BenchAction {
    /// Medians of many runs' JSON, side by side, into docs/performance.md
    /// and a latency plot.
    Summarize(crate::summary::SummarizeArgs),
    /// Redis CPU time per event as gateways are added: N gateways on one
    /// Redis, plain PUBLISH events, INFO cpu before and after.
    RedisCost(crate::redis_cost::RedisCostArgs),
    /// What waiting for a replica costs a durable publish: publishes a
    /// second and latency with WAIT 0 and WAIT 1, on a primary and a
    /// replica of its own.
    WaitCost(crate::wait_cost::WaitCostArgs),
    /// Serve the floor: a bare Redis → WebSocket relay (what --spawn-floor
    /// starts).
    Floor(crate::floor::FloorArgs),
    /// Reconnect storms: clients through HAProxy to three gateways on one
    /// Redis; one gateway killed, or all restarted in turn.
    Storm(crate::storm::StormArgs),
    /// Memory under a flood of large events at clients that come and go:
    /// peak, final and after-restart RSS against the bound of the flags.
    Flood(crate::flood::FloodArgs),
}

/// Which server a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// Tactical Link, started by the run (`--spawn`).
    Gateway,
    /// The Python baseline (`--spawn-baseline`).
    Baseline,
    /// The bare relay of [`crate::floor`] (`--spawn-floor`).
    Floor,
    /// A server started elsewhere (`--target`).
    Running,
}

/// How events reach the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PublishVia {
    /// `PUBLISH <channel> <json>` on Redis, as the services do.
    Redis,
    /// `POST /api/events` on the gateway (on the in-process bus unless
    /// --redis or --spawn-redis is given too).
    Http,
}

/// One benchmark run.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// A running gateway's WebSocket URL (ws://HOST:PORT/dashboard/ws).
    #[arg(long, conflicts_with_all = ["spawn", "spawn_baseline", "spawn_floor"])]
    pub target: Option<String>,
    /// Start a Tactical Link gateway (`serve --listen 127.0.0.1:0`) for the run.
    #[arg(long)]
    pub spawn: bool,
    /// Start the Python baseline (bench/baselines/python) for the run.
    #[arg(long, conflicts_with = "spawn")]
    pub spawn_baseline: bool,
    /// Start the floor: a bare Redis → WebSocket relay of this benchmark's
    /// (`tactical-link-bench floor`, as a process of its own).
    #[arg(long, conflicts_with_all = ["spawn", "spawn_baseline"])]
    pub spawn_floor: bool,
    /// The tactical-link binary --spawn runs (default: `tactical-link`
    /// beside this binary, as `cargo build` leaves it).
    #[arg(long)]
    pub gateway_bin: Option<PathBuf>,
    /// Extra argument for the spawned gateway's `serve` (repeatable).
    #[arg(long = "gateway-arg", allow_hyphen_values = true)]
    pub gateway_args: Vec<String>,
    /// Python interpreter of the baseline (its venv).
    #[arg(long, default_value = "bench/.venv/bin/python")]
    pub baseline_python: PathBuf,
    /// The baseline server script.
    #[arg(long, default_value = "bench/baselines/python/server.py")]
    pub baseline_script: PathBuf,
    /// Pid of the server, for its memory and CPU (--spawn knows it).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Redis URL the gateway reads (needed to publish on Redis).
    #[arg(long)]
    pub redis: Option<String>,
    /// Start a redis-server of our own on a free port.
    #[arg(long, conflicts_with = "redis")]
    pub spawn_redis: bool,
    /// Redis pub/sub channel.
    #[arg(long, default_value = "system_events")]
    pub channel: String,
    /// How events are published.
    #[arg(long, value_enum, default_value = "redis")]
    pub publish: PublishVia,
    /// How the clients read: WebSocket, or Server-Sent Events from the
    /// gateway's `/dashboard/sse` (the gateway only).
    #[arg(long, value_enum, default_value = "ws")]
    pub transport: Transport,
    /// Clients.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// Clients that stop reading after their snapshot (among --clients).
    #[arg(long, default_value_t = 0)]
    pub slow_clients: usize,
    /// Events published per second.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Seconds of publishing (events = rate × duration) ...
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// ... or exactly this many events (0: idle connections only).
    #[arg(long)]
    pub events: Option<u64>,
    /// Kind of event published.
    #[arg(long, value_enum, default_value = "pipeline")]
    pub event_kind: EventKind,
    /// Bytes of padding in each event's `detail`.
    #[arg(long, default_value_t = 0)]
    pub payload_bytes: usize,
    /// Events published before the clients connect, so snapshots carry
    /// history as in a live deployment.
    #[arg(long, default_value_t = 0)]
    pub prefill: u64,
    /// Sent as `Authorization: Bearer <token>` on every upgrade.
    #[arg(long)]
    pub token: Option<String>,
    /// Authentication on: the spawned gateway gets an HS256 secret of the
    /// benchmark's, and each client a token of its own (Bearer header).
    #[arg(long, conflicts_with = "token")]
    pub auth: bool,
    /// When a client is ready (default: snapshot, or open for the baseline).
    #[arg(long, value_enum)]
    pub ready: Option<Readiness>,
    /// Seconds to wait once every client is ready, before measuring.
    #[arg(long, default_value_t = 1.0)]
    pub settle: f64,
    /// Connections being opened at once.
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
    /// Seconds one client may take from connect to ready.
    #[arg(long, default_value_t = 30.0)]
    pub handshake_timeout: f64,
    /// Seconds all clients may take to connect.
    #[arg(long, default_value_t = 180.0)]
    pub connect_timeout: f64,
    /// Clients per source address before moving to the next 127.0.0.x.
    #[arg(long, default_value_t = 25_000)]
    pub clients_per_source: usize,
    /// Read buffer of each client socket, in bytes.
    #[arg(long, default_value_t = 16 * 1024)]
    pub read_buffer: usize,
    /// Stop waiting for deliveries after this many seconds without one.
    #[arg(long, default_value_t = 3.0)]
    pub drain_idle: f64,
    /// Stop waiting for deliveries this many seconds after the last publish.
    #[arg(long, default_value_t = 30.0)]
    pub drain_max: f64,
    /// Scrape the gateway's /metrics every this many seconds while events
    /// are published and drained, as Prometheus would (0: never).
    #[arg(long, default_value_t = 0.0)]
    pub scrape_metrics: f64,
    /// Seconds idle connections are held before the final RSS (no events).
    #[arg(long, default_value_t = 3.0)]
    pub hold: f64,
    /// Name of the server in the report (default: tactical-link or baseline).
    #[arg(long)]
    pub label: Option<String>,
    /// Name of the standard case this run belongs to.
    #[arg(long, default_value = "")]
    pub case: String,
    /// Write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

fn bad(flag: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        flag,
        message: message.into(),
    }
}

impl RunArgs {
    /// Checks the flags before anything is started.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.target.is_none() && !self.spawn && !self.spawn_baseline && !self.spawn_floor {
            return Err(bad(
                "target",
                "give --target URL, --spawn, --spawn-baseline or --spawn-floor",
            ));
        }
        if self.auth && !self.spawn {
            return Err(bad(
                "auth",
                "needs --spawn (a gateway of our own, given our secret); use --token for another",
            ));
        }
        match self.publish {
            PublishVia::Redis if self.redis.is_none() && !self.spawn_redis => {
                return Err(bad(
                    "redis",
                    "publishing on Redis needs --redis URL or --spawn-redis",
                ));
            }
            PublishVia::Http if self.spawn_baseline || self.spawn_floor => {
                return Err(bad(
                    "publish",
                    "only the gateway has an HTTP publish endpoint",
                ));
            }
            _ => {}
        }
        if self.scrape_metrics > 0.0 && (self.spawn_baseline || self.spawn_floor) {
            return Err(bad("scrape-metrics", "only the gateway serves /metrics"));
        }
        if self.transport == Transport::Sse && (self.spawn_baseline || self.spawn_floor) {
            return Err(bad(
                "transport",
                "only the gateway serves Server-Sent Events",
            ));
        }
        if self.clients == 0 {
            return Err(bad("clients", "must be greater than 0"));
        }
        if self.slow_clients > self.clients {
            return Err(bad("slow-clients", "cannot exceed --clients"));
        }
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return Err(bad("rate", "must be a positive number"));
        }
        if !(self.duration.is_finite() && self.duration >= 0.0) {
            return Err(bad("duration", "must be a number of seconds"));
        }
        for (flag, value) in [
            ("settle", self.settle),
            ("drain-idle", self.drain_idle),
            ("drain-max", self.drain_max),
            ("hold", self.hold),
            ("scrape-metrics", self.scrape_metrics),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(bad(flag, "must be a number of seconds"));
            }
        }
        for (flag, value) in [
            ("handshake-timeout", self.handshake_timeout),
            ("connect-timeout", self.connect_timeout),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(bad(flag, "must be a positive number of seconds"));
            }
        }
        if self.connect_concurrency == 0 {
            return Err(bad("connect-concurrency", "must be greater than 0"));
        }
        if let Some(url) = &self.redis {
            tactical_link::cli::check_redis_url("redis", url)?;
        }
        if let Some(url) = &self.target {
            crate::client::Target::parse(url).map_err(|err| bad("target", err.to_string()))?;
        }
        Ok(())
    }

    /// Which server the run measures.
    pub fn server_kind(&self) -> ServerKind {
        match (self.spawn, self.spawn_baseline, self.spawn_floor) {
            (true, _, _) => ServerKind::Gateway,
            (_, true, _) => ServerKind::Baseline,
            (_, _, true) => ServerKind::Floor,
            _ => ServerKind::Running,
        }
    }

    /// Events to publish.
    pub fn event_count(&self) -> u64 {
        self.events
            .unwrap_or((self.rate * self.duration).round() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<BenchArgs, clap::Error> {
        let mut argv = vec!["tactical-link-bench"];
        argv.extend_from_slice(args);
        BenchArgs::try_parse_from(argv)
    }

    #[test]
    fn flags_are_checked_before_anything_starts() {
        let ok = parse(&["--spawn", "--spawn-redis", "--clients", "10"]).unwrap();
        assert!(ok.run.validate().is_ok());
        assert_eq!(ok.run.event_count(), 10_000, "1000/s for 10 s");
        let none = parse(&["--spawn-redis"]).unwrap();
        assert_eq!(none.run.validate().unwrap_err().flag, "target");
        let http = parse(&["--spawn", "--publish", "http"]).unwrap();
        assert!(http.run.validate().is_ok(), "HTTP on the in-process bus");
        let http_baseline = parse(&["--spawn-baseline", "--spawn-redis", "--publish", "http"]);
        assert_eq!(
            http_baseline.unwrap().run.validate().unwrap_err().flag,
            "publish"
        );
        let slow = parse(&[
            "--spawn",
            "--spawn-redis",
            "--clients",
            "2",
            "--slow-clients",
            "3",
        ])
        .unwrap();
        assert_eq!(slow.run.validate().unwrap_err().flag, "slow-clients");
        assert_eq!(
            parse(&["--spawn"])
                .unwrap()
                .run
                .validate()
                .unwrap_err()
                .flag,
            "redis",
            "publishing on Redis needs --redis or --spawn-redis"
        );
        assert!(parse(&["--spawn", "--spawn-baseline", "--spawn-redis"]).is_err());
        let auth = parse(&["--spawn-baseline", "--spawn-redis", "--auth"]).unwrap();
        assert_eq!(auth.run.validate().unwrap_err().flag, "auth");
        assert!(parse(&["--spawn", "--spawn-redis", "--auth", "--token", "t"]).is_err());
        let scraped = parse(&["--spawn", "--spawn-redis", "--scrape-metrics", "1"]).unwrap();
        assert!(scraped.run.validate().is_ok());
        let floor = parse(&["--spawn-floor", "--spawn-redis", "--scrape-metrics", "1"]).unwrap();
        assert_eq!(floor.run.validate().unwrap_err().flag, "scrape-metrics");
        let negative = parse(&["--spawn", "--spawn-redis", "--scrape-metrics=-1"]).unwrap();
        assert_eq!(negative.run.validate().unwrap_err().flag, "scrape-metrics");
        let idle = parse(&["--spawn", "--spawn-redis", "--events", "0"]).unwrap();
        assert_eq!(idle.run.event_count(), 0);
    }

    #[test]
    fn the_floor_is_a_server_of_its_own() {
        let floor = parse(&["--spawn-floor", "--spawn-redis"]).unwrap();
        assert!(floor.run.validate().is_ok());
        assert_eq!(floor.run.server_kind(), ServerKind::Floor);
        assert_eq!(
            parse(&["--spawn"]).unwrap().run.server_kind(),
            ServerKind::Gateway
        );
        assert!(parse(&["--spawn", "--spawn-floor"]).is_err());
        assert!(parse(&["--spawn-baseline", "--spawn-floor"]).is_err());
        let http = parse(&["--spawn-floor", "--publish", "http"]).unwrap();
        assert_eq!(http.run.validate().unwrap_err().flag, "publish");
        let serve = parse(&["floor", "--redis", "redis://127.0.0.1:1"]).unwrap();
        assert!(matches!(serve.action, Some(BenchAction::Floor(_))));
    }

    #[test]
    fn only_the_gateway_is_read_over_sse() {
        let sse = parse(&["--spawn", "--spawn-redis", "--transport", "sse"]).unwrap();
        assert!(sse.run.validate().is_ok());
        assert_eq!(sse.run.transport, Transport::Sse);
        for server in ["--spawn-floor", "--spawn-baseline"] {
            let other = parse(&[server, "--spawn-redis", "--transport", "sse"]).unwrap();
            assert_eq!(other.run.validate().unwrap_err().flag, "transport");
        }
        let ws = parse(&["--spawn-floor", "--spawn-redis"]).unwrap();
        assert_eq!(ws.run.transport, Transport::Ws, "WebSocket by default");
    }

    #[test]
    fn summarize_is_a_subcommand() {
        let args = parse(&["summarize", "some/dir"]).unwrap();
        assert!(matches!(args.action, Some(BenchAction::Summarize(_))));
        let compare = parse(&["summarize", "some/dir", "--compare", "before,after"]).unwrap();
        let Some(BenchAction::Summarize(summarize)) = compare.action else {
            panic!("not summarize");
        };
        assert_eq!(summarize.compare, Some(("before".into(), "after".into())));
        for wrong in ["before", "before,", ",after", "a,b,c"] {
            assert!(
                parse(&["summarize", "some/dir", "--compare", wrong]).is_err(),
                "{wrong}"
            );
        }
    }
}
