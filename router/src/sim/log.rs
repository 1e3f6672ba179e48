//! Log lines of a simulation, stamped with the fake time and the node that
//! wrote them. Off unless `TAPMIP_SIM_LOG` is set (to `info` or `debug`), so
//! a failing randomized run can be replayed and read like a lab's logs.

use crate::Instant;
use log::{LevelFilter, Log, Metadata, Record};
use std::cell::Cell;

thread_local! {
    static NOW: Cell<(Instant, usize)> = const { Cell::new((Instant::from_micros_const(0), usize::MAX)) };
}

/// Records which node runs at which fake instant, for the lines it logs.
pub(crate) fn set_context(now: Instant, node: usize) {
    NOW.with(|c| c.set((now, node)));
}

struct SimLogger;

impl Log for SimLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        let (now, node) = NOW.with(Cell::get);
        eprintln!(
            "[{:>12.6}] node {node}: {}",
            now.total_micros() as f64 / 1e6,
            record.args()
        );
    }

    fn flush(&self) {}
}

/// Installs the simulation logger if `TAPMIP_SIM_LOG` asks for it.
pub fn init_from_env() {
    let level = match std::env::var("TAPMIP_SIM_LOG").as_deref() {
        Ok("debug") => LevelFilter::Debug,
        Ok(_) => LevelFilter::Info,
        Err(_) => return,
    };
    if log::set_logger(&SimLogger).is_ok() {
        log::set_max_level(level);
    }
}
