//! The command line: subcommands, flags, and their validation.
//!
//! Every flag can also be set by an environment variable
//! `TACTICAL_LINK_<FLAG>` (e.g. `TACTICAL_LINK_REDIS`). Values are checked
//! here, before any port is bound, and a wrong one names its flag; the binary
//! then exits with code 64 (EX_USAGE).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::admission::AdmissionConfig;
use crate::auth::{AuthConfig, KeySource, Verifier};
use crate::bus::BusConfig;
use crate::bus::redis::LinkConfig;
use crate::bus::redis::publisher::Replication;
use crate::connection::ConnectionConfig;
use crate::event::{DEFAULT_MAX_EVENT_BYTES, Stage};
use crate::headers::{DEFAULT_FRAME_ANCESTORS, SecurityHeaders};
use crate::hub::HubConfig;
use crate::pipeline::{Deadlines, Retention};
use crate::proxies::{ForwardedHeader, ProxyPolicy, TrustedProxies};
use crate::revocation::RevocationList;
use crate::server::ServerConfig;
use crate::simulator::SimulatorConfig;

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
    /// Mint an HS256 token with the configured secret (for operators and tests).
    Token(TokenArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "TACTICAL_LINK_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Serve /metrics (with /healthz and /readyz) on this address instead,
    /// e.g. an internal port only Prometheus reaches; the main address then
    /// has no /metrics. Plain HTTP, no token.
    #[arg(long, env = "TACTICAL_LINK_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
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
    /// Kernel send buffer per client socket (SO_SNDBUF), in bytes; 0 keeps
    /// the kernel's auto-tuning (up to 4 MiB a socket on common kernels).
    #[arg(long, env = "TACTICAL_LINK_SOCKET_SEND_BUFFER", default_value_t = 256 * 1024)]
    pub socket_send_buffer: usize,
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
    /// How long a stage may stay processing before it is shown stalled:
    /// a duration for every stage (`1h`), or `STAGE=DURATION` for one
    /// (`analyst=10m`); repeat, or separate with commas. `0` turns it off.
    #[arg(
        long,
        env = "TACTICAL_LINK_STAGE_DEADLINE",
        value_delimiter = ',',
        default_value = "1h"
    )]
    pub stage_deadline: Vec<String>,
    /// Events kept for clients that reconnect (and, with Redis, in the
    /// Redis stream that records them).
    #[arg(long, env = "TACTICAL_LINK_HISTORY_SIZE", default_value_t = crate::history::DEFAULT_HISTORY_SIZE)]
    pub history_size: usize,
    /// Most bytes of events kept in memory for clients that reconnect.
    #[arg(long, env = "TACTICAL_LINK_HISTORY_BYTES", default_value_t = crate::history::DEFAULT_HISTORY_BYTES)]
    pub history_bytes: usize,
    /// Redis only: milliseconds a gateway waits, after a read of the event
    /// stream that brought events, before it reads again. Gateways that
    /// do not record relay from the stream; a pause lets events gather, so
    /// Redis answers fewer, larger reads (its CPU per event grows less with
    /// each gateway), at up to this much added delivery latency on those
    /// gateways. 0 reads again at once.
    #[arg(long, env = "TACTICAL_LINK_STREAM_READ_PAUSE_MS", default_value_t = 0)]
    pub stream_read_pause_ms: u64,
    /// Longest Redis reconnect back-off, in seconds.
    #[arg(long, env = "TACTICAL_LINK_REDIS_BACKOFF_MAX", default_value_t = 5.0)]
    pub redis_backoff_max: f64,
    /// Seconds the shutdown waits for clients to close.
    #[arg(long, env = "TACTICAL_LINK_DRAIN_TIMEOUT", default_value_t = 5.0)]
    pub drain_timeout: f64,
    /// Who may show the dashboard in a frame (CSP frame-ancestors): 'none',
    /// 'self', or origins such as https://portal.example.com.
    #[arg(long, env = "TACTICAL_LINK_FRAME_ANCESTORS", default_value = DEFAULT_FRAME_ANCESTORS)]
    pub frame_ancestors: String,
    /// PEM certificate chain, to serve HTTPS/WSS (with --tls-key).
    #[arg(long, env = "TACTICAL_LINK_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "TACTICAL_LINK_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Seconds a client has for the TLS handshake and its request headers.
    #[arg(long, env = "TACTICAL_LINK_HANDSHAKE_TIMEOUT", default_value_t = 10.0)]
    pub handshake_timeout: f64,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub proxies: ProxyArgs,
    #[command(flatten)]
    pub replication: ReplicationArgs,
}

/// The load balancers in front of the gateway, and how they name the
/// client ([`crate::proxies`]).
#[derive(Debug, Clone, Args)]
pub struct ProxyArgs {
    /// Load balancers in front of the gateway: CIDR blocks or addresses
    /// (repeat, or comma-separated). Only connections from these may name
    /// the client (PROXY header, --forwarded-header); every per-address
    /// limit and log then uses the client's address. Default: none.
    #[arg(long, env = "TACTICAL_LINK_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Connections from --trusted-proxies start with a PROXY protocol
    /// header (v1 or v2: HAProxy's send-proxy-v2), read before TLS and
    /// HTTP; one without a valid header within --handshake-timeout is
    /// closed. Connections from other addresses are refused, unless
    /// --proxy-protocol-allow-direct.
    #[arg(long, env = "TACTICAL_LINK_PROXY_PROTOCOL")]
    pub proxy_protocol: bool,
    /// With --proxy-protocol, serve connections from addresses outside
    /// --trusted-proxies too, as themselves (no header is read from them).
    #[arg(
        long,
        env = "TACTICAL_LINK_PROXY_PROTOCOL_ALLOW_DIRECT",
        requires = "proxy_protocol"
    )]
    pub proxy_protocol_allow_direct: bool,
    /// The request header in which a trusted HTTP proxy names the client;
    /// the right-most address in it that is not a trusted proxy is the
    /// client. Read only on requests from --trusted-proxies.
    #[arg(
        long,
        env = "TACTICAL_LINK_FORWARDED_HEADER",
        value_enum,
        default_value = "x-forwarded-for"
    )]
    pub forwarded_header: ForwardedHeader,
}

impl ProxyArgs {
    /// The validated policy.
    pub fn policy(&self) -> Result<ProxyPolicy, ConfigError> {
        let trusted = TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|message| bad("trusted-proxies", message))?;
        if self.proxy_protocol && trusted.is_empty() {
            return Err(bad(
                "proxy-protocol",
                "needs --trusted-proxies: the addresses of the load balancers that send the header",
            ));
        }
        if !trusted.is_empty()
            && !self.proxy_protocol
            && self.forwarded_header == ForwardedHeader::None
        {
            return Err(bad(
                "trusted-proxies",
                "trusts proxies that cannot name a client: use --proxy-protocol or a --forwarded-header",
            ));
        }
        Ok(ProxyPolicy {
            trusted,
            protocol: self.proxy_protocol,
            allow_direct: self.proxy_protocol_allow_direct,
            header: self.forwarded_header,
        })
    }
}

/// How sure a durable publish is that a Redis failover keeps the event.
#[derive(Debug, Clone, Args)]
pub struct ReplicationArgs {
    /// Replicas that must hold an event before a publish (HTTP API, CLI)
    /// succeeds, checked with Redis's WAIT; 0 trusts the primary alone.
    #[arg(long, env = "TACTICAL_LINK_REDIS_WAIT_REPLICAS", default_value_t = 0)]
    pub redis_wait_replicas: u32,
    /// Seconds to wait for them (at most 4) before the publish fails.
    #[arg(long, env = "TACTICAL_LINK_REDIS_WAIT_TIMEOUT", default_value_t = 1.0)]
    pub redis_wait_timeout: f64,
}

impl ReplicationArgs {
    pub fn replication(&self) -> Result<Replication, ConfigError> {
        if self.redis_wait_replicas == 0 {
            return Ok(Replication::NONE);
        }
        let timeout = seconds("redis-wait-timeout", self.redis_wait_timeout)?;
        if timeout > Duration::from_secs(4) {
            return Err(bad("redis-wait-timeout", "must be at most 4 seconds"));
        }
        Ok(Replication {
            replicas: self.redis_wait_replicas,
            timeout,
        })
    }
}

/// Where tokens are verified from. At most one key source.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// File holding the HS256 shared secret (at least 32 bytes).
    #[arg(long, env = "TACTICAL_LINK_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,
    /// The HS256 shared secret itself (prefer the file; never on a command line).
    #[arg(long, env = "TACTICAL_LINK_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// PEM file with the RSA, EC or Ed25519 public key tokens are signed for.
    #[arg(long, env = "TACTICAL_LINK_JWT_PUBLIC_KEY")]
    pub jwt_public_key: Option<PathBuf>,
    /// JWKS file (re-read every --jwks-refresh seconds).
    #[arg(long, env = "TACTICAL_LINK_JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,
    /// JWKS URL, fetched at start and every --jwks-refresh seconds.
    #[arg(long, env = "TACTICAL_LINK_JWKS_URL")]
    pub jwks_url: Option<String>,
    /// Seconds between JWKS refreshes.
    #[arg(long, env = "TACTICAL_LINK_JWKS_REFRESH", default_value_t = 300.0)]
    pub jwks_refresh: f64,
    /// Required `iss` claim.
    #[arg(long, env = "TACTICAL_LINK_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Required `aud` claim.
    #[arg(long, env = "TACTICAL_LINK_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// Deny list of revoked tokens (`jti <id>`) and users (`sub <user>`),
    /// one per line; re-read when it changes. Open connections of a revoked
    /// token are closed (4501).
    #[arg(long, env = "TACTICAL_LINK_REVOKED_TOKENS")]
    pub revoked_tokens: Option<PathBuf>,
    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    #[arg(long, env = "TACTICAL_LINK_JWT_LEEWAY", default_value_t = 10.0)]
    pub jwt_leeway: f64,
    /// Refuse tokens whose `exp` is further away than this (`30m`, `12h`,
    /// `7d`): a token minted to live for a year is refused even though its
    /// signature is good. Default: no limit.
    #[arg(long, env = "TACTICAL_LINK_MAX_TOKEN_LIFETIME")]
    pub max_token_lifetime: Option<String>,
    /// Serve without authentication on a non-loopback address. Everyone
    /// who can reach the port sees every event.
    #[arg(long, env = "TACTICAL_LINK_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
}

/// Limits on what clients may do.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Origin allowed to open WebSockets (repeat, or comma-separated).
    /// Default: only the dashboard's own origin.
    #[arg(long, env = "TACTICAL_LINK_ALLOWED_ORIGIN", value_delimiter = ',')]
    pub allowed_origin: Vec<String>,
    /// Host name the gateway may be reached by, besides IP addresses and
    /// localhost (repeat, or comma-separated). Without a JWT key only these
    /// are served, which keeps DNS-rebinding pages out.
    #[arg(long, env = "TACTICAL_LINK_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// HTTP requests one client address may have in flight at once (0: no
    /// limit). Behind a load balancer, see --trusted-proxies.
    #[arg(long, env = "TACTICAL_LINK_MAX_REQUESTS_PER_IP", default_value_t = 64)]
    pub max_requests_per_ip: usize,
    /// Failed authentications one client address may make in a minute;
    /// past them its attempts are refused (429, close 4013) for the rest of
    /// the minute (0: no limit). Behind a load balancer, see
    /// --trusted-proxies.
    #[arg(
        long,
        env = "TACTICAL_LINK_AUTH_FAILURES_PER_MINUTE",
        default_value_t = 20
    )]
    pub auth_failures_per_minute: u32,
    /// Seconds a browser has to send its `auth` frame.
    #[arg(long, env = "TACTICAL_LINK_AUTH_TIMEOUT", default_value_t = 5.0)]
    pub auth_timeout: f64,
    /// Connections one user may hold at once (0: no limit).
    #[arg(
        long,
        env = "TACTICAL_LINK_MAX_CONNECTIONS_PER_USER",
        default_value_t = 32
    )]
    pub max_connections_per_user: usize,
    /// Connections one client address may hold at once (0: no limit).
    /// Behind a load balancer, see --trusted-proxies.
    #[arg(
        long,
        env = "TACTICAL_LINK_MAX_CONNECTIONS_PER_IP",
        default_value_t = 0
    )]
    pub max_connections_per_ip: usize,
    /// Client frames allowed per second per connection, sustained.
    #[arg(
        long,
        env = "TACTICAL_LINK_CLIENT_MESSAGE_RATE",
        default_value_t = 10.0
    )]
    pub client_message_rate: f64,
    /// Client frames allowed in a burst.
    #[arg(
        long,
        env = "TACTICAL_LINK_CLIENT_MESSAGE_BURST",
        default_value_t = 30.0
    )]
    pub client_message_burst: f64,
}

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The user (`sub` claim).
    #[arg(long)]
    pub sub: String,
    /// The tenant (`tenant` claim).
    #[arg(long)]
    pub tenant: Option<String>,
    /// A role (repeat for several): viewer, publisher, admin.
    #[arg(long)]
    pub role: Vec<String>,
    /// Lifetime: seconds, or with a unit (90s, 15m, 1h, 7d).
    #[arg(long, default_value = "1h")]
    pub ttl: String,
    /// File holding the HS256 secret.
    #[arg(long, env = "TACTICAL_LINK_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,
    /// The HS256 secret itself.
    #[arg(long, env = "TACTICAL_LINK_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// `iss` claim to set.
    #[arg(long, env = "TACTICAL_LINK_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// `aud` claim to set.
    #[arg(long, env = "TACTICAL_LINK_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
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
    #[command(flatten)]
    pub replication: ReplicationArgs,
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

/// Exit code for a bad command line or setting (EX_USAGE).
pub const EXIT_USAGE: u8 = 64;

/// Parses the command line as `T`. On a refusal clap's message is printed
/// and the exit code returned: success for `--help` and `--version`,
/// EX_USAGE otherwise.
pub fn parse_or_exit<T: Parser>() -> Result<T, std::process::ExitCode> {
    T::try_parse().map_err(|err| {
        let informational = matches!(
            err.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        );
        let _ = err.print();
        if informational {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::from(EXIT_USAGE)
        }
    })
}

/// The exit code of a command's outcome, its error printed: EX_USAGE for
/// a [`ConfigError`], failure for anything else.
pub fn exit_code(outcome: anyhow::Result<()>) -> std::process::ExitCode {
    let Err(err) = outcome else {
        return std::process::ExitCode::SUCCESS;
    };
    if let Some(config) = err.downcast_ref::<ConfigError>() {
        eprintln!("error: {config}");
        return std::process::ExitCode::from(EXIT_USAGE);
    }
    eprintln!("error: {err:#}");
    std::process::ExitCode::FAILURE
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
    crate::bus::redis::Endpoint::parse(url, "check")
        .map(|_| ())
        .map_err(|err| bad(flag, format!("{url:?} is not a Redis URL: {err}")))
}

/// The stall deadlines of `--stage-deadline`: `DURATION` for every stage,
/// `STAGE=DURATION` for one (later values win); `0` is no deadline.
pub fn deadlines(values: &[String]) -> Result<Deadlines, ConfigError> {
    let mut deadlines = Deadlines::default();
    for value in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        let (stage, duration) = match value.split_once('=') {
            Some((name, duration)) => {
                let stage = Stage::parse(name.trim()).ok_or_else(|| {
                    bad(
                        "stage-deadline",
                        format!("unknown stage {name:?} in {value:?}"),
                    )
                })?;
                (Some(stage), duration.trim())
            }
            None => (None, value),
        };
        let ms = match duration {
            "0" => None,
            text => Some(
                parse_ttl(text)
                    .map_err(|err| bad("stage-deadline", err.message))?
                    .as_millis() as i64,
            ),
        };
        match stage {
            Some(stage) => deadlines.per_stage[stage.index()] = ms,
            None => deadlines.per_stage = [ms; 6],
        }
    }
    Ok(deadlines)
}

impl ServeArgs {
    /// The validated server configuration.
    pub fn server_config(&self) -> Result<ServerConfig, ConfigError> {
        let verifier = self.auth.verifier()?;
        if verifier.is_none() && !self.listen.ip().is_loopback() && !self.auth.insecure_no_auth {
            return Err(bad(
                "listen",
                format!(
                    "{} is not a loopback address and no JWT key is configured; \
                     configure --jwt-secret-file, --jwt-public-key, --jwks-file or --jwks-url, \
                     or pass --insecure-no-auth to serve every event to anyone",
                    self.listen
                ),
            ));
        }
        Ok(ServerConfig {
            verifier,
            admission: self.limits.admission()?,
            tls: self.tls()?,
            handshake_timeout: seconds("handshake-timeout", self.handshake_timeout)?,
            bus: self.bus_config()?,
            hub: self.hub_config()?,
            connection: self.connection_config()?,
            drain_timeout: seconds("drain-timeout", self.drain_timeout)?,
            headers: SecurityHeaders::new(&self.frame_ancestors)
                .map_err(|message| bad("frame-ancestors", message))?,
            proxies: self.proxies.policy()?,
        })
    }

    fn bus_config(&self) -> Result<BusConfig, ConfigError> {
        if self.channel.is_empty() {
            return Err(bad("channel", "must not be empty"));
        }
        let Some(url) = &self.redis else {
            return Ok(BusConfig::Memory);
        };
        check_redis_url("redis", url)?;
        let mut link = LinkConfig::new(url, &self.channel);
        link.backoff_cap = seconds("redis-backoff-max", self.redis_backoff_max)?;
        link.backoff_base = link.backoff_base.min(link.backoff_cap);
        link.history_size = positive("history-size", self.history_size)?;
        link.history_bytes = positive("history-bytes", self.history_bytes)?;
        if self.stream_read_pause_ms > 1000 {
            return Err(bad("stream-read-pause-ms", "must be at most 1000"));
        }
        link.stream_read_pause = Duration::from_millis(self.stream_read_pause_ms);
        let retention = seconds("run-retention-hours", self.run_retention_hours)?;
        link.run_retention_s = (retention.as_secs_f64() * 3600.0).ceil() as u64;
        link.max_runs = positive("max-runs", self.max_runs)?;
        link.replication = self.replication.replication()?;
        Ok(BusConfig::Redis(link))
    }

    fn hub_config(&self) -> Result<HubConfig, ConfigError> {
        let retention_hours = seconds("run-retention-hours", self.run_retention_hours)?;
        Ok(HubConfig {
            max_event_bytes: positive("max-event-bytes", self.max_event_bytes)?,
            retention: Retention {
                max_runs: positive("max-runs", self.max_runs)?,
                max_age_ms: (retention_hours.as_secs_f64() * 3_600_000.0) as i64,
            },
            ring_capacity: positive("client-buffer", self.client_buffer)?,
            history_size: positive("history-size", self.history_size)?,
            history_bytes: positive("history-bytes", self.history_bytes)?,
            deadlines: deadlines(&self.stage_deadline)?,
            ..HubConfig::default()
        })
    }

    fn connection_config(&self) -> Result<ConnectionConfig, ConfigError> {
        if self.max_client_frame_bytes < 128 {
            return Err(bad("max-client-frame-bytes", "must be at least 128"));
        }
        Ok(ConnectionConfig {
            heartbeat: seconds("heartbeat", self.heartbeat)?,
            write_timeout: seconds("write-timeout", self.write_timeout)?,
            max_client_frame_bytes: self.max_client_frame_bytes,
            socket_send_buffer: self.socket_send_buffer,
            ..ConnectionConfig::default()
        })
    }

    fn tls(&self) -> Result<Option<tokio_rustls::TlsAcceptor>, ConfigError> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => crate::listener::tls_acceptor(cert, key)
                .map(Some)
                .map_err(|message| bad("tls-cert", message)),
            _ => Ok(None),
        }
    }
}

impl LimitArgs {
    /// The validated admission policy.
    fn admission(&self) -> Result<AdmissionConfig, ConfigError> {
        if !(self.client_message_rate.is_finite() && self.client_message_rate > 0.0) {
            return Err(bad("client-message-rate", "must be a positive number"));
        }
        if !(self.client_message_burst.is_finite() && self.client_message_burst >= 1.0) {
            return Err(bad("client-message-burst", "must be at least 1"));
        }
        for origin in &self.allowed_origin {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err(bad(
                    "allowed-origin",
                    format!("{origin:?} is not an origin like https://ops.example.com"),
                ));
            }
        }
        Ok(AdmissionConfig {
            allowed_origins: self.allowed_origin.clone(),
            auth_timeout: seconds("auth-timeout", self.auth_timeout)?,
            max_connections_per_user: self.max_connections_per_user,
            max_connections_per_ip: self.max_connections_per_ip,
            messages_per_second: self.client_message_rate,
            message_burst: self.client_message_burst,
            allowed_hosts: self
                .allowed_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
            max_requests_per_ip: self.max_requests_per_ip,
            auth_failures_per_minute: self.auth_failures_per_minute,
        })
    }
}

impl AuthArgs {
    /// The verifier of the one configured key source; `None` when none is.
    pub fn verifier(&self) -> Result<Option<Arc<Verifier>>, ConfigError> {
        let mut sources = Vec::new();
        if let Some(secret) = secret_from(&self.jwt_secret_file, &self.jwt_secret)? {
            sources.push(("jwt-secret-file", KeySource::Secret(secret)));
        }
        if let Some(path) = &self.jwt_public_key {
            sources.push(("jwt-public-key", KeySource::PublicKeyPem(path.clone())));
        }
        if let Some(path) = &self.jwks_file {
            sources.push(("jwks-file", KeySource::JwksFile(path.clone())));
        }
        if let Some(url) = &self.jwks_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(bad("jwks-url", format!("{url:?} is not an http(s) URL")));
            }
            sources.push(("jwks-url", KeySource::JwksUrl(url.clone())));
        }
        if sources.len() > 1 {
            return Err(bad(
                sources[1].0,
                format!(
                    "only one key source may be configured, and --{} is too",
                    sources[0].0
                ),
            ));
        }
        let Some((flag, source)) = sources.pop() else {
            if self.revoked_tokens.is_some() {
                return Err(bad(
                    "revoked-tokens",
                    "revokes tokens, but no JWT key is configured",
                ));
            }
            return Ok(None);
        };
        let config = AuthConfig {
            source,
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            leeway: Duration::from_secs_f64(self.jwt_leeway.clamp(0.0, 3600.0)),
            jwks_refresh: seconds("jwks-refresh", self.jwks_refresh)?,
            max_lifetime: match &self.max_token_lifetime {
                None => None,
                Some(text) => {
                    Some(parse_ttl(text).map_err(|err| bad("max-token-lifetime", err.message))?)
                }
            },
        };
        let verifier = Verifier::new(config).map_err(|message| bad(flag, message))?;
        let verifier = match &self.revoked_tokens {
            Some(path) => verifier.with_revocations(Arc::new(
                RevocationList::load(path).map_err(|message| bad("revoked-tokens", message))?,
            )),
            None => verifier,
        };
        Ok(Some(Arc::new(verifier)))
    }
}

/// The HS256 secret from a file (trailing newline dropped) or a value.
pub fn secret_from(
    file: &Option<PathBuf>,
    value: &Option<String>,
) -> Result<Option<Vec<u8>>, ConfigError> {
    match (file, value) {
        (Some(_), Some(_)) => Err(bad(
            "jwt-secret",
            "give the secret as a file or as a value, not both",
        )),
        (Some(path), None) => {
            let mut secret = std::fs::read(path).map_err(|err| {
                bad(
                    "jwt-secret-file",
                    format!("cannot read {}: {err}", path.display()),
                )
            })?;
            while secret.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                secret.pop();
            }
            Ok(Some(secret))
        }
        (None, Some(value)) => Ok(Some(value.as_bytes().to_vec())),
        (None, None) => Ok(None),
    }
}

/// Parses `90`, `90s`, `15m`, `1h`, `7d`.
pub fn parse_ttl(text: &str) -> Result<Duration, ConfigError> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: u64 = number.parse().map_err(|_| {
        bad(
            "ttl",
            format!("{text:?} is not a duration like 90s, 15m, 1h or 7d"),
        )
    })?;
    let unit_s = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(bad(
                "ttl",
                format!("unknown unit {unit:?} (use s, m, h or d)"),
            ));
        }
    };
    if number == 0 {
        return Err(bad("ttl", "must be longer than 0"));
    }
    Ok(Duration::from_secs(number.saturating_mul(unit_s)))
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
        let paused =
            |ms: &str| serve(&["--redis", "redis://127.0.0.1", "--stream-read-pause-ms", ms]);
        let Ok(ServerConfig {
            bus: BusConfig::Redis(link),
            ..
        }) = paused("5")
        else {
            panic!("a Redis bus")
        };
        assert_eq!(link.stream_read_pause, Duration::from_millis(5));
        assert_eq!(paused("1001").unwrap_err().flag, "stream-read-pause-ms");
    }

    #[test]
    fn auth_is_required_off_loopback_and_key_sources_are_exclusive() {
        let err = serve(&["--listen", "0.0.0.0:8000"]).unwrap_err();
        assert_eq!(err.flag, "listen");
        assert!(serve(&["--listen", "0.0.0.0:8000", "--insecure-no-auth"]).is_ok());
        let secret = "x".repeat(40);
        let config = serve(&["--listen", "0.0.0.0:8000", "--jwt-secret", &secret]).unwrap();
        assert!(config.verifier.is_some());
        assert_eq!(
            serve(&["--jwt-secret", "short"]).unwrap_err().flag,
            "jwt-secret-file"
        );
        let both = serve(&[
            "--jwt-secret",
            &secret,
            "--jwks-url",
            "https://idp.example/jwks",
        ]);
        assert_eq!(both.unwrap_err().flag, "jwks-url");
        assert_eq!(
            serve(&["--allowed-origin", "evil.example"])
                .unwrap_err()
                .flag,
            "allowed-origin"
        );
    }

    #[test]
    fn proxies_are_trusted_only_with_a_way_to_name_the_client() {
        let config = serve(&[
            "--trusted-proxies",
            "10.0.0.0/8,192.0.2.7",
            "--proxy-protocol",
        ])
        .unwrap();
        assert!(config.proxies.protocol);
        assert!(
            config
                .proxies
                .trusted
                .contains("192.0.2.7".parse().unwrap())
        );
        assert_eq!(config.proxies.header, ForwardedHeader::XForwardedFor);
        assert_eq!(
            serve(&["--proxy-protocol"]).unwrap_err().flag,
            "proxy-protocol",
            "a header from nobody"
        );
        assert_eq!(
            serve(&[
                "--trusted-proxies",
                "10.0.0.0/8",
                "--forwarded-header",
                "none"
            ])
            .unwrap_err()
            .flag,
            "trusted-proxies"
        );
        assert_eq!(
            serve(&["--trusted-proxies", "10.0.0.0/40"])
                .unwrap_err()
                .flag,
            "trusted-proxies"
        );
        let forwarded = serve(&[
            "--trusted-proxies",
            "::1",
            "--forwarded-header",
            "forwarded",
        ]);
        assert_eq!(
            forwarded.unwrap().proxies.header,
            ForwardedHeader::Forwarded
        );
        assert!(
            Cli::try_parse_from(["tactical-link", "serve", "--proxy-protocol-allow-direct"])
                .is_err(),
            "allow-direct needs --proxy-protocol"
        );
        assert_eq!(serve(&[]).unwrap().proxies, ProxyPolicy::default());
    }

    #[test]
    fn stage_deadlines_take_a_default_and_per_stage_values() {
        let values = |list: &[&str]| list.iter().map(|v| v.to_string()).collect::<Vec<_>>();
        let d = deadlines(&values(&["1h", "analyst=10m", "report=0"])).unwrap();
        assert_eq!(d.per_stage[Stage::Radar.index()], Some(3_600_000));
        assert_eq!(d.per_stage[Stage::Analyst.index()], Some(600_000));
        assert_eq!(d.per_stage[Stage::Report.index()], None);
        assert_eq!(deadlines(&values(&["0"])).unwrap(), Deadlines::default());
        assert!(
            deadlines(&values(&["cooking=5m"]))
                .unwrap_err()
                .to_string()
                .contains("stage-deadline")
        );
        assert!(deadlines(&values(&["analyst=soon"])).is_err());
    }

    #[test]
    fn ttls_read_like_people_write_them() {
        assert_eq!(parse_ttl("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_ttl("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_ttl("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_ttl("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert!(parse_ttl("1y").is_err());
        assert!(parse_ttl("0").is_err());
        assert!(parse_ttl("soon").is_err());
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
