//! What the kernel knows about the access link, read over rtnetlink
//! (`netlink-packet-route`): the access interface's addresses once DAD has
//! cleared them, the default routers it learnt from RAs, the prefixes RAs
//! carried; and the few changes the agent makes (its home address on the
//! TUN device, the default route into it, the route to the home agent).

use std::io;
use std::net::{IpAddr, Ipv6Addr};

use ipnet::Ipv6Net;
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkHeader,
    NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage, AddressScope};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use super::Event;

pub struct Kernel {
    socket: Socket,
    /// The access interface (eth0).
    pub access: u32,
    sequence: u32,
    buf: Vec<u8>,
}

impl Kernel {
    /// A non-blocking rtnetlink socket listening to IPv6 addresses, routes and
    /// RA prefixes of interface `access`.
    pub fn open(access: u32) -> io::Result<Kernel> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind(&SocketAddr::new(0, 0))?;
        for group in [
            libc::RTNLGRP_IPV6_IFADDR,
            libc::RTNLGRP_IPV6_ROUTE,
            libc::RTNLGRP_IPV6_PREFIX,
        ] {
            socket.add_membership(group)?;
        }
        socket.set_non_blocking(true)?;
        Ok(Kernel {
            socket,
            access,
            sequence: 0,
            buf: vec![0; 1 << 16],
        })
    }

    pub fn fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.socket)
    }

    fn send(&mut self, message: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        self.sequence += 1;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.sequence;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(message));
        packet.finalize();
        let mut bytes = vec![0; packet.buffer_len()];
        packet.serialize(&mut bytes);
        self.socket.send(&bytes, 0)?;
        Ok(())
    }

    /// Asks for every IPv6 address, then every IPv6 route: the answers come
    /// in as events like the changes that follow. The second dump waits for
    /// the first to end (one dump at a time per socket).
    pub fn dump_addresses(&mut self) -> io::Result<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet6;
        self.send(RouteNetlinkMessage::GetAddress(msg), NLM_F_DUMP)
    }

    pub fn dump_routes(&mut self) -> io::Result<()> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet6;
        self.send(RouteNetlinkMessage::GetRoute(msg), NLM_F_DUMP)
    }

    /// Reads what is queued; returns the events about the access interface
    /// and whether a dump ended.
    pub fn read(&mut self, events: &mut Vec<Event>) -> io::Result<bool> {
        let mut done = false;
        loop {
            let n = match self.socket.recv(&mut &mut self.buf[..], 0) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(done),
                Err(e) => return Err(e),
            };
            let mut at = 0;
            while at < n {
                let Ok(msg) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[at..n])
                else {
                    break;
                };
                let len = msg.header.length as usize;
                match msg.payload {
                    NetlinkPayload::InnerMessage(m) => events.extend(self.event(m)),
                    NetlinkPayload::Done(_) => done = true,
                    NetlinkPayload::Error(e) if e.code.is_some() => {
                        log::warn!("netlink refused a request: {e:?}")
                    }
                    _ => {}
                }
                if len == 0 {
                    break;
                }
                at += len;
            }
        }
    }

    fn event(&self, msg: RouteNetlinkMessage) -> Option<Event> {
        match msg {
            RouteNetlinkMessage::NewAddress(a) if a.header.index == self.access => {
                let (addr, flags) = address_of(&a)?;
                let unusable = AddressFlags::Tentative | AddressFlags::Dadfailed;
                (a.header.scope == AddressScope::Universe && !flags.intersects(unusable))
                    .then(|| Ipv6Net::new(addr, a.header.prefix_len).ok())
                    .flatten()
                    .map(Event::AddressReady)
            }
            RouteNetlinkMessage::DelAddress(a) if a.header.index == self.access => {
                address_of(&a).map(|(addr, _)| Event::AddressGone(addr))
            }
            RouteNetlinkMessage::NewRoute(r)
                if r.header.address_family == AddressFamily::Inet6
                    && r.header.destination_prefix_length == 0
                    && r.header.protocol == RouteProtocol::Ra =>
            {
                let oif = r.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Oif(i) => Some(*i),
                    _ => None,
                });
                let gateway = r.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Gateway(RouteAddress::Inet6(g)) => Some(*g),
                    _ => None,
                });
                (oif == Some(self.access))
                    .then_some(gateway)
                    .flatten()
                    .map(Event::DefaultRouter)
            }
            RouteNetlinkMessage::NewPrefix(p) if p.header.ifindex == self.access as i32 => {
                p.attributes.iter().find_map(|a| match a {
                    netlink_packet_route::prefix::PrefixAttribute::Address(addr) => {
                        Ipv6Net::new(*addr, p.header.prefix_len)
                            .ok()
                            .map(Event::Prefix)
                    }
                    _ => None,
                })
            }
            _ => None,
        }
    }

    /// `ip -6 addr add HOA/128 dev TUN nodad`: the home address is not on
    /// the access link, so nothing there may run DAD for it.
    pub fn add_home_address(&mut self, tun: u32, hoa: Ipv6Addr) -> io::Result<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet6;
        msg.header.prefix_len = 128;
        msg.header.index = tun;
        msg.header.scope = AddressScope::Universe;
        msg.attributes = vec![
            AddressAttribute::Address(IpAddr::V6(hoa)),
            AddressAttribute::Flags(AddressFlags::Nodad | AddressFlags::Homeaddress),
        ];
        self.send(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK,
        )
    }

    /// `ip -6 addr del ADDR/LEN dev ACCESS`.
    pub fn remove_address(&mut self, addr: Ipv6Net) -> io::Result<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet6;
        msg.header.prefix_len = addr.prefix_len();
        msg.header.index = self.access;
        msg.attributes = vec![AddressAttribute::Address(IpAddr::V6(addr.addr()))];
        self.send(RouteNetlinkMessage::DelAddress(msg), NLM_F_ACK)
    }

    /// `ip -6 route del default via ROUTER dev ACCESS proto ra`.
    pub fn forget_router(&mut self, router: Ipv6Addr) -> io::Result<()> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet6;
        msg.header.table = libc::RT_TABLE_MAIN;
        msg.header.protocol = RouteProtocol::Ra;
        msg.header.scope = RouteScope::Universe;
        msg.header.kind = RouteType::Unicast;
        msg.attributes = vec![
            RouteAttribute::Oif(self.access),
            RouteAttribute::Gateway(RouteAddress::Inet6(router)),
        ];
        self.send(RouteNetlinkMessage::DelRoute(msg), NLM_F_ACK)
    }

    /// `ip -6 route replace DST dev OIF [via GW] metric METRIC proto static`.
    pub fn set_route(
        &mut self,
        dst: Ipv6Net,
        oif: u32,
        gateway: Option<Ipv6Addr>,
        metric: u32,
    ) -> io::Result<()> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet6;
        msg.header.destination_prefix_length = dst.prefix_len();
        msg.header.table = libc::RT_TABLE_MAIN;
        msg.header.protocol = RouteProtocol::Static;
        msg.header.scope = RouteScope::Universe;
        msg.header.kind = RouteType::Unicast;
        msg.attributes = vec![
            RouteAttribute::Destination(RouteAddress::Inet6(dst.addr())),
            RouteAttribute::Oif(oif),
            RouteAttribute::Priority(metric),
        ];
        if let Some(gw) = gateway {
            msg.attributes
                .push(RouteAttribute::Gateway(RouteAddress::Inet6(gw)));
        }
        self.send(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK,
        )
    }
}

fn address_of(a: &AddressMessage) -> Option<(Ipv6Addr, AddressFlags)> {
    if a.header.family != AddressFamily::Inet6 {
        return None;
    }
    let addr = a.attributes.iter().find_map(|x| match x {
        AddressAttribute::Address(IpAddr::V6(v)) => Some(*v),
        _ => None,
    })?;
    let flags = a
        .attributes
        .iter()
        .find_map(|x| match x {
            AddressAttribute::Flags(f) => Some(*f),
            _ => None,
        })
        .unwrap_or_else(|| AddressFlags::from_bits_truncate(u32::from(a.header.flags.bits())));
    Some((addr, flags))
}
