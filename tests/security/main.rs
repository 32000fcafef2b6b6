//! Security end to end: authentication, tenant isolation, origins, limits,
//! clients behind load balancers, hostile clients, HTTP publishing and TLS,
//! against the gateway serving from this process; the binary where a test
//! reads its log or its exit code. One module per concern; the helpers
//! they share are here.

mod bodies;
mod browsers;
mod headers;
mod keys;
mod limits;
mod origins;
mod proxies;
mod revocation;
mod scopes;
mod tenants;
mod tokens;
mod transport;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use testkit::{Client, Gateway, Minter, Served, TempDir};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

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

/// Unpadded base64url, as JWTs and JWKs write bytes.
fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
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

/// POST /api/events with a JSON body (the gateway refuses any other
/// content type with 415) and a token; the status and body.
async fn post_event(gateway: &impl Served, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(gateway.http("/api/events"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
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
