//! The governance contract.
//!
//! - A national authority submits a proposal with the next sequence number and 1 to
//!   `PROPOSAL_ACTIONS_MAX` actions, approved by at least the threshold of distinct approver
//!   institutions (listed in genesis, changed only by governance), each approval a signature over
//!   the proposal and the chain id by a national authority in good standing acting for one.
//!   Several keys of one institution count once (review H7).
//! - The threshold lies between a majority of the approver institutions and all of them.
//! - Actions change the configuration (catalogue, regions, adjacency, roots, warning rules, the
//!   approvers and threshold), revoke any key (review H6: national authorities, CAs, validators'
//!   identities, keys never enrolled), open and revoke disclosure grants, or cancel a pending
//!   proposal. All actions apply or none does.
//! - A proposal changing the approvers, the threshold or the roots is checked when approved and
//!   applies `GOVERNANCE_TIMELOCK_MS` later, at the start of the first block at or after its due
//!   time (dropped with its rejection if it no longer applies), unless cancelled before.
//! - Removing a root revokes it, so everything issued under it stops standing.
//! - Disease rows keep the statutory reporting deadline; the last root cannot be removed; a
//!   warning rule must name a known method whose parameters validate.

use super::{Event, Exec, Executor, Halt};
use crate::StorageError;
use crate::rules::{Action, require_role};
use crate::state::{
    ChainConfig, IdentityRecord, PendingProposal, STATE_VALUE_BYTES_MAX, StateRead,
};
use epichain_core::cert;
use epichain_core::governance::{
    APPROVALS_MAX, GOVERNANCE_TIMELOCK_MS, PENDING_PROPOSALS_MAX, PROPOSAL_ACTIONS_MAX,
    approver_institution, check_approvers,
};
use epichain_core::region::RegionError;
use epichain_core::rejection::GovernanceProblem;
use epichain_core::transaction::RevocationReason;
use epichain_core::warning::WarningRule;
use epichain_core::{
    Disease, Governance, GovernanceAction, GovernanceProposal, PublicKey, RegionCode, Rejection,
    Role,
};
use std::collections::BTreeSet;
use std::sync::Arc;

impl<S: StateRead> Executor<'_, S> {
    pub(super) fn govern(&mut self, signer: &IdentityRecord, governance: &Governance) -> Exec<()> {
        require_role(signer.role, Action::Govern)?;
        if signer.region != RegionCode::NATIONAL {
            return Err(GovernanceProblem::NotNational.into());
        }
        let proposal = &governance.proposal;
        let expected = self.config.governance_sequence + 1;
        if proposal.sequence != expected {
            return Err(GovernanceProblem::Sequence {
                found: proposal.sequence,
                expected,
            }
            .into());
        }
        if proposal.actions.is_empty() || proposal.actions.len() > PROPOSAL_ACTIONS_MAX {
            return Err(GovernanceProblem::ActionCount(proposal.actions.len() as u32).into());
        }
        self.check_approvals(governance)?;
        if proposal.actions.iter().any(GovernanceAction::is_timelocked) {
            return self.schedule(signer.key, proposal);
        }
        self.apply_proposal(signer.key, proposal.sequence, &proposal.actions)
    }

    /// Applies a proposal's actions, all or none: the configuration's, then the state's.
    fn apply_proposal(
        &mut self,
        submitter: PublicKey,
        sequence: u64,
        actions: &[GovernanceAction],
    ) -> Exec<()> {
        let mut config = ChainConfig::clone(&self.config);
        for action in actions {
            apply_governance_action(&mut config, action)?;
        }
        config.governance_sequence = config.governance_sequence.max(sequence);
        check_config_size(&config)?;
        let previous = std::mem::replace(&mut self.config, Arc::new(config));
        // Grants and revocations are state, not configuration: made under the new configuration.
        if let Err(halt) = self.apply_state_actions(submitter, sequence, actions) {
            self.config = previous;
            return Err(halt);
        }
        self.config_changed = true;
        self.pending_events
            .push(Event::GovernanceApplied { sequence });
        Ok(())
    }

    /// Records an approved proposal with a timelocked action; it applies when due (checked now
    /// against the current configuration, and again then).
    fn schedule(&mut self, submitter: PublicKey, proposal: &GovernanceProposal) -> Exec<()> {
        let mut trial = ChainConfig::clone(&self.config);
        for action in &proposal.actions {
            apply_governance_action(&mut trial, action)?;
        }
        if self.config.pending_governance.len() >= PENDING_PROPOSALS_MAX {
            return Err(GovernanceProblem::PendingFull.into());
        }
        let due_time_ms = self.context.time_ms.saturating_add(GOVERNANCE_TIMELOCK_MS);
        let mut config = ChainConfig::clone(&self.config);
        config.governance_sequence = proposal.sequence;
        config.pending_governance.push(PendingProposal {
            sequence: proposal.sequence,
            actions: proposal.actions.clone(),
            submitter,
            approved_height: self.context.height,
            due_time_ms,
        });
        check_config_size(&config)?;
        self.config = Arc::new(config);
        self.config_changed = true;
        self.pending_events.push(Event::GovernanceScheduled {
            sequence: proposal.sequence,
            due_time_ms,
        });
        Ok(())
    }

    /// Applies the pending proposals due at this block's time, in sequence order, before its
    /// transactions. One that no longer applies is dropped with its rejection.
    pub(super) fn apply_due_governance(&mut self) -> Result<(), StorageError> {
        let now = self.context.time_ms;
        while let Some(due) = self
            .config
            .pending_governance
            .iter()
            .find(|pending| pending.due_time_ms <= now)
            .cloned()
        {
            let mut config = ChainConfig::clone(&self.config);
            config
                .pending_governance
                .retain(|pending| pending.sequence != due.sequence);
            self.config = Arc::new(config);
            self.config_changed = true;
            match self.apply_proposal(due.submitter, due.sequence, &due.actions) {
                Ok(()) => {
                    self.output.events.append(&mut self.pending_events);
                    self.commit_own_writes();
                }
                Err(Halt::Reject(rejection) | Halt::Refuse(rejection)) => {
                    self.discard_pending();
                    self.output.events.push(Event::GovernanceDropped {
                        sequence: due.sequence,
                        rejection: Some(rejection),
                    });
                }
                Err(Halt::Abort(error)) => return Err(error),
            }
        }
        Ok(())
    }

    fn apply_state_actions(
        &mut self,
        submitter: PublicKey,
        sequence: u64,
        actions: &[GovernanceAction],
    ) -> Exec<()> {
        for (index, action) in actions.iter().enumerate() {
            match action {
                GovernanceAction::GrantDisclosure(request) => {
                    self.open_governance_grant(sequence, index as u32, request)?;
                }
                GovernanceAction::RevokeGrant(grant) => self.revoke_grant(grant)?,
                GovernanceAction::RevokeKey { key, reason } => {
                    if self.is_revoked(key)? {
                        return Err(Rejection::AlreadyRevoked(*key).into());
                    }
                    self.write_revocation(*key, submitter, *reason)?;
                }
                GovernanceAction::RemoveRootCertificate(key) => {
                    self.revoke_root(*key, submitter)?
                }
                GovernanceAction::CancelPending(cancelled) => {
                    self.pending_events.push(Event::GovernanceDropped {
                        sequence: *cancelled,
                        rejection: None,
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Revokes a root that is no longer trusted (unless revoked already): everything it issued
    /// stops standing.
    fn revoke_root(&mut self, key: PublicKey, submitter: PublicKey) -> Exec<()> {
        if self.is_revoked(&key)? {
            return Ok(());
        }
        self.write_revocation(key, submitter, RevocationReason::CaCompromise)
    }

    /// At least `approval_threshold` distinct approver institutions signed, each through a
    /// national authority in good standing that acts for it.
    fn check_approvals(&self, governance: &Governance) -> Exec<()> {
        let approvals = &governance.approvals;
        if approvals.len() > APPROVALS_MAX {
            return Err(GovernanceProblem::TooManyApprovals(approvals.len() as u32).into());
        }
        let message = governance.proposal.approval_bytes(&self.config.chain_id);
        let mut approvers = BTreeSet::new();
        let mut institutions = BTreeSet::new();
        for approval in approvals {
            let approver = approval.approver;
            if !approvers.insert(approver) {
                return Err(GovernanceProblem::DuplicateApprover(approver).into());
            }
            let Some(identity) = self.get::<IdentityRecord>(&approver)? else {
                return Err(GovernanceProblem::ApproverNotEnrolled(approver).into());
            };
            if identity.role != Role::Authority || identity.region != RegionCode::NATIONAL {
                return Err(GovernanceProblem::ApproverNotNationalAuthority(approver).into());
            }
            let listed = approver_institution(&self.config.approvers, &approver);
            if listed != Some(&identity.institution) {
                return Err(GovernanceProblem::ApproverNotListed(approver).into());
            }
            match self.check_standing(&identity) {
                Ok(()) => {}
                Err(super::Halt::Reject(_)) => {
                    return Err(GovernanceProblem::ApproverNotInGoodStanding(approver).into());
                }
                Err(abort) => return Err(abort),
            }
            if approver.verify(&message, &approval.signature).is_err() {
                return Err(GovernanceProblem::ApprovalSignature(approver).into());
            }
            institutions.insert(identity.institution);
        }
        let threshold = u32::from(self.config.approval_threshold);
        if (institutions.len() as u32) < threshold {
            return Err(GovernanceProblem::TooFewApprovals {
                approvals: institutions.len() as u32,
                threshold,
            }
            .into());
        }
        Ok(())
    }
}

/// The configuration fits in one state value.
fn check_config_size(config: &ChainConfig) -> Result<(), Rejection> {
    let bytes = epichain_core::encoding::encode(config).len();
    if bytes > STATE_VALUE_BYTES_MAX {
        return Err(Rejection::StateValueTooLarge {
            bytes: bytes as u64,
        });
    }
    Ok(())
}

/// A rule names a known method whose parameters validate (else it would never fire).
pub(crate) fn check_rule(index: usize, rule: &WarningRule) -> Result<(), GovernanceProblem> {
    match crate::warning::method_of(rule) {
        Ok(_) => Ok(()),
        Err(epichain_detect::DetectError::UnknownMethod(method)) => {
            Err(GovernanceProblem::UnknownMethod(method))
        }
        Err(error) => Err(GovernanceProblem::RuleParameters {
            rule: index as u32,
            problem: error.code(),
        }),
    }
}

/// Applies one governance action to a configuration.
#[allow(clippy::too_many_lines)] // One arm per governance action.
fn apply_governance_action(
    config: &mut ChainConfig,
    action: &GovernanceAction,
) -> Result<(), GovernanceProblem> {
    match action {
        GovernanceAction::UpsertDisease(disease) => {
            let statutory = Disease::statutory_deadline_hours(disease.class, disease.managed_as_a);
            if disease.report_deadline_hours != statutory {
                return Err(GovernanceProblem::StatutoryDeadline {
                    disease: disease.code.clone(),
                    hours: u32::from(statutory),
                });
            }
            config.catalogue.insert(disease.clone());
        }
        GovernanceAction::RetireDisease(code) => {
            config
                .catalogue
                .retire(code)
                .map_err(|_| GovernanceProblem::UnknownDisease(code.clone()))?;
        }
        GovernanceAction::UpsertRegion(region) => {
            config
                .regions
                .insert(region.clone())
                .map_err(|error| match error {
                    RegionError::Unknown(parent) => GovernanceProblem::UnknownParentRegion(parent),
                    _ => GovernanceProblem::UnknownParentRegion(region.code),
                })?;
        }
        GovernanceAction::SetAdjacency { a, b, adjacent } => {
            config
                .regions
                .set_adjacent(*a, *b, *adjacent)
                .map_err(|error| match error {
                    RegionError::Unknown(region) => GovernanceProblem::UnknownParentRegion(region),
                    _ => GovernanceProblem::AdjacencyNested { a: *a, b: *b },
                })?;
        }
        GovernanceAction::AddRootCertificate(der) => {
            let root = cert::parse_certificate(der).map_err(|_| GovernanceProblem::InvalidRoot)?;
            if !root.is_ca || root.claims.region != RegionCode::NATIONAL {
                return Err(GovernanceProblem::InvalidRoot);
            }
            if !config.root_certificates.contains(der) {
                config.root_certificates.push(der.clone());
            }
        }
        GovernanceAction::RemoveRootCertificate(key) => {
            let before = config.root_certificates.len();
            config
                .root_certificates
                .retain(|der| cert::parse_certificate(der).map_or(true, |root| root.key != *key));
            if config.root_certificates.len() == before {
                return Err(GovernanceProblem::UnknownRoot(*key));
            }
            if config.root_certificates.is_empty() {
                return Err(GovernanceProblem::LastRoot);
            }
        }
        GovernanceAction::GrantDisclosure(_) | GovernanceAction::RevokeGrant(_) => {}
        GovernanceAction::SetWarningRules(rules) => {
            for (index, rule) in rules.iter().enumerate() {
                check_rule(index, rule)?;
            }
            config.warning_rules = rules.clone();
        }
        GovernanceAction::SetApprovalThreshold(threshold) => {
            if *threshold == 0 {
                return Err(GovernanceProblem::ZeroThreshold);
            }
            check_approvers(&config.approvers, *threshold)?;
            config.approval_threshold = *threshold;
        }
        GovernanceAction::SetApprovers {
            approvers,
            threshold,
        } => {
            check_approvers(approvers, *threshold)?;
            config.approvers = approvers.clone();
            config.approval_threshold = *threshold;
        }
        GovernanceAction::CancelPending(sequence) => {
            let before = config.pending_governance.len();
            config
                .pending_governance
                .retain(|pending| pending.sequence != *sequence);
            if config.pending_governance.len() == before {
                return Err(GovernanceProblem::UnknownPending(*sequence));
            }
        }
        GovernanceAction::RevokeKey { .. } => {}
    }
    Ok(())
}
