//! Free ports (alone, or in pairs for a Redis Cluster node and its bus),
//! names no other test of this run uses, and temporary directories removed
//! when dropped.

use std::net::TcpListener;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind a free port on 127.0.0.1")
        .port()
}

/// How far a Redis Cluster node's bus port is from its port.
pub const CLUSTER_BUS_OFFSET: u16 = 10_000;

/// `count` distinct ports, each free on 127.0.0.1 together with its port +
/// [`CLUSTER_BUS_OFFSET`]: a Redis Cluster node listens on both. Picked at
/// random below the kernel's ephemeral range when it leaves room (no
/// outgoing connection takes them meanwhile), else anywhere below 55536.
pub fn free_port_pairs(count: usize) -> Vec<u16> {
    let range = pair_range(ephemeral_low());
    let mut held = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..10_000 {
        if ports.len() == count {
            break;
        }
        let port = rand::random_range(range.clone());
        let bus = port + CLUSTER_BUS_OFFSET;
        // Both stay bound until every port is picked: none is picked twice.
        if let (Ok(a), Ok(b)) = (
            TcpListener::bind(("127.0.0.1", port)),
            TcpListener::bind(("127.0.0.1", bus)),
        ) {
            held.extend([a, b]);
            ports.push(port);
        }
    }
    assert_eq!(
        ports.len(),
        count,
        "no {count} free port pairs in {range:?}"
    );
    ports
}

/// Where [`free_port_pairs`] picks: from 10000 to where a port's pair
/// would enter the ephemeral range starting at `ephemeral_low`, when that
/// leaves at least 1000 ports; else every port whose pair is a port.
fn pair_range(ephemeral_low: u16) -> RangeInclusive<u16> {
    let highest = u16::MAX - CLUSTER_BUS_OFFSET;
    let below = ephemeral_low.saturating_sub(CLUSTER_BUS_OFFSET + 1);
    if below >= 11_000 {
        10_000..=below.min(highest)
    } else {
        1024..=highest
    }
}

/// The first port of the kernel's ephemeral range (32768 when unknown).
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// `prefix-PID-N-NANOS`: unique in this run and across processes.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{n}-{nanos}", std::process::id())
}

/// A directory of our own under the system's temporary directory, removed
/// with everything in it when dropped.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `<tmp>/<prefix>-<unique>`.
    pub fn new(prefix: &str) -> std::io::Result<TempDir> {
        let path = std::env::temp_dir().join(unique_name(prefix));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `contents` to `name` inside the directory; returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> std::io::Result<PathBuf> {
        let path = self.join(name);
        std::fs::write(&path, contents)?;
        Ok(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_differ_and_directories_go_away() {
        assert_ne!(unique_name("x"), unique_name("x"));
        let dir = TempDir::new("tl-temp-test").unwrap();
        let file = dir.write("a", "hello").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello");
        let path = dir.path().to_owned();
        drop(dir);
        assert!(!path.exists());
        assert_ne!(free_port(), 0);
    }

    #[test]
    fn pairs_stay_below_the_ephemeral_range_when_there_is_room() {
        assert_eq!(pair_range(32_768), 10_000..=22_767);
        assert_eq!(pair_range(60_000), 10_000..=49_999);
        assert_eq!(pair_range(15_000), 1024..=55_535, "no room: anywhere");
        assert_eq!(pair_range(0), 1024..=55_535);
    }

    #[test]
    fn port_pairs_are_distinct_and_free_with_their_bus_port() {
        let ports = free_port_pairs(6);
        assert_eq!(ports.len(), 6);
        let distinct: std::collections::BTreeSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), 6);
        for port in ports {
            assert!(port < 55_536);
            let _client = TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
            let _bus = TcpListener::bind(("127.0.0.1", port + CLUSTER_BUS_OFFSET))
                .expect("and so is its bus port");
        }
    }
}
