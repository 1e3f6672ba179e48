//! The LMA's control tables: the Binding Cache plus the engine's tables.

use crate::binding_cache::BindingState;
use crate::core::Lma;
use router::Instant;
use router::ctl::{Request, Response, Table};
use router::engine_tables;

/// The Binding Cache, one row per mobile node.
pub fn bindings(lma: &Lma, now: Instant) -> Table {
    let mut t = Table::new(
        "bindings",
        &[
            "mn_id",
            "hnps",
            "proxy-coa",
            "mag",
            "state",
            "lifetime left",
            "seq",
            "HI",
            "ATT",
            "LL-ID",
            "ipv4",
        ],
    );
    let mut rows: Vec<_> = lma.bindings().iter().map(|(_, b)| b).collect();
    rows.sort_by(|a, b| a.mn_id.cmp(&b.mn_id));
    for b in rows {
        let hnps: Vec<String> = b.hnps.iter().map(|p| p.to_string()).collect();
        let left = if b.expires > now {
            (b.expires - now).total_millis() / 1000
        } else {
            0
        };
        t.row(vec![
            b.mn_id.to_string(),
            hnps.join(" "),
            b.proxy_coa.to_string(),
            lma.policy()
                .mag_by_address(&b.proxy_coa)
                .map_or("-".into(), |m| m.name.clone()),
            match b.state {
                BindingState::Active => "active",
                BindingState::DeregisteredPendingDelete => "deregistered (pending delete)",
            }
            .into(),
            format!("{left} s"),
            b.sequence.to_string(),
            u8::from(b.hi).to_string(),
            b.att.name().into(),
            b.ll_id.map_or("-".into(), |id| id.to_string()),
            b.ipv4.map_or("-".into(), |h| h.to_string()),
        ]);
    }
    t
}

pub fn answer(lma: &Lma, now: Instant, request: &Request) -> Response {
    match request {
        Request::Bindings {} => Response::tables(vec![bindings(lma, now)]),
        Request::Status {} => {
            let engine = engine_tables::status(lma.engine(), &lma.counters());
            let sizes = engine_tables::sizes(lma.engine(), &lma.sizes());
            Response::tables([vec![bindings(lma, now), sizes], engine].concat())
        }
        other => engine_tables::answer(lma.engine(), &lma.counters(), other),
    }
}
