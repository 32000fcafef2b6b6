//! `tactical-link-bench wait-cost`: what a durable publish pays for
//! waiting for a replica (`--redis-wait-replicas 1`, Redis's `WAIT`). One
//! primary and one replica on loopback; in each trial, the same events
//! published through [`RedisPublisher`] with no wait and with a wait for
//! one replica, one after the other (side by side, so the machine's load
//! weighs on both alike), by `--concurrency` publishers at once, each
//! publishing as fast as it is answered. Per setting: publishes a second
//! and p50/p99 publish latency, medians over the trials; and the medians
//! of each trial's ratios, wait 1 to wait 0.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use hdrhistogram::Histogram;
use tactical_link::bus::redis::RedisPublisher;
use tactical_link::bus::redis::publisher::Replication;

/// The flags of `wait-cost`.
#[derive(Debug, Clone, Args)]
pub struct WaitCostArgs {
    /// Publishes of each setting in each trial.
    #[arg(long, default_value_t = 5000)]
    pub events: usize,
    /// Publishers publishing at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Trials (the table shows medians).
    #[arg(long, default_value_t = 5)]
    pub trials: usize,
}

/// One setting's figures in one trial.
#[derive(Debug, Clone, Copy)]
struct Trial {
    per_second: f64,
    p50_us: u64,
    p99_us: u64,
}

/// Runs the trials and prints the medians.
pub async fn run(args: &WaitCostArgs) -> anyhow::Result<()> {
    if args.events == 0 || args.concurrency == 0 || args.trials == 0 {
        bail!("--events, --concurrency and --trials must be positive");
    }
    let (primary, _replica) = testkit::redis::primary_and_replica()?;
    let mut trials: [Vec<Trial>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..args.trials {
        for (slot, replicas) in [0u32, 1].into_iter().enumerate() {
            trials[slot].push(trial(&primary.url(), replicas, args).await?);
        }
    }
    println!("| wait for replicas | publishes/s | p50 latency | p99 latency |");
    println!("|---|---|---|---|");
    for (replicas, trials) in trials.iter().enumerate() {
        println!(
            "| {replicas} | {:.0} | {:.0} µs | {:.0} µs |",
            median(trials.iter().map(|t| t.per_second)),
            median(trials.iter().map(|t| t.p50_us as f64)),
            median(trials.iter().map(|t| t.p99_us as f64)),
        );
    }
    // Each trial measured both side by side: their ratios weather the
    // machine's load better than the figures.
    let pairs = || trials[0].iter().zip(&trials[1]);
    println!(
        "wait 1 / wait 0, medians of the trials' ratios: publishes/s ×{:.2}, p50 ×{:.2}, p99 ×{:.2}",
        median(pairs().map(|(no, wait)| wait.per_second / no.per_second)),
        median(pairs().map(|(no, wait)| wait.p50_us as f64 / no.p50_us.max(1) as f64)),
        median(pairs().map(|(no, wait)| wait.p99_us as f64 / no.p99_us.max(1) as f64)),
    );
    Ok(())
}

/// The median of `values` (the upper one of an even count).
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `args.events` publishes by `args.concurrency` publishers, each on its
/// own connection, waiting for `replicas`.
async fn trial(url: &str, replicas: u32, args: &WaitCostArgs) -> anyhow::Result<Trial> {
    let replication = Replication {
        replicas,
        timeout: Duration::from_secs(1),
    };
    let each = args.events.div_ceil(args.concurrency);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..args.concurrency {
        let publisher = RedisPublisher::connect(url, "wait_cost").await?;
        let publisher = Arc::new(publisher.with_replication(replication));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(each);
            for n in 0..each {
                let event = format!(r#"{{"type":"wait.cost","p":{p},"n":{n}}}"#);
                let sent = Instant::now();
                publisher.publish_text(&event).await?;
                latencies.push(sent.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut histogram = Histogram::<u64>::new(3).context("a histogram")?;
    for task in tasks {
        for latency in task.await?? {
            histogram.record(latency.as_micros() as u64)?;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Trial {
        per_second: histogram.len() as f64 / elapsed,
        p50_us: histogram.value_at_quantile(0.5),
        p99_us: histogram.value_at_quantile(0.99),
    })
}
