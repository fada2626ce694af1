//! Where the HTTP connector may connect. An organisation admin chooses the
//! URL, so without a rule the server would call whatever they name: its
//! own loopback services, the cloud metadata address, the private network
//! behind it. The operator's rule decides by the address a name resolves
//! to *at connect time* (a name that resolves to a public address when the
//! entrance is created can point inwards later):
//!
//! - with no allowlist, any host whose addresses are public;
//! - with an allowlist, only the hosts it names (at whatever address) and
//!   addresses in the ranges it lists.
//!
//! Loopback, private, link-local, carrier-grade NAT, unique-local,
//! multicast and unspecified addresses are never public.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::Name;
use limen_domain::AddressRange;

/// One entry of the operator's allowlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedHost {
    /// A host name, allowed at whatever address it resolves to.
    Name(String),
    /// Addresses allowed whatever name leads to them.
    Range(AddressRange),
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is neither a host name nor an IP address or CIDR range")]
pub struct InvalidAllowedHost(String);

impl FromStr for AllowedHost {
    type Err = InvalidAllowedHost;

    fn from_str(text: &str) -> Result<AllowedHost, InvalidAllowedHost> {
        let text = text.trim();
        if let Ok(range) = text.parse() {
            return Ok(AllowedHost::Range(range));
        }
        let is_name = !text.is_empty()
            && text.len() <= 253
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if is_name {
            Ok(AllowedHost::Name(text.to_ascii_lowercase()))
        } else {
            Err(InvalidAllowedHost(text.to_owned()))
        }
    }
}

/// The operator's rule for connector hosts.
#[derive(Debug, Clone, Default)]
pub struct ConnectorPolicy {
    allowed: Arc<[AllowedHost]>,
}

impl ConnectorPolicy {
    pub fn new(allowed: Vec<AllowedHost>) -> ConnectorPolicy {
        ConnectorPolicy {
            allowed: allowed.into(),
        }
    }

    /// Whether the connector may connect to `address` when it was asked
    /// for `host`.
    pub fn permits(&self, host: &str, address: IpAddr) -> bool {
        let address = AddressRange::canonical(address);
        if self.allowed.is_empty() {
            return is_public(address);
        }
        self.allowed.iter().any(|allowed| match allowed {
            AllowedHost::Name(name) => name.eq_ignore_ascii_case(host),
            AllowedHost::Range(range) => range.contains(address),
        })
    }

    /// Whether `host` (a name, or an address literal) could be allowed at
    /// all; a name's addresses are checked again at every connection.
    pub(crate) fn may_name(&self, host: &str) -> bool {
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        match literal.parse::<IpAddr>() {
            Ok(address) => self.permits(host, address),
            Err(_) => {
                self.allowed.is_empty()
                    || self.allowed.iter().any(|allowed| match allowed {
                        AllowedHost::Name(name) => name.eq_ignore_ascii_case(host),
                        AllowedHost::Range(_) => true,
                    })
            }
        }
    }
}

/// Not an address of this machine or of a private network.
fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                // Carrier-grade NAT, 100.64.0.0/10.
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // Unique local, fc00::/7, and link-local, fe80::/10.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// Resolves a connector host and keeps only the addresses the policy
/// permits, so the check holds for the address actually connected to.
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver {
    pub(crate) policy: ConnectorPolicy,
}

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let lookup = host.clone();
            let resolved: Vec<SocketAddr> =
                tokio::task::spawn_blocking(move || (lookup.as_str(), 0).to_socket_addrs())
                    .await
                    .map_err(io::Error::other)??
                    .collect();
            let permitted: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|address| policy.permits(&host, address.ip()))
                .collect();
            if permitted.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{host} resolves to no address the operator allows for connectors"),
                ));
            }
            Ok(permitted.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn without_an_allowlist_only_public_addresses() {
        let policy = ConnectorPolicy::default();
        for inward in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!policy.permits("acs.example", ip(inward)), "{inward}");
        }
        assert!(policy.permits("acs.example", ip("203.0.113.9")));
        assert!(policy.permits("acs.example", ip("2001:db8::1")));
    }

    #[test]
    fn an_allowlist_names_hosts_and_ranges() {
        let policy = ConnectorPolicy::new(
            ["acs.corp.example", "10.20.0.0/16"]
                .iter()
                .map(|t| t.parse().expect("entry"))
                .collect(),
        );
        assert!(policy.permits("acs.corp.example", ip("10.99.0.1")));
        assert!(policy.permits("other.example", ip("10.20.5.5")));
        assert!(!policy.permits("other.example", ip("203.0.113.9")));
        assert!(!policy.permits("other.example", ip("127.0.0.1")));
        assert!(policy.may_name("acs.corp.example"));
        assert!(policy.may_name("10.20.1.1"));
        assert!(!policy.may_name("127.0.0.1"));
        assert!("http://x".parse::<AllowedHost>().is_err());
    }
}
