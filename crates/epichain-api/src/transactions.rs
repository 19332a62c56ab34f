//! Submitting transactions and asking where they stand.

use epichain_core::{Hash, TransactionOutcome};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A transaction to submit, hex-encoded canonical bytes.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmitRequest {
    /// Hex of the signed transaction's canonical (Borsh) bytes.
    pub transaction: String,
}

/// Where an accepted submission stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubmitStatus {
    /// In the mempool (journaled: it survives a crash of the node that accepted it).
    Pending,
    /// Already in a finalized block.
    Finalized,
}

/// The answer to an accepted submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubmitResponse {
    /// Transaction id.
    #[schema(value_type = String)]
    pub id: Hash,
    /// Pending or finalized.
    pub status: SubmitStatus,
    /// Height, when finalized.
    pub height: Option<u64>,
}

/// Many transactions, hex-encoded.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchRequest {
    /// Hex of each signed transaction's canonical bytes.
    pub transactions: Vec<String>,
}

/// What happened to one transaction of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// Accepted, in the mempool.
    Pending,
    /// Already in a finalized block.
    Finalized,
    /// Refused: see `code`.
    Refused,
}

/// One transaction's result in a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchItem {
    /// Transaction id, when accepted.
    #[schema(value_type = Option<String>)]
    pub id: Option<Hash>,
    /// Pending, finalized or refused.
    pub status: BatchStatus,
    /// Height, when finalized.
    pub height: Option<u64>,
    /// Refusal code (`mempool_full`, `stale_nonce`, …), as `POST /v1/transactions` answers it.
    pub code: Option<String>,
    /// Refusal reason.
    pub message: Option<String>,
}

/// Results in request order.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchResponse {
    /// One per submitted transaction.
    pub results: Vec<BatchItem>,
}

/// Where a transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransactionState {
    /// In a mempool, or in a block being written.
    Pending,
    /// In a finalized block, with its outcome.
    Finalized,
    /// Not known to this node.
    Unknown,
}

/// Status of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TransactionStatus {
    /// Transaction id.
    #[schema(value_type = String)]
    pub id: Hash,
    /// Pending, finalized or unknown.
    pub status: TransactionState,
    /// Height of its block, when finalized.
    pub height: Option<u64>,
    /// `{"status": "applied"}`, or `{"status": "rejected", "code", "message", "rejection"}`,
    /// when finalized.
    #[schema(value_type = Option<Object>)]
    pub outcome: Option<TransactionOutcome>,
}

impl TransactionStatus {
    /// True once finalized (applied or rejected).
    pub fn is_finalized(&self) -> bool {
        self.status == TransactionState::Finalized
    }

    /// True once finalized and applied.
    pub fn is_applied(&self) -> bool {
        matches!(self.outcome, Some(TransactionOutcome::Applied))
    }

    /// Why the transaction has not applied, for people: `None` once applied, else its
    /// rejection (`code: message`) or that it is not finalized yet.
    pub fn not_applied(&self) -> Option<String> {
        match &self.outcome {
            Some(TransactionOutcome::Applied) => None,
            Some(TransactionOutcome::Rejected(rejection)) => {
                Some(format!("{}: {rejection}", rejection.code()))
            }
            None => Some(format!("not finalized ({:?})", self.status).to_lowercase()),
        }
    }
}
