//! Who the client is when a load balancer stands between it and the
//! gateway: the trusted proxies (`--trusted-proxies`), the PROXY protocol
//! header they send before anything else (`--proxy-protocol`, [`header`]),
//! and the `X-Forwarded-For` or `Forwarded` header of an HTTP-mode one
//! ([`forwarded`]).
//!
//! Every per-address limit (`--max-requests-per-ip`,
//! `--max-connections-per-ip`), the failed-authentication throttle and the
//! logs key on the address this module gives. Without it every client behind
//! a proxy has the proxy's address: per-address caps count everyone
//! together, and one client sending bad tokens locks all of them out.
//!
//! Only a peer in the trusted list may name another address; anyone else's
//! claims are ignored, so a client that reaches the gateway directly cannot
//! choose the address its failures count against. With `--proxy-protocol`,
//! a trusted peer must start with a header (a connection without one is
//! closed) and a peer outside the list is refused, unless
//! `--proxy-protocol-allow-direct` lets it in as itself. The listener
//! ([`crate::listener`]) asks [`ProxyPolicy::arrival`] what to do with each
//! connection and [`ProxyPolicy::client`] for each request, and hands the
//! result to every handler as axum's `ConnectInfo`.

pub mod forwarded;
pub mod header;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::http::HeaderMap;
use ipnet::IpNet;

pub use forwarded::ForwardedHeader;

/// The address blocks of the load balancers in front of the gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    /// Parses CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`) and single
    /// addresses (`127.0.0.1`, a block of one); empty entries are skipped.
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        let mut blocks = Vec::new();
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let block = match entry.parse::<IpNet>() {
                Ok(block) => block.trunc(),
                Err(_) => match entry.parse::<IpAddr>() {
                    Ok(address) => IpNet::from(address.to_canonical()),
                    Err(_) => {
                        return Err(format!(
                            "{entry:?} is not an address or a CIDR block like 10.0.0.0/8"
                        ));
                    }
                },
            };
            blocks.push(block);
        }
        Ok(TrustedProxies(blocks.into()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `address` (an IPv4 address mapped into IPv6 counts as the
    /// IPv4 one) is in a trusted block.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|block| block.contains(&address))
    }
}

impl std::fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let blocks: Vec<String> = self.0.iter().map(IpNet::to_string).collect();
        f.write_str(&blocks.join(","))
    }
}

/// What a new connection must do before TLS and HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Served as it is: the peer is the client.
    Plain,
    /// A trusted proxy under `--proxy-protocol`: a PROXY header first.
    Header,
    /// Not a trusted proxy, under `--proxy-protocol` without
    /// `--proxy-protocol-allow-direct`: closed at once.
    Refused,
}

/// Which peers may speak for a client, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyPolicy {
    pub trusted: TrustedProxies,
    /// Trusted peers start every connection with a PROXY header.
    pub protocol: bool,
    /// Under `protocol`, peers that are not trusted are served as
    /// themselves instead of refused.
    pub allow_direct: bool,
    /// The request header a trusted HTTP proxy names the client in.
    pub header: ForwardedHeader,
}

impl ProxyPolicy {
    /// What a connection from `peer` must do first.
    pub fn arrival(&self, peer: IpAddr) -> Arrival {
        match (self.protocol, self.trusted.contains(peer)) {
            (false, _) => Arrival::Plain,
            (true, true) => Arrival::Header,
            (true, false) if self.allow_direct => Arrival::Plain,
            (true, false) => Arrival::Refused,
        }
    }

    /// Whether requests on a connection whose client is `connection` may
    /// name another client in a header.
    pub fn reads_headers_from(&self, connection: IpAddr) -> bool {
        self.header != ForwardedHeader::None && self.trusted.contains(connection)
    }

    /// The client of a request that came over a connection from
    /// `connection` (the peer, or the address its PROXY header gave): the
    /// right-most address of the forwarding header that is not a trusted
    /// proxy. Addresses left of it were written by the client or by
    /// proxies nobody vouches for, and are never read. An entry that is
    /// not an address (`unknown`, an obfuscated name, garbage) ends the
    /// walk at the trusted proxy that wrote it; a chain of trusted proxies
    /// only gives its left-most one.
    pub fn client(&self, connection: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = connection.to_canonical();
        if !self.reads_headers_from(client) {
            return client;
        }
        for hop in self.header.hops_right_to_left(headers) {
            match hop {
                Some(address) => client = address.to_canonical(),
                None => break,
            }
            if !self.trusted.contains(client) {
                break;
            }
        }
        client
    }

    /// One line for the start-up log.
    pub fn describe(&self) -> String {
        if self.trusted.is_empty() {
            return "every client is its TCP peer (no --trusted-proxies)".into();
        }
        let mut said = format!("trusted proxies {}", self.trusted);
        if self.protocol {
            said += ": PROXY header required from them";
            said += if self.allow_direct {
                ", other peers served as themselves"
            } else {
                ", other peers refused"
            };
        }
        if self.header != ForwardedHeader::None {
            said += &format!("; the client named in {} by them", self.header.name());
        }
        said
    }
}

/// `address` with an IPv4 address mapped into IPv6 written as IPv4, so
/// that limits and logs use one key per client.
pub fn canonical(address: SocketAddr) -> SocketAddr {
    SocketAddr::new(address.ip().to_canonical(), address.port())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn policy(trusted: &[&str], header: ForwardedHeader) -> ProxyPolicy {
        let entries: Vec<String> = trusted.iter().map(|t| t.to_string()).collect();
        ProxyPolicy {
            trusted: TrustedProxies::parse(&entries).unwrap(),
            header,
            ..ProxyPolicy::default()
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(name: &'static str, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn blocks_single_addresses_and_mapped_ipv4_are_trusted_others_not() {
        let trusted = policy(
            &["10.0.0.0/8", " 192.0.2.7 ", "", "2001:db8::/32"],
            ForwardedHeader::None,
        )
        .trusted;
        for address in ["10.1.2.3", "192.0.2.7", "::ffff:10.9.9.9", "2001:db8::1"] {
            assert!(trusted.contains(ip(address)), "{address}");
        }
        for address in ["11.0.0.1", "192.0.2.8", "2001:db9::1", "127.0.0.1"] {
            assert!(!trusted.contains(ip(address)), "{address}");
        }
        assert_eq!(trusted.to_string(), "10.0.0.0/8,192.0.2.7/32,2001:db8::/32");
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["proxy.example".into()]).is_err());
    }

    #[test]
    fn only_a_trusted_peer_names_the_client_the_right_most_untrusted_one() {
        let policy = policy(
            &["127.0.0.1/32", "192.0.2.0/24"],
            ForwardedHeader::XForwardedFor,
        );
        let spoofed = headers("x-forwarded-for", &["198.51.100.66, 203.0.113.7"]);
        assert_eq!(policy.client(ip("127.0.0.1"), &spoofed), ip("203.0.113.7"));
        assert_eq!(
            policy.client(ip("198.51.100.1"), &spoofed),
            ip("198.51.100.1"),
            "an untrusted peer's header is not read"
        );
        // Two proxies of ours: the inner one appended the outer one.
        let chain = headers("x-forwarded-for", &["6.6.6.6", "203.0.113.7, 192.0.2.10"]);
        assert_eq!(policy.client(ip("127.0.0.1"), &chain), ip("203.0.113.7"));
        let only_proxies = headers("x-forwarded-for", &["192.0.2.10, 192.0.2.11"]);
        assert_eq!(
            policy.client(ip("127.0.0.1"), &only_proxies),
            ip("192.0.2.10")
        );
        let unknown = headers("x-forwarded-for", &["203.0.113.7, unknown, 192.0.2.10"]);
        assert_eq!(
            policy.client(ip("127.0.0.1"), &unknown),
            ip("192.0.2.10"),
            "the walk stops at an entry that is no address"
        );
        assert_eq!(
            policy.client(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
        let forwarded = headers("forwarded", &["for=203.0.113.9"]);
        assert_eq!(
            policy.client(ip("127.0.0.1"), &forwarded),
            ip("127.0.0.1"),
            "only the configured header is read"
        );
    }

    #[test]
    fn the_proxy_protocol_asks_trusted_peers_for_a_header_and_refuses_the_rest() {
        let mut policy = policy(&["192.0.2.0/24"], ForwardedHeader::None);
        assert_eq!(policy.arrival(ip("192.0.2.1")), Arrival::Plain, "off");
        policy.protocol = true;
        assert_eq!(policy.arrival(ip("192.0.2.1")), Arrival::Header);
        assert_eq!(policy.arrival(ip("::ffff:192.0.2.1")), Arrival::Header);
        assert_eq!(policy.arrival(ip("203.0.113.7")), Arrival::Refused);
        policy.allow_direct = true;
        assert_eq!(policy.arrival(ip("203.0.113.7")), Arrival::Plain);
        assert!(
            policy
                .describe()
                .contains("other peers served as themselves")
        );
    }
}
