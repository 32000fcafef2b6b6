//! The recorder lease with several gateways on one Redis: one records; when
//! it dies, another takes over within the lease's bound and records what
//! the dead one had not, so plain PUBLISH loses nothing a standby received.
//! Gateways that are killed run as the binary.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::{GatewayProcess, RedisServer, Served, Signal, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_tactical-link");

async fn leads(gateway: &GatewayProcess) -> bool {
    gateway.metric("tactical_link_recorder_leader").await == 1.0
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
    let (stop, published) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let publisher = std::thread::spawn({
        let (stop, published, mut conn) = (stop.clone(), published.clone(), redis.connection());
        move || {
            while !stop.load(Relaxed) {
                let seq = published.fetch_add(1, Relaxed);
                let event = format!(r#"{{"type":"tick","seq":{seq}}}"#);
                let _: i64 = redis::cmd("PUBLISH")
                    .arg("system_events")
                    .arg(event)
                    .query(&mut conn)
                    .unwrap();
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    });
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
    stop.store(true, Relaxed);
    publisher.join().unwrap();
    let total = published.load(Relaxed) as u64;
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
