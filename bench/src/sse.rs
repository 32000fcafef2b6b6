//! The benchmark's Server-Sent Events client: `GET /dashboard/sse` on the
//! gateway (reqwest, one HTTP/1.1 connection per client), its body cut
//! into events at blank lines, each event's `data:` lines joined back into
//! the frame the WebSocket would have carried (docs/protocol.md), and
//! `event: close` read as the close frame it stands for.
//!
//! Comments (`: ping`) and `id:` lines carry nothing the benchmark counts.
//! reqwest clients are shared per source address (one per 127.0.0.x),
//! since each holds a connection pool and TLS roots.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;

use tokio_tungstenite::tungstenite::Utf8Bytes;

/// What a client reads next, on either transport.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// One text frame.
    Text(Utf8Bytes),
    /// The server's close, with its code.
    Close(u16),
    /// The connection ended: with an error's short reason, or cleanly.
    Ended(Option<String>),
}

/// An open event stream.
pub struct SseStream {
    response: reqwest::Response,
    /// Bytes received and not yet cut into events.
    pending: Pending,
}

impl SseStream {
    /// The next frame, close or end; cancel-safe (what was received stays
    /// in `pending`).
    pub async fn next(&mut self) -> Incoming {
        loop {
            if let Some(incoming) = self.pending.take_event() {
                return incoming;
            }
            match self.response.chunk().await {
                Ok(Some(chunk)) => self.pending.push(&chunk),
                Ok(None) => return Incoming::Ended(None),
                Err(err) => return Incoming::Ended(Some(short_error(&err))),
            }
        }
    }
}

/// Received bytes, of which the first `cut` are already read as events.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    cut: usize,
}

impl Pending {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.drain(..self.cut);
        self.cut = 0;
        self.bytes.extend_from_slice(chunk);
    }

    /// The first complete event that means something, cut off.
    fn take_event(&mut self) -> Option<Incoming> {
        while let Some(end) = find_blank_line(&self.bytes[self.cut..]) {
            let block = self.cut..self.cut + end;
            self.cut += end + 2;
            if let Some(incoming) = parse_event(&self.bytes[block]) {
                return Some(incoming);
            }
        }
        None
    }
}

/// Where the first event ends (the index of its blank line's first `\n`).
fn find_blank_line(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|pair| pair == b"\n\n")
}

/// One event's lines as what they stand for; `None` for an event with no
/// data (a comment such as `: ping`).
pub fn parse_event(block: &[u8]) -> Option<Incoming> {
    let text = match std::str::from_utf8(block) {
        Ok(text) => text,
        Err(_) => return Some(Incoming::Ended(Some("SSE body is not UTF-8".into()))),
    };
    let mut name = "message";
    let mut data: Option<String> = None;
    for line in text.split('\n') {
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => name = value,
            "data" => match &mut data {
                Some(joined) => {
                    joined.push('\n');
                    joined.push_str(value);
                }
                None => data = Some(value.to_owned()),
            },
            _ => {}
        }
    }
    let data = data?;
    if name == "close" {
        let code = serde_json::from_str::<serde_json::Value>(&data)
            .ok()
            .and_then(|value| value.get("code")?.as_u64())
            .map_or(1005, |code| code as u16);
        return Some(Incoming::Close(code));
    }
    Some(Incoming::Text(Utf8Bytes::from(data)))
}

/// reqwest clients, one per source address.
#[derive(Default)]
pub struct SseClients {
    by_source: Mutex<HashMap<Option<Ipv4Addr>, reqwest::Client>>,
}

impl SseClients {
    /// Opens `url` from `source` (the kernel's choice when `None`) with an
    /// optional Bearer token. The error is a short, countable reason.
    pub async fn open(
        &self,
        url: &str,
        source: Option<Ipv4Addr>,
        token: Option<&str>,
    ) -> Result<SseStream, OpenError> {
        let client = self.client(source).map_err(OpenError::Other)?;
        let mut request = client.get(url).header("accept", "text/event-stream");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|err| {
            if is_addr_not_available(&err) {
                OpenError::AddrNotAvailable
            } else {
                OpenError::Other(format!("connect: {}", short_error(&err)))
            }
        })?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            return Err(OpenError::Other(format!("refused: HTTP {status}")));
        }
        Ok(SseStream {
            response,
            pending: Pending::default(),
        })
    }

    fn client(&self, source: Option<Ipv4Addr>) -> Result<reqwest::Client, String> {
        let mut clients = self.by_source.lock().expect("no panic while held");
        if let Some(client) = clients.get(&source) {
            return Ok(client.clone());
        }
        let client = reqwest::Client::builder()
            .local_address(source.map(IpAddr::V4))
            .tcp_nodelay(true)
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|err| format!("cannot build an HTTP client: {err}"))?;
        clients.insert(source, client.clone());
        Ok(client)
    }
}

/// Why a stream did not open.
#[derive(Debug)]
pub enum OpenError {
    /// The source address has no ephemeral port left.
    AddrNotAvailable,
    Other(String),
}

/// The event-stream URL of the gateway whose WebSocket URL is `ws_url`.
pub fn url_for(ws_url: &str, addr: SocketAddr) -> String {
    let path = ws_url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split_once('/'))
        .map_or("", |(_, path)| path);
    let query = path.split_once('?').map_or("", |(_, query)| query);
    let separator = if query.is_empty() { "" } else { "?" };
    format!("http://{addr}/dashboard/sse{separator}{query}")
}

fn is_addr_not_available(err: &reqwest::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::AddrNotAvailable;
        }
        source = cause.source();
    }
    false
}

fn short_error(err: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io.kind().to_string();
        }
        source = cause.source();
    }
    if err.is_timeout() {
        "timed out".into()
    } else if err.is_body() || err.is_decode() {
        "body error".into()
    } else {
        "request error".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(incoming: Option<Incoming>) -> String {
        match incoming {
            Some(Incoming::Text(text)) => text.as_str().to_owned(),
            other => panic!("a text frame, not {other:?}"),
        }
    }

    #[test]
    fn an_event_is_its_data_lines_joined_and_its_id_is_ignored() {
        let frame = r#"{"type":"event","id":"17-2","event":{"bench_seq":3}}"#;
        let block = format!("id: 17-2\ndata: {frame}");
        assert_eq!(text(parse_event(block.as_bytes())), frame);
        assert_eq!(text(parse_event(b"data: a\ndata: b")), "a\nb");
        assert_eq!(text(parse_event(b"data:no space")), "no space");
    }

    #[test]
    fn comments_are_nothing_and_a_close_event_is_its_code() {
        assert_eq!(parse_event(b": ping"), None);
        let close = br#"event: close
data: {"code":4001,"reason":"slow consumer"}"#;
        assert_eq!(parse_event(close), Some(Incoming::Close(4001)));
        assert_eq!(
            parse_event(b"event: close\ndata: {}"),
            Some(Incoming::Close(1005))
        );
    }

    #[test]
    fn a_body_is_cut_at_blank_lines_even_across_chunks() {
        let mut pending = Pending::default();
        pending.push(b"data: one\n\n: ping\n\ndata: tw");
        assert_eq!(text(pending.take_event()), "one");
        assert_eq!(
            pending.take_event(),
            None,
            "the ping is skipped, two is incomplete"
        );
        pending.push(b"o\n\ndata: three\n");
        assert_eq!(text(pending.take_event()), "two");
        assert_eq!(pending.take_event(), None);
        pending.push(b"\n");
        assert_eq!(text(pending.take_event()), "three");
        assert!(pending.bytes[pending.cut..].is_empty());
    }

    #[test]
    fn the_stream_url_is_beside_the_websocket_one() {
        let addr: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        assert_eq!(
            url_for("ws://127.0.0.1:9000/dashboard/ws", addr),
            "http://127.0.0.1:9000/dashboard/sse"
        );
        assert_eq!(
            url_for("ws://localhost:9000/dashboard/ws?last_id=1-0", addr),
            "http://127.0.0.1:9000/dashboard/sse?last_id=1-0"
        );
    }
}
