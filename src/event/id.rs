//! The id of a relayed event: where it sits in the one ordered history.
//!
//! In Redis mode it is the entry id of the stream that records every event,
//! so every gateway on that Redis gives an event the same id and a client can
//! resume on any of them; on the in-process bus the hub numbers events the
//! same way (`<ms>-<seq>`). Ids compare in relay order.

use std::fmt;
use std::str::FromStr;

/// Unix milliseconds and a sequence within that millisecond, written
/// `ms-seq` like a Redis stream id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    pub ms: i64,
    pub seq: u64,
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl FromStr for EventId {
    type Err = ();

    /// Parses `ms-seq`.
    fn from_str(text: &str) -> Result<EventId, ()> {
        let (ms, seq) = text.split_once('-').ok_or(())?;
        Ok(EventId {
            ms: ms.parse().map_err(|_| ())?,
            seq: seq.parse().map_err(|_| ())?,
        })
    }
}

impl EventId {
    /// The id after `previous`, at wall-clock time `now_ms`. Never goes
    /// backwards, even when the clock does.
    pub fn next(previous: Option<EventId>, now_ms: i64) -> EventId {
        match previous {
            Some(prev) if now_ms <= prev.ms => EventId {
                ms: prev.ms,
                seq: prev.seq + 1,
            },
            _ => EventId { ms: now_ms, seq: 0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_print_and_never_go_back() {
        let id = EventId { ms: 5, seq: 1 };
        assert_eq!("5-1".parse::<EventId>(), Ok(id));
        assert_eq!(id.to_string(), "5-1");
        assert!("5".parse::<EventId>().is_err());
        assert!("a-1".parse::<EventId>().is_err());
        assert_eq!(EventId::next(None, 9), EventId { ms: 9, seq: 0 });
        assert_eq!(EventId::next(Some(id), 9), EventId { ms: 9, seq: 0 });
        assert_eq!(
            EventId::next(Some(id), 3),
            EventId { ms: 5, seq: 2 },
            "clock went back"
        );
    }
}
