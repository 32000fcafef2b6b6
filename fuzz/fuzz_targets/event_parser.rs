//! Fuzzes `tactical_link::event::parse_event`, the validation of every
//! message a publisher puts on the bus.
//!
//! Besides "does not panic, does not hang", it checks what the rest of the
//! gateway relies on (see the comments below), and compares every verdict
//! against an independent reading of the input with `serde_json::Value`.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tactical_link::clock;
use tactical_link::event::{
    MAX_NESTING, MAX_RUN_ID_BYTES, PIPELINE_STAGE_TYPE, Rejection, Stage, Status, ValidEvent,
    parse_event,
};

use common::{depth, field, has_duplicate, is_json, top_level_keys};

/// The gateway's default limit.
const LIMIT: usize = 64 * 1024;

/// The fields the parser interprets; a duplicate of one of them is refused.
const INTERPRETED: [&str; 8] = [
    "type", "run_id", "stage", "status", "detail", "ts", "tenant", "user_id",
];

const STAGES: [&str; 6] = ["radar", "analyst", "advisor", "actuator", "quality", "report"];
const STATUSES: [&str; 4] = ["idle", "processing", "complete", "error"];

/// What `clock::format_ms` writes when a time is beyond what it can format.
const FORMAT_FALLBACK: &str = "1970-01-01T00:00:00.000Z";

fuzz_target!(|data: &[u8]| {
    let result = parse_event(data, LIMIT);
    assert_same(&result, &parse_event(data, LIMIT), "parsing twice");

    // The limit is applied first and alone: under it, the verdict does not
    // depend on the limit; over it, the message is refused as too large.
    let small = usize::from(data.first().copied().unwrap_or(0));
    let limited = parse_event(data, small);
    if data.len() > small {
        assert_eq!(
            limited.unwrap_err(),
            Rejection::TooLarge {
                size: data.len(),
                limit: small
            }
        );
    } else {
        assert_same(&limited, &result, "small limit");
    }
    if data.len() > LIMIT {
        assert_eq!(
            result.unwrap_err(),
            Rejection::TooLarge {
                size: data.len(),
                limit: LIMIT
            }
        );
        return;
    }

    match &result {
        Ok(event) => check_accepted(data, event),
        Err(rejection) => check_rejected(data, rejection),
    }

    if let Some(expected) = expected_verdict(data) {
        let got = result.as_ref().map(|_| ()).map_err(Rejection::reason);
        assert_eq!(
            got,
            expected,
            "verdict differs from serde_json's reading of {:?}; rejection: {:?}",
            String::from_utf8_lossy(data),
            result.as_ref().err()
        );
    }
});

/// Invariants of an accepted event.
fn check_accepted(data: &[u8], event: &ValidEvent) {
    // The publisher's bytes are relayed verbatim, spliced into frames: they
    // must be exactly the input, one JSON object, within the limit.
    assert_eq!(event.raw.as_bytes(), data, "raw is not the input");
    assert!(event.raw.len() <= LIMIT);
    assert!(is_json(&event.raw), "accepted text is not JSON");
    assert!(
        event.raw.trim_start().starts_with('{'),
        "accepted JSON is not an object"
    );

    if let Some(update) = &event.pipeline {
        assert!(STAGES.contains(&update.stage.as_str()));
        assert!(STATUSES.contains(&update.status.as_str()));
        assert_eq!(Stage::parse(update.stage.as_str()), Some(update.stage));
        assert_eq!(Status::parse(update.status.as_str()), Some(update.status));
        assert!(!update.run_id.trim().is_empty());
        assert!(update.run_id.len() <= MAX_RUN_ID_BYTES);
    }
    for part in [&event.scope.tenant, &event.scope.user_id]
        .into_iter()
        .flatten()
    {
        assert!(!part.is_empty() && part.len() <= MAX_RUN_ID_BYTES);
    }

    // The publisher's time is subtracted from the gateway's clock (latency)
    // and written into run states as RFC 3339: it must be a time the clock
    // can format, not a number that overflows or turns into 1970.
    if let Some(published) = event.published_at {
        let ms = published.unix_ms;
        assert!(
            ms == 0 || clock::format_ms(ms) != FORMAT_FALLBACK,
            "published time {ms} ms cannot be formatted"
        );
        assert!(
            clock::now_ms().checked_sub(ms).is_some(),
            "published time {ms} ms overflows the latency"
        );
    }

    // Against serde_json's reading, when it has one (it refuses lone
    // surrogates in fields the gateway does not read; those events are
    // valid JSON and are relayed).
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(&event.raw) else {
        return;
    };
    assert!(depth(&Value::Object(object.clone())) <= MAX_NESTING);
    let Some(Value::String(kind)) = field(&object, "type") else {
        panic!("accepted an event without a string `type`");
    };
    assert_eq!(event.pipeline.is_some(), kind == PIPELINE_STAGE_TYPE);
    if let Some(update) = &event.pipeline {
        assert_eq!(str_field(&object, "run_id"), Some(update.run_id.as_str()));
        let stage = str_field(&object, "stage").expect("stage");
        assert!(update.stage.as_str().eq_ignore_ascii_case(stage));
        let status = str_field(&object, "status").expect("status");
        assert!(update.status.as_str().eq_ignore_ascii_case(status));
        assert_eq!(str_field(&object, "detail"), update.detail.as_deref());
        if let Some(Value::String(_)) = field(&object, "ts") {
            assert!(event.published_at.is_some(), "pipeline ts string ignored");
        }
    }
    assert_eq!(str_field(&object, "tenant"), event.scope.tenant.as_deref());
    assert_eq!(str_field(&object, "user_id"), event.scope.user_id.as_deref());
    match (field(&object, "ts"), event.published_at) {
        (None, published) => assert_eq!(published, None, "ts from nowhere"),
        (Some(Value::String(text)), published) => {
            assert_eq!(published.map(|p| p.unix_ms), clock::parse_rfc3339_ms(text))
        }
        (Some(Value::Number(number)), Some(published)) => {
            let ms = number
                .as_i64()
                .unwrap_or_else(|| number.as_f64().unwrap() as i64);
            assert_eq!(published.unix_ms, ms);
        }
        (Some(Value::Number(number)), None) => {
            // Only a number beyond the years RFC 3339 can write is ignored.
            let ms = number.as_f64().unwrap();
            assert!(
                !(rfc3339_min_ms() as f64..=rfc3339_max_ms() as f64).contains(&ms),
                "ts {number} ignored"
            );
        }
        (Some(_), published) => assert_eq!(published, None),
    }
}

/// Invariants of a rejection.
fn check_rejected(data: &[u8], rejection: &Rejection) {
    assert!(Rejection::REASONS.contains(&rejection.reason()));
    let message = rejection.to_string();
    assert!(
        message.len() <= common::MAX_ERROR_MESSAGE,
        "rejection message of {} bytes for a {}-byte input",
        message.len(),
        data.len()
    );
    assert_eq!(
        matches!(rejection, Rejection::NotUtf8),
        std::str::from_utf8(data).is_err()
    );
}

/// The verdict the format (docs/events.md) calls for, read independently
/// with `serde_json::Value`. `None` when that reading cannot tell: JSON that
/// `Value` refuses but the grammar allows, or a duplicated interpreted field.
fn expected_verdict(data: &[u8]) -> Option<Result<(), &'static str>> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Some(Err("not_utf8"));
    };
    let value = match serde_json::from_str::<Value>(text) {
        Ok(value) => value,
        Err(_) if !is_json(text) => return Some(Err("not_json")),
        Err(_) => return None,
    };
    let Value::Object(object) = &value else {
        return Some(Err("not_object"));
    };
    if has_duplicate(&top_level_keys(text)?, &INTERPRETED) {
        return None;
    }
    if depth(&value) > MAX_NESTING {
        return Some(Err("too_deep"));
    }
    let Some(Value::String(kind)) = field(object, "type") else {
        return Some(Err("missing_type"));
    };
    if kind == PIPELINE_STAGE_TYPE && !pipeline_is_valid(object) {
        return Some(Err("invalid_pipeline"));
    }
    for name in ["tenant", "user_id"] {
        match field(object, name) {
            None => {}
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_RUN_ID_BYTES => {}
            Some(_) => return Some(Err("invalid_scope")),
        }
    }
    Some(Ok(()))
}

fn pipeline_is_valid(object: &serde_json::Map<String, Value>) -> bool {
    let known = |names: &[&str], name: Option<&str>| {
        name.is_some_and(|name| names.iter().any(|n| n.eq_ignore_ascii_case(name)))
    };
    let run_id_ok = str_field(object, "run_id")
        .is_some_and(|id| !id.trim().is_empty() && id.len() <= MAX_RUN_ID_BYTES);
    let detail_ok = matches!(field(object, "detail"), None | Some(Value::String(_)));
    let ts_ok = match field(object, "ts") {
        None | Some(Value::Number(_)) => true,
        Some(Value::String(text)) => clock::parse_rfc3339_ms(text).is_some(),
        Some(_) => false,
    };
    run_id_ok
        && known(&STAGES, str_field(object, "stage"))
        && known(&STATUSES, str_field(object, "status"))
        && detail_ok
        && ts_ok
}

fn str_field<'a>(object: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a str> {
    field(object, name).and_then(Value::as_str)
}

fn rfc3339_min_ms() -> i64 {
    clock::parse_rfc3339_ms("0000-01-01T00:00:00Z").unwrap()
}

fn rfc3339_max_ms() -> i64 {
    clock::parse_rfc3339_ms("9999-12-31T23:59:59.999Z").unwrap()
}

fn assert_same(a: &Result<ValidEvent, Rejection>, b: &Result<ValidEvent, Rejection>, what: &str) {
    match (a, b) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.raw, b.raw, "{what}");
            assert_eq!(a.pipeline, b.pipeline, "{what}");
            assert_eq!(a.published_at, b.published_at, "{what}");
            assert_eq!(a.scope, b.scope, "{what}");
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "{what}"),
        _ => panic!("{what}: {:?} vs {:?}", a.as_ref().err(), b.as_ref().err()),
    }
}
