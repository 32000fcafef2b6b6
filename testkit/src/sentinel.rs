//! A real Redis Sentinel deployment of our own: a primary, its replica and
//! three `redis-sentinel` processes (Debian's), every one on a free port of
//! 127.0.0.1 and killed when dropped; each sentinel runs on a config
//! generated for it, with timings short enough for tests (the primary is
//! down after 1 s of silence). What tests fail the primary of, and wait
//! on while the sentinels promote the replica.

use std::collections::HashMap;
use std::process::{Child, Command};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::redis::{RedisServer, connect, in_sync, spawn_answering};
use crate::temp::{TempDir, free_port};
use crate::wait::wait_until;

/// The name the sentinels monitor the primary under.
pub const MASTER_NAME: &str = "tactical-link";
/// Sentinels, and how many must agree that the primary is down.
pub const SENTINELS: usize = 3;
pub const QUORUM: usize = 2;
/// How long the primary may be silent before a sentinel deems it down.
pub const DOWN_AFTER: Duration = Duration::from_millis(1000);
/// How long a failover may take before another sentinel tries again.
pub const FAILOVER_TIMEOUT: Duration = Duration::from_millis(3000);
/// Longest wait for the sentinels to know each other, or to fail over.
const LIMIT: Duration = Duration::from_secs(30);

/// A primary, its replica, and three sentinels watching them.
pub struct RedisSentinel {
    primary: RedisServer,
    replica: RedisServer,
    sentinels: Vec<Sentinel>,
}

/// One `redis-sentinel` process.
struct Sentinel {
    port: u16,
    child: Option<Child>,
    /// Holds its config, which it rewrites as it learns, and its log.
    dir: TempDir,
}

/// The config of the sentinel on `port` watching the primary on
/// `primary_port` under [`MASTER_NAME`].
pub fn sentinel_config(port: u16, dir: &std::path::Path, primary_port: u16) -> String {
    let name = MASTER_NAME;
    format!(
        "port {port}\n\
         bind 127.0.0.1\n\
         daemonize no\n\
         logfile \"\"\n\
         dir \"{dir}\"\n\
         sentinel monitor {name} 127.0.0.1 {primary_port} {QUORUM}\n\
         sentinel down-after-milliseconds {name} {down}\n\
         sentinel failover-timeout {name} {failover}\n\
         sentinel parallel-syncs {name} 1\n",
        dir = dir.display(),
        down = DOWN_AFTER.as_millis(),
        failover = FAILOVER_TIMEOUT.as_millis(),
    )
}

impl RedisSentinel {
    /// Starts the primary, the replica (synced) and the sentinels, and
    /// waits until each sentinel knows the replica and the two others;
    /// panics if it cannot.
    pub fn start() -> RedisSentinel {
        RedisSentinel::try_start().unwrap_or_else(|err| panic!("{err:#}"))
    }

    pub fn try_start() -> anyhow::Result<RedisSentinel> {
        // A replica's first sync starts at once, not 5 s later.
        let primary = RedisServer::try_start_with(false, &["--repl-diskless-sync-delay", "0"])?;
        let primary_port = primary.port().to_string();
        let replica =
            RedisServer::try_start_with(false, &["--replicaof", "127.0.0.1", &primary_port])?;
        wait_until(LIMIT, "the replica in sync", || in_sync(replica.port()))?;
        let sentinels = (0..SENTINELS)
            .map(|_| Sentinel::start(primary.port()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let deployment = RedisSentinel {
            primary,
            replica,
            sentinels,
        };
        for sentinel in &deployment.sentinels {
            wait_until(
                LIMIT,
                "every sentinel to know the replica and the others",
                || {
                    watched(sentinel.port).is_ok_and(|master| {
                        master.get("num-slaves").map(String::as_str) == Some("1")
                            && master.get("num-other-sentinels")
                                == Some(&(SENTINELS - 1).to_string())
                    })
                },
            )?;
        }
        Ok(deployment)
    }

    pub fn master_name(&self) -> &str {
        MASTER_NAME
    }

    pub fn primary(&self) -> &RedisServer {
        &self.primary
    }

    pub fn replica(&self) -> &RedisServer {
        &self.replica
    }

    /// The sentinels' ports.
    pub fn sentinel_ports(&self) -> Vec<u16> {
        self.sentinels.iter().map(|s| s.port).collect()
    }

    /// The process id of each sentinel.
    pub fn sentinel_pids(&self) -> Vec<u32> {
        let children = self.sentinels.iter().filter_map(|s| s.child.as_ref());
        children.map(Child::id).collect()
    }

    /// The port the sentinel on `port` names as the primary now.
    pub fn primary_port_by(&self, port: u16) -> anyhow::Result<u16> {
        let (_host, primary): (String, u16) = ::redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(MASTER_NAME)
            .query(&mut connect(port, Duration::from_secs(1))?)?;
        Ok(primary)
    }

    /// Kills the primary (SIGKILL, by its process id).
    pub fn kill_primary(&mut self) {
        self.primary.kill();
    }

    /// Waits until every sentinel names the replica as the primary and the
    /// replica says it is one; returns its port.
    pub fn wait_failover(&self) -> u16 {
        let promoted = self.replica.port();
        wait_until(LIMIT, "the sentinels to promote the replica", || {
            let named = self.sentinels.iter().all(|sentinel| {
                self.primary_port_by(sentinel.port)
                    .is_ok_and(|port| port == promoted)
            });
            named && role(promoted).is_ok_and(|role| role == "master")
        })
        .unwrap_or_else(|err| panic!("{err:#}"));
        promoted
    }
}

impl Sentinel {
    /// Starts a sentinel on a free port, retrying when the port is taken.
    fn start(primary_port: u16) -> anyhow::Result<Sentinel> {
        for _ in 0..5 {
            let (port, dir) = (free_port(), TempDir::new("tl-sentinel")?);
            let config = dir.write(
                "sentinel.conf",
                sentinel_config(port, dir.path(), primary_port),
            )?;
            let mut command = Command::new("redis-sentinel");
            command.arg(&config);
            if let Some(child) = spawn_answering(command, port, &dir.join("sentinel.log"))? {
                let child = Some(child);
                return Ok(Sentinel { port, child, dir });
            }
        }
        bail!("could not start redis-sentinel (apt-get install redis-sentinel)")
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.join("sentinel.log"));
            eprintln!(
                "--- sentinel {} ---\n{}",
                self.port,
                log.unwrap_or_default()
            );
        }
    }
}

/// The first element of `ROLE`: `master`, `slave` or `sentinel`.
fn role(port: u16) -> anyhow::Result<String> {
    let reply: ::redis::Value =
        ::redis::cmd("ROLE").query(&mut connect(port, Duration::from_secs(1))?)?;
    match reply {
        ::redis::Value::Array(items) if !items.is_empty() => {
            Ok(::redis::from_redis_value(items[0].clone())?)
        }
        other => bail!("ROLE answered {other:?}"),
    }
}

/// `SENTINEL MASTER` on the sentinel on `port`, as a map of its fields.
fn watched(port: u16) -> anyhow::Result<HashMap<String, String>> {
    let fields: Vec<String> = ::redis::cmd("SENTINEL")
        .arg("MASTER")
        .arg(MASTER_NAME)
        .query(&mut connect(port, Duration::from_secs(1))?)
        .context("SENTINEL MASTER")?;
    Ok(fields
        .chunks(2)
        .filter_map(|pair| Some((pair.first()?.clone(), pair.get(1)?.clone())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sentinel_gets_its_port_the_primary_and_short_timings() {
        let config = sentinel_config(26_380, std::path::Path::new("/tmp/s1"), 6_400);
        let lines: Vec<&str> = config.lines().collect();
        assert!(lines.contains(&"port 26380"));
        assert!(lines.contains(&"bind 127.0.0.1"));
        assert!(lines.contains(&"dir \"/tmp/s1\""));
        assert!(lines.contains(&"sentinel monitor tactical-link 127.0.0.1 6400 2"));
        assert!(lines.contains(&"sentinel down-after-milliseconds tactical-link 1000"));
        assert!(lines.contains(&"sentinel failover-timeout tactical-link 3000"));
    }
}
