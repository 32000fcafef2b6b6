//! A real `redis-server` of our own on a free port, killed when dropped:
//! what the integration tests fail Redis with (kill, restart on the same
//! port, persistence across a SIGKILL) and what the benchmark publishes on.

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
        let mut server = RedisServer::new(port, false).expect("a directory for redis-server");
        assert!(
            server.spawn().expect("run redis-server"),
            "redis-server did not start on port {port}"
        );
        server
    }

    /// Starts one on a free port, retrying when the port is taken between
    /// picking and binding.
    pub fn try_start(persistent: bool) -> anyhow::Result<RedisServer> {
        for _ in 0..5 {
            let mut server = RedisServer::new(free_port(), persistent)?;
            if server.spawn()? {
                return Ok(server);
            }
        }
        bail!("could not start redis-server (is it installed? scripts/test.sh installs it)")
    }

    fn new(port: u16, persistent: bool) -> anyhow::Result<RedisServer> {
        Ok(RedisServer {
            port,
            child: None,
            dir: TempDir::new("tl-redis").context("a directory for redis-server")?,
            persistent,
        })
    }

    /// Runs the server and waits for its PONG; false if it exited (the
    /// port was taken) or did not answer within 5 s.
    fn spawn(&mut self) -> anyhow::Result<bool> {
        let log = std::fs::File::create(self.dir.join("redis.log"))?;
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", if self.persistent { "yes" } else { "no" }])
            .args(["--appendfsync", "always"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("cannot run redis-server (is it installed?)")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.ping() {
                return Ok(true);
            }
            if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        Ok(false)
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

    fn ping(&self) -> bool {
        ::redis::Client::open(self.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut c| ::redis::cmd("PING").query::<String>(&mut c))
            .is_ok()
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

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
