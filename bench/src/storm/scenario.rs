//! One storm, from a fresh stack to its figures: every client connected
//! through HAProxy, events flowing at a steady rate, a steady window
//! measured, then the fault (one gateway killed, or all three restarted in
//! turn), until every client is live again; then the tail, the drain, and
//! what every client saw added up.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, block_in_place};
use tokio_util::sync::CancellationToken;

use super::figures::{self, Measurement, Step};
use super::follower::{self, Backoff, Fleet, Followed};
use super::stack::{GATEWAYS, Reading, Stack};
use super::{Scenario, StormArgs};
use crate::client::{Sources, Target};
use crate::publisher::{self, Destination, PublishPlan};

/// Longest a run publishes: the followers' sequence space.
const MAX_SECONDS: f64 = 3600.0;

/// The running parts of one storm.
struct Run {
    stack: Stack,
    fleet: Arc<Fleet>,
    followers: Vec<JoinHandle<Followed>>,
}

/// Runs `scenario` once and returns its figures.
pub async fn measure(
    args: &StormArgs,
    bin: &Path,
    scenario: Scenario,
    trial: usize,
) -> anyhow::Result<Measurement> {
    let stack = block_in_place(|| Stack::start(bin, &args.channel, &args.gateway_args))?;
    let proxy_idle_kib = block_in_place(|| stack.read())?.proxy_rss_kib;
    let fleet = fleet(args, &stack)?;
    let started = Instant::now();
    let followers = (0..args.client_count())
        .map(|index| tokio::spawn(follower::run(index, fleet.clone())))
        .collect();
    let mut run = Run {
        stack,
        fleet,
        followers,
    };
    let mut m = Measurement::new(args, scenario, trial);
    run.wait_connected(args).await?;
    m.connect_s = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    m.live_at_start = run.fleet.live.load(Relaxed);
    m.failed_at_start = run.fleet.failed.load(Relaxed);
    m.connections_per_gateway = run.connections();
    m.proxy_rss_idle_kib = proxy_idle_kib;

    let stop = Arc::new(AtomicBool::new(false));
    m.publish_started_ms = run.fleet.now_ms();
    let publisher = publisher::spawn(plan(args, &run.stack), stop.clone())?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let steady_from = run.read()?;
    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
    let fault = run.read()?;
    m.load_average_at_fault = figures::load_average();
    m.steps = run.fault(scenario, &mut m).await?;
    run.wait_all_live(args).await;
    let all_live = run.read()?;
    m.load_average_after = figures::load_average();

    tokio::time::sleep(Duration::from_secs_f64(args.tail)).await;
    stop.store(true, Relaxed);
    let outcome = block_in_place(|| publisher.join())
        .map_err(|_| anyhow::anyhow!("the publisher thread panicked"))?;
    run.drain(outcome.published).await;
    let followed = run.stop().await?;
    m.add_publish(&outcome);
    m.add_windows(&steady_from, &fault, &all_live);
    m.add_clients(&followed, fault.at_ms, outcome.published);
    Ok(m)
}

/// The followers' shared state for `stack`'s load balancer.
fn fleet(args: &StormArgs, stack: &Stack) -> anyhow::Result<Arc<Fleet>> {
    let target = Target::parse(&stack.proxy.ws_url())?;
    Ok(Arc::new(Fleet {
        sources: Sources::new(25_000, target.addr),
        target,
        connecting: Semaphore::new(args.connect_concurrency),
        backoff: Backoff {
            base: Duration::from_millis(args.backoff_base_ms),
            cap: Duration::from_millis(args.backoff_cap_ms),
            honour_hint: !args.ignore_hint,
        },
        capacity: (args.rate * MAX_SECONDS).ceil() as u64,
        sigfig: 2,
        read_buffer: 4096,
        live: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        disconnects: AtomicUsize::new(0),
        delivered: AtomicU64::new(0),
        stop: CancellationToken::new(),
        epoch: Instant::now(),
    }))
}

/// Plain `PUBLISH` at `--rate` until stopped.
fn plan(args: &StormArgs, stack: &Stack) -> PublishPlan {
    PublishPlan {
        destination: Destination::Redis {
            url: stack.redis.url(),
            channel: args.channel.clone(),
        },
        events: (args.rate * MAX_SECONDS) as u64,
        rate: args.rate,
        kind: crate::publisher::EventKind::Pipeline,
        payload_bytes: 0,
    }
}

impl Run {
    /// Waits until every follower is live or has failed.
    async fn wait_connected(&self, args: &StormArgs) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut said = Instant::now();
        loop {
            let (live, failed) = (
                self.fleet.live.load(Relaxed),
                self.fleet.failed.load(Relaxed),
            );
            if live + failed >= args.client_count() {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{live} live and {failed} failed of {} after 300 s",
                args.client_count()
            );
            if said.elapsed() > Duration::from_secs(5) {
                eprintln!("    {live} clients live, {failed} failed…");
                said = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Open connections of each gateway.
    fn connections(&self) -> Vec<f64> {
        block_in_place(|| {
            (0..GATEWAYS)
                .map(|slot| {
                    let open = self.stack.metric(slot, "tactical_link_connections_open");
                    open.unwrap_or(0.0)
                })
                .collect()
        })
    }

    fn read(&self) -> anyhow::Result<Reading> {
        let mut reading = block_in_place(|| self.stack.read())?;
        reading.at_ms = self.fleet.now_ms();
        reading.delivered = self.fleet.delivered.load(Relaxed);
        Ok(reading)
    }

    /// The fault itself; the steps of a rolling restart.
    async fn fault(
        &mut self,
        scenario: Scenario,
        m: &mut Measurement,
    ) -> anyhow::Result<Vec<Step>> {
        match scenario {
            Scenario::Kill => {
                let open = self.connections();
                let leader = block_in_place(|| self.stack.leader());
                let victim = match leader {
                    Some(slot) => slot,
                    None => (0..GATEWAYS)
                        .max_by(|a, b| open[*a].total_cmp(&open[*b]))
                        .unwrap_or(0),
                };
                m.victim = Some(victim);
                m.victim_was_leader = leader == Some(victim);
                m.victim_connections = open.get(victim).copied().unwrap_or(0.0);
                block_in_place(|| self.stack.kill(victim));
                Ok(Vec::new())
            }
            Scenario::Rolling => self.roll().await,
        }
    }

    /// SIGTERM each gateway in turn, start it again, wait until HAProxy
    /// sends it clients, then the next.
    async fn roll(&mut self) -> anyhow::Result<Vec<Step>> {
        let mut steps = Vec::new();
        for slot in 0..GATEWAYS {
            let at_ms = self.fleet.now_ms();
            let exited = block_in_place(|| self.stack.terminate(slot));
            let restarting = Instant::now();
            block_in_place(|| self.stack.relaunch(slot))
                .with_context(|| format!("restarting gateway {}", slot + 1))?;
            let ready = restarting.elapsed();
            block_in_place(|| self.stack.wait_up(slot))?;
            steps.push(Step {
                slot,
                at_ms,
                exit_ms: exited.as_secs_f64() * 1e3,
                ready_ms: ready.as_secs_f64() * 1e3,
                up_ms: restarting.elapsed().as_secs_f64() * 1e3,
            });
        }
        Ok(steps)
    }

    /// Waits until some client was disconnected and every client has been
    /// live for a whole second since (or `--storm-timeout` passes).
    async fn wait_all_live(&self, args: &StormArgs) {
        let deadline = Instant::now() + Duration::from_secs_f64(args.storm_timeout);
        let everyone = self.fleet.live.load(Relaxed).max(
            args.client_count()
                .saturating_sub(self.fleet.failed.load(Relaxed)),
        );
        let mut calm_since: Option<(Instant, usize)> = None;
        while Instant::now() < deadline {
            let disconnects = self.fleet.disconnects.load(Relaxed);
            let all_live = self.fleet.live.load(Relaxed) >= everyone && disconnects > 0;
            calm_since = match calm_since {
                Some((since, seen)) if all_live && seen == disconnects => {
                    if since.elapsed() >= Duration::from_secs(1) {
                        return;
                    }
                    Some((since, seen))
                }
                _ if all_live => Some((Instant::now(), disconnects)),
                _ => None,
            };
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!("    not every client was live again within --storm-timeout");
    }

    /// Waits until every live client has every published event, or
    /// nothing arrives for 3 s (30 s at most).
    async fn drain(&self, published: u64) {
        let want = published * self.fleet.live.load(Relaxed) as u64;
        let deadline = Instant::now() + Duration::from_secs(30);
        let (mut last, mut since) = (0, Instant::now());
        while Instant::now() < deadline && since.elapsed() < Duration::from_secs(3) {
            let delivered = self.fleet.delivered.load(Relaxed);
            if delivered >= want {
                return;
            }
            if delivered != last {
                (last, since) = (delivered, Instant::now());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops every follower and the stack; what each follower saw.
    async fn stop(self) -> anyhow::Result<Vec<Followed>> {
        self.fleet.stop.cancel();
        let mut followed = Vec::with_capacity(self.followers.len());
        for handle in self.followers {
            followed.push(handle.await.context("a follower panicked")?);
        }
        block_in_place(|| drop(self.stack));
        Ok(followed)
    }
}
