//! Use epichain from Rust: build and sign transactions, build the demonstration world, run the
//! demo and the benchmarks. The `epichain` command line is a thin layer over this library.

pub mod bench;
pub mod client;
pub mod demo;
pub mod detect_csv;
pub mod devnet;
pub mod netbench;
pub mod privbench;
pub mod read;
pub mod seal;
pub mod table;
pub mod warnbench;

pub use epichain_core::Signer;
pub use epichain_world as world;
