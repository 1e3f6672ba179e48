//! Neighbor Discovery.
