//! Governance: changes to genesis-level configuration (catalogue, regions and adjacency, root CAs,
//! the approvers and their threshold), revocations of any key, and disclosure grants, each
//! approved by k of the approver institutions listed in genesis with their keys (review H7:
//! approvals count institutions, not keys, so one institution running several keys cannot pass
//! a proposal alone, and only listed keys count, so the root CA cannot mint approvers). Changes
//! of the approvers, the threshold or the trusted roots wait [`GOVERNANCE_TIMELOCK_MS`] after
//! approval, during which a proposal can cancel them.

use crate::disease::{Disease, DiseaseCode};
use crate::encoding::{Hash, signing_bytes, tag};
use crate::institution::Institution;
use crate::keys::{KeyPair, PublicKey, Signature};
use crate::region::{RegionCode, RegionInfo};
use crate::rejection::GovernanceProblem;
use crate::transaction::RevocationReason;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Most actions in one proposal.
pub const PROPOSAL_ACTIONS_MAX: usize = 256;

/// Most approvals on one proposal.
pub const APPROVALS_MAX: usize = 64;

/// Most approver institutions.
pub const APPROVERS_MAX: usize = APPROVALS_MAX;

/// How long a change of the approvers, the threshold or the trusted roots waits after its
/// approval before it applies: two days, for the other institutions to notice and cancel it.
pub const GOVERNANCE_TIMELOCK_MS: u64 = 2 * 24 * 3_600_000;

/// Most approved proposals waiting out their timelock at once.
pub const PENDING_PROPOSALS_MAX: usize = 8;

/// Most keys one approver institution lists.
pub const APPROVER_KEYS_MAX: usize = 8;

/// An approver institution and the keys its approvals come from. Listing keys (not only the
/// institution's name) means that even the root CA, which could certify a new key for any
/// institution, cannot approve in an institution's name.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Approver {
    /// The institution (as its national authorities' certificates name it).
    pub institution: Institution,
    /// Its approving keys: enrolled national authorities of the institution.
    pub keys: Vec<PublicKey>,
}

/// The thresholds allowed over `approvers` institutions: a majority of them, up to all.
pub fn threshold_bounds(approvers: usize) -> (u16, u16) {
    let approvers = approvers.min(APPROVERS_MAX) as u16;
    (approvers / 2 + 1, approvers)
}

/// Checks an approver list and its threshold: 1 to [`APPROVERS_MAX`] distinct institutions, each
/// with 1 to [`APPROVER_KEYS_MAX`] keys no other lists, and a threshold within
/// [`threshold_bounds`].
pub fn check_approvers(approvers: &[Approver], threshold: u16) -> Result<(), GovernanceProblem> {
    let institutions: BTreeSet<&Institution> = approvers
        .iter()
        .map(|approver| &approver.institution)
        .collect();
    let keys: BTreeSet<&PublicKey> = approvers
        .iter()
        .flat_map(|approver| &approver.keys)
        .collect();
    let listed_keys: usize = approvers.iter().map(|approver| approver.keys.len()).sum();
    let well_formed = !approvers.is_empty()
        && approvers.len() <= APPROVERS_MAX
        && institutions.len() == approvers.len()
        && keys.len() == listed_keys
        && approvers
            .iter()
            .all(|approver| (1..=APPROVER_KEYS_MAX).contains(&approver.keys.len()));
    if !well_formed {
        return Err(GovernanceProblem::ApproverList(approvers.len() as u32));
    }
    let (lowest, highest) = threshold_bounds(approvers.len());
    if threshold < lowest || threshold > highest {
        return Err(GovernanceProblem::ThresholdOutOfRange {
            threshold: u32::from(threshold),
            approvers: approvers.len() as u32,
        });
    }
    Ok(())
}

/// The approver institution `key` approves for, if it is listed.
pub fn approver_institution<'a>(
    approvers: &'a [Approver],
    key: &PublicKey,
) -> Option<&'a Institution> {
    approvers
        .iter()
        .find(|approver| approver.keys.contains(key))
        .map(|approver| &approver.institution)
}

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
    /// Stop trusting the root CA with this key: it is revoked, and with it everything it issued.
    RemoveRootCertificate(PublicKey),
    /// Change the number of approver institutions a proposal needs (timelocked).
    SetApprovalThreshold(u16),
    /// Replace the early-warning rules.
    SetWarningRules(Vec<crate::warning::WarningRule>),
    /// Open sealed records to the neighbouring regions (as a confirmed outbreak does).
    GrantDisclosure(crate::disclosure::GrantRequest),
    /// Close a disclosure grant: no further decryption shares are accepted for it.
    RevokeGrant(Hash),
    /// Replace the approver institutions and the threshold (timelocked).
    SetApprovers {
        /// The institutions that approve proposals, with their approving keys.
        approvers: Vec<Approver>,
        /// Approvals needed: a majority of `approvers` up to all of them.
        threshold: u16,
    },
    /// Revoke any key: an identity at any level (national authorities and validators
    /// included), or a certificate authority, enrolled or not (a leaked key can be revoked
    /// before it is used). Final, as every revocation.
    RevokeKey {
        /// The key.
        key: PublicKey,
        /// Why.
        reason: RevocationReason,
    },
    /// Cancel an approved proposal still waiting out its timelock, by its sequence number.
    CancelPending(u64),
}

impl GovernanceAction {
    /// True for the changes that wait [`GOVERNANCE_TIMELOCK_MS`]: who approves, how many, and
    /// which roots are trusted.
    pub fn is_timelocked(&self) -> bool {
        matches!(
            self,
            GovernanceAction::AddRootCertificate(_)
                | GovernanceAction::RemoveRootCertificate(_)
                | GovernanceAction::SetApprovalThreshold(_)
                | GovernanceAction::SetApprovers { .. }
        )
    }
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
