//! Control-socket tables every engine-based router answers alike (neighbors,
//! tunnels, routes, counters), so the LMA, the MAG and the plain router show
//! their data plane the same way.

use crate::counters::Counters;
use crate::ctl::{Request, Response, Table};
use crate::engine::Engine;
use crate::fib::NextHop;
use crate::routes::RouteTable;
use std::net::IpAddr;

/// Every port's neighbor cache: ND's, then ARP's.
pub fn neighbors(engine: &Engine) -> Table {
    let mut t = Table::new("neighbors", &["port", "ip", "mac", "state", "router"]);
    for port in 0..engine.port_count() {
        let nd = engine.nd(port).into_iter().flat_map(|nd| nd.neighbors());
        let mut v6: Vec<_> = nd.collect();
        v6.sort_by_key(|n| n.ip);
        let arp = engine.arp(port).into_iter().flat_map(|arp| arp.neighbors());
        let mut v4: Vec<_> = arp.collect();
        v4.sort_by_key(|n| n.ip);
        let v6 = v6.iter().map(|n| {
            let router = if n.is_router { "yes" } else { "no" };
            (IpAddr::V6(n.ip), n.mac, n.state, router)
        });
        let v4 = v4.iter().map(|n| (IpAddr::V4(n.ip), n.mac, n.state, "-"));
        for (ip, mac, state, router) in v6.chain(v4) {
            t.row(vec![
                port.to_string(),
                ip.to_string(),
                mac.map_or("-".into(), |m| m.to_string()),
                format!("{state:?}"),
                router.into(),
            ]);
        }
    }
    t
}

/// How much state the router holds: the engine's neighbors, routes and
/// tunnels, then what the core adds (bindings, timers...). A soak watches
/// these stay flat.
pub fn sizes(engine: &Engine, core: &[(&str, usize)]) -> Table {
    let mut t = Table::new("sizes", &["state", "entries"]);
    let per_port: Vec<(usize, usize)> = (0..engine.port_count())
        .map(|p| {
            let nd = engine.nd(p).map_or(0, |nd| nd.neighbor_count());
            (nd, engine.arp(p).map_or(0, |arp| arp.neighbor_count()))
        })
        .collect();
    let neighbors = per_port.iter().map(|(nd, arp)| nd + arp).sum();
    // Each port's caches are capped on their own (`NudConfig::max_neighbors`).
    let largest = per_port.iter().map(|&(nd, arp)| nd.max(arp)).max();
    let routes = engine.routes();
    let rows = [
        ("neighbors", neighbors),
        ("neighbors, largest cache", largest.unwrap_or(0)),
        (
            "routes",
            routes.iter(RouteTable::Destination).count() + routes.iter(RouteTable::Source).count(),
        ),
        ("tunnels", routes.tunnels().len()),
    ];
    for (name, n) in rows.iter().chain(core) {
        t.row(vec![(*name).into(), n.to_string()]);
    }
    t
}

/// The tunnels (IPv6 and IPv4 in IPv6) with their users and traffic.
pub fn tunnels(engine: &Engine) -> Table {
    let mut t = Table::new(
        "tunnels",
        &[
            "id",
            "local",
            "remote",
            "users",
            "encapsulated",
            "decapsulated",
        ],
    );
    for (id, tunnel) in engine.routes().tunnels().iter() {
        t.row(vec![
            id.to_string(),
            tunnel.local.to_string(),
            tunnel.remote.to_string(),
            tunnel.users.to_string(),
            tunnel.encapsulated.to_string(),
            tunnel.decapsulated.to_string(),
        ]);
    }
    t
}

fn next_hop(hop: &NextHop) -> String {
    match hop {
        NextHop::Connected { port } => format!("connected port {port}"),
        NextHop::Gateway {
            port,
            gateway: IpAddr::V6(gw),
        } => format!("via {gw} port {port}"),
        NextHop::Gateway { port, gateway } => format!("via {gateway} port {port}"),
        NextHop::Tunnel(id) => format!("tunnel {id}"),
    }
}

/// The destination and source routing tables, longest prefixes first.
pub fn routes(engine: &Engine) -> Table {
    let mut t = Table::new("routes", &["table", "prefix", "next hop"]);
    for (name, table) in [
        ("dst", RouteTable::Destination),
        ("src", RouteTable::Source),
    ] {
        let mut rows: Vec<_> = engine.routes().iter(table).collect();
        rows.sort_by(|a, b| (b.0.prefix_len(), a.0.addr()).cmp(&(a.0.prefix_len(), b.0.addr())));
        for (prefix, hop) in rows {
            t.row(vec![name.into(), prefix.to_string(), next_hop(&hop)]);
        }
    }
    t
}

/// Answers the requests the engine alone can: neighbors, tunnels, routes,
/// counters and its part of status. A router answers `bindings` (and puts its
/// bindings first in `status`) before handing the rest here.
pub fn answer(engine: &Engine, all_counters: &Counters, request: &Request) -> Response {
    match request {
        Request::Neighbors {} => Response::tables(vec![neighbors(engine)]),
        Request::Tunnels {} => Response::tables(vec![tunnels(engine)]),
        Request::Routes {} => Response::tables(vec![routes(engine)]),
        Request::Counters {} => Response::tables(vec![counters(all_counters)]),
        Request::Status {} => Response::tables(status(engine, all_counters)),
        Request::Bindings {} => Response::error("bindings: this router keeps none"),
        Request::Log { .. } => Response::error("log: handled by the event loop"),
        Request::Arriving { .. } | Request::Leaving { .. } => {
            Response::error("arriving/leaving: only a MAG takes hints about its nodes")
        }
        Request::ReloadKeys {} => Response::error("reload_keys: this router has no keys"),
    }
}

/// The engine's tables of a `status` answer.
pub fn status(engine: &Engine, all_counters: &Counters) -> Vec<Table> {
    vec![
        tunnels(engine),
        routes(engine),
        neighbors(engine),
        counters(all_counters),
    ]
}

pub fn counters(counters: &Counters) -> Table {
    let mut t = Table::new("counters", &["counter", "value"]);
    for (name, value) in counters.iter() {
        t.row(vec![name.into(), value.to_string()]);
    }
    t
}
