//! What a benchmark client reads out of each frame, cheaply.
//!
//! The load generator shares the machine's two cores with the gateway, so a
//! client does not parse whole frames as JSON. It reads the frame's `type`
//! from the fixed prefix every gateway frame starts with (`{"type":"…"`),
//! and finds the event's sequence number and send time by searching, from
//! the end, for the two fields the publisher puts last in every event
//! (`…,"bench_seq":N,"bench_sent_us":T}`). The gateway relays the
//! publisher's JSON byte for byte inside its `event` frame, and the Python
//! baseline relays it bare, so the same search works for both. This costs a
//! few hundred nanoseconds a frame instead of a few microseconds for a full
//! parse.

/// Field carrying the event's sequence number (0-based, in publish order).
pub const SEQ_FIELD: &str = "\"bench_seq\":";
/// Field carrying the publish time, in microseconds since the Unix epoch.
pub const SENT_FIELD: &str = "\"bench_sent_us\":";

/// What one frame is, as far as the benchmark cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// `welcome`: the first frame of a Tactical Link connection.
    Welcome,
    /// `snapshot` or `resumed`: the client now has the current state and
    /// the live stream follows. Its embedded events are not deliveries.
    Start,
    /// An event the benchmark published.
    Bench(Probe),
    /// Anything else (`bus`, `pong`, events of other publishers).
    Other,
}

/// The benchmark fields of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub seq: u64,
    pub sent_us: u64,
}

/// Classifies one text frame.
pub fn classify(text: &str) -> FrameKind {
    match frame_type(text) {
        Some("welcome") => FrameKind::Welcome,
        Some("snapshot" | "resumed") => FrameKind::Start,
        _ => probe(text).map_or(FrameKind::Other, FrameKind::Bench),
    }
}

/// The `type` of a frame that starts `{"type":"…"` (as every gateway frame
/// does), without parsing the rest.
pub fn frame_type(text: &str) -> Option<&str> {
    let rest = text.strip_prefix(r#"{"type":""#)?;
    let end = rest.find('"')?;
    Some(&rest[..end])
}

/// The sequence number and send time of a benchmark event, wherever it is
/// in the frame (the last occurrence wins, so a frame that embeds older
/// events still yields its own).
pub fn probe(text: &str) -> Option<Probe> {
    let at = text.rfind(SEQ_FIELD)?;
    let (seq, rest) = leading_number(&text[at + SEQ_FIELD.len()..])?;
    let rest = rest.trim_start_matches([',', ' ']);
    let rest = rest.strip_prefix(SENT_FIELD)?;
    let (sent_us, _) = leading_number(rest)?;
    Some(Probe { seq, sent_us })
}

/// Parses the decimal digits at the start of `text`.
fn leading_number(text: &str) -> Option<(u64, &str)> {
    let text = text.trim_start_matches(' ');
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    let value = text[..digits].parse().ok()?;
    Some((value, &text[digits..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_seq_and_send_time_in_a_gateway_event_frame() {
        let frame = r#"{"type":"event","id":"1764342000123-0","received_at":"2026-11-28T15:00:00.125Z","pipeline":{"run_id":"bench-1","stage":"radar","status":"processing"},"event":{"type":"pipeline.stage","run_id":"bench-1","stage":"radar","status":"processing","bench_seq":42,"bench_sent_us":1764342000123456}}"#;
        assert_eq!(
            classify(frame),
            FrameKind::Bench(Probe {
                seq: 42,
                sent_us: 1_764_342_000_123_456
            })
        );
    }

    #[test]
    fn finds_them_in_a_bare_event_as_the_baseline_relays_it() {
        let frame = r#"{"type":"bench.tick","bench_seq":0, "bench_sent_us": 17}"#;
        assert_eq!(
            probe(frame),
            Some(Probe {
                seq: 0,
                sent_us: 17
            })
        );
        assert!(matches!(classify(frame), FrameKind::Bench(_)));
    }

    #[test]
    fn control_frames_are_not_deliveries_even_when_they_embed_events() {
        assert_eq!(
            classify(r#"{"type":"welcome","protocol":1}"#),
            FrameKind::Welcome
        );
        let snapshot = r#"{"type":"snapshot","last_id":"1-0","recent_events":[{"type":"event","event":{"type":"x","bench_seq":1,"bench_sent_us":2}}]}"#;
        assert_eq!(classify(snapshot), FrameKind::Start);
        assert_eq!(
            classify(r#"{"type":"resumed","replayed":0}"#),
            FrameKind::Start
        );
        assert_eq!(classify(r#"{"type":"bus","state":"up"}"#), FrameKind::Other);
    }

    #[test]
    fn malformed_or_foreign_events_are_other() {
        assert_eq!(
            classify(r#"{"type":"event","event":{"type":"x"}}"#),
            FrameKind::Other
        );
        assert_eq!(probe(r#"{"bench_seq":"7","bench_sent_us":1}"#), None);
        assert_eq!(probe(r#"{"bench_seq":7}"#), None);
        assert_eq!(
            probe(r#"{"bench_seq":7,"other":1,"bench_sent_us":1}"#),
            None
        );
        assert_eq!(
            probe(r#"{"bench_seq":99999999999999999999999,"bench_sent_us":1}"#),
            None
        );
        assert_eq!(frame_type("not json"), None);
    }
}
