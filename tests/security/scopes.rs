//! Who may see what, against hostile fields and claims: a `null` tenant or
//! user is refused (not public); only `roles` grants roles; an event id the
//! caller may not see answers exactly as an unknown one.

use std::time::Duration;

use serde_json::json;
use testkit::{RedisServer, Served, eventually};

use crate::{get_json, login, mint, post_event, secured};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_null_tenant_or_user_is_refused_on_the_bus_and_over_http() {
    let redis = RedisServer::start();
    let gateway = secured(&["--redis", &redis.url()]);
    gateway.wait_bus_up(Duration::from_secs(10)).await;
    let viewer = mint("bob", Some("globex"), &["viewer"], 300);
    let (mut client, _) = login(&gateway.ws_url(), &viewer).await;
    redis.publish("system_events", r#"{"type":"leak","tenant":null}"#);
    redis.publish("system_events", r#"{"type":"leak","user_id":null}"#);
    eventually(
        Duration::from_secs(10),
        "two invalid_scope rejections",
        async || {
            gateway
                .metric("tactical_link_events_rejected_total{reason=\"invalid_scope\"}")
                .await
                >= 2.0
        },
    )
    .await;
    redis.publish("system_events", r#"{"type":"public-marker"}"#);
    let next = client.expect_type("event").await;
    assert_eq!(
        next["event"]["type"], "public-marker",
        "nothing leaked before it"
    );
    let publisher = mint("svc", Some("acme"), &["publisher"], 300);
    let body = json!({"type": "x", "tenant": "acme", "user_id": null}).to_string();
    let (status, answer) = post_event(&gateway, Some(&publisher), &body).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("invalid_scope"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_claim_beside_roles_grants_nothing() {
    let gateway = secured(&[]);
    let admin = mint("root", None, &["admin"], 300);
    for tenant in ["acme", "globex"] {
        let body = json!({"type": "note", "tenant": tenant}).to_string();
        assert_eq!(post_event(&gateway, Some(&admin), &body).await.0, 202);
    }
    // A token the issuer signed with roles ["viewer"] and a stray "role":
    // "admin" (a claim the gateway does not read).
    let sneaky = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": "mallory", "tenant": "acme", "roles": ["viewer"], "role": "admin",
                "exp": crate::now_s() + 300, "iss": "tl-tests", "aud": "dashboard"}),
        &jsonwebtoken::EncodingKey::from_secret(crate::SECRET.as_bytes()).unwrap(),
    )
    .unwrap();
    let (status, page) = get_json(&gateway, "/api/events", &sneaky).await;
    assert_eq!(status, 200);
    let tenants: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(tenants, ["acme"], "an admin would see globex too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_the_caller_may_not_see_answers_as_an_unknown_one() {
    let gateway = secured(&[]);
    let admin = mint("root", None, &["admin"], 300);
    let (_, acme) = post_event(
        &gateway,
        Some(&admin),
        &json!({"type": "a", "tenant": "acme"}).to_string(),
    )
    .await;
    let (_, globex) = post_event(
        &gateway,
        Some(&admin),
        &json!({"type": "g", "tenant": "globex"}).to_string(),
    )
    .await;
    let viewer = mint("alice", Some("acme"), &["viewer"], 300);
    let own = format!("/api/events?after={}", acme["id"].as_str().unwrap());
    assert_eq!(get_json(&gateway, &own, &viewer).await.0, 200);
    let foreign = format!("/api/events?after={}", globex["id"].as_str().unwrap());
    let unknown = "/api/events?after=1-0";
    let (a, b) = (
        get_json(&gateway, &foreign, &viewer).await,
        get_json(&gateway, unknown, &viewer).await,
    );
    assert_eq!(
        (a.0, &a.1["error"]),
        (410, &b.1["error"]),
        "the same answer as for an unknown id"
    );
    assert_eq!(b.0, 410);
    // On the WebSocket: a resume from it gets the flagged snapshot an
    // unknown id gets, not `resumed`.
    let url = format!(
        "{}?last_id={}",
        gateway.ws_url(),
        globex["id"].as_str().unwrap()
    );
    let (_, start) = login(&url, &viewer).await;
    assert_eq!(start["type"], "snapshot");
    assert_eq!(start["resume_failed"], globex["id"]);
}
