//! The gateway in this process: the command line parsed as the binary
//! parses it (`Cli::try_parse_from` → `ServeArgs::server_config`), then
//! `Gateway::serve` on a listener bound to 127.0.0.1:0, on a tokio runtime
//! and thread of its own, so a test's clients and the gateway never share
//! a current-thread runtime. Dropping it cancels the gateway's shutdown
//! token and waits for the drain. Its logs go to the test's captured
//! output (`TACTICAL_LINK_TEST_LOG` sets the filter; default
//! `tactical_link=info,warn`).

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use tactical_link::cli::{Cli, Command, ServeArgs};
use tactical_link::server::Gateway as Server;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::served::Served;

/// Longest a dropped gateway is waited for (its drain is bounded by
/// `--drain-timeout`, 5 s by default, and a close write by 1 s).
const STOP_WAIT: Duration = Duration::from_secs(10);

/// A gateway serving from this process.
pub struct Gateway {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when started with `--metrics-listen`.
    pub metrics_addr: Option<SocketAddr>,
    shutdown: CancellationToken,
    stopped: mpsc::Receiver<()>,
}

type Bound = (SocketAddr, Option<SocketAddr>);

impl Gateway {
    /// Serves with `args` as the binary takes them, from the subcommand on
    /// (`["serve", "--redis", url]`); `--listen 127.0.0.1:0` is added.
    /// Panics if the flags are refused.
    pub fn start(args: &[&str]) -> Gateway {
        Gateway::try_start(args).unwrap_or_else(|err| panic!("{err:#}"))
    }

    /// [`Gateway::start`], with the refusal as an error.
    pub fn try_start(args: &[&str]) -> anyhow::Result<Gateway> {
        init_logs();
        let serve = serve_args(args)?;
        let shutdown = CancellationToken::new();
        let (bound_tx, bound_rx) = mpsc::channel::<anyhow::Result<Bound>>();
        let (stopped_tx, stopped) = mpsc::channel();
        let token = shutdown.clone();
        std::thread::Builder::new()
            .name("gateway".into())
            .spawn(move || {
                run(serve, token, bound_tx);
                drop(stopped_tx);
            })
            .context("a thread for the gateway")?;
        let (addr, metrics_addr) = bound_rx.recv().context("the gateway thread ended")??;
        Ok(Gateway {
            addr,
            metrics_addr,
            shutdown,
            stopped,
        })
    }
}

/// The `serve` flags of `args`, with `--listen 127.0.0.1:0`.
fn serve_args(args: &[&str]) -> anyhow::Result<ServeArgs> {
    let argv = std::iter::once("tactical-link")
        .chain(args.iter().copied())
        .chain(["--listen", "127.0.0.1:0"]);
    match Cli::try_parse_from(argv)?.command {
        Command::Serve(serve) => Ok(serve),
        _ => bail!("an in-process gateway runs `serve`, not {args:?}: start the binary for that"),
    }
}

/// The gateway's thread: a runtime of its own, the configuration checked
/// and the listeners bound (reported on `bound`), then serving until
/// `shutdown`.
fn run(serve: ServeArgs, shutdown: CancellationToken, bound: mpsc::Sender<anyhow::Result<Bound>>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("gateway-worker")
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = bound.send(Err(err.into()));
            return;
        }
    };
    runtime.block_on(async move {
        match bind(&serve).await {
            Ok((server, listener, metrics_listener, addresses)) => {
                let _ = bound.send(Ok(addresses));
                if let Err(err) = server.serve(listener, metrics_listener, shutdown).await {
                    eprintln!("the in-process gateway stopped: {err}");
                }
            }
            Err(err) => {
                let _ = bound.send(Err(err));
            }
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
}

/// The validated configuration, and the listeners bound.
async fn bind(
    serve: &ServeArgs,
) -> anyhow::Result<(Server, TcpListener, Option<TcpListener>, Bound)> {
    let config = serve.server_config()?;
    let listener = TcpListener::bind(serve.listen).await?;
    let metrics_listener = match serve.metrics_listen {
        Some(at) => Some(TcpListener::bind(at).await?),
        None => None,
    };
    let addresses = (
        listener.local_addr()?,
        match &metrics_listener {
            Some(metrics) => Some(metrics.local_addr()?),
            None => None,
        },
    );
    Ok((Server::new(config)?, listener, metrics_listener, addresses))
}

/// Sends the gateways' logs to the output of the test that started them
/// (threads inherit the test's output capture), once per test binary.
fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_env("TACTICAL_LINK_TEST_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("tactical_link=info,warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .with_ansi(false)
            .try_init();
    });
}

impl Served for Gateway {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn operations_addr(&self) -> SocketAddr {
        self.metrics_addr.unwrap_or(self.addr)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let _ = self.stopped.recv_timeout(STOP_WAIT);
    }
}
