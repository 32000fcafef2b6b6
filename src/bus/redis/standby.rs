//! What a gateway that does not hold the recorder lease keeps of the
//! channel: the valid messages of the last [`WINDOW`], so that when it takes
//! the lease over it records, first, those the previous holder may not have
//! recorded before it died. The record script de-duplicates the rest (the
//! previous holder reported them), so nothing is recorded twice and a
//! takeover loses only what no standby received.
//!
//! Bounded by age, count and bytes; the oldest go first.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::event::ValidEvent;

/// How long a standby keeps a message: a lease, a renewal, and a margin
/// for a holder whose last pipeline was still in flight.
pub const WINDOW: Duration = Duration::from_secs(6);
/// Most messages kept.
const MAX_COUNT: usize = 20_000;
/// Most bytes of messages kept.
const MAX_BYTES: usize = 32 * 1024 * 1024;

/// See the module documentation.
#[derive(Default)]
pub struct Standby {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    events: VecDeque<(Instant, Arc<ValidEvent>)>,
    bytes: usize,
}

impl Standby {
    /// Keeps `events`, received now.
    pub fn keep(&self, events: &[Arc<ValidEvent>]) {
        let now = Instant::now();
        let mut kept = self.kept.lock();
        for event in events {
            kept.bytes += event.raw.len();
            kept.events.push_back((now, event.clone()));
        }
        kept.trim(now);
    }

    /// Everything kept, oldest first, and forgets it.
    pub fn take(&self) -> Vec<Arc<ValidEvent>> {
        let mut kept = self.kept.lock();
        kept.trim(Instant::now());
        kept.bytes = 0;
        kept.events.drain(..).map(|(_, event)| event).collect()
    }
}

impl Kept {
    fn trim(&mut self, now: Instant) {
        while let Some((at, event)) = self.events.front() {
            let old = now.duration_since(*at) > WINDOW;
            if !(old || self.events.len() > MAX_COUNT || self.bytes > MAX_BYTES) {
                break;
            }
            self.bytes -= event.raw.len();
            self.events.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::parse_event;

    #[test]
    fn a_standby_keeps_what_it_received_in_order_and_forgets_it_once_taken() {
        let standby = Standby::default();
        let event =
            |n: u32| Arc::new(parse_event(format!(r#"{{"type":"e{n}"}}"#).as_bytes(), 64).unwrap());
        standby.keep(&[event(1), event(2)]);
        standby.keep(&[event(3)]);
        let taken: Vec<String> = standby.take().iter().map(|e| e.raw.clone()).collect();
        assert_eq!(
            taken,
            [r#"{"type":"e1"}"#, r#"{"type":"e2"}"#, r#"{"type":"e3"}"#]
        );
        assert!(standby.take().is_empty());
    }
}
