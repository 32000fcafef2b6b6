//! A blocking HTTP/1.0 GET with timeouts, for probes that must not depend
//! on the caller's runtime (the benchmark polls from plain threads), and
//! the one value of a Prometheus text exposition a caller wants. A chunked
//! answer (HAProxy's stats page sends one even to HTTP/1.0) is joined.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::bail;

/// `GET path` on `addr`; the status code and the body.
pub fn get(addr: SocketAddr, path: &str, timeout: Duration) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let chunked = head
        .lines()
        .any(|line| line.eq_ignore_ascii_case("transfer-encoding: chunked"));
    Ok((
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
    ))
}

/// The data of a chunked body: each chunk is its size in hex, CRLF, the
/// data, CRLF; a chunk of size 0 ends it. Stops at anything malformed.
fn dechunk(mut body: &str) -> String {
    let mut data = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = size.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size, 16) else {
            break;
        };
        if size == 0 || rest.len() < size || !rest.is_char_boundary(size) {
            break;
        }
        data.push_str(&rest[..size]);
        body = rest[size..].strip_prefix("\r\n").unwrap_or(&rest[size..]);
    }
    data
}

/// Polls `GET path` every 50 ms until `done` accepts its status; returns
/// that status, or fails after `timeout` with the last answer.
pub fn wait_for_status(
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
    done: impl Fn(u16) -> bool,
) -> anyhow::Result<u16> {
    let deadline = Instant::now() + timeout;
    loop {
        let answer = get(addr, path, Duration::from_secs(2));
        match answer {
            Ok((status, _)) if done(status) => return Ok(status),
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            other => bail!("GET {path} on {addr}: still {other:?} after {timeout:?}"),
        }
    }
}

/// The value of one counter or gauge (`name` with its labels, if any) in
/// a Prometheus text exposition.
pub fn prometheus_value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (metric, value) = line.rsplit_once(' ')?;
            (metric == name).then(|| value.parse().ok())?
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_prometheus_value() {
        let text =
            "# HELP a_total x\n# TYPE a_total counter\na_total 12\nb_total{reason=\"x\"} 3\nab 7\n";
        assert_eq!(prometheus_value(text, "a_total"), Some(12.0));
        assert_eq!(prometheus_value(text, "b_total{reason=\"x\"}"), Some(3.0));
        assert_eq!(prometheus_value(text, "a"), None);
    }

    #[test]
    fn joins_a_chunked_body() {
        assert_eq!(
            dechunk("5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"),
            "hello, world"
        );
        assert_eq!(dechunk("3;ext=1\r\nabc\r\n0\r\n\r\n"), "abc");
        assert_eq!(dechunk("zz\r\nabc"), "", "malformed");
    }

    #[test]
    fn gets_status_and_body_from_a_real_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 256];
            while !request.ends_with(b"\r\n\r\n") {
                let n = stream.read(&mut buffer).unwrap();
                assert!(n > 0, "the request ended early: {request:?}");
                request.extend_from_slice(&buffer[..n]);
            }
            assert!(request.starts_with(b"GET /readyz HTTP/1.0\r\n"));
            stream
                .write_all(b"HTTP/1.0 503 Service Unavailable\r\n\r\nnot yet")
                .unwrap();
        });
        let (status, body) = get(addr, "/readyz", Duration::from_secs(2)).unwrap();
        assert_eq!((status, body.as_str()), (503, "not yet"));
        server.join().unwrap();
        let refused = wait_for_status(addr, "/", Duration::from_millis(200), |s| s == 200);
        assert!(refused.is_err(), "nobody listens any more");
    }
}
