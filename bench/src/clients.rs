//! Every client of one run: started together (slow ones spread evenly
//! among the others), waited for until each is ready or has failed, then
//! stopped, and what each saw added up into the report.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::args::RunArgs;
use crate::client::{self, ClientOutcome, Readiness, Shared, Sources};
use crate::report::{Latency, Report, Slow};
use crate::servers::Servers;
use crate::tally::{self, Totals};

/// The running clients of a run.
pub struct Clients {
    pub shared: Arc<Shared>,
    handles: Vec<JoinHandle<ClientOutcome>>,
    /// Clients that became ready.
    pub connected: usize,
}

impl Clients {
    /// Connects `--clients` clients and waits until each is ready or has
    /// failed (or `--connect-timeout` passes); fills the report's
    /// connection figures.
    pub async fn connect(
        args: &RunArgs,
        servers: &Servers,
        readiness: Readiness,
        report: &mut Report,
    ) -> Clients {
        let shared = shared(args, servers, readiness, report.setup.events);
        let started = Instant::now();
        // Slow clients are spread evenly among the others.
        let slow_every = (args.slow_clients > 0).then(|| args.clients / args.slow_clients);
        let handles = (0..args.clients)
            .map(|index| {
                let slow = slow_every.is_some_and(|every| {
                    index % every == every - 1 && index / every < args.slow_clients
                });
                tokio::spawn(client::run(index, slow, shared.clone()))
            })
            .collect();
        wait_until_ready(args, &shared, started, report).await;
        report.connect.seconds = started.elapsed().as_secs_f64();
        report.connect.requested = args.clients;
        report.connect.source_addresses = shared.sources.used(args.clients);
        Clients {
            connected: shared.ready.load(Relaxed),
            shared,
            handles,
        }
    }

    /// Stops every client and adds up what they saw into `report`.
    pub async fn stop(self, report: &mut Report) -> anyhow::Result<()> {
        self.shared.stop.cancel();
        let mut outcomes = Vec::with_capacity(self.handles.len());
        for handle in self.handles {
            outcomes.push(handle.await.context("a client task panicked")?);
        }
        summarise(report, &outcomes, self.shared.sigfig);
        Ok(())
    }
}

/// What every client of the run shares.
fn shared(args: &RunArgs, servers: &Servers, readiness: Readiness, events: u64) -> Arc<Shared> {
    let target = servers.target.clone();
    Arc::new(Shared {
        sources: Sources::new(args.clients_per_source, target.addr),
        target,
        transport: args.transport,
        sse_clients: Default::default(),
        token: args.token.clone(),
        auth_secret: servers.auth_secret.clone().map(String::into_bytes),
        readiness,
        expected: events,
        sigfig: tally::sigfig_for(args.clients),
        read_buffer: args.read_buffer,
        handshake_timeout: Duration::from_secs_f64(args.handshake_timeout),
        connecting: Semaphore::new(args.connect_concurrency),
        ready: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        delivered: AtomicU64::new(0),
        stop: CancellationToken::new(),
        slow_drain: Duration::from_secs(5),
        slow_recv_buffer: 4096,
    })
}

/// Waits until every client is ready or has failed, saying how far it got
/// every 5 s; notes it if `--connect-timeout` passes first.
async fn wait_until_ready(args: &RunArgs, shared: &Shared, started: Instant, report: &mut Report) {
    let deadline = started + Duration::from_secs_f64(args.connect_timeout);
    let mut last_report = Instant::now();
    loop {
        let (ready, failed) = (shared.ready.load(Relaxed), shared.failed.load(Relaxed));
        if ready + failed >= args.clients {
            break;
        }
        if Instant::now() >= deadline {
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
}

/// Adds up the clients' outcomes into the report: failed clients count as
/// having lost everything, slow ones apart.
pub fn summarise(report: &mut Report, outcomes: &[ClientOutcome], sigfig: u8) {
    let events = report.setup.events;
    let mut totals = Totals::new(sigfig);
    let mut slow = Slow::default();
    for outcome in outcomes {
        if let Some(reason) = &outcome.failure {
            report.connect.failed += 1;
            *report.connect.failures.entry(reason.clone()).or_default() += 1;
            if !outcome.slow {
                totals.add_absent(events);
            }
        } else if outcome.slow {
            report.connect.connected += 1;
            add_slow(&mut slow, outcome);
        } else {
            report.connect.connected += 1;
            totals.add(&outcome.tally);
            let deliveries = &mut report.deliveries;
            deliveries.ended_early += u64::from(outcome.ended_early);
            if let Some(code) = outcome.close_code {
                *deliveries.close_codes.entry(code).or_default() += 1;
            }
        }
    }
    if report.setup.slow_clients > 0 {
        report.slow = Some(slow);
    }
    add_totals(report, &totals);
}

/// How a slow client ended.
fn add_slow(slow: &mut Slow, outcome: &ClientOutcome) {
    slow.clients += 1;
    match outcome.close_code {
        Some(code) => *slow.close_codes.entry(code).or_default() += 1,
        None if !outcome.ended_early => slow.still_open += 1,
        None => {
            let why = outcome.end_error.clone().unwrap_or_else(|| "closed".into());
            *slow.ended.entry(why).or_default() += 1;
        }
    }
}

/// The reading clients' totals: deliveries, latency, throughput, and notes
/// on what the publisher did not do.
fn add_totals(report: &mut Report, totals: &Totals) {
    let events = report.setup.events;
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

    #[test]
    fn client_outcomes_add_up_with_slow_and_failed_clients_apart() {
        use crate::tally::Tally;
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
        report.setup.events = 3;
        report.setup.slow_clients = 1;
        report.publish.first_us = 1;
        let outcomes = [reading(false), reading(true), failed, slow];
        summarise(&mut report, &outcomes, 3);
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
        assert_eq!(report.notes, ["only 0 of 3 events were published"]);
    }
}
