//! Events the recorder has validated, for the stream reader.
//!
//! The recorder validates every message before recording it. The stream
//! reader often brings the same event first (its `XREAD` answers as soon as
//! the entry is added, before the recorder's pipeline reply), or brings it
//! later because it did not follow the last relayed event. Either way the
//! reader takes the recorder's parse from here instead of parsing the
//! payload again: an event is parsed once per gateway. Events are shared,
//! not copied, and found by a hash of their payload, then compared whole
//! (identical payloads parse identically, so any copy will do).
//!
//! Bounded: at most [`CAPACITY`] events, the oldest forgotten first (the
//! reader then parses that one itself).

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::event::ValidEvent;

/// Most events kept: two full recorder pipelines.
pub const CAPACITY: usize = 1024;

/// See the module documentation.
#[derive(Default)]
pub struct Parsed {
    events: Mutex<VecDeque<(u64, Arc<ValidEvent>)>>,
}

fn hash(payload: &[u8]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    payload.hash(&mut hasher);
    hasher.finish()
}

impl Parsed {
    /// Keeps `event` (parsed from its own `raw` text) for the reader.
    pub fn keep(&self, event: &Arc<ValidEvent>) {
        let mut events = self.events.lock();
        events.push_back((hash(event.raw.as_bytes()), event.clone()));
        if events.len() > CAPACITY {
            events.pop_front();
        }
    }

    /// Takes an event parsed from `payload`, if one is kept.
    pub fn take(&self, payload: &[u8]) -> Option<Arc<ValidEvent>> {
        let wanted = hash(payload);
        let mut events = self.events.lock();
        let at = events
            .iter()
            .position(|(hash, event)| *hash == wanted && event.raw.as_bytes() == payload)?;
        events.remove(at).map(|(_, event)| event)
    }

    /// Forgets one copy of `payload` (relayed without the reader's help).
    pub fn forget(&self, payload: &[u8]) {
        let _ = self.take(payload);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.events.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::parse_event;

    fn event(text: &str) -> Arc<ValidEvent> {
        Arc::new(parse_event(text.as_bytes(), 1024).unwrap())
    }

    #[test]
    fn an_event_is_taken_once_per_copy_kept() {
        let parsed = Parsed::default();
        let a = r#"{"type":"a"}"#;
        parsed.keep(&event(a));
        parsed.keep(&event(a));
        assert_eq!(parsed.take(a.as_bytes()).unwrap().raw, a);
        assert_eq!(parsed.take(a.as_bytes()).unwrap().raw, a);
        assert!(parsed.take(a.as_bytes()).is_none());
        assert_eq!(parsed.len(), 0);
    }

    #[test]
    fn the_oldest_are_forgotten_past_the_capacity() {
        let parsed = Parsed::default();
        for n in 0..CAPACITY + 10 {
            parsed.keep(&event(&format!(r#"{{"type":"e{n}"}}"#)));
        }
        assert_eq!(parsed.len(), CAPACITY);
        assert!(parsed.take(br#"{"type":"e0"}"#).is_none());
        assert!(parsed.take(br#"{"type":"e10"}"#).is_some());
        parsed.forget(br#"{"type":"e11"}"#);
        assert!(parsed.take(br#"{"type":"e11"}"#).is_none());
    }
}
