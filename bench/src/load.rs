//! The publish phase of a run: the events published on schedule from a
//! thread of their own while the server's memory is sampled, the wait for
//! the deliveries to drain, and the CPU each party used meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::args::RunArgs;
use crate::clients::Clients;
use crate::publisher::{self, Destination, PublishOutcome, PublishPlan};
use crate::report::Report;
use crate::scrape::Scraper;
use crate::servers::Servers;
use crate::system;

/// The highest server RSS and kernel TCP buffer memory sampled.
#[derive(Debug, Clone, Copy)]
pub struct Peaks {
    pub rss_kib: Option<u64>,
    pub tcp_mem_kib: Option<u64>,
}

impl Peaks {
    /// Starts from the server's RSS once the clients are connected.
    pub fn new(rss_connected_kib: Option<u64>) -> Peaks {
        Peaks {
            rss_kib: rss_connected_kib,
            tcp_mem_kib: system::tcp_mem_kib(),
        }
    }

    fn sample(&mut self, servers: &Servers) {
        self.rss_kib = self.rss_kib.max(servers.server_rss_kib());
        self.tcp_mem_kib = self.tcp_mem_kib.max(system::tcp_mem_kib());
    }
}

/// CPU times when the phase started.
struct CpuMark {
    at: Instant,
    server: Option<f64>,
    redis: Option<f64>,
    bench: f64,
    machine: Option<(f64, f64)>,
}

impl CpuMark {
    fn now(servers: &Servers) -> CpuMark {
        CpuMark {
            server: servers.server_pid.and_then(testkit::procstat::cpu_seconds),
            redis: servers.redis_pid.and_then(testkit::procstat::cpu_seconds),
            bench: system::self_cpu_seconds(),
            machine: system::machine_seconds(),
            at: Instant::now(),
        }
    }
}

/// Publishes the run's events, waits for the deliveries to drain, and
/// fills the report's publish, throughput and CPU figures (and the
/// scrapes of /metrics, with `--scrape-metrics`).
pub async fn publish_and_drain(
    args: &RunArgs,
    servers: &mut Servers,
    clients: &Clients,
    destination: Destination,
    report: &mut Report,
    peaks: &mut Peaks,
) -> anyhow::Result<()> {
    let scraper = (args.scrape_metrics > 0.0).then(|| {
        Scraper::start(
            servers.target.addr,
            Duration::from_secs_f64(args.scrape_metrics),
        )
    });
    let mark = CpuMark::now(servers);
    let plan = PublishPlan {
        destination,
        events: report.setup.events,
        rate: args.rate,
        kind: args.event_kind,
        payload_bytes: args.payload_bytes,
    };
    report.publish = publish(plan, servers, &mut report.notes, peaks).await?;
    drain(args, clients, report, peaks, servers).await;
    cpu_shares(report, &mark, servers);
    report.scrapes = scraper.map(Scraper::finish);
    Ok(())
}

/// Runs the publisher, sampling memory every 50 ms; stops it if the
/// server exits.
async fn publish(
    plan: PublishPlan,
    servers: &mut Servers,
    notes: &mut Vec<String>,
    peaks: &mut Peaks,
) -> anyhow::Result<PublishOutcome> {
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = publisher::spawn(plan, stop.clone())?;
    while !publisher.is_finished() {
        tokio::time::sleep(Duration::from_millis(50)).await;
        peaks.sample(servers);
        if servers.server_pid.is_some() && !servers.server_alive() && !stop.load(Relaxed) {
            stop.store(true, Relaxed);
            notes.push("the server exited during the run".into());
        }
    }
    publisher
        .join()
        .map_err(|_| anyhow::anyhow!("the publisher thread panicked"))
}

/// Waits until every reading client has every published event, or none
/// arrived for `--drain-idle`, or `--drain-max` passed.
async fn drain(
    args: &RunArgs,
    clients: &Clients,
    report: &mut Report,
    peaks: &mut Peaks,
    servers: &Servers,
) {
    let reading = clients.connected.saturating_sub(args.slow_clients) as u64;
    let wanted = report.publish.published * reading;
    let delivered = &clients.shared.delivered;
    let start = Instant::now();
    let mut last_count = delivered.load(Relaxed);
    let mut last_progress = Instant::now();
    loop {
        let count = delivered.load(Relaxed);
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
        if start.elapsed().as_secs_f64() >= args.drain_max {
            report.throughput.drain_capped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        peaks.sample(servers);
    }
    report.throughput.drain_s = start.elapsed().as_secs_f64();
}

/// CPU used since `mark` by the server, Redis, the benchmark, interrupts
/// and everything else, as shares of one core.
fn cpu_shares(report: &mut Report, mark: &CpuMark, servers: &Servers) {
    let wall = mark.at.elapsed().as_secs_f64();
    let share = |cpu: f64| 100.0 * cpu / wall;
    let cpu_now = |pid: Option<u32>| pid.and_then(testkit::procstat::cpu_seconds);
    let server = &mut report.server;
    if let (Some(a), Some(b)) = (mark.server, cpu_now(servers.server_pid)) {
        server.cpu_s = Some(b - a);
        server.cpu_percent = Some(share(b - a));
    }
    if let (Some(a), Some(b)) = (mark.redis, cpu_now(servers.redis_pid)) {
        server.redis_cpu_s = Some(b - a);
        server.redis_cpu_percent = Some(share(b - a));
    }
    let own = system::self_cpu_seconds() - mark.bench;
    server.bench_cpu_s = own;
    server.bench_cpu_percent = share(own);
    if let (Some(a), Some(b)) = (mark.machine, system::machine_seconds()) {
        let machine = share(b.0 - a.0);
        let irq = share(b.1 - a.1);
        server.machine_cpu_percent = Some(machine);
        server.irq_cpu_percent = Some(irq);
        let ours = server.cpu_percent.unwrap_or(0.0)
            + server.redis_cpu_percent.unwrap_or(0.0)
            + server.bench_cpu_percent
            + irq;
        server.others_cpu_percent = Some((machine - ours).max(0.0));
    }
    if servers.redis_pid.is_none() && servers.redis_url.is_some() {
        report
            .notes
            .push("Redis was not started by the benchmark: its CPU is not measured".into());
    }
}
