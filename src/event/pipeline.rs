//! The fields of a `pipeline.stage` event: which run, which stage, what
//! status, and the optional ordering (`seq`, `attempt`) and progress
//! (`progress`, `eta`) fields. Each wrong field is refused with a reason that
//! names it.

use super::{Field, Head, MAX_RUN_ID_BYTES, PipelineUpdate, Rejection, Stage, Status, truncate};

/// Highest `attempt` accepted.
const MAX_ATTEMPT: i64 = 1_000_000;
/// Highest `seq` accepted: the largest integer a JavaScript number holds
/// exactly, so that every client reads it back as sent.
const MAX_SEQ: i64 = (1 << 53) - 1;
/// Longest `eta` accepted, in seconds (a year).
const MAX_ETA_S: f64 = 365.0 * 24.0 * 3600.0;

fn invalid(message: impl Into<String>) -> Rejection {
    Rejection::InvalidPipeline(message.into())
}

/// The pipeline part of an event whose `type` is `pipeline.stage`.
pub(super) fn parse(head: &Head<'_>) -> Result<PipelineUpdate, Rejection> {
    let status = status(head)?;
    let progress = number_in("progress", head.progress.as_ref(), 0.0, 100.0)?;
    let eta_s = number_in("eta", head.eta.as_ref(), 0.0, MAX_ETA_S)?;
    if status != Status::Processing && (progress.is_some() || eta_s.is_some()) {
        return Err(invalid(
            "`progress` and `eta` belong to processing events only",
        ));
    }
    check_ts(head)?;
    Ok(PipelineUpdate {
        run_id: run_id(head)?,
        stage: stage(head)?,
        status,
        detail: detail(head)?,
        attempt: whole("attempt", head.attempt.as_ref(), 1, MAX_ATTEMPT)?.map(|n| n as u32),
        seq: whole("seq", head.seq.as_ref(), 0, MAX_SEQ)?.map(|n| n as u64),
        progress: progress.map(|p| p as f32),
        eta_s,
    })
}

fn run_id(head: &Head<'_>) -> Result<String, Rejection> {
    match head.run_id.as_ref() {
        Some(Field::Str(s)) if s.len() > MAX_RUN_ID_BYTES => Err(invalid(format!(
            "`run_id` is longer than {MAX_RUN_ID_BYTES} bytes"
        ))),
        Some(Field::Str(s)) if s.trim().is_empty() => Err(invalid("`run_id` is empty")),
        Some(Field::Str(s)) => Ok(s.to_string()),
        Some(_) => Err(invalid("`run_id` must be a string")),
        None => Err(invalid("`run_id` is missing")),
    }
}

/// A required string field.
fn name<'h>(field: &'static str, value: Option<&'h Field<'_>>) -> Result<&'h str, Rejection> {
    value
        .ok_or_else(|| invalid(format!("`{field}` is missing")))?
        .as_str()
        .ok_or_else(|| invalid(format!("`{field}` must be a string")))
}

fn stage(head: &Head<'_>) -> Result<Stage, Rejection> {
    let text = name("stage", head.stage.as_ref())?;
    Stage::parse(text).ok_or_else(|| {
        invalid(format!(
            "unknown stage {:?} (expected one of radar, analyst, advisor, actuator, quality, report)",
            truncate(text, 40)
        ))
    })
}

fn status(head: &Head<'_>) -> Result<Status, Rejection> {
    let text = name("status", head.status.as_ref())?;
    Status::parse(text).ok_or_else(|| {
        invalid(format!(
            "unknown status {:?} (expected one of idle, processing, complete, error)",
            truncate(text, 40)
        ))
    })
}

fn detail(head: &Head<'_>) -> Result<Option<String>, Rejection> {
    match head.detail.as_ref() {
        None => Ok(None),
        Some(Field::Str(s)) => Ok(Some(s.to_string())),
        Some(_) => Err(invalid("`detail` must be a string")),
    }
}

/// A number is always accepted as `ts` (one beyond the years RFC 3339 can
/// write is ignored); a string must be an RFC 3339 time.
fn check_ts(head: &Head<'_>) -> Result<(), Rejection> {
    let malformed = |ts: &Field<'_>| match ts {
        Field::Int(_) | Field::Float(_) => false,
        _ => super::parse_ts(ts).is_none(),
    };
    if head.ts.as_ref().is_some_and(malformed) {
        return Err(invalid(
            "`ts` must be an RFC 3339 time or Unix milliseconds",
        ));
    }
    Ok(())
}

/// An optional whole number from `min` to `max`.
fn whole(
    field: &'static str,
    value: Option<&Field<'_>>,
    min: i64,
    max: i64,
) -> Result<Option<i64>, Rejection> {
    match value {
        None => Ok(None),
        Some(Field::Int(n)) if (min..=max).contains(n) => Ok(Some(*n)),
        Some(Field::Float(f)) if f.fract() == 0.0 && (min as f64..=max as f64).contains(f) => {
            Ok(Some(*f as i64))
        }
        Some(_) => Err(invalid(format!(
            "`{field}` must be a whole number from {min} to {max}"
        ))),
    }
}

/// An optional number from `min` to `max`.
fn number_in(
    field: &'static str,
    value: Option<&Field<'_>>,
    min: f64,
    max: f64,
) -> Result<Option<f64>, Rejection> {
    let number = match value {
        None => return Ok(None),
        Some(Field::Int(n)) => *n as f64,
        Some(Field::Float(f)) => *f,
        Some(_) => return Err(invalid(format!("`{field}` must be a number"))),
    };
    if (min..=max).contains(&number) {
        Ok(Some(number))
    } else {
        Err(invalid(format!("`{field}` must be from {min} to {max}")))
    }
}

#[cfg(test)]
mod tests {
    use crate::event::{Rejection, parse_event};

    fn pipeline(extra: &str, status: &str) -> Result<crate::event::PipelineUpdate, Rejection> {
        let text = format!(
            r#"{{"type":"pipeline.stage","run_id":"r","stage":"analyst","status":"{status}"{extra}}}"#
        );
        parse_event(text.as_bytes(), 65536).map(|event| event.pipeline.unwrap())
    }

    #[test]
    fn ordering_and_progress_fields_are_read() {
        let update = pipeline(
            r#","attempt":2,"seq":17,"progress":42.5,"eta":90"#,
            "processing",
        )
        .unwrap();
        assert_eq!(update.attempt, Some(2));
        assert_eq!(update.seq, Some(17));
        assert_eq!(update.progress, Some(42.5));
        assert_eq!(update.eta_s, Some(90.0));
        let plain = pipeline("", "complete").unwrap();
        assert_eq!(
            (plain.attempt, plain.seq, plain.progress),
            (None, None, None)
        );
    }

    #[test]
    fn wrong_ordering_and_progress_fields_are_refused_with_their_name() {
        for (extra, status, name) in [
            (r#","progress":101"#, "processing", "progress"),
            (r#","progress":-1"#, "processing", "progress"),
            (r#","progress":"half""#, "processing", "progress"),
            (r#","progress":50"#, "complete", "progress"),
            (r#","eta":-5"#, "processing", "eta"),
            (r#","attempt":"two""#, "processing", "attempt"),
            (r#","attempt":0"#, "processing", "attempt"),
            (r#","attempt":1.5"#, "processing", "attempt"),
            (r#","seq":-1"#, "processing", "seq"),
            (r#","seq":null"#, "processing", "seq"),
        ] {
            let rejection = pipeline(extra, status).unwrap_err();
            assert_eq!(rejection.reason(), "invalid_pipeline", "{extra}");
            assert!(rejection.to_string().contains(name), "{extra}: {rejection}");
        }
    }
}
