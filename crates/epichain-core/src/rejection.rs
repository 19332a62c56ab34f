//! Why the ledger rejected a transaction, as committed in receipts.
//!
//! A receipt commits a [`Rejection`]: a stable code and typed fields (keys, regions, counts,
//! steps), never English text and never a dependency's error message, because the receipts root
//! is in every header: a reworded message or a library upgrade must not fork the chain. People
//! read the rendering of [`Rejection`]'s `Display` at the edges (API, CLI), which may change
//! freely; programs match on [`Rejection::code`] or on the value itself.
//!
//! Encoding stability: these are Borsh enums, whose variant index is the first byte. New variants
//! go at the end of their enum; the tests below pin the variant indices.

use crate::encoding::Hash;
use crate::warning::Step;
use crate::{CaseStatus, DiseaseCode, Level, PublicKey, RegionCode, Role};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An action a transaction asks for, named in role refusals.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
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
    /// Read (and log reading) sealed case details.
    ReadDetails,
    /// Fetch whole finalized blocks to keep a full copy (a node, not a transaction).
    FollowChain,
    /// Ask a CDC to evaluate blinded identity numbers into pseudonyms.
    RequestPseudonyms,
    /// Publish a pseudonym scope's key and evaluate its requests.
    EvaluatePseudonyms,
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
            Action::ReadDetails => "read sealed case details",
            Action::FollowChain => "fetch whole blocks to keep a full copy",
            Action::RequestPseudonyms => "ask for patient pseudonyms",
            Action::EvaluatePseudonyms => "publish pseudonym keys and evaluate requests",
        }
    }
}

/// Why a transaction was rejected. Variants group by contract; the code is
/// [`Rejection::code`].
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// For another chain.
    WrongChain {
        /// This chain.
        expected: Hash,
        /// The transaction's.
        found: Hash,
    },
    /// The signature does not verify.
    BadSignature,
    /// The signer never enrolled.
    UnknownSigner(PublicKey),
    /// The signer is revoked.
    RevokedSigner(PublicKey),
    /// A CA above the signer is revoked.
    RevokedIssuer(PublicKey),
    /// Block time is outside the signer's certificate chain validity.
    CertificateNotValid,
    /// Replayed or out-of-order nonce.
    StaleNonce {
        /// Offered.
        nonce: u64,
        /// Last used.
        last: u64,
    },
    /// The role table says no.
    RoleNotPermitted {
        /// The signer's role.
        role: Role,
        /// What was asked.
        action: Action,
    },
    /// The target is outside the signer's jurisdiction.
    OutsideJurisdiction {
        /// Target region.
        region: RegionCode,
        /// The signer's region.
        jurisdiction: RegionCode,
    },
    /// An enrolment's certificate was refused.
    Certificate(CertificateProblem),
    /// Not in the catalogue.
    UnknownDisease(DiseaseCode),
    /// Retired from the catalogue.
    RetiredDisease(DiseaseCode),
    /// Not in the chain's region set.
    UnknownRegion(RegionCode),
    /// Report fields inconsistent.
    Report(ReportProblem),
    /// The patient key is not an enrolled patient.
    UnknownPatient(PublicKey),
    /// No such case.
    UnknownCase(Hash),
    /// An update does not name the current head.
    StaleVersion {
        /// Current head.
        expected: Hash,
        /// Named by the update.
        found: Hash,
    },
    /// Not a forward step of the case status.
    InvalidTransition {
        /// Current.
        from: CaseStatus,
        /// Requested.
        to: CaseStatus,
    },
    /// An outcome on an excluded case.
    CaseExcluded,
    /// The record is closed.
    CaseClosed,
    /// The revocation target is neither an identity nor a known CA.
    UnknownKey(PublicKey),
    /// Already revoked.
    AlreadyRevoked(PublicKey),
    /// A governance proposal was refused.
    Governance(GovernanceProblem),
    /// No such signal.
    UnknownSignal(Hash),
    /// A workflow step is not allowed now or by this signer.
    Workflow(WorkflowProblem),
    /// An escrow key-generation message was refused.
    Escrow(EscrowProblem),
    /// Sealed details the jurisdiction or the escrow could not open.
    Sealed(SealedProblem),
    /// Decryption shares or a grant change were refused.
    Disclosure(DisclosureProblem),
    /// An access log was refused.
    AccessLog(AccessLogProblem),
    /// A nonce that skips one: the signer's earlier transactions have not applied yet.
    NonceGap {
        /// Offered.
        nonce: u64,
        /// Last used.
        last: u64,
    },
    /// The transaction would write a state value larger than the ledger stores.
    StateValueTooLarge {
        /// Encoded size of the value.
        bytes: u64,
    },
    /// Diagnosis, outcome and replacing details are for the reporting institution: other
    /// institutions' updates may only annotate.
    NotCaseOwner,
    /// A pseudonym key, request or evaluation was refused.
    Pseudonym(PseudonymProblem),
}

/// Why an enrolment certificate was refused.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CertificateProblem {
    /// Not an epichain X.509 certificate (DER, Ed25519 key, claims extension).
    Malformed,
    /// More certificates than a chain may have.
    ChainTooLong,
    /// The X.509 path does not verify to a trusted root (issuer, signature, usage).
    PathInvalid,
    /// Outside its validity period at block time.
    Expired,
    /// Not yet valid at block time.
    NotYetValid,
    /// The path breaks the national → province → city hierarchy.
    Hierarchy,
    /// Certifies another key than the signer's.
    WrongKey,
    /// Certifies a key of small order, for which anyone can sign.
    WeakKey,
    /// A re-enrolment brings a certificate no newer than the enrolled one.
    Superseded,
    /// A patient's certificate names its holder: every enrolled certificate is public.
    PatientNamed,
}

/// Why a report or an update's fields were refused.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportProblem {
    /// A new report is suspected or clinically diagnosed.
    InitialStatus(CaseStatus),
    /// Reports go to the district, not to a region with districts.
    RegionHasDistricts(RegionCode),
    /// Onset ≤ diagnosis ≤ block day does not hold.
    DatesOutOfOrder {
        /// Onset day.
        onset_day: u32,
        /// Diagnosis day.
        diagnosis_day: u32,
        /// Block day.
        block_day: u32,
    },
    /// Age band above the largest.
    AgeBand(u8),
    /// Sealed details larger than allowed.
    SealedTooLarge {
        /// Their size.
        bytes: u32,
    },
    /// An amendment without new details.
    AmendmentWithoutDetails,
}

/// Why a governance proposal was refused.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GovernanceProblem {
    /// Only a national authority submits proposals.
    NotNational,
    /// Not the next sequence number.
    Sequence {
        /// Offered.
        found: u64,
        /// Expected.
        expected: u64,
    },
    /// Zero actions or too many.
    ActionCount(u32),
    /// More approvals than allowed.
    TooManyApprovals(u32),
    /// An approver appears twice.
    DuplicateApprover(PublicKey),
    /// An approver is not enrolled.
    ApproverNotEnrolled(PublicKey),
    /// An approver is not a national authority.
    ApproverNotNationalAuthority(PublicKey),
    /// An approver is revoked or out of validity.
    ApproverNotInGoodStanding(PublicKey),
    /// An approval signature does not verify.
    ApprovalSignature(PublicKey),
    /// Fewer approvals than the threshold.
    TooFewApprovals {
        /// Valid approvals.
        approvals: u32,
        /// Needed.
        threshold: u32,
    },
    /// A disease row whose deadline is not the statutory one.
    StatutoryDeadline {
        /// The disease.
        disease: DiseaseCode,
        /// The statutory deadline, hours.
        hours: u32,
    },
    /// Retiring a disease that is not in the catalogue.
    UnknownDisease(DiseaseCode),
    /// A region whose parent is not in the region set.
    UnknownParentRegion(RegionCode),
    /// Two regions one of which contains the other cannot be neighbours.
    AdjacencyNested {
        /// One.
        a: RegionCode,
        /// The other.
        b: RegionCode,
    },
    /// A root that is not a national CA certificate, or does not parse.
    InvalidRoot,
    /// No root certificate with this key.
    UnknownRoot(PublicKey),
    /// The last root cannot be removed.
    LastRoot,
    /// A warning rule names an unknown detection method.
    UnknownMethod(String),
    /// A warning rule's parameters do not validate for its method.
    RuleParameters {
        /// Index of the rule in the action.
        rule: u32,
        /// The problem, as detection's stable code.
        problem: String,
    },
    /// The approval threshold is zero.
    ZeroThreshold,
    /// The approver list is empty, too long or names an institution twice.
    ApproverList(u32),
    /// The threshold is not between a majority of the approver institutions and all of them.
    ThresholdOutOfRange {
        /// Asked.
        threshold: u32,
        /// Approver institutions.
        approvers: u32,
    },
    /// The approving key's institution is not an approver.
    ApproverNotListed(PublicKey),
    /// As many proposals wait out their timelock as may.
    PendingFull,
    /// No pending proposal has this sequence number.
    UnknownPending(u64),
}

/// Why a workflow step was refused.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowProblem {
    /// The signal is no longer open.
    SignalClosed,
    /// This step was taken already.
    StepTaken(Step),
    /// The sealed note is larger than allowed.
    NoteTooLong(u32),
    /// The signer's role cannot take this step.
    WrongRole {
        /// The signer's role.
        role: Role,
        /// The step.
        step: Step,
    },
    /// The signer's level is below what the step needs on this signal.
    LevelTooLow {
        /// The step.
        step: Step,
        /// The lowest level that may take it.
        needed: Level,
    },
    /// A final confirmation before the rule's required steps.
    MissingSteps(Vec<Step>),
    /// A final confirmation without its outcome.
    OutcomeMissing,
    /// An outcome on a step other than the final confirmation.
    OutcomeNotAllowed,
    /// The signer's institution took another step of this signal already: each step is taken
    /// by a distinct institution.
    SameInstitution {
        /// The step refused.
        step: Step,
        /// The step the institution took.
        took: Step,
    },
    /// A confirmed outbreak needs another institution's step first, and a confirmation above
    /// the verifying institution's level.
    SingleInstitution,
}

/// Why an escrow key-generation message was refused.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscrowProblem {
    /// The signer is not an escrow holder.
    NotHolder,
    /// The escrow key is generated already.
    KeyGenerated,
    /// This holder has dealt already.
    AlreadyDealt,
    /// The public commitment is too large or does not decode.
    BadCommitment,
    /// A dealing has exactly one share per holder.
    SharesNotOnePerHolder,
    /// A sealed share is too large.
    ShareTooLarge,
    /// No dealing from this dealer.
    NoDealing(PublicKey),
    /// The dealing is closed by its log.
    DealingClosed,
    /// This holder acknowledged already.
    AlreadyAcknowledged,
    /// The acknowledgement does not decode.
    BadAck,
    /// The log does not verify for this dealer.
    BadLog,
}

/// Why a pseudonym key, request or evaluation was refused.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PseudonymProblem {
    /// A scope's key is published by a CDC whose region is the scope's.
    NotScopeAuthority,
    /// No key is published for the scope.
    UnknownScope,
    /// The requester's region is outside the scope's.
    OutsideScope,
    /// No elements, or more than a request holds.
    BatchSize,
    /// An element is not a valid group element.
    BadElement,
    /// The institution used its daily quota of evaluations.
    QuotaExceeded {
        /// Elements per institution per day.
        limit: u32,
    },
    /// The scope's queue of unanswered requests is full.
    QueueFull,
    /// No such request.
    UnknownRequest(Hash),
    /// The request is answered already.
    AlreadyAnswered,
    /// Only the key holder that published the scope's key answers its requests.
    NotEvaluator,
    /// The answer does not have one element per request element, or its proof is malformed.
    AnswerShape,
}

/// Why sealed details were refused.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SealedProblem {
    /// Not an envelope of the known format.
    Malformed,
    /// No reader is an authority over the region with a published encryption key.
    NoJurisdictionReader(RegionCode),
    /// The escrow key exists but the envelope has no escrow wrap.
    EscrowWrapMissing,
    /// The escrow wrap has the wrong shape.
    EscrowWrapMalformed,
    /// Details replaced by someone other than the reporter must keep the reporter a reader.
    ReporterNotReader,
    /// A reader's data key is not sealed to the encryption key that reader published.
    ReaderKeyMismatch(PublicKey),
}

/// Why a disclosure (grant or decryption shares) was refused.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisclosureProblem {
    /// The signer is not an escrow holder.
    NotHolder,
    /// The escrow key is not generated yet.
    NoEscrowKey,
    /// No such grant.
    UnknownGrant(Hash),
    /// The grant is revoked.
    GrantRevoked(Hash),
    /// The grant has expired.
    GrantExpired(Hash),
    /// The grantee is not enrolled.
    GranteeNotEnrolled(PublicKey),
    /// The grantee is revoked or out of validity.
    GranteeNotInGoodStanding(PublicKey),
    /// The grantee is not in the grant's audience.
    NotInAudience {
        /// The grantee's role.
        role: Role,
        /// The grantee's region.
        region: RegionCode,
    },
    /// The grantee has published no encryption key.
    GranteeHasNoEncryptionKey,
    /// Zero records or too many in one posting.
    RecordCount(u32),
    /// Records are not in order, each once.
    RecordsOutOfOrder,
    /// The sealed shares are too large.
    SharesTooLarge,
    /// A case outside the grant's scope.
    NotCovered(Hash),
    /// A version the case does not have.
    NoSuchVersion {
        /// The case.
        case_id: Hash,
        /// The version.
        version: u32,
    },
    /// A record version already shared with this grantee by this holder.
    AlreadyShared {
        /// The case.
        case_id: Hash,
        /// The version.
        version: u32,
    },
    /// A grant whose first day is after its last.
    DaysOutOfOrder,
    /// A grant's length is out of bounds.
    GrantDays(u32),
    /// A grant request's sealed note is larger than allowed.
    NoteTooLong(u32),
}

/// Why an access log was refused.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AccessLogProblem {
    /// The signer's role never reads sealed details (only authorities, hospitals, doctors and
    /// laboratories do).
    RoleCannotRead(Role),
}

impl Rejection {
    /// Stable machine-readable code: `snake_case`, with a `contract.` prefix for the refusals a
    /// contract details.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::WrongChain { .. } => "wrong_chain",
            Rejection::BadSignature => "bad_signature",
            Rejection::UnknownSigner(_) => "unknown_signer",
            Rejection::RevokedSigner(_) => "revoked_signer",
            Rejection::RevokedIssuer(_) => "revoked_issuer",
            Rejection::CertificateNotValid => "certificate_not_valid",
            Rejection::StaleNonce { .. } => "stale_nonce",
            Rejection::NonceGap { .. } => "nonce_gap",
            Rejection::StateValueTooLarge { .. } => "state_value_too_large",
            Rejection::NotCaseOwner => "not_case_owner",
            Rejection::RoleNotPermitted { .. } => "role_not_permitted",
            Rejection::OutsideJurisdiction { .. } => "outside_jurisdiction",
            Rejection::Certificate(problem) => problem.code(),
            Rejection::UnknownDisease(_) => "unknown_disease",
            Rejection::RetiredDisease(_) => "retired_disease",
            Rejection::UnknownRegion(_) => "unknown_region",
            Rejection::Report(problem) => problem.code(),
            Rejection::UnknownPatient(_) => "unknown_patient",
            Rejection::UnknownCase(_) => "unknown_case",
            Rejection::StaleVersion { .. } => "stale_version",
            Rejection::InvalidTransition { .. } => "invalid_transition",
            Rejection::CaseExcluded => "case_excluded",
            Rejection::CaseClosed => "case_closed",
            Rejection::UnknownKey(_) => "unknown_key",
            Rejection::AlreadyRevoked(_) => "already_revoked",
            Rejection::Governance(problem) => problem.code(),
            Rejection::UnknownSignal(_) => "unknown_signal",
            Rejection::Workflow(problem) => problem.code(),
            Rejection::Escrow(problem) => problem.code(),
            Rejection::Sealed(problem) => problem.code(),
            Rejection::Disclosure(problem) => problem.code(),
            Rejection::AccessLog(problem) => problem.code(),
            Rejection::Pseudonym(problem) => problem.code(),
        }
    }
}

impl CertificateProblem {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            CertificateProblem::Malformed => "certificate.malformed",
            CertificateProblem::ChainTooLong => "certificate.chain_too_long",
            CertificateProblem::PathInvalid => "certificate.path_invalid",
            CertificateProblem::Expired => "certificate.expired",
            CertificateProblem::NotYetValid => "certificate.not_yet_valid",
            CertificateProblem::Hierarchy => "certificate.hierarchy",
            CertificateProblem::WrongKey => "certificate.wrong_key",
            CertificateProblem::WeakKey => "certificate.weak_key",
            CertificateProblem::Superseded => "certificate.superseded",
            CertificateProblem::PatientNamed => "certificate.patient_named",
        }
    }
}

impl ReportProblem {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ReportProblem::InitialStatus(_) => "report.initial_status",
            ReportProblem::RegionHasDistricts(_) => "report.region_has_districts",
            ReportProblem::DatesOutOfOrder { .. } => "report.dates_out_of_order",
            ReportProblem::AgeBand(_) => "report.age_band",
            ReportProblem::SealedTooLarge { .. } => "report.sealed_too_large",
            ReportProblem::AmendmentWithoutDetails => "report.amendment_without_details",
        }
    }
}

impl GovernanceProblem {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            GovernanceProblem::NotNational => "governance.not_national",
            GovernanceProblem::Sequence { .. } => "governance.sequence",
            GovernanceProblem::ActionCount(_) => "governance.action_count",
            GovernanceProblem::TooManyApprovals(_) => "governance.too_many_approvals",
            GovernanceProblem::DuplicateApprover(_) => "governance.duplicate_approver",
            GovernanceProblem::ApproverNotEnrolled(_) => "governance.approver_not_enrolled",
            GovernanceProblem::ApproverNotNationalAuthority(_) => {
                "governance.approver_not_national_authority"
            }
            GovernanceProblem::ApproverNotInGoodStanding(_) => {
                "governance.approver_not_in_good_standing"
            }
            GovernanceProblem::ApprovalSignature(_) => "governance.approval_signature",
            GovernanceProblem::TooFewApprovals { .. } => "governance.too_few_approvals",
            GovernanceProblem::StatutoryDeadline { .. } => "governance.statutory_deadline",
            GovernanceProblem::UnknownDisease(_) => "governance.unknown_disease",
            GovernanceProblem::UnknownParentRegion(_) => "governance.unknown_parent_region",
            GovernanceProblem::AdjacencyNested { .. } => "governance.adjacency_nested",
            GovernanceProblem::InvalidRoot => "governance.invalid_root",
            GovernanceProblem::UnknownRoot(_) => "governance.unknown_root",
            GovernanceProblem::LastRoot => "governance.last_root",
            GovernanceProblem::UnknownMethod(_) => "governance.unknown_method",
            GovernanceProblem::RuleParameters { .. } => "governance.rule_parameters",
            GovernanceProblem::ZeroThreshold => "governance.zero_threshold",
            GovernanceProblem::ApproverList(_) => "governance.approver_list",
            GovernanceProblem::ThresholdOutOfRange { .. } => "governance.threshold_out_of_range",
            GovernanceProblem::ApproverNotListed(_) => "governance.approver_not_listed",
            GovernanceProblem::PendingFull => "governance.pending_full",
            GovernanceProblem::UnknownPending(_) => "governance.unknown_pending",
        }
    }
}

impl WorkflowProblem {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            WorkflowProblem::SignalClosed => "workflow.signal_closed",
            WorkflowProblem::StepTaken(_) => "workflow.step_taken",
            WorkflowProblem::NoteTooLong(_) => "workflow.note_too_long",
            WorkflowProblem::WrongRole { .. } => "workflow.wrong_role",
            WorkflowProblem::LevelTooLow { .. } => "workflow.level_too_low",
            WorkflowProblem::MissingSteps(_) => "workflow.missing_steps",
            WorkflowProblem::OutcomeMissing => "workflow.outcome_missing",
            WorkflowProblem::OutcomeNotAllowed => "workflow.outcome_not_allowed",
            WorkflowProblem::SameInstitution { .. } => "workflow.same_institution",
            WorkflowProblem::SingleInstitution => "workflow.single_institution",
        }
    }
}

impl EscrowProblem {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            EscrowProblem::NotHolder => "escrow.not_holder",
            EscrowProblem::KeyGenerated => "escrow.key_generated",
            EscrowProblem::AlreadyDealt => "escrow.already_dealt",
            EscrowProblem::BadCommitment => "escrow.bad_commitment",
            EscrowProblem::SharesNotOnePerHolder => "escrow.shares_not_one_per_holder",
            EscrowProblem::ShareTooLarge => "escrow.share_too_large",
            EscrowProblem::NoDealing(_) => "escrow.no_dealing",
            EscrowProblem::DealingClosed => "escrow.dealing_closed",
            EscrowProblem::AlreadyAcknowledged => "escrow.already_acknowledged",
            EscrowProblem::BadAck => "escrow.bad_ack",
            EscrowProblem::BadLog => "escrow.bad_log",
        }
    }
}

impl PseudonymProblem {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            PseudonymProblem::NotScopeAuthority => "pseudonym.not_scope_authority",
            PseudonymProblem::UnknownScope => "pseudonym.unknown_scope",
            PseudonymProblem::OutsideScope => "pseudonym.outside_scope",
            PseudonymProblem::BatchSize => "pseudonym.batch_size",
            PseudonymProblem::BadElement => "pseudonym.bad_element",
            PseudonymProblem::QuotaExceeded { .. } => "pseudonym.quota_exceeded",
            PseudonymProblem::QueueFull => "pseudonym.queue_full",
            PseudonymProblem::UnknownRequest(_) => "pseudonym.unknown_request",
            PseudonymProblem::AlreadyAnswered => "pseudonym.already_answered",
            PseudonymProblem::NotEvaluator => "pseudonym.not_evaluator",
            PseudonymProblem::AnswerShape => "pseudonym.answer_shape",
        }
    }
}

impl fmt::Display for PseudonymProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PseudonymProblem::NotScopeAuthority => {
                write!(
                    f,
                    "a scope's key is published by a CDC of the scope's region"
                )
            }
            PseudonymProblem::UnknownScope => write!(f, "no key is published for this scope"),
            PseudonymProblem::OutsideScope => {
                write!(f, "the requester's region is outside the scope's")
            }
            PseudonymProblem::BatchSize => write!(
                f,
                "a request holds 1 to {} elements",
                crate::pseudonym::PSEUDONYM_BATCH_MAX
            ),
            PseudonymProblem::BadElement => write!(f, "an element is not a valid group element"),
            PseudonymProblem::QuotaExceeded { limit } => write!(
                f,
                "the institution has used its {limit} evaluations of today: more waits until tomorrow"
            ),
            PseudonymProblem::QueueFull => {
                write!(
                    f,
                    "the scope's queue of unanswered requests is full: retry later"
                )
            }
            PseudonymProblem::UnknownRequest(id) => write!(f, "no pseudonym request {id}"),
            PseudonymProblem::AlreadyAnswered => write!(f, "the request is answered already"),
            PseudonymProblem::NotEvaluator => write!(
                f,
                "only the key holder that published the scope's key answers its requests"
            ),
            PseudonymProblem::AnswerShape => write!(
                f,
                "the answer needs one element per requested element and a {}-byte proof",
                crate::pseudonym::PROOF_BYTES
            ),
        }
    }
}

impl SealedProblem {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            SealedProblem::Malformed => "sealed.malformed",
            SealedProblem::NoJurisdictionReader(_) => "sealed.no_jurisdiction_reader",
            SealedProblem::EscrowWrapMissing => "sealed.escrow_wrap_missing",
            SealedProblem::EscrowWrapMalformed => "sealed.escrow_wrap_malformed",
            SealedProblem::ReporterNotReader => "sealed.reporter_not_reader",
            SealedProblem::ReaderKeyMismatch(_) => "sealed.reader_key_mismatch",
        }
    }
}

impl DisclosureProblem {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            DisclosureProblem::NotHolder => "disclosure.not_holder",
            DisclosureProblem::NoEscrowKey => "disclosure.no_escrow_key",
            DisclosureProblem::UnknownGrant(_) => "disclosure.unknown_grant",
            DisclosureProblem::GrantRevoked(_) => "disclosure.grant_revoked",
            DisclosureProblem::GrantExpired(_) => "disclosure.grant_expired",
            DisclosureProblem::GranteeNotEnrolled(_) => "disclosure.grantee_not_enrolled",
            DisclosureProblem::GranteeNotInGoodStanding(_) => {
                "disclosure.grantee_not_in_good_standing"
            }
            DisclosureProblem::NotInAudience { .. } => "disclosure.not_in_audience",
            DisclosureProblem::GranteeHasNoEncryptionKey => {
                "disclosure.grantee_has_no_encryption_key"
            }
            DisclosureProblem::RecordCount(_) => "disclosure.record_count",
            DisclosureProblem::RecordsOutOfOrder => "disclosure.records_out_of_order",
            DisclosureProblem::SharesTooLarge => "disclosure.shares_too_large",
            DisclosureProblem::NotCovered(_) => "disclosure.not_covered",
            DisclosureProblem::NoSuchVersion { .. } => "disclosure.no_such_version",
            DisclosureProblem::AlreadyShared { .. } => "disclosure.already_shared",
            DisclosureProblem::DaysOutOfOrder => "disclosure.days_out_of_order",
            DisclosureProblem::GrantDays(_) => "disclosure.grant_days",
            DisclosureProblem::NoteTooLong(_) => "disclosure.note_too_long",
        }
    }
}

impl AccessLogProblem {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            AccessLogProblem::RoleCannotRead(_) => "access_log.role_cannot_read",
        }
    }
}

/// Problems that are rejections of their own kind.
macro_rules! rejection_from {
    ($($problem:ident => $variant:ident),* $(,)?) => {
        $(impl From<$problem> for Rejection {
            fn from(problem: $problem) -> Self {
                Rejection::$variant(problem)
            }
        })*
    };
}

rejection_from!(
    CertificateProblem => Certificate,
    ReportProblem => Report,
    GovernanceProblem => Governance,
    WorkflowProblem => Workflow,
    EscrowProblem => Escrow,
    SealedProblem => Sealed,
    DisclosureProblem => Disclosure,
    AccessLogProblem => AccessLog,
    PseudonymProblem => Pseudonym,
);

impl std::error::Error for Rejection {}

impl fmt::Display for Rejection {
    #[allow(clippy::too_many_lines)] // One arm per rejection.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::WrongChain { expected, found } => {
                write!(
                    f,
                    "transaction is for chain {found}, not this chain {expected}"
                )
            }
            Rejection::BadSignature => write!(f, "signature does not verify"),
            Rejection::UnknownSigner(key) => write!(f, "signer {key} is not enrolled"),
            Rejection::RevokedSigner(key) => write!(f, "signer {key} is revoked"),
            Rejection::RevokedIssuer(key) => write!(
                f,
                "a certificate authority in the signer's chain ({key}) is revoked"
            ),
            Rejection::CertificateNotValid => write!(
                f,
                "the signer's certificate chain is not valid at block time"
            ),
            Rejection::StaleNonce { nonce, last } => {
                write!(
                    f,
                    "nonce {nonce} is not above the signer's last nonce {last}"
                )
            }
            Rejection::StateValueTooLarge { bytes } => write!(
                f,
                "the transaction would write a state value of {bytes} bytes, over the limit"
            ),
            Rejection::NonceGap { nonce, last } => write!(
                f,
                "nonce {nonce} skips ahead of the signer's last nonce {last}: the next is {}",
                last.saturating_add(1)
            ),
            Rejection::RoleNotPermitted { role, action } => {
                write!(f, "a {role} may not {}", action.describe())
            }
            Rejection::OutsideJurisdiction {
                region,
                jurisdiction,
            } => write!(
                f,
                "region {region} is outside the signer's jurisdiction {jurisdiction}"
            ),
            Rejection::Certificate(problem) => write!(f, "certificate rejected: {problem}"),
            Rejection::UnknownDisease(code) => write!(f, "unknown disease {code}"),
            Rejection::RetiredDisease(code) => {
                write!(f, "disease {code} is retired from the catalogue")
            }
            Rejection::UnknownRegion(region) => write!(f, "unknown region {region}"),
            Rejection::Report(problem) => write!(f, "invalid report: {problem}"),
            Rejection::UnknownPatient(key) => {
                write!(f, "patient key {key} is not an enrolled patient")
            }
            Rejection::UnknownCase(id) => write!(f, "unknown case {id}"),
            Rejection::StaleVersion { expected, found } => write!(
                f,
                "update replaces version {found}, but the case's current version is {expected}"
            ),
            Rejection::InvalidTransition { from, to } => {
                write!(f, "a {from} case cannot become {to}")
            }
            Rejection::CaseExcluded => write!(f, "case is excluded"),
            Rejection::CaseClosed => write!(f, "case record is closed"),
            Rejection::UnknownKey(key) => write!(
                f,
                "key {key} is neither an enrolled identity nor a known certificate authority"
            ),
            Rejection::AlreadyRevoked(key) => write!(f, "key {key} is already revoked"),
            Rejection::Governance(problem) => {
                write!(f, "governance proposal rejected: {problem}")
            }
            Rejection::UnknownSignal(id) => write!(f, "unknown signal {id}"),
            Rejection::Workflow(problem) => write!(f, "workflow step rejected: {problem}"),
            Rejection::Escrow(problem) => write!(f, "escrow message rejected: {problem}"),
            Rejection::Sealed(problem) => write!(f, "sealed details rejected: {problem}"),
            Rejection::Disclosure(problem) => write!(f, "disclosure rejected: {problem}"),
            Rejection::AccessLog(problem) => write!(f, "access log rejected: {problem}"),
            Rejection::Pseudonym(problem) => write!(f, "pseudonym message rejected: {problem}"),
            Rejection::NotCaseOwner => write!(
                f,
                "only the reporting institution may diagnose, record an outcome or replace the details of this case; other institutions annotate"
            ),
        }
    }
}

impl fmt::Display for CertificateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CertificateProblem::Malformed => {
                "not an epichain certificate (X.509 DER with an Ed25519 key and the claims extension)"
            }
            CertificateProblem::ChainTooLong => "the chain has more certificates than allowed",
            CertificateProblem::PathInvalid => {
                "the certificate path does not verify to a trusted root"
            }
            CertificateProblem::Expired => "a certificate in the chain has expired",
            CertificateProblem::NotYetValid => "a certificate in the chain is not valid yet",
            CertificateProblem::Hierarchy => {
                "the chain breaks the national → province → city hierarchy"
            }
            CertificateProblem::WrongKey => "the certificate is for another key than the signer's",
            CertificateProblem::WeakKey => {
                "the certificate is for a key of small order, for which anyone can sign"
            }
            CertificateProblem::Superseded => {
                "the key is enrolled with a certificate at least as new: re-enrol with a newer one"
            }
            CertificateProblem::PatientNamed => {
                "a patient's certificate must carry no name: enrolled certificates are public"
            }
        })
    }
}

impl fmt::Display for ReportProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportProblem::InitialStatus(status) => write!(
                f,
                "a new report is suspected or clinically-diagnosed, not {status}"
            ),
            ReportProblem::RegionHasDistricts(region) => {
                write!(f, "region {region} has districts: report in the district")
            }
            ReportProblem::DatesOutOfOrder {
                onset_day,
                diagnosis_day,
                block_day,
            } => write!(
                f,
                "dates must satisfy onset ({}) ≤ diagnosis ({}) ≤ block day ({})",
                crate::Day(*onset_day),
                crate::Day(*diagnosis_day),
                crate::Day(*block_day)
            ),
            ReportProblem::AgeBand(band) => {
                write!(f, "age band {band} exceeds {}", crate::case::AGE_BAND_MAX)
            }
            ReportProblem::SealedTooLarge { bytes } => write!(
                f,
                "sealed details of {bytes} bytes exceed {}",
                crate::case::SEALED_BYTES_MAX
            ),
            ReportProblem::AmendmentWithoutDetails => {
                write!(f, "an amendment must carry new sealed details")
            }
        }
    }
}

impl fmt::Display for GovernanceProblem {
    #[allow(clippy::too_many_lines)] // One arm per governance problem.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GovernanceProblem::NotNational => {
                write!(f, "only a national authority can submit proposals")
            }
            GovernanceProblem::Sequence { found, expected } => write!(
                f,
                "proposal sequence {found} is not the next sequence {expected}"
            ),
            GovernanceProblem::ActionCount(count) => write!(
                f,
                "a proposal has 1 to {} actions, not {count}",
                crate::governance::PROPOSAL_ACTIONS_MAX
            ),
            GovernanceProblem::TooManyApprovals(count) => write!(
                f,
                "{count} approvals exceed {}",
                crate::governance::APPROVALS_MAX
            ),
            GovernanceProblem::DuplicateApprover(key) => {
                write!(f, "approver {key} appears twice")
            }
            GovernanceProblem::ApproverNotEnrolled(key) => {
                write!(f, "approver {key} is not enrolled")
            }
            GovernanceProblem::ApproverNotNationalAuthority(key) => {
                write!(f, "approver {key} is not a national authority")
            }
            GovernanceProblem::ApproverNotInGoodStanding(key) => write!(
                f,
                "approver {key} is revoked or outside its certificate's validity"
            ),
            GovernanceProblem::ApprovalSignature(key) => {
                write!(f, "approval by {key} does not verify")
            }
            GovernanceProblem::TooFewApprovals {
                approvals,
                threshold,
            } => write!(f, "{approvals} approvals, {threshold} required"),
            GovernanceProblem::StatutoryDeadline { disease, hours } => write!(
                f,
                "disease {disease}: reporting deadline must be the statutory {hours} h"
            ),
            GovernanceProblem::UnknownDisease(code) => {
                write!(f, "disease {code} is not in the catalogue")
            }
            GovernanceProblem::UnknownParentRegion(region) => {
                write!(f, "the parent of region {region} is not in the region set")
            }
            GovernanceProblem::AdjacencyNested { a, b } => write!(
                f,
                "{a} and {b}: neighbours must be two regions neither of which contains the other"
            ),
            GovernanceProblem::InvalidRoot => {
                write!(f, "a root must be a national CA certificate")
            }
            GovernanceProblem::UnknownRoot(key) => {
                write!(f, "no root certificate with key {key}")
            }
            GovernanceProblem::LastRoot => {
                write!(f, "the last root certificate cannot be removed")
            }
            GovernanceProblem::UnknownMethod(method) => {
                write!(f, "unknown detection method {method:?}")
            }
            GovernanceProblem::RuleParameters { rule, problem } => {
                write!(
                    f,
                    "warning rule {rule}: parameters do not validate ({problem})"
                )
            }
            GovernanceProblem::ZeroThreshold => {
                write!(f, "the approval threshold must be at least 1")
            }
            GovernanceProblem::ApproverList(count) => write!(
                f,
                "the approvers must be 1 to {} distinct institutions ({count} given)",
                crate::governance::APPROVERS_MAX
            ),
            GovernanceProblem::ThresholdOutOfRange {
                threshold,
                approvers,
            } => write!(
                f,
                "a threshold of {threshold} is not between a majority of the {approvers} approver institutions and all of them"
            ),
            GovernanceProblem::ApproverNotListed(key) => {
                write!(f, "approver {key} does not act for an approver institution")
            }
            GovernanceProblem::PendingFull => write!(
                f,
                "{} approved proposals already wait out their timelock",
                crate::governance::PENDING_PROPOSALS_MAX
            ),
            GovernanceProblem::UnknownPending(sequence) => {
                write!(f, "no approved proposal {sequence} waits out its timelock")
            }
        }
    }
}

impl fmt::Display for WorkflowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkflowProblem::SignalClosed => write!(f, "the signal is already closed"),
            WorkflowProblem::StepTaken(step) => write!(f, "step {step} was already taken"),
            WorkflowProblem::NoteTooLong(bytes) => write!(
                f,
                "a sealed note of {bytes} bytes exceeds {}",
                crate::warning::STEP_NOTE_SEALED_BYTES_MAX
            ),
            WorkflowProblem::WrongRole { role, step } => {
                write!(f, "a {role} cannot take the step {step}")
            }
            WorkflowProblem::LevelTooLow { step, needed } => write!(
                f,
                "the step {step} on this signal needs a {needed} or higher institution"
            ),
            WorkflowProblem::MissingSteps(steps) => {
                let names: Vec<&str> = steps.iter().map(|step| step.name()).collect();
                write!(f, "final confirmation needs first: {}", names.join(", "))
            }
            WorkflowProblem::OutcomeMissing => {
                write!(f, "a final confirmation names its outcome")
            }
            WorkflowProblem::OutcomeNotAllowed => {
                write!(f, "only a final confirmation carries an outcome")
            }
            WorkflowProblem::SameInstitution { step, took } => write!(
                f,
                "your institution took {took} on this signal: {step} must be another institution's"
            ),
            WorkflowProblem::SingleInstitution => write!(
                f,
                "confirming an outbreak needs another institution's step first, verified below the confirmer's level"
            ),
        }
    }
}

impl fmt::Display for EscrowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EscrowProblem::NotHolder => write!(f, "the signer is not an escrow holder"),
            EscrowProblem::KeyGenerated => write!(f, "the escrow key is already generated"),
            EscrowProblem::AlreadyDealt => write!(f, "this holder has already dealt"),
            EscrowProblem::BadCommitment => {
                write!(f, "the commitment is too large or does not decode")
            }
            EscrowProblem::SharesNotOnePerHolder => {
                write!(f, "a dealing has exactly one share per holder")
            }
            EscrowProblem::ShareTooLarge => write!(f, "a sealed share is too large"),
            EscrowProblem::NoDealing(dealer) => write!(f, "no dealing from {dealer}"),
            EscrowProblem::DealingClosed => write!(f, "the dealing is closed"),
            EscrowProblem::AlreadyAcknowledged => write!(f, "already acknowledged"),
            EscrowProblem::BadAck => write!(f, "the acknowledgement does not decode"),
            EscrowProblem::BadLog => write!(f, "the log does not verify for this dealer"),
        }
    }
}

impl fmt::Display for SealedProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealedProblem::Malformed => write!(f, "not an envelope of the known format"),
            SealedProblem::NoJurisdictionReader(region) => write!(
                f,
                "no reader is an authority over {region} with a published encryption key: the jurisdiction could not read them"
            ),
            SealedProblem::EscrowWrapMissing => write!(
                f,
                "the escrow key exists: wrap the data key to it too, or no disclosure grant can reach these details"
            ),
            SealedProblem::EscrowWrapMalformed => write!(f, "the escrow wrap is malformed"),
            SealedProblem::ReporterNotReader => write!(
                f,
                "replaced details must stay readable by the case's reporter: seal them to it too"
            ),
            SealedProblem::ReaderKeyMismatch(reader) => write!(
                f,
                "reader {reader} is not sealed to the encryption key it published on chain (publish it first, or the key came from a node that lies)"
            ),
        }
    }
}

impl fmt::Display for DisclosureProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisclosureProblem::NotHolder => write!(f, "the signer is not an escrow holder"),
            DisclosureProblem::NoEscrowKey => write!(f, "the escrow key is not generated yet"),
            DisclosureProblem::UnknownGrant(id) => write!(f, "unknown grant {id}"),
            DisclosureProblem::GrantRevoked(id) => write!(f, "grant {id} is revoked"),
            DisclosureProblem::GrantExpired(id) => write!(f, "grant {id} has expired"),
            DisclosureProblem::GranteeNotEnrolled(key) => {
                write!(f, "grantee {key} is not enrolled")
            }
            DisclosureProblem::GranteeNotInGoodStanding(key) => write!(
                f,
                "grantee {key} is revoked or outside its certificate's validity"
            ),
            DisclosureProblem::NotInAudience { role, region } => {
                write!(f, "a {role} in {region} is not a grantee of this grant")
            }
            DisclosureProblem::GranteeHasNoEncryptionKey => {
                write!(f, "the grantee has published no encryption key")
            }
            DisclosureProblem::RecordCount(count) => write!(
                f,
                "1 to {} records per posting, not {count}",
                crate::disclosure::SHARED_RECORDS_MAX
            ),
            DisclosureProblem::RecordsOutOfOrder => {
                write!(f, "records are listed in order, each once")
            }
            DisclosureProblem::SharesTooLarge => write!(f, "sealed shares too large"),
            DisclosureProblem::NotCovered(case) => {
                write!(f, "case {case} is not covered by the grant")
            }
            DisclosureProblem::NoSuchVersion { case_id, version } => {
                write!(f, "case {case_id} has no version {version}")
            }
            DisclosureProblem::AlreadyShared { case_id, version } => write!(
                f,
                "case {case_id} version {version} was already shared with this grantee"
            ),
            DisclosureProblem::DaysOutOfOrder => {
                write!(f, "a grant's first day is after its last day")
            }
            DisclosureProblem::GrantDays(days) => {
                write!(f, "a grant of {days} days is out of bounds")
            }
            DisclosureProblem::NoteTooLong(bytes) => write!(
                f,
                "a sealed note of {bytes} bytes exceeds {}",
                crate::disclosure::GRANT_NOTE_SEALED_BYTES_MAX
            ),
        }
    }
}

impl fmt::Display for AccessLogProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessLogProblem::RoleCannotRead(role) => write!(
                f,
                "a {role} never reads sealed case details, so it logs no access"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding;

    /// Receipts commit these bytes: a variant's index is its first byte, so variants may only be
    /// added at the end. This pins the index of every top-level variant and of a sub-problem.
    #[test]
    #[allow(clippy::too_many_lines)] // One arm per disclosure problem.
    fn encodings_are_pinned() {
        let key = PublicKey([1; 32]);
        let hash = Hash([2; 32]);
        let region = RegionCode::NATIONAL;
        let samples: Vec<(Rejection, u8)> = vec![
            (
                Rejection::WrongChain {
                    expected: hash,
                    found: hash,
                },
                0,
            ),
            (Rejection::BadSignature, 1),
            (Rejection::UnknownSigner(key), 2),
            (Rejection::RevokedSigner(key), 3),
            (Rejection::RevokedIssuer(key), 4),
            (Rejection::CertificateNotValid, 5),
            (Rejection::StaleNonce { nonce: 1, last: 2 }, 6),
            (
                Rejection::RoleNotPermitted {
                    role: Role::Lab,
                    action: Action::Govern,
                },
                7,
            ),
            (
                Rejection::OutsideJurisdiction {
                    region,
                    jurisdiction: region,
                },
                8,
            ),
            (CertificateProblem::WrongKey.into(), 9),
            (
                Rejection::UnknownDisease(crate::DiseaseCode::new("X").expect("code")),
                10,
            ),
            (
                Rejection::RetiredDisease(crate::DiseaseCode::new("X").expect("code")),
                11,
            ),
            (Rejection::UnknownRegion(region), 12),
            (ReportProblem::AgeBand(30).into(), 13),
            (Rejection::UnknownPatient(key), 14),
            (Rejection::UnknownCase(hash), 15),
            (
                Rejection::StaleVersion {
                    expected: hash,
                    found: hash,
                },
                16,
            ),
            (
                Rejection::InvalidTransition {
                    from: CaseStatus::Excluded,
                    to: CaseStatus::Suspected,
                },
                17,
            ),
            (Rejection::CaseExcluded, 18),
            (Rejection::CaseClosed, 19),
            (Rejection::UnknownKey(key), 20),
            (Rejection::AlreadyRevoked(key), 21),
            (GovernanceProblem::ZeroThreshold.into(), 22),
            (Rejection::UnknownSignal(hash), 23),
            (WorkflowProblem::SignalClosed.into(), 24),
            (EscrowProblem::BadLog.into(), 25),
            (SealedProblem::Malformed.into(), 26),
            (DisclosureProblem::NotHolder.into(), 27),
            (AccessLogProblem::RoleCannotRead(Role::Patient).into(), 28),
            (Rejection::NonceGap { nonce: 3, last: 1 }, 29),
            (Rejection::StateValueTooLarge { bytes: 1 }, 30),
        ];
        for (rejection, index) in &samples {
            assert_eq!(encoding::encode(rejection)[0], *index, "{rejection:?}");
        }
        // Sub-problems too: the second byte.
        assert_eq!(
            encoding::encode(&Rejection::from(CertificateProblem::WrongKey))[1],
            6
        );
        assert_eq!(
            encoding::encode(&Rejection::from(GovernanceProblem::ZeroThreshold))[1],
            19
        );
        assert_eq!(
            encoding::encode(&Rejection::from(WorkflowProblem::OutcomeNotAllowed))[1],
            7
        );
        assert_eq!(
            encoding::encode(&Rejection::from(EscrowProblem::BadLog))[1],
            10
        );
        assert_eq!(
            encoding::encode(&Rejection::from(SealedProblem::EscrowWrapMalformed))[1],
            3
        );
        assert_eq!(
            encoding::encode(&Rejection::from(DisclosureProblem::NoteTooLong(1)))[1],
            17
        );
    }
}
