//! The `tactical-link` binary: parses the command line and runs one
//! subcommand. Errors end here as a message and an exit code: 64 for a bad
//! flag (nothing was started), 1 for a failure at run time.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use tactical_link::bus::Publish;
use tactical_link::bus::redis::RedisPublisher;
use tactical_link::cli::{self, Cli, Command, ConfigError, LogFormat};
use tactical_link::event::{self, DEFAULT_MAX_EVENT_BYTES, Stage, StageEvent, Status};
use tactical_link::server::Gateway;
use tactical_link::simulator::{self, Progress};
use tactical_link::web;

fn main() -> ExitCode {
    let cli = match cli::parse_or_exit::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    init_tracing(cli.log_format, &cli.log);
    let runtime = tokio::runtime::Runtime::new().expect("start the tokio runtime");
    cli::exit_code(runtime.block_on(run(cli.command)))
}

fn init_tracing(format: LogFormat, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            let config = args.server_config()?;
            serve(args.listen, args.metrics_listen, config, None).await
        }
        Command::Demo(args) => {
            let config = args.serve.server_config()?;
            let simulation = args.simulation.simulator_config(0)?;
            serve(
                args.serve.listen,
                args.serve.metrics_listen,
                config,
                Some(simulation),
            )
            .await
        }
        Command::Simulate(args) => simulate(args).await,
        Command::Publish(args) => publish(args).await,
        Command::Token(args) => token(args),
    }
}

fn token(args: cli::TokenArgs) -> anyhow::Result<()> {
    let secret = cli::secret_from(&args.jwt_secret_file, &args.jwt_secret)?.ok_or(ConfigError {
        flag: "jwt-secret-file",
        message: "a secret is needed: --jwt-secret-file or TACTICAL_LINK_JWT_SECRET".into(),
    })?;
    let ttl = cli::parse_ttl(&args.ttl)?;
    let token = tactical_link::auth::mint_hs256(
        &secret,
        &args.sub,
        args.tenant.as_deref(),
        &args.role,
        ttl,
        args.jwt_issuer.as_deref(),
        args.jwt_audience.as_deref(),
    )
    .map_err(|message| ConfigError {
        flag: "jwt-secret-file",
        message,
    })?;
    println!("{token}");
    Ok(())
}

/// Runs the gateway (and, for the demo, the simulator) until a signal.
async fn serve(
    listen: std::net::SocketAddr,
    metrics_listen: Option<std::net::SocketAddr>,
    config: tactical_link::server::ServerConfig,
    simulation: Option<simulator::SimulatorConfig>,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    let metrics_listener = match metrics_listen {
        Some(at) => Some(
            TcpListener::bind(at)
                .await
                .with_context(|| format!("cannot listen on {at} for metrics"))?,
        ),
        None => None,
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));

    let auth_on = config.verifier.is_some();
    if !config.proxies.trusted.is_empty() {
        tracing::info!("client addresses: {}", config.proxies.describe());
    }
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let gateway = Gateway::new(config)?;
    if let Some(simulation) = simulation {
        let (publisher, shutdown) = (gateway.publisher(), shutdown.clone());
        tokio::spawn(async move {
            let progress = Arc::new(Progress::default());
            if let Err(err) = simulator::run(publisher, simulation, progress, shutdown).await {
                tracing::error!("the simulator stopped: {err}");
            }
        });
    }
    if !auth_on {
        if listen.ip().is_loopback() {
            tracing::warn!(
                "authentication is off: no JWT key is configured; serving loopback clients only"
            );
        } else {
            tracing::warn!(
                "authentication is OFF on {listen} (--insecure-no-auth): anyone who reaches this port sees every event"
            );
        }
    }
    if !web::dashboard_embedded() {
        tracing::warn!(
            "this binary carries no dashboard (built with TACTICAL_LINK_SKIP_WEB_BUILD=1)"
        );
    }
    if let Some(metrics_listener) = &metrics_listener {
        println!(
            "tactical-link metrics on http://{}/metrics",
            metrics_listener.local_addr()?
        );
    }
    // Tests and scripts read this line to find the port (and the metrics
    // line, printed before it).
    println!("tactical-link listening on {scheme}://{address}");
    println!("dashboard: {scheme}://{address}/");
    gateway.serve(listener, metrics_listener, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: closing client connections");
    shutdown.cancel();
}

async fn simulate(args: cli::SimulateArgs) -> anyhow::Result<()> {
    cli::check_redis_url("redis", &args.redis)?;
    let config = args.simulation.simulator_config(args.runs)?;
    let publisher = RedisPublisher::connect(&args.redis, &args.channel)
        .await
        .with_context(|| format!("cannot connect to Redis at {}", args.redis))?;
    let total = config.runs;
    eprintln!(
        "simulating {} runs on {} (channel {}), seed {}",
        total.map_or("endless".to_owned(), |n| n.to_string()),
        args.redis,
        args.channel,
        config.seed
    );
    let progress = Arc::new(Progress::default());
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let reporter = tokio::spawn(report_progress(progress.clone(), total));
    let result = simulator::run(Arc::new(publisher), config, progress.clone(), shutdown).await;
    reporter.abort();
    print_progress(&progress, total, true);
    result.context("publishing failed")?;
    Ok(())
}

async fn report_progress(progress: Arc<Progress>, total: Option<u64>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        print_progress(&progress, total, false);
    }
}

fn print_progress(progress: &Progress, total: Option<u64>, last: bool) {
    use std::io::{IsTerminal, Write};
    let started = progress.runs_started.load(Relaxed);
    let done = progress.runs_done.load(Relaxed);
    let line = format!(
        "runs {done}/{} done · {} active · {} failed · {} events published",
        total.map_or("∞".to_owned(), |n| n.to_string()),
        started - done,
        progress.runs_failed.load(Relaxed),
        progress.events.load(Relaxed),
    );
    let mut err = std::io::stderr();
    if err.is_terminal() {
        let _ = write!(err, "\r\x1b[2K{line}{}", if last { "\n" } else { "" });
    } else {
        let _ = writeln!(err, "{line}");
    }
    let _ = err.flush();
}

async fn publish(args: cli::PublishArgs) -> anyhow::Result<()> {
    cli::check_redis_url("redis", &args.redis)?;
    let payload = match (&args.json, &args.run) {
        (Some(json), _) => json.clone(),
        (None, Some(run)) => {
            let stage = args.stage.as_deref().unwrap_or_default();
            let status = args.status.as_deref().unwrap_or_default();
            let (Some(stage), Some(status)) = (Stage::parse(stage), Status::parse(status)) else {
                return Err(ConfigError {
                    flag: "run",
                    message: format!(
                        "the event would be rejected: unknown stage {stage:?} or status {status:?}"
                    ),
                }
                .into());
            };
            let mut event =
                StageEvent::new(run.as_str(), stage, status).source("tactical-link publish");
            if let Some(detail) = &args.detail {
                event = event.detail(detail.as_str());
            }
            event.to_json()
        }
        (None, None) => unreachable!("clap requires --json or --run"),
    };
    let event =
        event::parse_event(payload.as_bytes(), DEFAULT_MAX_EVENT_BYTES).map_err(|rejection| {
            ConfigError {
                flag: if args.json.is_some() { "json" } else { "run" },
                message: format!("the event would be rejected: {rejection}"),
            }
        })?;
    let replication = args.replication.replication()?;
    let publisher = RedisPublisher::connect(&args.redis, &args.channel)
        .await
        .with_context(|| format!("cannot connect to Redis at {}", args.redis))?
        .with_replication(replication);
    let id = publisher.publish(&event).await?;
    println!("published to {} as {id}: {payload}", args.channel);
    Ok(())
}
