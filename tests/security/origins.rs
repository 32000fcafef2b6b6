//! Cross-origin WebSocket upgrades.

use testkit::{Gateway, Served};

use crate::ws_with_headers;

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
