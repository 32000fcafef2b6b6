//! Gateways on `redis+cluster://` seeds of a real Redis Cluster (three
//! masters, three replicas, on free ports) while the master that owns the
//! channel's slot is killed (SIGKILL), with clients on both gateways, a
//! durable publisher (`WAIT` for one replica) at a steady pace, plain
//! `PUBLISH system_events` sent to another node (classic pub/sub is
//! cluster-wide), and `/readyz` polled throughout (testkit::failover).
//!
//! The replica takes over the slot; the gateways reconnect to it;
//! readiness is 503 for at most [`OUTAGE_BOUND`] and 200 after; every
//! client ends with every event a publish was told succeeded, and every
//! event of the stream, exactly once in stream order; whenever a gateway
//! said 200, the next event published reached its clients within
//! [`DELIVERY_BOUND`].

use std::time::Duration;

use tactical_link::bus::redis::Keys;
use testkit::RedisCluster;
use testkit::failover::{Scene, plain_publish, recorded, stream_ids_with_plain};

const CHANNEL: &str = "system_events";
/// Longest a gateway may say 503: the nodes' timeout (1 s) and the
/// replica's election, the gateway's reconnect back-off (at most 1 s here)
/// and a busy machine.
const OUTAGE_BOUND: Duration = Duration::from_secs(12);
/// Longest from a 200 on `/readyz` to the next event published reaching
/// the gateway's clients.
const DELIVERY_BOUND: Duration = Duration::from_secs(12);

/// A running node other than `port`.
fn other_than(cluster: &RedisCluster, port: u16) -> u16 {
    let running = cluster
        .ports()
        .into_iter()
        .filter(|p| cluster.pid(*p).is_some());
    running
        .into_iter()
        .find(|p| *p != port)
        .expect("another node")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateways_follow_the_replica_that_takes_over_a_killed_slot_master() {
    let mut cluster = RedisCluster::start();
    let seeds: Vec<String> = (cluster.ports().iter())
        .map(|port| format!("127.0.0.1:{port}"))
        .collect();
    let url = format!("redis+cluster://{}", seeds.join(","));
    let key = Keys::for_channel(CHANNEL).stream;
    let (slot, master) = (cluster.slot(&key), cluster.master_of(&key).port);
    let scene = Scene::start(&url, CHANNEL).await;
    scene.more_events(20, "events before the kill").await;
    plain_publish(
        other_than(&cluster, master),
        CHANNEL,
        r#"{"type":"failover.plain","n":1}"#,
    );
    // Recorded, then on the replica: a publish told succeeded after it
    // waited for the replica to hold everything before.
    recorded(master, CHANNEL, "failover.plain").await;
    scene.more_events(20, "events after the plain one").await;

    cluster.kill(master);
    let new = tokio::task::block_in_place(|| cluster.wait_failover(slot));
    assert_ne!(new, master);
    scene.all_ready().await;
    scene.more_events(20, "events after the failover").await;
    plain_publish(
        other_than(&cluster, new),
        CHANNEL,
        r#"{"type":"failover.plain","n":2}"#,
    );
    scene.more_events(20, "events after the failover").await;

    let outcome = scene.finish().await;
    let ids = stream_ids_with_plain(new, CHANNEL, "failover.plain", 2);
    let measured = outcome.check(&ids, OUTAGE_BOUND, DELIVERY_BOUND);
    // A killed master is seen at once, and not replaced at once.
    assert!(measured.outages.iter().all(Option::is_some), "{measured:?}");
    eprintln!("cluster, slot master killed: {measured:?}");
}
