//! HAProxy (Debian's `haproxy`) in front of three gateways, running the
//! shipped `deploy/haproxy.cfg` as is: the test gives it its addresses
//! through the environment variables the file names, which HAProxy
//! expands as it reads it. Runs in the foreground (`-db`), killed by its
//! process id when dropped; what it says about its servers is read from
//! its stats page (`/stats;csv`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::http;
use crate::temp::{TempDir, free_port};
use crate::wait::wait_until;

/// The shipped configuration.
pub fn shipped_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/haproxy.cfg")
}

/// Gateways the shipped configuration balances over (`gw1` to `gw3`).
pub const SERVERS: usize = 3;

/// The flags a gateway needs behind the shipped config, which opens every
/// connection (health checks too) with a PROXY v2 header from this host.
/// Direct connections from this host are then refused: read the gateway's
/// `/readyz` and `/metrics` on a `--metrics-listen` address.
pub const GATEWAY_FLAGS: [&str; 5] = [
    "--proxy-protocol",
    "--trusted-proxies",
    "127.0.0.1/32",
    "--metrics-listen",
    "127.0.0.1:0",
];
/// Longest wait for HAProxy to serve its stats page, or for a server state.
const LIMIT: Duration = Duration::from_secs(20);

/// A running `haproxy`.
pub struct HaProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    /// Its stats page and Prometheus metrics.
    pub stats_addr: SocketAddr,
    child: Option<Child>,
    /// Holds its log.
    dir: TempDir,
}

/// The environment that fills in the shipped configuration: where clients
/// and the stats page connect, the gateways, and a global `maxconn` that
/// fits `max_files` open files (HAProxy needs two per connection; it
/// refuses to start when it cannot have them).
pub fn environment(
    bind: SocketAddr,
    stats: SocketAddr,
    gateways: &[SocketAddr],
    max_files: u64,
) -> Vec<(String, String)> {
    let maxconn = (max_files.saturating_sub(100) / 2).min(20_000);
    let mut vars = vec![
        ("TACTICAL_LINK_HAPROXY_BIND".to_owned(), bind.to_string()),
        ("TACTICAL_LINK_HAPROXY_STATS".to_owned(), stats.to_string()),
        (
            "TACTICAL_LINK_HAPROXY_MAXCONN".to_owned(),
            maxconn.to_string(),
        ),
    ];
    for (n, gateway) in gateways.iter().enumerate() {
        vars.push((
            format!("TACTICAL_LINK_GATEWAY_{}", n + 1),
            gateway.to_string(),
        ));
    }
    vars
}

/// The `status` of each server of `backend` in a `/stats;csv` page
/// (`gw1` → `UP`, `DOWN`, `UP 1/2`, …).
pub fn server_states(csv: &str, backend: &str) -> BTreeMap<String, String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let column = |name| header.iter().position(|field| *field == name);
    let (Some(proxy), Some(server), Some(status)) =
        (column("pxname"), column("svname"), column("status"))
    else {
        return BTreeMap::new();
    };
    lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .filter(|fields| fields.get(proxy) == Some(&backend))
        .filter(|fields| !matches!(fields.get(server), Some(&"FRONTEND" | &"BACKEND")))
        .filter_map(|f| Some((f.get(server)?.to_string(), f.get(status)?.to_string())))
        .collect()
}

impl HaProxy {
    /// Starts it on the shipped configuration in front of `gateways` (as
    /// many as the file names); panics with its log if it does not come up.
    pub fn start(gateways: &[SocketAddr]) -> HaProxy {
        HaProxy::try_start(&shipped_config(), gateways).unwrap_or_else(|err| panic!("{err:#}"))
    }

    /// Starts `haproxy -db -f CONFIG` on free ports and waits for its stats
    /// page; retries on other ports when one was taken meanwhile.
    pub fn try_start(config: &Path, gateways: &[SocketAddr]) -> anyhow::Result<HaProxy> {
        assert_eq!(
            gateways.len(),
            SERVERS,
            "the shipped configuration names {SERVERS} gateways"
        );
        let max_files = open_files_limit();
        let mut log = String::new();
        for _ in 0..3 {
            let dir = TempDir::new("tl-haproxy")?;
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let stats_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let log_file = std::fs::File::create(dir.join("haproxy.log"))?;
            let child = Command::new(program())
                .arg("-db")
                .arg("-f")
                .arg(config)
                .envs(environment(addr, stats_addr, gateways, max_files))
                .stdin(Stdio::null())
                .stdout(log_file.try_clone()?)
                .stderr(log_file)
                .spawn()
                .context("cannot run haproxy (apt-get install haproxy)")?;
            let mut proxy = HaProxy {
                addr,
                stats_addr,
                child: Some(child),
                dir,
            };
            if proxy.wait_serving() {
                return Ok(proxy);
            }
            proxy.kill();
            log = proxy.log();
        }
        bail!(
            "haproxy did not start on {}; its log:\n{log}",
            config.display()
        )
    }

    /// Waits for the stats page; false if HAProxy exited first.
    fn wait_serving(&mut self) -> bool {
        let stats = self.stats_addr;
        let child = self.child.as_mut().expect("started");
        let up = wait_until(LIMIT, "haproxy's stats page", || {
            let served = http::get(stats, "/stats;csv", Duration::from_secs(1))
                .is_ok_and(|(status, _)| status == 200);
            served || !matches!(child.try_wait(), Ok(None))
        });
        up.is_ok() && matches!(child.try_wait(), Ok(None))
    }

    /// `ws://ADDR/dashboard/ws` through HAProxy.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/dashboard/ws", self.addr)
    }

    /// `http://ADDR<path>` through HAProxy.
    pub fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The state of each gateway as HAProxy sees it (`gw1` → `UP`).
    pub fn states(&self) -> anyhow::Result<BTreeMap<String, String>> {
        let (status, csv) = http::get(self.stats_addr, "/stats;csv", Duration::from_secs(2))?;
        anyhow::ensure!(status == 200, "GET /stats;csv answered {status}: {csv}");
        Ok(server_states(&csv, "gateways"))
    }

    /// Waits until HAProxy sees exactly `expected` (e.g. `[("gw1", "UP"),
    /// …]`, every server named); panics with what it saw after 20 s.
    pub fn wait_states(&self, expected: &[(&str, &str)]) {
        let want: BTreeMap<String, String> = expected
            .iter()
            .map(|(server, state)| ((*server).to_owned(), (*state).to_owned()))
            .collect();
        let reached = wait_until(LIMIT, "haproxy's view of the gateways", || {
            self.states().is_ok_and(|states| states == want)
        });
        if let Err(err) = reached {
            panic!("{err:#}: want {want:?}, have {:?}", self.states());
        }
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills it (SIGKILL, by its process id).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What it logged so far (server state changes, one line per session).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("haproxy.log")).unwrap_or_default()
    }
}

/// Debian's `/usr/sbin/haproxy` (not on a user's PATH), else `haproxy`.
pub fn program() -> PathBuf {
    let debian = PathBuf::from("/usr/sbin/haproxy");
    if debian.exists() {
        debian
    } else {
        PathBuf::from("haproxy")
    }
}

/// This process's hard limit of open files, which HAProxy inherits.
fn open_files_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills a struct we own.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    if ok { limit.rlim_max } else { 1024 }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- last lines of haproxy's log ---");
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_names_every_address_the_shipped_file_expands() {
        let at = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        let vars = environment(at(1), at(2), &[at(10), at(11), at(12)], 20_000);
        let shipped = std::fs::read_to_string(shipped_config()).unwrap();
        for (name, _) in &vars {
            assert!(
                shipped.contains(&format!("\"${{{name}")),
                "{name} is not in the file"
            );
        }
        let get = |name: &str| vars.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(get("TACTICAL_LINK_HAPROXY_BIND"), "127.0.0.1:1");
        assert_eq!(get("TACTICAL_LINK_GATEWAY_3"), "127.0.0.1:12");
        assert_eq!(
            get("TACTICAL_LINK_HAPROXY_MAXCONN"),
            "9950",
            "two files a connection"
        );
        let roomy = environment(at(1), at(2), &[at(10)], 1 << 20);
        assert_eq!(roomy[2].1, "20000", "the shipped default when files allow");
    }

    #[test]
    fn reads_server_states_from_the_stats_csv() {
        let csv = "# pxname,svname,qcur,status,weight\n\
                   dashboards,FRONTEND,,OPEN,\n\
                   gateways,gw1,0,UP,1\n\
                   gateways,gw2,0,DOWN,1\n\
                   gateways,gw3,0,UP 1/2,1\n\
                   gateways,BACKEND,0,UP,2\n\
                   stats,FRONTEND,,OPEN,\n";
        let states = server_states(csv, "gateways");
        let want: BTreeMap<String, String> = [("gw1", "UP"), ("gw2", "DOWN"), ("gw3", "UP 1/2")]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        assert_eq!(states, want);
        assert!(server_states("garbage", "gateways").is_empty());
    }

    #[test]
    fn the_shipped_file_is_valid_without_a_warning() {
        let at = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        let vars = environment(at(1), at(2), &[at(10), at(11), at(12)], 4096);
        let check = |vars: &[(String, String)]| {
            let output = Command::new(program())
                .arg("-c")
                .arg("-f")
                .arg(shipped_config())
                .env_remove("TACTICAL_LINK_GATEWAY_1")
                .envs(vars.iter().cloned())
                .output()
                .expect("run haproxy (apt-get install haproxy)");
            let said = String::from_utf8_lossy(&output.stderr).into_owned()
                + &String::from_utf8_lossy(&output.stdout);
            (output.status.success(), said)
        };
        let (valid, said) = check(&vars);
        assert!(valid, "{said}");
        assert!(
            !said.contains("WARNING") && !said.contains("ALERT"),
            "{said}"
        );
        let without_gw1: Vec<_> = vars
            .into_iter()
            .filter(|(name, _)| name != "TACTICAL_LINK_GATEWAY_1")
            .collect();
        let (valid, said) = check(&without_gw1);
        assert!(!valid, "a gateway's address is required: {said}");
    }
}
