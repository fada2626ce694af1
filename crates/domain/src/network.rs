//! IP address ranges, as operators write them in the configuration
//! (trusted proxies, allowed connector hosts) and as limits group clients.

use std::net::IpAddr;
use std::str::FromStr;

/// An address range in CIDR notation (`10.0.0.0/8`, `fd00::/8`) or a
/// single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// The range of `prefix` bits that holds `address`.
    pub fn containing(address: IpAddr, prefix: u8) -> AddressRange {
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.min(bits);
        AddressRange {
            network: masked(address, prefix),
            prefix,
        }
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = Self::canonical(address);
        address.is_ipv4() == self.network.is_ipv4() && masked(address, self.prefix) == self.network
    }

    /// IPv4 clients reaching an IPv6 socket are IPv4 clients.
    pub fn canonical(address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        }
    }
}

impl std::fmt::Display for AddressRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_contain() {
        let range: AddressRange = "10.1.2.3/8".parse().expect("range");
        assert_eq!(range.to_string(), "10.0.0.0/8");
        assert!(range.contains("10.200.0.1".parse().expect("ip")));
        assert!(range.contains("::ffff:10.0.0.1".parse().expect("ip")));
        assert!(!range.contains("11.0.0.1".parse().expect("ip")));
        let one: AddressRange = "fd00::1".parse().expect("address");
        assert_eq!(one.to_string(), "fd00::1/128");
        assert!("10.0.0.0/33".parse::<AddressRange>().is_err());
        assert!("proxy.local".parse::<AddressRange>().is_err());
    }
}
