//! What a storm runs on: one `redis-server`, three gateway processes on
//! fixed ports (a restarted gateway comes back where HAProxy expects it),
//! and HAProxy on the shipped `deploy/haproxy.cfg`, started by the
//! testkit as the failover test starts it. And what is read from them at
//! any moment ([`Reading`]): the gateways' opening counters, every
//! process's CPU time, HAProxy's memory, Redis's commands by name.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use testkit::{GatewayProcess, HaProxy, RedisServer, Served, http, procstat};

use crate::redis_cost::measure::info_value;
use crate::servers::gateway_command_at;

/// Gateways behind the load balancer (the shipped file names three).
pub const GATEWAYS: usize = testkit::haproxy::SERVERS;
/// How long a gateway has to print its address, then to be ready.
const START: Duration = Duration::from_secs(30);

/// The gateways' counters a storm reads, by metric name.
pub const COUNTERS: &[&str] = &[
    "tactical_link_snapshots_total",
    "tactical_link_resumes_total",
    "tactical_link_resume_failures_total",
    "tactical_link_events_replayed_total",
    "tactical_link_connections_total",
    "tactical_link_recorder_takeovers_total",
    "tactical_link_standby_recorded_total",
];

/// Redis, three gateways and HAProxy, stopped when dropped.
pub struct Stack {
    pub redis: RedisServer,
    pub gateways: Vec<Slot>,
    pub proxy: HaProxy,
    bin: PathBuf,
    channel: String,
    extra: Vec<String>,
    /// Counters of gateway processes already stopped, as last read.
    retired: BTreeMap<String, f64>,
}

/// One of the load balancer's servers: its port, and the process there now.
pub struct Slot {
    pub addr: SocketAddr,
    pub process: Option<GatewayProcess>,
}

impl Stack {
    /// Starts everything and waits until HAProxy sees every gateway up.
    pub fn start(bin: &Path, channel: &str, extra: &[String]) -> anyhow::Result<Stack> {
        let redis = RedisServer::try_start(false)?;
        let mut gateways = Vec::with_capacity(GATEWAYS);
        for port in testkit::free_port_pairs(GATEWAYS) {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let process = launch(bin, addr, &redis.url(), channel, extra)?;
            gateways.push(Slot {
                addr,
                process: Some(process),
            });
        }
        let addrs: Vec<SocketAddr> = gateways.iter().map(|slot| slot.addr).collect();
        let proxy = HaProxy::try_start(&testkit::haproxy::shipped_config(), &addrs)?;
        let stack = Stack {
            redis,
            gateways,
            proxy,
            bin: bin.to_owned(),
            channel: channel.to_owned(),
            extra: extra.to_vec(),
            retired: BTreeMap::new(),
        };
        for slot in 0..GATEWAYS {
            stack.wait_up(slot)?;
        }
        Ok(stack)
    }

    /// Starts the gateway of `slot` again on its port and waits until it
    /// is ready.
    pub fn relaunch(&mut self, slot: usize) -> anyhow::Result<()> {
        let addr = self.gateways[slot].addr;
        let process = launch(
            &self.bin,
            addr,
            &self.redis.url(),
            &self.channel,
            &self.extra,
        )?;
        self.gateways[slot].process = Some(process);
        Ok(())
    }

    /// Waits until HAProxy sends clients to `slot` again.
    pub fn wait_up(&self, slot: usize) -> anyhow::Result<()> {
        let name = format!("gw{}", slot + 1);
        let deadline = Instant::now() + START;
        loop {
            let states = self.proxy.states()?;
            if states.get(&name).map(String::as_str) == Some("UP") {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "HAProxy still sees {name} as {states:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the gateway of `slot` (SIGKILL), its counters read first.
    pub fn kill(&mut self, slot: usize) {
        self.retire(slot);
        if let Some(mut process) = self.gateways[slot].process.take() {
            process.kill();
        }
    }

    /// Stops the gateway of `slot` as an operator does (SIGTERM, its drain),
    /// its counters read first; how long it took to exit.
    pub fn terminate(&mut self, slot: usize) -> Duration {
        self.retire(slot);
        let started = Instant::now();
        if let Some(mut process) = self.gateways[slot].process.take() {
            process.terminate(Duration::from_secs(15));
        }
        started.elapsed()
    }

    fn retire(&mut self, slot: usize) {
        if let Some(process) = &self.gateways[slot].process {
            for (name, value) in gateway_counters(process.operations_addr()) {
                *self.retired.entry(name).or_default() += value;
            }
        }
    }

    /// The slot whose gateway holds the recorder lease, if one does.
    pub fn leader(&self) -> Option<usize> {
        (0..GATEWAYS).find(|slot| self.metric(*slot, "tactical_link_recorder_leader") == Some(1.0))
    }

    /// One value of the `/metrics` of the gateway in `slot`.
    pub fn metric(&self, slot: usize, name: &str) -> Option<f64> {
        let process = self.gateways[slot].process.as_ref()?;
        let (status, text) = http::get(
            process.operations_addr(),
            "/metrics",
            Duration::from_secs(5),
        )
        .ok()?;
        (status == 200).then(|| http::prometheus_value(&text, name))?
    }

    /// Everything read at this moment.
    pub fn read(&self) -> anyhow::Result<Reading> {
        let mut counters = self.retired.clone();
        let mut gateway_cpu_s = children_cpu_seconds();
        for process in self
            .gateways
            .iter()
            .filter_map(|slot| slot.process.as_ref())
        {
            for (name, value) in gateway_counters(process.operations_addr()) {
                *counters.entry(name).or_default() += value;
            }
            gateway_cpu_s += procstat::cpu_seconds(process.pid()).unwrap_or(0.0);
        }
        let proxy_pid = self.proxy.pid().context("HAProxy is not running")?;
        let mut redis = self.redis.connection();
        let cpu: String = redis::cmd("INFO").arg("cpu").query(&mut redis)?;
        let stats: String = redis::cmd("INFO").arg("commandstats").query(&mut redis)?;
        let field = |name| info_value(&cpu, name).unwrap_or(0.0);
        Ok(Reading {
            at_ms: 0.0,
            counters,
            gateway_cpu_s,
            proxy_cpu_s: procstat::cpu_seconds(proxy_pid).unwrap_or(0.0),
            proxy_rss_kib: procstat::rss_kib(proxy_pid).unwrap_or(0),
            redis_cpu_s: field("used_cpu_sys") + field("used_cpu_user"),
            redis_commands: command_stats(&stats),
            bench_cpu_s: crate::system::self_cpu_seconds(),
            delivered: 0,
            machine: crate::system::machine_seconds(),
        })
    }
}

/// Starts a gateway on `addr`, taking connections from HAProxy with its
/// PROXY header, and waits until it is ready.
fn launch(
    bin: &Path,
    addr: SocketAddr,
    redis_url: &str,
    channel: &str,
    extra: &[String],
) -> anyhow::Result<GatewayProcess> {
    let listen = addr.to_string();
    let mut command = gateway_command_at(bin, &listen, Some(redis_url), channel, extra);
    command.args(testkit::haproxy::GATEWAY_FLAGS);
    let process = GatewayProcess::spawn("tactical-link serve", command, START)?;
    let operations = process.operations_addr();
    http::wait_for_status(operations, "/readyz", START, |status| status == 200)?;
    Ok(process)
}

/// The counters of [`COUNTERS`] a gateway shows now (none if it does not
/// answer).
fn gateway_counters(addr: SocketAddr) -> Vec<(String, f64)> {
    let Ok((200, text)) = http::get(addr, "/metrics", Duration::from_secs(5)) else {
        return Vec::new();
    };
    COUNTERS
        .iter()
        .filter_map(|name| Some(((*name).to_owned(), http::prometheus_value(&text, name)?)))
        .collect()
}

/// CPU time of this process's children that have exited and been waited
/// for: the gateways stopped during a storm (Redis and HAProxy are
/// stopped only after it).
fn children_cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct we own.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr());
        usage.assume_init()
    };
    let seconds = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Calls and microseconds per command, from `INFO commandstats`
/// (`cmdstat_xadd:calls=3,usec=40,…`).
pub fn command_stats(info: &str) -> BTreeMap<String, (u64, u64)> {
    info.lines()
        .filter_map(|line| {
            let (name, fields) = line.trim().strip_prefix("cmdstat_")?.split_once(':')?;
            let value = |key: &str| {
                fields
                    .split(',')
                    .find_map(|field| field.strip_prefix(key)?.strip_prefix('='))
                    .and_then(|v| v.parse::<u64>().ok())
            };
            Some((name.to_owned(), (value("calls")?, value("usec")?)))
        })
        .collect()
}

/// What the stack says at one moment. Counters and CPU times only grow,
/// so two readings make a rate.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Reading {
    /// When, in ms since the fleet's epoch.
    pub at_ms: f64,
    /// [`COUNTERS`], summed over every gateway process of the run.
    pub counters: BTreeMap<String, f64>,
    pub gateway_cpu_s: f64,
    pub proxy_cpu_s: f64,
    pub proxy_rss_kib: u64,
    pub redis_cpu_s: f64,
    /// Calls and µs of CPU per command name.
    pub redis_commands: BTreeMap<String, (u64, u64)>,
    pub bench_cpu_s: f64,
    /// Benchmark events the clients had received (set by the caller).
    pub delivered: u64,
    /// Busy and interrupt CPU seconds of the whole machine.
    pub machine: Option<(f64, f64)>,
}

impl Reading {
    /// Total Redis commands.
    pub fn redis_calls(&self) -> u64 {
        self.redis_commands.values().map(|(calls, _)| calls).sum()
    }

    /// One counter (0 when no gateway showed it).
    pub fn counter(&self, name: &str) -> f64 {
        self.counters.get(name).copied().unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_calls_and_time_per_command() {
        let info = "# Commandstats\r\ncmdstat_xadd:calls=3,usec=40,usec_per_call=13.33,rejected_calls=0,failed_calls=0\r\ncmdstat_info:calls=12,usec=900,usec_per_call=75.00\r\n";
        let stats = command_stats(info);
        assert_eq!(stats["xadd"], (3, 40));
        assert_eq!(stats["info"], (12, 900));
        let reading = Reading {
            redis_commands: stats,
            ..Reading::default()
        };
        assert_eq!(reading.redis_calls(), 15);
        assert_eq!(reading.counter("nothing"), 0.0);
    }
}
