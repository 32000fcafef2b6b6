//! The processes around a benchmark: a `redis-server` and a gateway (ours
//! or the Python baseline) started on free ports, and what `/proc` and
//! `getrusage` say about memory and CPU time.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The line a gateway prints once it listens (the Python baseline prints
/// the same).
pub const LISTENING_PREFIX: &str = "tactical-link listening on http://";

/// A child process killed when dropped.
pub struct Spawned {
    pub name: &'static str,
    pub child: Child,
    /// Where its stderr goes.
    pub log: PathBuf,
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if !self.alive() {
            return;
        }
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if !self.alive() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(3));
    }
}

/// A private directory for logs and Redis files.
pub fn work_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "tactical-link-bench-{}-{}",
        std::process::id(),
        super::publisher::unix_us()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// A port nobody listens on right now.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts `redis-server` on a free port (retrying if the port is taken
/// between picking and binding); returns it and its URL.
pub fn spawn_redis(dir: &Path) -> anyhow::Result<(Spawned, String)> {
    for _ in 0..5 {
        let port = free_port()?;
        let log = dir.join(format!("redis-{port}.log"));
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--dir", &dir.display().to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("cannot run redis-server (is it installed?)")?;
        let mut redis = Spawned {
            name: "redis-server",
            child,
            log,
        };
        let url = format!("redis://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && redis.alive() {
            let pong = redis::Client::open(url.as_str())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if pong.is_ok() {
                return Ok((redis, url));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    bail!("redis-server did not start")
}

/// Runs a gateway command and waits (up to `timeout`) for its "listening
/// on" line; returns it and the address it printed.
pub fn spawn_gateway(
    name: &'static str,
    mut command: Command,
    log: PathBuf,
    timeout: Duration,
) -> anyhow::Result<(Spawned, SocketAddr)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .with_context(|| format!("cannot run {name}: {command:?}"))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Keep reading to the end so the child never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix(LISTENING_PREFIX) {
                let _ = tx.send(addr.trim().parse::<SocketAddr>());
            }
        }
    });
    let spawned = Spawned { name, child, log };
    match rx.recv_timeout(timeout) {
        Ok(Ok(addr)) => Ok((spawned, addr)),
        Ok(Err(err)) => bail!("{name} printed an address that does not parse: {err}"),
        Err(_) => bail!(
            "{name} did not print {LISTENING_PREFIX:?} within {timeout:?} (its log: {})",
            spawned.log.display()
        ),
    }
}

/// A minimal HTTP/1.0 GET; returns the status code and body.
pub fn http_get(addr: SocketAddr, path: &str, timeout: Duration) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_owned());
    Ok((status, body))
}

/// Waits until `GET /readyz` answers 200 (the bus link is up).
pub fn wait_ready(addr: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        match http_get(addr, "/readyz", Duration::from_secs(2)) {
            Ok((200, _)) => return Ok(()),
            Ok((404, _)) => return Ok(()), // no readiness endpoint: trust the listening line
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            other => bail!("the gateway at {addr} is not ready after {timeout:?}: {other:?}"),
        }
    }
}

/// The value of one counter or gauge in a Prometheus text exposition.
pub fn prometheus_value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (metric, value) = line.rsplit_once(' ')?;
            (metric == name).then(|| value.parse().ok())?
        })
}

/// Resident memory of a process, in KiB (`VmRSS` of /proc/PID/status).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss(&status)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU time (user + system) a process has used so far, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_cpu(&stat).map(|ticks| ticks as f64 / clock_ticks())
}

/// utime + stime, in clock ticks, from a /proc/PID/stat line.
fn parse_stat_cpu(stat: &str) -> Option<u64> {
    // The command name (field 2) may hold spaces; fields restart after ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// CPU time the machine's cores have spent so far, in seconds: busy (all
/// but idle and iowait), and of that in interrupts (irq + softirq, where
/// loopback TCP is processed; no process is charged for it).
pub fn machine_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let (busy, irq) = parse_machine(&stat)?;
    Some((busy as f64 / clock_ticks(), irq as f64 / clock_ticks()))
}

fn parse_machine(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal (guest is in user).
    let total: u64 = fields.iter().take(8).sum();
    let busy = total - fields.get(3)? - fields.get(4).copied().unwrap_or(0);
    Some((busy, fields.get(5)? + fields.get(6)?))
}

/// Memory the kernel holds in TCP socket buffers, machine-wide, in KiB
/// (`TCP: … mem N` of /proc/net/sockstat, in pages): what slow readers
/// park outside every process's RSS.
pub fn tcp_mem_kib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/sockstat").ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    parse_tcp_mem_pages(&text).map(|pages| pages * page / 1024)
}

fn parse_tcp_mem_pages(sockstat: &str) -> Option<u64> {
    let line = sockstat.lines().find(|l| l.starts_with("TCP:"))?;
    let mut words = line.split_whitespace();
    words.find(|w| *w == "mem")?;
    words.next()?.parse().ok()
}

/// CPU time (user + system) this process has used so far, in seconds.
pub fn self_cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct we own.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let seconds = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Raises the open-file soft limit to the hard limit; returns the new soft
/// limit.
pub fn raise_nofile_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: get/setrlimit on a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    limit.rlim_cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rss_and_cpu_from_proc_text() {
        let status =
            "Name:\ttactical-link\nVmPeak:\t  99999 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(12345));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        let stat =
            "4242 (tokio (rt) w) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 3 4 20 0 3 0 12345";
        assert_eq!(parse_stat_cpu(stat), Some(325));
        assert_eq!(parse_stat_cpu("garbage"), None);
        let stat = "cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 50 2 25 500 10 0 1 1 0 0\n";
        assert_eq!(parse_machine(stat), Some((161, 3)));
        let sockstat = "sockets: used 300\nTCP: inuse 20 orphan 0 tw 3 alloc 25 mem 1234\nUDP: inuse 1 mem 2\n";
        assert_eq!(parse_tcp_mem_pages(sockstat), Some(1234));
    }

    #[test]
    fn reads_this_process_from_proc() {
        let me = std::process::id();
        assert!(rss_kib(me).unwrap() > 0);
        assert!(cpu_seconds(me).is_some());
        assert!(self_cpu_seconds() >= 0.0);
        assert!(raise_nofile_limit() > 0);
    }

    #[test]
    fn finds_a_prometheus_value() {
        let text =
            "# HELP a_total x\n# TYPE a_total counter\na_total 12\nb_total{reason=\"x\"} 3\nab 7\n";
        assert_eq!(prometheus_value(text, "a_total"), Some(12.0));
        assert_eq!(prometheus_value(text, "b_total{reason=\"x\"}"), Some(3.0));
        assert_eq!(prometheus_value(text, "a"), None);
    }
}
