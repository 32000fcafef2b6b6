//! The systemd unit and its settings file in deploy/, checked as far as a
//! machine without systemd running allows: `systemd-analyze verify` on
//! the unit as shipped (in a root of our own holding the built binary at
//! its ExecStart path), its hardening score from `systemd-analyze security
//! --offline`, every variable of the settings file a flag of `serve`, and
//! the binary run the unit's way: its ExecStart, the settings file, stopped
//! by SIGTERM within TimeoutStopSec, a bad setting exiting with the status
//! the unit does not restart on. HAProxy's file is run by the scale tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use testkit::{GatewayProcess, RedisServer, Served, TempDir, tokens};

const BIN: &str = env!("CARGO_BIN_EXE_tactical-link");

fn deploy(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(name)
}

/// The `Key=Value` lines of a unit, by section; a key set twice keeps both.
fn unit() -> BTreeMap<String, Vec<(String, String)>> {
    let text = std::fs::read_to_string(deploy("tactical-link.service")).unwrap();
    let mut sections: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with(['#', ';']) || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
        } else if let Some((key, value)) = line.split_once('=') {
            let entry = (key.trim().to_owned(), value.trim().to_owned());
            sections.entry(section.clone()).or_default().push(entry);
        }
    }
    sections
}

fn service(key: &str) -> String {
    let unit = unit();
    let found = unit["Service"].iter().rev().find(|(k, _)| k == key);
    found
        .unwrap_or_else(|| panic!("{key}= is not set"))
        .1
        .clone()
}

/// The settings file as systemd reads it: `KEY=value` lines; with
/// `commented`, the `#KEY=value` examples too.
fn settings(commented: bool) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(deploy("tactical-link.env")).unwrap();
    text.lines()
        .filter_map(|line| match line.strip_prefix('#') {
            Some(example) if commented => Some(example),
            Some(_) => None,
            None => Some(line),
        })
        .filter_map(|line| line.split_once('='))
        .filter(|(key, _)| key.starts_with("TACTICAL_LINK_"))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

fn systemd_analyze(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let output = Command::new("systemd-analyze")
        .args(args)
        .output()
        .expect("systemd-analyze (Debian package systemd; scripts/test.sh installs it)");
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), said)
}

#[test]
fn systemd_analyze_verify_finds_nothing_to_say_about_the_unit() {
    // verify wants the ExecStart binary and systemd's own units under the
    // root it checks: a root of ours with the built binary and a copy of
    // the system's units, the shipped unit unchanged.
    let root = TempDir::new("tl-systemd-root").unwrap();
    let exec = service("ExecStart");
    let program = exec.split_whitespace().next().unwrap();
    let installed = root.path().join(program.trim_start_matches('/'));
    std::fs::create_dir_all(installed.parent().unwrap()).unwrap();
    std::fs::hard_link(BIN, &installed)
        .or_else(|_| std::fs::copy(BIN, &installed).map(|_| ()))
        .unwrap();
    let units = root.path().join("usr/lib/systemd");
    std::fs::create_dir_all(&units).unwrap();
    let copied = Command::new("cp")
        .args(["-a", "/usr/lib/systemd/system"])
        .arg(&units)
        .status()
        .unwrap();
    assert!(copied.success());
    let etc = root.path().join("etc/systemd/system");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::copy(
        deploy("tactical-link.service"),
        etc.join("tactical-link.service"),
    )
    .unwrap();

    let root_arg = format!("--root={}", root.path().display());
    let (ok, said) = systemd_analyze(&[
        "verify".as_ref(),
        root_arg.as_ref(),
        "tactical-link.service".as_ref(),
    ]);
    assert!(ok, "{said}");
    assert_eq!(said.trim(), "", "a warning is a key systemd ignores");
}

#[test]
fn the_unit_runs_as_its_own_user_hardened() {
    for (key, value) in [
        ("User", "tactical-link"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("LimitNOFILE", "65536"),
        ("Restart", "on-failure"),
        ("EnvironmentFile", "/etc/tactical-link/tactical-link.env"),
    ] {
        assert_eq!(service(key), value, "{key}=");
    }
    // Exposure as systemd scores it, 0 (locked down) to 10 (root, no
    // sandbox); --threshold is in tenths: above 2.0 fails.
    let unit = deploy("tactical-link.service");
    let (ok, said) = systemd_analyze(&[
        "security".as_ref(),
        "--offline=yes".as_ref(),
        "--threshold=20".as_ref(),
        unit.as_os_str(),
    ]);
    assert!(ok, "exposure above 2.0:\n{said}");
}

#[test]
fn every_variable_of_the_settings_file_is_a_flag_of_serve() {
    let help = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let all = settings(true);
    assert!(all.len() >= 6, "{all:?}");
    for (key, _) in all {
        assert!(
            help.contains(&format!("[env: {key}")),
            "{key} is no flag of serve"
        );
    }
}

/// The unit's ExecStart with the built binary, the settings file's
/// variables with `overrides`, and nothing else from this environment.
fn as_the_unit_runs_it(overrides: &[(&str, String)]) -> Command {
    let exec = service("ExecStart");
    let mut command = Command::new(BIN);
    command.args(exec.split_whitespace().skip(1)).env_clear();
    command
        .envs(settings(false))
        .envs(overrides.iter().map(|(k, v)| (*k, v)));
    command
}

/// `GET path` on a fresh connection, after a PROXY v2 header for a client
/// at 203.0.113.7 when `with_header`, as deploy/haproxy.cfg's
/// `send-proxy-v2` writes it; everything answered until the close.
async fn get_as_haproxy_would(at: std::net::SocketAddr, path: &str, with_header: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut request = Vec::new();
    if with_header {
        request.extend(b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c");
        request.extend([203, 0, 113, 7, 127, 0, 0, 1, 0x12, 0x67, 0x1f, 0x40]);
    }
    request.extend(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").bytes());
    let mut stream = tokio::net::TcpStream::connect(at).await.unwrap();
    stream.write_all(&request).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer));
    let _ = read.await.expect("answered or closed within 10 s");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_the_units_way_and_stops_within_its_timeout() {
    let redis = RedisServer::start();
    let dir = TempDir::new("tl-unit").unwrap();
    let secret = dir.write("jwt-secret", tokens::random_secret()).unwrap();
    let local = [
        ("TACTICAL_LINK_LISTEN", "127.0.0.1:0".to_owned()),
        ("TACTICAL_LINK_METRICS_LISTEN", "127.0.0.1:0".to_owned()),
        ("TACTICAL_LINK_REDIS", redis.url()),
        (
            "TACTICAL_LINK_JWT_SECRET_FILE",
            secret.display().to_string(),
        ),
    ];
    let command = as_the_unit_runs_it(&local);
    let mut gateway =
        GatewayProcess::spawn("tactical-link.service", command, Duration::from_secs(20)).unwrap();
    assert!(
        gateway.metrics_addr.is_some(),
        "metrics on their own address"
    );
    gateway.wait_bus_up(Duration::from_secs(15)).await;
    // Its settings put it behind HAProxy on this host: what HAProxy sends
    // is served, a plain request from the same address is not.
    let answer = get_as_haproxy_would(gateway.addr, "/api/status", true).await;
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    let status: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(status["auth"]["required"], true, "{status}");
    let plain = get_as_haproxy_would(gateway.addr, "/api/status", false).await;
    assert_eq!(plain, "", "a connection without a PROXY header is closed");
    let first_line = gateway.log().lines().next().unwrap_or_default().to_owned();
    let logged: serde_json::Value = serde_json::from_str(&first_line).unwrap();
    assert!(logged["level"].is_string(), "JSON logs: {first_line}");

    let limit = service("TimeoutStopSec");
    let limit = Duration::from_secs(limit.trim_end_matches('s').parse().unwrap());
    let stopped = gateway
        .terminate(limit)
        .expect("stopped within TimeoutStopSec");
    assert_eq!(
        stopped.code(),
        Some(0),
        "a clean stop is no failure to restart on"
    );

    let bad = [
        local.to_vec(),
        vec![("TACTICAL_LINK_HEARTBEAT", "0".to_owned())],
    ]
    .concat();
    let refused = as_the_unit_runs_it(&bad).output().unwrap();
    let no_restart = service("RestartPreventExitStatus");
    assert_eq!(
        refused.status.code().map(|c| c.to_string()),
        Some(no_restart)
    );
}
