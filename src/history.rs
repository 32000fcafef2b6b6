//! The recent past: the last N relayed event frames, by id.
//!
//! A client that reconnects with the id of the last event it saw is sent
//! exactly the frames after it from here. In Redis mode the same window is
//! kept durably in a Redis stream (trimmed to the same length) and reloaded
//! into this ring when a gateway starts, so resume also works across gateway
//! restarts and from one gateway to another.

use std::collections::VecDeque;

use crate::event::EventId;
use crate::frames::Outbound;

/// Default number of events kept for resume.
pub const DEFAULT_HISTORY_SIZE: usize = 10_000;

/// Default bound on the bytes of frames kept for resume.
pub const DEFAULT_HISTORY_BYTES: usize = 64 * 1024 * 1024;

/// A bounded, id-ordered ring of event frames: at most `capacity` frames
/// and `max_bytes` bytes of them, oldest dropped first.
#[derive(Debug)]
pub struct History {
    frames: VecDeque<(EventId, Outbound)>,
    capacity: usize,
    max_bytes: usize,
    bytes: usize,
}

/// What the history can say about the events after an id.
#[derive(Debug, PartialEq)]
pub enum Since {
    /// These frames, in order (possibly none).
    Frames(Vec<Outbound>),
    /// The id is not in the retained window: older than the oldest event
    /// kept, or never relayed here.
    Unknown,
}

impl History {
    pub fn new(capacity: usize, max_bytes: usize) -> History {
        History {
            frames: VecDeque::with_capacity(capacity.min(1024)),
            capacity: capacity.max(1),
            max_bytes,
            bytes: 0,
        }
    }

    /// Appends a frame; ids must increase.
    pub fn push(&mut self, id: EventId, item: Outbound) {
        debug_assert!(self.frames.back().is_none_or(|(last, _)| *last < id));
        self.bytes += item.frame.len();
        self.frames.push_back((id, item));
        while self.frames.len() > self.capacity
            || (self.bytes > self.max_bytes && self.frames.len() > 1)
        {
            if let Some((_, dropped)) = self.frames.pop_front() {
                self.bytes -= dropped.frame.len();
            }
        }
    }

    /// Where `id` is, when it is retained and its item passes `keep`. An
    /// id whose event the caller may not see is unknown to that caller, as
    /// if it had never been relayed: answering otherwise would tell it that
    /// such an event exists.
    fn position(&self, id: EventId, keep: impl Fn(&Outbound) -> bool) -> Option<usize> {
        let index = self.frames.binary_search_by_key(&id, |(id, _)| *id).ok()?;
        keep(&self.frames[index].1).then_some(index)
    }

    /// The items after `id` that pass `keep`, if `id` is retained and
    /// passes it too.
    pub fn since(&self, id: EventId, keep: impl Fn(&Outbound) -> bool) -> Since {
        match self.position(id, &keep) {
            Some(index) => Since::Frames(
                self.frames
                    .range(index + 1..)
                    .filter(|(_, item)| keep(item))
                    .map(|(_, item)| item.clone())
                    .collect(),
            ),
            None => Since::Unknown,
        }
    }

    /// Up to `limit` items after `after` (from the oldest when `None`)
    /// that pass `keep`. `None` when `after` is not retained, or does not
    /// pass `keep` itself.
    pub fn page(
        &self,
        after: Option<EventId>,
        limit: usize,
        keep: impl Fn(&Outbound) -> bool,
    ) -> Option<Vec<(EventId, Outbound)>> {
        let start = match after {
            None => 0,
            Some(id) => self.position(id, &keep)? + 1,
        };
        Some(
            self.frames
                .range(start..)
                .filter(|(_, item)| keep(item))
                .take(limit)
                .map(|(id, item)| (*id, item.clone()))
                .collect(),
        )
    }

    /// The newest items that pass `keep`, oldest first: at most `n` of
    /// them, and no more than fit in `max_bytes` together (newest first; the
    /// walk stops at the first that does not fit).
    pub fn newest(
        &self,
        n: usize,
        max_bytes: usize,
        keep: impl Fn(&Outbound) -> bool,
    ) -> Vec<&Outbound> {
        let mut budget = max_bytes;
        let mut newest: Vec<&Outbound> = self
            .frames
            .iter()
            .rev()
            .map(|(_, item)| item)
            .filter(|item| keep(item))
            .take(n)
            .take_while(|item| match budget.checked_sub(item.frame.len()) {
                Some(left) => {
                    budget = left;
                    true
                }
                None => false,
            })
            .collect();
        newest.reverse();
        newest
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    pub fn oldest(&self) -> Option<EventId> {
        self.frames.front().map(|(id, _)| *id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::Frame;

    fn item(text: &str) -> Outbound {
        Outbound::public(Frame::from(text.to_owned()))
    }

    fn id(ms: i64) -> EventId {
        EventId { ms, seq: 0 }
    }

    fn filled(capacity: usize, count: i64) -> History {
        let mut history = History::new(capacity, usize::MAX);
        for ms in 1..=count {
            history.push(id(ms), item(&format!("f{ms}")));
        }
        history
    }

    #[test]
    fn since_returns_exactly_the_later_frames() {
        let history = filled(10, 5);
        let Since::Frames(frames) = history.since(id(2), |_| true) else {
            panic!("id 2 is retained")
        };
        let texts: Vec<&str> = frames.iter().map(|f| f.frame.as_str()).collect();
        assert_eq!(texts, ["f3", "f4", "f5"]);
        assert_eq!(history.since(id(5), |_| true), Since::Frames(vec![]));
    }

    #[test]
    fn an_evicted_or_foreign_id_is_unknown() {
        let history = filled(3, 5);
        assert_eq!(history.oldest(), Some(id(3)));
        let all = |_: &Outbound| true;
        assert_eq!(history.since(id(1), all), Since::Unknown, "evicted");
        assert_eq!(history.since(id(99), all), Since::Unknown, "never seen");
        assert_eq!(
            history.since(EventId { ms: 4, seq: 7 }, all),
            Since::Unknown
        );
    }

    #[test]
    fn an_id_the_caller_may_not_see_is_unknown_to_it() {
        let history = filled(10, 5);
        let not_f3 = |item: &Outbound| item.frame.as_str() != "f3";
        assert_eq!(history.since(id(3), not_f3), Since::Unknown);
        assert!(history.page(Some(id(3)), 10, not_f3).is_none());
        let Since::Frames(after_2) = history.since(id(2), not_f3) else {
            panic!("id 2 is visible")
        };
        let texts: Vec<&str> = after_2.iter().map(|f| f.frame.as_str()).collect();
        assert_eq!(texts, ["f4", "f5"], "and what follows is filtered");
    }

    #[test]
    fn the_byte_bound_drops_the_oldest_frames() {
        let mut history = History::new(100, 10);
        for ms in 1..=5 {
            history.push(id(ms), item("abcd"));
        }
        assert_eq!(history.len(), 2, "two 4-byte frames fit in 10 bytes");
        assert_eq!(history.oldest(), Some(id(4)));
        let mut one = History::new(100, 1);
        one.push(id(1), item("too big"));
        assert_eq!(one.len(), 1, "the newest frame is always kept");
    }

    #[test]
    fn the_newest_are_bounded_in_count_and_bytes() {
        let history = filled(10, 5);
        let all = |_: &Outbound| true;
        let texts = |items: Vec<&Outbound>| -> Vec<String> {
            items.iter().map(|f| f.frame.as_str().to_owned()).collect()
        };
        assert_eq!(
            texts(history.newest(3, usize::MAX, all)),
            ["f3", "f4", "f5"]
        );
        assert_eq!(
            texts(history.newest(10, 4, all)),
            ["f4", "f5"],
            "two 2-byte frames fit in 4"
        );
        assert_eq!(texts(history.newest(10, 1, all)), Vec::<String>::new());
    }

    #[test]
    fn pages_walk_the_window() {
        let history = filled(10, 5);
        let all = |_: &Outbound| true;
        let first = history.page(None, 2, all).unwrap();
        assert_eq!(
            first.iter().map(|(id, _)| id.ms).collect::<Vec<_>>(),
            [1, 2]
        );
        let next = history.page(Some(id(2)), 10, all).unwrap();
        assert_eq!(next.len(), 3);
        assert!(history.page(Some(id(42)), 10, all).is_none());
        let newest: Vec<&str> = history
            .newest(2, usize::MAX, all)
            .iter()
            .map(|f| f.frame.as_str())
            .collect();
        assert_eq!(newest, ["f4", "f5"]);
        let odd = |item: &Outbound| item.frame.as_str().ends_with(['1', '3', '5']);
        let newest_odd: Vec<&str> = history
            .newest(2, usize::MAX, odd)
            .iter()
            .map(|f| f.frame.as_str())
            .collect();
        assert_eq!(newest_odd, ["f3", "f5"]);
        assert_eq!(history.page(None, 10, odd).unwrap().len(), 3);
    }
}
