//! Fuzzes `tactical_link::frames::parse_client_frame`, the parser of every
//! text frame a WebSocket client sends (before and after authentication).
//!
//! Besides "does not panic, does not hang", it checks that what the parser
//! returns really comes from the frame, that the replies built from it are
//! JSON, and compares every verdict against an independent reading of the
//! frame with `serde_json::Value`.

#![no_main]

mod common;

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tactical_link::frames::{ClientFrame, error_frame, parse_client_frame, pong_frame};

use common::{field, has_duplicate, is_json, top_level_keys};

/// The fields the parser reads; a duplicate of one of them is refused.
const READ: [&str; 3] = ["type", "nonce", "token"];

fuzz_target!(|data: &[u8]| {
    // WebSocket text frames are UTF-8; the server refuses anything else
    // before this parser sees it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let result = parse_client_frame(text);
    let object = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    };

    match &result {
        Ok(ClientFrame::Ping { nonce }) => {
            // The nonce is echoed verbatim: it must be a JSON value taken
            // from the frame, and the pong must be JSON.
            if let Some(nonce) = nonce {
                assert!(within(text, nonce.get()), "nonce not from the frame");
                assert!(is_json(nonce.get()), "nonce is not JSON");
                assert_ne!(nonce.get(), "null", "a null nonce is no nonce");
            }
            let pong = pong_frame(*nonce);
            assert!(is_json(pong.as_str()), "pong is not JSON: {}", pong.as_str());
            if let Some(object) = &object {
                assert_eq!(field(object, "type").and_then(Value::as_str), Some("ping"));
                let pong: Value = serde_json::from_str(pong.as_str()).expect("pong");
                assert_eq!(pong["type"], "pong");
                assert_eq!(
                    pong["nonce"],
                    field(object, "nonce").cloned().unwrap_or(Value::Null),
                    "pong does not echo the nonce"
                );
            }
        }
        Ok(ClientFrame::Auth { token }) => {
            // The token is verified as a JWT: it must be the frame's `token`,
            // decoded, and borrowed from the frame when it had no escapes.
            if let Cow::Borrowed(borrowed) = token {
                assert!(within(text, borrowed), "token not from the frame");
                assert!(text.contains(&format!("\"{borrowed}\"")));
            }
            if let Some(object) = &object {
                assert_eq!(field(object, "type").and_then(Value::as_str), Some("auth"));
                assert_eq!(
                    field(object, "token").and_then(Value::as_str),
                    Some(token.as_ref()),
                    "token differs from the frame's"
                );
            }
        }
        Err(message) => {
            // The message goes back to the client in an error frame; it must
            // stay short whatever the frame, and the frame must be JSON.
            assert!(
                message.len() <= common::MAX_ERROR_MESSAGE,
                "error message of {} bytes for a {}-byte frame",
                message.len(),
                text.len()
            );
            let reply = error_frame("bad_frame", message);
            let reply: Value = serde_json::from_str(reply.as_str()).expect("error frame");
            assert_eq!(reply["message"], message.as_str());
        }
    }

    if !text.trim_start().starts_with('{') {
        assert!(result.is_err(), "accepted a frame that is not an object");
    }
    if !is_json(text) {
        assert!(result.is_err(), "accepted a frame that is not JSON");
    }

    // The verdict docs/protocol.md calls for, when serde_json can tell.
    let Some(object) = &object else { return };
    let Some(keys) = top_level_keys(text) else { return };
    if has_duplicate(&keys, &READ) {
        return;
    }
    let token = field(object, "token");
    let token_is_str = matches!(token, None | Some(Value::String(_)));
    match object.get("type").and_then(Value::as_str) {
        Some("ping") if token_is_str => assert!(
            matches!(result, Ok(ClientFrame::Ping { .. })),
            "ping refused: {:?}",
            result.err()
        ),
        Some("auth") if token.is_some_and(Value::is_string) => assert!(
            matches!(result, Ok(ClientFrame::Auth { .. })),
            "auth refused: {:?}",
            result.err()
        ),
        Some("auth") => assert!(result.is_err(), "auth without a string token accepted"),
        Some("ping") => {}
        _ => assert!(result.is_err(), "accepted a frame of unknown type"),
    }
});

/// Whether `inner` is a slice of `outer`.
fn within(outer: &str, inner: &str) -> bool {
    let (start, end) = (outer.as_ptr() as usize, outer.as_ptr() as usize + outer.len());
    let at = inner.as_ptr() as usize;
    at >= start && at + inner.len() <= end
}
