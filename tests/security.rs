//! Security end to end: authentication, tenant isolation, origins, limits,
//! hostile clients, HTTP publishing and TLS, against the gateway serving
//! from this process; the binary where a test reads its log or its exit
//! code.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{Value, json};
use testkit::{Client, Gateway, GatewayProcess, Minter, Next, Served, TempDir, eventually};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

const BIN: &str = env!("CARGO_BIN_EXE_tactical-link");

const SECRET: &str = "a-test-secret-that-is-longer-than-32-bytes";

/// A directory for a test's keys, certificates and lists.
fn temp_dir() -> TempDir {
    TempDir::new("tl-security").unwrap()
}

/// The secret's file, with a trailing newline as editors leave it.
fn secret_file(dir: &TempDir) -> PathBuf {
    dir.write("secret", format!("{SECRET}\n")).unwrap()
}

fn mint(sub: &str, tenant: Option<&str>, roles: &[&str], ttl_s: u64) -> String {
    Minter::new(SECRET)
        .issuer("tl-tests")
        .audience("dashboard")
        .mint(sub, tenant, roles, Duration::from_secs(ttl_s))
        .unwrap()
}

fn now_s() -> i64 {
    tactical_link::clock::now_ms() / 1000
}

fn sign(claims: Value, header: jsonwebtoken::Header, key: &jsonwebtoken::EncodingKey) -> String {
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

/// The flags of a gateway with HS256 authentication on, its secret in a
/// file in `dir`.
fn secured_flags(dir: &TempDir, extra: &[&str]) -> Vec<String> {
    let secret = secret_file(dir);
    let mut args: Vec<String> = vec![
        "serve".into(),
        "--jwt-secret-file".into(),
        secret.to_str().unwrap().into(),
        "--jwt-issuer".into(),
        "tl-tests".into(),
        "--jwt-audience".into(),
        "dashboard".into(),
    ];
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args
}

/// A gateway with HS256 authentication on (it reads the secret at start).
fn secured(extra: &[&str]) -> Gateway {
    let dir = temp_dir();
    let flags = secured_flags(&dir, extra);
    Gateway::start(&flags.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Opens a WebSocket with extra headers; the HTTP status on refusal.
async fn ws_with_headers(url: &str, headers: &[(&str, &str)]) -> Result<Client, u16> {
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(Client { socket }),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

/// Connects, authenticates in the first frame, and reads up to the start
/// frame (snapshot or resumed).
async fn login(url: &str, token: &str) -> (Client, Value) {
    let mut client = Client::connect(url).await;
    let welcome = client.expect_frame().await;
    assert_eq!(welcome["auth"], "required");
    client
        .send_text(&json!({"type": "auth", "token": token}).to_string())
        .await;
    let authenticated = client.expect_frame().await;
    assert_eq!(authenticated["type"], "authenticated", "{authenticated}");
    let start = client.expect_frame().await;
    (client, start)
}

/// POST /api/events with a token; the status and body.
async fn post_event(gateway: &impl Served, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(gateway.http("/api/events"))
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get_json(gateway: &impl Served, path: &str, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(gateway.http(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_that_must_not_pass_get_nothing() {
    let gateway = secured(&["--auth-timeout", "1"]);
    let admin = mint("root", None, &["admin", "publisher"], 300);
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
    let hs256 = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let base = |extra: Value| {
        let mut claims =
            json!({"sub": "mallory", "exp": now_s() + 300, "iss": "tl-tests", "aud": "dashboard"});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        claims
    };
    let other_key =
        jsonwebtoken::EncodingKey::from_secret(b"some-other-secret-that-is-also-long-enough")
            .unwrap();
    let alg_none = {
        use std::fmt::Write as _;
        let b64 = |bytes: &[u8]| {
            const A: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let b = [
                    chunk[0],
                    *chunk.get(1).unwrap_or(&0),
                    *chunk.get(2).unwrap_or(&0),
                ];
                let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
                for i in 0..=chunk.len() {
                    let _ = out.write_char(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        };
        format!(
            "{}.{}.",
            b64(br#"{"alg":"none","typ":"JWT"}"#),
            b64(base(json!({})).to_string().as_bytes())
        )
    };
    let bad_tokens: Vec<(&str, String, u16)> = vec![
        (
            "expired",
            sign(base(json!({"exp": now_s() - 3600})), hs256.clone(), &key),
            4401,
        ),
        (
            "not yet valid",
            sign(base(json!({"nbf": now_s() + 600})), hs256.clone(), &key),
            4501,
        ),
        (
            "wrong signature",
            sign(base(json!({})), hs256.clone(), &other_key),
            4501,
        ),
        (
            "wrong issuer",
            sign(base(json!({"iss": "someone-else"})), hs256.clone(), &key),
            4501,
        ),
        (
            "wrong audience",
            sign(base(json!({"aud": "another-app"})), hs256.clone(), &key),
            4501,
        ),
        (
            "no exp",
            sign(base(json!({"exp": null})), hs256.clone(), &key),
            4501,
        ),
        ("alg none", alg_none, 4501),
        ("garbage", "not-a-token".to_owned(), 4501),
        ("empty", String::new(), 4501),
    ];
    for (what, token, code) in &bad_tokens {
        // In the first frame: closed with the documented code, and nothing
        // but the welcome was ever sent.
        let mut client = Client::connect(&gateway.ws_url()).await;
        assert_eq!(client.expect_frame().await["type"], "welcome");
        let (status, _) = post_event(&gateway, Some(&admin), r#"{"type":"secret-plan"}"#).await;
        assert_eq!(status, 202);
        client
            .send_text(&json!({"type": "auth", "token": token}).to_string())
            .await;
        match client.next(Duration::from_secs(5)).await {
            Next::Closed(Some(frame)) => assert_eq!(u16::from(frame.code), *code, "{what}"),
            other => panic!("{what}: expected a close, got {other:?}"),
        }
        // As a Bearer header: refused before the upgrade.
        let refused = ws_with_headers(
            &gateway.ws_url(),
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
        if !token.is_empty() {
            assert_eq!(refused.err(), Some(401), "{what}");
        }
        let (status, _) = get_json(&gateway, "/api/events", token).await;
        assert_eq!(status, 401, "{what} over HTTP");
    }
    // No auth frame at all: closed at the deadline, nothing received.
    let mut silent = Client::connect(&gateway.ws_url()).await;
    assert_eq!(silent.expect_frame().await["type"], "welcome");
    assert_eq!(
        silent.expect_close(Duration::from_secs(5)).await,
        Some(4408)
    );
    // Anything else before auth: refused.
    let mut pushy = Client::connect(&gateway.ws_url()).await;
    pushy.expect_frame().await;
    pushy.send_text(r#"{"type":"ping"}"#).await;
    assert_eq!(pushy.expect_close(Duration::from_secs(5)).await, Some(1008));
    // The positive control: a good token gets the state, in the header or a frame.
    let good = mint("alice", None, &["viewer"], 300);
    let (_, start) = login(&gateway.ws_url(), &good).await;
    assert_eq!(start["type"], "snapshot");
    assert!(start["recent_events"].as_array().unwrap().len() >= bad_tokens.len());
    let mut with_header = ws_with_headers(
        &gateway.ws_url(),
        &[("authorization", &format!("Bearer {good}"))],
    )
    .await
    .unwrap();
    assert_eq!(with_header.expect_frame().await["auth"], "required");
    assert_eq!(with_header.expect_frame().await["type"], "authenticated");
    assert_eq!(with_header.expect_frame().await["type"], "snapshot");
    assert!(gateway.metric("tactical_link_auth_failures_total").await >= bad_tokens.len() as f64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_signed_with_the_public_key_as_an_hmac_secret_is_refused() {
    let dir = temp_dir();
    let private = dir.join("rsa.pem");
    let public = dir.join("rsa.pub.pem");
    let ok = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&private)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success()
        && std::process::Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&private)
            .arg("-out")
            .arg(&public)
            .status()
            .unwrap()
            .success();
    assert!(ok, "openssl made the key pair");
    let gateway = Gateway::start(&["serve", "--jwt-public-key", public.to_str().unwrap()]);
    let claims = json!({"sub": "mallory", "exp": now_s() + 300});
    // The classic confusion: HS256 "signed" with the public key's PEM text.
    let public_pem = std::fs::read(&public).unwrap();
    let confused = sign(
        claims.clone(),
        jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &jsonwebtoken::EncodingKey::from_secret(&public_pem).unwrap(),
    );
    let refused = ws_with_headers(
        &gateway.ws_url(),
        &[("authorization", &format!("Bearer {confused}"))],
    )
    .await;
    assert_eq!(refused.err(), Some(401));
    let mut client = Client::connect(&gateway.ws_url()).await;
    client.expect_frame().await;
    client
        .send_text(&json!({"type": "auth", "token": confused}).to_string())
        .await;
    assert_eq!(
        client.expect_close(Duration::from_secs(5)).await,
        Some(4501)
    );
    // The same claims, properly signed with RS256, pass.
    let rs256 = sign(
        claims,
        jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &jsonwebtoken::EncodingKey::from_rsa_pem(&std::fs::read(&private).unwrap()).unwrap(),
    );
    let (_, start) = login(&gateway.ws_url(), &rs256).await;
    assert_eq!(start["type"], "snapshot");
}

/// The event `type`s a client receives until `marker` arrives.
async fn types_until(client: &mut Client, marker: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    loop {
        let frame = client.expect_type("event").await;
        let kind = frame["event"]["type"].as_str().unwrap().to_owned();
        if kind == marker {
            return seen;
        }
        seen.insert(kind);
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_and_an_admin_each_see_exactly_what_they_should_everywhere() {
    let gateway = secured(&[]);
    let publisher = mint("ops", None, &["admin", "publisher"], 300);
    let alice = mint("alice", Some("acme"), &["viewer"], 300);
    let bob = mint("bob", Some("globex"), &["viewer"], 300);
    let admin = mint("root", None, &["admin"], 300);
    let url = gateway.ws_url();
    let (mut a, _) = login(&url, &alice).await;
    let (mut b, _) = login(&url, &bob).await;
    let (mut r, _) = login(&url, &admin).await;

    let events = [
        json!({"type": "public"}),
        json!({"type": "acme-only", "tenant": "acme"}),
        json!({"type": "globex-only", "tenant": "globex"}),
        json!({"type": "for-alice", "tenant": "acme", "user_id": "alice"}),
        json!({"type": "for-another-acme-user", "tenant": "acme", "user_id": "carol"}),
        json!({"type": "for-bob-anywhere", "user_id": "bob"}),
        json!({"type": "pipeline.stage", "run_id": "shared-name", "stage": "radar", "status": "processing", "tenant": "acme", "detail": "acme run"}),
        json!({"type": "pipeline.stage", "run_id": "shared-name", "stage": "radar", "status": "error", "tenant": "globex", "detail": "globex run"}),
        json!({"type": "marker"}),
    ];
    let mut first_id = None;
    for event in &events {
        let (status, body) = post_event(&gateway, Some(&publisher), &event.to_string()).await;
        assert_eq!(status, 202, "{body}");
        first_id.get_or_insert(body["id"].as_str().unwrap().to_owned());
    }
    let alice_sees = set(&["public", "acme-only", "for-alice", "pipeline.stage"]);
    let bob_sees = set(&[
        "public",
        "globex-only",
        "for-bob-anywhere",
        "pipeline.stage",
    ]);
    let admin_sees: BTreeSet<String> = events[..events.len() - 1]
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    // Live.
    assert_eq!(types_until(&mut a, "marker").await, alice_sees);
    assert_eq!(types_until(&mut b, "marker").await, bob_sees);
    assert_eq!(types_until(&mut r, "marker").await, admin_sees);

    // Snapshots: runs and recent events.
    let snapshot_view = |snapshot: &Value| -> (BTreeSet<String>, Vec<String>) {
        let kinds = snapshot["recent_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["event"]["type"].as_str().unwrap().to_owned())
            .filter(|k| k != "marker")
            .collect();
        let runs = snapshot["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|run| {
                run["stages"]["radar"]["detail"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        (kinds, runs)
    };
    let (_, snap_a) = login(&url, &alice).await;
    assert_eq!(
        snapshot_view(&snap_a),
        (alice_sees.clone(), vec!["acme run".to_owned()])
    );
    let (_, snap_b) = login(&url, &bob).await;
    assert_eq!(
        snapshot_view(&snap_b),
        (bob_sees.clone(), vec!["globex run".to_owned()])
    );
    let (_, snap_r) = login(&url, &admin).await;
    let (kinds, mut runs) = snapshot_view(&snap_r);
    runs.sort();
    assert_eq!(
        (kinds, runs),
        (
            admin_sees.clone(),
            vec!["acme run".to_owned(), "globex run".to_owned()]
        )
    );

    // Replay after the first event.
    let resume_url = format!("{url}?last_id={}", first_id.unwrap());
    let (mut replay_a, start) = login(&resume_url, &alice).await;
    assert_eq!(start["type"], "resumed");
    let replayed = start["replayed"].as_u64().unwrap() as usize;
    let mut kinds = BTreeSet::new();
    for _ in 0..replayed {
        let frame = replay_a.expect_type("event").await;
        kinds.insert(frame["event"]["type"].as_str().unwrap().to_owned());
    }
    kinds.remove("marker");
    let mut expected = alice_sees.clone();
    expected.remove("public"); // the first event itself is not replayed
    assert_eq!(kinds, expected);

    // HTTP.
    let http_kinds = |body: &Value| -> BTreeSet<String> {
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["event"]["type"].as_str().unwrap().to_owned())
            .filter(|k| k != "marker")
            .collect()
    };
    let (status, body) = get_json(&gateway, "/api/events?limit=1000", &alice).await;
    assert_eq!(status, 200);
    assert_eq!(http_kinds(&body), alice_sees);
    let (_, body) = get_json(&gateway, "/api/events?limit=1000", &bob).await;
    assert_eq!(http_kinds(&body), bob_sees);
    let (_, runs) = get_json(&gateway, "/api/runs", &bob).await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1);
    assert_eq!(runs["runs"][0]["tenant"], "globex");
    let (status, run) = get_json(&gateway, "/api/runs/shared-name", &alice).await;
    assert_eq!(
        (status, run["stages"]["radar"]["detail"].as_str()),
        (200, Some("acme run"))
    );
    let nobody = mint("dave", Some("initech"), &["viewer"], 300);
    let (status, _) = get_json(&gateway, "/api/runs/shared-name", &nobody).await;
    assert_eq!(status, 404, "another tenant's run does not exist for you");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_over_http_needs_the_role_and_stays_in_its_tenant() {
    let gateway = secured(&[]);
    let viewer = mint("v", Some("acme"), &["viewer"], 300);
    let acme_publisher = mint("svc", Some("acme"), &["publisher"], 300);
    let event = |tenant: Option<&str>| {
        let mut e = json!({"type": "pipeline.stage", "run_id": "r1", "stage": "Quality", "status": "COMPLETE"});
        if let Some(t) = tenant {
            e["tenant"] = t.into();
        }
        e.to_string()
    };
    assert_eq!(post_event(&gateway, None, &event(None)).await.0, 401);
    assert_eq!(
        post_event(&gateway, Some(&viewer), &event(Some("acme")))
            .await
            .0,
        403
    );
    assert_eq!(
        post_event(&gateway, Some(&acme_publisher), &event(Some("globex")))
            .await
            .0,
        403
    );
    assert_eq!(
        post_event(&gateway, Some(&acme_publisher), &event(None))
            .await
            .0,
        403,
        "no public events from a tenant"
    );
    let (status, body) = post_event(&gateway, Some(&acme_publisher), r#"{"type":"pipeline.stage","run_id":"r","stage":"cooking","status":"idle","tenant":"acme"}"#).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_pipeline"))
    );
    let (status, body) = post_event(&gateway, Some(&acme_publisher), &event(Some("acme"))).await;
    assert_eq!(status, 202);
    assert!(body["id"].is_string());
    let viewer_state = get_json(&gateway, "/api/runs/r1", &viewer).await.1;
    assert_eq!(viewer_state["stages"]["quality"]["status"], "complete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_origin_upgrades_are_refused() {
    let gateway = Gateway::start(&["serve"]);
    let same = format!("http://{}", gateway.addr);
    assert!(
        ws_with_headers(&gateway.ws_url(), &[("origin", &same)])
            .await
            .is_ok()
    );
    assert_eq!(
        ws_with_headers(&gateway.ws_url(), &[("origin", "http://evil.example")])
            .await
            .err(),
        Some(403)
    );
    assert_eq!(
        ws_with_headers(&gateway.ws_url(), &[("origin", "null")])
            .await
            .err(),
        Some(403)
    );
    assert!(
        ws_with_headers(&gateway.ws_url(), &[]).await.is_ok(),
        "no Origin: not a browser"
    );
    let listed = Gateway::start(&["serve", "--allowed-origin", "https://ops.example.com"]);
    assert!(
        ws_with_headers(&listed.ws_url(), &[("origin", "https://ops.example.com")])
            .await
            .is_ok()
    );
    let same = format!("http://{}", listed.addr);
    assert_eq!(
        ws_with_headers(&listed.ws_url(), &[("origin", &same)])
            .await
            .err(),
        Some(403)
    );
    assert!(listed.metric("tactical_link_origin_refusals_total").await >= 1.0);
}

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
async fn an_expiring_token_closes_with_4401_unless_renewed() {
    let gateway = secured(&["--jwt-leeway", "0"]);
    let short = mint("alice", Some("acme"), &["viewer"], 2);
    let (mut lapses, _) = login(&gateway.ws_url(), &short).await;
    let (mut renews, _) = login(&gateway.ws_url(), &short).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let fresh = mint("alice", Some("acme"), &["viewer"], 60);
    renews
        .send_text(&json!({"type": "auth", "token": fresh}).to_string())
        .await;
    let renewed = renews.expect_type("authenticated").await;
    assert_eq!(renewed["sub"], "alice");
    assert_eq!(
        lapses.expect_close(Duration::from_secs(5)).await,
        Some(4401)
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    renews.send_text(r#"{"type":"ping","nonce":1}"#).await;
    assert_eq!(
        renews.expect_type("pong").await["nonce"],
        1,
        "the renewed connection lives on"
    );
    // A renewal for someone else is refused.
    let (mut sneaky, _) = login(&gateway.ws_url(), &fresh).await;
    let other = mint("mallory", Some("acme"), &["viewer"], 60);
    sneaky
        .send_text(&json!({"type": "auth", "token": other}).to_string())
        .await;
    assert_eq!(
        sneaky.expect_close(Duration::from_secs(5)).await,
        Some(1008)
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_https_and_wss() {
    let dir = temp_dir();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .args([
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=serverAuth",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(made, "openssl made a certificate");
    let gateway = Gateway::start(&[
        "serve",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    let pem = std::fs::read(&cert).unwrap();
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    let health = https
        .get(format!("https://localhost:{}/healthz", gateway.addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // Plain HTTP on the TLS port gets nothing.
    assert!(reqwest::get(gateway.http("/healthz")).await.is_err());
    // WSS with a client that trusts the certificate.
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(&pem).unwrap())
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    let tls = connector
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let url = format!("wss://localhost:{}/dashboard/ws", gateway.addr.port());
    let (mut socket, _) = tokio_tungstenite::client_async(url, tls).await.unwrap();
    use futures_util::StreamExt;
    let welcome = socket.next().await.unwrap().unwrap();
    assert!(welcome.into_text().unwrap().contains(r#""type":"welcome""#));
    eventually(Duration::from_secs(2), "snapshot over wss", async || {
        matches!(socket.next().await, Some(Ok(Message::Text(t))) if t.contains("snapshot"))
    })
    .await;
}

/// An Ed25519 key pair made by openssl: the private PEM and the public
/// key as a JWK.
fn ed25519_pair(kid: &str) -> (Vec<u8>, Value) {
    let dir = temp_dir();
    let private = dir.join("ed25519.pem");
    let der = dir.join("ed25519.pub.der");
    assert!(
        std::process::Command::new("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&private)
            .status()
            .unwrap()
            .success()
    );
    assert!(
        std::process::Command::new("openssl")
            .args(["pkey", "-pubout", "-outform", "DER", "-in"])
            .arg(&private)
            .arg("-out")
            .arg(&der)
            .status()
            .unwrap()
            .success()
    );
    let der = std::fs::read(&der).unwrap();
    // The raw 32-byte key ends the SubjectPublicKeyInfo.
    let raw = &der[der.len() - 32..];
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x = String::new();
    for chunk in raw.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            x.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    let jwk =
        json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"});
    (std::fs::read(&private).unwrap(), jwk)
}

fn ed_token(private_pem: &[u8], kid: &str, sub: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    sign(
        json!({"sub": sub, "exp": now_s() + 300}),
        header,
        &jsonwebtoken::EncodingKey::from_ed_pem(private_pem).unwrap(),
    )
}

/// An identity provider serving a JWKS at `url`, which the test can
/// replace, and counting how often it was fetched.
struct IdentityProvider {
    url: String,
    served: std::sync::Arc<std::sync::Mutex<Value>>,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl IdentityProvider {
    async fn start(keys: Value) -> IdentityProvider {
        let served = std::sync::Arc::new(std::sync::Mutex::new(keys));
        let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get({
                let served = served.clone();
                let fetches = fetches.clone();
                move || {
                    fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let body = served.lock().unwrap().clone();
                    async move { axum::Json(body) }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        IdentityProvider {
            url,
            served,
            fetches,
        }
    }

    /// Serves `keys` from now on.
    fn publish(&self, keys: Value) {
        *self.served.lock().unwrap() = keys;
    }

    /// Times the set was fetched.
    fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_url_is_fetched_and_refreshed_when_keys_rotate() {
    let (old_private, old_jwk) = ed25519_pair("old");
    let (new_private, new_jwk) = ed25519_pair("new");
    let idp = IdentityProvider::start(json!({"keys": [old_jwk]})).await;
    let gateway = Gateway::start(&["serve", "--jwks-url", &idp.url, "--jwks-refresh", "1"]);
    let old = ed_token(&old_private, "old", "alice");
    let new = ed_token(&new_private, "new", "alice");
    eventually(Duration::from_secs(10), "JWKS loaded", async || {
        get_json(&gateway, "/api/runs", &old).await.0 == 200
    })
    .await;
    assert_eq!(
        get_json(&gateway, "/api/runs", &new).await.0,
        401,
        "key not published yet"
    );
    // Rotation: the identity provider now publishes only the new key.
    idp.publish(json!({"keys": [new_jwk]}));
    eventually(
        Duration::from_secs(10),
        "rotated key accepted",
        async || get_json(&gateway, "/api/runs", &new).await.0 == 200,
    )
    .await;
    assert_eq!(
        get_json(&gateway, "/api/runs", &old).await.0,
        401,
        "retired key refused"
    );
    let (_, start) = login(&gateway.ws_url(), &new).await;
    assert_eq!(start["type"], "snapshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_signed_with_a_just_published_key_works_at_once() {
    let (old_private, old_jwk) = ed25519_pair("old");
    let (new_private, new_jwk) = ed25519_pair("new");
    let idp = IdentityProvider::start(json!({"keys": [old_jwk]})).await;
    // The periodic refresh is an hour away: only an unknown kid can make
    // the gateway fetch the set again during this test.
    let gateway = Gateway::start(&["serve", "--jwks-url", &idp.url, "--jwks-refresh", "3600"]);
    let old = ed_token(&old_private, "old", "alice");
    eventually(Duration::from_secs(10), "JWKS loaded", async || {
        get_json(&gateway, "/api/runs", &old).await.0 == 200
    })
    .await;
    let fetches_at_start = idp.fetches();
    // The identity provider starts signing with a new key and publishes it.
    idp.publish(json!({"keys": [old_jwk, new_jwk]}));
    let new = ed_token(&new_private, "new", "alice");
    let (_, start) = login(&gateway.ws_url(), &new).await;
    assert_eq!(
        start["type"], "snapshot",
        "the first token with the new kid"
    );
    assert_eq!(get_json(&gateway, "/api/runs", &new).await.0, 200);
    assert_eq!(
        idp.fetches(),
        fetches_at_start + 1,
        "one fetch for the new kid"
    );
    // Tokens with made-up kids are refused without a fetch each.
    for i in 0..20 {
        let stranger = ed_token(&new_private, &format!("made-up-{i}"), "mallory");
        assert_eq!(get_json(&gateway, "/api/runs", &stranger).await.0, 401);
    }
    assert_eq!(
        idp.fetches(),
        fetches_at_start + 1,
        "no fetch per made-up kid"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_file_verifies_and_refuses_unknown_kids() {
    let (private, jwk) = ed25519_pair("file-key");
    let (stranger, _) = ed25519_pair("file-key");
    let dir = temp_dir();
    let jwks = dir.join("jwks.json");
    std::fs::write(&jwks, json!({"keys": [jwk]}).to_string()).unwrap();
    let gateway = Gateway::start(&["serve", "--jwks-file", jwks.to_str().unwrap()]);
    assert_eq!(
        get_json(&gateway, "/api/runs", &ed_token(&private, "file-key", "a"))
            .await
            .0,
        200
    );
    assert_eq!(
        get_json(&gateway, "/api/runs", &ed_token(&private, "other-kid", "a"))
            .await
            .0,
        401
    );
    assert_eq!(
        get_json(&gateway, "/api/runs", &ed_token(&stranger, "file-key", "a"))
            .await
            .0,
        401,
        "right kid, wrong key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_be_served_on_an_address_of_their_own() {
    let gateway = secured(&["--metrics-listen", "127.0.0.1:0"]);
    let metrics_addr = gateway
        .metrics_addr
        .expect("the metrics address is printed");
    assert_ne!(metrics_addr, gateway.addr);
    let public = reqwest::get(gateway.http("/metrics")).await.unwrap();
    assert_eq!(public.status(), 404, "no metrics on the public address");
    let internal = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(internal.status(), 200);
    let body = internal.text().await.unwrap();
    assert!(body.contains("tactical_link_connections_open"), "{body}");
    for probe in ["/healthz", "/readyz"] {
        let response = reqwest::get(format!("http://{metrics_addr}{probe}"))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{probe}");
    }
    // Nothing about events is served there.
    let runs = reqwest::get(format!("http://{metrics_addr}/api/runs"))
        .await
        .unwrap();
    assert_eq!(runs.status(), 404);
    // The public address keeps everything else.
    let status = reqwest::get(gateway.http("/api/status")).await.unwrap();
    assert_eq!(status.status(), 200);
}

/// The `jti` the token carries.
fn token_id(token: &str) -> String {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        &validation,
    )
    .unwrap();
    data.claims["jti"]
        .as_str()
        .expect("minted tokens carry a jti")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_tokens_and_users_are_refused_and_their_connections_closed() {
    let dir = temp_dir();
    let list = dir.write("revoked", "# nothing revoked yet\n").unwrap();
    let flags = secured_flags(&dir, &["--revoked-tokens", list.to_str().unwrap()]);
    let gateway = GatewayProcess::start(BIN, &flags.iter().map(String::as_str).collect::<Vec<_>>());
    let leaked = mint("alice", Some("acme"), &["viewer"], 300);
    let kept = mint("alice", Some("acme"), &["viewer"], 300);
    let bob = mint("bob", Some("acme"), &["viewer"], 300);
    let publisher = mint("svc", Some("acme"), &["publisher"], 300);
    let (mut on_leaked, _) = login(&gateway.ws_url(), &leaked).await;
    let (mut on_kept, _) = login(&gateway.ws_url(), &kept).await;
    let (mut on_bob, _) = login(&gateway.ws_url(), &bob).await;

    // One token revoked: its connection closes, the same user's other
    // token lives on, and the revoked one is refused from now on.
    std::fs::write(&list, format!("jti {}\n", token_id(&leaked))).unwrap();
    assert_eq!(
        on_leaked.expect_close(Duration::from_secs(10)).await,
        Some(4501)
    );
    assert_eq!(get_json(&gateway, "/api/runs", &leaked).await.0, 401);
    assert_eq!(get_json(&gateway, "/api/runs", &kept).await.0, 200);

    // A user revoked: every token of theirs.
    std::fs::write(&list, format!("jti {}\nsub bob\n", token_id(&leaked))).unwrap();
    assert_eq!(
        on_bob.expect_close(Duration::from_secs(10)).await,
        Some(4501)
    );
    assert_eq!(get_json(&gateway, "/api/runs", &bob).await.0, 401);

    // A broken list keeps the last good one in force.
    std::fs::write(&list, "this line means nothing\n").unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(get_json(&gateway, "/api/runs", &bob).await.0, 401);
    assert!(
        gateway
            .log()
            .contains("keeping the previous revocation list")
    );

    // The connection nobody revoked still gets events.
    let event = json!({"type": "pipeline.stage", "run_id": "r", "stage": "report", "status": "complete", "tenant": "acme"});
    assert_eq!(
        post_event(&gateway, Some(&publisher), &event.to_string())
            .await
            .0,
        202
    );
    let frame = on_kept.expect_type("event").await;
    assert_eq!(frame["event"]["run_id"], "r");
}

#[test]
fn a_revocation_list_that_does_not_parse_stops_the_gateway_at_start() {
    let dir = temp_dir();
    let list = dir.write("revoked", "jti\n").unwrap();
    let secret = secret_file(&dir);
    let output = std::process::Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--jwt-secret-file"])
        .arg(&secret)
        .arg("--revoked-tokens")
        .arg(&list)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("revoked-tokens") && stderr.contains("line 1"),
        "{stderr}"
    );
}
