//! Several gateways behind a real load balancer: three gateway processes
//! on one Redis, HAProxy in front running the shipped deploy/haproxy.cfg,
//! every client connected through it, every connection to a gateway (its
//! health checks too) opened with a PROXY v2 header, as the gateways
//! require (`--proxy-protocol --trusted-proxies 127.0.0.1/32`; the test
//! reads their metrics on addresses of their own). One gateway is killed (SIGKILL)
//! mid-stream while a publisher of ours publishes durably at a steady
//! rate: its clients come back through HAProxy on the other two, resume
//! from their last id, and every client ends with every event exactly
//! once, in publish order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use tactical_link::bus::redis::RedisPublisher;
use tactical_link::event::{Stage, Status};
use testkit::follow::{Followed, follow};
use testkit::{GatewayProcess, HaProxy, RedisServer, Served, eventually, stage_event};

const BIN: &str = env!("CARGO_BIN_EXE_tactical-link");
/// Clients through HAProxy (about ten a gateway).
const CLIENTS: usize = 30;
/// Events published, and how many a second: three seconds of them.
const EVENTS: usize = 600;
const RATE: u64 = 200;
/// Events every client has before the kill: each has a `last_id` to
/// resume from.
const BEFORE_KILL: usize = 100;

/// Every entry id of the event stream, in order: what was recorded.
fn recorded_ids(redis: &RedisServer) -> Vec<String> {
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg("tactical-link:{system_events}:events")
        .arg("-")
        .arg("+")
        .query(&mut redis.connection())
        .unwrap();
    reply.ids.into_iter().map(|entry| entry.id).collect()
}

/// Publishes `EVENTS` events at `RATE` a second through our publisher
/// (recorded in the stream, then published); returns their ids.
async fn publish_steadily(url: String) -> Vec<String> {
    let publisher = RedisPublisher::connect(&url, "system_events")
        .await
        .unwrap();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    let mut ids = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        tick.tick().await;
        let run = format!("run-{}", i % 10);
        let event = stage_event(
            &run,
            Stage::Analyst,
            Status::Processing,
            &format!("seq {i}"),
        );
        ids.push(publisher.publish_text(&event).await.unwrap().to_string());
    }
    ids
}

/// Open WebSocket connections of each gateway.
async fn open_connections(gateways: &[GatewayProcess]) -> Vec<f64> {
    let mut open = Vec::new();
    for gateway in gateways {
        open.push(gateway.metric("tactical_link_connections_open").await);
    }
    open
}

/// Three gateways on the Redis at `url`, taking connections from HAProxy
/// on this host only, each with a PROXY header; bus up.
async fn start_behind_haproxy(url: &str) -> Vec<GatewayProcess> {
    let mut args = vec!["serve", "--redis", url];
    args.extend(testkit::haproxy::GATEWAY_FLAGS);
    let gateways: Vec<GatewayProcess> = (0..3).map(|_| GatewayProcess::start(BIN, &args)).collect();
    for gateway in &gateways {
        gateway.wait_bus_up(Duration::from_secs(15)).await;
    }
    gateways
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_a_gateway_killed_behind_haproxy_resume_on_the_others_with_every_event_once() {
    let redis = RedisServer::start();
    let mut gateways = start_behind_haproxy(&redis.url()).await;
    let addrs: Vec<SocketAddr> = gateways.iter().map(|g| g.addr).collect();
    let proxy = HaProxy::start(&addrs);
    proxy.wait_states(&[("gw1", "UP"), ("gw2", "UP"), ("gw3", "UP")]);

    let seen: Vec<Arc<AtomicUsize>> = (0..CLIENTS).map(|_| Arc::default()).collect();
    let followers: Vec<_> = seen
        .iter()
        .map(|seen| {
            tokio::spawn(follow(
                proxy.ws_url(),
                EVENTS,
                Duration::from_secs(45),
                seen.clone(),
            ))
        })
        .collect();
    eventually(
        Duration::from_secs(20),
        "every client connected through HAProxy",
        async || open_connections(&gateways).await.iter().sum::<f64>() == CLIENTS as f64,
    )
    .await;
    let open = open_connections(&gateways).await;
    assert!(
        open.iter().all(|n| *n >= 1.0),
        "leastconn spreads the clients: {open:?}"
    );
    let victim = (0..3).max_by(|a, b| open[*a].total_cmp(&open[*b])).unwrap();

    let publisher = tokio::spawn(publish_steadily(redis.url()));
    eventually(
        Duration::from_secs(20),
        "every client has events",
        async || seen.iter().all(|n| n.load(Relaxed) >= BEFORE_KILL),
    )
    .await;
    gateways[victim].kill();
    let published = publisher.await.unwrap();

    let mut results: Vec<Followed> = Vec::new();
    for follower in followers {
        results.push(follower.await.unwrap());
    }
    let recorded = recorded_ids(&redis);
    assert_eq!(
        recorded, published,
        "each event recorded once, in publish order"
    );
    for (client, followed) in results.iter().enumerate() {
        assert_eq!(
            followed.ids, recorded,
            "client {client}: every event once, in order"
        );
    }
    let resumes: usize = results.iter().map(|f| f.resumes).sum();
    assert_eq!(
        resumes, open[victim] as usize,
        "the killed gateway's clients resumed once each, the others never"
    );
    let mut after = vec![("gw1", "UP"), ("gw2", "UP"), ("gw3", "UP")];
    after[victim].1 = "DOWN";
    proxy.wait_states(&after);
    for (n, gateway) in gateways.iter().enumerate().filter(|(n, _)| *n != victim) {
        let refused = gateway.metric("tactical_link_proxy_refusals_total").await;
        assert_eq!(
            refused, 0.0,
            "gateway {n}: a connection without a PROXY header"
        );
    }
}
