//! The node's integration tests, linked into one test binary: each module below was a binary of
//! its own, and ten copies of the node (≈160 MB each in debug) filled a CI machine's disk.
//! Module files stay at `tests/NAME.rs`, so references to them keep their paths.

mod api;
mod common;
mod disclosure;
mod durability;
mod follower;
mod http;
mod listings;
mod privacy;
mod proofs;
mod simulation;
mod single;
mod warning_network;
