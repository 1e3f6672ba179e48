//! `tapmip-mn`: the mobile node agent of the Mobile IPv6 baseline, run in a
//! VM's namespace on its unmodified Linux stack (`netns_tests::mn`): the home
//! address on a TUN device, the kernel's SLAAC and DAD on the access link,
//! Binding Updates and the tunnel to the home agent over raw sockets.
//!
//! ```text
//! tapmip-mn --home-address 2001:db8:1:1:5054:ff:feaa:1 --home-agent 2001:db8:1::1
//! ```

use std::net::Ipv6Addr;
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::time::Duration as StdDuration;

use anyhow::Context;
use argh::FromArgs;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use netns_tests::mn::kernel::Kernel;
use netns_tests::mn::sys::{self, Tun};
use netns_tests::mn::{Action, MnConfig, MobileNode};
use router::Instant;
use router::netio::logger;
use router::tunnel::IPPROTO_IPV6;
use router::wire::IPPROTO_ROUTING;

/// The mobile node agent of Mobile IPv6 (RFC 6275) over a TUN device and sockets.
#[derive(FromArgs)]
struct Args {
    /// the home address (lives on the TUN device)
    #[argh(option)]
    home_address: Ipv6Addr,
    /// the home agent's address
    #[argh(option)]
    home_agent: Ipv6Addr,
    /// the access interface the kernel autoconfigures
    #[argh(option, default = "String::from(\"eth0\")")]
    interface: String,
    /// the TUN device's name
    #[argh(option, default = "String::from(\"tun0\")")]
    tun: String,
    /// binding lifetime asked for, in seconds
    #[argh(option, default = "420")]
    lifetime: u32,
    /// the access link's MTU (the TUN device gets 40 octets less)
    #[argh(option, default = "1500")]
    mtu: u32,
    /// the first Binding Update's sequence number is one above this
    #[argh(option, default = "0")]
    sequence: u16,
    /// log debug lines too
    #[argh(switch, short = 'v')]
    verbose: bool,
}

const TUN: Token = Token(0);
const TUNNEL: Token = Token(1);
const ROUTED: Token = Token(2);
const NETLINK: Token = Token(3);

fn run(args: Args) -> anyhow::Result<()> {
    let access =
        sys::if_index(&args.interface).with_context(|| format!("interface {}", args.interface))?;
    let mut tun = Tun::open(&args.tun, args.mtu - 40).context("creating the TUN device")?;
    let tun_index = sys::if_index(&tun.name)?;
    let tunnel = sys::raw_socket(i32::from(IPPROTO_IPV6)).context("raw socket, protocol 41")?;
    let routed = sys::raw_socket(i32::from(IPPROTO_ROUTING)).context("raw socket, protocol 43")?;
    let sender = sys::raw_socket(libc::IPPROTO_RAW).context("raw socket, IPPROTO_RAW")?;
    let mut kernel = Kernel::open(access).context("rtnetlink socket")?;
    kernel.add_home_address(tun_index, args.home_address)?;
    // Everything from the home address goes into the TUN device: a default
    // route ahead of the one the kernel learns from RAs (metric 1024).
    kernel.set_route("::/0".parse()?, tun_index, None, 1)?;
    log::info!(
        "home address {} on {}, home agent {}, access interface {} (index {access})",
        args.home_address,
        tun.name,
        args.home_agent,
        args.interface
    );
    let mut poll = Poll::new()?;
    for (fd, token) in [
        (tun.as_raw_fd(), TUN),
        (tunnel.as_raw_fd(), TUNNEL),
        (routed.as_raw_fd(), ROUTED),
        (kernel.fd(), NETLINK),
    ] {
        poll.registry()
            .register(&mut SourceFd(&fd), token, Interest::READABLE)?;
    }
    let start = std::time::Instant::now();
    let now = || Instant::from_micros(start.elapsed().as_micros() as i64);
    let mut mn = MobileNode::new(
        MnConfig {
            home_address: args.home_address,
            home_agent: args.home_agent,
            lifetime_secs: args.lifetime,
            link_mtu: args.mtu as usize,
        },
        args.sequence,
    );
    kernel.dump_addresses()?;
    let mut routes_dumped = false;
    let mut events = Events::with_capacity(64);
    let mut buf = vec![0u8; 65536];
    let mut actions = Vec::new();
    let mut kernel_events = Vec::new();
    loop {
        let timeout = mn.poll_at().map(|at| {
            let left = (at.total_micros() - now().total_micros()).max(0);
            StdDuration::from_micros(left.unsigned_abs())
        });
        match poll.poll(&mut events, timeout) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => r?,
        }
        for event in events.iter() {
            match event.token() {
                TUN => {
                    while let Some(n) = tun.recv(&mut buf)? {
                        mn.on_tun(&buf[..n], &mut actions);
                    }
                }
                TUNNEL => {
                    while let Some((n, from)) = sys::recv_from(&tunnel, &mut buf)? {
                        mn.on_tunnelled(from, &buf[..n], &mut actions);
                    }
                }
                ROUTED => {
                    while let Some((n, from)) = sys::recv_from(&routed, &mut buf)? {
                        mn.on_routed(now(), from, &buf[..n], &mut actions);
                    }
                }
                _ => {
                    let done = kernel.read(&mut kernel_events)?;
                    if done && !routes_dumped {
                        routes_dumped = true;
                        kernel.dump_routes()?;
                    }
                    for e in kernel_events.drain(..) {
                        log::debug!("kernel: {e:?}");
                        mn.on_event(now(), e, &mut actions);
                    }
                }
            }
        }
        mn.on_timer(now(), &mut actions);
        for action in actions.drain(..) {
            let done = match &action {
                Action::Send(packet) => sys::send_ipv6(&sender, packet),
                Action::ToTun(packet) => tun.send(packet),
                Action::RouteHomeAgent { via } => {
                    let host = ipnet::Ipv6Net::new(args.home_agent, 128)?;
                    kernel.set_route(host, access, Some(*via), 1)
                }
                Action::ForgetRouter(router) => {
                    log::info!("forgetting the default route via {router}, a router left behind");
                    kernel.forget_router(*router)
                }
                Action::RemoveAddress(addr) => {
                    log::info!("removing {addr}, the care-of address of a link left behind");
                    kernel.remove_address(*addr)
                }
            };
            if let Err(e) = done {
                log::debug!("{action:?} failed: {e}");
            }
        }
    }
}

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    logger::run_main("mn", args.verbose, || run(args))
}
