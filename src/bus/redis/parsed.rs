//! Events the recorder has validated, by payload, for the stream reader.
//!
//! The recorder validates every message before recording it. The stream
//! reader often brings the same event first (its `XREAD` answers as soon as
//! the entry is added, before the recorder's pipeline reply), or brings it
//! later because it did not follow the last relayed event. Either way the
//! reader takes the recorder's parse from here instead of parsing the
//! payload again: an event is parsed once per gateway. Identical payloads
//! parse identically, so keying by payload is exact.
//!
//! Bounded: at most [`CAPACITY`] events, the oldest forgotten first (the
//! reader then parses that one itself).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::event::ValidEvent;

/// Most events kept: two full recorder pipelines.
pub const CAPACITY: usize = 1024;

/// See the module documentation.
#[derive(Default)]
pub struct Parsed {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Payload → its event and how many copies are held.
    events: HashMap<Arc<[u8]>, (ValidEvent, usize)>,
    /// Insertion order, for eviction.
    order: VecDeque<Arc<[u8]>>,
}

impl Parsed {
    /// Keeps `event`, parsed from `payload`, for the reader.
    pub fn keep(&self, payload: &[u8], event: &ValidEvent) {
        let mut inner = self.inner.lock();
        let key: Arc<[u8]> = Arc::from(payload);
        inner
            .events
            .entry(key.clone())
            .or_insert_with(|| (event.clone(), 0))
            .1 += 1;
        inner.order.push_back(key);
        while inner.order.len() > CAPACITY {
            let oldest = inner.order.pop_front().expect("longer than the capacity");
            inner.release(&oldest);
        }
    }

    /// Takes the event parsed from `payload`, if it is kept.
    pub fn take(&self, payload: &[u8]) -> Option<ValidEvent> {
        let mut inner = self.inner.lock();
        let event = inner.events.get(payload)?.0.clone();
        let position = inner.order.iter().position(|key| **key == *payload);
        if let Some(key) = position.and_then(|at| inner.order.remove(at)) {
            inner.release(&key);
        }
        Some(event)
    }

    /// Forgets one copy of `payload` (relayed without the reader's help).
    pub fn forget(&self, payload: &[u8]) {
        let _ = self.take(payload);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.inner.lock().order.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn release(&mut self, key: &[u8]) {
        if let Some(entry) = self.events.get_mut(key) {
            entry.1 -= 1;
            if entry.1 == 0 {
                self.events.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::parse_event;

    fn event(text: &str) -> ValidEvent {
        parse_event(text.as_bytes(), 1024).unwrap()
    }

    #[test]
    fn an_event_is_taken_once_per_copy_kept() {
        let parsed = Parsed::default();
        let a = r#"{"type":"a"}"#;
        parsed.keep(a.as_bytes(), &event(a));
        parsed.keep(a.as_bytes(), &event(a));
        assert_eq!(parsed.take(a.as_bytes()).unwrap().raw, a);
        assert_eq!(parsed.take(a.as_bytes()).unwrap().raw, a);
        assert!(parsed.take(a.as_bytes()).is_none());
        assert!(parsed.is_empty());
    }

    #[test]
    fn the_oldest_are_forgotten_past_the_capacity() {
        let parsed = Parsed::default();
        for n in 0..CAPACITY + 10 {
            let text = format!(r#"{{"type":"e{n}"}}"#);
            parsed.keep(text.as_bytes(), &event(&text));
        }
        assert_eq!(parsed.len(), CAPACITY);
        assert!(parsed.take(br#"{"type":"e0"}"#).is_none());
        assert!(parsed.take(br#"{"type":"e10"}"#).is_some());
        parsed.forget(br#"{"type":"e11"}"#);
        assert!(parsed.take(br#"{"type":"e11"}"#).is_none());
    }
}
