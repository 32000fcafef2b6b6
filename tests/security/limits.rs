//! Limits that close only the offender: connections per user and per IP,
//! client frame rate, half-open handshakes.

use std::io::{Read, Write};
use std::time::Duration;

use futures_util::SinkExt;
use serde_json::json;
use testkit::{Client, Gateway, Served};
use tokio_tungstenite::tungstenite::Message;

use crate::{login, mint, secured, ws_with_headers};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_limit_closes_only_the_offender() {
    let gateway = secured(&[
        "--max-connections-per-user",
        "2",
        "--max-connections-per-ip",
        "6",
        "--client-message-rate",
        "5",
        "--client-message-burst",
        "5",
    ]);
    let alice = mint("alice", None, &["viewer"], 300);
    let bob = mint("bob", None, &["viewer"], 300);
    let url = gateway.ws_url();
    let (mut first, _) = login(&url, &alice).await;
    let (_second, _) = login(&url, &alice).await;
    let mut third = Client::connect(&url).await;
    third.expect_frame().await;
    third
        .send_text(&json!({"type": "auth", "token": alice}).to_string())
        .await;
    assert_eq!(
        third.expect_close(Duration::from_secs(5)).await,
        Some(1008),
        "per-user limit"
    );

    // A flood of client frames closes the flooder with 1008.
    let (mut flooder, _) = login(&url, &bob).await;
    for i in 0..40 {
        if flooder
            .socket
            .send(Message::text(format!(r#"{{"type":"ping","nonce":{i}}}"#)))
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(
        flooder.expect_close(Duration::from_secs(5)).await,
        Some(1008),
        "rate limit"
    );
    // Per-IP: six open sockets at most from 127.0.0.1.
    let mut held = Vec::new();
    let mut refused = None;
    for _ in 0..8 {
        match ws_with_headers(&url, &[]).await {
            Ok(client) => held.push(client),
            Err(status) => {
                refused = Some(status);
                break;
            }
        }
    }
    assert_eq!(refused, Some(429), "per-IP limit");
    drop(held);
    // The first client never noticed any of it.
    first.send_text(r#"{"type":"ping","nonce":"still"}"#).await;
    assert_eq!(first.expect_type("pong").await["nonce"], "still");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_handshakes_are_dropped_and_block_no_one() {
    let gateway = Gateway::start(&["serve", "--handshake-timeout", "1"]);
    let mut half_open = Vec::new();
    for _ in 0..50 {
        let mut stream = std::net::TcpStream::connect(gateway.addr).unwrap();
        stream
            .write_all(b"GET /dashboard/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
            .unwrap();
        half_open.push(stream);
    }
    // Meanwhile a real client is served at once.
    let (mut client, _) = Client::connect_ready(&gateway.ws_url()).await;
    client.send_text(r#"{"type":"ping","nonce":"ok"}"#).await;
    assert_eq!(client.expect_type("pong").await["nonce"], "ok");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for mut stream in half_open {
        stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        let mut buffer = Vec::new();
        // The server gave up on it: the read ends (EOF or a 408 then EOF).
        assert!(
            stream.read_to_end(&mut buffer).is_ok(),
            "half-open connection was closed by the server"
        );
    }
}
