//! Proof bundles ([`epichain_verify::bundle`]) built from one consistent snapshot: a record's
//! head (or absence) proved against the latest certified header's state root, a case's versions
//! with their transactions, an identity's certificate, a transaction's paths in its block.

use crate::reader::LedgerReader;
use crate::state::{IdentityRecord, StateKey};
use crate::{LedgerError, StorageError};
use epichain_core::encoding::Hash;
use epichain_core::merkle;
use epichain_verify::bundle::{
    BUNDLE_FORMAT_VERSION, Checkpoint, ProofBundle, RecordRef, StateProof, TransactionProof,
    VersionProof,
};

/// Most heights searched below the tip for one that carries a finality certificate (the tip's
/// certificate may still be on its way).
pub const CHECKPOINT_SEARCH_HEIGHTS_MAX: u64 = 64;

/// Why no bundle can be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The store failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// No recent block carries a finality certificate (a chain without validators, or a
    /// replica that has not received one yet).
    #[error("no certified block within {CHECKPOINT_SEARCH_HEIGHTS_MAX} heights of the tip")]
    NoCheckpoint,
    /// No transaction with this id was committed.
    #[error("no committed transaction has this id")]
    UnknownTransaction,
    /// The transaction's block has no finality certificate stored.
    #[error("block {0} has no finality certificate")]
    Uncertified(u64),
}

impl From<StorageError> for ProofError {
    fn from(error: StorageError) -> Self {
        ProofError::Ledger(error.into())
    }
}

impl LedgerReader {
    /// The highest committed header with a finality certificate, near the tip.
    pub fn checkpoint(&self) -> Result<Checkpoint, ProofError> {
        let tip = self.store().tip()?.map(|tip| tip.height).unwrap_or(0);
        let lowest = tip.saturating_sub(CHECKPOINT_SEARCH_HEIGHTS_MAX).max(1);
        for height in (lowest..=tip).rev() {
            if let Some(checkpoint) = self.certified(height)? {
                return Ok(checkpoint);
            }
        }
        Err(ProofError::NoCheckpoint)
    }

    /// The header at `height` with its certificate, if it has one.
    fn certified(&self, height: u64) -> Result<Option<Checkpoint>, ProofError> {
        let Some(certificate) = self.store().certificate(height)? else {
            return Ok(None);
        };
        let header = self
            .store()
            .header(height)?
            .ok_or_else(|| StorageError::Corrupt(format!("certificate without header {height}")))?;
        Ok(Some(Checkpoint {
            header,
            certificate,
        }))
    }

    /// The value under `key` (or its absence) in the state after `height`, with its proof.
    pub fn state_proof(&self, key: &StateKey, height: u64) -> Result<StateProof, ProofError> {
        let (value, proof) = self
            .store()
            .tree()
            .get_with_proof(jmt::KeyHash(key.tree_key()), height)
            .map_err(|error| StorageError::Tree(error.to_string()))?;
        Ok(StateProof {
            key: key.clone(),
            value,
            proof: borsh::to_vec(&proof)
                .map_err(|error| StorageError::Tree(error.to_string()))?,
        })
    }

    /// A bundle proving `record`'s history (or its absence) at the latest checkpoint; a
    /// transaction's at its own block.
    pub fn proof_bundle(&self, record: RecordRef) -> Result<ProofBundle, ProofError> {
        if let RecordRef::Transaction(id) = record {
            return self.transaction_bundle(id);
        }
        let checkpoint = self.checkpoint()?;
        let height = checkpoint.header.height;
        let key = record.state_key().expect("records other than transactions have a key");
        let head = self.state_proof(&key, height)?;
        let mut state = Vec::new();
        let mut versions = Vec::new();
        if head.value.is_some() {
            match record {
                RecordRef::Case(id) => versions = self.version_proofs(&id)?,
                RecordRef::Identity(key) => {
                    if let Some(identity) = self.get::<IdentityRecord>(&key)? {
                        let certificate = StateKey::Certificate(identity.certificate);
                        state.push(self.state_proof(&certificate, height)?);
                    }
                }
                _ => {}
            }
        }
        state.insert(0, head);
        Ok(ProofBundle {
            format_version: BUNDLE_FORMAT_VERSION,
            chain_id: checkpoint.header.chain_id,
            record,
            checkpoint,
            state,
            versions,
            transaction: None,
        })
    }

    /// A case's versions, oldest first, each with its transaction.
    fn version_proofs(&self, id: &Hash) -> Result<Vec<VersionProof>, ProofError> {
        self.case_versions(id)?
            .into_iter()
            .map(|version| {
                let transaction = self.store().transaction_at(version.location)?.ok_or_else(|| {
                    StorageError::Corrupt(format!("transaction missing at {:?}", version.location))
                })?;
                Ok(VersionProof {
                    version,
                    transaction,
                })
            })
            .collect()
    }

    /// A transaction with its receipt and their paths, at its block's certificate.
    fn transaction_bundle(&self, id: Hash) -> Result<ProofBundle, ProofError> {
        let location = self
            .store()
            .transaction_location(&id)?
            .ok_or(ProofError::UnknownTransaction)?;
        let checkpoint = self
            .certified(location.height)?
            .ok_or(ProofError::Uncertified(location.height))?;
        let block = self
            .store()
            .block(location.height)?
            .ok_or_else(|| StorageError::Corrupt(format!("block {} missing", location.height)))?;
        let receipts = self
            .store()
            .receipts(location.height)?
            .ok_or_else(|| StorageError::Corrupt("receipts missing".into()))?;
        let index = location.index as usize;
        let leaves: Vec<Hash> = block
            .transactions
            .iter()
            .map(|transaction| merkle::leaf_hash(&transaction.id().0))
            .collect();
        let receipt_leaves: Vec<Hash> = receipts.iter().map(|r| r.leaf_hash()).collect();
        let corrupt = || StorageError::Corrupt(format!("no transaction at {location:?}"));
        let proof = TransactionProof {
            transaction: block.transactions.get(index).ok_or_else(corrupt)?.clone(),
            receipt: receipts.get(index).ok_or_else(corrupt)?.clone(),
            transaction_path: merkle::prove(&leaves, index).ok_or_else(corrupt)?,
            receipt_path: merkle::prove(&receipt_leaves, index).ok_or_else(corrupt)?,
        };
        Ok(ProofBundle {
            format_version: BUNDLE_FORMAT_VERSION,
            chain_id: checkpoint.header.chain_id,
            record: RecordRef::Transaction(id),
            checkpoint,
            state: Vec::new(),
            versions: Vec::new(),
            transaction: Some(proof),
        })
    }
}
