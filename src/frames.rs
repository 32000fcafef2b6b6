//! The frames of the WebSocket protocol (docs/protocol.md), as bytes.
//!
//! Server frames are serialised once and shared by every connection: a
//! [`Frame`] is a reference-counted UTF-8 buffer, so fanning it out to ten
//! thousand clients copies a pointer, not the JSON.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::clock;
use crate::event::{PipelineUpdate, Scope};
use crate::pipeline::RunState;

/// A serialised server frame, cheap to clone.
pub type Frame = Utf8Bytes;

/// A frame on its way to clients, with who may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    pub frame: Frame,
    pub scope: Scope,
    /// When the hub relayed it, for the delivery latency metric.
    pub relayed_at: std::time::Instant,
    /// Not 0 for a frame that only reports a stage's progress: a client
    /// that is behind may skip it when a later frame has the same key.
    pub conflate: u64,
}

impl Outbound {
    /// A frame every connection may see (bus changes, for instance).
    pub fn public(frame: Frame) -> Outbound {
        Outbound::scoped(frame, Scope::default())
    }

    /// A frame the connections of `scope` may see.
    pub fn scoped(frame: Frame, scope: Scope) -> Outbound {
        Outbound {
            frame,
            scope,
            relayed_at: std::time::Instant::now(),
            conflate: 0,
        }
    }
}

/// Version of the frame format, sent in `welcome`. Version 2: event frames
/// carry their run's new state (`run`), snapshots `max_runs`, and `run`
/// frames report stalls.
pub const PROTOCOL_VERSION: u32 = 2;

/// `tactical-link/<version>`, as the server names itself.
pub const SERVER_NAME: &str = concat!("tactical-link/", env!("CARGO_PKG_VERSION"));

/// Which event bus the gateway reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BusKind {
    Memory,
    Redis,
}

/// The state of the gateway's link to its event bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusState {
    pub up: bool,
    pub kind: BusKind,
    pub since_ms: i64,
    pub detail: Option<String>,
}

impl BusState {
    /// The body of a `bus` frame (also embedded in snapshots and /api/status).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "bus",
            "state": if self.up { "up" } else { "down" },
            "kind": self.kind,
            "since": clock::format_ms(self.since_ms),
            "detail": self.detail,
            // Redis pub/sub drops what is published while nobody listens.
            "lossy": self.kind == BusKind::Redis,
        })
    }

    pub fn frame(&self) -> Frame {
        Frame::from(self.to_json().to_string())
    }
}

/// Serialises an `event` frame around the publisher's JSON `raw`, which the
/// event parser has validated and which is spliced in byte for byte.
pub fn event_frame(
    id: &str,
    received_ms: i64,
    pipeline: Option<&PipelineUpdate>,
    run: Option<&str>,
    raw: &str,
) -> Frame {
    let mut out = String::with_capacity(raw.len() + 160);
    out.push_str(r#"{"type":"event","id":"#);
    push_json_str(&mut out, id);
    out.push_str(r#","received_at":""#);
    out.push_str(&clock::format_ms(received_ms));
    out.push('"');
    if let Some(p) = pipeline {
        out.push_str(r#","pipeline":{"run_id":"#);
        push_json_str(&mut out, &p.run_id);
        out.push_str(r#","stage":""#);
        out.push_str(p.stage.as_str());
        out.push_str(r#"","status":""#);
        out.push_str(p.status.as_str());
        out.push_str(r#""}"#);
    }
    if let Some(run) = run {
        out.push_str(r#","run":"#);
        out.push_str(run);
    }
    out.push_str(r#","event":"#);
    out.push_str(raw);
    out.push('}');
    Frame::from(out)
}

fn push_json_str(out: &mut String, value: &str) {
    out.push_str(&serde_json::to_string(value).expect("a string serialises"));
}

/// Serialises a `run` frame: a change of a run's state that no event
/// caused (a stage stalled, or no longer), as the `run` of an event frame.
pub fn run_frame(run: &str) -> Frame {
    let mut out = String::with_capacity(run.len() + 24);
    out.push_str(r#"{"type":"run","run":"#);
    out.push_str(run);
    out.push('}');
    Frame::from(out)
}

/// Serialises the `welcome` frame.
pub fn welcome_frame(
    session: &str,
    heartbeat_ms: u64,
    max_client_frame_bytes: usize,
    auth_required: bool,
) -> Frame {
    Frame::from(
        serde_json::json!({
            "type": "welcome",
            "protocol": PROTOCOL_VERSION,
            "server": SERVER_NAME,
            "session": session,
            "heartbeat_ms": heartbeat_ms,
            "max_client_frame_bytes": max_client_frame_bytes,
            "auth": if auth_required { "required" } else { "none" },
        })
        .to_string(),
    )
}

/// Serialises the `authenticated` frame: who the gateway takes the client
/// for, and until when.
pub fn authenticated_frame(principal: &crate::auth::Principal) -> Frame {
    Frame::from(
        serde_json::json!({
            "type": "authenticated",
            "sub": principal.sub,
            "tenant": principal.tenant,
            "roles": principal.roles,
            "expires_at": principal.expires_at.map(|s| clock::format_ms(s * 1000)),
        })
        .to_string(),
    )
}

/// Serialises a `snapshot` frame. `recent` are already-serialised event
/// frames, oldest first; they are spliced in without re-parsing.
pub fn snapshot_frame<'a>(
    last_id: Option<&str>,
    bus: &BusState,
    (runs, max_runs): (&[&RunState], usize),
    recent: impl Iterator<Item = &'a Frame>,
    resume_failed: Option<&str>,
) -> Frame {
    let mut out = String::with_capacity(4096);
    out.push_str(r#"{"type":"snapshot","last_id":"#);
    out.push_str(&serde_json::to_string(&last_id).expect("string serialises"));
    out.push_str(r#","resume_failed":"#);
    out.push_str(&serde_json::to_string(&resume_failed).expect("string serialises"));
    out.push_str(r#","bus":"#);
    out.push_str(&bus.to_json().to_string());
    out.push_str(r#","max_runs":"#);
    out.push_str(&max_runs.to_string());
    out.push_str(r#","runs":"#);
    out.push_str(&serde_json::to_string(runs).expect("runs serialise"));
    out.push_str(r#","recent_events":["#);
    for (i, frame) in recent.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(frame.as_str());
    }
    out.push_str("]}");
    Frame::from(out)
}

/// Serialises the `resumed` frame that precedes the events a resuming
/// client missed.
pub fn resumed_frame(last_id: &str, replayed: usize, bus: &BusState) -> Frame {
    Frame::from(
        serde_json::json!({
            "type": "resumed",
            "last_id": last_id,
            "replayed": replayed,
            "bus": bus.to_json(),
        })
        .to_string(),
    )
}

/// Serialises a `pong` answering a client ping.
pub fn pong_frame(nonce: Option<&RawValue>) -> Frame {
    let nonce = nonce.map(RawValue::get).unwrap_or("null");
    Frame::from(format!(r#"{{"type":"pong","nonce":{nonce}}}"#))
}

/// Serialises an `error` frame about a client frame.
pub fn error_frame(code: &str, message: &str) -> Frame {
    Frame::from(serde_json::json!({"type": "error", "code": code, "message": message}).to_string())
}

/// A frame a client sent.
#[derive(Debug)]
pub enum ClientFrame<'a> {
    Ping {
        nonce: Option<&'a RawValue>,
    },
    /// A token: the first frame of a browser, or a renewal later.
    Auth {
        token: std::borrow::Cow<'a, str>,
    },
}

#[derive(Deserialize)]
struct ClientHead<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    nonce: Option<&'a RawValue>,
    #[serde(borrow, default)]
    token: Option<std::borrow::Cow<'a, str>>,
}

/// Parses a client's text frame. The error says what was wrong, for an
/// `error` frame back to the client.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame<'_>, String> {
    if !text.trim_start().starts_with('{') {
        return Err("a client frame must be a JSON object".into());
    }
    let head: ClientHead<'_> =
        serde_json::from_str(text).map_err(|err| format!("invalid client frame: {err}"))?;
    match head.kind.as_ref() {
        "ping" => Ok(ClientFrame::Ping { nonce: head.nonce }),
        "auth" => match head.token {
            Some(token) => Ok(ClientFrame::Auth { token }),
            None => Err("an auth frame needs a string `token`".into()),
        },
        other => Err(format!(
            "unknown client frame type {:?}",
            crate::event::truncate(other, 40)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_frame_embeds_the_original_event_verbatim() {
        let raw = r#"{"type":"pipeline.stage","run_id":"r","stage":"RADAR","status":"IDLE","x":  [1, 2]}"#;
        let update = crate::event::parse_event(raw.as_bytes(), 1024)
            .unwrap()
            .pipeline
            .unwrap();
        let run = r#"{"key":"//r","version":1}"#;
        let frame = event_frame("5-0", 1_795_878_000_123, Some(&update), Some(run), raw);
        assert!(frame.as_str().contains(raw), "{}", frame.as_str());
        let json: serde_json::Value = serde_json::from_str(frame.as_str()).unwrap();
        assert_eq!(json["type"], "event");
        assert_eq!(json["id"], "5-0");
        assert_eq!(json["received_at"], "2026-11-28T15:00:00.123Z");
        assert_eq!(json["pipeline"]["stage"], "radar");
        assert_eq!(json["pipeline"]["status"], "idle");
        assert_eq!(json["run"]["version"], 1);
        assert_eq!(json["event"]["stage"], "RADAR");
    }

    #[test]
    fn client_frames_parse_or_say_why_not() {
        assert!(matches!(
            parse_client_frame(r#"{"type":"ping","nonce":7}"#),
            Ok(ClientFrame::Ping { nonce: Some(n) }) if n.get() == "7"
        ));
        assert!(parse_client_frame("hello").is_err());
        assert!(
            parse_client_frame(r#"{"type":"dance"}"#)
                .unwrap_err()
                .contains("dance")
        );
        assert!(parse_client_frame(r#"{"nonce":1}"#).is_err());
    }

    #[test]
    fn pong_echoes_the_nonce() {
        let frame = pong_frame(Some(&RawValue::from_string("\"abc\"".into()).unwrap()));
        assert_eq!(frame.as_str(), r#"{"type":"pong","nonce":"abc"}"#);
        assert_eq!(pong_frame(None).as_str(), r#"{"type":"pong","nonce":null}"#);
    }
}
