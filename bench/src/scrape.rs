//! `/metrics` scraped on a schedule while events are published, as a
//! Prometheus server scrapes a gateway (`--scrape-metrics SECS`), so what
//! rendering the metrics costs the gateway is inside the run's figures.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use testkit::http;

use crate::report::Scrapes;

/// How long one scrape may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A thread of its own scraping `/metrics` until it is told to finish.
pub struct Scraper {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Scrapes>,
}

impl Scraper {
    /// Scrapes the server at `addr` now, then every `every`.
    pub fn start(addr: SocketAddr, every: Duration) -> Scraper {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || scrape_until(addr, every, &flag));
        Scraper { stop, thread }
    }

    /// Stops after the scrape under way, and says how the scrapes went.
    pub fn finish(self) -> Scrapes {
        self.stop.store(true, Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// One scrape at once, then one per `every` (never two back to back to
/// catch up after a slow one), until `stop`.
fn scrape_until(addr: SocketAddr, every: Duration, stop: &AtomicBool) -> Scrapes {
    let mut scrapes = Scrapes {
        every_s: every.as_secs_f64(),
        ..Scrapes::default()
    };
    let mut total_ms = 0.0;
    let mut next = Instant::now();
    loop {
        if Instant::now() >= next {
            next = (next + every).max(Instant::now());
            let started = Instant::now();
            match http::get(addr, "/metrics", TIMEOUT) {
                Ok((200, body)) => {
                    let ms = started.elapsed().as_secs_f64() * 1e3;
                    scrapes.ok += 1;
                    scrapes.bytes = body.len();
                    scrapes.max_ms = scrapes.max_ms.max(ms);
                    total_ms += ms;
                }
                _ => scrapes.failed += 1,
            }
        }
        if stop.load(Relaxed) {
            break;
        }
        let wait = next.saturating_duration_since(Instant::now());
        std::thread::sleep(wait.min(Duration::from_millis(20)));
    }
    if scrapes.ok > 0 {
        scrapes.mean_ms = total_ms / scrapes.ok as f64;
    }
    scrapes
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::{Gateway, Served};

    #[test]
    fn scrapes_a_real_gateway_once_per_period() {
        let gateway = Gateway::start(&["serve"]);
        // A period longer than the test: exactly the first scrape.
        let scraper = Scraper::start(gateway.addr(), Duration::from_secs(3600));
        std::thread::sleep(Duration::from_millis(300));
        let scrapes = scraper.finish();
        assert_eq!((scrapes.ok, scrapes.failed), (1, 0), "{scrapes:?}");
        assert!(scrapes.bytes > 1000, "the whole exposition: {scrapes:?}");
        assert!(scrapes.mean_ms > 0.0 && scrapes.max_ms >= scrapes.mean_ms);
        assert_eq!(scrapes.every_s, 3600.0);
    }

    #[test]
    fn a_server_that_closes_without_answering_counts_as_a_failed_scrape() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let closer = std::thread::spawn(move || drop(listener.accept()));
        let scrapes = Scraper::start(addr, Duration::from_secs(3600)).finish();
        closer.join().unwrap();
        assert_eq!((scrapes.ok, scrapes.failed), (0, 1), "{scrapes:?}");
        assert_eq!(scrapes.mean_ms, 0.0);
    }
}
