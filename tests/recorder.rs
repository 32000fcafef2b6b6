//! The recorder and standby leases with several gateways on one Redis: one
//! records, one stands by, only those two listen to the channel; when the
//! recorder dies, the standby takes over within the lease's bound and
//! records what the dead one had not, so plain PUBLISH loses nothing the
//! standby received, through a kill, a stop and a rolling restart.
//! Gateways that are killed run as the binary.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::{GatewayProcess, RedisServer, Served, Signal, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_tactical-link");

async fn leads(gateway: &GatewayProcess) -> bool {
    gateway.metric("tactical_link_recorder_leader").await == 1.0
}

async fn stands_by(gateway: &GatewayProcess) -> bool {
    gateway.metric("tactical_link_recorder_standby").await == 1.0
}

/// Gateways subscribed to the channel, as Redis counts them.
fn listeners(redis: &RedisServer) -> i64 {
    let (_, count): (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg("system_events")
        .query(&mut redis.connection())
        .unwrap();
    count
}

/// The `seq` of every event in the Redis stream, in stream order.
fn recorded_seqs(redis: &RedisServer) -> Vec<u64> {
    let stream = tactical_link::bus::redis::Keys::for_channel("system_events").stream;
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query(&mut redis.connection())
        .unwrap();
    entries
        .ids
        .iter()
        .filter_map(|entry| entry.get::<String>("e"))
        .filter_map(|event| serde_json::from_str::<Value>(&event).ok()?["seq"].as_u64())
        .collect()
}

/// A service publishing `{"type":"tick","seq":n}` with plain PUBLISH every
/// `every` until told to stop; joining it gives how many it published.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl Ticker {
    fn start(redis: &RedisServer, every: Duration) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let mut conn = redis.connection();
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let mut seq = 0;
                while !stop.load(Relaxed) {
                    let event = format!(r#"{{"type":"tick","seq":{seq}}}"#);
                    let _: i64 = redis::cmd("PUBLISH")
                        .arg("system_events")
                        .arg(event)
                        .query(&mut conn)
                        .unwrap();
                    seq += 1;
                    std::thread::sleep(every);
                }
                seq
            }
        });
        Ticker { stop, thread }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Relaxed);
        self.thread.join().unwrap()
    }
}

/// Three gateways: one records, one stands by, and only those two are
/// subscribed to the channel, so Redis sends each message to two gateways
/// whatever their number; the third relays from the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_recorder_and_its_standby_listen_to_the_channel() {
    let redis = RedisServer::start();
    let url = redis.url();
    let args = ["serve", "--redis", &url];
    let gateways: Vec<_> = (0..3).map(|_| GatewayProcess::start(BIN, &args)).collect();
    for gateway in &gateways {
        gateway.wait_bus_up(Duration::from_secs(15)).await;
    }
    eventually(
        Duration::from_secs(15),
        "one recorder, one standby, two listeners",
        async || {
            let mut roles = (0, 0);
            for gateway in &gateways {
                roles.0 += usize::from(leads(gateway).await);
                roles.1 += usize::from(stands_by(gateway).await);
            }
            roles == (1, 1) && listeners(&redis) == 2
        },
    )
    .await;
    let ticker = Ticker::start(&redis, Duration::from_millis(5));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let total = ticker.stop();
    for gateway in &gateways {
        eventually(
            Duration::from_secs(10),
            "every gateway relays every event",
            async || seqs(gateway).await == (0..total).collect::<Vec<_>>(),
        )
        .await;
    }
    assert_eq!(listeners(&redis), 2, "the roles held while events flowed");
}

/// A rolling restart: three times, the gateway that records is stopped
/// with SIGTERM and started again, with plain PUBLISH throughout. A gateway
/// just started never takes the recorder lease over with nothing heard (it
/// follows first), so every event is recorded once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_of_the_recorder_loses_no_plain_publish() {
    let redis = RedisServer::start();
    let url = redis.url();
    let args = ["serve", "--redis", &url, "--history-size", "10000"];
    let mut gateways: Vec<_> = (0..3).map(|_| GatewayProcess::start(BIN, &args)).collect();
    for gateway in &gateways {
        gateway.wait_bus_up(Duration::from_secs(15)).await;
    }
    let ticker = Ticker::start(&redis, Duration::from_millis(20));
    for _ in 0..3 {
        let mut recorder = None;
        eventually(Duration::from_secs(10), "one gateway records", async || {
            for (slot, gateway) in gateways.iter().enumerate() {
                if leads(gateway).await {
                    recorder = Some(slot);
                }
            }
            recorder.is_some()
        })
        .await;
        let slot = recorder.unwrap();
        gateways[slot].terminate(Duration::from_secs(10));
        gateways[slot] = GatewayProcess::start(BIN, &args);
        gateways[slot].wait_bus_up(Duration::from_secs(15)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let total = ticker.stop();
    let deadline = Instant::now() + Duration::from_secs(10);
    while (recorded_seqs(&redis).len() as u64) < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recorded = recorded_seqs(&redis);
    let missing: Vec<u64> = (0..total).filter(|seq| !recorded.contains(seq)).collect();
    assert!(
        missing.is_empty(),
        "of {total} events, not recorded: {missing:?}"
    );
    assert_eq!(
        recorded,
        (0..total).collect::<Vec<_>>(),
        "every event once, in order"
    );
}

/// Every event seq the gateway retains, in order (plain `{"type":"tick","seq":n}`).
async fn seqs(gateway: &GatewayProcess) -> Vec<u64> {
    let url = gateway.http("/api/events?limit=1000");
    let page: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|frame| frame["event"]["seq"].as_u64())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_recorder_dies_another_takes_over_and_plain_publish_loses_nothing() {
    takeover_loses_nothing(|recorder| recorder.kill()).await;
}

/// A rolling restart stops the recorder with SIGTERM: it drains its clients
/// and exits, and another gateway records what it did not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_recorder_is_stopped_another_takes_over_and_plain_publish_loses_nothing() {
    takeover_loses_nothing(|recorder| recorder.signal(Signal::Term)).await;
}

/// Two gateways, plain PUBLISH every 10 ms, and the recorder stopped by
/// `stop`: the other takes over and every event is recorded once, in order.
async fn takeover_loses_nothing(stop_recorder: impl FnOnce(&mut GatewayProcess)) {
    let redis = RedisServer::start();
    let url = redis.url();
    let args = ["serve", "--redis", &url];
    let mut gateways = [
        GatewayProcess::start(BIN, &args),
        GatewayProcess::start(BIN, &args),
    ];
    for gateway in &gateways {
        gateway.wait_bus_up(Duration::from_secs(15)).await;
    }
    eventually(Duration::from_secs(10), "one gateway records", async || {
        leads(&gateways[0]).await != leads(&gateways[1]).await
    })
    .await;
    let leader = usize::from(leads(&gateways[1]).await);
    // A service publishing plain PUBLISH every 10 ms, through the takeover.
    let ticker = Ticker::start(&redis, Duration::from_millis(10));
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_recorder(&mut gateways[leader]);
    let killed_at = Instant::now();
    let survivor = &gateways[1 - leader];
    eventually(Duration::from_secs(8), "the survivor records", async || {
        leads(survivor).await
    })
    .await;
    let takeover = killed_at.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let total = ticker.stop();
    eventually(Duration::from_secs(15), "every event relayed", async || {
        seqs(survivor).await.len() as u64 == total
    })
    .await;
    assert_eq!(
        seqs(survivor).await,
        (0..total).collect::<Vec<_>>(),
        "every event once, in order"
    );
    assert!(
        takeover < Duration::from_secs(5),
        "took over in {takeover:?}"
    );
    assert!(
        survivor
            .metric("tactical_link_recorder_takeovers_total")
            .await
            >= 1.0
    );
    eprintln!(
        "takeover after {takeover:?}; {} events recorded from the standby buffer",
        survivor
            .metric("tactical_link_standby_recorded_total")
            .await
    );
}
