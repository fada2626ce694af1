//! Who is on the other end: the client's address, read from
//! `X-Forwarded-For` only when the connection comes from a reverse proxy
//! the operator trusts (anyone else could write any address there), and
//! grouped the way limits should see it: an IPv6 client controls its whole
//! /64, so its /64 is one client.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use limen_domain::AddressRange;

use crate::AppState;
use crate::error::ApiError;

/// The client's address as limits count it: an IPv4 address, or an IPv6
/// /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientGroup(AddressRange);

impl ClientGroup {
    pub fn of(address: IpAddr) -> ClientGroup {
        let address = AddressRange::canonical(address);
        let prefix = if address.is_ipv4() { 32 } else { 64 };
        ClientGroup(AddressRange::containing(address, prefix))
    }
}

impl std::fmt::Display for ClientGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy,
/// the nearest address in `X-Forwarded-For` that is not a trusted proxy.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[AddressRange]) -> IpAddr {
    let is_trusted = |address: IpAddr| trusted.iter().any(|range| range.contains(address));
    if !is_trusted(peer) {
        return AddressRange::canonical(peer);
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    let mut client = peer;
    // Right to left: each trusted proxy appended the address it saw.
    for entry in forwarded.iter().rev() {
        let Ok(address) = entry.trim().parse::<IpAddr>() else {
            break;
        };
        client = address;
        if !is_trusted(address) {
            break;
        }
    }
    AddressRange::canonical(client)
}

/// The requesting client's address group, for extractors.
pub struct Client(pub ClientGroup);

impl<S> FromRequestParts<S> for Client
where
    Arc<AppState>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = Arc::<AppState>::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |info| info.0.ip());
        Ok(Client(ClientGroup::of(client_address(
            peer,
            &parts.headers,
            &state.config.trusted_proxies,
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let trusted: Vec<AddressRange> = ["10.0.0.0/8", "fd00::/8"]
            .iter()
            .map(|t| t.parse().expect("range"))
            .collect();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 203.0.113.7, 10.1.1.1"),
        );
        // From the proxy: the nearest untrusted hop, not the forgeable first.
        assert_eq!(
            client_address(ip("10.0.0.2"), &headers, &trusted),
            ip("203.0.113.7")
        );
        // From anyone else the header is ignored.
        assert_eq!(
            client_address(ip("198.51.100.9"), &headers, &trusted),
            ip("198.51.100.9")
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn an_ipv6_slash_64_is_one_client() {
        assert_eq!(
            ClientGroup::of(ip("2001:db8:1:2:aaaa::1")),
            ClientGroup::of(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            ClientGroup::of(ip("2001:db8:1:2::1")),
            ClientGroup::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            ClientGroup::of(ip("::ffff:192.0.2.1")),
            ClientGroup::of(ip("192.0.2.1"))
        );
        assert_eq!(
            ClientGroup::of(ip("2001:db8:1:2::1")).to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(ClientGroup::of(ip("192.0.2.1")).to_string(), "192.0.2.1/32");
    }
}
