//! Run an epichain node: validators order blocks with an existing BFT engine (commonware
//! simplex) and execute them with `epichain-ledger`; replicas follow finalized blocks; every node
//! serves the HTTP API.
//!
//! This crate knows no command line: `epichain node` calls [`run`].

pub mod api;
pub mod application;
pub mod block;
pub mod budget;
pub mod chain;
pub mod config;
pub mod consensus;
pub mod escrow_agent;
pub mod finality;
pub mod http;
pub mod journal;
pub mod mempool;
pub mod metrics;
pub mod runner;
pub mod sync;

pub use config::NodeConfig;

/// The wall clock, at the node's edges only (the API's request times, signed fetches): never in
/// the state machine.
#[allow(clippy::disallowed_methods)]
pub(crate) fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|duration| duration.as_millis() as u64)
        .unwrap_or_default()
}

/// Exit status of a node that stopped because it cannot go on safely (`EX_SOFTWARE`).
pub const EXIT_HALTED: i32 = 70;

/// Stops the node process with [`EXIT_HALTED`] and a clear log line. For broken invariants
/// only: a finalized block that does not re-execute to its header, or a store that cannot
/// write. A node in that state must not keep serving frozen or diverged state.
pub fn halt(reason: &str) -> ! {
    tracing::error!(reason, "halting the node");
    eprintln!("epichain node halted: {reason}");
    std::process::exit(EXIT_HALTED)
}
pub use runner::{NodeError, Progress, run, run_with_progress};

/// Consensus and p2p key type of validators (Ed25519, the same keys as ours).
pub type PublicKey = commonware_cryptography::ed25519::PublicKey;
/// Private consensus key.
pub type PrivateKey = commonware_cryptography::ed25519::PrivateKey;
/// The consensus signing scheme: Ed25519 votes, certificates checkable with the validator keys
/// from genesis.
pub type Scheme = commonware_consensus::simplex::scheme::ed25519::Scheme;
/// A finality certificate.
pub type Finalization = commonware_consensus::simplex::types::Finalization<
    Scheme,
    commonware_cryptography::sha256::Digest,
>;
