//! Named event counters: received, sent, and dropped per reason.
//!
//! Every frame a router refuses is counted under a reason a person can read
//! (`drop.truncated`, `drop.bad_checksum`, ...), and the control socket shows them.

use std::collections::BTreeMap;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counters {
    values: BTreeMap<&'static str, u64>,
}

impl Counters {
    pub fn bump(&mut self, name: &'static str) {
        self.add(name, 1);
    }

    pub fn add(&mut self, name: &'static str, n: u64) {
        *self.values.entry(name).or_insert(0) += n;
    }

    pub fn get(&self, name: &str) -> u64 {
        self.values.get(name).copied().unwrap_or(0)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.values.iter().map(|(k, v)| (*k, *v))
    }
}

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
    }
}
