//! The PMIPv6 domain simulated in memory (netns_tests::sim_domain): the LMA and
//! MAG cores with VMs and a correspondent, on links with delay, loss,
//! duplication and reordering, under a fake clock. Every case is deterministic;
//! limits are fake time, so they bound the protocol, not the machine.
//!
//! The LMA's answer to each malformed or refused PBU is checked status by status
//! in lma/tests/core.rs (`every_rejection_status` and neighbours); here only the
//! statuses a real MAG can provoke in a running domain are.

use netns_tests::sim_domain::{DomainSpec, SimDomain, proxy_coa, vm_hnp};
use router::Duration;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// Boots VM 0 at MAG `m` and waits for it to be settled there.
fn booted(spec: &DomainSpec, m: usize) -> SimDomain {
    let mut d = spec.build();
    d.run_for(secs(1));
    d.boot(0, m);
    assert!(d.run_until(secs(30), |d| d.settled_at(0, m)), "VM 0 registers at MAG {m}");
    d
}

#[test]
fn first_attach_rs_pbu_pba_ra_and_pings() {
    let mut d = booted(&DomainSpec::new(1, 2, 1), 0);
    let addr = d.vm_address(0).unwrap();
    assert!(vm_hnp(0).contains(&addr));
    let b = d.binding(0).unwrap();
    assert_eq!(b.proxy_coa, proxy_coa(0).addr());
    assert_eq!(&b.hnps[..], &[vm_hnp(0)]);
    assert_eq!(d.ping(0, 10, ms(100)), 10);
    assert!(d.leaks(0, 0).is_empty(), "{:?}", d.leaks(0, 0));
}
