//! Who may do what: the role table and the jurisdiction rule. Why a transaction is rejected is
//! [`epichain_core::Rejection`], committed in receipts as a typed value.

pub use epichain_core::rejection::Action;
use epichain_core::{CaseChange, CaseStatus, RegionCode, Rejection, Role};

/// The action an update performs.
pub fn action_for_change(change: &CaseChange) -> Action {
    match change {
        CaseChange::Status(CaseStatus::LabConfirmed) => Action::ConfirmByLab,
        CaseChange::Status(CaseStatus::Excluded) => Action::ExcludeCase,
        CaseChange::Status(CaseStatus::Suspected | CaseStatus::ClinicallyDiagnosed) => {
            Action::DiagnoseClinically
        }
        CaseChange::Outcome(_) => Action::RecordOutcome,
        CaseChange::Close => Action::CloseCase,
        CaseChange::Amend => Action::AmendCase,
    }
}

/// The role table: doctors and hospitals report, diagnose, record outcomes and amend; labs
/// confirm; authorities exclude, close, revoke and govern; only these four roles read sealed
/// details (and log it); only CDCs and nodes fetch whole blocks, which carry every case's
/// line-level metadata (review H3).
pub fn role_may(role: Role, action: Action) -> bool {
    use Action::*;
    match action {
        ReportCase | DiagnoseClinically | RecordOutcome | AmendCase => {
            matches!(role, Role::Doctor | Role::Hospital)
        }
        ConfirmByLab => role == Role::Lab,
        ExcludeCase | CloseCase | RevokeOther | Govern => role == Role::Authority,
        ReadDetails => matches!(
            role,
            Role::Authority | Role::Hospital | Role::Doctor | Role::Lab
        ),
        FollowChain => matches!(role, Role::Authority | Role::Validator),
        RequestPseudonyms => matches!(role, Role::Doctor | Role::Hospital | Role::Lab),
        EvaluatePseudonyms => role == Role::Authority,
    }
}

/// Requires that `region` lies within `jurisdiction`.
pub fn require_within(region: RegionCode, jurisdiction: RegionCode) -> Result<(), Rejection> {
    if region.is_within(jurisdiction) {
        Ok(())
    } else {
        Err(Rejection::OutsideJurisdiction {
            region,
            jurisdiction,
        })
    }
}

/// Requires that `role` may perform `action`.
pub fn require_role(role: Role, action: Action) -> Result<(), Rejection> {
    if role_may(role, action) {
        Ok(())
    } else {
        Err(Rejection::RoleNotPermitted { role, action })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_table() {
        assert!(role_may(Role::Doctor, Action::ReportCase));
        assert!(role_may(Role::Hospital, Action::ReportCase));
        assert!(!role_may(Role::Lab, Action::ReportCase));
        assert!(!role_may(Role::Patient, Action::ReportCase));
        assert!(role_may(Role::Lab, Action::ConfirmByLab));
        assert!(!role_may(Role::Doctor, Action::ConfirmByLab));
        assert!(role_may(Role::Authority, Action::ExcludeCase));
        assert!(!role_may(Role::Hospital, Action::ExcludeCase));
        assert!(role_may(Role::Authority, Action::CloseCase));
        assert!(!role_may(Role::Validator, Action::Govern));
        assert!(role_may(Role::Validator, Action::FollowChain));
        assert!(!role_may(Role::Hospital, Action::FollowChain));
    }
}
