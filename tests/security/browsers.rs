//! A gateway without a key, against the web pages in its operator's
//! browser: a DNS-rebinding page (foreign `Host`) gets nothing, a cross-site
//! page can neither publish (no JSON without a preflight, a foreign
//! `Origin`) nor open a WebSocket.

use testkit::{Gateway, Served};

use crate::ws_with_headers;

async fn status_with(gateway: &Gateway, method: &str, path: &str, headers: &[(&str, &str)]) -> u16 {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = reqwest::Client::new().request(method, gateway.http(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .body("{\"type\":\"probe\"}")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_key_foreign_hosts_and_cross_site_writes_are_refused() {
    let gateway = Gateway::start(&["serve"]);
    let port = gateway.addr().port();
    let evil_host = format!("evil.example:{port}");
    for path in ["/", "/api/events", "/api/runs", "/api/status"] {
        assert_eq!(
            status_with(&gateway, "GET", path, &[("host", &evil_host)]).await,
            403,
            "{path}"
        );
    }
    let upgrade = ws_with_headers(
        &gateway.ws_url(),
        &[
            ("host", &evil_host),
            ("origin", &format!("http://{evil_host}")),
        ],
    )
    .await;
    assert_eq!(upgrade.err(), Some(403), "a WebSocket for a foreign Host");
    // A cross-site form can send text/plain without a preflight: refused.
    let text = [
        ("origin", "http://evil.example"),
        ("content-type", "text/plain"),
    ];
    assert_eq!(
        status_with(&gateway, "POST", "/api/events", &text).await,
        415
    );
    let json = [
        ("origin", "http://evil.example"),
        ("content-type", "application/json"),
    ];
    assert_eq!(
        status_with(&gateway, "POST", "/api/events", &json).await,
        403
    );
    // The gateway's own page, and a client without an Origin, still publish.
    let own = format!("http://127.0.0.1:{port}");
    let same = [
        ("origin", own.as_str()),
        ("content-type", "application/json"),
    ];
    assert_eq!(
        status_with(&gateway, "POST", "/api/events", &same).await,
        202
    );
    let tool = [("content-type", "application/json")];
    assert_eq!(
        status_with(&gateway, "POST", "/api/events", &tool).await,
        202
    );
    assert!(gateway.metric("tactical_link_host_refusals_total").await >= 5.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_hosts_name_the_gateway_for_a_proxy_or_a_lan() {
    let gateway = Gateway::start(&["serve", "--allowed-hosts", "ops.example.com"]);
    let host = format!("ops.example.com:{}", gateway.addr().port());
    assert_eq!(
        status_with(&gateway, "GET", "/api/status", &[("host", &host)]).await,
        200
    );
    assert_eq!(
        status_with(&gateway, "GET", "/api/status", &[("host", "other.example")]).await,
        403
    );
}
