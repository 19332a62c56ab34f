//! `epichain node verify-store`: re-checks a node's whole store offline and reports the first
//! inconsistency. Every block's header must extend its parent and commit to its transactions
//! and receipts; every stored certificate must be a quorum of the genesis validators over its
//! header; the tree must hash to every header's state root; every transaction id must index its
//! own place; every state value must be the one the tree commits to at the tip; every case's
//! versions must chain to its head. Run it on a stopped node's data (or a copy).

use crate::reader::LedgerReader;
use crate::state::{StateKey, StateValue};
use crate::store::{Store, StoreReader};
use crate::{LedgerError, StorageError};
use epichain_core::block::{receipts_root, transactions_root_of_ids};
use epichain_core::encoding::{self, Hash};
use epichain_core::{Genesis, SignedTransaction};
use std::path::Path;

/// The first inconsistency found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreFault {
    /// No genesis or tip: not a store.
    #[error("no genesis or tip in the store")]
    NotAStore,
    /// Stored bytes that do not decode.
    #[error("block {height}: {what} does not decode")]
    Unreadable {
        /// Height.
        height: u64,
        /// Which part.
        what: &'static str,
    },
    /// A header is missing below the tip.
    #[error("block {0}: header missing")]
    HeaderMissing(u64),
    /// A header does not extend the one below.
    #[error("block {0}: header does not name the previous header as its parent")]
    Parent(u64),
    /// Transactions that do not hash to the header's root.
    #[error("block {0}: stored transactions do not hash to the header's transactions root")]
    Transactions(u64),
    /// Receipts that do not hash to the header's root.
    #[error("block {0}: stored receipts do not hash to the header's receipts root")]
    Receipts(u64),
    /// The tree does not hash to a header's state root.
    #[error("block {0}: the state tree does not hash to the header's state root")]
    StateRoot(u64),
    /// A certificate that does not finalize its header.
    #[error("block {height}: finality certificate: {error}")]
    Certificate {
        /// Height.
        height: u64,
        /// Why.
        error: epichain_verify::certificate::CertificateError,
    },
    /// A transaction id indexed elsewhere than where it is stored.
    #[error("transaction {id}: its index does not point at block {height}, position {index}")]
    Index {
        /// Transaction id.
        id: Hash,
        /// Where it is stored.
        height: u64,
        /// Its position.
        index: u32,
    },
    /// The tip does not name the last header.
    #[error("the tip does not name block {0}'s header and state root")]
    Tip(u64),
    /// A state value the tree does not commit to.
    #[error("state entry {0}: its value is not the one the state tree commits to")]
    StateValue(String),
    /// A case whose versions do not chain to its head.
    #[error("case {id}: {reason}")]
    CaseVersions {
        /// Case id.
        id: Hash,
        /// The break.
        reason: String,
    },
}

/// What a consistent store holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreSummary {
    /// Blocks above genesis.
    pub blocks: u64,
    /// Transactions.
    pub transactions: u64,
    /// Finality certificates checked.
    pub certificates: u64,
    /// State entries checked against the tree.
    pub state_entries: u64,
    /// Case histories checked.
    pub cases: u64,
}

/// A fault, or the store failing to be read at all.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The store is inconsistent.
    #[error("{0}")]
    Fault(#[from] StoreFault),
    /// The store could not be read.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl From<StorageError> for AuditError {
    fn from(error: StorageError) -> Self {
        AuditError::Ledger(error.into())
    }
}

/// Checks the store at `path` (which must exist); `progress` is called with each height.
pub fn verify_store(
    path: &Path,
    mut progress: impl FnMut(u64),
) -> Result<StoreSummary, AuditError> {
    if !path.is_file() {
        return Err(StorageError::Database(format!("no store at {}", path.display())).into());
    }
    let store = Store::open(path)?;
    let reader = store.reader()?;
    let genesis: Genesis = reader
        .genesis_bytes()?
        .and_then(|bytes| encoding::decode(&bytes).ok())
        .ok_or(StoreFault::NotAStore)?;
    let tip = reader.tip()?.ok_or(StoreFault::NotAStore)?;
    let verifier = epichain_verify::Verifier::new(&genesis);
    let mut summary = StoreSummary::default();
    let mut parent = genesis.chain_id();
    for height in 1..=tip.height {
        progress(height);
        let block = check_block(&reader, height, &parent, &mut summary)?;
        if let Some(certificate) = reader.certificate(height)? {
            verifier
                .verify_certificate(&block, &certificate)
                .map_err(|error| StoreFault::Certificate { height, error })?;
            summary.certificates += 1;
        }
        parent = block;
    }
    if tip.height > 0 && tip.hash != parent {
        return Err(StoreFault::Tip(tip.height).into());
    }
    let reader = LedgerReader { reader };
    check_state(&reader, tip.height, &mut summary)?;
    summary.blocks = tip.height;
    Ok(summary)
}

/// Checks one block against its parent; returns its hash.
fn check_block(
    reader: &StoreReader,
    height: u64,
    parent: &Hash,
    summary: &mut StoreSummary,
) -> Result<Hash, AuditError> {
    let unreadable = |what| StoreFault::Unreadable { height, what };
    let header = match reader.header(height) {
        Ok(Some(header)) => header,
        Ok(None) => return Err(StoreFault::HeaderMissing(height).into()),
        Err(_) => return Err(unreadable("header").into()),
    };
    if header.parent != *parent || header.height != height {
        return Err(StoreFault::Parent(height).into());
    }
    let block = reader
        .block(height)
        .map_err(|_| unreadable("a transaction"))?
        .ok_or(StoreFault::HeaderMissing(height))?;
    let ids: Vec<Hash> = block
        .transactions
        .iter()
        .map(SignedTransaction::id)
        .collect();
    if transactions_root_of_ids(&ids) != header.transactions_root {
        return Err(StoreFault::Transactions(height).into());
    }
    let receipts = reader
        .receipts(height)
        .map_err(|_| unreadable("receipts"))?
        .ok_or(unreadable("receipts"))?;
    if receipts_root(&receipts) != header.receipts_root {
        return Err(StoreFault::Receipts(height).into());
    }
    let root = reader
        .tree()
        .get_root_hash(height)
        .map_err(|_| StoreFault::StateRoot(height))?;
    if Hash(root.0) != header.state_root {
        return Err(StoreFault::StateRoot(height).into());
    }
    for (index, id) in ids.iter().enumerate() {
        let location = reader.transaction_location(id)?;
        if location.map(|l| (l.height, l.index)) != Some((height, index as u32)) {
            return Err(StoreFault::Index {
                id: *id,
                height,
                index: index as u32,
            }
            .into());
        }
    }
    summary.transactions += ids.len() as u64;
    Ok(header.hash())
}

/// Checks every state value against the tree at the tip, and every case's version chain.
fn check_state(
    reader: &LedgerReader,
    tip: u64,
    summary: &mut StoreSummary,
) -> Result<(), AuditError> {
    let header = match reader.store().header(tip)? {
        Some(header) => header,
        None if tip == 0 => return Ok(()),
        None => return Err(StoreFault::HeaderMissing(tip).into()),
    };
    reader
        .store()
        .for_each_state_entry(|key, value| -> Result<(), AuditError> {
            let key: StateKey =
                encoding::decode(key).map_err(|_| StoreFault::StateValue(format!("{key:?}")))?;
            let fault = || StoreFault::StateValue(format!("{key:?}"));
            let proof = reader
                .state_proof_of(&key, Some(value.to_vec()), &header)
                .map_err(|_| fault())?;
            summary.state_entries += 1;
            if let Some(StateValue::Case(case)) = proof.decoded().ok().flatten() {
                reader
                    .case_versions(&case.case_id)
                    .map_err(|error| StoreFault::CaseVersions {
                        id: case.case_id,
                        reason: error.to_string(),
                    })?;
                summary.cases += 1;
            }
            Ok(())
        })?;
    Ok(())
}
