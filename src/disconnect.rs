//! Every close code the gateway sends, why it sends each, and what a client
//! should do about it.
//!
//! One place for the numbers, so the connection, the documentation
//! (docs/protocol.md, "Close codes", checked against [`TABLE`] by a test)
//! and the dashboard's `closeCodes.ts` speak of the same codes by the same
//! names. The codes fall in two groups, as [`kind`] says: those after which
//! a client reconnects (with back-off, resuming from the last event id it
//! saw, except a slow consumer: [`resumes`]) and the terminal ones, after
//! which reconnecting cannot help until something changes (the client's
//! code, or its token). The gateway's own codes follow that split by
//! range: 4000–4499 reconnect, 4500–4999 are terminal.

use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes, protocol::CloseFrame};

use crate::auth::AuthError;

/// Normal closure (the gateway does not send it; listed for clients).
pub const NORMAL: u16 = 1000;
/// The gateway is shutting down.
pub const GOING_AWAY: u16 = 1001;
/// The client broke the WebSocket protocol.
pub const PROTOCOL_ERROR: u16 = 1002;
/// The client sent a binary frame.
pub const UNSUPPORTED_DATA: u16 = 1003;
/// The client sent a text frame that is not UTF-8.
pub const INVALID_DATA: u16 = 1007;
/// The client broke a rule of the gateway (see [`Disconnect`]'s policy
/// constructors).
pub const POLICY: u16 = 1008;
/// The client sent a frame over `max_client_frame_bytes`.
pub const TOO_BIG: u16 = 1009;
/// The client fell behind the event stream.
pub const SLOW_CONSUMER: u16 = 4001;
/// The client was silent for two heartbeats.
pub const HEARTBEAT_TIMEOUT: u16 = 4002;
/// The gateway is not ready yet (keys or history loading).
pub const TRY_AGAIN_LATER: u16 = 4013;
/// The client's token expired without renewal.
pub const TOKEN_EXPIRED: u16 = 4401;
/// No `auth` frame arrived within the auth timeout.
pub const AUTH_TIMEOUT: u16 = 4408;
/// The token was refused, or revoked while the connection was open.
pub const AUTH_FAILED: u16 = 4501;

/// What a client does after a close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Reconnect with back-off, resuming from the last event id it saw
    /// (except after [`SLOW_CONSUMER`]: see [`resumes`]).
    Reconnect,
    /// Do not reconnect until something changes: a bug fixed in the
    /// client, or a new token.
    Terminal,
}

/// One row of the close code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseCode {
    pub code: u16,
    /// The constant's name, as in `closeCodes.ts`.
    pub name: &'static str,
    pub kind: Kind,
    /// Why the gateway sends it.
    pub meaning: &'static str,
    /// What the client should do.
    pub client_should: &'static str,
}

const fn row(
    code: u16,
    name: &'static str,
    kind: Kind,
    meaning: &'static str,
    client_should: &'static str,
) -> CloseCode {
    CloseCode {
        code,
        name,
        kind,
        meaning,
        client_should,
    }
}

/// Every close code, in order; docs/protocol.md's table lists the same rows.
pub const TABLE: &[CloseCode] = &[
    row(
        NORMAL,
        "NORMAL",
        Kind::Reconnect,
        "normal closure (the gateway does not send it)",
        "reconnect if still wanted",
    ),
    row(
        GOING_AWAY,
        "GOING_AWAY",
        Kind::Reconnect,
        "gateway shutting down",
        "reconnect with back-off",
    ),
    row(
        PROTOCOL_ERROR,
        "PROTOCOL_ERROR",
        Kind::Terminal,
        "WebSocket protocol error",
        "fix the client",
    ),
    row(
        UNSUPPORTED_DATA,
        "UNSUPPORTED_DATA",
        Kind::Terminal,
        "binary frame sent",
        "fix the client",
    ),
    row(
        INVALID_DATA,
        "INVALID_DATA",
        Kind::Terminal,
        "invalid UTF-8 in a text frame",
        "fix the client",
    ),
    row(
        POLICY,
        "POLICY",
        Kind::Terminal,
        "policy: a frame before `auth`, too many connections for this user, \
         client message rate exceeded, a renewal for another user",
        "fix the client / back off",
    ),
    row(
        TOO_BIG,
        "TOO_BIG",
        Kind::Terminal,
        "client frame too large",
        "fix the client",
    ),
    row(
        SLOW_CONSUMER,
        "SLOW_CONSUMER",
        Kind::Reconnect,
        "slow consumer: fell behind and was dropped",
        "reconnect from a fresh snapshot (no `last_id`)",
    ),
    row(
        HEARTBEAT_TIMEOUT,
        "HEARTBEAT_TIMEOUT",
        Kind::Reconnect,
        "heartbeat timeout",
        "reconnect",
    ),
    row(
        TRY_AGAIN_LATER,
        "TRY_AGAIN_LATER",
        Kind::Reconnect,
        "try again later (keys or history still loading)",
        "reconnect with back-off",
    ),
    row(
        TOKEN_EXPIRED,
        "TOKEN_EXPIRED",
        Kind::Reconnect,
        "token expired",
        "get a fresh token, reconnect",
    ),
    row(
        AUTH_TIMEOUT,
        "AUTH_TIMEOUT",
        Kind::Reconnect,
        "no `auth` frame within the auth timeout",
        "reconnect",
    ),
    row(
        AUTH_FAILED,
        "AUTH_FAILED",
        Kind::Terminal,
        "authentication failed (invalid token, or a token revoked while the connection was open)",
        "do not reconnect until the page has a new token",
    ),
];

/// Whether a client that reconnects after `code` resumes from the last
/// event id it saw: after every reconnecting code but [`SLOW_CONSUMER`]. A
/// client that could not keep up starts again from a snapshot rather than
/// a replay of everything it fell behind on.
pub fn resumes(code: u16) -> bool {
    kind(code) == Kind::Reconnect && code != SLOW_CONSUMER
}

/// Whether a client reconnects after `code`. Codes not in [`TABLE`] follow
/// the ranges: 4500–4999 are terminal, anything else (a lost connection,
/// 1006, included) means reconnect.
pub fn kind(code: u16) -> Kind {
    match TABLE.iter().find(|row| row.code == code) {
        Some(row) => row.kind,
        None if (4500..=4999).contains(&code) => Kind::Terminal,
        None => Kind::Reconnect,
    }
}

/// Why the gateway ends a connection: the close frame it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnect {
    pub code: u16,
    pub reason: &'static str,
}

impl Disconnect {
    const fn new(code: u16, reason: &'static str) -> Disconnect {
        Disconnect { code, reason }
    }

    /// The gateway is shutting down.
    pub const fn shutdown() -> Disconnect {
        Disconnect::new(GOING_AWAY, "gateway shutting down")
    }

    /// The client fell behind the ring, or did not take bytes in time.
    pub const fn slow_consumer() -> Disconnect {
        Disconnect::new(SLOW_CONSUMER, "slow consumer: fell behind the event stream")
    }

    /// Nothing heard from the client for two heartbeats.
    pub const fn heartbeat_timeout() -> Disconnect {
        Disconnect::new(HEARTBEAT_TIMEOUT, "heartbeat timeout")
    }

    /// The gateway's history is still loading and the client asked to resume.
    pub const fn history_loading() -> Disconnect {
        Disconnect::new(TRY_AGAIN_LATER, "history not loaded yet: try again")
    }

    /// The token ran out without renewal.
    pub const fn token_expired() -> Disconnect {
        Disconnect::new(TOKEN_EXPIRED, "token expired")
    }

    /// No `auth` frame within the auth timeout.
    pub const fn auth_timeout() -> Disconnect {
        Disconnect::new(AUTH_TIMEOUT, "authentication timeout")
    }

    /// The connection's token was revoked while it was open.
    pub const fn token_revoked() -> Disconnect {
        Disconnect::new(AUTH_FAILED, "token revoked")
    }

    /// The close for a token the verifier refused.
    pub fn token_refused(err: &AuthError) -> Disconnect {
        match err {
            AuthError::Expired => Disconnect::token_expired(),
            AuthError::KeysUnavailable => {
                Disconnect::new(TRY_AGAIN_LATER, "authentication keys not loaded yet")
            }
            AuthError::Throttled => Disconnect::new(
                TRY_AGAIN_LATER,
                "too many failed authentications from this address: try again later",
            ),
            AuthError::Missing | AuthError::Invalid(_) => {
                Disconnect::new(AUTH_FAILED, "authentication failed")
            }
        }
    }

    /// A frame other than `auth` before authentication.
    pub const fn auth_first() -> Disconnect {
        Disconnect::new(
            POLICY,
            "authenticate first: send {\"type\":\"auth\",\"token\":…}",
        )
    }

    /// A renewal `auth` frame with a token for another user or tenant.
    pub const fn renewal_for_another_user() -> Disconnect {
        Disconnect::new(
            POLICY,
            "a renewed token must be for the same user and tenant",
        )
    }

    /// The user already holds its limit of connections.
    pub const fn too_many_connections() -> Disconnect {
        Disconnect::new(POLICY, "too many connections for this user")
    }

    /// More client frames than the message rate allows.
    pub const fn rate_limited() -> Disconnect {
        Disconnect::new(POLICY, "client message rate limit exceeded")
    }

    /// A binary frame from the client.
    pub const fn binary_frame() -> Disconnect {
        Disconnect::new(UNSUPPORTED_DATA, "binary frames are not accepted")
    }

    /// The close owed to a client whose frame could not be read, or `None`
    /// when the peer is gone and there is nobody to tell.
    pub fn after_read_error(err: &tungstenite::Error) -> Option<Disconnect> {
        use tungstenite::Error as WsError;
        use tungstenite::error::ProtocolError;
        match err {
            WsError::Capacity(_) => Some(Disconnect::new(TOO_BIG, "frame too large")),
            WsError::Utf8(_) => Some(Disconnect::new(INVALID_DATA, "invalid UTF-8")),
            // The peer went away without a close frame.
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
            WsError::Protocol(_) => Some(Disconnect::new(PROTOCOL_ERROR, "protocol error")),
            _ => None,
        }
    }

    /// Whether the client should reconnect after this close.
    pub fn kind(&self) -> Kind {
        kind(self.code)
    }

    /// The close frame.
    pub fn message(&self) -> Message {
        Message::Close(Some(CloseFrame {
            code: self.code.into(),
            reason: Utf8Bytes::from_static(self.reason),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of the "Close codes" table of docs/protocol.md, as cells.
    fn documented_rows() -> Vec<Vec<String>> {
        let doc = include_str!("../docs/protocol.md");
        let section = doc
            .split("### Close codes")
            .nth(1)
            .expect("docs/protocol.md has a \"Close codes\" section");
        section
            .lines()
            .skip_while(|line| !line.starts_with('|'))
            .take_while(|line| line.starts_with('|'))
            .skip(2) // the header and its rule
            .map(|line| {
                line.trim_matches('|')
                    .split(" | ")
                    .map(|cell| cell.trim().to_owned())
                    .collect()
            })
            .collect()
    }

    fn table_row(row: &CloseCode) -> Vec<String> {
        let kind = match row.kind {
            Kind::Reconnect => "reconnect",
            Kind::Terminal => "terminal",
        };
        vec![
            row.code.to_string(),
            format!("`{}`", row.name),
            kind.to_owned(),
            row.meaning.to_owned(),
            row.client_should.to_owned(),
        ]
    }

    #[test]
    fn the_documented_table_is_this_table() {
        let expected: Vec<Vec<String>> = TABLE.iter().map(table_row).collect();
        let as_markdown = expected
            .iter()
            .map(|cells| format!("| {} |", cells.join(" | ")))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(
            documented_rows(),
            expected,
            "docs/protocol.md, \"Close codes\", should list exactly:\n{as_markdown}"
        );
    }

    #[test]
    fn codes_are_listed_once_in_order_and_follow_the_ranges() {
        assert!(TABLE.windows(2).all(|pair| pair[0].code < pair[1].code));
        for row in TABLE.iter().filter(|row| row.code >= 4000) {
            let by_range = if row.code >= 4500 {
                Kind::Terminal
            } else {
                Kind::Reconnect
            };
            assert_eq!(row.kind, by_range, "{}", row.name);
        }
        assert_eq!(kind(SLOW_CONSUMER), Kind::Reconnect);
        assert_eq!(kind(AUTH_FAILED), Kind::Terminal);
        assert_eq!(kind(POLICY), Kind::Terminal);
        assert_eq!(kind(1006), Kind::Reconnect, "a lost connection");
        assert_eq!(kind(4999), Kind::Terminal, "by range");
        assert_eq!(kind(4100), Kind::Reconnect, "by range");
        assert!(resumes(GOING_AWAY) && resumes(TOKEN_EXPIRED));
        assert!(!resumes(SLOW_CONSUMER), "a fresh snapshot");
        assert!(!resumes(AUTH_FAILED), "terminal");
    }

    #[test]
    fn every_disconnect_uses_a_listed_code() {
        let all = [
            Disconnect::shutdown(),
            Disconnect::slow_consumer(),
            Disconnect::heartbeat_timeout(),
            Disconnect::history_loading(),
            Disconnect::token_expired(),
            Disconnect::auth_timeout(),
            Disconnect::token_revoked(),
            Disconnect::token_refused(&AuthError::KeysUnavailable),
            Disconnect::token_refused(&AuthError::Invalid("x".into())),
            Disconnect::auth_first(),
            Disconnect::renewal_for_another_user(),
            Disconnect::too_many_connections(),
            Disconnect::rate_limited(),
            Disconnect::binary_frame(),
        ];
        for disconnect in all {
            assert!(
                TABLE.iter().any(|row| row.code == disconnect.code),
                "{disconnect:?}"
            );
            // A close frame's reason is at most 123 bytes (RFC 6455, 5.5).
            assert!(disconnect.reason.len() <= 123, "{disconnect:?}");
        }
        assert_eq!(
            Disconnect::token_refused(&AuthError::Expired).code,
            TOKEN_EXPIRED
        );
        assert_eq!(Disconnect::token_revoked().kind(), Kind::Terminal);
    }

    /// The protocol's close codes as the dashboard's socket client declares
    /// them: every `export const NAME = number;` line of closeCodes.ts.
    fn dashboard_codes() -> Vec<(String, u16)> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/web/packages/client/src/socket/closeCodes.ts"
        );
        let text = std::fs::read_to_string(path).expect("closeCodes.ts");
        text.lines()
            .filter_map(|line| line.strip_prefix("export const "))
            .filter_map(|rest| rest.strip_suffix(';'))
            .filter_map(|rest| rest.split_once(" = "))
            .filter_map(|(name, value)| Some((name.to_owned(), value.parse().ok()?)))
            .collect()
    }

    #[test]
    fn the_dashboard_knows_exactly_the_codes_the_gateway_sends() {
        let ours: Vec<(String, u16)> = TABLE
            .iter()
            .map(|row| (row.name.to_owned(), row.code))
            .collect();
        assert_eq!(
            dashboard_codes(),
            ours,
            "closeCodes.ts and disconnect.rs disagree"
        );
    }
}
