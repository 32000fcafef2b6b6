//! The servers of one run: a `redis-server` and our gateway, the Python
//! baseline or the floor, started on free ports through the test harness
//! (`testkit`), or a running server found by URL; and what is read from them at the
//! end: the gateway's own counters and the tail of the server's log.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use testkit::{GatewayProcess, RedisServer, TempDir, http, procstat, tokens};

use crate::args::{RunArgs, ServerKind};
use crate::client::Target;

/// How long a spawned server has to print its address, and then to be
/// ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What a run started (stopped when dropped) and where its clients go.
pub struct Servers {
    pub server: Option<GatewayProcess>,
    pub redis: Option<RedisServer>,
    /// The Redis the gateway reads, when there is one.
    pub redis_url: Option<String>,
    pub target: Target,
    /// The HS256 secret of a spawned gateway under `--auth`.
    pub auth_secret: Option<String>,
    /// The server whose memory and CPU are read (`--server-pid`, or ours).
    pub server_pid: Option<u32>,
    pub redis_pid: Option<u32>,
    /// Holds the secret's file.
    _dir: TempDir,
}

impl Servers {
    /// Starts what the flags ask for and waits until the server is ready.
    pub async fn start(args: &RunArgs) -> anyhow::Result<Servers> {
        let dir = TempDir::new("tactical-link-bench")?;
        let redis = match (&args.redis, args.spawn_redis) {
            (None, true) => Some(RedisServer::try_start(false)?),
            _ => None,
        };
        let redis_url = args.redis.clone().or(redis.as_ref().map(RedisServer::url));
        let auth_secret = args.auth.then(tokens::random_secret);
        let secret_file = match &auth_secret {
            Some(secret) => Some(dir.write("jwt-secret", secret)?),
            None => None,
        };
        let (server, target) = match &args.target {
            Some(url) => (None, Target::parse(url)?),
            None => {
                let server = spawn_server(args, redis_url.as_deref(), secret_file.as_deref())?;
                let addr = server.addr;
                // The floor speaks nothing but WebSocket; it prints its
                // address once it is subscribed and listening.
                if args.server_kind() != ServerKind::Floor {
                    wait_ready(addr).await?;
                }
                let target = Target::parse(&format!("ws://{addr}/dashboard/ws"))?;
                (Some(server), target)
            }
        };
        Ok(Servers {
            redis_pid: redis.as_ref().and_then(RedisServer::pid),
            server_pid: args.server_pid.or(server.as_ref().map(GatewayProcess::pid)),
            server,
            redis,
            redis_url,
            target,
            auth_secret,
            _dir: dir,
        })
    }

    /// The server's resident memory now, in KiB.
    pub fn server_rss_kib(&self) -> Option<u64> {
        self.server_pid.and_then(procstat::rss_kib)
    }

    /// False once a server this run started has exited.
    pub fn server_alive(&mut self) -> bool {
        self.server.as_mut().is_none_or(GatewayProcess::alive)
    }

    /// The last `lines` lines of a spawned server's stderr (warnings and
    /// errors only, as it runs with TACTICAL_LINK_LOG=warn), for the notes.
    pub fn log_tail(&self, lines: usize) -> Vec<String> {
        let Some(server) = &self.server else {
            return Vec::new();
        };
        let text = server.log();
        let all: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter(|l| !l.contains("carries no dashboard") && !l.contains("authentication is off"))
            .collect();
        let skipped = all.len().saturating_sub(lines);
        let mut notes: Vec<String> = all[skipped..]
            .iter()
            .map(|line| format!("server log: {}", tactical_link::event::truncate(line, 300)))
            .collect();
        if skipped > 0 {
            notes.insert(0, format!("server log: … {skipped} earlier lines"));
        }
        notes
    }

    /// Stops the server (SIGTERM, then SIGKILL after 3 s), then Redis.
    pub fn stop(mut self) {
        if let Some(server) = &mut self.server {
            server.terminate(Duration::from_secs(3));
        }
    }
}

/// Waits until `GET /readyz` answers 200 (the bus link is up), or 404: a
/// server without a readiness endpoint (the baseline) is trusted once it
/// prints its address.
pub async fn wait_ready(addr: SocketAddr) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || {
        http::wait_for_status(addr, "/readyz", START_TIMEOUT, |status| {
            status == 200 || status == 404
        })
    })
    .await?
    .with_context(|| format!("the server at {addr} is not ready"))?;
    Ok(())
}

/// Starts the gateway or the baseline on a free port.
fn spawn_server(
    args: &RunArgs,
    redis_url: Option<&str>,
    secret_file: Option<&Path>,
) -> anyhow::Result<GatewayProcess> {
    match args.server_kind() {
        ServerKind::Baseline => return spawn_baseline(args, redis_url),
        ServerKind::Floor => return spawn_floor(args, redis_url),
        ServerKind::Gateway | ServerKind::Running => {}
    }
    let bin = gateway_bin(args.gateway_bin.as_deref())?;
    let mut command = gateway_command(&bin, redis_url, &args.channel, &args.gateway_args);
    if let Some(file) = secret_file {
        command.arg("--jwt-secret-file").arg(file);
    }
    GatewayProcess::spawn("tactical-link serve", command, START_TIMEOUT)
}

/// `BIN serve --listen 127.0.0.1:0 [--redis URL] --channel C EXTRA…`,
/// logging warnings only, with no setting from this environment.
pub fn gateway_command(
    bin: &Path,
    redis_url: Option<&str>,
    channel: &str,
    extra: &[String],
) -> Command {
    gateway_command_at(bin, "127.0.0.1:0", redis_url, channel, extra)
}

/// The same, listening on `listen`.
pub fn gateway_command_at(
    bin: &Path,
    listen: &str,
    redis_url: Option<&str>,
    channel: &str,
    extra: &[String],
) -> Command {
    let mut command = Command::new(bin);
    command.args(["serve", "--listen", listen]);
    if let Some(redis_url) = redis_url {
        command.args(["--redis", redis_url]);
    }
    command
        .args(["--channel", channel])
        .args(extra)
        .env("TACTICAL_LINK_LOG", "warn")
        .env("NO_COLOR", "1")
        .env_remove("TACTICAL_LINK_JWT_SECRET")
        .env_remove("TACTICAL_LINK_JWT_SECRET_FILE")
        .env_remove("TACTICAL_LINK_LISTEN")
        .env_remove("TACTICAL_LINK_REDIS");
    command
}

/// `--gateway-bin`, or `tactical-link` beside this binary.
pub fn gateway_bin(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(bin) = given {
        return Ok(bin.to_owned());
    }
    let me = std::env::current_exe().context("cannot find this binary")?;
    let beside = me.with_file_name("tactical-link");
    if !beside.exists() {
        bail!(
            "{} does not exist: build the gateway (cargo build --release -p tactical-link) \
             or give --gateway-bin",
            beside.display()
        );
    }
    Ok(beside)
}

fn spawn_baseline(args: &RunArgs, redis_url: Option<&str>) -> anyhow::Result<GatewayProcess> {
    if !args.baseline_python.exists() {
        bail!(
            "{} does not exist: create the baseline's venv first (bench/run.sh does)",
            args.baseline_python.display()
        );
    }
    let Some(redis_url) = redis_url else {
        bail!("the Python baseline needs --redis or --spawn-redis");
    };
    let mut command = Command::new(&args.baseline_python);
    command
        .arg(&args.baseline_script)
        .args(["--listen", "127.0.0.1:0", "--redis", redis_url])
        .args(["--channel", &args.channel]);
    GatewayProcess::spawn("the Python baseline", command, START_TIMEOUT)
}

/// Runs this binary's `floor` subcommand: a process of its own, as the
/// gateway is one, whose CPU and memory are read the same way.
fn spawn_floor(args: &RunArgs, redis_url: Option<&str>) -> anyhow::Result<GatewayProcess> {
    let Some(redis_url) = redis_url else {
        bail!("the floor needs --redis or --spawn-redis");
    };
    let me = std::env::current_exe().context("cannot find this binary")?;
    let mut command = Command::new(me);
    command
        .args(["floor", "--listen", "127.0.0.1:0", "--redis", redis_url])
        .args(["--channel", &args.channel]);
    GatewayProcess::spawn("the floor", command, START_TIMEOUT)
}

/// The gateway's own counters, from /metrics.
pub async fn server_metrics(addr: SocketAddr) -> BTreeMap<String, f64> {
    const NAMES: &[&str] = &[
        "tactical_link_events_received_total",
        "tactical_link_events_relayed_total",
        "tactical_link_frames_sent_total",
        "tactical_link_slow_consumer_disconnects_total",
        "tactical_link_connections_open",
        "tactical_link_bus_connects_total",
        "tactical_link_bus_disconnects_total",
        // publish (the event's ts) → relay, and relay → socket write: where
        // the gateway's share of the latency goes.
        "tactical_link_ingest_latency_seconds_sum",
        "tactical_link_ingest_latency_seconds_count",
        "tactical_link_delivery_latency_seconds_sum",
        "tactical_link_delivery_latency_seconds_count",
    ];
    let fetched =
        tokio::task::spawn_blocking(move || http::get(addr, "/metrics", Duration::from_secs(5)))
            .await;
    let mut values = BTreeMap::new();
    if let Ok(Ok((200, text))) = fetched {
        for name in NAMES {
            if let Some(value) = http::prometheus_value(&text, name) {
                values.insert((*name).to_owned(), value);
            }
        }
    }
    values
}
