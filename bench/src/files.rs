//! Writing what the benchmark produces: a file (its directory made first),
//! a value as pretty JSON, and a generated section spliced into a Markdown
//! page between its markers. One place, so every mode writes alike.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::summary::markdown::splice_between;

/// Writes `text` to `path`, making its directory first.
pub fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `value` to `path` as pretty JSON, with a final newline.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> anyhow::Result<()> {
    write(path, &(serde_json::to_string_pretty(value)? + "\n"))
}

/// Replaces what lies between `begin` and `end` in the page at `path` with
/// `section` (appends it, or starts the page, when the markers are missing).
pub fn splice_into(path: &Path, section: &str, begin: &str, end: &str) -> anyhow::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    write(path, &splice_between(&old, section, begin, end))
}
