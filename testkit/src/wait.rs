//! Waiting for something to become true, by polling, with a deadline that
//! names what was awaited when it passes.

use std::time::{Duration, Instant};

/// Waits until `check` is true, polling every 50 ms, at most `limit`;
/// panics naming `what` when the time is up.
pub async fn eventually(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after {limit:?} waiting for: {what}");
}
