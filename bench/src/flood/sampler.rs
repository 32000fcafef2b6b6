//! Sampling one figure (a process's RSS, Redis's `used_memory`) at a fixed
//! period on a thread of its own, for its peak, its last value and the
//! series: a spike between two readings of the orchestrator would be missed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// What a sampler read. Values are in the reader's unit (KiB for RSS,
/// bytes for Redis).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Samples {
    /// Readings that returned a value.
    pub count: u64,
    /// Readings that returned none (the process was gone, Redis did not
    /// answer).
    pub missed: u64,
    pub peak: Option<u64>,
    /// Seconds after the start at which the peak was read.
    pub peak_at_s: f64,
    pub last: Option<u64>,
    /// Every reading: seconds after the start, value.
    pub series: Vec<(f64, u64)>,
}

impl Samples {
    /// Adds one reading taken `at_s` seconds after the start.
    pub fn add(&mut self, at_s: f64, value: Option<u64>) {
        let Some(value) = value else {
            self.missed += 1;
            return;
        };
        self.count += 1;
        if self.peak.is_none_or(|peak| value > peak) {
            self.peak = Some(value);
            self.peak_at_s = at_s;
        }
        self.last = Some(value);
        self.series.push((at_s, value));
    }

    /// The highest value read between `from_s` and `to_s` seconds.
    pub fn peak_between(&self, from_s: f64, to_s: f64) -> Option<u64> {
        self.series
            .iter()
            .filter(|(at, _)| (from_s..=to_s).contains(at))
            .map(|(_, value)| *value)
            .max()
    }
}

/// A figure read every period until [`Sampler::stop`].
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Samples>,
    started: Instant,
}

impl Sampler {
    /// Reads `read()` at once, then every `every`, on a new thread.
    pub fn spawn(
        name: &str,
        every: Duration,
        mut read: impl FnMut() -> Option<u64> + Send + 'static,
    ) -> anyhow::Result<Sampler> {
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let stopped = stop.clone();
        let handle = std::thread::Builder::new()
            .name(format!("sample-{name}"))
            .spawn(move || {
                let mut samples = Samples::default();
                let mut next = started;
                loop {
                    samples.add(started.elapsed().as_secs_f64(), read());
                    if stopped.load(Relaxed) {
                        return samples;
                    }
                    next += every;
                    let now = Instant::now();
                    // A late reading is not made up for: the next is due a
                    // period after this one.
                    if next < now {
                        next = now;
                    }
                    std::thread::sleep(next - now);
                }
            })?;
        Ok(Sampler {
            stop,
            handle,
            started,
        })
    }

    /// Seconds since the sampler started: where the series is now.
    pub fn elapsed_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Stops after one last reading; returns every reading.
    pub fn stop(self) -> Samples {
        self.stop.store(true, Relaxed);
        self.handle.join().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn the_peak_is_the_highest_reading_and_misses_are_counted() {
        let mut samples = Samples::default();
        for (at, value) in [(0.0, Some(5)), (0.1, Some(9)), (0.2, None), (0.3, Some(7))] {
            samples.add(at, value);
        }
        assert_eq!(samples.peak, Some(9));
        assert_eq!(samples.peak_at_s, 0.1);
        assert_eq!(samples.last, Some(7));
        assert_eq!((samples.count, samples.missed), (3, 1));
        assert_eq!(samples.peak_between(0.15, 1.0), Some(7));
        assert_eq!(samples.peak_between(2.0, 3.0), None);
    }

    #[test]
    fn a_sampler_keeps_every_reading_until_stopped() {
        // Readings rise 1, 2, 3, … then fall back to 0 after the tenth, so
        // the peak is the highest reading taken, however many there were.
        let calls = Arc::new(AtomicU64::new(0));
        let counted = calls.clone();
        let sampler = Sampler::spawn("test", Duration::from_millis(1), move || {
            let n = counted.fetch_add(1, Relaxed) + 1;
            Some(if n <= 10 { n } else { 0 })
        })
        .unwrap();
        while calls.load(Relaxed) < 3 {
            std::thread::yield_now();
        }
        let samples = sampler.stop();
        let made = calls.load(Relaxed);
        assert_eq!(
            samples.count, made,
            "one reading per call, the last included"
        );
        assert_eq!(samples.peak, Some(made.min(10)));
        assert_eq!(samples.series.len() as u64, made);
        assert!(samples.series.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}
