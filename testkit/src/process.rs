//! A gateway as a child process: the real binary (its path passed in, as
//! tests and the benchmark each find it their own way) or any server that
//! prints the same "listening on" line, such as the benchmark's Python
//! baseline. For what only a process shows: exit codes, signals (SIGTERM,
//! SIGKILL mid-stream, SIGSTOP), its stderr log, its memory and CPU.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::procstat;
use crate::served::Served;
use crate::temp::TempDir;

/// The line a gateway prints once it listens (and the baseline too).
pub const LISTENING_PREFIX: &str = "tactical-link listening on ";
/// The line printed before it when `/metrics` has an address of its own.
pub const METRICS_PREFIX: &str = "tactical-link metrics on http://";

/// A signal to send to the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Term,
    Kill,
    /// Freezes it: it neither reads nor writes until [`Signal::Cont`].
    Stop,
    Cont,
}

impl Signal {
    fn number(self) -> libc::c_int {
        match self {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
            Signal::Stop => libc::SIGSTOP,
            Signal::Cont => libc::SIGCONT,
        }
    }
}

/// A server child process, killed when dropped (a failing test then shows
/// the tail of its log).
pub struct GatewayProcess {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when started with `--metrics-listen`.
    pub metrics_addr: Option<SocketAddr>,
    name: String,
    child: Option<Child>,
    /// Holds `stderr.log`.
    dir: TempDir,
}

impl GatewayProcess {
    /// Runs `BIN <args> --listen 127.0.0.1:0` with debug logs, and waits
    /// for its "listening on" line; panics with its log if it does not come.
    pub fn start(bin: impl AsRef<OsStr>, args: &[&str]) -> GatewayProcess {
        GatewayProcess::start_at(bin, args, "127.0.0.1:0")
    }

    /// Runs `BIN <args> --listen <listen>`.
    pub fn start_at(bin: impl AsRef<OsStr>, args: &[&str], listen: &str) -> GatewayProcess {
        let mut command = Command::new(bin);
        command
            .args(args)
            .args(["--listen", listen])
            .env("TACTICAL_LINK_LOG", "tactical_link=debug,info");
        GatewayProcess::spawn("tactical-link", command, Duration::from_secs(20))
            .unwrap_or_else(|err| panic!("{err:#}"))
    }

    /// Runs `command` (stdout read here, stderr into a log of its own) and
    /// waits up to `timeout` for its "listening on" line.
    pub fn spawn(name: &str, mut command: Command, timeout: Duration) -> anyhow::Result<Self> {
        let dir = TempDir::new("tl-gateway").context("a directory for the gateway's log")?;
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("stderr.log"))?)
            .spawn()
            .with_context(|| format!("cannot run {name}: {command:?}"))?;
        let addresses = read_addresses(child.stdout.take().expect("stdout is piped"));
        let mut process = GatewayProcess {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_addr: None,
            name: name.to_owned(),
            child: Some(child),
            dir,
        };
        match addresses.recv_timeout(timeout) {
            Ok(Ok((addr, metrics_addr))) => {
                (process.addr, process.metrics_addr) = (addr, metrics_addr);
                Ok(process)
            }
            Ok(Err(err)) => bail!("{name} printed an address that does not parse: {err}"),
            Err(waited) => {
                process.kill();
                let why = match waited {
                    mpsc::RecvTimeoutError::Timeout => format!("within {timeout:?}"),
                    mpsc::RecvTimeoutError::Disconnected => "before its output ended".into(),
                };
                bail!(
                    "{name} did not print {LISTENING_PREFIX:?} {why}; its log:\n{}",
                    process.log()
                )
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .expect("the process was not stopped")
            .id()
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    /// Sends SIGTERM and waits for the exit, at most `limit`; past it,
    /// kills the process and returns `None`.
    pub fn terminate(&mut self, limit: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        send(child.id(), Signal::Term);
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Kills the process (SIGKILL): no goodbye to anyone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: Signal) {
        send(self.pid(), signal);
    }

    /// Resident memory of the process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        procstat::rss_kib(self.pid()).expect("the gateway's /proc/PID/status")
    }

    /// What it wrote on stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }
}

/// Reads the child's stdout to the end (so it never blocks on a full pipe)
/// and sends the addresses of its "listening on" and "metrics on" lines.
fn read_addresses(
    stdout: std::process::ChildStdout,
) -> mpsc::Receiver<Result<(SocketAddr, Option<SocketAddr>), std::net::AddrParseError>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut metrics_addr = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix(METRICS_PREFIX) {
                metrics_addr = rest.trim_end_matches("/metrics").parse().ok();
            }
            let listening = line.strip_prefix(LISTENING_PREFIX).and_then(|rest| {
                (rest.strip_prefix("http://")).or_else(|| rest.strip_prefix("https://"))
            });
            if let Some(addr) = listening {
                let _ = tx.send(addr.trim().parse().map(|addr| (addr, metrics_addr)));
            }
        }
    });
    rx
}

/// Sends `signal` to the process `pid`, a child of ours (a Redis server
/// that a test freezes and thaws, say).
pub fn send(pid: u32, signal: Signal) {
    // SAFETY: kill(2) on a child of ours, which we have not reaped yet.
    unsafe {
        libc::kill(pid as libc::pid_t, signal.number());
    }
}

impl Served for GatewayProcess {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn operations_addr(&self) -> SocketAddr {
        self.metrics_addr.unwrap_or(self.addr)
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!(
                "--- last lines of the log of {} at {} ---",
                self.name, self.addr
            );
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}
