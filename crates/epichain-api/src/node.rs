//! The node itself: its status and its finalized blocks.

use epichain_core::{BlockHeader, Hash, PublicKey, Receipt};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// Votes in consensus.
    Validator,
    /// Follows finalized blocks.
    Replica,
}

/// Node status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeStatus {
    /// Node name.
    pub name: String,
    /// Validator or replica.
    pub role: NodeRole,
    /// Chain id (genesis hash).
    #[schema(value_type = String)]
    pub chain_id: Hash,
    /// Chain name.
    pub chain_name: String,
    /// Latest committed height.
    pub height: u64,
    /// Hash of the latest header.
    #[schema(value_type = String)]
    pub tip_hash: Hash,
    /// State root after it.
    #[schema(value_type = String)]
    pub state_root: Hash,
    /// Its block time, Unix milliseconds.
    pub time_ms: u64,
    /// Validator keys from genesis.
    #[schema(value_type = Vec<String>)]
    pub validators: Vec<PublicKey>,
    /// Connected peers (validators) or reachable upstreams (replicas).
    pub peers: usize,
    /// Pending transactions.
    pub mempool_transactions: usize,
}

/// A block with its receipts and finality certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockView {
    /// Header hash.
    #[schema(value_type = String)]
    pub hash: Hash,
    /// The header.
    #[schema(value_type = Object)]
    pub header: BlockHeader,
    /// Transaction ids in order.
    #[schema(value_type = Vec<String>)]
    pub transactions: Vec<Hash>,
    /// Receipts in order.
    #[schema(value_type = Vec<Object>)]
    pub receipts: Vec<Receipt>,
    /// Finality certificate (hex), checkable with the genesis validators; absent when the block
    /// was finalized through a descendant's certificate.
    pub certificate: Option<String>,
}
