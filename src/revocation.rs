//! Token revocation: a deny list of token ids and users, read from a file
//! the operator edits (`--revoked-tokens`).
//!
//! A JWT is valid until its `exp`; short lifetimes with in-band renewal are
//! the first defence. For the token that leaked, or the user who left, this
//! list takes effect before then: a revoked token is refused like a bad one
//! (4501, HTTP 401), and a connection already open with it is closed with
//! 4501 within two [`POLL_INTERVAL`]s of the file changing: the file is
//! checked that often, and each connection compares the list's generation
//! that often (a timer per connection, not a waiter on a shared channel
//! polled at every event it writes).
//!
//! The file has one entry per line: `jti <token id>` revokes one token (its
//! `jti` claim), `sub <user>` every token of that user. Blank lines and lines
//! starting with `#` are ignored. A file that cannot be read or parsed at
//! start stops the gateway (exit 64); later, the last good list stays in
//! force and the problem is logged.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use parking_lot::RwLock;
use tokio_util::sync::CancellationToken;

/// How often the file is checked for changes, and each connection checks
/// whether the list changed.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// What is revoked.
#[derive(Debug, Default, PartialEq, Eq)]
struct Denied {
    token_ids: HashSet<String>,
    users: HashSet<String>,
}

/// The deny list, kept up to date with its file.
#[derive(Debug)]
pub struct RevocationList {
    path: PathBuf,
    denied: RwLock<Denied>,
    /// Counts the list's changes; connections compare it to check themselves.
    generation: AtomicU64,
}

impl RevocationList {
    /// Reads the list. Errors name the file and, for a bad line, its number.
    pub fn load(path: &Path) -> Result<RevocationList, String> {
        let denied = read(path)?;
        Ok(RevocationList {
            path: path.to_owned(),
            denied: RwLock::new(denied),
            generation: AtomicU64::new(0),
        })
    }

    /// True when the token `token_id` (its `jti`), or its user `sub`, is on
    /// the list.
    pub fn is_revoked(&self, sub: &str, token_id: Option<&str>) -> bool {
        let denied = self.denied.read();
        denied.users.contains(sub) || token_id.is_some_and(|jti| denied.token_ids.contains(jti))
    }

    /// Changes whenever the list does.
    pub fn generation(&self) -> u64 {
        self.generation.load(Relaxed)
    }

    /// Reads the file again whenever it changes, until `shutdown`.
    pub async fn follow_file(&self, shutdown: CancellationToken) {
        let mut seen = stamp(&self.path);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
            }
            let now = stamp(&self.path);
            if now == seen {
                continue;
            }
            seen = now;
            match read(&self.path) {
                Ok(denied) => {
                    let mut current = self.denied.write();
                    if *current != denied {
                        tracing::info!(
                            tokens = denied.token_ids.len(),
                            users = denied.users.len(),
                            "revocation list changed"
                        );
                        *current = denied;
                        drop(current);
                        self.generation.fetch_add(1, Relaxed);
                    }
                }
                Err(err) => tracing::warn!("keeping the previous revocation list: {err}"),
            }
        }
    }
}

/// What tells a changed file apart: modification time and length.
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn read(path: &Path) -> Result<Denied, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    parse(&text).map_err(|err| format!("{}: {err}", path.display()))
}

fn parse(text: &str) -> Result<Denied, String> {
    let mut denied = Denied::default();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (kind, value) = line
            .split_once(char::is_whitespace)
            .map(|(kind, value)| (kind, value.trim()))
            .unwrap_or((line, ""));
        if value.is_empty() {
            return Err(format!(
                "line {}: expected `jti <token id>` or `sub <user>`",
                index + 1
            ));
        }
        match kind {
            "jti" => denied.token_ids.insert(value.to_owned()),
            "sub" => denied.users.insert(value.to_owned()),
            other => {
                return Err(format!(
                    "line {}: unknown kind {other:?} (expected jti or sub)",
                    index + 1
                ));
            }
        };
    }
    Ok(denied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_comments_and_errors() {
        let denied = parse("# leaked on 2026-11-29\njti abc-123\n\nsub  mallory \n").unwrap();
        assert!(denied.token_ids.contains("abc-123"));
        assert!(denied.users.contains("mallory"));
        assert!(parse("jti").unwrap_err().contains("line 1"));
        assert!(parse("\nuser bob").unwrap_err().contains("line 2"));
    }

    #[test]
    fn a_token_is_revoked_by_its_id_or_its_user() {
        let path = std::env::temp_dir().join(format!("tl-revoked-{}", std::process::id()));
        std::fs::write(&path, "jti leaked\nsub mallory\n").unwrap();
        let list = RevocationList::load(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(list.is_revoked("alice", Some("leaked")));
        assert!(list.is_revoked("mallory", None));
        assert!(!list.is_revoked("alice", Some("fresh")));
        assert!(!list.is_revoked("alice", None));
    }
}
