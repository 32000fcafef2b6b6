//! A real `redis-server` of our own on a free port, killed when dropped:
//! what the integration tests fail Redis with (kill, restart on the same
//! port, persistence across a SIGKILL) and what the benchmark publishes on.
//! Also the nodes of [`crate::cluster`] and [`crate::sentinel`] (extra
//! arguments, a port picked by the caller), and how any Redis process of
//! ours is started: run, then wait for its PONG.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::temp::{TempDir, free_port};

/// A `redis-server` child process on 127.0.0.1.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    dir: TempDir,
    persistent: bool,
    /// Arguments after ours (`--cluster-enabled yes`, `--replicaof …`).
    extra: Vec<String>,
}

impl RedisServer {
    /// Starts one on a free port; panics if it cannot.
    pub fn start() -> RedisServer {
        RedisServer::start_with(false)
    }

    /// With `persistent`, every write is in the append-only file before
    /// Redis answers (`appendfsync always`), so a SIGKILL loses nothing.
    pub fn start_with(persistent: bool) -> RedisServer {
        RedisServer::try_start(persistent).unwrap_or_else(|err| panic!("{err:#}"))
    }

    /// Starts one on `port` (where something may be waiting for it);
    /// panics if it cannot.
    pub fn start_on(port: u16) -> RedisServer {
        let mut server = RedisServer::new(port, false, &[]).expect("a directory for redis-server");
        assert!(
            server.spawn().expect("run redis-server"),
            "redis-server did not start on port {port}"
        );
        server
    }

    /// Starts one on a free port, retrying when the port is taken between
    /// picking and binding.
    pub fn try_start(persistent: bool) -> anyhow::Result<RedisServer> {
        RedisServer::try_start_with(persistent, &[])
    }

    /// Starts one on a free port with `extra` arguments after ours (a later
    /// argument wins: `--appendfsync everysec`).
    pub fn try_start_with(persistent: bool, extra: &[&str]) -> anyhow::Result<RedisServer> {
        for _ in 0..5 {
            if let Some(server) = RedisServer::try_start_on(free_port(), persistent, extra)? {
                return Ok(server);
            }
        }
        bail!("could not start redis-server (is it installed? scripts/test.sh installs it)")
    }

    /// Starts one on `port` with `extra` arguments; `None` when it did not
    /// come up there (the port was taken), so the caller can pick another.
    pub fn try_start_on(
        port: u16,
        persistent: bool,
        extra: &[&str],
    ) -> anyhow::Result<Option<RedisServer>> {
        let mut server = RedisServer::new(port, persistent, extra)?;
        Ok(server.spawn()?.then_some(server))
    }

    fn new(port: u16, persistent: bool, extra: &[&str]) -> anyhow::Result<RedisServer> {
        Ok(RedisServer {
            port,
            child: None,
            dir: TempDir::new("tl-redis").context("a directory for redis-server")?,
            persistent,
            extra: extra.iter().map(|arg| (*arg).to_owned()).collect(),
        })
    }

    /// Runs the server and waits for its PONG; false if it exited (the
    /// port was taken) or did not answer within 5 s.
    fn spawn(&mut self) -> anyhow::Result<bool> {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", if self.persistent { "yes" } else { "no" }])
            .args(["--appendfsync", "always"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.extra);
        self.child = spawn_answering(command, self.port, &self.dir.join("redis.log"))?;
        Ok(self.child.is_some())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }

    /// Kills the server (SIGKILL): no goodbye to its clients.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (and the same files).
    pub fn restart(&mut self) {
        self.kill();
        assert!(
            self.spawn().expect("run redis-server"),
            "redis-server did not come back on port {}",
            self.port
        );
    }

    /// `PUBLISH channel payload`, returning the receiver count.
    pub fn publish(&self, channel: &str, payload: impl ::redis::ToRedisArgs) -> i64 {
        ::redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .query(&mut self.connection())
            .expect("PUBLISH")
    }

    /// A connection for many commands.
    pub fn connection(&self) -> ::redis::Connection {
        ::redis::Client::open(self.url())
            .and_then(|client| client.get_connection())
            .expect("a connection to redis-server")
    }
}

/// Runs `command` (a Redis server or sentinel; its output into `log`) and
/// waits up to 5 s for `port` to answer PING. `None` if it exited first
/// (the port was taken) or did not answer in time (then it is killed).
pub(crate) fn spawn_answering(
    mut command: Command,
    port: u16,
    log: &Path,
) -> anyhow::Result<Option<Child>> {
    let out = std::fs::File::create(log)?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("cannot run {command:?} (is it installed?)"))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if ping(port) {
            return Ok(Some(child));
        }
        if let Ok(Some(_)) = child.try_wait() {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(None)
}

/// Whether a Redis server or sentinel on `port` answers PING.
pub(crate) fn ping(port: u16) -> bool {
    connect(port, Duration::from_millis(200))
        .and_then(|mut c| ::redis::cmd("PING").query::<String>(&mut c))
        .is_ok()
}

/// A primary and a replica in sync with it, counted by the primary's
/// `WAIT` (the primary counts a replica once it has acknowledged an
/// offset, a moment after the sync): what a replicated publish needs.
pub fn primary_and_replica() -> anyhow::Result<(RedisServer, RedisServer)> {
    // No 5 s pause before the replica's first sync.
    let primary = RedisServer::try_start_with(false, &["--repl-diskless-sync-delay", "0"])?;
    let of = primary.port().to_string();
    let replica = RedisServer::try_start_with(false, &["--replicaof", "127.0.0.1", &of])?;
    let mut connection = primary.connection();
    crate::wait_until(Duration::from_secs(10), "the replica in sync", || {
        ::redis::cmd("WAIT")
            .arg(1)
            .arg(100)
            .query::<u32>(&mut connection)
            .is_ok_and(|acked| acked == 1)
    })?;
    Ok((primary, replica))
}

/// Whether the replica on `port` has its link to its master up.
pub fn in_sync(port: u16) -> bool {
    let info = connect(port, Duration::from_secs(1)).and_then(|mut connection| {
        ::redis::cmd("INFO")
            .arg("replication")
            .query::<String>(&mut connection)
    });
    info.is_ok_and(|info| info.contains("master_link_status:up"))
}

/// A connection to the Redis process on 127.0.0.1:`port`.
pub fn connect(port: u16, timeout: Duration) -> ::redis::RedisResult<::redis::Connection> {
    let connection = ::redis::Client::open(format!("redis://127.0.0.1:{port}"))?
        .get_connection_with_timeout(timeout)?;
    connection.set_read_timeout(Some(Duration::from_secs(5)))?;
    connection.set_write_timeout(Some(Duration::from_secs(5)))?;
    Ok(connection)
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
