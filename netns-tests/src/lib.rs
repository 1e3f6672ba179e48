//! The tapmip lab.
