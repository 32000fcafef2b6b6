//! Waiting for something to become true, by polling, with a deadline that
//! names what was awaited when it passes: from async tests, and from the
//! starters of Redis, sentinels and HAProxy (plain threads).

use std::time::{Duration, Instant};

use anyhow::bail;

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

/// Polls `check` every 50 ms, blocking the thread, until it holds; fails
/// naming `what` after `limit`.
pub fn wait_until(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !check() {
        if Instant::now() > deadline {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
