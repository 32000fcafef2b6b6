//! TLS on the gateway's own port, and `/metrics` on an address of its own.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use testkit::{Gateway, Served, TempDir, eventually};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use crate::{secured, temp_dir};

/// A self-signed certificate for localhost and 127.0.0.1, made by openssl
/// in `dir`: the certificate's and the key's PEM files.
fn self_signed_certificate(dir: &TempDir) -> (PathBuf, PathBuf) {
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
    (cert, key)
}

/// A WSS client that trusts the certificate `pem`, connected to `addr`.
async fn wss_connect(addr: SocketAddr, pem: &[u8]) -> WebSocketStream<TlsStream<TcpStream>> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(pem).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = connector
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let url = format!("wss://localhost:{}/dashboard/ws", addr.port());
    let (socket, _) = tokio_tungstenite::client_async(url, tls).await.unwrap();
    socket
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_https_and_wss() {
    let dir = temp_dir();
    let (cert, key) = self_signed_certificate(&dir);
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
    let mut socket = wss_connect(gateway.addr, &pem).await;
    let welcome = socket.next().await.unwrap().unwrap();
    assert!(welcome.into_text().unwrap().contains(r#""type":"welcome""#));
    eventually(Duration::from_secs(2), "snapshot over wss", async || {
        matches!(socket.next().await, Some(Ok(Message::Text(t))) if t.contains("snapshot"))
    })
    .await;
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
