//! Revoked tokens and users: open connections closed, tokens refused, a
//! broken list keeping the last good one, and one that stops the start.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::{GatewayProcess, Served, eventually};

use crate::{BIN, SECRET, get_json, login, mint, post_event, secret_file, secured_flags, temp_dir};

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
    eventually(
        Duration::from_secs(10),
        "the broken list logged",
        async || {
            gateway
                .log()
                .contains("keeping the previous revocation list")
        },
    )
    .await;

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
