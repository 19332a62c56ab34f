//! Governance: who approves, how many approvals a proposal needs, and the approved proposals
//! waiting out their timelock.

use epichain_core::{GovernanceAction, Institution, PublicKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The chain's governance as it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GovernanceView {
    /// Sequence number of the last approved proposal: the next must carry this + 1.
    pub sequence: u64,
    /// Approver institutions a proposal needs.
    pub approval_threshold: u16,
    /// The approver institutions and their approving keys.
    pub approvers: Vec<ApproverView>,
    /// Approved proposals waiting out their timelock, in sequence order.
    pub pending: Vec<PendingView>,
}

/// One approver institution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApproverView {
    /// The institution.
    #[schema(value_type = String, pattern = "^[A-Za-z0-9.-]{1,64}$")]
    pub institution: Institution,
    /// Its approving keys.
    #[schema(value_type = Vec<String>)]
    pub keys: Vec<PublicKey>,
}

/// An approved proposal with a timelocked action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PendingView {
    /// Its sequence number.
    pub sequence: u64,
    /// Its actions (`{"kind": …, "value": …}`), applied all or none when due.
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<GovernanceAction>,
    /// The national authority that submitted it.
    #[schema(value_type = String)]
    pub submitter: PublicKey,
    /// Height of approval.
    pub approved_height: u64,
    /// It applies in the first block at or after this time, Unix milliseconds.
    pub due_time_ms: u64,
}
