//! Execute epichain blocks deterministically and keep their state, history and indexes in an
//! embedded transactional store.
//!
//! The pure core is [`execute::execute_block`]: a function of the committed state, the block
//! context and the transactions. [`Ledger`] wraps it with the store: it commits each block's
//! writes, Merkle-tree nodes, case versions and indexes in one atomic transaction.
//!
//! This crate knows no network, HTTP or command line.

pub mod audit;
pub mod execute;
pub mod ledger;
pub mod proofs;
pub mod reader;
pub mod rules;
pub mod signatures;
pub mod state;
pub mod store;
pub mod warning;
mod writer;

pub use epichain_core::Rejection;
pub use execute::{Authenticator, BlockContext, Event, Execution, Unauthenticated};
pub use ledger::{BlockOutcome, Ledger, PreparedBlock, ReadHandle};
pub use reader::LedgerReader;
pub use state::{
    CaseRecord, CaseVersion, ChainConfig, Entry, IdentityRecord, StateKey, StateRead, StateValue,
};
pub use store::Tip;
pub use writer::OnDurable;

use epichain_core::encoding::DecodeError;

/// Failures of the storage layer (operating errors: disk, corruption).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The database reported an error.
    #[error("database: {0}")]
    Database(String),
    /// Stored bytes do not decode or are inconsistent.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The Merkle tree reported an error.
    #[error("state tree: {0}")]
    Tree(String),
}

impl From<DecodeError> for StorageError {
    fn from(error: DecodeError) -> Self {
        StorageError::Corrupt(error.to_string())
    }
}

/// Errors of the ledger's API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A block is invalid; nothing was written.
    #[error("invalid block: {0}")]
    InvalidBlock(String),
    /// A block carries a transaction that fails authentication; nothing was written.
    #[error(
        "invalid block: transaction {} fails authentication ({})",
        .0.position,
        .0.rejection.code()
    )]
    Unauthenticated(Box<Unauthenticated>),
    /// Genesis is invalid or does not match the store.
    #[error("genesis: {0}")]
    Genesis(String),
}

impl LedgerError {
    /// True if a block was refused (as opposed to the ledger failing).
    pub fn is_invalid_block(&self) -> bool {
        matches!(
            self,
            LedgerError::InvalidBlock(_) | LedgerError::Unauthenticated(_)
        )
    }
}
