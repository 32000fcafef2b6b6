//! The command line: subcommands, flags, and their validation.
//!
//! Every flag can also be set by an environment variable
//! `TACTICAL_LINK_<FLAG>` (e.g. `TACTICAL_LINK_REDIS`). Values are checked
//! here, before any port is bound, and a wrong one names its flag; the binary
//! then exits with code 64 (EX_USAGE).

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::bus::redis::LinkConfig;
use crate::event::DEFAULT_MAX_EVENT_BYTES;
use crate::hub::HubConfig;
use crate::pipeline::Retention;
use crate::server::{BusConfig, ServerConfig};
use crate::simulator::SimulatorConfig;
use crate::ws::ConnectionConfig;

#[derive(Debug, Parser)]
#[command(
    name = "tactical-link",
    version,
    about = "Real-time gateway from a Redis event bus to live pipeline dashboards over WebSocket"
)]
pub struct Cli {
    /// Log format: readable text, or one JSON object per line.
    #[arg(
        long,
        global = true,
        env = "TACTICAL_LINK_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,
    /// Log filter, as in RUST_LOG (e.g. `info`, `tactical_link=debug`).
    #[arg(long, global = true, env = "TACTICAL_LINK_LOG", default_value = "info")]
    pub log: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve(ServeArgs),
    /// Run the gateway with the simulator inside it: a first look, no setup.
    Demo(DemoArgs),
    /// Publish simulated pipeline runs to Redis (the "war room").
    Simulate(SimulateArgs),
    /// Publish one event to Redis, validated first.
    Publish(PublishArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "TACTICAL_LINK_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Redis URL (redis://host:port/db). Without it, the in-process bus.
    #[arg(long, env = "TACTICAL_LINK_REDIS")]
    pub redis: Option<String>,
    /// Redis pub/sub channel carrying the events.
    #[arg(long, env = "TACTICAL_LINK_CHANNEL", default_value = "system_events")]
    pub channel: String,
    /// Largest event accepted from the bus, in bytes.
    #[arg(long, env = "TACTICAL_LINK_MAX_EVENT_BYTES", default_value_t = DEFAULT_MAX_EVENT_BYTES)]
    pub max_event_bytes: usize,
    /// Frames a client may fall behind before it is dropped as slow.
    #[arg(long, env = "TACTICAL_LINK_CLIENT_BUFFER", default_value_t = 4096)]
    pub client_buffer: usize,
    /// Seconds a client write may wait on a client that does not read.
    #[arg(long, env = "TACTICAL_LINK_WRITE_TIMEOUT", default_value_t = 10.0)]
    pub write_timeout: f64,
    /// Seconds between heartbeats; a client silent for two is dropped.
    #[arg(long, env = "TACTICAL_LINK_HEARTBEAT", default_value_t = 15.0)]
    pub heartbeat: f64,
    /// Largest frame a client may send, in bytes.
    #[arg(
        long,
        env = "TACTICAL_LINK_MAX_CLIENT_FRAME_BYTES",
        default_value_t = 4096
    )]
    pub max_client_frame_bytes: usize,
    /// Pipeline runs kept in memory.
    #[arg(long, env = "TACTICAL_LINK_MAX_RUNS", default_value_t = 100)]
    pub max_runs: usize,
    /// Hours a run is kept after its last event.
    #[arg(
        long,
        env = "TACTICAL_LINK_RUN_RETENTION_HOURS",
        default_value_t = 24.0
    )]
    pub run_retention_hours: f64,
    /// Events kept for clients that reconnect (and, with Redis, in the
    /// Redis stream that records them).
    #[arg(long, env = "TACTICAL_LINK_HISTORY_SIZE", default_value_t = crate::history::DEFAULT_HISTORY_SIZE)]
    pub history_size: usize,
    /// Most bytes of events kept in memory for clients that reconnect.
    #[arg(long, env = "TACTICAL_LINK_HISTORY_BYTES", default_value_t = crate::history::DEFAULT_HISTORY_BYTES)]
    pub history_bytes: usize,
    /// Longest Redis reconnect back-off, in seconds.
    #[arg(long, env = "TACTICAL_LINK_REDIS_BACKOFF_MAX", default_value_t = 5.0)]
    pub redis_backoff_max: f64,
    /// Seconds the shutdown waits for clients to close.
    #[arg(long, env = "TACTICAL_LINK_DRAIN_TIMEOUT", default_value_t = 5.0)]
    pub drain_timeout: f64,
}

#[derive(Debug, Clone, Args)]
pub struct SimulationArgs {
    /// Runs in flight at once.
    #[arg(long, env = "TACTICAL_LINK_CONCURRENCY", default_value_t = 3)]
    pub concurrency: usize,
    /// Time acceleration (2 = twice as fast).
    #[arg(long, env = "TACTICAL_LINK_SPEED", default_value_t = 1.0)]
    pub speed: f64,
    /// Probability that a run fails at one stage (0 to 1).
    #[arg(long, env = "TACTICAL_LINK_ERROR_RATE", default_value_t = 0.15)]
    pub error_rate: f64,
    /// Seed for a reproducible sequence (random when absent).
    #[arg(long, env = "TACTICAL_LINK_SEED")]
    pub seed: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub simulation: SimulationArgs,
}

#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Redis URL to publish to.
    #[arg(
        long,
        env = "TACTICAL_LINK_REDIS",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis: String,
    /// Channel to publish on.
    #[arg(long, env = "TACTICAL_LINK_CHANNEL", default_value = "system_events")]
    pub channel: String,
    /// Runs to play (0 = forever).
    #[arg(long, env = "TACTICAL_LINK_RUNS", default_value_t = 10)]
    pub runs: u64,
    #[command(flatten)]
    pub simulation: SimulationArgs,
}

#[derive(Debug, Clone, Args)]
pub struct PublishArgs {
    /// Redis URL to publish to.
    #[arg(
        long,
        env = "TACTICAL_LINK_REDIS",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis: String,
    /// Channel to publish on.
    #[arg(long, env = "TACTICAL_LINK_CHANNEL", default_value = "system_events")]
    pub channel: String,
    /// Run id of a pipeline event.
    #[arg(long, requires_all = ["stage", "status"], conflicts_with = "json")]
    pub run: Option<String>,
    /// Stage: radar, analyst, advisor, actuator, quality or report.
    #[arg(long, requires = "run")]
    pub stage: Option<String>,
    /// Status: idle, processing, complete or error.
    #[arg(long, requires = "run")]
    pub status: Option<String>,
    /// Free text shown with the stage (the error reason for status error).
    #[arg(long, requires = "run")]
    pub detail: Option<String>,
    /// A whole event as JSON, published as given once it validates.
    #[arg(long, required_unless_present = "run")]
    pub json: Option<String>,
}

/// A flag with a value it cannot take.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for --{flag}: {message}")]
pub struct ConfigError {
    pub flag: &'static str,
    pub message: String,
}

fn bad(flag: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        flag,
        message: message.into(),
    }
}

fn seconds(flag: &'static str, value: f64) -> Result<Duration, ConfigError> {
    if value.is_finite() && value > 0.0 && value < 1e9 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(bad(
            flag,
            format!("{value} is not a positive number of seconds"),
        ))
    }
}

fn positive(flag: &'static str, value: usize) -> Result<usize, ConfigError> {
    if value > 0 {
        Ok(value)
    } else {
        Err(bad(flag, "must be greater than 0"))
    }
}

/// Checks a Redis URL without connecting.
pub fn check_redis_url(flag: &'static str, url: &str) -> Result<(), ConfigError> {
    redis::Client::open(url)
        .map(|_| ())
        .map_err(|err| bad(flag, format!("{url:?} is not a Redis URL: {err}")))
}

impl ServeArgs {
    /// The validated server configuration.
    pub fn server_config(&self) -> Result<ServerConfig, ConfigError> {
        if self.channel.is_empty() {
            return Err(bad("channel", "must not be empty"));
        }
        let bus = match &self.redis {
            None => BusConfig::Memory,
            Some(url) => {
                check_redis_url("redis", url)?;
                let mut link = LinkConfig::new(url, &self.channel);
                link.backoff_cap = seconds("redis-backoff-max", self.redis_backoff_max)?;
                link.backoff_base = link.backoff_base.min(link.backoff_cap);
                link.history_size = positive("history-size", self.history_size)?;
                BusConfig::Redis(link)
            }
        };
        if self.max_client_frame_bytes < 128 {
            return Err(bad("max-client-frame-bytes", "must be at least 128"));
        }
        let retention_hours = seconds("run-retention-hours", self.run_retention_hours)?;
        Ok(ServerConfig {
            bus,
            hub: HubConfig {
                max_event_bytes: positive("max-event-bytes", self.max_event_bytes)?,
                retention: Retention {
                    max_runs: positive("max-runs", self.max_runs)?,
                    max_age_ms: (retention_hours.as_secs_f64() * 3_600_000.0) as i64,
                },
                ring_capacity: positive("client-buffer", self.client_buffer)?,
                history_size: positive("history-size", self.history_size)?,
                history_bytes: positive("history-bytes", self.history_bytes)?,
                ..HubConfig::default()
            },
            connection: ConnectionConfig {
                heartbeat: seconds("heartbeat", self.heartbeat)?,
                write_timeout: seconds("write-timeout", self.write_timeout)?,
                max_client_frame_bytes: self.max_client_frame_bytes,
                ..ConnectionConfig::default()
            },
            drain_timeout: seconds("drain-timeout", self.drain_timeout)?,
        })
    }
}

impl SimulationArgs {
    /// The validated simulator configuration for `runs` runs (0 = forever).
    pub fn simulator_config(&self, runs: u64) -> Result<SimulatorConfig, ConfigError> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(bad("error-rate", "must be between 0 and 1"));
        }
        if !(self.speed.is_finite() && self.speed > 0.0) {
            return Err(bad("speed", "must be a positive number"));
        }
        Ok(SimulatorConfig {
            runs: (runs > 0).then_some(runs),
            concurrency: positive("concurrency", self.concurrency)?,
            speed: self.speed,
            error_rate: self.error_rate,
            seed: self.seed.unwrap_or_else(rand::random),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Result<ServerConfig, ConfigError> {
        let mut argv = vec!["tactical-link", "serve"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Serve(serve) => serve.server_config(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn defaults_are_valid_and_use_the_memory_bus() {
        let config = serve(&[]).unwrap();
        assert!(matches!(config.bus, BusConfig::Memory));
        assert_eq!(config.hub.max_event_bytes, 64 * 1024);
    }

    #[test]
    fn a_bad_value_names_its_flag() {
        assert_eq!(
            serve(&["--redis", "http://nope"]).unwrap_err().flag,
            "redis"
        );
        assert_eq!(serve(&["--heartbeat", "0"]).unwrap_err().flag, "heartbeat");
        assert_eq!(serve(&["--max-runs", "0"]).unwrap_err().flag, "max-runs");
        assert_eq!(serve(&["--channel", ""]).unwrap_err().flag, "channel");
    }

    #[test]
    fn publish_needs_a_run_triple_or_json() {
        assert!(Cli::try_parse_from(["tactical-link", "publish"]).is_err());
        assert!(Cli::try_parse_from(["tactical-link", "publish", "--run", "r"]).is_err());
        assert!(
            Cli::try_parse_from([
                "tactical-link",
                "publish",
                "--run",
                "r",
                "--stage",
                "radar",
                "--status",
                "idle"
            ])
            .is_ok()
        );
        assert!(Cli::try_parse_from(["tactical-link", "publish", "--json", "{}"]).is_ok());
    }
}
