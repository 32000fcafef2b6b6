//! The Redis → WebSocket bridge end to end: real `redis-server`, real
//! WebSocket clients, the gateway serving from this process; the binary
//! where a test reads its log, its memory or its CPU time.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::future::join_all;
use tactical_link::event::{Stage, Status};
use testkit::{
    Client, Gateway, GatewayProcess, Next, RedisServer, Served, eventually, stage_event,
};

const BIN: &str = env!("CARGO_BIN_EXE_tactical-link");

/// A `pipeline.stage` event with any strings in it, valid or not (the
/// gateway's builder writes only valid ones).
fn raw_stage_event(run: &str, stage: &str, status: &str, detail: &str) -> String {
    serde_json::json!({
        "type": "pipeline.stage",
        "run_id": run,
        "stage": stage,
        "status": status,
        "detail": detail,
    })
    .to_string()
}

/// Publishes `events` events to Redis, `gap` apart, while `clients`
/// clients read; checks that every client got every event once, in order;
/// returns the publish→receive latencies.
async fn relay(clients: usize, events: usize, gap: Duration) -> Vec<Duration> {
    let redis = RedisServer::start();
    let gateway = Gateway::start(&["serve", "--redis", &redis.url()]);
    gateway.wait_bus_up(Duration::from_secs(10)).await;
    let url = gateway.ws_url();
    let connected = join_all((0..clients).map(|_| Client::connect_ready(&url))).await;

    let publisher = tokio::task::spawn_blocking({
        let url = redis.url();
        move || {
            let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut sent_at = Vec::with_capacity(events);
            for i in 0..events {
                let event = stage_event(
                    "run-order",
                    Stage::ALL[i % 6],
                    Status::Processing,
                    &format!("seq {i}"),
                );
                sent_at.push(Instant::now());
                let receivers: i64 = redis::cmd("PUBLISH")
                    .arg("system_events")
                    .arg(event)
                    .query(&mut conn)
                    .unwrap();
                assert_eq!(receivers, 1, "the gateway is subscribed");
                if !gap.is_zero() {
                    std::thread::sleep(gap);
                }
            }
            sent_at
        }
    });

    let readers = connected.into_iter().map(|(mut client, _)| async move {
        let mut seen = Vec::with_capacity(events);
        let mut arrived = Vec::with_capacity(events);
        let mut last_id: Option<(i64, u64)> = None;
        while seen.len() < events {
            let frame = client.expect_type("event").await;
            arrived.push(Instant::now());
            let id = frame["id"].as_str().unwrap();
            let (ms, seq) = id.split_once('-').unwrap();
            let id = (ms.parse::<i64>().unwrap(), seq.parse::<u64>().unwrap());
            assert!(last_id.is_none_or(|last| last < id), "ids increase");
            last_id = Some(id);
            seen.push(frame["event"]["detail"].as_str().unwrap().to_owned());
        }
        (seen, arrived)
    });
    let results = join_all(readers).await;
    let sent_at = publisher.await.unwrap();
    let expected: Vec<String> = (0..events).map(|i| format!("seq {i}")).collect();
    let mut latencies = Vec::new();
    for (seen, arrived) in &results {
        assert_eq!(seen, &expected, "every event, once, in publish order");
        for (sent, got) in sent_at.iter().zip(arrived) {
            latencies.push(got.saturating_duration_since(*sent));
        }
    }
    latencies.sort();
    latencies
}

fn summary(latencies: &[Duration]) -> String {
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    format!(
        "p50 {:?} p99 {:?} max {:?}",
        pct(0.5),
        pct(0.99),
        latencies.last().unwrap()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_receives_every_event_in_publish_order_under_a_burst() {
    // 300 events back to back to 120 clients: the latencies printed are
    // queueing in a burst on a shared 2-core machine, not the steady state.
    let latencies = relay(120, 300, Duration::ZERO).await;
    println!(
        "burst, 120 clients × 300 events: publish→receive {}",
        summary(&latencies)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_clients_receive_a_steady_stream() {
    // 100 events/s to 100 clients: the steady-state latency.
    let latencies = relay(100, 200, Duration::from_millis(10)).await;
    println!(
        "steady, 100 clients × 100 events/s: publish→receive {}",
        summary(&latencies)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_messages_are_counted_and_never_relayed() {
    let redis = RedisServer::start();
    let gateway = GatewayProcess::start(
        BIN,
        &[
            "serve",
            "--redis",
            &redis.url(),
            "--max-event-bytes",
            "1024",
        ],
    );
    gateway.wait_bus_up(Duration::from_secs(10)).await;
    let (mut client, _) = Client::connect_ready(&gateway.ws_url()).await;

    let deep = format!(
        r#"{{"type":"x","v":{}{}}}"#,
        "[".repeat(500),
        "]".repeat(500)
    );
    let huge = format!(r#"{{"type":"x","pad":"{}"}}"#, "a".repeat(2000));
    let invalid: Vec<Vec<u8>> = vec![
        b"not json at all".to_vec(),
        b"[1,2,3]".to_vec(),
        b"{\"no_type\":true}".to_vec(),
        b"\xff\xfe\x00garbage".to_vec(),
        deep.into_bytes(),
        huge.into_bytes(),
        raw_stage_event("r", "cooking", "processing", "").into_bytes(),
        raw_stage_event("r", "radar", "finished", "").into_bytes(),
        b"{\"type\":\"pipeline.stage\",\"stage\":\"radar\",\"status\":\"idle\"}".to_vec(),
        Vec::new(),
    ];
    for message in &invalid {
        redis.publish("system_events", message.as_slice());
    }
    redis.publish(
        "system_events",
        raw_stage_event("r", "RADAR", "COMPLETE", "after the junk"),
    );
    let frame = client.expect_type("event").await;
    assert_eq!(
        frame["event"]["detail"], "after the junk",
        "no invalid message got through"
    );
    assert_eq!(frame["pipeline"]["stage"], "radar");
    assert_eq!(frame["pipeline"]["status"], "complete");
    assert_eq!(
        frame["event"]["stage"], "RADAR",
        "the original event is kept verbatim"
    );

    for (reason, count) in [
        ("not_json", 2.0),
        ("not_object", 1.0),
        ("missing_type", 1.0),
        ("not_utf8", 1.0),
        ("too_deep", 1.0),
        ("too_large", 1.0),
        ("invalid_pipeline", 3.0),
    ] {
        let metric = format!("tactical_link_events_rejected_total{{reason=\"{reason}\"}}");
        assert_eq!(gateway.metric(&metric).await, count, "{reason}");
    }
    assert_eq!(
        gateway.metric("tactical_link_events_relayed_total").await,
        1.0
    );
    // Counted first, then logged: the log line may be a moment behind.
    eventually(Duration::from_secs(10), "rejections logged", async || {
        gateway.log().contains("rejected bus message")
    })
    .await;
    let log = gateway.log();
    assert!(!log.contains(&"a".repeat(500)), "log samples are truncated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_survive_a_long_redis_outage_and_get_events_after_it() {
    let mut redis = RedisServer::start();
    let gateway = GatewayProcess::start(
        BIN,
        &["serve", "--redis", &redis.url(), "--redis-backoff-max", "2"],
    );
    gateway.wait_bus_up(Duration::from_secs(10)).await;
    let (mut a, snapshot) = Client::connect_ready(&gateway.ws_url()).await;
    assert_eq!(snapshot["bus"]["state"], "up");
    let (mut b, _) = Client::connect_ready(&gateway.ws_url()).await;
    redis.publish(
        "system_events",
        stage_event("r", Stage::Radar, Status::Processing, "before"),
    );
    for client in [&mut a, &mut b] {
        assert_eq!(
            client.expect_type("event").await["event"]["detail"],
            "before"
        );
    }

    redis.kill();
    for client in [&mut a, &mut b] {
        let down = client.expect_type("bus").await;
        assert_eq!(down["state"], "down");
        assert_eq!(down["lossy"], true);
    }
    assert_eq!(
        reqwest::get(gateway.http("/readyz"))
            .await
            .unwrap()
            .status(),
        503
    );
    // Longer than redis-rs's default retry budget, and than our back-off cap.
    tokio::time::sleep(Duration::from_secs(16)).await;
    let cpu_before = cpu_seconds(&gateway);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu = cpu_seconds(&gateway) - cpu_before;
    assert!(
        cpu < 0.5,
        "no busy loop while Redis is down ({cpu:.2} s of CPU in 2 s)"
    );
    assert_eq!(
        reqwest::get(gateway.http("/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );

    redis.restart();
    for client in [&mut a, &mut b] {
        loop {
            let bus = client.expect_type("bus").await;
            if bus["state"] == "up" {
                break;
            }
        }
    }
    redis.publish(
        "system_events",
        stage_event("r", Stage::Radar, Status::Complete, "after"),
    );
    for client in [&mut a, &mut b] {
        let frame = client.expect_type("event").await;
        assert_eq!(frame["event"]["detail"], "after");
    }
    assert!(gateway.metric("tactical_link_bus_connects_total").await >= 2.0);
    assert_eq!(
        gateway.metric("tactical_link_connections_open").await,
        2.0,
        "clients kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_starts_without_redis_and_connects_when_it_appears() {
    let port = testkit::free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let gateway = Gateway::start(&["serve", "--redis", &url, "--redis-backoff-max", "0.5"]);
    let (mut client, snapshot) = Client::connect_ready(&gateway.ws_url()).await;
    assert_eq!(snapshot["bus"]["state"], "down");
    assert_eq!(
        reqwest::get(gateway.http("/readyz"))
            .await
            .unwrap()
            .status(),
        503
    );

    // Start a server on the very port the gateway is trying.
    let redis = RedisServer::start_on(port);
    let up = loop {
        let bus = client.expect_type("bus").await;
        if bus["state"] == "up" {
            break bus;
        }
    };
    assert_eq!(up["kind"], "redis");
    redis.publish("system_events", r#"{"type":"hello"}"#);
    assert_eq!(client.expect_type("event").await["event"]["type"], "hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_and_others_are_not_delayed() {
    let redis = RedisServer::start();
    let url = redis.url();
    let flags = ["--client-buffer", "256", "--write-timeout", "2"];
    // Keep the resume history small: this test is about the client.
    let history = ["--max-event-bytes", "65536", "--history-size", "64"];
    let args = [&["serve", "--redis", &url][..], &flags, &history].concat();
    let gateway = GatewayProcess::start(BIN, &args);
    gateway.wait_bus_up(Duration::from_secs(10)).await;
    let (mut slow, _) = Client::connect_ready(&gateway.ws_url()).await;
    let (mut fast, _) = Client::connect_ready(&gateway.ws_url()).await;
    let rss_before = gateway.rss_kib();

    const EVENTS: usize = 2000;
    let pad = "x".repeat(16 * 1024);
    let publisher = tokio::task::spawn_blocking({
        let url = redis.url();
        move || {
            let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
            for i in 0..EVENTS {
                let event = serde_json::json!({"type": "bulk", "seq": i, "pad": pad}).to_string();
                let _: i64 = redis::cmd("PUBLISH")
                    .arg("system_events")
                    .arg(event)
                    .query(&mut conn)
                    .unwrap();
            }
        }
    });
    // The fast client reads everything, in order, while the slow one reads nothing.
    for i in 0..EVENTS {
        let frame = fast.expect_type("event").await;
        assert_eq!(frame["event"]["seq"], i);
    }
    publisher.await.unwrap();
    eventually(Duration::from_secs(10), "slow client dropped", async || {
        gateway
            .metric("tactical_link_slow_consumer_disconnects_total")
            .await
            >= 1.0
    })
    .await;
    let rss_after = gateway.rss_kib();
    // 2000 × 16 KiB = 32 MiB was published; a client that buffered it all
    // would show here. What the gateway may hold: the ring (256 frames,
    // 4.2 MB), the history (64 events, 1 MB), a batch per client (512 KiB
    // each) and a recorder pipeline (16 events), plus what the allocator
    // keeps of freed memory: 6.6 to 18.5 MB of growth measured over runs.
    assert!(
        rss_after < rss_before + 24 * 1024,
        "memory stayed bounded: {rss_before} KiB → {rss_after} KiB"
    );
    // When the slow client finally reads, the stream ends: first whatever
    // the kernel buffered, then the close (4001) or a reset.
    let mut events_read = 0;
    let code = loop {
        match slow.next(Duration::from_secs(10)).await {
            Next::Frame(_) => events_read += 1,
            Next::Closed(frame) => break frame.map(|f| u16::from(f.code)),
            Next::TimedOut => panic!("slow client was not closed"),
        }
    };
    assert!(
        events_read < EVENTS,
        "the slow client did not get everything queued"
    );
    assert!(matches!(code, Some(4001) | None), "close code {code:?}");
    // And the fast client is still served.
    redis.publish("system_events", r#"{"type":"still-here"}"#);
    assert_eq!(
        fast.expect_type("event").await["event"]["type"],
        "still-here"
    );
}

/// CPU time the gateway process has used so far, in seconds.
fn cpu_seconds(gateway: &GatewayProcess) -> f64 {
    testkit::procstat::cpu_seconds(gateway.pid()).expect("the gateway's /proc/PID/stat")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_stalls_for_a_second_and_a_half_loses_nothing_and_drops_no_link() {
    let redis = RedisServer::start();
    let gateway = Gateway::start(&["serve", "--redis", &redis.url()]);
    gateway.wait_bus_up(Duration::from_secs(10)).await;
    let (mut client, _) = Client::connect_ready(&gateway.ws_url()).await;
    let publisher =
        tactical_link::bus::redis::RedisPublisher::connect(&redis.url(), "system_events")
            .await
            .unwrap();
    // A script that keeps Redis busy for 1.5 s: every other command waits.
    let stall = tokio::task::spawn_blocking({
        let url = redis.url();
        move || {
            let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
            let busy = "local t = redis.call('TIME') local start = t[1] * 1000000 + t[2] \
                        repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start > 1500000 \
                        return 1";
            let _: i64 = redis::cmd("EVAL")
                .arg(busy)
                .arg(0)
                .query(&mut conn)
                .unwrap();
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    publisher
        .publish_text(&stage_event(
            "stall",
            Stage::Radar,
            Status::Processing,
            "during the stall",
        ))
        .await
        .expect("a publish waits out a slow Redis (up to 5 s), it does not fail at 500 ms");
    assert!(
        started.elapsed() > Duration::from_millis(1000),
        "the publish really waited for the stall: {:?}",
        started.elapsed()
    );
    stall.await.unwrap();
    let frame = client.expect_type("event").await;
    assert_eq!(frame["event"]["detail"], "during the stall");
    assert_eq!(
        gateway.metric("tactical_link_bus_disconnects_total").await,
        0.0,
        "the gateway's link waited too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_larger_than_one_fragment_arrives_whole() {
    let redis = RedisServer::start();
    let gateway = Gateway::start(&["serve", "--redis", &redis.url()]);
    gateway.wait_bus_up(Duration::from_secs(10)).await;
    let publisher =
        tactical_link::bus::redis::RedisPublisher::connect(&redis.url(), "system_events")
            .await
            .unwrap();
    let detail = |i: usize| format!("{i:03} {}", "é".repeat(150));
    for i in 0..150 {
        publisher
            .publish_text(&stage_event(
                "big",
                Stage::ALL[i % 6],
                Status::Processing,
                &detail(i),
            ))
            .await
            .unwrap();
    }
    eventually(Duration::from_secs(10), "all relayed", async || {
        gateway.metric("tactical_link_events_relayed_total").await >= 150.0
    })
    .await;
    // Read the raw message: one text message, however it was framed.
    let (mut socket, _) = tokio_tungstenite::connect_async(gateway.ws_url())
        .await
        .unwrap();
    let mut texts = Vec::new();
    while texts.len() < 2 {
        match socket.next().await.unwrap().unwrap() {
            tokio_tungstenite::tungstenite::Message::Text(text) => texts.push(text.to_string()),
            _ => continue,
        }
    }
    let snapshot: serde_json::Value = serde_json::from_str(&texts[1]).unwrap();
    assert_eq!(snapshot["type"], "snapshot");
    assert!(
        texts[1].len() > 4 * 8192,
        "several 8 KiB fragments: {} bytes",
        texts[1].len()
    );
    let details: Vec<String> = snapshot["recent_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["detail"].as_str().unwrap().to_owned())
        .collect();
    let mut expected: Vec<String> = (0..150).map(detail).collect();
    if details.first() != expected.first() {
        expected.reverse();
    }
    assert_eq!(details, expected, "every event, intact, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_is_bounded_in_bytes_as_well_as_in_entries() {
    let redis = RedisServer::start();
    let url = redis.url();
    // 10,000 entries allowed, but only 1 MiB of events.
    let args = ["serve", "--redis", &url, "--history-bytes", "1048576"];
    let gateway = Gateway::start(&args);
    gateway.wait_bus_up(Duration::from_secs(10)).await;
    let pad = "x".repeat(60 * 1024);
    for i in 0..100 {
        let event = serde_json::json!({"type": "big", "seq": i, "pad": pad}).to_string();
        redis.publish("system_events", event);
    }
    eventually(Duration::from_secs(20), "100 events relayed", async || {
        gateway.metric("tactical_link_events_relayed_total").await >= 100.0
    })
    .await;
    let mut conn = redis.connection();
    let entries: usize = redis::cmd("XLEN")
        .arg("tactical-link:{system_events}:events")
        .query(&mut conn)
        .unwrap();
    // 1 MiB / 60 KiB is 17; trimming is by whole stream nodes, a few over.
    assert!(
        (17..=25).contains(&entries),
        "{entries} entries of 60 KiB kept for a 1 MiB bound"
    );
}
