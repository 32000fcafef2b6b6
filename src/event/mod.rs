//! The event format publishers send, and its validation.
//!
//! An event is a JSON object with a string `type`. Objects of type
//! `pipeline.stage` are interpreted (run, stage, status); any other type is a
//! generic event, relayed untouched. Validation never copies the event: the
//! gateway keeps the publisher's bytes and embeds them verbatim in what it
//! sends on, so unknown fields and letter case survive exactly.
//! See docs/events.md for the format and schema.

mod build;
mod id;

pub use build::StageEvent;
pub use id::EventId;

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::IgnoredAny;

/// The `type` of the events the gateway interprets.
pub const PIPELINE_STAGE_TYPE: &str = "pipeline.stage";

/// Default largest event accepted, in bytes.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 64 * 1024;

/// Deepest nesting of arrays and objects accepted in an event. Deeper
/// documents are refused: the gateway's parser would cope, but browsers and
/// other consumers downstream may not.
pub const MAX_NESTING: usize = 64;

/// Longest `run_id` accepted, in bytes.
pub const MAX_RUN_ID_BYTES: usize = 128;

/// The six pipeline stages, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    Radar,
    Analyst,
    Advisor,
    Actuator,
    Quality,
    Report,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::Radar,
        Stage::Analyst,
        Stage::Advisor,
        Stage::Actuator,
        Stage::Quality,
        Stage::Report,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Radar => "radar",
            Stage::Analyst => "analyst",
            Stage::Advisor => "advisor",
            Stage::Actuator => "actuator",
            Stage::Quality => "quality",
            Stage::Report => "report",
        }
    }

    /// Parses a stage name in any letter case.
    pub fn parse(name: &str) -> Option<Stage> {
        Stage::ALL
            .into_iter()
            .find(|stage| stage.as_str().eq_ignore_ascii_case(name))
    }

    /// Position in the pipeline, 0 for radar.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status of one stage of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Idle,
    Processing,
    Complete,
    Error,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Idle,
        Status::Processing,
        Status::Complete,
        Status::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Idle => "idle",
            Status::Processing => "processing",
            Status::Complete => "complete",
            Status::Error => "error",
        }
    }

    /// Parses a status name in any letter case.
    pub fn parse(name: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a message was not relayed. Each reason is counted separately.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("message is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("message is not valid UTF-8")]
    NotUtf8,
    #[error("message is not valid JSON: {0}")]
    NotJson(String),
    #[error("message is JSON but not an object")]
    NotObject,
    #[error("message nests arrays and objects deeper than {MAX_NESTING} levels")]
    TooDeep,
    #[error("event has no string field `type`")]
    MissingType,
    #[error("pipeline event is invalid: {0}")]
    InvalidPipeline(String),
    #[error("`{0}` must be a non-empty string of at most {MAX_RUN_ID_BYTES} bytes")]
    InvalidScope(&'static str),
}

impl Rejection {
    /// Short stable name, used as a metrics label.
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::TooLarge { .. } => "too_large",
            Rejection::NotUtf8 => "not_utf8",
            Rejection::NotJson(_) => "not_json",
            Rejection::NotObject => "not_object",
            Rejection::TooDeep => "too_deep",
            Rejection::MissingType => "missing_type",
            Rejection::InvalidPipeline(_) => "invalid_pipeline",
            Rejection::InvalidScope(_) => "invalid_scope",
        }
    }

    pub const REASONS: [&'static str; 8] = [
        "too_large",
        "not_utf8",
        "not_json",
        "not_object",
        "too_deep",
        "missing_type",
        "invalid_pipeline",
        "invalid_scope",
    ];
}

/// An event's time as the publisher gave it in `ts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishedAt {
    /// Unix time in milliseconds.
    pub unix_ms: i64,
}

/// The interpreted part of a valid `pipeline.stage` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineUpdate {
    pub run_id: String,
    pub stage: Stage,
    pub status: Status,
    pub detail: Option<String>,
}

/// Who may see an event: its `tenant` and `user_id` fields. An event with
/// neither is seen by every authenticated connection; see
/// [`crate::auth::Principal::sees`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope {
    pub tenant: Option<Arc<str>>,
    pub user_id: Option<Arc<str>>,
}

impl Scope {
    pub fn is_public(&self) -> bool {
        self.tenant.is_none() && self.user_id.is_none()
    }
}

/// A message that passed validation: the publisher's bytes plus what the
/// gateway understood of them.
#[derive(Debug, Clone)]
pub struct ValidEvent {
    /// The publisher's JSON text, unchanged.
    pub raw: String,
    /// `Some` for `pipeline.stage` events.
    pub pipeline: Option<PipelineUpdate>,
    /// The event's `ts`, when it had a valid one.
    pub published_at: Option<PublishedAt>,
    /// Who may see it.
    pub scope: Scope,
}

/// The fields validation looks at; everything else is skipped unread. A
/// field that is present is `Some` whatever its value, `null` included:
/// `"tenant": null` is a tenant that is not a string, not a missing one.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow, default, deserialize_with = "present")]
    kind: Option<Field<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    run_id: Option<Field<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    stage: Option<Field<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    status: Option<Field<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    detail: Option<Field<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    ts: Option<Field<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    tenant: Option<Field<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    user_id: Option<Field<'a>>,
}

/// Deserialises a present field, `null` included, as `Some`.
fn present<'de: 'a, 'a, D>(deserializer: D) -> Result<Option<Field<'a>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Field::deserialize(deserializer).map(Some)
}

/// A field value, kept loose so that a wrong type is reported by name
/// instead of as a parse error.
#[derive(Deserialize)]
#[serde(untagged)]
enum Field<'a> {
    Str(#[serde(borrow)] std::borrow::Cow<'a, str>),
    Int(i64),
    Float(f64),
    Other(IgnoredAny),
}

impl Field<'_> {
    fn as_str(&self) -> Option<&str> {
        match self {
            Field::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Validates one message from the bus. `max_bytes` is the size limit.
pub fn parse_event(bytes: &[u8], max_bytes: usize) -> Result<ValidEvent, Rejection> {
    if bytes.len() > max_bytes {
        return Err(Rejection::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| Rejection::NotUtf8)?;
    // A derived struct would also accept a JSON array; insist on an object.
    match text.trim_start().as_bytes().first() {
        Some(b'{') => {}
        Some(_) => {
            // Still distinguish "not JSON at all" from "JSON, not an object".
            return match serde_json::from_str::<IgnoredAny>(text) {
                Ok(_) => Err(Rejection::NotObject),
                Err(err) => Err(Rejection::NotJson(err.to_string())),
            };
        }
        None => return Err(Rejection::NotJson("empty message".into())),
    }
    let head: Head<'_> =
        serde_json::from_str(text).map_err(|err| Rejection::NotJson(err.to_string()))?;
    if nesting_depth(text) > MAX_NESTING {
        return Err(Rejection::TooDeep);
    }
    let kind = head
        .kind
        .as_ref()
        .and_then(Field::as_str)
        .ok_or(Rejection::MissingType)?;
    let published_at = head.ts.as_ref().and_then(parse_ts);
    let pipeline = if kind == PIPELINE_STAGE_TYPE {
        Some(parse_pipeline(&head)?)
    } else {
        None
    };
    let scope = Scope {
        tenant: scope_field("tenant", head.tenant.as_ref())?,
        user_id: scope_field("user_id", head.user_id.as_ref())?,
    };
    Ok(ValidEvent {
        raw: text.to_owned(),
        pipeline,
        published_at,
        scope,
    })
}

/// A `tenant` or `user_id`: absent, or a sensible string. Anything else is
/// refused rather than taken as "no restriction".
fn scope_field(
    name: &'static str,
    field: Option<&Field<'_>>,
) -> Result<Option<Arc<str>>, Rejection> {
    match field {
        None => Ok(None),
        Some(Field::Str(s)) if !s.is_empty() && s.len() <= MAX_RUN_ID_BYTES => {
            Ok(Some(Arc::from(s.as_ref())))
        }
        Some(_) => Err(Rejection::InvalidScope(name)),
    }
}

fn parse_pipeline(head: &Head<'_>) -> Result<PipelineUpdate, Rejection> {
    let invalid = |msg: String| Rejection::InvalidPipeline(msg);
    let run_id = match head.run_id.as_ref() {
        Some(Field::Str(s)) if !s.trim().is_empty() && s.len() <= MAX_RUN_ID_BYTES => s.to_string(),
        Some(Field::Str(s)) if s.len() > MAX_RUN_ID_BYTES => {
            return Err(invalid(format!(
                "`run_id` is longer than {MAX_RUN_ID_BYTES} bytes"
            )));
        }
        Some(Field::Str(_)) => return Err(invalid("`run_id` is empty".into())),
        Some(_) => return Err(invalid("`run_id` must be a string".into())),
        None => return Err(invalid("`run_id` is missing".into())),
    };
    let stage_name = head
        .stage
        .as_ref()
        .ok_or_else(|| invalid("`stage` is missing".into()))?
        .as_str()
        .ok_or_else(|| invalid("`stage` must be a string".into()))?;
    let stage = Stage::parse(stage_name).ok_or_else(|| {
        invalid(format!(
            "unknown stage {:?} (expected one of radar, analyst, advisor, actuator, quality, report)",
            truncate(stage_name, 40)
        ))
    })?;
    let status_name = head
        .status
        .as_ref()
        .ok_or_else(|| invalid("`status` is missing".into()))?
        .as_str()
        .ok_or_else(|| invalid("`status` must be a string".into()))?;
    let status = Status::parse(status_name).ok_or_else(|| {
        invalid(format!(
            "unknown status {:?} (expected one of idle, processing, complete, error)",
            truncate(status_name, 40)
        ))
    })?;
    let detail = match head.detail.as_ref() {
        None => None,
        Some(Field::Str(s)) => Some(s.to_string()),
        Some(_) => return Err(invalid("`detail` must be a string".into())),
    };
    // A number is always accepted (parse_ts ignores one beyond the years
    // RFC 3339 can write); a string must be an RFC 3339 time.
    let malformed_ts = |ts: &Field<'_>| match ts {
        Field::Int(_) | Field::Float(_) => false,
        _ => parse_ts(ts).is_none(),
    };
    if head.ts.as_ref().is_some_and(malformed_ts) {
        return Err(invalid(
            "`ts` must be an RFC 3339 time or Unix milliseconds".into(),
        ));
    }
    Ok(PipelineUpdate {
        run_id,
        stage,
        status,
        detail,
    })
}

/// Earliest Unix milliseconds accepted in a numeric `ts`:
/// 0000-01-01T00:00:00.000Z, the first instant RFC 3339 can write.
const MIN_TS_MS: i64 = -62_167_219_200_000;

/// Latest Unix milliseconds accepted in a numeric `ts`:
/// 9999-12-31T23:59:59.999Z, the last instant RFC 3339 can write.
const MAX_TS_MS: i64 = 253_402_300_799_999;

/// The event's time, when `ts` holds a usable one. A number beyond the years
/// RFC 3339 can write is no time at all (it could not be written into a run's
/// state, and subtracting it from the clock could overflow): it is ignored,
/// as if absent, and the receive time stands in.
fn parse_ts(field: &Field<'_>) -> Option<PublishedAt> {
    let unix_ms = match field {
        Field::Str(s) => {
            return crate::clock::parse_rfc3339_ms(s).map(|unix_ms| PublishedAt { unix_ms });
        }
        Field::Int(ms) => *ms,
        Field::Float(ms) if (MIN_TS_MS as f64..=MAX_TS_MS as f64).contains(ms) => *ms as i64,
        _ => return None,
    };
    (MIN_TS_MS..=MAX_TS_MS)
        .contains(&unix_ms)
        .then_some(PublishedAt { unix_ms })
}

/// The deepest nesting of arrays and objects in a valid JSON text, in one
/// pass over its bytes (brackets inside strings do not count).
fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &byte in text.as_bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Cuts `text` to at most `max` bytes on a character boundary, for logs.
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ValidEvent, Rejection> {
        parse_event(text.as_bytes(), DEFAULT_MAX_EVENT_BYTES)
    }

    #[test]
    fn pipeline_event_in_any_case_is_understood_and_kept_verbatim() {
        let text = r#"{"type":"pipeline.stage","run_id":"run-42","stage":"ANALYST","status":"Processing","detail":"Scoring 48 leads","extra":{"a":[1,2]}}"#;
        let event = parse(text).unwrap();
        assert_eq!(event.raw, text);
        let update = event.pipeline.unwrap();
        assert_eq!(update.run_id, "run-42");
        assert_eq!(update.stage, Stage::Analyst);
        assert_eq!(update.status, Status::Processing);
        assert_eq!(update.detail.as_deref(), Some("Scoring 48 leads"));
    }

    #[test]
    fn generic_event_is_valid_without_pipeline_fields() {
        let event = parse(r#"{"type":"deploy.finished","stage":"whatever"}"#).unwrap();
        assert!(event.pipeline.is_none());
    }

    #[test]
    fn ts_accepts_rfc3339_and_unix_ms() {
        let a = parse(r#"{"type":"x","ts":"2026-11-28T15:00:00.123Z"}"#).unwrap();
        assert_eq!(a.published_at.unwrap().unix_ms, 1_795_878_000_123);
        let b = parse(r#"{"type":"x","ts":1795878000123}"#).unwrap();
        assert_eq!(b.published_at.unwrap().unix_ms, 1_795_878_000_123);
    }

    #[test]
    fn ts_beyond_the_years_rfc3339_can_write_is_ignored() {
        // Found by the event_parser fuzz target: such a time was kept, then
        // written as 1970 in the run's state; and a ts of i64::MIN (or a
        // large negative float, which saturates to it) overflowed the ingest
        // latency, receive time minus ts.
        for text in [
            r#"{"type":"","ts":599999999175465}"#,
            r#"{"type":"x","ts":9223372036854775807}"#,
            r#"{"type":"x","ts":-9223372036854775808}"#,
            r#"{"type":"x","ts":18446744073709551615}"#,
            r#"{"type":"x","ts":-1.5e300}"#,
            r#"{"type":"x","ts":253402300800000}"#,
            r#"{"type":"x","ts":-62167219200001}"#,
        ] {
            let event = parse(text).unwrap();
            assert_eq!(event.published_at, None, "{text}");
        }
        let pipeline = parse(
            r#"{"type":"pipeline.stage","run_id":"r","stage":"radar","status":"idle","ts":1e300}"#,
        )
        .unwrap();
        assert!(pipeline.pipeline.is_some(), "a number is still a valid ts");
        assert_eq!(pipeline.published_at, None);

        let first = crate::clock::parse_rfc3339_ms("0000-01-01T00:00:00.000Z").unwrap();
        let last = crate::clock::parse_rfc3339_ms("9999-12-31T23:59:59.999Z").unwrap();
        assert_eq!((first, last), (MIN_TS_MS, MAX_TS_MS));
        for ms in [MIN_TS_MS, MAX_TS_MS] {
            let event = parse(&format!(r#"{{"type":"x","ts":{ms}}}"#)).unwrap();
            assert_eq!(event.published_at, Some(PublishedAt { unix_ms: ms }));
        }
    }

    #[test]
    fn every_kind_of_invalid_message_is_rejected_with_its_reason() {
        let cases: [(&[u8], &str); 12] = [
            (b"not json", "not_json"),
            (b"", "not_json"),
            (b"[1,2,3]", "not_object"),
            (b"\"text\"", "not_object"),
            (b"{\"type\":", "not_json"),
            (b"{\"no_type\":1}", "missing_type"),
            (b"{\"type\":7}", "missing_type"),
            (b"\xff\xfe{}", "not_utf8"),
            (
                br#"{"type":"pipeline.stage","run_id":"r","stage":"cooking","status":"idle"}"#,
                "invalid_pipeline",
            ),
            (
                br#"{"type":"pipeline.stage","run_id":"r","stage":"radar","status":"done"}"#,
                "invalid_pipeline",
            ),
            (
                br#"{"type":"pipeline.stage","stage":"radar","status":"idle"}"#,
                "invalid_pipeline",
            ),
            (
                br#"{"type":"pipeline.stage","run_id":"r","stage":"radar","status":"idle","ts":"yesterday"}"#,
                "invalid_pipeline",
            ),
        ];
        for (input, reason) in cases {
            let err = parse_event(input, DEFAULT_MAX_EVENT_BYTES).unwrap_err();
            assert_eq!(
                err.reason(),
                reason,
                "input {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn tenant_and_user_id_scope_an_event_and_must_be_strings() {
        let event = parse(r#"{"type":"x","tenant":"acme","user_id":"alice"}"#).unwrap();
        assert_eq!(event.scope.tenant.as_deref(), Some("acme"));
        assert_eq!(event.scope.user_id.as_deref(), Some("alice"));
        assert!(parse(r#"{"type":"x"}"#).unwrap().scope.is_public());
        // A present scope that is not a non-empty string is refused, `null`
        // included: taking it for "absent" would make the event public.
        for bad in [
            r#"{"type":"x","tenant":7}"#,
            r#"{"type":"x","tenant":""}"#,
            r#"{"type":"x","tenant":null}"#,
            r#"{"type":"x","user_id":null}"#,
            r#"{"type":"x","tenant":"acme","user_id":null}"#,
            r#"{"type":"pipeline.stage","run_id":"r","stage":"radar","status":"idle","tenant":null}"#,
            r#"{"type":"x","user_id":["alice"]}"#,
        ] {
            assert_eq!(parse(bad).unwrap_err().reason(), "invalid_scope", "{bad}");
        }
    }

    #[test]
    fn oversized_message_is_rejected_before_parsing() {
        let big = format!(r#"{{"type":"x","pad":"{}"}}"#, "a".repeat(100));
        let err = parse_event(big.as_bytes(), 50).unwrap_err();
        assert_eq!(err.reason(), "too_large");
    }

    #[test]
    fn deeply_nested_json_is_rejected_not_a_crash() {
        let deep = format!(
            r#"{{"type":"x","v":{}{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert_eq!(parse(&deep).unwrap_err().reason(), "too_deep");
        let ok = format!(r#"{{"type":"x","v":{}{}}}"#, "[".repeat(63), "]".repeat(63));
        assert!(
            parse(&ok).is_ok(),
            "64 levels with the outer object are allowed"
        );
        let too = format!(r#"{{"type":"x","v":{}{}}}"#, "[".repeat(64), "]".repeat(64));
        assert_eq!(parse(&too).unwrap_err().reason(), "too_deep");
        let brackets_in_strings = format!(
            r#"{{"type":"x","v":"{}\"{}"}}"#,
            "[".repeat(100),
            "{".repeat(100)
        );
        assert!(parse(&brackets_in_strings).is_ok());
    }

    #[test]
    fn null_is_a_value_of_the_wrong_type_not_an_absent_field() {
        let cases = [
            (r#"{"type":null}"#, "missing_type"),
            (
                r#"{"type":"pipeline.stage","run_id":null,"stage":"radar","status":"idle"}"#,
                "invalid_pipeline",
            ),
            (
                r#"{"type":"pipeline.stage","run_id":"r","stage":null,"status":"idle"}"#,
                "invalid_pipeline",
            ),
            (
                r#"{"type":"pipeline.stage","run_id":"r","stage":"radar","status":null}"#,
                "invalid_pipeline",
            ),
            (
                r#"{"type":"pipeline.stage","run_id":"r","stage":"radar","status":"idle","detail":null}"#,
                "invalid_pipeline",
            ),
            (
                r#"{"type":"pipeline.stage","run_id":"r","stage":"radar","status":"idle","ts":null}"#,
                "invalid_pipeline",
            ),
        ];
        for (text, reason) in cases {
            assert_eq!(parse(text).unwrap_err().reason(), reason, "{text}");
        }
        let message = parse(cases[1].0).unwrap_err().to_string();
        assert!(message.contains("`run_id` must be a string"), "{message}");
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
