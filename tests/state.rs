//! The gateway as the authority on each run's state, end to end with a real
//! redis-server: two gateways fold the same out-of-order events alike, a
//! stalled stage is shown and cleared, and a run's state survives a restart
//! of every gateway however short the stream is. The gateways serve from
//! this process.

use std::time::Duration;

use serde_json::Value;
use tactical_link::bus::redis::RedisPublisher;
use tactical_link::event::{Stage, StageEvent, Status};
use testkit::{Client, Gateway, RedisServer, Served, eventually};

const T0: i64 = 1_795_878_000_000;

async fn run_of(gateway: &impl Served, run_id: &str) -> Option<Value> {
    let response = reqwest::get(gateway.http(&format!("/api/runs/{run_id}")))
        .await
        .ok()?;
    (response.status() == 200).then_some(response.json().await.ok()?)
}

async fn relayed(gateway: &impl Served) -> f64 {
    gateway.metric("tactical_link_events_relayed_total").await
}

/// Waits until every gateway has relayed `count` events.
async fn all_relayed(gateways: &[&Gateway], count: usize) {
    for gateway in gateways {
        eventually(Duration::from_secs(20), "every event relayed", async || {
            relayed(*gateway).await >= count as f64
        })
        .await;
    }
}

/// The id of the newest event the stream recorded.
fn newest_recorded(redis: &RedisServer) -> String {
    let reply: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
        .arg("tactical-link:{system_events}:events")
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query(&mut redis.connection())
        .unwrap();
    reply.ids[0].id.clone()
}

fn stage(run: &str, stage: Stage, status: Status, at: i64) -> StageEvent {
    StageEvent::new(run, stage, status).at_ms(T0 + at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_fold_the_same_out_of_order_events_alike() {
    let redis = RedisServer::start();
    let args = ["serve", "--redis", &redis.url()];
    let (first, second) = (Gateway::start(&args), Gateway::start(&args));
    first.wait_bus_up(Duration::from_secs(15)).await;
    second.wait_bus_up(Duration::from_secs(15)).await;
    // Complete before processing, a retry, an old error of attempt 1 that
    // comes last, and one plain PUBLISH among durable ones.
    let events = [
        stage("ooo", Stage::Analyst, Status::Complete, 2_000).detail("31 leads"),
        stage("ooo", Stage::Analyst, Status::Processing, 1_000),
        stage("ooo", Stage::Radar, Status::Processing, 0),
        stage("ooo", Stage::Radar, Status::Error, 100).detail("feed timed out"),
        stage("ooo", Stage::Radar, Status::Processing, 300),
        stage("ooo", Stage::Radar, Status::Complete, 400),
        stage("ooo", Stage::Radar, Status::Error, 200).detail("late report of attempt 1"),
    ];
    let publisher = RedisPublisher::connect(&redis.url(), "system_events")
        .await
        .unwrap();
    for (n, event) in events.iter().enumerate() {
        if n == 3 {
            redis.publish("system_events", event.to_json());
        } else {
            publisher.publish_text(&event.to_json()).await.unwrap();
        }
    }
    all_relayed(&[&first, &second], events.len()).await;
    let (a, b) = (
        run_of(&first, "ooo").await.unwrap(),
        run_of(&second, "ooo").await.unwrap(),
    );
    assert_eq!(a, b, "both gateways hold the same state");
    let analyst = &a["stages"]["analyst"];
    assert_eq!(
        analyst["status"], "complete",
        "the late processing did not move it back"
    );
    assert_eq!(analyst["started_at"], "2026-11-28T15:00:01.000Z");
    assert_eq!(
        a["updated_at"], "2026-11-28T15:00:02.000Z",
        "updated_at never went back"
    );
    let radar = &a["stages"]["radar"];
    assert_eq!(
        (radar["status"].as_str(), radar["attempt"].as_u64()),
        (Some("complete"), Some(2))
    );
    assert_eq!(
        a["version"],
        newest_recorded(&redis),
        "the newest event's id"
    );
    assert!(first.metric("tactical_link_events_stale_total").await >= 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_past_its_deadline_is_shown_stalled_until_it_moves_on() {
    let gateway = Gateway::start(&["serve", "--stage-deadline", "analyst=1s"]);
    let (mut client, _) = Client::connect_ready(&gateway.ws_url()).await;
    let post = |event: StageEvent| {
        let url = gateway.http("/api/events");
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/json")
                .body(event.to_json())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 202);
        }
    };
    post(StageEvent::new("slow", Stage::Analyst, Status::Processing)).await;
    client.expect_type("event").await;
    // A `run` frame says the stage stalled, a second or so later.
    let stalled = client.expect_type("run").await;
    assert_eq!(stalled["run"]["stage"], "analyst");
    assert_eq!(stalled["run"]["state"]["stalled"], true);
    assert_eq!(stalled["run"]["stalled"], true);
    let run = run_of(&gateway, "slow").await.unwrap();
    assert_eq!(run["stages"]["analyst"]["stalled"], true);
    assert_eq!(gateway.metric("tactical_link_stages_stalled").await, 1.0);
    assert_eq!(gateway.metric("tactical_link_stalls_total").await, 1.0);
    post(StageEvent::new("slow", Stage::Analyst, Status::Complete)).await;
    let done = client.expect_type("event").await;
    assert_eq!(done["run"]["state"]["stalled"], false);
    assert_eq!(done["run"]["stalled"], false);
    eventually(Duration::from_secs(5), "the gauge back to 0", async || {
        gateway.metric("tactical_link_stages_stalled").await == 0.0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_keeps_its_exact_state_across_a_restart_whatever_the_stream_keeps() {
    let redis = RedisServer::start();
    let args = ["serve", "--redis", &redis.url(), "--history-size", "20"];
    let gateway = Gateway::start(&args);
    gateway.wait_bus_up(Duration::from_secs(15)).await;
    let publisher = RedisPublisher::connect(&redis.url(), "system_events")
        .await
        .unwrap();
    let run_a = [
        stage("run-a", Stage::Radar, Status::Processing, 0).detail("Scanning"),
        stage("run-a", Stage::Radar, Status::Complete, 500).detail("Found 48 leads"),
        stage("run-a", Stage::Analyst, Status::Processing, 600).detail("Scoring"),
    ];
    for event in &run_a {
        publisher.publish_text(&event.to_json()).await.unwrap();
    }
    // 500 events on ten other runs: the stream keeps about 20 of them.
    for n in 0..500 {
        let status = if n % 2 == 0 {
            Status::Processing
        } else {
            Status::Complete
        };
        let event = stage(
            &format!("other-{}", n % 10),
            Stage::ALL[n / 10 % 6],
            status,
            1_000 + n as i64,
        );
        publisher.publish_text(&event.to_json()).await.unwrap();
    }
    all_relayed(&[&gateway], 503).await;
    let before = run_of(&gateway, "run-a").await.unwrap();
    drop(gateway);
    let mut conn = redis.connection();
    let kept: usize = redis::cmd("XLEN")
        .arg("tactical-link:{system_events}:events")
        .query(&mut conn)
        .unwrap();
    assert!(kept < 200, "the stream keeps {kept} events, not run-a's");
    let restarted = Gateway::start(&args);
    restarted.wait_bus_up(Duration::from_secs(15)).await;
    let after = run_of(&restarted, "run-a").await.expect("run-a restored");
    assert_eq!(after, before);
    assert_eq!(after["stages"]["radar"]["status"], "complete");
    assert_eq!(
        after["stages"]["radar"]["started_at"],
        "2026-11-28T15:00:00.000Z"
    );
    assert_eq!(after["stages"]["analyst"]["detail"], "Scoring");
}
