//! Blocks, headers and receipts.
//!
//! A header commits to the previous header, the block's transactions, the receipts of executing
//! them and the state root after executing them.

use crate::encoding::{self, DecodeError, Hash, hash_value, tag};
use crate::merkle;
use crate::rejection::Rejection;
use crate::transaction::SignedTransaction;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Version of the header format.
pub const HEADER_FORMAT_VERSION: u16 = 1;

/// Most transactions in one block.
pub const BLOCK_TRANSACTIONS_MAX: usize = 10_000;

/// Largest encoded block.
pub const BLOCK_BYTES_MAX: usize = 32 * 1024 * 1024;

/// A block header.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct BlockHeader {
    /// [`HEADER_FORMAT_VERSION`].
    pub format_version: u16,
    /// Chain id (genesis hash).
    pub chain_id: Hash,
    /// Height; the first block after genesis is 1.
    pub height: u64,
    /// Block time, Unix milliseconds: the only clock the state machine reads.
    pub time_ms: u64,
    /// Hash of the previous header (the chain id for height 1).
    pub parent: Hash,
    /// Merkle root of the transaction ids.
    pub transactions_root: Hash,
    /// Merkle root of the receipts.
    pub receipts_root: Hash,
    /// Root of the authenticated state after this block.
    pub state_root: Hash,
    /// Number of transactions.
    pub transaction_count: u32,
}

impl BlockHeader {
    /// Hash of the header: the block's id.
    pub fn hash(&self) -> Hash {
        hash_value(tag::BLOCK_HEADER, self)
    }
}

/// A block: header and transactions.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Block {
    /// Header.
    pub header: BlockHeader,
    /// Transactions in execution order.
    pub transactions: Vec<SignedTransaction>,
}

impl Block {
    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encoding::encode(self)
    }

    /// Decodes untrusted bytes, bounded by [`BLOCK_BYTES_MAX`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        encoding::decode_bounded(bytes, BLOCK_BYTES_MAX)
    }
}

/// Merkle root over transaction ids.
pub fn transactions_root(transactions: &[SignedTransaction]) -> Hash {
    let ids: Vec<Hash> = transactions.iter().map(SignedTransaction::id).collect();
    transactions_root_of_ids(&ids)
}

/// Merkle root over already computed transaction ids.
pub fn transactions_root_of_ids(ids: &[Hash]) -> Hash {
    let leaves: Vec<Hash> = ids.iter().map(|id| merkle::leaf_hash(&id.0)).collect();
    merkle::root(&leaves)
}

/// The result of executing one transaction.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Receipt {
    /// The transaction.
    pub transaction_id: Hash,
    /// What happened.
    pub outcome: TransactionOutcome,
}

/// Applied, or rejected with a typed reason (a stable code and structured fields: no text).
///
/// JSON: `{"status": "applied"}` or `{"status": "rejected", "code": "stale_nonce", "message":
/// "…", "rejection": {…}}`, where `message` is rendered for people when serialized and ignored
/// when read back.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(into = "OutcomeView", try_from = "OutcomeView")]
pub enum TransactionOutcome {
    /// State changed as the transaction asked.
    Applied,
    /// Nothing changed.
    Rejected(Rejection),
}

impl TransactionOutcome {
    /// The rejection, if rejected.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            TransactionOutcome::Applied => None,
            TransactionOutcome::Rejected(rejection) => Some(rejection),
        }
    }

    /// The rejection's stable code, if rejected.
    pub fn code(&self) -> Option<&'static str> {
        self.rejection().map(Rejection::code)
    }
}

/// The JSON shape of a [`TransactionOutcome`].
#[derive(Clone, Debug, Serialize, Deserialize)]
struct OutcomeView {
    status: OutcomeStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rejection: Option<Rejection>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OutcomeStatus {
    Applied,
    Rejected,
}

impl From<TransactionOutcome> for OutcomeView {
    fn from(outcome: TransactionOutcome) -> Self {
        match outcome {
            TransactionOutcome::Applied => OutcomeView {
                status: OutcomeStatus::Applied,
                code: None,
                message: None,
                rejection: None,
            },
            TransactionOutcome::Rejected(rejection) => OutcomeView {
                status: OutcomeStatus::Rejected,
                code: Some(rejection.code().to_string()),
                message: Some(rejection.to_string()),
                rejection: Some(rejection),
            },
        }
    }
}

impl TryFrom<OutcomeView> for TransactionOutcome {
    type Error = &'static str;

    fn try_from(view: OutcomeView) -> Result<Self, Self::Error> {
        match (view.status, view.rejection) {
            (OutcomeStatus::Applied, _) => Ok(TransactionOutcome::Applied),
            (OutcomeStatus::Rejected, Some(rejection)) => {
                Ok(TransactionOutcome::Rejected(rejection))
            }
            (OutcomeStatus::Rejected, None) => Err("a rejected outcome names its rejection"),
        }
    }
}

impl Receipt {
    /// Leaf hash of this receipt in the receipts tree.
    pub fn leaf_hash(&self) -> Hash {
        merkle::leaf_hash(&encoding::encode(self))
    }
}

/// Merkle root over receipts.
pub fn receipts_root(receipts: &[Receipt]) -> Hash {
    let leaves: Vec<Hash> = receipts.iter().map(Receipt::leaf_hash).collect();
    merkle::root(&leaves)
}
