//! Proof bundles ([`epichain_verify::bundle`]) built from one consistent snapshot: a record's
//! head (or absence) proved against the latest certified header's state root, a case's versions
//! with their transactions, an identity's certificate, a transaction's paths in its block.

use crate::reader::LedgerReader;
use crate::state::{StateKey, StateValue};
use crate::store::StoreReader;
use crate::{LedgerError, StorageError};
use epichain_core::block::BlockHeader;
use epichain_core::encoding::Hash;
use epichain_core::merkle;
use epichain_verify::bundle::{
    BUNDLE_FORMAT_VERSION, Checkpoint, ProofBundle, RecordRef, StateProof, TransactionProof,
    VersionProof,
};
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};

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
    /// The record changed after the latest certified height (retry when the next certificate
    /// arrives).
    #[error("the record changed after the certified height {0}; retry shortly")]
    Changed(u64),
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

    /// The value under `key` (or its absence) in the state after the checkpoint `header`, with
    /// its proof. Values are stored by state key, latest only (see the store's module doc): a
    /// value changed after the checkpoint cannot be proved against it (a replica whose tip
    /// awaits its certificate), which is [`ProofError::Changed`].
    pub fn state_proof(
        &self,
        key: &StateKey,
        header: &BlockHeader,
    ) -> Result<StateProof, ProofError> {
        let value = self.store().state_bytes(key)?;
        self.state_proof_of(key, value, header)
    }

    /// [`LedgerReader::state_proof`] for a value already read by its state key.
    pub(crate) fn state_proof_of(
        &self,
        key: &StateKey,
        value: Option<Vec<u8>>,
        header: &BlockHeader,
    ) -> Result<StateProof, ProofError> {
        let key_hash = jmt::KeyHash(key.tree_key());
        let reader = ValueByKey {
            store: self.store(),
            key_hash,
            value,
        };
        let (found, proof) = jmt::Sha256Jmt::new(&reader)
            .get_with_proof(key_hash, header.height)
            .map_err(|error| StorageError::Tree(error.to_string()))?;
        if proof
            .verify(
                jmt::RootHash(header.state_root.0),
                key_hash,
                found.as_deref(),
            )
            .is_err()
        {
            return Err(ProofError::Changed(header.height));
        }
        Ok(StateProof {
            key: key.clone(),
            value: found,
            proof: borsh::to_vec(&proof).map_err(|error| StorageError::Tree(error.to_string()))?,
        })
    }

    /// A bundle proving `record`'s history (or its absence) at the latest checkpoint; a
    /// transaction's at its own block.
    pub fn proof_bundle(&self, record: RecordRef) -> Result<ProofBundle, ProofError> {
        if let RecordRef::Transaction(id) | RecordRef::Receipt(id) = record {
            return self.transaction_bundle(record, id);
        }
        let checkpoint = self.checkpoint()?;
        let key = record
            .state_key()
            .expect("records other than transactions have a key");
        let head = self.state_proof(&key, &checkpoint.header)?;
        let mut state = Vec::new();
        let mut versions = Vec::new();
        if head.value.is_some() {
            match record {
                RecordRef::Case(id) => versions = self.version_proofs(&id)?,
                RecordRef::Identity(key) => {
                    let decoded = head.decoded().map_err(StorageError::from)?;
                    if let Some(StateValue::Identity(identity)) = decoded {
                        let certificate = StateKey::Certificate(identity.certificate);
                        state.push(self.state_proof(&certificate, &checkpoint.header)?);
                    }
                    // The key readers seal to (present or absent): what a client checks before
                    // sealing to an identity (review H5).
                    let encryption = StateKey::EncryptionKey(key);
                    state.push(self.state_proof(&encryption, &checkpoint.header)?);
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
                let transaction =
                    self.store()
                        .transaction_at(version.location)?
                        .ok_or_else(|| {
                            StorageError::Corrupt(format!(
                                "transaction missing at {:?}",
                                version.location
                            ))
                        })?;
                Ok(VersionProof {
                    version,
                    transaction,
                })
            })
            .collect()
    }

    /// A transaction with its receipt and their paths, at its block's certificate or, if its
    /// block has none, at the next certified block with the headers between.
    fn transaction_bundle(&self, record: RecordRef, id: Hash) -> Result<ProofBundle, ProofError> {
        let location = self
            .store()
            .transaction_location(&id)?
            .ok_or(ProofError::UnknownTransaction)?;
        let tip = self.store().tip()?.map_or(0, |tip| tip.height);
        let last = tip.min(location.height + CHECKPOINT_SEARCH_HEIGHTS_MAX);
        let mut headers = Vec::new();
        let mut checkpoint = None;
        for height in location.height..=last {
            if let Some(certified) = self.certified(height)? {
                checkpoint = Some(certified);
                break;
            }
            headers.push(
                self.store()
                    .header(height)?
                    .ok_or_else(|| StorageError::Corrupt(format!("header {height} missing")))?,
            );
        }
        let checkpoint = checkpoint.ok_or(ProofError::Uncertified(location.height))?;
        let mut proof = self.transaction_proof(location, headers)?;
        if matches!(record, RecordRef::Receipt(_)) {
            proof.transaction = None;
        }
        Ok(ProofBundle {
            format_version: BUNDLE_FORMAT_VERSION,
            chain_id: checkpoint.header.chain_id,
            record,
            checkpoint,
            state: Vec::new(),
            versions: Vec::new(),
            transaction: Some(proof),
        })
    }

    /// The transaction at `location` with its receipt and their Merkle paths.
    fn transaction_proof(
        &self,
        location: crate::state::TransactionLocation,
        headers: Vec<BlockHeader>,
    ) -> Result<TransactionProof, ProofError> {
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
        Ok(TransactionProof {
            headers,
            transaction: Some(
                block
                    .transactions
                    .into_iter()
                    .nth(index)
                    .ok_or_else(corrupt)?,
            ),
            receipt: receipts.get(index).ok_or_else(corrupt)?.clone(),
            transaction_path: merkle::prove(&leaves, index).ok_or_else(corrupt)?,
            receipt_path: merkle::prove(&receipt_leaves, index).ok_or_else(corrupt)?,
        })
    }
}

/// The store's tree with the one value a proof needs, read by its state key.
struct ValueByKey<'a> {
    store: &'a StoreReader,
    key_hash: jmt::KeyHash,
    value: Option<Vec<u8>>,
}

impl TreeReader for ValueByKey<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        self.store.get_node_option(node_key)
    }

    fn get_value_option(
        &self,
        _max_version: jmt::Version,
        key_hash: jmt::KeyHash,
    ) -> anyhow::Result<Option<jmt::OwnedValue>> {
        if key_hash != self.key_hash {
            anyhow::bail!("only the proved key's value is at hand");
        }
        Ok(self.value.clone())
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        anyhow::bail!("not needed for proofs")
    }
}
