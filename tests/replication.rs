//! Durable publishes that wait for replicas (`--redis-wait-replicas`):
//! with the replica stopped, a publish is recorded on the primary but
//! reported `not_replicated` with its id, by the publisher and by
//! `POST /api/events`; with the replica back, publishes succeed, and what
//! succeeded is on the replica.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tactical_link::bus::PublishError;
use tactical_link::bus::redis::publisher::Replication;
use tactical_link::bus::redis::{Keys, RedisPublisher};
use testkit::{Gateway, Minter, RedisServer, Served, TempDir};

const CHANNEL: &str = "replication_events";
const SECRET: &str = "replication-test-secret-of-32-bytes!";

/// Stops (`STOP`) or resumes (`CONT`) a process.
fn signal(server: &RedisServer, name: &str) {
    let pid = server.pid().unwrap().to_string();
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid])
        .status();
    assert!(status.unwrap().success(), "kill -{name} {pid}");
}

fn stream_len(server: &RedisServer) -> usize {
    let stream = Keys::for_channel(CHANNEL).stream;
    redis::cmd("XLEN")
        .arg(stream)
        .query(&mut server.connection())
        .unwrap()
}

fn event(n: usize) -> String {
    format!(r#"{{"type":"replicated","n":{n}}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_succeeds_only_once_a_replica_holds_it() {
    let (primary, replica) = testkit::redis::primary_and_replica().unwrap();
    let wait = Replication {
        replicas: 1,
        timeout: Duration::from_secs(2),
    };
    let publisher = RedisPublisher::connect(&primary.url(), CHANNEL)
        .await
        .unwrap()
        .with_replication(wait);
    for n in 0..20 {
        publisher.publish_text(&event(n)).await.unwrap();
    }
    // Every publish that succeeded is on the replica the moment it did.
    assert_eq!(stream_len(&replica), 20);

    signal(&replica, "STOP");
    let refused = publisher.publish_text(&event(20)).await;
    signal(&replica, "CONT");
    let Err(PublishError::NotReplicated { id, acked, wanted }) = refused else {
        panic!("a stopped replica cannot confirm: {refused:?}");
    };
    assert_eq!((acked, wanted), (0, 1));
    // Recorded on the primary all the same, under the id it was given.
    assert_eq!(stream_len(&primary), 21);
    let last: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
        .arg(Keys::for_channel(CHANNEL).stream)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query(&mut primary.connection())
        .unwrap();
    assert_eq!(last[0].0, id.to_string());

    // The replica back, publishes succeed again, and catch it up.
    publisher.publish_text(&event(21)).await.unwrap();
    assert_eq!(stream_len(&replica), 22);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_api_says_not_replicated_with_the_id() {
    let (primary, replica) = testkit::redis::primary_and_replica().unwrap();
    let dir = TempDir::new("tl-replication").unwrap();
    let secret = dir.join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    let url = primary.url();
    let gateway = Gateway::start(&[
        "serve",
        "--redis",
        &url,
        "--channel",
        CHANNEL,
        "--jwt-secret-file",
        secret.to_str().unwrap(),
        "--redis-wait-replicas",
        "1",
        "--redis-wait-timeout",
        "2",
    ]);
    let token = Minter::new(SECRET)
        .mint("svc", None, &["publisher"], Duration::from_secs(300))
        .unwrap();
    let (status, body) = post(&gateway, &token, &event(1)).await;
    assert_eq!(status, 202, "{body}");

    signal(&replica, "STOP");
    let (status, body) = post(&gateway, &token, &event(2)).await;
    signal(&replica, "CONT");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "not_replicated");
    assert!(
        body["id"].as_str().is_some_and(|id| id.contains('-')),
        "{body}"
    );
}

async fn post(gateway: &Gateway, token: &str, body: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(gateway.http("/api/events"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .bearer_auth(token)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[test]
fn the_wait_is_bounded_below_the_command_timeout() {
    use clap::Parser;
    use tactical_link::cli::{Cli, Command as Sub};
    let parse = |timeout: &str| {
        let cli = Cli::try_parse_from([
            "tactical-link",
            "publish",
            "--json",
            "{}",
            "--redis-wait-replicas",
            "1",
            "--redis-wait-timeout",
            timeout,
        ])
        .unwrap();
        let Sub::Publish(args) = cli.command else {
            panic!("publish");
        };
        args.replication.replication()
    };
    assert_eq!(parse("0.5").unwrap().timeout, Duration::from_millis(500));
    let refused = parse("10").unwrap_err().to_string();
    assert!(refused.contains("--redis-wait-timeout"), "{refused}");
}
