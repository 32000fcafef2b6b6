//! History and resume end to end: gateway crashes, Redis restarts, resume
//! beyond retention, and clients moving between two gateways. A gateway
//! that is killed, restarted or frozen (SIGSTOP) runs as the binary; the
//! others serve from this process.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use serde_json::Value;
use tactical_link::event::{Stage, Status};
use testkit::{
    Client, Gateway, GatewayProcess, Next, RedisServer, Served, Signal, eventually, stage_event,
};
use tokio::task::JoinHandle;

const BIN: &str = env!("CARGO_BIN_EXE_tactical-link");

async fn wait_ready(gateway: &impl Served) {
    gateway.wait_bus_up(Duration::from_secs(15)).await;
}

/// How many connections are subscribed to `channel` on `redis`.
fn subscribers(redis: &RedisServer, channel: &str) -> i64 {
    let (_, count): (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query(&mut redis.connection())
        .unwrap();
    count
}

/// Every entry id of the event stream, in order: what was published.
fn recorded_ids(redis: &RedisServer) -> Vec<String> {
    let mut conn = redis.connection();
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg("tactical-link:{system_events}:events")
        .arg("-")
        .arg("+")
        .query(&mut conn)
        .unwrap();
    reply.ids.into_iter().map(|entry| entry.id).collect()
}

/// Follows the gateway at `url` as the dashboard does, resuming after any
/// disconnect, until it has `until` events: their ids, and how often it
/// resumed.
async fn follow_with_resume(url: String, until: usize, limit: Duration) -> (Vec<String>, usize) {
    let followed = testkit::follow::follow(url, until, limit, Default::default()).await;
    (followed.ids, followed.resumes)
}

/// Like [`follow_with_resume`], with a count of the events it has so far.
fn watched_follower(
    url: String,
    until: usize,
    limit: Duration,
) -> (Arc<AtomicUsize>, JoinHandle<testkit::follow::Followed>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let follower = tokio::spawn(testkit::follow::follow(url, until, limit, seen.clone()));
    (seen, follower)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_joining_mid_stream_gets_every_event_once_across_snapshot_and_stream() {
    let redis = RedisServer::start();
    let gateway = Gateway::start(&["serve", "--redis", &redis.url()]);
    wait_ready(&gateway).await;
    let publisher =
        tactical_link::bus::redis::RedisPublisher::connect(&redis.url(), "system_events")
            .await
            .unwrap();
    let event = |i: usize| {
        stage_event(
            "joining",
            Stage::Radar,
            Status::Processing,
            &format!("seq {i}"),
        )
    };
    for i in 0..3 {
        publisher.publish_text(&event(i)).await.unwrap();
    }
    // Relayed before the client connects: always in its snapshot, never
    // sent to it as `event` frames.
    eventually(Duration::from_secs(10), "3 events relayed", async || {
        let body: Value = reqwest::get(gateway.http("/api/events"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["events"].as_array().unwrap().len() == 3
    })
    .await;
    let follower = tokio::spawn(follow_with_resume(
        gateway.ws_url(),
        6,
        Duration::from_secs(20),
    ));
    // The welcome and the snapshot written: the client is subscribed, and
    // the next events reach it as `event` frames.
    eventually(
        Duration::from_secs(10),
        "the client subscribed",
        async || gateway.metric("tactical_link_frames_sent_total").await >= 2.0,
    )
    .await;
    for i in 3..6 {
        publisher.publish_text(&event(i)).await.unwrap();
    }
    let (ids, _) = follower.await.unwrap();
    assert_eq!(ids, recorded_ids(&redis), "every event once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_a_gateway_killed_mid_stream_end_with_every_event_once_in_order() {
    let redis = RedisServer::start();
    let gateway = GatewayProcess::start(BIN, &["serve", "--redis", &redis.url()]);
    wait_ready(&gateway).await;
    let addr = gateway.addr;
    let url = gateway.ws_url();

    // The simulator publishes 10 runs × 12 events while the gateway dies.
    const EVENTS: usize = 10 * 12;
    let simulator = std::process::Command::new(BIN)
        .args([
            "simulate",
            "--redis",
            &redis.url(),
            "--runs",
            "10",
            "--concurrency",
            "5",
        ])
        .args(["--speed", "8", "--seed", "21", "--error-rate", "0"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (seen, followers): (Vec<_>, Vec<_>) = (0..5)
        .map(|_| watched_follower(url.clone(), EVENTS, Duration::from_secs(60)))
        .unzip();

    // Every client has events from this gateway before it dies (one that
    // connected only after would have nothing to resume from).
    let mut gateway = gateway;
    eventually(
        Duration::from_secs(20),
        "some events relayed to every client",
        async || recorded_ids(&redis).len() >= 20 && seen.iter().all(|n| n.load(Relaxed) >= 1),
    )
    .await;
    gateway.kill();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let _gateway =
        GatewayProcess::start_at(BIN, &["serve", "--redis", &redis.url()], &addr.to_string());

    let mut simulator = simulator;
    assert!(simulator.wait().unwrap().success());
    let published = recorded_ids(&redis);
    assert_eq!(published.len(), EVENTS);
    for follower in followers {
        let followed = follower.await.unwrap();
        assert!(followed.resumes >= 1, "the client did reconnect");
        assert_eq!(
            followed.ids, published,
            "every event exactly once, in publish order"
        );
    }
}

/// Publishes "seq FROM" to "seq TO-1" (run r, radar processing) with our
/// publisher, which records each in the stream.
async fn publish(redis: &RedisServer, from: usize, to: usize) {
    let publisher =
        tactical_link::bus::redis::RedisPublisher::connect(&redis.url(), "system_events")
            .await
            .unwrap();
    for i in from..to {
        let event = stage_event("r", Stage::Radar, Status::Processing, &format!("seq {i}"));
        publisher.publish_text(&event).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_survives_a_redis_crash_with_persistence() {
    let mut redis = RedisServer::start_with(true);
    let gateway = Gateway::start(&[
        "serve",
        "--redis",
        &redis.url(),
        "--redis-backoff-max",
        "0.5",
    ]);
    wait_ready(&gateway).await;
    publish(&redis, 0, 50).await;
    redis.kill();
    redis.restart();
    publish(&redis, 50, 80).await;
    // Legacy publishers with plain PUBLISH are recorded too once the link is
    // back. Readiness alone cannot say it is back: a gateway that has not yet
    // seen the old connection die is still green, and a plain PUBLISH that
    // no one is subscribed to is gone. The restarted Redis knows.
    eventually(
        Duration::from_secs(15),
        "the gateway subscribed to the restarted Redis",
        async || subscribers(&redis, "system_events") >= 1,
    )
    .await;
    wait_ready(&gateway).await;
    for i in 80..100 {
        redis.publish(
            "system_events",
            stage_event("r", Stage::Radar, Status::Processing, &format!("seq {i}")),
        );
    }

    let expected: Vec<String> = (0..100).map(|i| format!("seq {i}")).collect();
    let details = |body: Value| -> Vec<String> {
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"]["detail"].as_str().unwrap().to_owned())
            .collect()
    };
    eventually(
        Duration::from_secs(10),
        "all 100 events in the gateway's history",
        async || {
            let body: Value = reqwest::get(gateway.http("/api/events?limit=1000"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            details(body) == expected
        },
    )
    .await;
    // A gateway started now reloads the same history from Redis.
    let fresh = Gateway::start(&["serve", "--redis", &redis.url()]);
    wait_ready(&fresh).await;
    let body: Value = reqwest::get(fresh.http("/api/events?limit=1000"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(details(body), expected);
    let run: Value = reqwest::get(fresh.http("/api/runs/r"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        run["stages"]["radar"]["detail"], "seq 99",
        "run state rebuilt from history"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_from_beyond_retention_gets_a_flagged_snapshot() {
    let redis = RedisServer::start();
    let gateway = Gateway::start(&["serve", "--redis", &redis.url(), "--history-size", "5"]);
    wait_ready(&gateway).await;
    let (mut client, _) = Client::connect_ready(&gateway.ws_url()).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        redis.publish(
            "system_events",
            stage_event("r", Stage::Analyst, Status::Processing, &format!("seq {i}")),
        );
        ids.push(
            client.expect_type("event").await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Retained: the last five. Resuming from the 17th replays the last 3.
    let (mut recent, _) =
        tokio_tungstenite::connect_async(format!("{}?last_id={}", gateway.ws_url(), ids[16]))
            .await
            .map(|(socket, r)| (Client { socket }, r))
            .unwrap();
    recent.expect_type("welcome").await;
    let resumed = recent.expect_frame().await;
    assert_eq!(resumed["type"], "resumed");
    assert_eq!(resumed["replayed"], 3);
    for id in &ids[17..] {
        assert_eq!(&recent.expect_frame().await["id"], id);
    }
    // The first id is long gone: a snapshot that says so.
    for stale in [ids[0].as_str(), "1-0", "garbage"] {
        let (socket, _) =
            tokio_tungstenite::connect_async(format!("{}?last_id={stale}", gateway.ws_url()))
                .await
                .unwrap();
        let mut old = Client { socket };
        old.expect_type("welcome").await;
        let snapshot = old.expect_frame().await;
        assert_eq!(snapshot["type"], "snapshot");
        assert_eq!(snapshot["resume_failed"], stale);
        assert_eq!(snapshot["last_id"], ids[19].as_str());
        assert_eq!(snapshot["runs"][0]["stages"]["analyst"]["detail"], "seq 19");
    }
    let gone = reqwest::get(gateway.http(&format!("/api/events?after={}", ids[0])))
        .await
        .unwrap();
    assert_eq!(gone.status(), 410);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_moving_between_two_gateways_resumes_without_gap_or_duplicate() {
    let redis = RedisServer::start();
    let a = Gateway::start(&["serve", "--redis", &redis.url()]);
    let b = Gateway::start(&["serve", "--redis", &redis.url()]);
    wait_ready(&a).await;
    wait_ready(&b).await;
    // Connected before the first publish, so every event reaches it as an
    // event frame (one published earlier would be in its snapshot instead).
    let (mut on_a, _) = Client::connect_ready(&a.ws_url()).await;
    // Plain PUBLISH, as the existing services do: both gateways receive
    // every message; each must be recorded once.
    let publisher = tokio::task::spawn_blocking({
        let url = redis.url();
        move || {
            let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
            for i in 0..200 {
                let event = stage_event(
                    "moving",
                    Stage::Advisor,
                    Status::Processing,
                    &format!("seq {i}"),
                );
                let _: i64 = redis::cmd("PUBLISH")
                    .arg("system_events")
                    .arg(event)
                    .query(&mut conn)
                    .unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    });
    let mut seen = Vec::new();
    while seen.len() < 60 {
        let frame = on_a.expect_type("event").await;
        seen.push((
            frame["id"].as_str().unwrap().to_owned(),
            frame["event"]["detail"].as_str().unwrap().to_owned(),
        ));
    }
    drop(on_a);
    let (socket, _) = tokio_tungstenite::connect_async(format!(
        "{}?last_id={}",
        b.ws_url(),
        seen.last().unwrap().0
    ))
    .await
    .unwrap();
    let mut on_b = Client { socket };
    on_b.expect_type("welcome").await;
    assert_eq!(on_b.expect_frame().await["type"], "resumed");
    while seen.len() < 200 {
        let frame = on_b.expect_type("event").await;
        seen.push((
            frame["id"].as_str().unwrap().to_owned(),
            frame["event"]["detail"].as_str().unwrap().to_owned(),
        ));
    }
    publisher.await.unwrap();
    let details: Vec<&str> = seen.iter().map(|(_, d)| d.as_str()).collect();
    let expected: Vec<String> = (0..200).map(|i| format!("seq {i}")).collect();
    assert_eq!(details, expected, "no gap, no duplicate across the move");
    let ids: Vec<String> = seen.into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        ids,
        recorded_ids(&redis),
        "both gateways use the stream's ids; each event recorded once"
    );
    // No more frames pending on B: nothing was duplicated at the end.
    assert!(matches!(
        on_b.next(Duration::from_millis(300)).await,
        Next::TimedOut
    ));
}

/// A ready gateway process (to freeze) whose stream keeps about 8 events,
/// and a publisher of ours on the same Redis.
async fn gateway_with_a_short_stream(
    redis: &RedisServer,
) -> (GatewayProcess, tactical_link::bus::redis::RedisPublisher) {
    let gateway = GatewayProcess::start(
        BIN,
        &["serve", "--redis", &redis.url(), "--history-size", "8"],
    );
    wait_ready(&gateway).await;
    let publisher =
        tactical_link::bus::redis::RedisPublisher::connect(&redis.url(), "system_events")
            .await
            .unwrap();
    (gateway, publisher)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_trimmed_before_a_cut_off_gateway_read_them_are_counted_and_logged() {
    let redis = RedisServer::start();
    let (gateway, publisher) = gateway_with_a_short_stream(&redis).await;
    let event =
        |i: usize| stage_event("cut", Stage::Radar, Status::Processing, &format!("seq {i}"));
    publisher.publish_text(&event(0)).await.unwrap();
    let (mut client, _) = Client::connect_ready(&gateway.ws_url()).await;
    // The gateway is frozen and its subscription cut, so the only way it
    // can learn of the next events is the stream, which keeps about 8.
    gateway.signal(Signal::Stop);
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query(&mut redis.connection())
        .unwrap();
    assert_eq!(killed, 1, "the gateway's subscription");
    for i in 1..=400 {
        publisher.publish_text(&event(i)).await.unwrap();
    }
    gateway.signal(Signal::Cont);
    eventually(Duration::from_secs(10), "the gap counted", async || {
        gateway.metric("tactical_link_history_gaps_total").await >= 1.0
    })
    .await;
    // Counted first, then logged: the log line may be a moment behind.
    eventually(Duration::from_secs(10), "the gap logged", async || {
        gateway.log().contains("trimmed from the Redis stream")
    })
    .await;
    // The client still gets what the stream kept, ending with the newest.
    loop {
        let frame = client.expect_type("event").await;
        if frame["event"]["detail"] == "seq 400" {
            break;
        }
    }
    // A gateway that keeps up never reports a gap.
    let fresh = Gateway::start(&["serve", "--redis", &redis.url(), "--history-size", "8"]);
    wait_ready(&fresh).await;
    let (mut on_fresh, _) = Client::connect_ready(&fresh.ws_url()).await;
    // Each event is awaited before the next goes out: this gateway is never
    // behind by more than one event. (A publisher racing ahead of a gateway
    // by more than the stream keeps is the cut-off case above: the reader
    // finds entries trimmed and the gateway says so.)
    for i in 401..=600 {
        publisher.publish_text(&event(i)).await.unwrap();
        let frame = on_fresh.expect_type("event").await;
        assert_eq!(frame["event"]["detail"], format!("seq {i}"));
    }
    assert_eq!(fresh.metric("tactical_link_history_gaps_total").await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_behind_by_more_than_the_stream_keeps_still_relays_what_it_was_sent() {
    let redis = RedisServer::start();
    let (gateway, publisher) = gateway_with_a_short_stream(&redis).await;
    let event = |i: usize| {
        stage_event(
            "behind",
            Stage::Radar,
            Status::Processing,
            &format!("seq {i}"),
        )
    };
    let (mut client, _) = Client::connect_ready(&gateway.ws_url()).await;
    // Frozen, with its subscription up: every event waits in its socket,
    // while the stream (keeping about 8) trims most of them. On waking, its
    // stream reader finds a hole the recorder is about to fill.
    gateway.signal(Signal::Stop);
    for i in 0..400 {
        publisher.publish_text(&event(i)).await.unwrap();
    }
    gateway.signal(Signal::Cont);
    for i in 0..400 {
        let frame = client.expect_type("event").await;
        assert_eq!(frame["event"]["detail"], format!("seq {i}"));
    }
    assert_eq!(
        gateway.metric("tactical_link_history_gaps_total").await,
        0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_on_a_gateway_a_moment_behind_waits_for_it() {
    let redis = RedisServer::start();
    let ahead = Gateway::start(&["serve", "--redis", &redis.url()]);
    let behind = GatewayProcess::start(BIN, &["serve", "--redis", &redis.url()]);
    wait_ready(&ahead).await;
    wait_ready(&behind).await;
    let publisher =
        tactical_link::bus::redis::RedisPublisher::connect(&redis.url(), "system_events")
            .await
            .unwrap();
    let (mut on_ahead, _) = Client::connect_ready(&ahead.ws_url()).await;
    // `behind` is frozen: it has not relayed what `ahead` delivers next.
    behind.signal(Signal::Stop);
    for i in 0..3 {
        let event = stage_event(
            "lagging",
            Stage::Quality,
            Status::Processing,
            &format!("seq {i}"),
        );
        publisher.publish_text(&event).await.unwrap();
    }
    let mut last_id = String::new();
    for i in 0..3 {
        let frame = on_ahead.expect_type("event").await;
        assert_eq!(frame["event"]["detail"], format!("seq {i}"));
        last_id = frame["id"].as_str().unwrap().to_owned();
    }
    // The client moves while `behind` is still frozen; it wakes a moment
    // later with the connection, the subscription and the stream all
    // waiting at once.
    let moving = tokio::spawn(tokio_tungstenite::connect_async(format!(
        "{}?last_id={last_id}",
        behind.ws_url()
    )));
    tokio::time::sleep(Duration::from_millis(200)).await;
    behind.signal(Signal::Cont);
    let (socket, _) = moving.await.unwrap().unwrap();
    let mut on_behind = Client { socket };
    on_behind.expect_type("welcome").await;
    let start = on_behind.expect_frame().await;
    assert_eq!(start["type"], "resumed", "{start}");
    assert_eq!(start["replayed"], 0);
    let event = stage_event(
        "lagging",
        Stage::Quality,
        Status::Complete,
        "after the move",
    );
    publisher.publish_text(&event).await.unwrap();
    let frame = on_behind.expect_type("event").await;
    assert_eq!(frame["event"]["detail"], "after the move");
}
