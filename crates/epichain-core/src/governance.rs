//! Governance: changes to genesis-level configuration (catalogue, regions and adjacency, root CAs,
//! the approval threshold), each approved by k of the enrolled national authorities.

use crate::disease::{Disease, DiseaseCode};
use crate::encoding::{Hash, signing_bytes, tag};
use crate::keys::{KeyPair, PublicKey, Signature};
use crate::region::{RegionCode, RegionInfo};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Most actions in one proposal.
pub const PROPOSAL_ACTIONS_MAX: usize = 256;

/// Most approvals on one proposal.
pub const APPROVALS_MAX: usize = 64;

/// One configuration change.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum GovernanceAction {
    /// Add a disease to the catalogue or replace its entry.
    UpsertDisease(Disease),
    /// Retire a disease: history stays, no new reports.
    RetireDisease(DiseaseCode),
    /// Add a region or rename one.
    UpsertRegion(RegionInfo),
    /// Set or clear the neighbour relation between two regions.
    SetAdjacency {
        /// One region.
        a: RegionCode,
        /// The other.
        b: RegionCode,
        /// Whether they are neighbours.
        adjacent: bool,
    },
    /// Trust a new root CA certificate (DER).
    AddRootCertificate(#[serde(with = "crate::encoding::hex_bytes")] Vec<u8>),
    /// Stop trusting the root CA with this key for new enrolments.
    RemoveRootCertificate(PublicKey),
    /// Change the number of national-authority approvals a proposal needs.
    SetApprovalThreshold(u16),
    /// Replace the early-warning rules.
    SetWarningRules(Vec<crate::warning::WarningRule>),
    /// Open sealed records to the neighbouring regions (as a confirmed outbreak does).
    GrantDisclosure(crate::disclosure::GrantRequest),
    /// Close a disclosure grant: no further decryption shares are accepted for it.
    RevokeGrant(Hash),
}

/// A proposal: a sequence number (exactly one more than the last applied proposal, so approvals
/// cannot be replayed) and its actions, applied all or nothing.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct GovernanceProposal {
    /// Must be the chain's last governance sequence + 1.
    pub sequence: u64,
    /// Changes, applied in order.
    pub actions: Vec<GovernanceAction>,
}

impl GovernanceProposal {
    /// The bytes a national authority signs to approve this proposal on one chain.
    pub fn approval_bytes(&self, chain_id: &Hash) -> Vec<u8> {
        signing_bytes(tag::GOVERNANCE_APPROVAL, &(chain_id, self))
    }

    /// An approval by `key`.
    pub fn approve(&self, chain_id: &Hash, key: &KeyPair) -> Approval {
        Approval {
            approver: key.public_key(),
            signature: key.sign(&self.approval_bytes(chain_id)),
        }
    }
}

/// One national authority's signature on a proposal.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Approval {
    /// The approving authority.
    pub approver: PublicKey,
    /// Signature over [`GovernanceProposal::approval_bytes`].
    pub signature: Signature,
}

/// The governance transaction payload: a proposal with its approvals.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Governance {
    /// What changes.
    pub proposal: GovernanceProposal,
    /// Who approved it.
    pub approvals: Vec<Approval>,
}
