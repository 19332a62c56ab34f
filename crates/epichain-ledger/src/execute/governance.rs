//! The governance contract.
//!
//! - A national authority submits a proposal with the next sequence number and 1 to
//!   `PROPOSAL_ACTIONS_MAX` actions, approved by at least the threshold of distinct national
//!   authorities in good standing, each approval a signature over the proposal and the chain id.
//! - Actions change the configuration (catalogue, regions, adjacency, roots, warning rules, the
//!   threshold) or open and revoke disclosure grants. All actions apply or none does.
//! - Disease rows keep the statutory reporting deadline; the last root cannot be removed; a
//!   warning rule must name a known method whose parameters validate.

use super::{Event, Exec, Executor};
use crate::rules::{Action, require_role};
use crate::state::{ChainConfig, IdentityRecord, STATE_VALUE_BYTES_MAX, StateRead};
use epichain_core::cert;
use epichain_core::governance::{APPROVALS_MAX, PROPOSAL_ACTIONS_MAX};
use epichain_core::region::RegionError;
use epichain_core::rejection::GovernanceProblem;
use epichain_core::warning::WarningRule;
use epichain_core::{Disease, Governance, GovernanceAction, RegionCode, Rejection, Role};
use std::collections::BTreeSet;

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
        let mut config = ChainConfig::clone(&self.config);
        for action in &proposal.actions {
            apply_governance_action(&mut config, action)?;
        }
        config.governance_sequence = proposal.sequence;
        let bytes = epichain_core::encoding::encode(&config).len();
        if bytes > STATE_VALUE_BYTES_MAX {
            return Err(Rejection::StateValueTooLarge {
                bytes: bytes as u64,
            }
            .into());
        }
        let previous = std::mem::replace(&mut self.config, std::sync::Arc::new(config));
        // Grants are state, not configuration: opened and revoked under the new configuration.
        if let Err(halt) = self.apply_grant_actions(governance) {
            self.config = previous;
            return Err(halt);
        }
        self.config_changed = true;
        self.pending_events.push(Event::GovernanceApplied {
            sequence: proposal.sequence,
        });
        Ok(())
    }

    fn apply_grant_actions(&mut self, governance: &Governance) -> Exec<()> {
        let sequence = governance.proposal.sequence;
        for (index, action) in governance.proposal.actions.iter().enumerate() {
            match action {
                GovernanceAction::GrantDisclosure(request) => {
                    self.open_governance_grant(sequence, index as u32, request)?;
                }
                GovernanceAction::RevokeGrant(grant) => self.revoke_grant(grant)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// At least `approval_threshold` distinct national authorities in good standing signed.
    fn check_approvals(&self, governance: &Governance) -> Exec<()> {
        let approvals = &governance.approvals;
        if approvals.len() > APPROVALS_MAX {
            return Err(GovernanceProblem::TooManyApprovals(approvals.len() as u32).into());
        }
        let message = governance.proposal.approval_bytes(&self.config.chain_id);
        let mut approvers = BTreeSet::new();
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
        }
        let threshold = u32::from(self.config.approval_threshold);
        if (approvers.len() as u32) < threshold {
            return Err(GovernanceProblem::TooFewApprovals {
                approvals: approvers.len() as u32,
                threshold,
            }
            .into());
        }
        Ok(())
    }
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
            config.approval_threshold = *threshold;
        }
    }
    Ok(())
}
