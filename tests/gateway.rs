//! The gateway on its in-process bus: the WebSocket protocol, client
//! faults, heartbeats, shutdown, the demo, HTTP endpoints, configuration.
//! The demo, SIGTERM and bad flags run the binary; the rest serve from
//! this process.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use testkit::{Client, Gateway, GatewayProcess, Next, Served};
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_tactical-link");

#[tokio::test]
async fn the_demo_shows_simulated_runs_moving_through_the_stages() {
    let gateway = GatewayProcess::start(BIN, &["demo", "--speed", "20", "--seed", "3"]);
    let (mut client, snapshot) = Client::connect_ready(&gateway.ws_url()).await;
    assert_eq!(snapshot["bus"]["kind"], "memory");
    assert_eq!(snapshot["bus"]["state"], "up");
    let mut stages_seen = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while stages_seen.len() < 6 && Instant::now() < deadline {
        let frame = client.expect_type("event").await;
        assert_eq!(frame["event"]["type"], "pipeline.stage");
        stages_seen.insert(frame["pipeline"]["stage"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        stages_seen.len(),
        6,
        "events for every stage: {stages_seen:?}"
    );
    // A client that connects now gets the state so far, not an empty page.
    let (_, later) = Client::connect_ready(&gateway.ws_url()).await;
    assert!(!later["runs"].as_array().unwrap().is_empty());
    assert!(!later["recent_events"].as_array().unwrap().is_empty());
    let run = &later["runs"][0];
    for stage in [
        "radar", "analyst", "advisor", "actuator", "quality", "report",
    ] {
        assert!(run["stages"][stage]["status"].is_string(), "{run}");
    }
}

#[tokio::test]
async fn client_frames_are_answered_or_refused_with_the_right_code() {
    let gateway = Gateway::start(&["serve", "--max-client-frame-bytes", "1024"]);
    let (mut client, _) = Client::connect_ready(&gateway.ws_url()).await;
    client.send_text(r#"{"type":"ping","nonce":"n-1"}"#).await;
    let pong = client.expect_type("pong").await;
    assert_eq!(pong["nonce"], "n-1");
    client.send_text("this is not json").await;
    let error = client.expect_type("error").await;
    assert_eq!(error["code"], "bad_frame");
    client.send_text(r#"{"type":"launch-missiles"}"#).await;
    assert!(
        client.expect_type("error").await["message"]
            .as_str()
            .unwrap()
            .contains("launch-missiles")
    );
    // Still connected and served after bad frames.
    client.send_text(r#"{"type":"ping","nonce":2}"#).await;
    assert_eq!(client.expect_type("pong").await["nonce"], 2);

    let (mut binary, _) = Client::connect_ready(&gateway.ws_url()).await;
    binary
        .socket
        .send(Message::binary(vec![0u8, 1, 2]))
        .await
        .unwrap();
    assert_eq!(
        binary.expect_close(Duration::from_secs(5)).await,
        Some(1003)
    );

    let (mut big, _) = Client::connect_ready(&gateway.ws_url()).await;
    big.send_text(&format!(
        r#"{{"type":"ping","nonce":"{}"}}"#,
        "x".repeat(4096)
    ))
    .await;
    assert_eq!(big.expect_close(Duration::from_secs(5)).await, Some(1009));

    // The first client never noticed.
    client.send_text(r#"{"type":"ping","nonce":3}"#).await;
    assert_eq!(client.expect_type("pong").await["nonce"], 3);
    assert!(
        gateway
            .metric("tactical_link_client_frames_rejected_total")
            .await
            >= 3.0
    );
}

#[tokio::test]
async fn a_peer_that_answers_nothing_is_dropped_by_the_heartbeat() {
    let gateway = Gateway::start(&["serve", "--heartbeat", "0.5"]);
    // A raw TCP client: completes the upgrade, then never reads or answers.
    let mut raw = std::net::TcpStream::connect(gateway.addr).unwrap();
    write!(
        raw,
        "GET /dashboard/ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        gateway.addr
    )
    .unwrap();
    let mut head = [0u8; 12];
    raw.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 101");
    // A live client next to it keeps reading, so it answers every ping
    // (tungstenite replies whenever it reads).
    let (mut live, _) = Client::connect_ready(&gateway.ws_url()).await;
    let reader = tokio::spawn(async move {
        let next = live.next(Duration::from_secs(4)).await;
        (live, next)
    });
    testkit::eventually(Duration::from_secs(5), "silent peer dropped", async || {
        gateway
            .metric("tactical_link_heartbeat_timeouts_total")
            .await
            >= 1.0
    })
    .await;
    let (_live, next) = reader.await.unwrap();
    assert!(
        matches!(next, Next::TimedOut),
        "the live client was kept: {next:?}"
    );
    assert_eq!(gateway.metric("tactical_link_connections_open").await, 1.0);
    // The silent peer's socket was closed by the server.
    raw.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut rest = Vec::new();
    assert!(
        raw.read_to_end(&mut rest).is_ok(),
        "server closed the silent connection"
    );
}

#[tokio::test]
async fn sigterm_closes_every_client_with_1001_and_exits_quickly() {
    let mut gateway = GatewayProcess::start(BIN, &["demo", "--speed", "5"]);
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(Client::connect_ready(&gateway.ws_url()).await.0);
    }
    let started = Instant::now();
    let status = gateway
        .terminate(Duration::from_secs(5))
        .expect("exited within 5 s");
    assert!(status.success(), "clean exit: {status:?}");
    println!("shutdown with 20 clients took {:?}", started.elapsed());
    for client in &mut clients {
        assert_eq!(
            client.expect_close(Duration::from_secs(2)).await,
            Some(1001)
        );
    }
}

#[tokio::test]
async fn http_endpoints_report_health_readiness_status_and_metrics() {
    let gateway = Gateway::start(&["serve"]);
    let health = reqwest::get(gateway.http("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = reqwest::get(gateway.http("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200, "the in-process bus is always up");
    let status: serde_json::Value = reqwest::get(gateway.http("/api/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["protocol"], 2);
    assert_eq!(status["bus"]["kind"], "memory");
    assert!(
        status["server"]
            .as_str()
            .unwrap()
            .starts_with("tactical-link/")
    );
    let metrics = reqwest::get(gateway.http("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("# TYPE tactical_link_events_relayed counter"));
    let index = reqwest::get(gateway.http("/")).await.unwrap();
    assert_eq!(index.status(), 200);
    assert!(
        index.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let missing = reqwest::get(gateway.http("/assets/nope.js")).await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[test]
fn a_bad_flag_exits_64_before_binding_anything() {
    for args in [
        vec!["serve", "--redis", "http://not-redis"],
        vec!["serve", "--heartbeat", "0"],
        vec!["serve", "--listen", "not-an-address"],
        vec!["serve", "--listen", "0.0.0.0:0"],
        vec!["serve", "--jwt-secret-file", "/nonexistent/secret"],
        vec!["simulate", "--error-rate", "2"],
    ] {
        let output = std::process::Command::new(BIN)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(64), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let flag = args[1].trim_start_matches("--");
        assert!(
            stderr.contains(flag),
            "{args:?}: the message names the flag: {stderr}"
        );
    }
}

/// One example of docs/event-examples.json: its text, what the gateway
/// must answer (`None`: accept; `Some(reason)`: refuse), and whether the
/// schema is known to answer otherwise.
struct Example {
    text: String,
    refusal: Option<String>,
    schema_disagrees: bool,
}

fn event_examples() -> Vec<Example> {
    let file: serde_json::Value =
        serde_json::from_str(include_str!("../docs/event-examples.json")).unwrap();
    let mut examples = Vec::new();
    for (list, valid) in [("valid", true), ("invalid", false)] {
        for example in file[list].as_array().unwrap() {
            let text = match (&example["text"], &example["event"]) {
                (serde_json::Value::String(text), _) => text.clone(),
                (_, event) => serde_json::to_string(event).unwrap(),
            };
            let refusal = example["reason"].as_str().map(str::to_owned);
            assert_eq!(
                refusal.is_none(),
                valid,
                "{text}: a reason for each invalid one"
            );
            let schema_disagrees = example.get("schema_disagrees").is_some();
            examples.push(Example {
                text,
                refusal,
                schema_disagrees,
            });
        }
    }
    examples
}

#[test]
fn the_event_schema_and_the_gateway_agree_on_every_shared_example() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../docs/event.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let examples = event_examples();
    assert!(examples.len() > 40, "the examples file was read");
    for example in examples {
        let text = &example.text;
        let gateway = tactical_link::event::parse_event(text.as_bytes(), 65536);
        assert_eq!(
            gateway.as_ref().err().map(|r| r.reason()),
            example.refusal.as_deref(),
            "the gateway's answer to {text}"
        );
        // A text that is not JSON is beyond any schema.
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
            assert_eq!(
                validator.is_valid(&value),
                example.refusal.is_none() != example.schema_disagrees,
                "the schema's answer to {text}"
            );
        }
    }
    // What the gateway's own builder writes is valid too.
    let built = tactical_link::event::StageEvent::new(
        "run-1",
        tactical_link::event::Stage::Quality,
        tactical_link::event::Status::Complete,
    )
    .detail("All checks passed")
    .source("quality")
    .tenant("acme")
    .to_json();
    assert!(validator.is_valid(&serde_json::from_str(&built).unwrap()));
    assert!(tactical_link::event::parse_event(built.as_bytes(), 65536).is_ok());
}
