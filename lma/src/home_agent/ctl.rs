//! The home agent's control tables: its Binding Cache plus the engine's tables.

use super::HomeAgent;
use router::Instant;
use router::ctl::{Request, Response, Table};
use router::engine_tables;

/// The Binding Cache, one row per home address.
pub fn bindings(ha: &HomeAgent, now: Instant) -> Table {
    let mut t = Table::new(
        "home bindings",
        &[
            "home_address",
            "mn_id",
            "care_of_address",
            "seq",
            "lifetime left",
            "updates",
            "moves",
        ],
    );
    for b in ha.bindings().sorted() {
        let left = if b.expires > now {
            (b.expires - now).total_millis() / 1000
        } else {
            0
        };
        t.row(vec![
            b.home_address.to_string(),
            b.mn_id.clone(),
            b.care_of.to_string(),
            b.sequence.to_string(),
            format!("{left} s"),
            b.updates.to_string(),
            b.moves.to_string(),
        ]);
    }
    t
}

pub fn answer(ha: &HomeAgent, now: Instant, request: &Request) -> Response {
    match request {
        Request::Bindings {} => Response::tables(vec![bindings(ha, now)]),
        Request::Status {} => {
            let engine = engine_tables::status(ha.engine(), &ha.counters());
            let sizes = engine_tables::sizes(ha.engine(), &ha.sizes());
            Response::tables([vec![bindings(ha, now), sizes], engine].concat())
        }
        other => engine_tables::answer(ha.engine(), &ha.counters(), other),
    }
}
