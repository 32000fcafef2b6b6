//! The figures of one storm: what the clients saw (time until all were
//! live again, per-client resume time, loss and duplicates), what the
//! stack did over the steady window before the fault and over the storm
//! (opening work of the gateways per second, Redis commands per second,
//! every process's CPU), and the load balancer's memory per connection.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::follower::{Followed, Start};
use super::stack::Reading;
use super::{Scenario, StormArgs};
use crate::publisher::PublishOutcome;
use crate::tally::Totals;

/// One storm's figures.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Measurement {
    /// Which variant this is (`--label`), e.g. before or after pacing.
    pub label: String,
    pub scenario: Scenario,
    pub trial: usize,
    pub clients: usize,
    pub live_at_start: usize,
    pub failed_at_start: usize,
    pub connect_s: f64,
    /// Open connections of each gateway before the fault.
    pub connections_per_gateway: Vec<f64>,
    pub rate: f64,
    pub published: u64,
    pub achieved_rate: f64,
    pub min_subscribers: Option<i64>,
    /// The gateway killed, whether it held the recorder lease, and its
    /// clients.
    pub victim: Option<usize>,
    pub victim_was_leader: bool,
    pub victim_connections: f64,
    /// A rolling restart's steps.
    pub steps: Vec<Step>,
    /// The 1-minute load average at the fault, and once all were live.
    pub load_average_at_fault: Option<f64>,
    pub load_average_after: Option<f64>,
    /// From the fault until the last client disconnected by it was live
    /// again, as the clients timed it.
    pub all_live_ms: Option<f64>,
    pub disconnects: usize,
    pub clients_disconnected: usize,
    /// Close → live again, per disconnect.
    pub resume_ms: Percentiles,
    /// Of which waiting by choice (back-off, or the gateway's hint).
    pub waited_ms: Percentiles,
    /// And the rest: connection attempts until the start frame.
    pub reconnect_ms: Percentiles,
    pub failed_attempts: u64,
    /// How the new connections started: resumed, snapshot, resume_failed.
    pub starts: BTreeMap<String, u64>,
    /// Close codes seen (`none`: the link dropped without one).
    pub close_codes: BTreeMap<String, u64>,
    /// Disconnects whose close frame carried `reconnect_after_ms`.
    pub hinted: u64,
    pub lost: u64,
    /// Which events were lost: sequence number → clients that missed it
    /// (the first 20 sequence numbers), to tell one event nobody got from
    /// clients that fell off. Event `seq` was published about
    /// `publish_started_ms + seq × 1000 / rate`.
    pub missing: BTreeMap<u64, u64>,
    pub publish_started_ms: f64,
    pub duplicated: u64,
    pub reordered: u64,
    pub clients_with_loss: u64,
    /// Publish → delivery, over every delivery of the run.
    pub latency_ms: Percentiles,
    pub steady: Window,
    pub storm: Window,
    pub proxy_rss_idle_kib: u64,
    pub proxy_rss_connected_kib: u64,
}

/// One restart of a rolling restart.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Step {
    pub slot: usize,
    /// When its SIGTERM was sent, ms since the run's epoch.
    pub at_ms: f64,
    /// SIGTERM → exited; start → ready; start → HAProxy sends it clients.
    pub exit_ms: f64,
    pub ready_ms: f64,
    pub up_ms: f64,
}

/// Percentiles of a set of durations, in ms.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    pub fn of(mut values: Vec<f64>) -> Percentiles {
        if values.is_empty() {
            return Percentiles::default();
        }
        values.sort_by(f64::total_cmp);
        let at =
            |q: f64| values[((values.len() as f64 * q).ceil() as usize).clamp(1, values.len()) - 1];
        Percentiles {
            count: values.len(),
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// What the stack did between two readings, per second.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Window {
    pub seconds: f64,
    pub snapshots_per_s: f64,
    pub resumes_per_s: f64,
    pub resume_failures: f64,
    pub events_replayed_per_s: f64,
    pub connections_per_s: f64,
    pub deliveries_per_s: f64,
    pub redis_commands_per_s: f64,
    /// Per command: calls per second and Redis CPU µs per second.
    pub redis_by_command: BTreeMap<String, (f64, f64)>,
    /// CPU, in % of one core.
    pub redis_cpu_pct: f64,
    pub gateways_cpu_pct: f64,
    pub proxy_cpu_pct: f64,
    pub bench_cpu_pct: f64,
    /// Busy share of the whole machine (every core, everyone's work).
    pub machine_busy_pct: Option<f64>,
    pub recorder_takeovers: f64,
    pub standby_recorded: f64,
}

impl Window {
    pub fn between(from: &Reading, to: &Reading) -> Window {
        let seconds = ((to.at_ms - from.at_ms) / 1e3).max(1e-3);
        let rate = |name: &str| (to.counter(name) - from.counter(name)).max(0.0) / seconds;
        let pct = |a: f64, b: f64| 100.0 * (b - a).max(0.0) / seconds;
        let mut redis_by_command = BTreeMap::new();
        for (name, (calls, usec)) in &to.redis_commands {
            let (calls_before, usec_before) =
                from.redis_commands.get(name).copied().unwrap_or_default();
            let calls = calls.saturating_sub(calls_before) as f64 / seconds;
            if calls > 0.0 {
                let usec = usec.saturating_sub(usec_before) as f64 / seconds;
                redis_by_command.insert(name.clone(), (calls, usec));
            }
        }
        let cores = std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64);
        Window {
            seconds,
            snapshots_per_s: rate("tactical_link_snapshots_total"),
            resumes_per_s: rate("tactical_link_resumes_total"),
            resume_failures: rate("tactical_link_resume_failures_total") * seconds,
            events_replayed_per_s: rate("tactical_link_events_replayed_total"),
            connections_per_s: rate("tactical_link_connections_total"),
            deliveries_per_s: to.delivered.saturating_sub(from.delivered) as f64 / seconds,
            redis_commands_per_s: to.redis_calls().saturating_sub(from.redis_calls()) as f64
                / seconds,
            redis_by_command,
            redis_cpu_pct: pct(from.redis_cpu_s, to.redis_cpu_s),
            gateways_cpu_pct: pct(from.gateway_cpu_s, to.gateway_cpu_s),
            proxy_cpu_pct: pct(from.proxy_cpu_s, to.proxy_cpu_s),
            bench_cpu_pct: pct(from.bench_cpu_s, to.bench_cpu_s),
            machine_busy_pct: match (from.machine, to.machine) {
                (Some((a, _)), Some((b, _))) => Some(pct(a, b) / cores),
                _ => None,
            },
            recorder_takeovers: rate("tactical_link_recorder_takeovers_total") * seconds,
            standby_recorded: rate("tactical_link_standby_recorded_total") * seconds,
        }
    }
}

impl Measurement {
    pub fn new(args: &StormArgs, scenario: Scenario, trial: usize) -> Measurement {
        Measurement {
            label: args.label.clone(),
            scenario,
            trial,
            clients: args.client_count(),
            rate: args.rate,
            ..Measurement::default()
        }
    }

    pub fn add_publish(&mut self, outcome: &PublishOutcome) {
        self.published = outcome.published;
        self.achieved_rate = outcome.achieved_rate;
        self.min_subscribers = outcome.min_subscribers;
    }

    /// The steady window (before the fault) and the storm (fault → every
    /// client live again); HAProxy's memory once every client connected.
    pub fn add_windows(&mut self, steady_from: &Reading, fault: &Reading, all_live: &Reading) {
        self.steady = Window::between(steady_from, fault);
        self.storm = Window::between(fault, all_live);
        self.proxy_rss_connected_kib = steady_from.proxy_rss_kib;
    }

    /// What the followers saw: disconnects after `fault_ms`, and every
    /// delivery of the `published` events.
    pub fn add_clients(&mut self, followed: &[Followed], fault_ms: f64, published: u64) {
        let mut totals = Totals::new(2);
        let (mut resume, mut waited, mut reconnect) = (Vec::new(), Vec::new(), Vec::new());
        for client in followed.iter().filter(|c| c.failure.is_none()) {
            totals.add(&client.tally);
            self.lost += published.saturating_sub(client.tally.distinct);
            for seq in client.tally.missing(published) {
                if self.missing.len() < 20 || self.missing.contains_key(&seq) {
                    *self.missing.entry(seq).or_default() += 1;
                }
            }
            self.clients_with_loss += u64::from(client.tally.distinct < published);
            let storm: Vec<_> = client
                .disconnects
                .iter()
                .filter(|d| d.closed_ms >= fault_ms)
                .collect();
            self.clients_disconnected += usize::from(!storm.is_empty());
            for d in storm {
                self.disconnects += 1;
                let code = d.code.map_or("none".to_owned(), |c| c.to_string());
                *self.close_codes.entry(code).or_default() += 1;
                self.hinted += u64::from(d.hint_ms.is_some());
                self.failed_attempts += u64::from(d.attempts.saturating_sub(1));
                let start = match d.start {
                    Some(Start::Resumed) => "resumed",
                    Some(Start::Snapshot) => "snapshot",
                    Some(Start::ResumeFailed) => "resume_failed",
                    None => "never",
                };
                *self.starts.entry(start.to_owned()).or_default() += 1;
                if let Some(live_ms) = d.live_ms {
                    resume.push(live_ms - d.closed_ms);
                    waited.push(d.waited_ms);
                    reconnect.push(live_ms - d.closed_ms - d.waited_ms);
                    let since_fault = live_ms - fault_ms;
                    self.all_live_ms =
                        Some(self.all_live_ms.map_or(since_fault, |m| m.max(since_fault)));
                }
            }
        }
        self.duplicated = totals.duplicated;
        self.reordered = totals.reordered;
        (self.resume_ms, self.waited_ms) = (Percentiles::of(resume), Percentiles::of(waited));
        self.reconnect_ms = Percentiles::of(reconnect);
        self.latency_ms = latency_ms(&totals);
    }

    /// HAProxy's memory per connection (RSS connected − idle, over the
    /// clients live), in KiB.
    pub fn proxy_kib_per_connection(&self) -> Option<f64> {
        let grown = self
            .proxy_rss_connected_kib
            .checked_sub(self.proxy_rss_idle_kib)?;
        (self.live_at_start > 0).then(|| grown as f64 / self.live_at_start as f64)
    }
}

fn latency_ms(totals: &Totals) -> Percentiles {
    let latency = &totals.latency;
    if latency.is_empty() {
        return Percentiles::default();
    }
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1e3;
    Percentiles {
        count: latency.len() as usize,
        p50: ms(0.5),
        p90: ms(0.9),
        p99: ms(0.99),
        max: latency.max() as f64 / 1e3,
    }
}

/// The 1-minute load average.
pub fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storm::follower::Disconnect;
    use crate::tally::Tally;

    #[test]
    fn percentiles_are_nearest_rank() {
        let p = Percentiles::of((1..=100).map(f64::from).collect());
        assert_eq!(
            (p.count, p.p50, p.p90, p.p99, p.max),
            (100, 50.0, 90.0, 99.0, 100.0)
        );
        assert_eq!(Percentiles::of(vec![7.0]).p99, 7.0);
        assert_eq!(Percentiles::of(Vec::new()).count, 0);
    }

    #[test]
    fn clients_add_up_to_loss_duplicates_and_resume_times() {
        let client = |seqs: &[u64], disconnects: Vec<Disconnect>| {
            let mut tally = Tally::new(10, 2);
            for seq in seqs {
                tally.record(*seq, 0, 1000);
            }
            Followed {
                tally,
                failure: None,
                disconnects,
            }
        };
        let resumed = |closed_ms: f64, live_ms: f64| Disconnect {
            closed_ms,
            code: Some(1001),
            hint_ms: Some(100),
            waited_ms: 100.0,
            attempts: 2,
            live_ms: Some(live_ms),
            start: Some(Start::Resumed),
            replayed: 1,
        };
        let followed = [
            client(
                &[0, 1, 2],
                vec![resumed(50.0, 60.0), resumed(1000.0, 1300.0)],
            ),
            client(&[0, 1, 1], vec![]),
        ];
        let mut m = Measurement::default();
        m.add_clients(&followed, 500.0, 3);
        assert_eq!((m.lost, m.clients_with_loss, m.duplicated), (1, 1, 1));
        assert_eq!(
            m.missing,
            BTreeMap::from([(2, 1)]),
            "the second missed event 2"
        );
        assert_eq!(m.disconnects, 1, "only those after the fault");
        assert_eq!(m.clients_disconnected, 1);
        assert_eq!(m.resume_ms.p50, 300.0);
        assert_eq!(m.reconnect_ms.p50, 200.0);
        assert_eq!(m.all_live_ms, Some(800.0));
        assert_eq!((m.hinted, m.failed_attempts), (1, 1));
        assert_eq!(m.starts["resumed"], 1);
        assert_eq!(m.close_codes["1001"], 1);
    }
}
