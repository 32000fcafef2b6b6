//! One benchmark run, phase by phase: start the servers, prefill, connect
//! every client, publish and drain (or hold idle connections), then add up
//! what the clients saw and what the server says, into one [`Report`].

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::bail;
use testkit::Minter;

use crate::args::{BenchAction, BenchArgs, PublishVia, RunArgs, ServerKind};
use crate::client::Readiness;
use crate::clients::Clients;
use crate::load::{self, Peaks};
use crate::publisher::{self, Destination, PublishPlan};
use crate::report::{self, Report};
use crate::servers::{self, Servers};
use crate::{redis_cost, summary, system};

/// Runs `tactical-link-bench`: one run, or `summarize`.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.action {
        Some(BenchAction::Summarize(summarize)) => summary::run(&summarize),
        // Blocking throughout (processes, a publisher thread, polls).
        Some(BenchAction::RedisCost(cost)) => {
            tokio::task::spawn_blocking(move || redis_cost::run(&cost)).await?
        }
        Some(BenchAction::Floor(floor)) => crate::floor::serve(&floor).await,
        Some(BenchAction::WaitCost(wait)) => crate::wait_cost::run(&wait).await,
        Some(BenchAction::Storm(storm)) => crate::storm::run(storm).await,
        Some(BenchAction::Flood(flood)) => crate::flood::run(&flood).await,
        None => {
            args.run.validate()?;
            let report = measure(&args.run).await?;
            println!("{}", report.table());
            if let Some(path) = &args.run.json {
                crate::files::write_json(path, &report)?;
            }
            Ok(())
        }
    }
}

/// One run, with flags already validated.
pub async fn measure(args: &RunArgs) -> anyhow::Result<Report> {
    let open_files = system::raise_nofile_limit();
    let mut servers = Servers::start(args).await?;
    let readiness = args
        .ready
        .unwrap_or(if args.server_kind() == ServerKind::Baseline {
            Readiness::Open
        } else {
            Readiness::Snapshot
        });
    let mut report = new_report(args, &servers, readiness, open_files);
    let destination = destination(args, &servers)?;
    if args.prefill > 0 {
        prefill(args, &destination).await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    report.server.rss_before_kib = servers.server_rss_kib();

    let clients = Clients::connect(args, &servers, readiness, &mut report).await;
    tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
    report.server.rss_connected_kib = servers.server_rss_kib();
    if let (Some(before), Some(after)) = (
        report.server.rss_before_kib,
        report.server.rss_connected_kib,
    ) && clients.connected > 0
    {
        report.server.rss_per_connection_bytes =
            Some((after as f64 - before as f64) * 1024.0 / clients.connected as f64);
    }

    let mut peaks = Peaks::new(report.server.rss_connected_kib);
    if report.setup.events == 0 {
        tokio::time::sleep(Duration::from_secs_f64(args.hold)).await;
    } else {
        let (servers, clients) = (&mut servers, &clients);
        load::publish_and_drain(args, servers, clients, destination, &mut report, &mut peaks)
            .await?;
    }
    report.server.rss_peak_kib = peaks.rss_kib;
    report.server.tcp_mem_peak_kib = peaks.tcp_mem_kib;
    report.server.rss_after_kib = servers.server_rss_kib();
    if matches!(
        args.server_kind(),
        ServerKind::Gateway | ServerKind::Running
    ) {
        report.server_metrics = servers::server_metrics(servers.target.addr).await;
    }
    clients.stop(&mut report).await?;
    report.notes.extend(servers.log_tail(12));
    servers.stop();
    Ok(report)
}

/// The report's header: what is run against what.
fn new_report(args: &RunArgs, servers: &Servers, readiness: Readiness, open_files: u64) -> Report {
    let mut notes = Vec::new();
    if (open_files as usize) < args.clients + 64 {
        notes.push(format!(
            "the open-file limit is {open_files}: fewer than the clients need"
        ));
    }
    let label = args.label.clone().unwrap_or_else(|| {
        match args.server_kind() {
            ServerKind::Baseline => summary::BASELINE,
            ServerKind::Floor => summary::FLOOR,
            ServerKind::Gateway | ServerKind::Running => summary::OURS,
        }
        .into()
    });
    let mut report = Report {
        label,
        case: args.case.clone(),
        target: servers.target.url.clone(),
        started_us: publisher::unix_us(),
        load_average: system::load_average(),
        notes,
        ..Report::default()
    };
    report.setup = report::Setup {
        clients: args.clients,
        slow_clients: args.slow_clients,
        events: args.event_count(),
        rate: args.rate,
        event_kind: format!("{:?}", args.event_kind).to_lowercase(),
        payload_bytes: args.payload_bytes,
        prefill: args.prefill,
        auth: args.token.is_some() || args.auth,
        readiness: format!("{readiness:?}").to_lowercase(),
        transport: format!("{:?}", args.transport).to_lowercase(),
        open_files_limit: open_files,
        publish: match (args.publish, &servers.redis_url) {
            (PublishVia::Redis, _) => "on Redis".into(),
            (PublishVia::Http, Some(_)) => "over HTTP, gateway on Redis".into(),
            (PublishVia::Http, None) => "over HTTP, gateway on the in-process bus".into(),
        },
    };
    report.server.pid = servers.server_pid;
    report
}

/// Where the events go: `PUBLISH` on Redis, or `POST /api/events` (with a
/// publisher's token when authentication is on).
fn destination(args: &RunArgs, servers: &Servers) -> anyhow::Result<Destination> {
    Ok(match (args.publish, &servers.redis_url) {
        (PublishVia::Redis, Some(url)) => Destination::Redis {
            url: url.clone(),
            channel: args.channel.clone(),
        },
        (PublishVia::Redis, None) => bail!("publishing on Redis needs --redis or --spawn-redis"),
        (PublishVia::Http, _) => Destination::Http {
            url: format!("http://{}/api/events", servers.target.addr),
            token: match (&servers.auth_secret, &args.token) {
                (Some(secret), _) => Some(publisher_token(secret)?),
                (None, token) => token.clone(),
            },
        },
    })
}

/// A token of the publisher role, for `POST /api/events` with --auth.
fn publisher_token(secret: &str) -> anyhow::Result<String> {
    Minter::new(secret)
        .mint(
            "bench-publisher",
            None,
            &[tactical_link::auth::PUBLISHER_ROLE],
            Duration::from_secs(3600),
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
