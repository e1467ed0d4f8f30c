//! Connection caps: at most so many open connections in all and per client address
//! (the socket peer; trusted proxies are exempt from the per-address cap, since every
//! client behind them shares their address). A connection over a cap is closed at once,
//! counted in `dictaflow_connections_refused_total`, and logged at most once a minute.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::auth::client_addr::TrustedProxies;

/// Refusals are logged at most this often.
const LOG_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_addr: HashMap<IpAddr, usize>,
}

#[derive(Debug, Default)]
struct RefusalLog {
    last: Option<Instant>,
    unlogged: u64,
}

/// The open connections of one listener.
#[derive(Debug)]
pub struct Caps {
    max_total: usize,
    max_per_addr: usize,
    exempt: TrustedProxies,
    open: Mutex<Open>,
    log: Mutex<RefusalLog>,
}

/// An admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Admitted {
    caps: Arc<Caps>,
    addr: IpAddr,
}

impl Caps {
    pub fn new(max_total: usize, max_per_addr: usize, exempt: TrustedProxies) -> Arc<Self> {
        Arc::new(Self { max_total, max_per_addr, exempt, open: Mutex::default(), log: Mutex::default() })
    }

    /// Admits a connection from `addr`, or refuses it (`None`, counted and logged).
    pub fn admit(self: &Arc<Self>, addr: IpAddr) -> Option<Admitted> {
        let addr = addr.to_canonical();
        let refused = {
            let mut open = self.open.lock().ok()?;
            let from_addr = open.by_addr.get(&addr).copied().unwrap_or(0);
            if open.total >= self.max_total {
                Some("total")
            } else if from_addr >= self.max_per_addr && !self.exempt.trusts(addr) {
                Some("per_address")
            } else {
                open.total += 1;
                open.by_addr.insert(addr, from_addr + 1);
                None
            }
        };
        match refused {
            None => Some(Admitted { caps: self.clone(), addr }),
            Some(reason) => {
                self.refused(addr, reason);
                None
            }
        }
    }

    fn refused(&self, addr: IpAddr, reason: &'static str) {
        crate::metrics::count("dictaflow_connections_refused_total", &[("reason", reason)], 1.0);
        let Ok(mut log) = self.log.lock() else { return };
        log.unlogged += 1;
        if log.last.is_none_or(|at| at.elapsed() >= LOG_EVERY) {
            tracing::warn!(
                %addr,
                reason,
                refused = log.unlogged,
                max_total = self.max_total,
                max_per_address = self.max_per_addr,
                "connections refused: too many open connections (logged at most once a minute)"
            );
            log.last = Some(Instant::now());
            log.unlogged = 0;
        }
    }

    /// Open connections in all.
    pub fn open(&self) -> usize {
        self.open.lock().map_or(0, |o| o.total)
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let Ok(mut open) = self.caps.open.lock() else { return };
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_addr.get_mut(&self.addr) {
            *n -= 1;
            if *n == 0 {
                open.by_addr.remove(&self.addr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn caps_per_address_and_in_all() {
        let caps = Caps::new(5, 2, TrustedProxies::new(&["10.0.0.1".into()]));
        let a1 = caps.admit(ip("192.0.2.1")).unwrap();
        let _a2 = caps.admit(ip("::ffff:192.0.2.1")).expect("the same address, IPv4-mapped");
        assert!(caps.admit(ip("192.0.2.1")).is_none(), "a third from one address");
        let _b = caps.admit(ip("192.0.2.2")).expect("another address");
        drop(a1);
        let _a3 = caps.admit(ip("192.0.2.1")).expect("a place was freed");
        let _p1 = caps.admit(ip("10.0.0.1")).expect("a trusted proxy");
        let _c = caps.admit(ip("192.0.2.3")).expect("a third address");
        assert_eq!(caps.open(), 5);
        assert!(caps.admit(ip("10.0.0.1")).is_none(), "the total cap holds for everyone");
        assert!(caps.admit(ip("192.0.2.9")).is_none());
    }

    #[test]
    fn proxies_are_exempt_from_the_address_cap() {
        let caps = Caps::new(100, 1, TrustedProxies::new(&["10.0.0.0/8".into()]));
        let held: Vec<_> = (0..10).map(|_| caps.admit(ip("10.1.2.3")).expect("behind a proxy")).collect();
        assert_eq!(caps.open(), 10);
        drop(held);
        assert_eq!(caps.open(), 0);
    }
}
