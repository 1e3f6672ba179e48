//! Key rollover at run time: a wrapper around a core that answers the control
//! request `reload_keys` by reading the key files again (I/O the core never
//! does) and handing the new keys to the core. Bindings, timers and
//! everything else stay as they are.

use std::net::SocketAddr;

use super::keyring::KeyRing;
use crate::Instant;
use crate::core::{Core, PortId, Rx, Tx};
use crate::ctl::{Request, Response, Table};

/// A core whose keys can be replaced while it runs.
pub trait Rekey {
    /// Takes `keys` in place of the current ones and describes them.
    fn rekey(&mut self, keys: KeyRing) -> Table;
}

/// `core`, with `load` run on every `reload_keys` request.
pub struct Reloading<C, F> {
    pub core: C,
    load: F,
}

impl<C, F> Reloading<C, F>
where
    C: Core + Rekey,
    F: FnMut() -> Result<KeyRing, String>,
{
    pub fn new(core: C, load: F) -> Self {
        Reloading { core, load }
    }
}

impl<C, F> Core for Reloading<C, F>
where
    C: Core + Rekey,
    F: FnMut() -> Result<KeyRing, String>,
{
    fn on_frame(&mut self, now: Instant, port: PortId, frame: &[u8], tx: &mut dyn Tx) {
        self.core.on_frame(now, port, frame, tx);
    }

    fn on_rx(&mut self, now: Instant, port: PortId, rx: Rx<'_>, tx: &mut dyn Tx) {
        self.core.on_rx(now, port, rx, tx);
    }

    fn on_timer(&mut self, now: Instant, tx: &mut dyn Tx) {
        self.core.on_timer(now, tx);
    }

    fn poll_at(&self) -> Option<Instant> {
        self.core.poll_at()
    }

    fn control(&mut self, now: Instant, request: &Request, tx: &mut dyn Tx) -> Response {
        if *request != (Request::ReloadKeys {}) {
            return self.core.control(now, request, tx);
        }
        match (self.load)() {
            Ok(keys) => {
                let table = self.core.rekey(keys);
                log::info!(
                    "keys reloaded: {} key(s) for {} peer(s); bindings unchanged",
                    table.rows.len(),
                    table
                        .rows
                        .iter()
                        .map(|r| &r[0])
                        .collect::<std::collections::BTreeSet<_>>()
                        .len()
                );
                Response::tables(vec![table])
            }
            Err(e) => {
                log::warn!("keys not reloaded, the current ones stay: {e}");
                Response::error(format!("keys not reloaded, the current ones stay: {e}"))
            }
        }
    }

    fn on_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8], tx: &mut dyn Tx) {
        self.core.on_datagram(now, from, datagram, tx);
    }

    fn on_stop(&mut self, now: Instant, tx: &mut dyn Tx) {
        self.core.on_stop(now, tx);
    }
}
