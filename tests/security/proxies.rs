//! The client's address behind a load balancer, over real sockets: a
//! PROXY header (v2 or v1) from a trusted peer makes its address the
//! client's for the failed-authentication throttle and the per-address
//! connection limit; a peer that is not trusted is refused, or served as
//! itself with its header unread; a trusted peer without a valid header is
//! closed within the bound; `X-Forwarded-For` and `Forwarded` from a
//! trusted proxy name the client by their right-most untrusted entry, and
//! from anyone else name nobody; and through a real HAProxy on the shipped
//! deploy/haproxy.cfg (send-proxy-v2), two clients are throttled apart.
//!
//! Loopback is a whole /8 on Linux: a test connects from 127.0.0.2 to be
//! the load balancer and from 127.0.0.1 to be anyone else. The client
//! addresses the headers carry are documentation addresses; no packet goes
//! to them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde_json::json;
use testkit::{Client, HaProxy, Served};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite;

use crate::{mint, secured};

/// The load balancer's address in these tests.
const BALANCER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// Anyone else's.
const ANYONE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Two clients behind the load balancer.
const CLIENT_A: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 7);
const CLIENT_B: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 8);
/// Failed authentications an address may make in a minute (the default).
const FAILURES: usize = 20;

const PROXY_PROTOCOL: [&str; 3] = ["--proxy-protocol", "--trusted-proxies", "127.0.0.2/32"];

fn flags<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(extra).copied().collect()
}

fn viewer() -> String {
    mint("alice", None, &["viewer"], 300)
}

/// A PROXY protocol v2 header for a TCP connection from `client`, written
/// byte by byte as the specification lays it out.
fn proxy_v2(client: Ipv4Addr) -> Vec<u8> {
    let mut header = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    header.extend([0x21, 0x11, 0, 12]);
    header.extend(client.octets());
    header.extend([192, 0, 2, 1]);
    header.extend(4711u16.to_be_bytes());
    header.extend(8000u16.to_be_bytes());
    header
}

/// The v2 header of a connection the proxy makes for itself (a health
/// check): `LOCAL`, no address.
fn proxy_v2_local() -> Vec<u8> {
    let mut header = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    header.extend([0x20, 0x00, 0, 0]);
    header
}

async fn connect_from(local: IpAddr, gateway: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(local, 0)).unwrap();
    socket.connect(gateway).await.unwrap()
}

/// `GET path` with a bearer token, from `local`, after `preamble`: the
/// status, or `None` when the gateway closed the connection unanswered.
async fn get_from(
    local: IpAddr,
    gateway: SocketAddr,
    preamble: &[u8],
    path: &str,
    token: &str,
) -> Option<u16> {
    let mut stream = connect_from(local, gateway).await;
    let mut request = preamble.to_vec();
    request.extend(
        format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
             Connection: close\r\n\r\n"
        )
        .bytes(),
    );
    if stream.write_all(&request).await.is_err() {
        return None;
    }
    let answer = read_until_closed(stream, Duration::from_secs(10)).await;
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// Everything the gateway sends until it closes, which it must within
/// `limit` (a reset counts as a close).
async fn read_until_closed(mut stream: TcpStream, limit: Duration) -> Vec<u8> {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "the connection was still open after {limit:?}"
    );
    answer
}

/// A WebSocket through the load balancer for `client`: the HTTP status
/// when the upgrade is refused.
async fn ws_for(gateway: SocketAddr, client: Ipv4Addr) -> Result<Client, u16> {
    let mut stream = connect_from(BALANCER, gateway).await;
    stream.write_all(&proxy_v2(client)).await.unwrap();
    let url = format!("ws://{gateway}/dashboard/ws");
    match tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)).await {
        Ok((socket, _)) => Ok(Client { socket }),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

/// Sends an `auth` frame with `token` after the welcome; the frame or
/// close that answers it.
async fn authenticate(client: &mut Client, token: &str) -> Result<String, Option<u16>> {
    assert_eq!(client.expect_frame().await["auth"], "required");
    client
        .send_text(&json!({"type": "auth", "token": token}).to_string())
        .await;
    match client.next(Duration::from_secs(10)).await {
        testkit::Next::Frame(frame) => Ok(frame["type"].as_str().unwrap_or("").to_owned()),
        testkit::Next::Closed(frame) => Err(frame.map(|f| u16::from(f.code))),
        testkit::Next::TimedOut => panic!("no answer to the auth frame"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_header_makes_its_address_the_client_of_every_limit() {
    let base = flags(&PROXY_PROTOCOL, &["--max-connections-per-ip", "2"]);
    let gateway = secured(&flags(&base, &["--auth-timeout", "30"]));
    let at = gateway.addr;
    let token = viewer();
    for _ in 0..FAILURES {
        let status = get_from(BALANCER, at, &proxy_v2(CLIENT_A), "/api/runs", "bad").await;
        assert_eq!(status, Some(401));
    }
    // A is throttled, whatever it sends, over HTTP and the WebSocket...
    let a = get_from(BALANCER, at, &proxy_v2(CLIENT_A), "/api/runs", &token).await;
    assert_eq!(a, Some(429), "A failed too often");
    let mut socket = ws_for(at, CLIENT_A).await.unwrap();
    assert_eq!(authenticate(&mut socket, &token).await, Err(Some(4013)));
    // ...while B, through the same proxy, is not: in v2 or in v1.
    let b = get_from(BALANCER, at, &proxy_v2(CLIENT_B), "/api/runs", &token).await;
    assert_eq!(b, Some(200), "B is not A");
    let v1 = format!("PROXY TCP4 {CLIENT_B} 192.0.2.1 4711 8000\r\n");
    let b = get_from(BALANCER, at, v1.as_bytes(), "/api/runs", &token).await;
    assert_eq!(b, Some(200), "a v1 header");
    let mut socket = ws_for(at, CLIENT_B).await.unwrap();
    assert_eq!(
        authenticate(&mut socket, &token).await,
        Ok("authenticated".into())
    );
    drop(socket);
    // The proxy's own connection (a health check) is the proxy's, not A's.
    let local = get_from(BALANCER, at, &proxy_v2_local(), "/api/runs", &token).await;
    assert_eq!(local, Some(200), "LOCAL: the proxy itself");

    // Connections per address: two for A are its cap; B still gets in.
    let held = [ws_for(at, CLIENT_A).await, ws_for(at, CLIENT_A).await];
    assert!(held.iter().all(Result::is_ok), "two for A");
    assert_eq!(ws_for(at, CLIENT_A).await.err(), Some(429), "a third for A");
    assert!(ws_for(at, CLIENT_B).await.is_ok(), "B has its own count");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_is_no_trusted_proxy_is_refused_or_served_as_itself() {
    let metrics = ["--metrics-listen", "127.0.0.1:0"];
    let strict = secured(&flags(&PROXY_PROTOCOL, &metrics));
    let token = viewer();
    let header_a = proxy_v2(CLIENT_A);
    let with_header = get_from(ANYONE, strict.addr, &header_a, "/api/runs", &token).await;
    assert_eq!(with_header, None, "its header is not read");
    let plain = get_from(ANYONE, strict.addr, b"", "/api/runs", &token).await;
    assert_eq!(plain, None, "nor is it served without one");
    let refusals = strict.metric("tactical_link_proxy_refusals_total").await;
    assert_eq!(refusals, 2.0);

    let allow_direct = ["--proxy-protocol-allow-direct"];
    let lenient = secured(&flags(&PROXY_PROTOCOL, &allow_direct));
    let at = lenient.addr;
    let with_header = get_from(ANYONE, at, &proxy_v2(CLIENT_A), "/api/runs", &token).await;
    assert_eq!(with_header, Some(400), "its header is not read: bad HTTP");
    for _ in 0..FAILURES {
        assert_eq!(
            get_from(ANYONE, at, b"", "/api/runs", "bad").await,
            Some(401)
        );
    }
    let itself = get_from(ANYONE, at, b"", "/api/runs", &token).await;
    assert_eq!(
        itself,
        Some(429),
        "its failures count against its own address"
    );
    let a = get_from(BALANCER, at, &proxy_v2(CLIENT_A), "/api/runs", &token).await;
    assert_eq!(a, Some(200), "and against no one else's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_peer_without_a_valid_header_is_closed_within_the_bound() {
    // A deadline far past the wait below: these are refused on their bytes.
    let extra = [
        "--handshake-timeout",
        "60",
        "--metrics-listen",
        "127.0.0.1:0",
    ];
    let gateway = secured(&flags(&PROXY_PROTOCOL, &extra));
    let mut version_3 = proxy_v2(CLIENT_A);
    version_3[12] = 0x31;
    let mut announces_60k = proxy_v2(CLIENT_A)[..14].to_vec();
    announces_60k.extend(60_000u16.to_be_bytes());
    let cases: [(&str, Vec<u8>); 4] = [
        (
            "no header",
            b"GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
        ("a v2 header of version 3", version_3),
        (
            "a v1 line without ports",
            b"PROXY TCP4 203.0.113.7 192.0.2.1\r\n".to_vec(),
        ),
        ("a v2 header announcing 60 kB", announces_60k),
    ];
    for (what, bytes) in &cases {
        let mut stream = connect_from(BALANCER, gateway.addr).await;
        stream.write_all(bytes).await.unwrap();
        let answer = read_until_closed(stream, Duration::from_secs(20)).await;
        assert!(answer.is_empty(), "{what}: {answer:?}");
    }
    let refusals = gateway.metric("tactical_link_proxy_refusals_total").await;
    assert_eq!(refusals, cases.len() as f64);

    // A header that never completes is closed at the deadline.
    let quick = secured(&flags(&PROXY_PROTOCOL, &["--handshake-timeout", "1"]));
    let mut stream = connect_from(BALANCER, quick.addr).await;
    stream.write_all(&proxy_v2(CLIENT_A)[..20]).await.unwrap();
    let answer = read_until_closed(stream, Duration::from_secs(10)).await;
    assert!(answer.is_empty(), "{answer:?}");
    // And the same peer with a whole header is served, its request sent
    // after the header in a write of its own.
    let mut stream = connect_from(BALANCER, quick.addr).await;
    stream.write_all(&proxy_v2(CLIENT_A)).await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = read_until_closed(stream, Duration::from_secs(10)).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

/// `GET /api/runs` with a token and `headers`: the status.
async fn runs_status(gateway: SocketAddr, headers: &[(&str, &str)], token: &str) -> u16 {
    let mut request = reqwest::Client::new()
        .get(format!("http://{gateway}/api/runs"))
        .bearer_auth(token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_move_the_limit_only_from_a_trusted_proxy() {
    let token = viewer();
    // The test's HTTP client (127.0.0.1) is the HTTP-mode load balancer.
    let trusted = secured(&["--trusted-proxies", "127.0.0.1/32"]);
    for i in 0..FAILURES {
        // Whatever A writes on the left, the proxy appended A on the right.
        let spoofed = format!("198.51.100.{i}, {CLIENT_A}");
        let status = runs_status(trusted.addr, &[("x-forwarded-for", &spoofed)], "bad").await;
        assert_eq!(status, 401);
    }
    let a_as_b = format!("{CLIENT_B}, {CLIENT_A}");
    let status = runs_status(trusted.addr, &[("x-forwarded-for", &a_as_b)], &token).await;
    assert_eq!(status, 429, "A named B on the left");
    let b = [("x-forwarded-for", "203.0.113.8")];
    assert_eq!(
        runs_status(trusted.addr, &b, &token).await,
        200,
        "B is not A"
    );
    assert_eq!(
        runs_status(trusted.addr, &[], &token).await,
        200,
        "nor the proxy"
    );

    // The same headers from a peer that is not trusted move nothing.
    let untrusted = secured(&["--trusted-proxies", "127.0.0.2/32"]);
    for i in 0..FAILURES {
        let a = format!("{CLIENT_A}, 198.51.100.{i}");
        let status = runs_status(untrusted.addr, &[("x-forwarded-for", &a)], "bad").await;
        assert_eq!(status, 401);
    }
    let status = runs_status(untrusted.addr, &b, &token).await;
    assert_eq!(status, 429, "every failure counted against the peer itself");

    // RFC 7239's header, when the operator names it.
    let forwarded = secured(&[
        "--trusted-proxies",
        "127.0.0.1/32",
        "--forwarded-header",
        "forwarded",
    ]);
    let a = [("forwarded", r#"for="[2001:db8::7]:4711";proto=http"#)];
    for _ in 0..FAILURES {
        assert_eq!(runs_status(forwarded.addr, &a, "bad").await, 401);
    }
    assert_eq!(runs_status(forwarded.addr, &a, &token).await, 429);
    let b = [
        ("forwarded", "for=203.0.113.8"),
        ("x-forwarded-for", "2001:db8::7"),
    ];
    assert_eq!(
        runs_status(forwarded.addr, &b, &token).await,
        200,
        "the other header is not read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_haproxy_two_clients_are_throttled_apart() {
    // HAProxy on this host is the one trusted proxy; clients connect to it
    // from addresses of their own.
    let flags = ["--proxy-protocol", "--trusted-proxies", "127.0.0.1/32"];
    let gateway = secured(&[&flags[..], &["--metrics-listen", "127.0.0.1:0"]].concat());
    // Every server line of the shipped file on this one gateway: its
    // throttle sees every request.
    let proxy = HaProxy::start(&[gateway.addr; 3]);
    proxy.wait_states(&[("gw1", "UP"), ("gw2", "UP"), ("gw3", "UP")]);
    let from = |last: u8| {
        reqwest::Client::builder()
            .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
            .build()
            .unwrap()
    };
    let (attacker, neighbour) = (from(5), from(6));
    let token = viewer();
    let status = |client: &reqwest::Client, token: &str| {
        let request = client
            .get(proxy.http("/api/runs"))
            .bearer_auth(token)
            .send();
        async move { request.await.unwrap().status().as_u16() }
    };
    for _ in 0..FAILURES {
        assert_eq!(status(&attacker, "bad").await, 401);
    }
    assert_eq!(
        status(&attacker, &token).await,
        429,
        "the attacker is throttled"
    );
    assert_eq!(
        status(&neighbour, &token).await,
        200,
        "its neighbour is not"
    );
    let refusals = gateway.metric("tactical_link_proxy_refusals_total").await;
    assert_eq!(
        refusals, 0.0,
        "every connection from HAProxy, checks too, had a header"
    );
    assert!(gateway.metric("tactical_link_auth_throttled_total").await >= 1.0);
}
