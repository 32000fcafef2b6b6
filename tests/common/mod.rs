//! Test harness: a real `redis-server` and the real `tactical-link` binary,
//! each on a free port, stopped when the test drops them; and a small
//! WebSocket client that reads JSON frames with timeouts.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `redis-server` of our own on a free port.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    dir: std::path::PathBuf,
    persistent: bool,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        RedisServer::start_with(false)
    }

    /// With `persistent`, every write is in the append-only file before
    /// Redis answers (`appendfsync always`), so a SIGKILL loses nothing.
    pub fn start_with(persistent: bool) -> RedisServer {
        let dir = std::env::temp_dir().join(format!("tl-redis-{}", uuid_like()));
        std::fs::create_dir_all(&dir).unwrap();
        for _ in 0..5 {
            let mut server = RedisServer {
                port: free_port(),
                child: None,
                dir: dir.clone(),
                persistent,
            };
            if server.spawn() {
                return server;
            }
        }
        panic!("could not start redis-server (is it installed? scripts/test.sh installs it)");
    }

    fn spawn(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                if self.persistent { "yes" } else { "no" },
                "--appendfsync",
                "always",
                "--dir",
                self.dir.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.ping() {
                return true;
            }
            if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                return false; // exited: the port was taken
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn ping(&self) -> bool {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
            .is_ok()
    }

    /// Kills the server (SIGKILL): no goodbye to its clients.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        assert!(
            self.spawn(),
            "redis-server did not come back on port {}",
            self.port
        );
    }

    /// `PUBLISH channel payload`, returning the receiver count.
    pub fn publish(&self, channel: &str, payload: impl redis::ToRedisArgs) -> i64 {
        let mut conn = redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap();
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .query(&mut conn)
            .unwrap()
    }

    /// A connection for many commands.
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A name no other test of this run uses.
fn uuid_like() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{n}-{nanos}", std::process::id())
}

thread_local! {
    /// Extra environment for the next gateway this thread starts.
    static ENV: std::cell::RefCell<Vec<(String, String)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The `tactical-link` binary, serving on a free port.
pub struct Gateway {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when started with `--metrics-listen`.
    pub metrics_addr: Option<SocketAddr>,
    child: Option<Child>,
    pub stderr_log: std::path::PathBuf,
}

impl Gateway {
    /// Runs `tactical-link <args> --listen 127.0.0.1:0` and waits for its
    /// "listening on" line.
    pub fn start(args: &[&str]) -> Gateway {
        Gateway::start_at(args, "127.0.0.1:0")
    }

    /// Runs `tactical-link <args> --listen <listen>`.
    pub fn start_at(args: &[&str], listen: &str) -> Gateway {
        let stderr_log = std::env::temp_dir().join(format!("tl-gateway-{}.log", uuid_like()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_tactical-link"))
            .args(args)
            .args(["--listen", listen])
            .env("TACTICAL_LINK_LOG", "tactical_link=debug,info")
            .envs(ENV.with(|cell| cell.borrow().clone()))
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_log).unwrap())
            .spawn()
            .expect("run tactical-link");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut metrics_addr = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("tactical-link metrics on http://") {
                    let at = rest.trim_end_matches("/metrics");
                    metrics_addr = Some(at.parse::<SocketAddr>().unwrap());
                }
                let rest = line
                    .strip_prefix("tactical-link listening on http://")
                    .or_else(|| line.strip_prefix("tactical-link listening on https://"));
                if let Some(rest) = rest {
                    let _ = tx.send((rest.parse::<SocketAddr>().unwrap(), metrics_addr));
                }
            }
        });
        let (addr, metrics_addr) = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| {
                panic!(
                    "gateway did not start; its log:\n{}",
                    std::fs::read_to_string(&stderr_log).unwrap_or_default()
                )
            });
        Gateway {
            addr,
            metrics_addr,
            child: Some(child),
            stderr_log,
        }
    }

    /// Runs `tactical-link <args>` with extra environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Gateway {
        ENV.with(|cell| {
            *cell.borrow_mut() = env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        });
        let gateway = Gateway::start(args);
        ENV.with(|cell| cell.borrow_mut().clear());
        gateway
    }

    /// Waits, at most `limit`, until `/readyz` answers 200: the bus link is
    /// up (for Redis: subscribed and following the stream).
    pub async fn wait_bus_up(&self, limit: Duration) {
        eventually(limit, "bus up", async || {
            reqwest::get(self.http("/readyz"))
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/dashboard/ws", self.addr)
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Sends SIGTERM and waits for the exit, at most `limit`.
    pub fn terminate(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        unsafe_kill(child.id(), "TERM");
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Kills the process (SIGKILL): no goodbye to anyone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Resident memory of the gateway process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// One value of the Prometheus text at /metrics.
    pub async fn metric(&self, name: &str) -> f64 {
        let body = reqwest::get(self.http("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        body.lines()
            .find_map(|line| line.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("metric {name} missing in:\n{body}"))
            .parse()
            .unwrap()
    }
}

impl Gateway {
    /// Sends `signal` (`STOP`, `CONT`, …) to the gateway process.
    pub fn signal(&self, signal: &str) {
        unsafe_kill(self.pid(), signal);
    }
}

fn unsafe_kill(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status();
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // A failing test shows what the gateway said (the tail of it).
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!(
                "--- last lines of the log of the gateway at {} ---",
                self.addr
            );
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
        let _ = std::fs::remove_file(&self.stderr_log);
    }
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket client reading JSON frames.
pub struct Client {
    pub socket: Socket,
}

/// What the next read brought.
#[derive(Debug)]
pub enum Next {
    Frame(Value),
    Closed(Option<CloseFrame>),
    TimedOut,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        Client { socket }
    }

    /// Connects and reads the welcome and snapshot frames.
    pub async fn connect_ready(url: &str) -> (Client, Value) {
        let mut client = Client::connect(url).await;
        let welcome = client.expect_frame().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        let snapshot = client.expect_frame().await;
        assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
        (client, snapshot)
    }

    pub async fn next(&mut self, limit: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let read = tokio::time::timeout_at(deadline, self.socket.next()).await;
            match read {
                Err(_) => return Next::TimedOut,
                Ok(None) => return Next::Closed(None),
                Ok(Some(Err(_))) => return Next::Closed(None),
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Next::Frame(
                        serde_json::from_str(text.as_str()).expect("server frame is JSON"),
                    );
                }
                Ok(Some(Ok(Message::Close(frame)))) => return Next::Closed(frame),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    pub async fn expect_frame(&mut self) -> Value {
        match self.next(Duration::from_secs(10)).await {
            Next::Frame(frame) => frame,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The next frame of type `kind`, skipping others.
    pub async fn expect_type(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.expect_frame().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Reads until the connection closes; returns the close code.
    pub async fn expect_close(&mut self, limit: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Next::Frame(_) => continue,
                Next::Closed(frame) => return frame.map(|f| u16::from(f.code)),
                Next::TimedOut => panic!("connection still open after {limit:?}"),
            }
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket.send(Message::text(text)).await.unwrap();
    }
}

/// A pipeline event with a sequence number in `detail`.
pub fn stage_event(run: &str, stage: &str, status: &str, detail: &str) -> String {
    serde_json::json!({
        "type": "pipeline.stage",
        "run_id": run,
        "stage": stage,
        "status": status,
        "detail": detail,
    })
    .to_string()
}

/// Waits until `check` is true, polling, at most `limit`.
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
