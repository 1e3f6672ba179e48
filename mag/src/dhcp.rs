//! The MAG's DHCPv4 server (RFC 2131; RFC 5844 3.4, the MAG as the DHCP
//! server of its access links): it hands a node the IPv4 home address the
//! LMA granted, with its mask, default router, MTU and lease.
//!
//! Every MAG serves under the same server identifier, the node's default
//! router address, so a lease taken at one MAG is renewed at the next one
//! after a migration: the RENEW goes by unicast to the server identifier,
//! which the new MAG answers for, and is acknowledged with the same address
//! (the binding kept it). A node the policy does not name, or names without
//! IPv4, gets no answer at all.
//!
//! Client state (RFC 2131 4.3.2) as the server tells it from the message:
//!
//! | message  | server id | requested IP | ciaddr | state          |
//! |----------|-----------|--------------|--------|----------------|
//! | DISCOVER |           |              |        | INIT           |
//! | REQUEST  | set       | set          | 0      | SELECTING      |
//! | REQUEST  | -         | set          | 0      | INIT-REBOOT    |
//! | REQUEST  | -         | -            | set    | RENEWING (unicast) or REBINDING (broadcast) |

use crate::attach::{Sighting, Trigger};
use crate::bul::Ipv4Grant;
use crate::core::Mag;
use router::Instant;
use router::core::{PortId, Tx};
use router::dhcp::{ClientMessage, MessageType, ServerReply, mask};
use router::mac::Mac;
use std::net::Ipv4Addr;

/// What the server answers a client message with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// OFFER or ACK the granted address.
    Give(MessageType),
    /// NAK, and why.
    Refuse(&'static str),
    /// ACK an INFORM: configuration without an address.
    Inform,
    /// Nothing to send (RELEASE, DECLINE, a REQUEST for another server).
    Silent(&'static str),
}

/// RFC 2131 4.3.1-4.3.5 for a node whose address is `grant`.
fn verdict(msg: &ClientMessage, grant: &Ipv4Grant) -> Verdict {
    let ours = grant.address.addr();
    match msg.kind {
        MessageType::Discover => Verdict::Give(MessageType::Offer),
        MessageType::Request => match (msg.server_id, msg.requested_ip, msg.ciaddr) {
            (Some(server), _, _) if server != grant.router => {
                Verdict::Silent("it chose another server")
            }
            (_, Some(asked), _) if asked == ours => Verdict::Give(MessageType::Ack),
            (_, Some(_), _) => Verdict::Refuse("requested address is not the node's home address"),
            (None, None, ciaddr) if ciaddr == ours => Verdict::Give(MessageType::Ack),
            (None, None, ciaddr) if !ciaddr.is_unspecified() => {
                Verdict::Refuse("renewed address is not the node's home address")
            }
            _ => Verdict::Refuse("a REQUEST naming no address"),
        },
        MessageType::Inform => Verdict::Inform,
        MessageType::Decline => Verdict::Silent("DECLINE: the node saw its address in use"),
        _ => Verdict::Silent("RELEASE: the address stays the node's while its binding lasts"),
    }
}

impl Mag {
    /// An IPv4 packet addressed to the MAG (or broadcast) on an access link.
    pub(crate) fn on_local4(
        &mut self,
        now: Instant,
        port: PortId,
        src_mac: Mac,
        packet: &[u8],
        tx: &mut dyn Tx,
    ) {
        let msg = match ClientMessage::parse(packet) {
            Ok(msg) => msg,
            Err(router::dhcp::DhcpError::NotDhcp) => {
                self.engine.counters.bump("drop.no_local_service");
                return;
            }
            Err(e) => {
                self.counters.bump(e.counter());
                return;
            }
        };
        if msg.chaddr != src_mac {
            // On a link without relays a client sends from its own address.
            self.counters.bump("dhcp.drop.chaddr_not_source");
            return;
        }
        let Some(node) = self.policy.node_by_mac(&msg.chaddr) else {
            self.counters.bump("dhcp.ignored.not_in_policy");
            log::debug!("DHCP from {}: not in the policy, no lease", msg.chaddr);
            return;
        };
        if node.ipv4.is_none() {
            self.counters.bump("dhcp.ignored.no_ipv4");
            log::info!(
                "DHCP from {} ({}): its profile gives no IPv4 home address, no lease",
                msg.chaddr,
                node.mn_id
            );
            return;
        }
        self.counters.bump(match msg.kind {
            MessageType::Discover => "dhcp.received.discover",
            MessageType::Request => "dhcp.received.request",
            _ => "dhcp.received.other",
        });
        let holds = msg.kind == MessageType::Request
            && (!msg.ciaddr.is_unspecified() || msg.server_id.is_none());
        let s = Sighting {
            mac: msg.chaddr,
            trigger: if holds {
                Trigger::DhcpRenew
            } else {
                Trigger::DhcpDiscover
            },
            address: None,
        };
        self.on_sighting(now, port, s, tx);
        let Some(e) = self.bul.get_mut(&msg.chaddr) else {
            return;
        };
        match e.ipv4.filter(|_| e.is_registered()) {
            Some(grant) => self.answer_dhcp(msg.chaddr, &msg, grant, tx),
            None => {
                // Answered as soon as the LMA grants the address.
                e.held_dhcp = Some(msg);
                self.counters.bump("dhcp.held");
            }
        }
    }

    /// A DHCP message that waited for the node's registration.
    pub(crate) fn answer_held_dhcp(&mut self, _now: Instant, mac: Mac, tx: &mut dyn Tx) {
        let Some(e) = self.bul.get_mut(&mac) else {
            return;
        };
        let (Some(msg), Some(grant)) = (e.held_dhcp.take(), e.ipv4) else {
            return;
        };
        self.answer_dhcp(mac, &msg, grant, tx);
    }

    fn answer_dhcp(&mut self, mac: Mac, msg: &ClientMessage, grant: Ipv4Grant, tx: &mut dyn Tx) {
        let Some(e) = self.bul.get(&mac) else {
            return;
        };
        let port = e.port;
        let lease = match self.cfg.dhcp_lease_secs {
            0 => e.lifetime,
            secs => secs,
        }
        .max(60);
        let (kind, yiaddr, message) = match verdict(msg, &grant) {
            Verdict::Give(kind) => (kind, grant.address.addr(), None),
            Verdict::Inform => (MessageType::Ack, Ipv4Addr::UNSPECIFIED, None),
            Verdict::Refuse(why) => (MessageType::Nak, Ipv4Addr::UNSPECIFIED, Some(why)),
            Verdict::Silent(why) => {
                self.counters.bump("dhcp.not_answered");
                log::info!("{mac} DHCP{:?}: not answered ({why})", msg.kind);
                return;
            }
        };
        let nak = kind == MessageType::Nak;
        let inform = yiaddr.is_unspecified() && !nak;
        let reply = ServerReply {
            kind,
            xid: msg.xid,
            chaddr: msg.chaddr,
            ciaddr: msg.ciaddr,
            broadcast_flag: msg.broadcast_flag,
            yiaddr,
            server_id: grant.router,
            lease_secs: (!nak && !inform).then_some(lease),
            renew_secs: (!nak && !inform).then_some(lease / 2),
            rebind_secs: (!nak && !inform).then_some(lease / 8 * 7),
            subnet_mask: (!nak).then(|| mask(grant.address.prefix_len())),
            router: (!nak).then_some(grant.router),
            mtu: (!nak).then(|| u16::try_from(self.access_mtu(port)).unwrap_or(1280)),
            message: message.map(str::to_string),
        };
        let Some(own) = self.engine.port_mac(port) else {
            return;
        };
        tx.send(port, &reply.frame(own));
        self.counters.bump(match kind {
            MessageType::Offer => "dhcp.sent.offer",
            MessageType::Ack => "dhcp.sent.ack",
            _ => "dhcp.sent.nak",
        });
        match message {
            Some(why) => log::info!(
                "{mac} DHCP{:?} -> DHCPNAK: {why} (RFC 2131 4.3.2)",
                msg.kind
            ),
            None => log::info!(
                "{mac} DHCP{:?} -> DHCP{kind:?} {} router {} lease {lease} s (RFC 2131 4.3, RFC 5844 3.4)",
                msg.kind,
                grant.address,
                grant.router
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(
        kind: MessageType,
        server: Option<&str>,
        asked: Option<&str>,
        ciaddr: &str,
    ) -> ClientMessage {
        ClientMessage {
            kind,
            xid: 1,
            secs: 0,
            chaddr: Mac([0x52, 0x54, 0, 0xaa, 0, 1]),
            ciaddr: ciaddr.parse().unwrap(),
            broadcast_flag: false,
            requested_ip: asked.map(|a| a.parse().unwrap()),
            server_id: server.map(|a| a.parse().unwrap()),
            client_id: None,
            ip_src: Ipv4Addr::UNSPECIFIED,
            ip_dst: Ipv4Addr::BROADCAST,
        }
    }

    #[test]
    fn every_client_state() {
        let g = Ipv4Grant {
            address: "10.1.1.5/24".parse().unwrap(),
            router: "10.1.1.1".parse().unwrap(),
        };
        use MessageType as M;
        let v = |m| verdict(&m, &g);
        assert_eq!(
            v(msg(M::Discover, None, None, "0.0.0.0")),
            Verdict::Give(M::Offer)
        );
        let selecting = msg(M::Request, Some("10.1.1.1"), Some("10.1.1.5"), "0.0.0.0");
        assert_eq!(v(selecting), Verdict::Give(M::Ack));
        let other = msg(M::Request, Some("10.9.9.9"), Some("10.1.1.5"), "0.0.0.0");
        assert!(matches!(v(other), Verdict::Silent(_)));
        let reboot = msg(M::Request, None, Some("10.1.1.5"), "0.0.0.0");
        assert_eq!(v(reboot), Verdict::Give(M::Ack));
        let wrong = msg(M::Request, None, Some("10.1.1.6"), "0.0.0.0");
        assert!(matches!(v(wrong), Verdict::Refuse(_)));
        let renew = msg(M::Request, None, None, "10.1.1.5");
        assert_eq!(v(renew), Verdict::Give(M::Ack));
        let stale = msg(M::Request, None, None, "10.1.2.5");
        assert!(matches!(v(stale), Verdict::Refuse(_)));
        assert_eq!(v(msg(M::Inform, None, None, "10.1.1.5")), Verdict::Inform);
        assert!(matches!(
            v(msg(M::Release, None, None, "10.1.1.5")),
            Verdict::Silent(_)
        ));
    }
}
