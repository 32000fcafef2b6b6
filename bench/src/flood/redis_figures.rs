//! What Redis holds during and after a flood: its `used_memory` (idle, the
//! highest sampled, at the end), and its largest stream: the event stream,
//! found by type rather than by name, so a gateway of another version,
//! which may name it otherwise, is measured the same way.

use serde::{Deserialize, Serialize};

use crate::redis_cost::measure::info_value;

/// Redis's memory in bytes, and the stream's size.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RedisFigures {
    pub idle_bytes: Option<u64>,
    pub peak_bytes: Option<u64>,
    pub final_bytes: Option<u64>,
    /// The stream with the most entries, its entries and `MEMORY USAGE`.
    pub stream_key: Option<String>,
    pub stream_entries: Option<u64>,
    pub stream_bytes: Option<u64>,
    /// Every other key of the channel together (run logs, run index,
    /// de-duplication hashes, settings): how many, and their memory.
    pub other_keys: u64,
    pub other_keys_bytes: u64,
}

fn connection(url: &str) -> Option<redis::Connection> {
    let client = redis::Client::open(url).ok()?;
    client
        .get_connection_with_timeout(std::time::Duration::from_secs(2))
        .ok()
}

impl RedisFigures {
    /// `used_memory` of `INFO memory`, in bytes.
    pub fn used_memory(url: &str) -> Option<u64> {
        let mut connection = connection(url)?;
        let info: String = redis::cmd("INFO")
            .arg("memory")
            .query(&mut connection)
            .ok()?;
        info_value(&info, "used_memory").map(|bytes| bytes as u64)
    }

    /// Reads `used_memory` now and sizes every key: the largest stream
    /// apart, the rest together.
    pub fn measure_stream(&mut self, url: &str) {
        self.final_bytes = RedisFigures::used_memory(url);
        let Some(mut connection) = connection(url) else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query(&mut connection)
            .unwrap_or_default();
        for key in keys {
            let kind: String = redis::cmd("TYPE")
                .arg(&key)
                .query(&mut connection)
                .unwrap_or_default();
            let bytes: u64 = redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(&key)
                .arg("SAMPLES")
                .arg(0)
                .query(&mut connection)
                .unwrap_or(0);
            let entries: Option<u64> = (kind == "stream")
                .then(|| redis::cmd("XLEN").arg(&key).query(&mut connection).ok())
                .flatten();
            self.count_key(key, entries, bytes);
        }
    }

    /// Counts one key: the stream with the most entries so far is the
    /// event stream; the others join the rest.
    fn count_key(&mut self, key: String, entries: Option<u64>, bytes: u64) {
        let Some(entries) = entries.filter(|n| Some(*n) > self.stream_entries) else {
            self.other_keys += 1;
            self.other_keys_bytes += bytes;
            return;
        };
        if self.stream_key.is_some() {
            self.other_keys += 1;
            self.other_keys_bytes += self.stream_bytes.unwrap_or(0);
        }
        self.stream_key = Some(key);
        self.stream_entries = Some(entries);
        self.stream_bytes = Some(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_stream_is_the_event_stream_and_the_rest_add_up() {
        let mut figures = RedisFigures::default();
        figures.count_key("run-log".into(), Some(10), 600);
        figures.count_key("settings".into(), None, 100);
        figures.count_key("events".into(), Some(1000), 60_000);
        figures.count_key("other-log".into(), Some(20), 1_200);
        assert_eq!(figures.stream_key.as_deref(), Some("events"));
        assert_eq!(figures.stream_entries, Some(1000));
        assert_eq!(figures.stream_bytes, Some(60_000));
        assert_eq!(figures.other_keys, 3);
        assert_eq!(figures.other_keys_bytes, 600 + 100 + 1_200);
    }
}
