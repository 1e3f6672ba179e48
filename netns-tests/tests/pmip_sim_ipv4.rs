//! Dual-stack VMs in the simulated domain (RFC 5844): the IPv4 home address
//! by DHCP beside the HNP by SLAAC, both kept across MAG1 -> MAG2 -> MAG1,
//! IPv4 pings from the correspondent through the tunnels, the lease renewed
//! through the new MAG, and the invariant (IPv4 routes included) all along.

use netns_tests::sim_domain::{Bound, DomainSpec, booted, vm_ipv4};
use router::Duration;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

#[test]
fn a_dual_stack_vm_keeps_both_addresses_across_two_migrations() {
    let spec = DomainSpec::new(11, 2, 1);
    let mut d = booted(&spec, 0);
    let (v6, v4) = (d.vm_address(0).unwrap(), d.vm_address4(0).unwrap());
    assert_eq!(v4, vm_ipv4(0).addr());
    let router = d.vm(0).v4.router.unwrap();
    assert_eq!(router.0.to_string(), "10.1.1.1");
    assert_eq!(d.ping4(0, 3, ms(100)), 3, "IPv4 through the tunnel to MAG1");
    let bound = Bound::new(ms(10), secs(60));
    for to in [1, 0] {
        d.migrate(0, to, ms(300));
        assert!(
            d.run_until(secs(5), |d| d.settled_at(0, to)),
            "at MAG{}",
            to + 1
        );
        d.run_checked(secs(20), ms(500), &bound).unwrap();
        assert_eq!(
            d.ping4(0, 3, ms(100)),
            3,
            "IPv4 after the move to MAG{}",
            to + 1
        );
        assert_eq!(
            d.ping(0, 3, ms(100)),
            3,
            "IPv6 after the move to MAG{}",
            to + 1
        );
    }
    assert_eq!((d.vm_address(0), d.vm_address4(0)), (Some(v6), Some(v4)));
    assert_eq!(
        d.vm(0).v4.router.unwrap(),
        router,
        "the same default router and MAC"
    );
    assert!(d.leaks(0, 0).is_empty(), "{:?}", d.leaks(0, 0));
}

#[test]
fn the_lease_is_renewed_through_the_new_mag() {
    let mut d = booted(&DomainSpec::new(12, 2, 1), 0);
    let leases = d.vm(0).v4.leases.len();
    d.migrate(0, 1, ms(300));
    assert!(d.run_until(secs(5), |d| d.settled_at(0, 1)));
    let vm = d.vms[0];
    d.net
        .with_node::<router::sim::SimHost, _>(vm, |h, _, tx| assert!(h.send_dhcp_renew(tx)));
    d.run_for(secs(1));
    let host = d.vm(0);
    assert_eq!(
        host.v4.leases.len(),
        leases + 1,
        "the RENEW was acknowledged"
    );
    assert_eq!(host.v4.leases.last().unwrap().1, vm_ipv4(0).addr());
    assert_eq!(host.v4.naks, 0);
    assert_eq!(d.mag(1).counters().get("dhcp.sent.ack"), 1, "by MAG2");
}
