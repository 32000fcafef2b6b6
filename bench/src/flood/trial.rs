//! One flood trial, phase by phase: a fresh `redis-server` and a release
//! gateway on it; the idle gateway's RSS (the bound's fixed overhead); the
//! flood with the clients coming and going, the gateway's RSS sampled every
//! 100 ms and Redis's `used_memory` every 500 ms; once the flood is over,
//! every client gone and the gateway has closed every connection, a few
//! seconds' wait and the final RSS, then what
//! `malloc_trim(0)` gives back (the allocator's share of it); then the
//! gateway restarted against the full stream, its RSS once ready, and
//! after `malloc_trim(0)` again.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use testkit::{GatewayProcess, RedisServer, http, procstat};

use super::FloodArgs;
use super::bound::{Bound, Inputs};
use super::load;
use super::redis_figures::RedisFigures;
use super::sampler::{Sampler, Samples};
use super::visitors::{Crowd, Visits};
use crate::client::Target;
use crate::publisher::PublishOutcome;

/// How long a gateway has to print its address, and then to be ready.
const START: Duration = Duration::from_secs(60);

/// One trial's figures. Memory in KiB unless the name says bytes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Trial {
    pub trial: usize,
    /// 1-minute load average at the start.
    pub load_average: Option<f64>,
    /// RSS of the idle gateway after start: the bound's fixed overhead.
    pub idle_kib: u64,
    /// Highest RSS from the first event to the final reading.
    pub peak_kib: Option<u64>,
    /// Seconds after the flood started at which the peak was read.
    pub peak_at_s: f64,
    /// RSS after the flood ended, every client left, and the final wait.
    pub final_kib: Option<u64>,
    /// RSS right after `malloc_trim(0)` in the gateway (through gdb).
    pub trimmed_kib: Option<u64>,
    /// The restarted gateway against the full stream: RSS once ready, the
    /// highest during its reload and the settle after, and how long it took.
    pub restart_ready_kib: Option<u64>,
    pub restart_peak_kib: Option<u64>,
    pub restart_ready_s: f64,
    /// The restarted gateway's RSS after `malloc_trim(0)`, at the end.
    pub restart_trimmed_kib: Option<u64>,
    pub redis: RedisFigures,
    pub publish: PublishOutcome,
    pub visits: Visits,
    /// The gateway's own counters once every client was gone.
    pub gateway_metrics: BTreeMap<String, f64>,
    /// Seconds from the clients' leaving until the gateway counted no
    /// connection open (it notices a close on its next read or write), and
    /// the connections it still counted if it did not within 30 s.
    pub closed_after_s: f64,
    pub still_open: u64,
    pub bound_inputs: Option<Inputs>,
    pub bound: Option<Bound>,
    /// Seconds after the flood started: flood over, every client gone, final.
    pub flood_s: f64,
    pub clients_gone_s: f64,
    pub final_s: f64,
    /// The gateway's RSS, every reading (seconds after the flood started, KiB).
    pub rss: Samples,
}

impl Trial {
    /// Whether each measured figure is within its bound: the peak within
    /// the whole bound; with no client connected (final, trimmed, the
    /// highest after restart, trimmed after restart) within the bound at
    /// rest.
    pub fn within(&self) -> [Option<bool>; 5] {
        let holds = |kib: Option<u64>| Some(self.bound?.holds(kib? * 1024));
        let at_rest = |kib: Option<u64>| Some(self.bound?.holds_at_rest(kib? * 1024));
        [
            holds(self.peak_kib),
            at_rest(self.final_kib),
            at_rest(self.trimmed_kib),
            at_rest(self.restart_peak_kib.max(self.restart_ready_kib)),
            at_rest(self.restart_trimmed_kib),
        ]
    }
}

/// Runs trial `trial`.
pub async fn run(args: &FloodArgs, bin: &Path, trial: usize) -> anyhow::Result<Trial> {
    let mut report = Trial {
        trial,
        load_average: crate::redis_cost::measure::load_average(),
        ..Trial::default()
    };
    let redis = RedisServer::try_start(false)?;
    let url = redis.url();
    let mut gateway = start_gateway(args, bin, &url).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    report.idle_kib = gateway.rss_kib();
    report.redis.idle_bytes = RedisFigures::used_memory(&url);

    flood(args, &gateway, &url, &mut report).await?;
    report.final_kib = procstat::rss_kib(gateway.pid());
    if args.trim {
        report.trimmed_kib = trim(gateway.pid());
    }
    report.redis.measure_stream(&url);
    gateway.terminate(Duration::from_secs(5));

    restart(args, bin, &url, &mut report).await?;
    let inputs = args.bound_inputs(report.visits.peak_open, report.idle_kib * 1024);
    report.bound = Some(Bound::new(&inputs));
    report.bound_inputs = Some(inputs);
    Ok(report)
}

/// Starts a gateway on `url` with the run's flags and waits until it is
/// ready (on a restart: its history reloaded).
async fn start_gateway(args: &FloodArgs, bin: &Path, url: &str) -> anyhow::Result<GatewayProcess> {
    let gateway = spawn_gateway(args, bin, url)?;
    wait_ready(&gateway).await?;
    Ok(gateway)
}

/// Runs a gateway on `url` with the run's flags, until it listens.
fn spawn_gateway(args: &FloodArgs, bin: &Path, url: &str) -> anyhow::Result<GatewayProcess> {
    let mut command = crate::servers::gateway_command(bin, Some(url), &args.channel, &[]);
    command.args(args.gateway_flags()).args(&args.gateway_args);
    for (key, value) in &args.gateway_env {
        command.env(key, value);
    }
    GatewayProcess::spawn("tactical-link serve", command, START)
}

/// Waits until `/readyz` answers 200: the bus link is up, the history
/// reloaded.
async fn wait_ready(gateway: &GatewayProcess) -> anyhow::Result<()> {
    let addr = gateway.addr;
    tokio::task::spawn_blocking(move || {
        http::wait_for_status(addr, "/readyz", START, |status| status == 200)
    })
    .await?
    .context("the gateway did not become ready")?;
    Ok(())
}

/// The flood and the clients, until every client is gone and the final
/// wait is over; fills the peak, the publish, the visits and Redis's peak.
async fn flood(
    args: &FloodArgs,
    gateway: &GatewayProcess,
    url: &str,
    report: &mut Trial,
) -> anyhow::Result<()> {
    let pid = gateway.pid();
    let every = Duration::from_millis(args.sample_ms);
    let rss = Sampler::spawn("rss", every, move || procstat::rss_kib(pid))?;
    let redis_url = url.to_owned();
    let redis_memory = Sampler::spawn("redis", Duration::from_millis(500), move || {
        RedisFigures::used_memory(&redis_url)
    })?;
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let count = (args.rate * args.duration).round() as u64;
    let publisher = load::spawn(
        url,
        &args.channel,
        args.via,
        args.events(),
        (count, args.rate),
        stop,
    )?;
    let target = Target::parse(&format!("ws://{}/dashboard/ws", gateway.addr))?;
    let crowd = Crowd::new(target, args.visit_plan());
    let clients = crowd.start();
    report.publish = tokio::task::spawn_blocking(move || publisher.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the publisher thread panicked"))?;
    report.flood_s = started.elapsed().as_secs_f64();
    crowd.stop.cancel();
    for client in clients {
        let _ = client.await;
    }
    report.clients_gone_s = started.elapsed().as_secs_f64();
    report.visits = crowd.visits();
    report.still_open = connections_closed(gateway).await;
    report.closed_after_s = started.elapsed().as_secs_f64() - report.clients_gone_s;
    report.gateway_metrics = crate::servers::server_metrics(gateway.addr).await;
    tokio::time::sleep(Duration::from_secs_f64(args.final_wait)).await;
    report.final_s = started.elapsed().as_secs_f64();
    let offset = rss.elapsed_s() - report.final_s;
    report.rss = shift(rss.stop(), offset);
    report.peak_kib = report.rss.peak;
    report.peak_at_s = report.rss.peak_at_s;
    report.redis.peak_bytes = redis_memory.stop().peak;
    Ok(())
}

/// Waits up to 30 s until the gateway counts no connection open; the
/// connections it still counts.
async fn connections_closed(gateway: &GatewayProcess) -> u64 {
    const OPEN: &str = "tactical_link_connections_open";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = crate::servers::server_metrics(gateway.addr).await;
        let open = metrics.get(OPEN).copied().unwrap_or(0.0) as u64;
        if open == 0 || Instant::now() >= deadline {
            return open;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The samples with their times made relative to the flood's start,
/// `offset` seconds after the sampler's.
fn shift(mut samples: Samples, offset: f64) -> Samples {
    for (at, _) in &mut samples.series {
        *at -= offset;
    }
    samples.peak_at_s -= offset;
    samples
}

/// Calls `malloc_trim(0)` in the process through gdb (the gateway is
/// stopped for the call), and returns its RSS after. `None` when gdb is
/// missing or could not attach.
fn trim(pid: u32) -> Option<u64> {
    let status = Command::new("gdb")
        .args(["-p", &pid.to_string(), "-batch", "-nx"])
        .args(["-ex", "call ((int (*)(unsigned long)) malloc_trim)(0)"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    std::thread::sleep(Duration::from_millis(200));
    status.success().then(|| procstat::rss_kib(pid)).flatten()
}

/// Starts a new gateway on the full stream; its RSS once ready, and the
/// highest from its start to `--restart-settle` seconds after.
async fn restart(
    args: &FloodArgs,
    bin: &Path,
    url: &str,
    report: &mut Trial,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut gateway = spawn_gateway(args, bin, url)?;
    let pid = gateway.pid();
    let every = Duration::from_millis(args.sample_ms);
    let rss = Sampler::spawn("restart", every, move || procstat::rss_kib(pid))?;
    wait_ready(&gateway).await?;
    report.restart_ready_s = started.elapsed().as_secs_f64();
    report.restart_ready_kib = procstat::rss_kib(pid);
    tokio::time::sleep(Duration::from_secs_f64(args.restart_settle)).await;
    report.restart_peak_kib = rss.stop().peak.max(report.restart_ready_kib);
    if args.trim {
        report.restart_trimmed_kib = trim(pid);
    }
    gateway.terminate(Duration::from_secs(5));
    Ok(())
}
