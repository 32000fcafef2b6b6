//! Tokens that must not pass (expired, not yet valid, wrong signature,
//! issuer or audience, no `exp`, `alg: none`, garbage), the algorithm
//! confusion with an RSA public key, and expiry and renewal on an open
//! connection.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::{Client, Gateway, Next, Served};

use crate::{
    SECRET, base64url, get_json, login, mint, now_s, post_event, secured, sign, temp_dir,
    ws_with_headers,
};

/// Claims a gateway of `secured()` would accept, changed by `extra` (a
/// null value removes the claim).
fn claims(extra: Value) -> Value {
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
}

/// Every token that must not pass: what is wrong with it, the token, and
/// the close code it gets in an `auth` frame.
fn bad_tokens() -> Vec<(&'static str, String, u16)> {
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
    let other_key =
        jsonwebtoken::EncodingKey::from_secret(b"some-other-secret-that-is-also-long-enough")
            .unwrap();
    let hs256 = || jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let alg_none = format!(
        "{}.{}.",
        base64url(br#"{"alg":"none","typ":"JWT"}"#),
        base64url(claims(json!({})).to_string().as_bytes())
    );
    vec![
        (
            "expired",
            sign(claims(json!({"exp": now_s() - 3600})), hs256(), &key),
            4401,
        ),
        (
            "not yet valid",
            sign(claims(json!({"nbf": now_s() + 600})), hs256(), &key),
            4501,
        ),
        (
            "wrong signature",
            sign(claims(json!({})), hs256(), &other_key),
            4501,
        ),
        (
            "wrong issuer",
            sign(claims(json!({"iss": "someone-else"})), hs256(), &key),
            4501,
        ),
        (
            "wrong audience",
            sign(claims(json!({"aud": "another-app"})), hs256(), &key),
            4501,
        ),
        (
            "no exp",
            sign(claims(json!({"exp": null})), hs256(), &key),
            4501,
        ),
        ("alg none", alg_none, 4501),
        ("garbage", "not-a-token".to_owned(), 4501),
        ("empty", String::new(), 4501),
    ]
}

/// `token` is refused in the first frame (closed with `code`, and nothing
/// but the welcome sent, while an event is published meanwhile), as a
/// Bearer header (401 before the upgrade), and over HTTP (401).
async fn refused_everywhere(gateway: &Gateway, admin: &str, what: &str, token: &str, code: u16) {
    let mut client = Client::connect(&gateway.ws_url()).await;
    assert_eq!(client.expect_frame().await["type"], "welcome");
    let (status, _) = post_event(gateway, Some(admin), r#"{"type":"secret-plan"}"#).await;
    assert_eq!(status, 202);
    client
        .send_text(&json!({"type": "auth", "token": token}).to_string())
        .await;
    match client.next(Duration::from_secs(5)).await {
        Next::Closed(Some(frame)) => assert_eq!(u16::from(frame.code), code, "{what}"),
        other => panic!("{what}: expected a close, got {other:?}"),
    }
    let refused = ws_with_headers(
        &gateway.ws_url(),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await;
    if !token.is_empty() {
        assert_eq!(refused.err(), Some(401), "{what}");
    }
    let (status, _) = get_json(gateway, "/api/events", token).await;
    assert_eq!(status, 401, "{what} over HTTP");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_that_must_not_pass_get_nothing() {
    // 26 failed authentications from one address in a few seconds: past
    // the default throttle (20 a minute), which would answer 4013 / 429
    // instead of each token's own refusal. The throttle has tests of its own.
    let gateway = secured(&["--auth-timeout", "1", "--auth-failures-per-minute", "1000"]);
    let admin = mint("root", None, &["admin", "publisher"], 300);
    let bad_tokens = bad_tokens();
    for (what, token, code) in &bad_tokens {
        refused_everywhere(&gateway, &admin, what, token, *code).await;
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
