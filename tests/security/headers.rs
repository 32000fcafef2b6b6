//! What every response tells the browser: a strict Content-Security-Policy,
//! framing refused (or allowed to one portal), no sniffing, no referrer; and
//! pages that answer GET and HEAD only.

use testkit::{Gateway, Served};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers_and_pages_answer_get_and_head_only() {
    let gateway = Gateway::start(&["serve"]);
    let http = reqwest::Client::new();
    for path in [
        "/",
        "/runs/some-run",
        "/api/status",
        "/healthz",
        "/no-such-file.js",
    ] {
        let response = http.get(gateway.http(path)).send().await.unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self';"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
    }
    let head = http.head(gateway.http("/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        for path in ["/", "/index.html", "/runs/x"] {
            let response = http
                .request(method.clone(), gateway.http(path))
                .header("content-type", "application/json")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 405, "{method} {path}");
            assert_eq!(response.headers()["allow"], "GET, HEAD", "{method} {path}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_ancestors_can_name_a_portal() {
    let gateway = Gateway::start(&["serve", "--frame-ancestors", "https://portal.example.com"]);
    let response = reqwest::get(gateway.http("/")).await.unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        csp.ends_with("frame-ancestors https://portal.example.com"),
        "{csp}"
    );
    assert!(response.headers().get("x-frame-options").is_none());
}
