//! Events: what applied transactions and the end-of-block contracts did, for indexes and
//! subscribers. Events are not hashed into the header; receipts and state are.

use crate::state::TransactionLocation;
use epichain_core::encoding::Hash;
use epichain_core::{CaseStatus, Day, DiseaseCode, PatientRef, PublicKey, RegionCode, Role};
use serde::Serialize;

/// Something that happened, for contracts, indexes and subscribers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event {
    /// A key enrolled (or renewed its certificate).
    IdentityEnrolled {
        /// Key.
        key: PublicKey,
        /// Role.
        role: Role,
        /// Region.
        region: RegionCode,
    },
    /// A key was revoked.
    KeyRevoked {
        /// Key.
        key: PublicKey,
        /// By whom.
        by: PublicKey,
    },
    /// A case was reported.
    CaseReported {
        /// Case.
        case_id: Hash,
        /// Disease.
        disease: DiseaseCode,
        /// Region.
        region: RegionCode,
        /// Onset day.
        onset_day: Day,
        /// The day it reached the chain (block time): what grants and report-basis counts use.
        report_day: Day,
        /// Patient key or pseudonym.
        patient: PatientRef,
        /// Initial status.
        status: CaseStatus,
        /// Where the report is stored.
        location: TransactionLocation,
    },
    /// A case changed.
    CaseUpdated {
        /// Case.
        case_id: Hash,
        /// New version number.
        version: u32,
        /// Status before.
        from: CaseStatus,
        /// Status after.
        to: CaseStatus,
    },
    /// A governance proposal applied.
    GovernanceApplied {
        /// Its sequence number.
        sequence: u64,
    },
    /// An approved proposal with a timelocked action waits until `due_time_ms`.
    GovernanceScheduled {
        /// Its sequence number.
        sequence: u64,
        /// When it applies, Unix milliseconds.
        due_time_ms: u64,
    },
    /// A pending proposal was cancelled by another, or no longer applied when due.
    GovernanceDropped {
        /// Its sequence number.
        sequence: u64,
        /// Why, if it failed when due (none if cancelled).
        rejection: Option<epichain_core::Rejection>,
    },
    /// An identity published its encryption key.
    EncryptionKeyPublished {
        /// Identity.
        key: PublicKey,
    },
    /// An identity recorded that it reads a case's sealed details.
    AccessLogged {
        /// Case.
        case_id: Hash,
        /// Reader.
        reader: PublicKey,
        /// Purpose.
        purpose: epichain_core::transaction::AccessPurpose,
        /// Where the log is stored (two logs of one reader in one block are two entries).
        location: TransactionLocation,
    },
    /// A warning rule raised a new signal.
    SignalOpened {
        /// Signal id.
        signal: Hash,
        /// Disease.
        disease: DiseaseCode,
        /// Region of the series.
        region: RegionCode,
        /// Method.
        method: String,
    },
    /// A warning rule could not evaluate a series (a model that cannot be fitted, counts it
    /// cannot use); detection's stable code says why.
    WarningNotEvaluated {
        /// Disease.
        disease: DiseaseCode,
        /// Region of the series.
        region: RegionCode,
        /// Method.
        method: String,
        /// Detection's code.
        problem: String,
    },
    /// A committed warning rule no longer parses (a detection release refuses it) and was not
    /// run this block.
    WarningRuleSkipped {
        /// Method.
        method: String,
        /// Detection's code.
        problem: String,
    },
    /// A workflow step was taken on a signal.
    SignalStepTaken {
        /// Signal id.
        signal: Hash,
        /// The step.
        step: epichain_core::warning::Step,
    },
    /// The escrow key was generated.
    EscrowKeyGenerated {
        /// Partial decryptions needed.
        threshold: u32,
        /// Holders.
        holders: u32,
        /// Holders whose shares were revealed (they did not acknowledge a dealing).
        revealed: u32,
    },
    /// A disclosure grant opened.
    GrantOpened {
        /// Grant id.
        grant: Hash,
        /// Disease.
        disease: DiseaseCode,
        /// Outbreak region.
        region: RegionCode,
    },
    /// A disclosure grant was revoked.
    GrantRevoked {
        /// Grant id.
        grant: Hash,
    },
    /// An escrow holder posted sealed decryption shares for a grantee.
    DecryptionSharesPosted {
        /// Grant id.
        grant: Hash,
        /// Grantee.
        grantee: PublicKey,
        /// Holder.
        holder: PublicKey,
        /// Records covered.
        records: u32,
    },
}
