//! The client address of a request: the socket peer, or the first untrusted hop of
//! `X-Forwarded-For` when the peer is a trusted proxy (`server.trusted_proxies`).

use std::net::IpAddr;

/// An IP address or CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// `10.0.0.0/8`, `::1`, `192.168.1.7`...
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The parsed `server.trusted_proxies` list.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Entries that do not parse are skipped (configuration validation refuses them first).
    pub fn new(list: &[String]) -> Self {
        Self(list.iter().filter_map(|s| IpNet::parse(s)).collect())
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client address: the peer unless it is a trusted proxy; then `X-Forwarded-For`
    /// read from the right, skipping trusted hops. A malformed hop ends the walk at the
    /// last address known good.
    pub fn client(&self, peer: Option<IpAddr>, forwarded_for: &[&str]) -> Option<IpAddr> {
        let mut client = canonical(peer?);
        if !self.trusts(client) {
            return Some(client);
        }
        let hops = forwarded_for.iter().rev().flat_map(|h| h.rsplit(',')).map(str::trim);
        for hop in hops {
            let Ok(ip) = hop.parse::<IpAddr>() else { break };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        Some(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn nets() {
        let n = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(n.contains("10.1.200.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        assert!(IpNet::parse("::1").unwrap().contains("::1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "nope", "10.0.0/8", "::/129", ""] {
            assert_eq!(IpNet::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("192.0.2.1"), &["203.0.113.9"]), ip("192.0.2.1"));
        let proxies = TrustedProxies::new(&["10.0.0.0/8".into()]);
        assert_eq!(proxies.client(ip("192.0.2.1"), &["203.0.113.9"]), ip("192.0.2.1"), "untrusted peer");
        assert_eq!(proxies.client(ip("10.0.0.2"), &["203.0.113.9"]), ip("203.0.113.9"));
        // A client cannot push a forged address in front of its own.
        assert_eq!(proxies.client(ip("10.0.0.2"), &["1.1.1.1, 203.0.113.9, 10.0.0.3"]), ip("203.0.113.9"));
        assert_eq!(proxies.client(ip("10.0.0.2"), &["1.1.1.1", "203.0.113.9"]), ip("203.0.113.9"));
        assert_eq!(proxies.client(ip("10.0.0.2"), &["garbage"]), ip("10.0.0.2"));
        assert_eq!(proxies.client(ip("10.0.0.2"), &[]), ip("10.0.0.2"));
        assert_eq!(proxies.client(None, &["203.0.113.9"]), None);
    }
}
