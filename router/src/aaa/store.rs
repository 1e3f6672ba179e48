//! The policy-store interface: a question a router asks, an answer that may come
//! now or later.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::Ipv6Net;

use crate::Instant;
use crate::core::Tx;
use crate::counters::Counters;
use crate::mac::Mac;

/// What a router asks before it acts for a mobile node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question<'a> {
    /// A MAG saw the node with link-layer address `mac` attach, which its node
    /// table names `mn_id`: may this MAG serve it? (The paper's MAG asked its AAA
    /// server before the PBU, RFC 5213 6.9.1.1's "access authentication".)
    Attach { mn_id: &'a str, mac: Mac },
    /// The LMA received a PBU from `mag` (its Proxy-CoA) for `mn_id`: may that MAG
    /// act for the node, and which home network prefixes has it (RFC 5213 5.3.1
    /// step 3)?
    Authorize { mn_id: &'a str, mag: Ipv6Addr },
}

impl Question<'_> {
    pub fn mn_id(&self) -> &str {
        match self {
            Question::Attach { mn_id, .. } | Question::Authorize { mn_id, .. } => mn_id,
        }
    }
}

/// What the store grants a node. Cheap to clone: the file store hands out the
/// same prefixes for every PBU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Home network prefixes the store assigns; empty when the LMA allocates
    /// them from `pool`.
    pub hnps: Arc<[Ipv6Net]>,
    /// The policy pool to allocate from (file store only).
    pub pool: Option<Arc<str>>,
    /// The IPv4 home address (RFC 5844), when the store assigns one.
    pub ipv4_home: Option<Ipv4Addr>,
}

/// Why the store said no; each maps to one PBA status (see the module notes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No profile for this MN-ID.
    UnknownNode,
    /// The asking MAG (or the PBU's sender) is not an accepted MAG.
    UnknownMag,
    /// The node's profile lists other MAGs only.
    MagNotAllowed,
    /// The store said no: for RADIUS an Access-Reject, with its Reply-Message.
    Rejected { reason: String },
    /// The exchange cannot carry the question (a 254-octet MN-ID in RADIUS), or
    /// the server said yes in a way this router cannot use (a malformed prefix):
    /// a configuration error, refused rather than guessed.
    Unusable { reason: String },
    /// No AAA server answered after every retransmission and failover.
    Unreachable { reason: String },
    /// The store cannot ask now (every RADIUS identifier in use, no randomness).
    Busy { reason: String },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownNode => f.write_str("no policy profile for this MN-ID"),
            Refusal::UnknownMag => f.write_str("not an accepted MAG"),
            Refusal::MagNotAllowed => f.write_str("the node's profile does not list this MAG"),
            Refusal::Rejected { reason } => write!(f, "rejected: {reason}"),
            Refusal::Unusable { reason } => write!(f, "unusable AAA exchange: {reason}"),
            Refusal::Unreachable { reason } => write!(f, "no AAA server answered: {reason}"),
            Refusal::Busy { reason } => write!(f, "AAA store busy: {reason}"),
        }
    }
}

impl Refusal {
    /// The counter bumped when a store gives this answer.
    pub fn counter(&self) -> &'static str {
        match self {
            Refusal::UnknownNode => "aaa.refuse.unknown_node",
            Refusal::UnknownMag => "aaa.refuse.unknown_mag",
            Refusal::MagNotAllowed => "aaa.refuse.mag_not_allowed",
            Refusal::Rejected { .. } => "aaa.refuse.rejected",
            Refusal::Unusable { .. } => "aaa.refuse.unusable",
            Refusal::Unreachable { .. } => "aaa.refuse.unreachable",
            Refusal::Busy { .. } => "aaa.refuse.busy",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Accept(Grant),
    Refuse(Refusal),
}

/// Names one pending lookup until its answer arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub u64);

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A lookup's result: the answer now, or a token its answer will carry later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Ready(Answer),
    Pending(Token),
}

/// A store of policy a core asks. Like a core it has no I/O of its own: it
/// sends through the core's [`Tx`], is handed the datagrams and timer ticks the
/// core gets, and says when it next needs a tick.
pub trait PolicyStore {
    /// Asks; may send datagrams through `tx` and answer later.
    fn lookup(&mut self, now: Instant, question: &Question<'_>, tx: &mut dyn Tx) -> Lookup;

    /// A datagram the core received: the answer it completes, if any. Datagrams
    /// that are not an authentic answer are dropped and counted here.
    fn on_datagram(
        &mut self,
        _now: Instant,
        _from: SocketAddr,
        _datagram: &[u8],
    ) -> Option<(Token, Answer)> {
        None
    }

    /// Runs due timers (retransmissions); returns the lookups that gave up.
    fn on_timer(&mut self, _now: Instant, _tx: &mut dyn Tx) -> Vec<(Token, Answer)> {
        Vec::new()
    }

    /// The earliest instant the store needs [`PolicyStore::on_timer`].
    fn poll_at(&self) -> Option<Instant> {
        None
    }

    /// Forgets a pending lookup whose answer is no longer wanted (the held PBU
    /// was superseded); a late answer to it is dropped.
    fn cancel(&mut self, _token: Token) {}

    /// Answers given and, for a network store, datagrams dropped per reason.
    fn counters(&self) -> &Counters;
}
