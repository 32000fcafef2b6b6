//! Logging what a hostile or broken peer does without letting it flood the
//! log: at most N lines a second per kind of line, and a count of what was
//! left out, reported with the next line allowed.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use crate::clock;

/// Allows at most `per_second` lines per wall-clock second; counts the rest
/// and reports them with the next allowed one.
#[derive(Debug)]
pub struct LogLimit {
    per_second: u64,
    /// What the lines are about, for the "left out" line.
    what: &'static str,
    window_s: AtomicI64,
    used: AtomicU64,
    suppressed: AtomicU64,
}

impl LogLimit {
    pub fn new(per_second: u64, what: &'static str) -> Self {
        LogLimit {
            per_second,
            what,
            window_s: AtomicI64::new(0),
            used: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// True when one more line may be logged now.
    pub fn allow(&self) -> bool {
        let now_s = clock::now_ms() / 1000;
        if self.window_s.swap(now_s, Relaxed) != now_s {
            self.used.store(0, Relaxed);
            let suppressed = self.suppressed.swap(0, Relaxed);
            if suppressed > 0 {
                tracing::warn!(suppressed, "more {} were not logged", self.what);
            }
        }
        if self.used.fetch_add(1, Relaxed) < self.per_second {
            true
        } else {
            self.suppressed.fetch_add(1, Relaxed);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_past_the_limit_are_counted_not_logged() {
        let limit = LogLimit::new(3, "test lines");
        let allowed = (0..10).filter(|_| limit.allow()).count();
        // A second boundary between two calls can reset the window once.
        assert!((3..=6).contains(&allowed), "{allowed}");
    }
}
