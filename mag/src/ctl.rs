//! The MAG's control tables: the Binding Update List plus the engine's tables.

use crate::core::Mag;
use router::Instant;
use router::ctl::{Request, Response, Table};
use router::engine_tables;

/// The Binding Update List, one row per node.
pub fn bindings(mag: &Mag, now: Instant) -> Table {
    let mut t = Table::new(
        "binding update list",
        &[
            "mn_id",
            "mac",
            "port",
            "hnps",
            "state",
            "seq",
            "lifetime_left_s",
            "retransmissions",
            "trigger",
            "detected_at_ms",
            "ra_sent_at_ms",
            "handoff_ms",
            "ipv4",
        ],
    );
    for e in mag.bindings().sorted() {
        let ms = |i: Option<Instant>| i.map_or("-".into(), |i| i.total_millis().to_string());
        t.row(vec![
            e.mn_id.clone(),
            e.mac.to_string(),
            e.port.to_string(),
            crate::node_link::prefixes(&e.hnps),
            e.state.to_string(),
            e.sequence.to_string(),
            e.lifetime_left(now)
                .map_or("-".into(), |d| d.secs().to_string()),
            e.retransmissions.to_string(),
            e.trigger.to_string(),
            ms(Some(e.detected_at)),
            ms(e.ra_sent_at),
            e.ra_sent_at.map_or("-".into(), |at| {
                (at - e.detected_at).total_millis().to_string()
            }),
            e.ipv4.map_or("-".into(), |g| g.to_string()),
        ]);
    }
    t
}

pub fn answer(mag: &Mag, now: Instant, request: &Request) -> Response {
    match request {
        Request::Bindings {} => Response::tables(vec![bindings(mag, now)]),
        Request::Status {} => {
            let engine = engine_tables::status(mag.engine(), &mag.counters());
            let sizes = engine_tables::sizes(mag.engine(), &mag.sizes());
            let hints = mag.hints_table(now);
            Response::tables([vec![bindings(mag, now), hints, sizes], engine].concat())
        }
        other => engine_tables::answer(mag.engine(), &mag.counters(), other),
    }
}
