//! The PROXY protocol header (v1 text or v2 binary, HAProxy's
//! `send-proxy` and `send-proxy-v2`) a trusted load balancer sends before
//! anything else on a connection, read under two bounds: a deadline (the
//! caller's, `--handshake-timeout`) and [`MAX_HEADER_BYTES`].
//!
//! Parsing is the `proxy-header` crate's; what is ours is the reading: the
//! bytes come as the network delivers them, possibly together with the
//! start of the TLS handshake or the HTTP request, which are handed back
//! to be read first ([`Received::rest`]). A v2 header that announces more
//! than the bound is refused as soon as its length is read, without waiting
//! for the bytes; a `LOCAL` header (a proxy's own health check) names no
//! client.

use std::net::SocketAddr;
use std::time::Duration;

use proxy_header::{ParseConfig, ProxyHeader};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The longest header accepted, TLVs included: a v1 line is at most 107
/// bytes, and HAProxy's v2 header with its usual TLVs (unique id, ALPN,
/// authority, TLS details) a few hundred.
pub const MAX_HEADER_BYTES: usize = 4096;

/// The v2 signature, then version and command, family, and a 16-bit
/// length of what follows.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
const V2_FIXED_BYTES: usize = 16;

const PARSE: ParseConfig = ParseConfig {
    include_tlvs: false,
    allow_v1: true,
    allow_v2: true,
};

/// A header read off a connection.
#[derive(Debug)]
pub struct Received {
    /// The client's address; `None` for `LOCAL` (or an address family
    /// without one, such as a Unix socket).
    pub source: Option<SocketAddr>,
    /// What came after the header in the same reads.
    pub rest: Vec<u8>,
}

/// Why a trusted peer's connection was refused.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    #[error("no PROXY header: {0}")]
    Malformed(proxy_header::Error),
    #[error("a PROXY header longer than {MAX_HEADER_BYTES} bytes")]
    TooLong,
    #[error("the connection closed before a complete PROXY header")]
    Closed,
    #[error("no complete PROXY header within {0:?}")]
    Late(Duration),
    #[error("reading the PROXY header failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads the header at the start of `stream`, within `deadline`.
pub async fn read<S: AsyncRead + Unpin>(
    stream: &mut S,
    deadline: Duration,
) -> Result<Received, HeaderError> {
    tokio::time::timeout(deadline, read_bounded(stream))
        .await
        .map_err(|_| HeaderError::Late(deadline))?
}

/// Reads until the header parses, reading nothing past
/// [`MAX_HEADER_BYTES`].
async fn read_bounded<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Received, HeaderError> {
    let mut bytes = Vec::with_capacity(256);
    loop {
        let room = MAX_HEADER_BYTES - bytes.len();
        if room == 0 {
            return Err(HeaderError::TooLong);
        }
        if (&mut *stream)
            .take(room as u64)
            .read_buf(&mut bytes)
            .await?
            == 0
        {
            return Err(HeaderError::Closed);
        }
        match ProxyHeader::parse(&bytes, PARSE) {
            Ok((header, used)) => {
                let source = header.proxied_address().map(|address| address.source);
                return Ok(Received {
                    source,
                    rest: bytes.split_off(used),
                });
            }
            Err(proxy_header::Error::BufferTooShort) if announces_too_much(&bytes) => {
                return Err(HeaderError::TooLong);
            }
            Err(proxy_header::Error::BufferTooShort) if ended(&bytes) => {
                return Err(HeaderError::Malformed(proxy_header::Error::Invalid));
            }
            Err(proxy_header::Error::BufferTooShort) => continue,
            Err(err) => return Err(HeaderError::Malformed(err)),
        }
    }
}

/// Whether `bytes` start a v2 header whose announced length passes the
/// bound.
fn announces_too_much(bytes: &[u8]) -> bool {
    bytes.len() >= V2_FIXED_BYTES
        && bytes.starts_with(V2_SIGNATURE)
        && V2_FIXED_BYTES + usize::from(u16::from_be_bytes([bytes[14], bytes[15]]))
            > MAX_HEADER_BYTES
}

/// Whether every byte of the header `bytes` start is there, so that a
/// parser asking for more has in fact found it malformed: a v1 line has
/// reached its end of line (`PROXY TCP4 192.0.2.1 192.0.2.2\r\n`, without
/// ports), or a v2 header all the bytes it announced (fewer than its
/// addresses take). Waiting for more would hold the connection until the
/// deadline for nothing.
fn ended(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"P") {
        return bytes.contains(&b'\n');
    }
    bytes.len() >= V2_FIXED_BYTES
        && bytes.len() >= V2_FIXED_BYTES + usize::from(u16::from_be_bytes([bytes[14], bytes[15]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A v2 PROXY header for a TCP/IPv4 connection from `source`, with
    /// `extra` bytes of TLVs announced and appended.
    fn v2(source: [u8; 4], port: u16, extra: usize) -> Vec<u8> {
        let mut header = V2_SIGNATURE.to_vec();
        header.extend([0x21, 0x11]);
        header.extend(((12 + extra) as u16).to_be_bytes());
        header.extend(source);
        header.extend([192, 0, 2, 1]);
        header.extend(port.to_be_bytes());
        header.extend(8000u16.to_be_bytes());
        header.extend(std::iter::repeat_n(0u8, extra));
        header
    }

    async fn read_from(sent: Vec<u8>, then_close: bool) -> Result<Received, HeaderError> {
        let (mut client, mut server) = tokio::io::duplex(1 << 17);
        let writer = tokio::spawn(async move {
            client.write_all(&sent).await.unwrap();
            if !then_close {
                std::future::pending::<()>().await;
            }
        });
        let result = read(&mut server, Duration::from_millis(500)).await;
        writer.abort();
        result
    }

    #[tokio::test]
    async fn v1_and_v2_give_the_source_and_hand_back_what_followed() {
        let mut sent = v2([203, 0, 113, 7], 4711, 0);
        sent.extend(b"GET / HTTP/1.1\r\n");
        let received = read_from(sent, false).await.unwrap();
        assert_eq!(received.source, Some("203.0.113.7:4711".parse().unwrap()));
        assert_eq!(received.rest, b"GET / HTTP/1.1\r\n");

        let sent = b"PROXY TCP6 2001:db8::7 2001:db8::1 4711 443\r\n\x16\x03\x01".to_vec();
        let received = read_from(sent, false).await.unwrap();
        assert_eq!(received.source, Some("[2001:db8::7]:4711".parse().unwrap()));
        assert_eq!(received.rest, b"\x16\x03\x01");

        let mut local = V2_SIGNATURE.to_vec();
        local.extend([0x20, 0x00, 0x00, 0x00]);
        let received = read_from(local, false).await.unwrap();
        assert_eq!(received.source, None, "LOCAL: a health check");
    }

    #[tokio::test]
    async fn anything_else_is_refused_within_the_bounds() {
        let plain = read_from(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), false).await;
        assert!(matches!(plain, Err(HeaderError::Malformed(_))), "{plain:?}");
        let garbled = read_from(b"PROXY TCP4 203.0.113.7 nonsense\r\n".to_vec(), false).await;
        assert!(
            matches!(garbled, Err(HeaderError::Malformed(_))),
            "{garbled:?}"
        );
        let lf_only = read_from(b"PROXY TCP4 203.0.113.7 192.0.2.1 1 2\n".to_vec(), false).await;
        assert!(
            matches!(lf_only, Err(HeaderError::Malformed(_))),
            "{lf_only:?}"
        );
        let mut short = v2([203, 0, 113, 7], 1, 0);
        short[15] = 4;
        short.truncate(V2_FIXED_BYTES + 4);
        let short = read_from(short, false).await;
        assert!(matches!(short, Err(HeaderError::Malformed(_))), "{short:?}");
        let mut bad_version = v2([203, 0, 113, 7], 1, 0);
        bad_version[12] = 0x31;
        let refused = read_from(bad_version, false).await;
        assert!(
            matches!(refused, Err(HeaderError::Malformed(_))),
            "{refused:?}"
        );
        let announced = v2([203, 0, 113, 7], 1, 60_000)[..16].to_vec();
        let huge = read_from(announced, false).await;
        assert!(matches!(huge, Err(HeaderError::TooLong)), "{huge:?}");
        let half = read_from(v2([203, 0, 113, 7], 1, 0)[..20].to_vec(), false).await;
        assert!(matches!(half, Err(HeaderError::Late(_))), "{half:?}");
        let cut = read_from(v2([203, 0, 113, 7], 1, 0)[..20].to_vec(), true).await;
        assert!(matches!(cut, Err(HeaderError::Closed)), "{cut:?}");
        let fits = read_from(v2([203, 0, 113, 7], 1, MAX_HEADER_BYTES - 28), false).await;
        assert!(fits.is_ok(), "{fits:?}");
        let v1_endless = read_from([b"PROXY TCP4 ".as_slice(), &[b'1'; 200]].concat(), false).await;
        assert!(
            matches!(v1_endless, Err(HeaderError::Malformed(_))),
            "{v1_endless:?}"
        );
    }
}
