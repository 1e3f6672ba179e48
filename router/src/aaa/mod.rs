//! AAA: the policy a router asks before it acts for a mobile node, from the
//! policy file ([`FileStore`], answers at once) or from a RADIUS server
//! ([`RadiusStore`], answers later), behind one interface ([`PolicyStore`]).
//!
//! # How a core uses it
//!
//! The core owns one `Box<dyn PolicyStore>` and stays without I/O: the store
//! sends through the core's [`crate::core::Tx`] (RADIUS over
//! [`crate::core::Tx::send_datagram`]) and is fed what the core is fed.
//!
//! ```text
//! on a PBU (LMA, RFC 5213 5.3.1 step 3)      on an attachment (MAG)
//!   store.lookup(now, &Question::Authorize     store.lookup(now, &Question::Attach
//!       { mn_id, mag: src }, tx)                   { mn_id, mac }, tx)
//!   Ready(answer)   -> go on with it now (the file store, always)
//!   Pending(token)  -> hold the PBU / the attachment under `token`, as the LMA
//!                      holds HI=4 PBUs; send nothing yet
//!
//! Core::on_datagram(now, from, bytes, tx)
//!   if let Some((token, answer)) = store.on_datagram(now, from, bytes)
//!       -> take the held request out, go on with `answer`
//! Core::on_timer(now, tx)
//!   for (token, answer) in store.on_timer(now, tx)   // retransmits inside;
//!       -> the same, the answer is a Refusal::Unreachable  // returns give-ups
//! Core::poll_at()   -> min(own deadlines, store.poll_at())
//! ```
//!
//! Rules for the core:
//! - Hold at most one lookup per node: a retransmitted PBU (or a new RS) while
//!   one is pending replaces the held message and keeps the token; one that the
//!   core drops instead (e.g. a de-registration overtook it) calls
//!   [`PolicyStore::cancel`].
//! - Validate everything the answer does not decide (sequence, timestamps,
//!   options) before the lookup, and again on resumption only what time changes
//!   (the timestamp window): the held message was checked when it arrived.
//! - Ask once per binding, not per refresh: the LMA asks when it would create a
//!   binding or move it to another MAG, and reuses the grant for refreshes and
//!   de-registrations (an AAA outage then stops no existing node).
//! - Suggested PBA status per [`Refusal`] (RFC 5213 8.9): `UnknownNode` ->
//!   NOT_LMA_FOR_THIS_MOBILE_NODE (153); `UnknownMag`, `MagNotAllowed` ->
//!   MAG_NOT_AUTHORIZED_FOR_PROXY_REG (154); `Rejected` ->
//!   ADMINISTRATIVELY_PROHIBITED (129); `Unusable`, `Unreachable`, `Busy` ->
//!   REASON_UNSPECIFIED (128), or no PBA at all, so the MAG's own retransmission
//!   asks again. A MAG refused on attach sends no PBU and no RA and logs the
//!   refusal's text, which names the reason (an Access-Reject's Reply-Message).
//! - The answer's [`Grant`] carries the prefixes (RADIUS) or the pool to draw
//!   them from (file); a RADIUS grant with no prefix is the core's to refuse.
//!
//! The RADIUS pieces, bottom up: [`crate::wire`]'s `RadiusPacket` and
//! `AccessRequestRepr`/`AccessReplyRepr` (RFC 2865, 3162, 4818, 6572),
//! [`radius_auth`] (Message-Authenticator and Response Authenticator, refusing
//! BlastRADIUS forgeries), [`radius_client`] (retransmission, failover,
//! outcomes) and [`radius_store`] (questions to requests, outcomes to answers,
//! and the table of attributes used).

mod config;
mod file_store;
pub mod radius_auth;
pub mod radius_client;
pub mod radius_store;
mod setup;
mod store;

pub use config::AaaConfig;
pub use file_store::FileStore;
pub use radius_client::{
    AccessRequest, Outcome, RadiusClient, RadiusConfig, RadiusConfigError, RadiusServer,
};
pub use radius_store::RadiusStore;
pub use setup::{AaaOptions, AaaSetupError, StoreKind};
pub use store::{Answer, Grant, Lookup, PolicyStore, Question, Refusal, Token};
