//! The `epichain` command line's library: the demonstration world and demo, the local devnet,
//! the benchmarks and the detection CSV tool. The Rust client library is `epichain-client`
//! (re-exported here as [`client`]); this crate adds what runs a network on one machine.

pub mod bench;
pub mod demo;
pub mod detect_csv;
pub mod devnet;
pub mod table;

pub use epichain_client as client;
pub use epichain_core::Signer;
pub use epichain_world as world;
