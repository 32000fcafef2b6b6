//! `tactical-link bench`: a load benchmark for the gateway, and for the
//! Python baseline of the original design beside it (bench/baselines/).
//!
//! One run: start (or find) Redis and the server, open N WebSocket clients,
//! wait until every one has its snapshot, publish M events at R events/s
//! with plain `PUBLISH`, wait for the deliveries to drain, and report loss,
//! latency, throughput, and the server's memory and CPU beside the
//! benchmark's own (both share the machine's cores). `bench summarize`
//! turns the JSON of many runs into docs/performance.md. docs/performance.md
//! says how to run it and what the figures mean.
//!
//! # Layout
//!
//! - [`probe`]: reads a frame's type, sequence number and send time cheaply.
//! - [`tally`]: per-client loss/duplicate accounting and latency histogram.
//! - [`client`]: the WebSocket clients and their source addresses.
//! - [`publisher`]: the paced publisher and the events it sends.
//! - [`process`]: spawned redis-server and gateways, /proc, rlimits.
//! - [`report`]: one run's figures, as JSON and as a table.
//! - [`summary`]: medians over trials, side by side, as Markdown and SVG.

pub mod client;
pub mod probe;
pub mod process;
pub mod publisher;
pub mod report;
pub mod summary;
pub mod tally;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::cli::ConfigError;
use client::{ClientOutcome, Readiness, Shared, Sources, Target};
use process::Spawned;
use publisher::{Destination, EventKind, PublishPlan};
use report::{Latency, Report};
use tally::Totals;

/// `tactical-link bench`: run the benchmark, or `bench summarize` results.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
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
    Summarize(summary::SummarizeArgs),
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
    #[arg(long, conflicts_with_all = ["spawn", "spawn_baseline"])]
    pub target: Option<String>,
    /// Start a Tactical Link gateway (`serve --listen 127.0.0.1:0`) for the run.
    #[arg(long)]
    pub spawn: bool,
    /// Start the Python baseline (bench/baselines/python) for the run.
    #[arg(long, conflicts_with = "spawn")]
    pub spawn_baseline: bool,
    /// The tactical-link binary --spawn runs (default: this one).
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
    /// WebSocket clients.
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
        if self.target.is_none() && !self.spawn && !self.spawn_baseline {
            return Err(bad(
                "target",
                "give --target URL, --spawn or --spawn-baseline",
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
            PublishVia::Http if self.spawn_baseline => {
                return Err(bad(
                    "publish",
                    "the Python baseline has no HTTP publish endpoint",
                ));
            }
            _ => {}
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
            crate::cli::check_redis_url("redis", url)?;
        }
        if let Some(url) = &self.target {
            Target::parse(url).map_err(|err| bad("target", err.to_string()))?;
        }
        Ok(())
    }

    /// Events to publish.
    pub fn event_count(&self) -> u64 {
        self.events
            .unwrap_or((self.rate * self.duration).round() as u64)
    }
}

/// Runs `tactical-link bench`.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.action {
        Some(BenchAction::Summarize(summarize)) => summary::run(&summarize),
        None => {
            args.run.validate()?;
            let report = measure(&args.run).await?;
            println!("{}", report.table());
            if let Some(path) = &args.run.json {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            Ok(())
        }
    }
}

/// Processes this run started, stopped (and killed if need be) on drop.
#[derive(Default)]
struct Started {
    server: Option<Spawned>,
    redis: Option<Spawned>,
}

async fn measure(args: &RunArgs) -> anyhow::Result<Report> {
    let open_files = process::raise_nofile_limit();
    let mut notes = Vec::new();
    if (open_files as usize) < args.clients + 64 {
        notes.push(format!(
            "the open-file limit is {open_files}: fewer than the clients need"
        ));
    }
    let dir = process::work_dir()?;
    let mut started = Started::default();
    let redis_url = match &args.redis {
        Some(url) => Some(url.clone()),
        None if args.spawn_redis => {
            let (redis, url) = process::spawn_redis(&dir)?;
            started.redis = Some(redis);
            Some(url)
        }
        None => None,
    };
    let label = args.label.clone().unwrap_or_else(|| {
        if args.spawn_baseline {
            "baseline".into()
        } else {
            "tactical-link".into()
        }
    });
    let auth_secret = args.auth.then(|| {
        let bytes: [u8; 32] = rand::random();
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    });
    let secret_file = dir.join("jwt-secret");
    if let Some(secret) = &auth_secret {
        std::fs::write(&secret_file, secret)?;
    }
    let target = match &args.target {
        Some(url) => Target::parse(url)?,
        None => {
            let secret_file = auth_secret.as_ref().map(|_| secret_file.as_path());
            let (server, addr) = spawn_server(args, redis_url.as_deref(), &dir, secret_file)?;
            started.server = Some(server);
            let addr_for_ready = addr;
            tokio::task::spawn_blocking(move || {
                process::wait_ready(addr_for_ready, Duration::from_secs(30))
            })
            .await??;
            Target::parse(&format!("ws://{addr}/dashboard/ws"))?
        }
    };
    let server_pid = args
        .server_pid
        .or_else(|| started.server.as_ref().map(Spawned::pid));
    let redis_pid = started.redis.as_ref().map(Spawned::pid);
    let readiness = args.ready.unwrap_or(if args.spawn_baseline {
        Readiness::Open
    } else {
        Readiness::Snapshot
    });
    let events = args.event_count();
    let mut report = Report {
        label,
        case: args.case.clone(),
        target: target.url.clone(),
        started_us: publisher::unix_us(),
        notes,
        ..Report::default()
    };
    report.setup = report::Setup {
        clients: args.clients,
        slow_clients: args.slow_clients,
        events,
        rate: args.rate,
        event_kind: format!("{:?}", args.event_kind).to_lowercase(),
        payload_bytes: args.payload_bytes,
        prefill: args.prefill,
        auth: args.token.is_some() || args.auth,
        readiness: format!("{readiness:?}").to_lowercase(),
        open_files_limit: open_files,
        publish: match (args.publish, &redis_url) {
            (PublishVia::Redis, _) => "on Redis".into(),
            (PublishVia::Http, Some(_)) => "over HTTP, gateway on Redis".into(),
            (PublishVia::Http, None) => "over HTTP, gateway on the in-process bus".into(),
        },
    };
    report.server.pid = server_pid;

    let destination = match (args.publish, &redis_url) {
        (PublishVia::Redis, Some(url)) => Destination::Redis {
            url: url.clone(),
            channel: args.channel.clone(),
        },
        (PublishVia::Redis, None) => bail!("publishing on Redis needs --redis or --spawn-redis"),
        (PublishVia::Http, _) => Destination::Http {
            url: format!("http://{}/api/events", target.addr),
            token: match (&auth_secret, &args.token) {
                (Some(secret), _) => Some(publisher_token(secret.as_bytes())?),
                (None, token) => token.clone(),
            },
        },
    };
    if args.prefill > 0 {
        prefill(args, &destination).await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    report.server.rss_before_kib = server_pid.and_then(process::rss_kib);

    // Connect every client and wait until each is ready or has failed.
    let sigfig = tally::sigfig_for(args.clients);
    let shared = Arc::new(Shared {
        target: target.clone(),
        token: args.token.clone(),
        auth_secret: auth_secret.map(String::into_bytes),
        readiness,
        expected: events,
        sigfig,
        read_buffer: args.read_buffer,
        handshake_timeout: Duration::from_secs_f64(args.handshake_timeout),
        connecting: Semaphore::new(args.connect_concurrency),
        sources: Sources::new(args.clients_per_source, target.addr),
        ready: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        delivered: AtomicU64::new(0),
        stop: CancellationToken::new(),
        slow_drain: Duration::from_secs(5),
        slow_recv_buffer: 4096,
    });
    let connect_start = Instant::now();
    // Slow clients are spread evenly among the others.
    let slow_every = (args.slow_clients > 0).then(|| args.clients / args.slow_clients);
    let handles: Vec<_> = (0..args.clients)
        .map(|index| {
            let slow = slow_every.is_some_and(|every| {
                index % every == every - 1 && index / every < args.slow_clients
            });
            tokio::spawn(client::run(index, slow, shared.clone()))
        })
        .collect();
    let connect_deadline = connect_start + Duration::from_secs_f64(args.connect_timeout);
    let mut last_report = Instant::now();
    loop {
        let (ready, failed) = (shared.ready.load(Relaxed), shared.failed.load(Relaxed));
        if ready + failed >= args.clients {
            break;
        }
        if Instant::now() >= connect_deadline {
            report.notes.push(format!(
                "stopped waiting for connections after {} s: {ready} ready, {failed} failed",
                args.connect_timeout
            ));
            break;
        }
        if last_report.elapsed() >= Duration::from_secs(5) {
            eprintln!("bench: {ready} clients ready, {failed} failed…");
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    report.connect.seconds = connect_start.elapsed().as_secs_f64();
    report.connect.requested = args.clients;
    report.connect.source_addresses = shared.sources.used(args.clients);
    tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
    report.server.rss_connected_kib = server_pid.and_then(process::rss_kib);
    let connected = shared.ready.load(Relaxed);
    if let (Some(before), Some(after)) = (
        report.server.rss_before_kib,
        report.server.rss_connected_kib,
    ) && connected > 0
    {
        report.server.rss_per_connection_bytes =
            Some((after as f64 - before as f64) * 1024.0 / connected as f64);
    }

    let mut peak = report.server.rss_connected_kib;
    let mut tcp_peak = process::tcp_mem_kib();
    if events == 0 {
        tokio::time::sleep(Duration::from_secs_f64(args.hold)).await;
    } else {
        // Publish, then wait for the deliveries to drain.
        let server_cpu = server_pid.and_then(process::cpu_seconds);
        let redis_cpu = redis_pid.and_then(process::cpu_seconds);
        let bench_cpu = process::self_cpu_seconds();
        let machine_cpu = process::machine_seconds();
        let phase = Instant::now();
        let stop_publishing = Arc::new(AtomicBool::new(false));
        let plan = PublishPlan {
            destination: destination.clone(),
            events,
            rate: args.rate,
            kind: args.event_kind,
            payload_bytes: args.payload_bytes,
        };
        let publisher = publisher::spawn(plan, stop_publishing.clone())?;
        while !publisher.is_finished() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            peak = peak.max(server_pid.and_then(process::rss_kib));
            tcp_peak = tcp_peak.max(process::tcp_mem_kib());
            if server_pid.is_some_and(|_| !server_alive(&mut started)) {
                stop_publishing.store(true, Relaxed);
                report.notes.push("the server exited during the run".into());
            }
        }
        report.publish = publisher
            .join()
            .map_err(|_| anyhow::anyhow!("the publisher thread panicked"))?;
        let reading = (connected.saturating_sub(args.slow_clients)) as u64;
        let wanted = report.publish.published * reading;
        let drain_start = Instant::now();
        let mut last_count = shared.delivered.load(Relaxed);
        let mut last_progress = Instant::now();
        loop {
            let count = shared.delivered.load(Relaxed);
            if count >= wanted {
                break;
            }
            if count != last_count {
                last_count = count;
                last_progress = Instant::now();
            }
            if last_progress.elapsed().as_secs_f64() >= args.drain_idle {
                break;
            }
            if drain_start.elapsed().as_secs_f64() >= args.drain_max {
                report.throughput.drain_capped = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            peak = peak.max(server_pid.and_then(process::rss_kib));
            tcp_peak = tcp_peak.max(process::tcp_mem_kib());
        }
        report.throughput.drain_s = drain_start.elapsed().as_secs_f64();
        let wall = phase.elapsed().as_secs_f64();
        let share = |cpu: f64| 100.0 * cpu / wall;
        if let (Some(a), Some(b)) = (server_cpu, server_pid.and_then(process::cpu_seconds)) {
            report.server.cpu_s = Some(b - a);
            report.server.cpu_percent = Some(share(b - a));
        }
        if let (Some(a), Some(b)) = (redis_cpu, redis_pid.and_then(process::cpu_seconds)) {
            report.server.redis_cpu_s = Some(b - a);
            report.server.redis_cpu_percent = Some(share(b - a));
        }
        let own = process::self_cpu_seconds() - bench_cpu;
        report.server.bench_cpu_s = own;
        report.server.bench_cpu_percent = share(own);
        if let (Some(a), Some(b)) = (machine_cpu, process::machine_seconds()) {
            let machine = share(b.0 - a.0);
            let irq = share(b.1 - a.1);
            report.server.machine_cpu_percent = Some(machine);
            report.server.irq_cpu_percent = Some(irq);
            let ours = report.server.cpu_percent.unwrap_or(0.0)
                + report.server.redis_cpu_percent.unwrap_or(0.0)
                + report.server.bench_cpu_percent
                + irq;
            report.server.others_cpu_percent = Some((machine - ours).max(0.0));
        }
        if redis_pid.is_none() && redis_url.is_some() {
            report
                .notes
                .push("Redis was not started by the benchmark: its CPU is not measured".into());
        }
    }
    report.server.rss_peak_kib = peak;
    report.server.tcp_mem_peak_kib = tcp_peak;
    report.server.rss_after_kib = server_pid.and_then(process::rss_kib);
    if let Some(server) = &started.server
        && !args.spawn_baseline
    {
        report.server_metrics = server_metrics(server, &target).await;
    } else if args.target.is_some() {
        report.server_metrics = server_metrics_at(target.addr).await;
    }

    // Stop the clients and add up what they saw.
    shared.stop.cancel();
    let mut outcomes = Vec::with_capacity(handles.len());
    for handle in handles {
        outcomes.push(handle.await.context("a client task panicked")?);
    }
    summarise_clients(&mut report, &outcomes, events, sigfig);
    if let Some(server) = &started.server {
        report.notes.extend(log_tail(&server.log, 12));
    }
    drop(started);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(report)
}

/// The last lines of a spawned server's stderr (warnings and errors only,
/// as it runs with TACTICAL_LINK_LOG=warn), prefixed for the notes.
fn log_tail(path: &std::path::Path, lines: usize) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !l.contains("carries no dashboard") && !l.contains("authentication is off"))
        .collect();
    let skipped = all.len().saturating_sub(lines);
    let mut notes: Vec<String> = all[skipped..]
        .iter()
        .map(|line| format!("server log: {}", crate::event::truncate(line, 300)))
        .collect();
    if skipped > 0 {
        notes.insert(0, format!("server log: … {skipped} earlier lines"));
    }
    notes
}

fn server_alive(started: &mut Started) -> bool {
    started.server.as_mut().is_none_or(Spawned::alive)
}

/// The gateway's own counters, from /metrics.
async fn server_metrics(
    _server: &Spawned,
    target: &Target,
) -> std::collections::BTreeMap<String, f64> {
    server_metrics_at(target.addr).await
}

async fn server_metrics_at(addr: std::net::SocketAddr) -> std::collections::BTreeMap<String, f64> {
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
    let fetched = tokio::task::spawn_blocking(move || {
        process::http_get(addr, "/metrics", Duration::from_secs(5))
    })
    .await;
    let mut values = std::collections::BTreeMap::new();
    if let Ok(Ok((200, text))) = fetched {
        for name in NAMES {
            if let Some(value) = process::prometheus_value(&text, name) {
                values.insert((*name).to_owned(), value);
            }
        }
    }
    values
}

/// Starts the gateway or the baseline on a free port.
fn spawn_server(
    args: &RunArgs,
    redis_url: Option<&str>,
    dir: &std::path::Path,
    secret_file: Option<&std::path::Path>,
) -> anyhow::Result<(Spawned, std::net::SocketAddr)> {
    if args.spawn_baseline {
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
        return process::spawn_gateway(
            "the Python baseline",
            command,
            dir.join("baseline.log"),
            Duration::from_secs(30),
        );
    }
    let bin = match &args.gateway_bin {
        Some(bin) => bin.clone(),
        None => std::env::current_exe().context("cannot find this binary")?,
    };
    let mut command = Command::new(bin);
    command.args(["serve", "--listen", "127.0.0.1:0"]);
    if let Some(redis_url) = redis_url {
        command.args(["--redis", redis_url]);
    }
    command
        .args(["--channel", &args.channel])
        .args(&args.gateway_args)
        .env("TACTICAL_LINK_LOG", "warn")
        .env("NO_COLOR", "1")
        .env_remove("TACTICAL_LINK_JWT_SECRET")
        .env_remove("TACTICAL_LINK_JWT_SECRET_FILE");
    if let Some(file) = secret_file {
        command.arg("--jwt-secret-file").arg(file);
    }
    command
        .env_remove("TACTICAL_LINK_LISTEN")
        .env_remove("TACTICAL_LINK_REDIS");
    process::spawn_gateway(
        "tactical-link serve",
        command,
        dir.join("gateway.log"),
        Duration::from_secs(30),
    )
}

/// A token of the publisher role, for `POST /api/events` with --auth.
fn publisher_token(secret: &[u8]) -> anyhow::Result<String> {
    crate::auth::mint_hs256(
        secret,
        "bench-publisher",
        None,
        &[crate::auth::PUBLISHER_ROLE.to_owned()],
        Duration::from_secs(3600),
        None,
        None,
    )
    .map_err(|err| anyhow::anyhow!("cannot mint the publisher's token: {err}"))
}

/// Publishes `--prefill` events, then waits for the gateway to take them in.
async fn prefill(args: &RunArgs, destination: &Destination) -> anyhow::Result<()> {
    let plan = PublishPlan {
        destination: destination.clone(),
        events: args.prefill,
        rate: 10_000.0,
        kind: args.event_kind,
        payload_bytes: args.payload_bytes,
    };
    let handle = publisher::spawn(plan, Arc::new(AtomicBool::new(false)))?;
    tokio::task::spawn_blocking(move || handle.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the publisher thread panicked"))?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(())
}

/// Adds up the clients' outcomes into the report.
fn summarise_clients(report: &mut Report, outcomes: &[ClientOutcome], events: u64, sigfig: u8) {
    let mut totals = Totals::new(sigfig);
    let mut slow = report::Slow::default();
    for outcome in outcomes {
        match &outcome.failure {
            Some(reason) => {
                report.connect.failed += 1;
                *report.connect.failures.entry(reason.clone()).or_default() += 1;
                if !outcome.slow {
                    totals.add_absent(events);
                }
                continue;
            }
            None => report.connect.connected += 1,
        }
        if outcome.slow {
            slow.clients += 1;
            match outcome.close_code {
                Some(code) => *slow.close_codes.entry(code).or_default() += 1,
                None if !outcome.ended_early => slow.still_open += 1,
                None => {
                    let why = outcome.end_error.clone().unwrap_or_else(|| "closed".into());
                    *slow.ended.entry(why).or_default() += 1;
                }
            }
            continue;
        }
        totals.add(&outcome.tally);
        let deliveries = &mut report.deliveries;
        deliveries.ended_early += u64::from(outcome.ended_early);
        if let Some(code) = outcome.close_code {
            *deliveries.close_codes.entry(code).or_default() += 1;
        }
    }
    if report.setup.slow_clients > 0 {
        report.slow = Some(slow);
    }
    let deliveries = &mut report.deliveries;
    deliveries.expected = totals.expected;
    deliveries.received = totals.received;
    deliveries.lost = totals.lost;
    deliveries.duplicated = totals.duplicated;
    deliveries.reordered = totals.reordered;
    deliveries.unexpected = totals.unexpected;
    deliveries.clients_with_loss = totals.clients_with_loss;
    report.latency_us = Latency::from_histogram(&totals.latency);
    if events > 0
        && report.publish.first_us > 0
        && totals.last_delivery_us > report.publish.first_us
    {
        let window = (totals.last_delivery_us - report.publish.first_us) as f64 / 1e6;
        report.throughput.window_s = window;
        report.throughput.delivered_per_s = totals.received as f64 / window;
    }
    if report.publish.published < events {
        report.notes.push(format!(
            "only {} of {events} events were published",
            report.publish.published
        ));
    }
    if let Some(subscribers) = report.publish.min_subscribers
        && subscribers < 1
    {
        report
            .notes
            .push("some PUBLISH reached no subscriber: was the server subscribed?".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        bench: BenchArgs,
    }

    fn parse(args: &[&str]) -> Result<BenchArgs, clap::Error> {
        let mut argv = vec!["bench"];
        argv.extend_from_slice(args);
        Wrapper::try_parse_from(argv).map(|w| w.bench)
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
        let idle = parse(&["--spawn", "--spawn-redis", "--events", "0"]).unwrap();
        assert_eq!(idle.run.event_count(), 0);
    }

    #[test]
    fn summarize_is_a_subcommand() {
        let args = parse(&["summarize", "some/dir"]).unwrap();
        assert!(matches!(args.action, Some(BenchAction::Summarize(_))));
    }

    #[test]
    fn client_outcomes_add_up_with_slow_and_failed_clients_apart() {
        use tally::Tally;
        let reading = |lost_last: bool| {
            let mut tally = Tally::new(3, 3);
            for seq in 0..if lost_last { 2 } else { 3 } {
                tally.record(seq, 0, 1000);
            }
            ClientOutcome {
                slow: false,
                failure: None,
                source: None,
                tally,
                other_frames: 0,
                close_code: None,
                ended_early: false,
                end_error: None,
            }
        };
        let mut failed = reading(false);
        failed.failure = Some("connect: connection refused".into());
        failed.tally = Tally::new(3, 3);
        let mut slow = reading(false);
        slow.slow = true;
        slow.tally = Tally::new(0, 3);
        slow.close_code = Some(4001);
        let mut report = Report::default();
        report.setup.slow_clients = 1;
        report.publish.first_us = 1;
        let outcomes = [reading(false), reading(true), failed, slow];
        summarise_clients(&mut report, &outcomes, 3, 3);
        assert_eq!(report.connect.connected, 3);
        assert_eq!(report.connect.failed, 1);
        assert_eq!(report.connect.failures["connect: connection refused"], 1);
        assert_eq!(
            report.deliveries.expected, 9,
            "two reading clients and the failed one"
        );
        assert_eq!(report.deliveries.received, 5);
        assert_eq!(report.deliveries.lost, 4);
        assert_eq!(report.deliveries.clients_with_loss, 2);
        assert_eq!(report.slow.as_ref().unwrap().close_codes[&4001], 1);
        assert_eq!(report.latency_us.as_ref().unwrap().p50, 1000);
        assert!(report.throughput.delivered_per_s > 0.0);
    }
}
