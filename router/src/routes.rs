//! A router's routes: the destination table, the source table a MAG steers its
//! nodes' traffic with (RFC 5213 6.10.5), and the tunnels routes point into.
//!
//! The invariant this type owns: a tunnel exists exactly while routes point into
//! it, and its `users` count is the number of those routes (destination and
//! source together). Every change goes through a method that keeps it, so the
//! LMA and the MAG change routes without counting tunnel uses themselves.

use crate::core::PortId;
use crate::fib::{Fib, NextHop};
use crate::tunnel::{Tunnel, TunnelId, TunnelTable};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr};

/// Which of the two tables a route is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteTable {
    /// Matched against a packet's destination.
    Destination,
    /// Matched against a forwarded packet's source, before the destination table.
    Source,
}

#[derive(Debug, Default)]
pub struct Routes {
    dst: Fib,
    src: Fib,
    tunnels: TunnelTable,
}

fn get(fib: &Fib, prefix: &IpNet) -> Option<NextHop> {
    match prefix {
        IpNet::V6(p) => fib.get_v6(p).copied(),
        IpNet::V4(p) => fib.get_v4(p).copied(),
    }
}

fn lookup(fib: &Fib, addr: IpAddr) -> Option<NextHop> {
    match addr {
        IpAddr::V6(a) => fib.lookup_v6(a).map(|(_, h)| *h),
        IpAddr::V4(a) => fib.lookup_v4(a).map(|(_, h)| *h),
    }
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    fn fib(&self, table: RouteTable) -> &Fib {
        match table {
            RouteTable::Destination => &self.dst,
            RouteTable::Source => &self.src,
        }
    }

    /// The route for exactly `prefix` in `table`.
    pub fn get(&self, table: RouteTable, prefix: impl Into<IpNet>) -> Option<NextHop> {
        get(self.fib(table), &prefix.into())
    }

    /// Longest-prefix match of `addr` in `table`.
    pub fn lookup(&self, table: RouteTable, addr: impl Into<IpAddr>) -> Option<NextHop> {
        lookup(self.fib(table), addr.into())
    }

    /// Every route of `table`.
    pub fn iter(&self, table: RouteTable) -> impl Iterator<Item = (IpNet, NextHop)> + '_ {
        let fib = self.fib(table);
        let v6 = fib.routes_v6().map(|(p, h)| (IpNet::V6(p), *h));
        let v4 = fib.routes_v4().map(|(p, h)| (IpNet::V4(p), *h));
        v6.chain(v4)
    }

    pub fn tunnels(&self) -> &TunnelTable {
        &self.tunnels
    }

    pub fn tunnel(&self, id: TunnelId) -> Option<&Tunnel> {
        self.tunnels.get(id)
    }

    /// The tunnel a route of `table` for `prefix` points into, if it does.
    pub fn tunnel_of(&self, table: RouteTable, prefix: impl Into<IpNet>) -> Option<&Tunnel> {
        match self.get(table, prefix)? {
            NextHop::Tunnel(id) => self.tunnels.get(id),
            _ => None,
        }
    }

    /// `prefix` is on the link of `port`.
    pub fn connect(&mut self, prefix: impl Into<IpNet>, port: PortId) {
        self.set(
            RouteTable::Destination,
            prefix.into(),
            NextHop::Connected { port },
        );
    }

    /// `prefix` is reached through `gateway` on the link of `port`.
    pub fn via(&mut self, prefix: impl Into<IpNet>, port: PortId, gateway: IpAddr) {
        let hop = NextHop::Gateway { port, gateway };
        self.set(RouteTable::Destination, prefix.into(), hop);
    }

    /// Packets matching `prefix` in `table` go into the tunnel from `local` to
    /// `remote`, shared with every other route to that remote end.
    pub fn tunnel_into(
        &mut self,
        table: RouteTable,
        prefix: impl Into<IpNet>,
        local: Ipv6Addr,
        remote: Ipv6Addr,
    ) {
        let prefix = prefix.into();
        if let Some(NextHop::Tunnel(id)) = get(self.fib(table), &prefix)
            && self.tunnels.get(id).is_some_and(|t| t.remote == remote)
        {
            return;
        }
        let id = self.tunnels.acquire(local, remote);
        self.set(table, prefix, NextHop::Tunnel(id));
    }

    /// Keeps the tunnel from `local` to `remote` (made if need be) with no
    /// route into it: what comes out of it is still taken, nothing goes in.
    /// Undone by [`Routes::let_go`].
    pub fn keep_tunnel(&mut self, local: Ipv6Addr, remote: Ipv6Addr) -> TunnelId {
        self.tunnels.acquire(local, remote)
    }

    /// Ends a [`Routes::keep_tunnel`]; the tunnel goes with its last user.
    pub fn let_go(&mut self, id: TunnelId) {
        self.tunnels.release(id);
    }

    /// Removes the route for exactly `prefix` from `table`; returns what it was.
    pub fn remove(&mut self, table: RouteTable, prefix: impl Into<IpNet>) -> Option<NextHop> {
        let fib = match table {
            RouteTable::Destination => &mut self.dst,
            RouteTable::Source => &mut self.src,
        };
        let old = match prefix.into() {
            IpNet::V6(p) => fib.remove_v6(&p),
            IpNet::V4(p) => fib.remove_v4(&p),
        };
        self.release(old);
        old
    }

    fn set(&mut self, table: RouteTable, prefix: IpNet, hop: NextHop) {
        let fib = match table {
            RouteTable::Destination => &mut self.dst,
            RouteTable::Source => &mut self.src,
        };
        let old = match prefix {
            IpNet::V6(p) => fib.insert_v6(p, hop),
            IpNet::V4(p) => fib.insert_v4(p, hop),
        };
        self.release(old);
    }

    fn release(&mut self, old: Option<NextHop>) {
        if let Some(NextHop::Tunnel(id)) = old {
            self.tunnels.release(id);
        }
    }

    /// For the engine's tunnel entry and exit points, which count traffic.
    pub(crate) fn tunnels_mut(&mut self) -> &mut TunnelTable {
        &mut self.tunnels
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipnet::{Ipv4Net, Ipv6Net};

    fn net(s: &str) -> Ipv6Net {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// What the invariant says, checked from the outside.
    fn consistent(r: &Routes) -> bool {
        r.tunnels().iter().all(|(id, t)| {
            let users = [RouteTable::Destination, RouteTable::Source]
                .iter()
                .flat_map(|table| r.iter(*table))
                .filter(|(_, h)| *h == NextHop::Tunnel(id))
                .count();
            users == t.users && users > 0
        })
    }

    #[test]
    fn tunnels_live_exactly_as_long_as_their_routes() {
        let mut r = Routes::new();
        let (lma, mag1, mag2) = (
            ip("2001:db8:ff::1"),
            ip("2001:db8:ff::2"),
            ip("2001:db8:ff::3"),
        );
        r.tunnel_into(RouteTable::Destination, net("2001:db8:1::/64"), lma, mag1);
        r.tunnel_into(RouteTable::Destination, net("2001:db8:2::/64"), lma, mag1);
        r.tunnel_into(RouteTable::Destination, net("2001:db8:2::/64"), lma, mag1);
        assert_eq!(r.tunnels().len(), 1);
        assert_eq!(
            r.tunnel_of(RouteTable::Destination, net("2001:db8:2::/64"))
                .unwrap()
                .users,
            2
        );
        // A handoff overwrites the route: the old tunnel loses a user.
        r.tunnel_into(RouteTable::Destination, net("2001:db8:1::/64"), lma, mag2);
        assert!(consistent(&r));
        assert_eq!(r.tunnels().len(), 2);
        r.connect(net("2001:db8:2::/64"), 1);
        assert_eq!(
            r.tunnels().len(),
            1,
            "the tunnel to mag1 went with its last route"
        );
        r.tunnel_into(RouteTable::Source, net("2001:db8:1::/64"), lma, mag2);
        assert!(consistent(&r));
        assert!(
            r.remove(RouteTable::Destination, net("2001:db8:1::/64"))
                .is_some()
        );
        assert_eq!(r.tunnels().len(), 1, "the source route still uses it");
        r.remove(RouteTable::Source, net("2001:db8:1::/64"));
        assert!(r.tunnels().is_empty() && consistent(&r));
        assert_eq!(r.remove(RouteTable::Source, net("2001:db8:1::/64")), None);
    }

    #[test]
    fn lookups_in_both_families() {
        let mut r = Routes::new();
        r.connect(net("2001:db8::/32"), 0);
        r.via(net("::/0"), 1, "fe80::1".parse().unwrap());
        let v4: Ipv4Net = "192.0.2.0/24".parse().unwrap();
        r.connect(v4, 2);
        assert_eq!(
            r.lookup(RouteTable::Destination, ip("2001:db8::5")),
            Some(NextHop::Connected { port: 0 })
        );
        assert!(matches!(
            r.lookup(RouteTable::Destination, ip("2001:db9::5")),
            Some(NextHop::Gateway { port: 1, .. })
        ));
        let a: std::net::Ipv4Addr = "192.0.2.9".parse().unwrap();
        assert_eq!(
            r.lookup(RouteTable::Destination, a),
            Some(NextHop::Connected { port: 2 })
        );
        assert_eq!(r.lookup(RouteTable::Source, a), None);
        assert_eq!(r.iter(RouteTable::Destination).count(), 3);
    }
}
