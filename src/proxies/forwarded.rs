//! The addresses an HTTP-mode load balancer writes into a request:
//! `X-Forwarded-For: client, proxy1, proxy2` or RFC 7239's
//! `Forwarded: for=client, for=proxy1`, read right to left.
//!
//! Each proxy appends the address it received the request from, so the
//! right end of the list is written by the proxy nearest the gateway and
//! the left end by whoever sent the request first, a client free to write
//! anything. The reading is therefore lenient and local: entries are split
//! on commas from the right and each is parsed alone, so a malformed or
//! hostile entry on the left (an unclosed quote, a comma inside a quoted
//! string) cannot change how the entries on its right read. A strict parse
//! of the whole header would let a client make it fail, and so fall back to
//! the proxy's own address, the very collapse trusted proxies exist to
//! prevent. Every line of the header counts, in order.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::http::HeaderMap;
use axum::http::header::{FORWARDED, HeaderName};

/// The header a trusted HTTP proxy names the client in
/// (`--forwarded-header`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For` (HAProxy's `option forwardedfor`, nginx, most
    /// cloud load balancers).
    #[default]
    XForwardedFor,
    /// `Forwarded` (RFC 7239), its `for=` parameters.
    Forwarded,
    /// Neither: only the PROXY protocol names the client.
    None,
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Reads one comma-separated entry of a header: its address, if any.
type EntryReader = fn(&str) -> Option<IpAddr>;

impl ForwardedHeader {
    /// The header's name as written in requests.
    pub fn name(self) -> &'static str {
        match self {
            ForwardedHeader::XForwardedFor => "X-Forwarded-For",
            ForwardedHeader::Forwarded => "Forwarded",
            ForwardedHeader::None => "no header",
        }
    }

    /// The entries of this header in `headers`, last line's last entry
    /// first: `Some(address)`, or `None` for an entry that names no
    /// address (`unknown`, an obfuscated name, anything unreadable).
    pub fn hops_right_to_left<'a>(
        self,
        headers: &'a HeaderMap,
    ) -> impl Iterator<Item = Option<IpAddr>> + 'a {
        let (name, entry): (Option<HeaderName>, EntryReader) = match self {
            ForwardedHeader::XForwardedFor => (Some(X_FORWARDED_FOR), node),
            ForwardedHeader::Forwarded => (Some(FORWARDED), forwarded_for),
            ForwardedHeader::None => (None, node),
        };
        name.into_iter()
            .flat_map(move |name| headers.get_all(name).iter().rev())
            // A line that is not visible ASCII reads as one entry that
            // names nothing.
            .flat_map(move |value| value.to_str().unwrap_or("").rsplit(',').map(entry))
    }
}

/// An address as proxies write it in `X-Forwarded-For` or a `for=`
/// value: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`,
/// `[2001:db8::1]:4711`.
fn node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(address) = text.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Some(address.ip());
    }
    let bracketed = text.strip_prefix('[')?.strip_suffix(']')?;
    bracketed.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

/// The address of the `for=` parameter of one `Forwarded` element
/// (`for=192.0.2.60;proto=http;by=203.0.113.43`), quoted or not.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let value = element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then_some(value)
    })?;
    node(value.trim().trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn hops(kind: ForwardedHeader, name: &'static str, values: &[&[u8]]) -> Vec<Option<String>> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(name, HeaderValue::from_bytes(value).unwrap());
        }
        kind.hops_right_to_left(&headers)
            .map(|hop| hop.map(|a| a.to_string()))
            .collect()
    }

    fn some(list: &[&str]) -> Vec<Option<String>> {
        list.iter().map(|a| Some(a.to_string())).collect()
    }

    #[test]
    fn x_forwarded_for_reads_every_line_right_to_left_in_every_address_form() {
        let read = hops(
            ForwardedHeader::XForwardedFor,
            "x-forwarded-for",
            &[
                b"192.0.2.1, 192.0.2.2:4711",
                b"[2001:db8::1]:80,2001:db8::2 , [2001:db8::3]",
            ],
        );
        assert_eq!(
            read,
            some(&[
                "2001:db8::3",
                "2001:db8::2",
                "2001:db8::1",
                "192.0.2.2",
                "192.0.2.1"
            ])
        );
        let odd = hops(
            ForwardedHeader::XForwardedFor,
            "x-forwarded-for",
            &[b"unknown, , 192.0.2.9", b"\xff"],
        );
        assert_eq!(odd, vec![None, Some("192.0.2.9".into()), None, None]);
    }

    #[test]
    fn forwarded_reads_the_for_parameter_quoted_or_not() {
        let read = hops(
            ForwardedHeader::Forwarded,
            "forwarded",
            &[
                br#"for="_gazonk", For="[2001:db8:cafe::17]:4711""#,
                b"for=192.0.2.60;proto=http;by=203.0.113.43, proto=https",
            ],
        );
        assert_eq!(
            read,
            vec![
                None,
                Some("192.0.2.60".into()),
                Some("2001:db8:cafe::17".into()),
                None
            ]
        );
    }

    #[test]
    fn a_hostile_left_part_does_not_change_how_the_right_part_reads() {
        let read = hops(
            ForwardedHeader::Forwarded,
            "forwarded",
            &[br#"for="198.51.100.1, for=6.6.6.6;x="oops, for=203.0.113.7"#],
        );
        assert_eq!(read[0], Some("203.0.113.7".into()));
        assert!(hops(ForwardedHeader::None, "x-forwarded-for", &[b"192.0.2.1"]).is_empty());
    }
}
