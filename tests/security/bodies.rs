//! Bodies and requests a hostile client holds: `POST /api/events` checks the
//! token before reading a byte of the body, reads at most the event size
//! limit, within a deadline; requests in flight are bounded per address;
//! failed authentications are throttled per address.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use testkit::Served;

use crate::{mint, post_event, secured};

/// Sends `head` (request line and headers) and `body` on a raw socket, then
/// waits for the status line; returns the status and how long it took.
fn raw_request(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> (u16, Duration) {
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let started = Instant::now();
    socket.write_all(head.as_bytes()).unwrap();
    socket.write_all(body).unwrap();
    let mut answer = [0u8; 64];
    let read = socket.read(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer[..read]).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, started.elapsed())
}

fn post_head(length: usize, token: Option<&str>) -> String {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!(
        "POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{auth}Content-Length: {length}\r\n\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_is_read_only_after_its_token_only_up_to_the_limit_and_only_so_long() {
    let gateway = secured(&["--max-event-bytes", "2048"]);
    let addr = gateway.addr();
    let publisher = mint("svc", None, &["publisher"], 300);
    // No token, a 2 MB body announced and never sent: refused at once.
    let (status, took) =
        tokio::task::spawn_blocking(move || raw_request(addr, &post_head(2_000_000, None), b"{"))
            .await
            .unwrap();
    assert_eq!(status, 401);
    assert!(
        took < Duration::from_secs(2),
        "answered before any body: {took:?}"
    );
    // A token, but more than the event limit announced: 413 at once.
    let token = publisher.clone();
    let (status, _) = tokio::task::spawn_blocking(move || {
        raw_request(addr, &post_head(5_000, Some(&token)), b"")
    })
    .await
    .unwrap();
    assert_eq!(status, 413);
    // A token, 1,000 bytes announced, 10 sent, then nothing: 408 after the
    // deadline (2 s + 1 s per 8 KiB announced).
    let token = publisher.clone();
    let (status, took) = tokio::task::spawn_blocking(move || {
        raw_request(addr, &post_head(1_000, Some(&token)), br#"{"type":"#)
    })
    .await
    .unwrap();
    assert_eq!(status, 408);
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "{took:?}"
    );
    // And a real event still goes through.
    let (status, _) = post_event(&gateway, Some(&publisher), r#"{"type":"still-fine"}"#).await;
    assert_eq!(status, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_are_bounded_per_address() {
    let gateway = secured(&["--max-requests-per-ip", "3"]);
    let addr = gateway.addr();
    let publisher = mint("svc", None, &["publisher"], 300);
    // Three requests stall in their bodies and hold their places...
    let mut stalled = Vec::new();
    for _ in 0..3 {
        let mut socket = TcpStream::connect(addr).unwrap();
        socket
            .write_all(post_head(1_000, Some(&publisher)).as_bytes())
            .unwrap();
        socket.write_all(b"{").unwrap();
        stalled.push(socket);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ...so a fourth from the same address is refused, whatever it is.
    let status = reqwest::get(gateway.http("/api/status"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 429);
    drop(stalled);
    testkit::eventually(
        Duration::from_secs(10),
        "the places are released",
        async || {
            reqwest::get(gateway.http("/api/status"))
                .await
                .unwrap()
                .status()
                == 200
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_that_fails_to_authenticate_too_often_is_throttled() {
    let gateway = secured(&["--auth-failures-per-minute", "3"]);
    let good = mint("alice", None, &["viewer"], 300);
    let runs = |token: String| {
        let url = gateway.http("/api/runs");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..3 {
        assert_eq!(runs("not-a-token".into()).await.status(), 401);
    }
    let refused = runs(good.clone()).await;
    assert_eq!(
        refused.status(),
        429,
        "even a good token, from this address, for now"
    );
    assert_eq!(refused.headers()["retry-after"], "60");
    assert_eq!(
        gateway.metric("tactical_link_auth_throttled_total").await,
        1.0
    );
    assert!(gateway.metric("tactical_link_auth_failures_total").await >= 3.0);
}
