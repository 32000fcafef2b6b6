//! Where the gateway's keys come from: a JWKS URL (refreshed when keys
//! rotate, fetched again for a new `kid`, not for made-up ones) and a JWKS
//! file.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use serde_json::{Value, json};
use testkit::{Gateway, Served, eventually};

use crate::{base64url, get_json, login, now_s, sign, temp_dir};

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
    let x = base64url(raw);
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
    served: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
}

impl IdentityProvider {
    async fn start(keys: Value) -> IdentityProvider {
        let served = Arc::new(Mutex::new(keys));
        let fetches = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get({
                let served = served.clone();
                let fetches = fetches.clone();
                move || {
                    fetches.fetch_add(1, SeqCst);
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
        self.fetches.load(SeqCst)
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
