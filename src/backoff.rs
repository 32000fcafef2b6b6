//! Capped exponential back-off with full jitter, for reconnect loops.
//!
//! The n-th retry waits a random time in `[0, min(cap, base * 2^n)]`, so many
//! gateways that lose Redis at once do not all come back in the same
//! millisecond. The ceiling is a `min`, never a `max`: tests pin that down.

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            attempt: 0,
        }
    }

    /// The upper bound of the next delay, before jitter.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The next delay to wait, and one more attempt counted.
    pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let ms = ceiling.as_millis() as u64;
        Duration::from_millis(if ms == 0 { 0 } else { rng.random_range(0..=ms) })
    }

    /// Starts again from the base after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn ceiling_doubles_then_stays_at_the_cap() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let mut rng = StdRng::seed_from_u64(1);
        let mut ceilings = Vec::new();
        for _ in 0..10 {
            ceilings.push(backoff.ceiling().as_millis());
            backoff.next_delay(&mut rng);
        }
        assert_eq!(
            ceilings,
            [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]
        );
        for _ in 0..100 {
            backoff.next_delay(&mut rng);
        }
        assert_eq!(
            backoff.ceiling(),
            Duration::from_secs(5),
            "no overflow after many attempts"
        );
    }

    #[test]
    fn delays_are_jittered_within_the_ceiling() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            backoff.reset();
            for _ in 0..4 {
                backoff.next_delay(&mut rng);
            }
            let delay = backoff.next_delay(&mut rng);
            assert!(delay <= Duration::from_secs(1));
            seen.insert(delay);
        }
        assert!(seen.len() > 10, "delays vary: {seen:?}");
    }

    #[test]
    fn reset_returns_to_the_base() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));
        for _ in 0..5 {
            backoff.next_delay(&mut rng);
        }
        backoff.reset();
        assert_eq!(backoff.ceiling(), Duration::from_millis(250));
        assert_eq!(backoff.attempt(), 0);
    }
}
