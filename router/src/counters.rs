//! Named event counters: received, sent, and dropped per reason.
//!
//! Every frame a router refuses is counted under a reason a person can read
//! (`drop.truncated`, `drop.bad_checksum`, ...), and the control socket shows them.

//!
//! Counting is on every packet's path, so a name is found by where its
//! literal lives (one hash of two words) and compared as text only the first
//! time that literal is counted.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

#[derive(Debug, Clone)]
pub struct Counters {
    /// Each name once, in order, with its slot in `values`.
    by_name: BTreeMap<&'static str, usize>,
    /// The slot of each literal seen: (address, length) of the `&'static str`.
    by_literal: FxHashMap<(usize, usize), usize>,
    values: Vec<u64>,
}

/// Literals a set of counters meets without growing its index: a name met
/// again from another literal, past the first packets, allocates nothing.
const LITERALS: usize = 64;

impl Default for Counters {
    fn default() -> Self {
        Counters {
            by_name: BTreeMap::new(),
            by_literal: FxHashMap::with_capacity_and_hasher(LITERALS, Default::default()),
            values: Vec::new(),
        }
    }
}

impl Counters {
    pub fn bump(&mut self, name: &'static str) {
        self.add(name, 1);
    }

    pub fn add(&mut self, name: &'static str, n: u64) {
        let literal = (name.as_ptr() as usize, name.len());
        let slot = match self.by_literal.get(&literal) {
            Some(&slot) => slot,
            None => {
                let next = self.values.len();
                let slot = *self.by_name.entry(name).or_insert(next);
                if slot == next {
                    self.values.push(0);
                }
                self.by_literal.insert(literal, slot);
                slot
            }
        };
        if let Some(v) = self.values.get_mut(slot) {
            *v += n;
        }
    }

    pub fn get(&self, name: &str) -> u64 {
        self.by_name
            .get(name)
            .and_then(|&slot| self.values.get(slot))
            .copied()
            .unwrap_or(0)
    }

    /// Every counter, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.by_name
            .iter()
            .map(|(name, &slot)| (*name, self.values.get(slot).copied().unwrap_or(0)))
    }
}

impl PartialEq for Counters {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Counters {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_name() {
        let mut c = Counters::default();
        c.bump("rx");
        c.bump("rx");
        c.add("drop.truncated", 3);
        assert_eq!(c.get("rx"), 2);
        assert_eq!(c.get("drop.truncated"), 3);
        assert_eq!(c.get("never"), 0);
        assert_eq!(c.iter().count(), 2);
        // The same name from another literal is the same counter.
        let other: &'static str = String::from("rx").leak();
        c.bump(other);
        assert_eq!(c.get("rx"), 3);
        assert_eq!(
            c.iter().collect::<Vec<_>>(),
            [("drop.truncated", 3), ("rx", 3)]
        );
    }
}
