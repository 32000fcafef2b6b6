//! Tenant isolation at every exit (live frames, snapshots, replays, HTTP),
//! and HTTP publishing within the publisher's role and tenant.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use testkit::{Client, Gateway, Served};

use crate::{get_json, login, mint, post_event, secured};

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

/// Events for everyone, for one tenant, for one user, and a run id used
/// by two tenants; `marker` last.
fn tenant_events() -> [Value; 9] {
    [
        json!({"type": "public"}),
        json!({"type": "acme-only", "tenant": "acme"}),
        json!({"type": "globex-only", "tenant": "globex"}),
        json!({"type": "for-alice", "tenant": "acme", "user_id": "alice"}),
        json!({"type": "for-another-acme-user", "tenant": "acme", "user_id": "carol"}),
        json!({"type": "for-bob-anywhere", "user_id": "bob"}),
        json!({"type": "pipeline.stage", "run_id": "shared-name", "stage": "radar", "status": "processing", "tenant": "acme", "detail": "acme run"}),
        json!({"type": "pipeline.stage", "run_id": "shared-name", "stage": "radar", "status": "error", "tenant": "globex", "detail": "globex run"}),
        json!({"type": "marker"}),
    ]
}

/// The tokens of the test's users, and the event types each must see.
struct Viewers {
    alice: String,
    bob: String,
    admin: String,
    alice_sees: BTreeSet<String>,
    bob_sees: BTreeSet<String>,
    admin_sees: BTreeSet<String>,
}

/// A snapshot's event types (but the marker) and its runs' radar details.
fn snapshot_view(snapshot: &Value) -> (BTreeSet<String>, Vec<String>) {
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
}

/// The event types (but the marker) of a `GET /api/events` body.
fn http_kinds(body: &Value) -> BTreeSet<String> {
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["event"]["type"].as_str().unwrap().to_owned())
        .filter(|k| k != "marker")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_and_an_admin_each_see_exactly_what_they_should_everywhere() {
    let gateway = secured(&[]);
    let publisher = mint("ops", None, &["admin", "publisher"], 300);
    let events = tenant_events();
    let viewers = Viewers {
        alice: mint("alice", Some("acme"), &["viewer"], 300),
        bob: mint("bob", Some("globex"), &["viewer"], 300),
        admin: mint("root", None, &["admin"], 300),
        alice_sees: set(&["public", "acme-only", "for-alice", "pipeline.stage"]),
        bob_sees: set(&[
            "public",
            "globex-only",
            "for-bob-anywhere",
            "pipeline.stage",
        ]),
        admin_sees: events[..events.len() - 1]
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect(),
    };
    let url = gateway.ws_url();
    let (mut a, _) = login(&url, &viewers.alice).await;
    let (mut b, _) = login(&url, &viewers.bob).await;
    let (mut r, _) = login(&url, &viewers.admin).await;
    let mut first_id = None;
    for event in &events {
        let (status, body) = post_event(&gateway, Some(&publisher), &event.to_string()).await;
        assert_eq!(status, 202, "{body}");
        first_id.get_or_insert(body["id"].as_str().unwrap().to_owned());
    }
    // Live.
    assert_eq!(types_until(&mut a, "marker").await, viewers.alice_sees);
    assert_eq!(types_until(&mut b, "marker").await, viewers.bob_sees);
    assert_eq!(types_until(&mut r, "marker").await, viewers.admin_sees);
    snapshots_keep_tenants_apart(&url, &viewers).await;
    replays_keep_tenants_apart(&url, &viewers, &first_id.unwrap()).await;
    http_keeps_tenants_apart(&gateway, &viewers).await;
}

/// Snapshots: runs and recent events.
async fn snapshots_keep_tenants_apart(url: &str, viewers: &Viewers) {
    let (_, snap_a) = login(url, &viewers.alice).await;
    assert_eq!(
        snapshot_view(&snap_a),
        (viewers.alice_sees.clone(), vec!["acme run".to_owned()])
    );
    let (_, snap_b) = login(url, &viewers.bob).await;
    assert_eq!(
        snapshot_view(&snap_b),
        (viewers.bob_sees.clone(), vec!["globex run".to_owned()])
    );
    let (_, snap_r) = login(url, &viewers.admin).await;
    let (kinds, mut runs) = snapshot_view(&snap_r);
    runs.sort();
    assert_eq!(
        (kinds, runs),
        (
            viewers.admin_sees.clone(),
            vec!["acme run".to_owned(), "globex run".to_owned()]
        )
    );
}

/// Replay after the first event.
async fn replays_keep_tenants_apart(url: &str, viewers: &Viewers, first_id: &str) {
    let resume_url = format!("{url}?last_id={first_id}");
    let (mut replay_a, start) = login(&resume_url, &viewers.alice).await;
    assert_eq!(start["type"], "resumed");
    let replayed = start["replayed"].as_u64().unwrap() as usize;
    let mut kinds = BTreeSet::new();
    for _ in 0..replayed {
        let frame = replay_a.expect_type("event").await;
        kinds.insert(frame["event"]["type"].as_str().unwrap().to_owned());
    }
    kinds.remove("marker");
    let mut expected = viewers.alice_sees.clone();
    expected.remove("public"); // the first event itself is not replayed
    assert_eq!(kinds, expected);
}

/// HTTP: events, runs, and a run id two tenants use.
async fn http_keeps_tenants_apart(gateway: &Gateway, viewers: &Viewers) {
    let (status, body) = get_json(gateway, "/api/events?limit=1000", &viewers.alice).await;
    assert_eq!(status, 200);
    assert_eq!(http_kinds(&body), viewers.alice_sees);
    let (_, body) = get_json(gateway, "/api/events?limit=1000", &viewers.bob).await;
    assert_eq!(http_kinds(&body), viewers.bob_sees);
    let (_, runs) = get_json(gateway, "/api/runs", &viewers.bob).await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1);
    assert_eq!(runs["runs"][0]["tenant"], "globex");
    let (status, run) = get_json(gateway, "/api/runs/shared-name", &viewers.alice).await;
    assert_eq!(
        (status, run["stages"]["radar"]["detail"].as_str()),
        (200, Some("acme run"))
    );
    let nobody = mint("dave", Some("initech"), &["viewer"], 300);
    let (status, _) = get_json(gateway, "/api/runs/shared-name", &nobody).await;
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
