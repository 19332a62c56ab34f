//! Case records, their verifiable version history, and the audited reads of their details.

use epichain_core::transaction::AccessPurpose;
use epichain_core::{
    CaseChange, CaseReport, CaseStatus, Day, DiseaseCode, Hash, Outcome, PatientRef, PublicKey,
    RegionCode, Sex,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Most versions of a case's history in one answer.
pub const HISTORY_PAGE_MAX: u32 = 256;

/// Most access logs in one answer.
pub const ACCESS_LOGS_PAGE_MAX: usize = 1_000;

/// Diagnostic and clinical state of a case after a version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseStateView {
    /// Status (`suspected`, `clinical`, `confirmed`, `excluded`, …).
    #[schema(value_type = String)]
    pub status: CaseStatus,
    /// Outcome, once known.
    #[schema(value_type = Option<String>)]
    pub outcome: Option<Outcome>,
    /// Closed records take no further updates.
    pub closed: bool,
}

/// Where a transaction is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Location {
    /// Block height.
    pub height: u64,
    /// Index in the block.
    pub index: u32,
}

/// Sealed details as the state commits them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DetailsRefView {
    /// Hash of the sealed bytes.
    #[schema(value_type = String)]
    pub hash: Hash,
    /// The transaction that carries them.
    pub location: Location,
}

/// The head of a case record: public metadata, current state and latest sealed details.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseRecordView {
    /// Case id.
    #[schema(value_type = String)]
    pub case_id: Hash,
    /// Disease.
    #[schema(value_type = String)]
    pub disease: DiseaseCode,
    /// Region of report.
    #[schema(value_type = String)]
    pub region: RegionCode,
    /// Patient key or pseudonym.
    #[schema(value_type = Object)]
    pub patient: PatientRef,
    /// Onset date.
    #[schema(value_type = String)]
    pub onset_day: Day,
    /// Diagnosis date.
    #[schema(value_type = String)]
    pub diagnosis_day: Day,
    /// Report date (CST day of the reporting block).
    #[schema(value_type = String)]
    pub report_day: Day,
    /// Age band.
    pub age_band: u8,
    /// Sex.
    #[schema(value_type = String)]
    pub sex: Sex,
    /// Reporter's key.
    #[schema(value_type = String)]
    pub reporter: PublicKey,
    /// Current state.
    pub state: CaseStateView,
    /// Latest sealed details, if any version carried some.
    pub details: Option<DetailsRefView>,
    /// Number of the latest version (the report is version 0).
    pub version: u32,
    /// Hash of the latest version.
    #[schema(value_type = String)]
    pub head: Hash,
    /// Where the latest version is stored.
    pub head_location: Location,
    /// Latest sealed details (ciphertext, hex; empty if none).
    pub sealed: String,
}

/// What a version did: its transaction's payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum VersionChange {
    /// The original report.
    Report {
        /// The report.
        #[schema(value_type = Object)]
        #[serde(flatten)]
        report: CaseReport,
    },
    /// An update and the sealed details it carried.
    Update {
        /// The change.
        #[schema(value_type = Object)]
        change: CaseChange,
        /// Sealed details (hex; empty if unchanged).
        sealed: String,
    },
}

/// One version of a case record with the change its transaction made. Versions form a hash
/// chain: each names the hash of the one it replaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VersionView {
    /// Case id.
    #[schema(value_type = String)]
    pub case_id: Hash,
    /// Version number (0 for the report).
    pub version: u32,
    /// Hash of the previous version (zeros for the report).
    #[schema(value_type = String)]
    pub replaces: Hash,
    /// Where the previous version is stored (none for the report).
    pub previous: Option<Location>,
    /// Transaction that made it.
    #[schema(value_type = String)]
    pub transaction_id: Hash,
    /// Where that transaction is stored.
    pub location: Location,
    /// Its signer.
    #[schema(value_type = String)]
    pub signer: PublicKey,
    /// Block time, Unix milliseconds.
    pub time_ms: u64,
    /// Hash of the sealed details it carried, if any.
    #[schema(value_type = Option<String>)]
    pub details: Option<Hash>,
    /// State after this version.
    pub state: CaseStateView,
    /// Its change.
    pub change: VersionChange,
}

/// A case record and one page of its version history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseAnswer {
    /// The record's head.
    pub record: CaseRecordView,
    /// Versions from `from_version`, oldest first, at most [`HISTORY_PAGE_MAX`].
    pub history: Vec<VersionView>,
    /// The `from_version` of the next page, if there is one.
    pub next_version: Option<u32>,
}

/// Which page of a case's history.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
pub struct HistoryQuery {
    /// First version (default 0; `next_version` names the next page's).
    pub from_version: Option<u32>,
}

/// One audited read of a case's sealed details.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccessLogView {
    /// Height of the block that recorded it.
    pub height: u64,
    /// Who read.
    #[schema(value_type = String)]
    pub reader: PublicKey,
    /// Block time, Unix milliseconds.
    pub time_ms: u64,
    /// Stated purpose (a code: `case-investigation`, `contact-tracing`, `outbreak-response`,
    /// `clinical-care`, `laboratory-follow-up`, `audit`).
    #[schema(value_type = String)]
    pub purpose: AccessPurpose,
}

/// Which access logs to return.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
pub struct AccessQuery {
    /// From this height (default 0; the `Link` header names the next page's).
    pub from_height: Option<u64>,
}
