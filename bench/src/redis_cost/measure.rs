//! One measurement of `redis-cost`: a fresh `redis-server`, N gateway
//! processes on it, Redis watched idle, then M plain `PUBLISH` events at R
//! a second, until every gateway has relayed all of them and Redis is back
//! to its idle pace. Redis's CPU time (`used_cpu_sys + used_cpu_user` of
//! `INFO cpu`, which Redis reads from getrusage) and its commands
//! (`total_commands_processed`) over that window, per event: gross, and
//! net of what the idle gateways cost over the same time.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use testkit::{GatewayProcess, RedisServer, http};

use super::RedisCostArgs;
use crate::publisher::{self, Destination, PublishPlan};
use crate::servers::gateway_command;
use crate::system;

/// One gateway count, one trial.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Measurement {
    pub gateways: usize,
    pub trial: usize,
    /// Events published (of those asked for), and how fast.
    pub published: u64,
    pub publish_errors: u64,
    pub achieved_rate: f64,
    /// Fewest subscribers a `PUBLISH` reached: the recorder and its standby
    /// (one with a single gateway) when both listened throughout
    /// ([`listeners`]).
    pub min_subscribers: Option<i64>,
    /// Events each gateway relayed.
    pub relayed: Vec<f64>,
    /// From just before the first publish until Redis was back to its idle
    /// pace after the last relay.
    pub window_s: f64,
    /// Whether Redis got back to its idle pace within 10 s of the last relay.
    pub settled: bool,
    /// Redis's CPU time over the window, and at idle per second.
    pub redis_cpu_s: f64,
    pub idle_cpu_per_s: f64,
    /// Commands Redis processed over the window, and at idle per second.
    pub redis_commands: u64,
    pub idle_commands_per_s: f64,
    /// Redis CPU per event: all of it, and without the idle pace.
    pub cpu_us_per_event: f64,
    pub net_cpu_us_per_event: f64,
    /// Redis commands per event, without the idle pace.
    pub commands_per_event: f64,
    /// The machine's 1-minute load average when it started, and the share
    /// of all its cores busy over the window (everything, not only ours).
    pub load_average: Option<f64>,
    pub machine_busy_pct: Option<f64>,
}

impl Measurement {
    /// One line for the progress log.
    pub fn line(&self) -> String {
        format!(
            "{:.0} µs of Redis CPU per event ({:.0} net of idle), {:.1} commands per event, \
             {} published at {:.0}/s, machine {:.0}% busy",
            self.cpu_us_per_event,
            self.net_cpu_us_per_event,
            self.commands_per_event,
            self.published,
            self.achieved_rate,
            self.machine_busy_pct.unwrap_or(f64::NAN)
        )
    }
}

/// Redis's counters at one moment.
#[derive(Debug, Clone, Copy)]
struct Counters {
    cpu_s: f64,
    commands: u64,
    at: Instant,
}

/// What Redis does per second between two readings.
#[derive(Debug, Clone, Copy)]
struct Pace {
    cpu: f64,
    commands: f64,
}

impl Pace {
    fn between(from: &Counters, to: &Counters) -> Pace {
        let seconds = (to.at - from.at).as_secs_f64().max(1e-3);
        Pace {
            cpu: (to.cpu_s - from.cpu_s) / seconds,
            commands: to.commands.saturating_sub(from.commands) as f64 / seconds,
        }
    }
}

/// The value of `field` in `INFO` text (`field:value` lines).
pub fn info_value(info: &str, field: &str) -> Option<f64> {
    info.lines()
        .find_map(|line| line.trim().strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().parse().ok())
}

fn counters(connection: &mut redis::Connection) -> anyhow::Result<Counters> {
    let cpu: String = redis::cmd("INFO").arg("cpu").query(connection)?;
    let stats: String = redis::cmd("INFO").arg("stats").query(connection)?;
    let at = Instant::now();
    let field = |text: &str, name| info_value(text, name).with_context(|| format!("no {name}"));
    Ok(Counters {
        cpu_s: field(&cpu, "used_cpu_sys")? + field(&cpu, "used_cpu_user")?,
        commands: field(&stats, "total_commands_processed")? as u64,
        at,
    })
}

/// Measures `gateways` gateways, trial `trial`.
pub fn measure(
    args: &RedisCostArgs,
    bin: &Path,
    gateways: usize,
    trial: usize,
) -> anyhow::Result<Measurement> {
    let load_average = load_average();
    let redis = RedisServer::try_start(false)?;
    let mut started = start_gateways(args, bin, &redis.url(), gateways)?;
    // Past the start-up: history reloaded, subscriptions and reads settled.
    std::thread::sleep(Duration::from_secs(1));
    let mut connection = redis.connection();
    let idle_from = counters(&mut connection)?;
    std::thread::sleep(Duration::from_secs_f64(args.idle));
    let idle = Pace::between(&idle_from, &counters(&mut connection)?);

    let machine_before = system::machine_seconds();
    let before = counters(&mut connection)?;
    let outcome = publish(args, &redis.url())?;
    let relayed = wait_relayed(&started, outcome.published, args)?;
    let settled = settle(&mut connection, idle)?;
    let after = counters(&mut connection)?;
    let machine_after = system::machine_seconds();
    for gateway in &mut started {
        gateway.terminate(Duration::from_secs(3));
    }

    let window_s = (after.at - before.at).as_secs_f64();
    let events = outcome.published.max(1) as f64;
    let redis_cpu_s = after.cpu_s - before.cpu_s;
    let redis_commands = after.commands.saturating_sub(before.commands);
    Ok(Measurement {
        gateways,
        trial,
        published: outcome.published,
        publish_errors: outcome.errors,
        achieved_rate: outcome.achieved_rate,
        min_subscribers: outcome.min_subscribers,
        relayed,
        window_s,
        settled,
        redis_cpu_s,
        idle_cpu_per_s: idle.cpu,
        redis_commands,
        idle_commands_per_s: idle.commands,
        cpu_us_per_event: redis_cpu_s / events * 1e6,
        net_cpu_us_per_event: (redis_cpu_s - idle.cpu * window_s) / events * 1e6,
        commands_per_event: (redis_commands as f64 - idle.commands * window_s) / events,
        load_average,
        machine_busy_pct: busy_pct(machine_before, machine_after, window_s),
    })
}

/// Starts `count` gateways on `redis_url` and waits until each is ready.
fn start_gateways(
    args: &RedisCostArgs,
    bin: &Path,
    redis_url: &str,
    count: usize,
) -> anyhow::Result<Vec<GatewayProcess>> {
    let mut started = Vec::with_capacity(count);
    for _ in 0..count {
        let command = gateway_command(bin, Some(redis_url), &args.channel, &args.gateway_args);
        started.push(GatewayProcess::spawn(
            "tactical-link serve",
            command,
            START,
        )?);
    }
    for gateway in &started {
        http::wait_for_status(gateway.addr, "/readyz", START, |status| status == 200)?;
    }
    Ok(started)
}

/// How long a gateway has to print its address, and then to be ready.
const START: Duration = Duration::from_secs(30);

/// Publishes the events with plain `PUBLISH`, on a thread of its own.
fn publish(args: &RedisCostArgs, url: &str) -> anyhow::Result<publisher::PublishOutcome> {
    let plan = PublishPlan {
        destination: Destination::Redis {
            url: url.to_owned(),
            channel: args.channel.clone(),
        },
        events: args.events,
        rate: args.rate,
        kind: args.event_kind,
        payload_bytes: 0,
    };
    let handle = publisher::spawn(plan, Arc::new(AtomicBool::new(false)))?;
    let outcome = handle
        .join()
        .map_err(|_| anyhow::anyhow!("the publisher thread panicked"))?;
    if outcome.published == 0 {
        bail!("nothing was published: {:?}", outcome.last_error);
    }
    Ok(outcome)
}

/// Gateways subscribed to the channel when `gateways` run: the recorder
/// and its standby; the others follow the stream.
pub fn listeners(gateways: usize) -> i64 {
    gateways.min(2) as i64
}

/// Waits until every gateway has relayed `events` events (its
/// `tactical_link_events_relayed_total`); returns each one's count.
fn wait_relayed(
    gateways: &[GatewayProcess],
    events: u64,
    args: &RedisCostArgs,
) -> anyhow::Result<Vec<f64>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let relayed = gateways
            .iter()
            .map(|gateway| relayed(gateway.addr))
            .collect::<anyhow::Result<Vec<f64>>>()?;
        if relayed.iter().all(|n| *n >= events as f64) {
            return Ok(relayed);
        }
        if Instant::now() > deadline {
            bail!(
                "the gateways relayed {relayed:?} of {events} events within 60 s of the last \
                 publish (channel {})",
                args.channel
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn relayed(addr: std::net::SocketAddr) -> anyhow::Result<f64> {
    let (status, text) = http::get(addr, "/metrics", Duration::from_secs(5))?;
    anyhow::ensure!(status == 200, "GET /metrics on {addr} answered {status}");
    http::prometheus_value(&text, "tactical_link_events_relayed_total")
        .context("no tactical_link_events_relayed_total")
}

/// Waits, at most 10 s, until Redis processes commands at about its idle
/// pace again (a gateway may relay an event from the stream before its own
/// recorder's call for it is done); false if it did not.
fn settle(connection: &mut redis::Connection, idle: Pace) -> anyhow::Result<bool> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let from = counters(connection)?;
        std::thread::sleep(Duration::from_millis(250));
        let pace = Pace::between(&from, &counters(connection)?);
        // Our own INFO calls count too: a few a reading.
        if pace.commands <= idle.commands * 2.0 + 20.0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The 1-minute load average.
pub fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// The share of all cores busy between two readings `window_s` apart.
fn busy_pct(before: Option<(f64, f64)>, after: Option<(f64, f64)>, window_s: f64) -> Option<f64> {
    let cores = std::thread::available_parallelism().ok()?.get() as f64;
    let busy = after?.0 - before?.0;
    Some(100.0 * busy / (window_s * cores))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_and_commands_from_info_text() {
        let cpu = "# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:0.500000\r\nused_cpu_sys_children:9.0\r\n";
        assert_eq!(info_value(cpu, "used_cpu_sys"), Some(1.25));
        assert_eq!(info_value(cpu, "used_cpu_user"), Some(0.5));
        let stats = "# Stats\r\ntotal_connections_received:4\r\ntotal_commands_processed:12345\r\n";
        assert_eq!(info_value(stats, "total_commands_processed"), Some(12345.0));
        assert_eq!(
            info_value(stats, "total_commands"),
            None,
            "a whole field name"
        );
    }

    #[test]
    fn a_pace_is_per_second() {
        let from = Counters {
            cpu_s: 1.0,
            commands: 100,
            at: Instant::now(),
        };
        let to = Counters {
            cpu_s: 1.5,
            commands: 300,
            at: from.at + Duration::from_secs(2),
        };
        let pace = Pace::between(&from, &to);
        assert!((pace.cpu - 0.25).abs() < 1e-9);
        assert!((pace.commands - 100.0).abs() < 1e-9);
    }
}
