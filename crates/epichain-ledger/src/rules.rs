//! Who may do what: the role table, and why a transaction is rejected.

use epichain_core::encoding::Hash;
use epichain_core::{CaseChange, CaseStatus, DiseaseCode, PublicKey, RegionCode, Role};

/// An action a transaction asks for, for the role table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Report a new case.
    ReportCase,
    /// Record a clinical diagnosis.
    DiagnoseClinically,
    /// Record a laboratory confirmation.
    ConfirmByLab,
    /// Exclude a case.
    ExcludeCase,
    /// Record an outcome.
    RecordOutcome,
    /// Close a case record.
    CloseCase,
    /// Replace a case's sealed details.
    AmendCase,
    /// Revoke another identity or a CA.
    RevokeOther,
    /// Submit a governance proposal.
    Govern,
}

impl Action {
    /// Human-readable verb phrase.
    pub fn describe(self) -> &'static str {
        match self {
            Action::ReportCase => "report cases",
            Action::DiagnoseClinically => "record clinical diagnoses",
            Action::ConfirmByLab => "confirm cases by laboratory test",
            Action::ExcludeCase => "exclude cases",
            Action::RecordOutcome => "record outcomes",
            Action::CloseCase => "close case records",
            Action::AmendCase => "amend case details",
            Action::RevokeOther => "revoke other identities",
            Action::Govern => "submit governance proposals",
        }
    }

    /// The action an update performs.
    pub fn for_change(change: &CaseChange) -> Action {
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
}

/// The role table: doctors and hospitals report, diagnose, record outcomes and amend; labs
/// confirm; authorities exclude, close, revoke and govern.
pub fn role_may(role: Role, action: Action) -> bool {
    use Action::*;
    match action {
        ReportCase | DiagnoseClinically | RecordOutcome | AmendCase => {
            matches!(role, Role::Doctor | Role::Hospital)
        }
        ConfirmByLab => role == Role::Lab,
        ExcludeCase | CloseCase | RevokeOther | Govern => role == Role::Authority,
    }
}

/// Why the ledger rejected a transaction. The code is stable; the message is for people. Both are
/// deterministic, since they are committed in receipts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Chain id mismatch.
    #[error("transaction is for chain {found}, not this chain {expected}")]
    WrongChain {
        /// This chain.
        expected: Hash,
        /// The transaction's.
        found: Hash,
    },
    /// Signature fails.
    #[error("signature does not verify")]
    BadSignature,
    /// Signer never enrolled.
    #[error("signer {0} is not enrolled")]
    UnknownSigner(PublicKey),
    /// Signer revoked.
    #[error("signer {0} is revoked")]
    RevokedSigner(PublicKey),
    /// A CA above the signer revoked.
    #[error("a certificate authority in the signer's chain ({0}) is revoked")]
    RevokedIssuer(PublicKey),
    /// Block time outside the certificate chain's validity.
    #[error("the signer's certificate chain is not valid at block time")]
    CertificateNotValid,
    /// Replay or out-of-order nonce.
    #[error("nonce {nonce} is not above the signer's last nonce {last}")]
    StaleNonce {
        /// Offered.
        nonce: u64,
        /// Last used.
        last: u64,
    },
    /// Role table says no.
    #[error("a {role} may not {}", action.describe())]
    RoleNotPermitted {
        /// Signer's role.
        role: Role,
        /// What was asked.
        action: Action,
    },
    /// Region outside the signer's region.
    #[error("region {region} is outside the signer's jurisdiction {jurisdiction}")]
    OutsideJurisdiction {
        /// Target region.
        region: RegionCode,
        /// Signer's region.
        jurisdiction: RegionCode,
    },
    /// Enrolment certificate rejected.
    #[error("certificate rejected: {0}")]
    Certificate(String),
    /// Unknown or retired disease.
    #[error("unknown disease {0}")]
    UnknownDisease(DiseaseCode),
    /// Retired disease.
    #[error("disease {0} is retired from the catalogue")]
    RetiredDisease(DiseaseCode),
    /// Unknown region.
    #[error("unknown region {0}")]
    UnknownRegion(RegionCode),
    /// Report fields inconsistent.
    #[error("invalid report: {0}")]
    InvalidReport(String),
    /// Patient key not an enrolled patient.
    #[error("patient key {0} is not an enrolled patient")]
    UnknownPatient(PublicKey),
    /// No such case.
    #[error("unknown case {0}")]
    UnknownCase(Hash),
    /// Update does not name the current head.
    #[error("update replaces version {found}, but the case's current version is {expected}")]
    StaleVersion {
        /// Current head.
        expected: Hash,
        /// Named by the update.
        found: Hash,
    },
    /// Not a forward step.
    #[error("a {from} case cannot become {to}")]
    InvalidTransition {
        /// Current.
        from: CaseStatus,
        /// Requested.
        to: CaseStatus,
    },
    /// Update on an excluded case that only makes sense for open ones.
    #[error("case is excluded")]
    CaseExcluded,
    /// Closed record.
    #[error("case record is closed")]
    CaseClosed,
    /// Revocation target unknown.
    #[error("key {0} is neither an enrolled identity nor a known certificate authority")]
    UnknownKey(PublicKey),
    /// Already revoked.
    #[error("key {0} is already revoked")]
    AlreadyRevoked(PublicKey),
    /// Governance proposal rejected.
    #[error("governance proposal rejected: {0}")]
    Governance(String),
    /// No such signal.
    #[error("unknown signal {0}")]
    UnknownSignal(Hash),
    /// A workflow step is not allowed now or by this signer.
    #[error("workflow step rejected: {0}")]
    Workflow(String),
    /// An escrow key-generation message is not acceptable.
    #[error("escrow message rejected: {0}")]
    Escrow(String),
    /// Sealed details that the jurisdiction or the escrow could not open.
    #[error("sealed details rejected: {0}")]
    Sealed(String),
    /// Decryption shares or a grant change are not acceptable.
    #[error("disclosure rejected: {0}")]
    Disclosure(String),
}

impl Rejection {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::WrongChain { .. } => "wrong_chain",
            Rejection::BadSignature => "bad_signature",
            Rejection::UnknownSigner(_) => "unknown_signer",
            Rejection::RevokedSigner(_) => "revoked_signer",
            Rejection::RevokedIssuer(_) => "revoked_issuer",
            Rejection::CertificateNotValid => "certificate_not_valid",
            Rejection::StaleNonce { .. } => "stale_nonce",
            Rejection::RoleNotPermitted { .. } => "role_not_permitted",
            Rejection::OutsideJurisdiction { .. } => "outside_jurisdiction",
            Rejection::Certificate(_) => "certificate_rejected",
            Rejection::UnknownDisease(_) => "unknown_disease",
            Rejection::RetiredDisease(_) => "retired_disease",
            Rejection::UnknownRegion(_) => "unknown_region",
            Rejection::InvalidReport(_) => "invalid_report",
            Rejection::UnknownPatient(_) => "unknown_patient",
            Rejection::UnknownCase(_) => "unknown_case",
            Rejection::StaleVersion { .. } => "stale_version",
            Rejection::InvalidTransition { .. } => "invalid_transition",
            Rejection::CaseExcluded => "case_excluded",
            Rejection::CaseClosed => "case_closed",
            Rejection::UnknownKey(_) => "unknown_key",
            Rejection::AlreadyRevoked(_) => "already_revoked",
            Rejection::Governance(_) => "governance_rejected",
            Rejection::UnknownSignal(_) => "unknown_signal",
            Rejection::Workflow(_) => "workflow_rejected",
            Rejection::Escrow(_) => "escrow_rejected",
            Rejection::Disclosure(_) => "disclosure_rejected",
            Rejection::Sealed(_) => "sealed_details",
        }
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
    }
}
