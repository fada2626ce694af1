//! Who is on the other end: the client's address, read from
//! `X-Forwarded-For` only when the connection comes from a reverse proxy
//! the operator trusts (anyone else could write any address there), and
//! grouped the way limits should see it: an IPv6 client controls its whole
//! /64, so its /64 is one client.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::AppState;
use crate::error::ApiError;

/// An address range in CIDR notation (`10.0.0.0/8`, `fd00::/8`) or a
/// single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    network: IpAddr,
    prefix: u8,
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR range (such as 10.0.0.0/8 or fd00::/8)")]
pub struct InvalidAddressRange(String);

impl FromStr for AddressRange {
    type Err = InvalidAddressRange;

    fn from_str(text: &str) -> Result<AddressRange, InvalidAddressRange> {
        let invalid = || InvalidAddressRange(text.to_owned());
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address.parse().map_err(|_| invalid())?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(invalid)?,
            None => bits,
        };
        Ok(AddressRange {
            network: masked(network, prefix),
            prefix,
        })
    }
}

impl AddressRange {
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        address.is_ipv4() == self.network.is_ipv4() && masked(address, self.prefix) == self.network
    }
}

/// The address with all but its first `prefix` bits cleared.
fn masked(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

/// IPv4 clients reaching an IPv6 socket are IPv4 clients.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address as limits count it: an IPv4 address, or an IPv6
/// /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientGroup(IpAddr);

impl ClientGroup {
    pub fn of(address: IpAddr) -> ClientGroup {
        match canonical(address) {
            IpAddr::V6(v6) => ClientGroup(masked(IpAddr::V6(v6), 64)),
            v4 => ClientGroup(v4),
        }
    }
}

impl std::fmt::Display for ClientGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
            v4 => write!(f, "{v4}"),
        }
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy,
/// the nearest address in `X-Forwarded-For` that is not a trusted proxy.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[AddressRange]) -> IpAddr {
    let is_trusted = |address: IpAddr| trusted.iter().any(|range| range.contains(address));
    if !is_trusted(peer) {
        return canonical(peer);
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
    canonical(client)
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
        assert!("10.0.0.0/33".parse::<AddressRange>().is_err());
        assert!("proxy.local".parse::<AddressRange>().is_err());
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
    }
}
