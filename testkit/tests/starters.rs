//! Each starter of the scale-out bench, started and stopped for real: a
//! Redis Cluster that fails a master over, Sentinels that promote the
//! replica, and HAProxy on the shipped config that health-checks `/readyz`
//! and spreads clients over the ready gateways. Each stops what it started
//! by process id.

use std::time::Duration;

use redis::RedisResult;
use tactical_link_testkit as testkit;
use testkit::{Client, Gateway, HaProxy, RedisCluster, RedisSentinel, RedisServer, Served};

/// Whether a process with this id exists (a zombie would; ours are reaped).
fn running(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn connect(port: u16) -> redis::Connection {
    testkit::redis::connect(port, Duration::from_secs(2)).expect("connect")
}

#[test]
fn a_cluster_forms_routes_a_key_to_its_master_and_fails_over_when_it_dies() {
    let mut cluster = RedisCluster::start();
    let nodes = cluster.nodes();
    assert_eq!(nodes.iter().filter(|n| n.master).count(), 3, "{nodes:?}");
    assert_eq!(nodes.iter().filter(|n| n.master_id.is_some()).count(), 3);
    let key = "tactical-link:{system_events}:events";
    let owner = cluster.master_of(key);
    let replica = nodes
        .iter()
        .find(|n| n.master_id.as_deref() == Some(owner.id.as_str()))
        .expect("the owner has a replica")
        .port;
    let mut on_owner = connect(owner.port);
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg("kept")
        .query(&mut on_owner)
        .unwrap();
    let elsewhere = nodes
        .iter()
        .find(|n| n.master && n.port != owner.port)
        .unwrap();
    let moved: RedisResult<()> = redis::cmd("SET")
        .arg(key)
        .arg("x")
        .query(&mut connect(elsewhere.port));
    let moved = moved.expect_err("another master redirects").to_string();
    let to_owner = format!("127.0.0.1:{}", owner.port);
    assert!(
        moved.to_lowercase().contains("moved") && moved.contains(&to_owner),
        "{moved}"
    );
    let copies: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(2000)
        .query(&mut on_owner)
        .unwrap();
    assert_eq!(copies, 1, "the replica has the key");

    let pid = cluster.pid(owner.port).unwrap();
    cluster.kill(owner.port);
    assert!(!running(pid));
    let promoted = cluster.wait_failover(cluster.slot(key));
    assert_eq!(
        promoted, replica,
        "the dead master's replica took its slots"
    );
    assert_eq!(cluster.master_of(key).port, replica);
    let value: String = redis::cmd("GET")
        .arg(key)
        .query(&mut connect(replica))
        .unwrap();
    assert_eq!(value, "kept");
    assert_eq!(cluster.urls().len(), 5);

    let pids: Vec<u32> = cluster
        .ports()
        .iter()
        .filter_map(|p| cluster.pid(*p))
        .collect();
    drop(cluster);
    assert!(pids.iter().all(|pid| !running(*pid)), "every node stopped");
}

#[test]
fn sentinels_promote_the_replica_when_the_primary_dies() {
    let mut deployment = RedisSentinel::start();
    let (primary, replica) = (deployment.primary().port(), deployment.replica().port());
    for port in deployment.sentinel_ports() {
        assert_eq!(deployment.primary_port_by(port).unwrap(), primary);
    }
    let mut on_primary = deployment.primary().connection();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("kept")
        .query(&mut on_primary)
        .unwrap();
    let copies: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(2000)
        .query(&mut on_primary)
        .unwrap();
    assert_eq!(copies, 1);
    let read_only: RedisResult<()> = redis::cmd("SET")
        .arg("k")
        .arg("x")
        .query(&mut deployment.replica().connection());
    assert!(
        read_only.is_err(),
        "the replica is read-only before the failover"
    );

    let pid = deployment.primary().pid().unwrap();
    deployment.kill_primary();
    assert!(!running(pid));
    assert_eq!(deployment.wait_failover(), replica);
    let mut on_replica = deployment.replica().connection();
    let value: String = redis::cmd("GET").arg("k").query(&mut on_replica).unwrap();
    assert_eq!(value, "kept");
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("new")
        .query(&mut on_replica)
        .unwrap();

    let pids = deployment.sentinel_pids();
    assert_eq!(pids.len(), 3);
    drop(deployment);
    assert!(
        pids.iter().all(|pid| !running(*pid)),
        "every sentinel stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_sends_clients_only_to_gateways_whose_readyz_says_ready() {
    let redis = RedisServer::start();
    // The shipped file sends a PROXY header: the gateways take connections
    // from HAProxy only, and this test reads them on their metrics address.
    let behind_haproxy = |url: &str| {
        let mut args = vec!["serve", "--redis", url];
        args.extend(testkit::haproxy::GATEWAY_FLAGS);
        Gateway::start(&args)
    };
    let ready = [behind_haproxy(&redis.url()), behind_haproxy(&redis.url())];
    for gateway in &ready {
        gateway.wait_bus_up(Duration::from_secs(15)).await;
    }
    // Up and serving HTTP, but its Redis is nowhere: /readyz says 503.
    let nowhere = format!("redis://127.0.0.1:{}", testkit::free_port());
    let cut_off = behind_haproxy(&nowhere);
    let (status, _) =
        testkit::http::get(cut_off.operations_addr(), "/readyz", Duration::from_secs(2)).unwrap();
    assert_eq!(status, 503);

    let mut proxy = HaProxy::start(&[ready[0].addr, ready[1].addr, cut_off.addr]);
    proxy.wait_states(&[("gw1", "UP"), ("gw2", "UP"), ("gw3", "DOWN")]);
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(Client::connect_ready(&proxy.ws_url()).await.0);
    }
    let open = [
        ready[0].metric("tactical_link_connections_open").await,
        ready[1].metric("tactical_link_connections_open").await,
    ];
    assert_eq!(open[0] + open[1], 8.0, "every client on a ready gateway");
    assert!(
        open[0] >= 1.0 && open[1] >= 1.0,
        "spread over both: {open:?}"
    );
    assert_eq!(cut_off.metric("tactical_link_connections_total").await, 0.0);

    let pid = proxy.pid().unwrap();
    proxy.kill();
    assert!(!running(pid));
    drop(clients);
}
