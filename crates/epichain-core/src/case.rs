//! Case reports and their updates: the public metadata that counting and warning need, plus an
//! opaque sealed payload for identifying and clinical details.

use crate::calendar::Day;
use crate::disease::DiseaseCode;
use crate::encoding::{Hash, hash_tagged_parts, hex_bytes, tag};
use crate::keys::PublicKey;
use crate::region::RegionCode;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest sealed payload (ciphertext of identifying and clinical details) in one transaction.
pub const SEALED_BYTES_MAX: usize = 32 * 1024;

/// Highest five-year age band: band 20 is "100 years and over".
pub const AGE_BAND_MAX: u8 = 20;

/// Diagnostic status of a case. Cases move suspected → clinically diagnosed → lab-confirmed, and
/// any open case can be excluded.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[borsh(use_discriminant = true)]
pub enum CaseStatus {
    /// Suspected case (疑似病例).
    Suspected = 0,
    /// Clinically diagnosed case (临床诊断病例).
    ClinicallyDiagnosed = 1,
    /// Laboratory-confirmed case (确诊病例).
    LabConfirmed = 2,
    /// Excluded (排除病例): no longer counted.
    Excluded = 3,
}

impl CaseStatus {
    /// Every status.
    pub const ALL: [CaseStatus; 4] = [
        CaseStatus::Suspected,
        CaseStatus::ClinicallyDiagnosed,
        CaseStatus::LabConfirmed,
        CaseStatus::Excluded,
    ];

    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            CaseStatus::Suspected => "suspected",
            CaseStatus::ClinicallyDiagnosed => "clinically-diagnosed",
            CaseStatus::LabConfirmed => "lab-confirmed",
            CaseStatus::Excluded => "excluded",
        }
    }

    /// True if the transition from `self` to `next` is a diagnostic step forward or an exclusion.
    pub fn can_become(self, next: CaseStatus) -> bool {
        use CaseStatus::*;
        matches!(
            (self, next),
            (Suspected, ClinicallyDiagnosed)
                | (Suspected, LabConfirmed)
                | (ClinicallyDiagnosed, LabConfirmed)
                | (Suspected | ClinicallyDiagnosed | LabConfirmed, Excluded)
        )
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for CaseStatus {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        CaseStatus::ALL
            .into_iter()
            .find(|status| status.name() == text)
            .ok_or_else(|| {
                format!(
                    "unknown case status {text:?} (expected suspected, clinically-diagnosed, lab-confirmed or excluded)"
                )
            })
    }
}

/// Clinical outcome of a case.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Recovered or cured.
    Recovered,
    /// Died.
    Died,
    /// Transferred to another institution.
    Transferred,
    /// Lost to follow-up.
    LostToFollowUp,
}

impl std::str::FromStr for Outcome {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "recovered" => Ok(Outcome::Recovered),
            "died" => Ok(Outcome::Died),
            "transferred" => Ok(Outcome::Transferred),
            "lost-to-follow-up" => Ok(Outcome::LostToFollowUp),
            _ => Err(format!(
                "unknown outcome {text:?} (expected recovered, died, transferred or lost-to-follow-up)"
            )),
        }
    }
}

/// Sex as recorded on the report card.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Sex {
    /// Male.
    Male,
    /// Female.
    Female,
    /// Not recorded.
    Unknown,
}

impl std::str::FromStr for Sex {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "male" | "m" => Ok(Sex::Male),
            "female" | "f" => Ok(Sex::Female),
            "unknown" | "u" => Ok(Sex::Unknown),
            _ => Err(format!(
                "unknown sex {text:?} (expected male, female or unknown)"
            )),
        }
    }
}

/// Who the patient is, without naming them: their own key if they hold one, otherwise a keyed
/// pseudonym that every reporting site derives the same way from the national ID.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum PatientRef {
    /// The patient's enrolled public key.
    Key(PublicKey),
    /// The patient's pseudonym in the reporting jurisdiction's scope: the CDC's oblivious PRF
    /// of the normalised identity document number (`crate::pseudonym`).
    Pseudonym(Hash),
}

/// A new case, as a sentinel hospital or doctor reports it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CaseReport {
    /// Notifiable disease.
    pub disease: DiseaseCode,
    /// District (or city without districts) where the case is reported.
    pub region: RegionCode,
    /// Initial status: suspected or clinically diagnosed (confirmation is a lab's step).
    pub status: CaseStatus,
    /// The patient, by key or pseudonym.
    pub patient: PatientRef,
    /// Date of symptom onset.
    pub onset_day: Day,
    /// Date of diagnosis.
    pub diagnosis_day: Day,
    /// Five-year age band (0 = 0–4 years, …, 20 = 100+).
    pub age_band: u8,
    /// Sex.
    pub sex: Sex,
    /// Sealed identifying and clinical details (ciphertext; empty if none).
    #[serde(with = "hex_bytes")]
    pub sealed: Vec<u8>,
}

/// What an update changes.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum CaseChange {
    /// New diagnostic status.
    Status(CaseStatus),
    /// Clinical outcome.
    Outcome(Outcome),
    /// Close the record: no further updates.
    Close,
    /// Replace the sealed details only.
    Amend,
}

/// An update to a case record, naming the version it replaces.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CaseUpdate {
    /// The case.
    pub case_id: Hash,
    /// Hash of the version this update replaces (the record's current head).
    pub replaces: Hash,
    /// The change.
    pub change: CaseChange,
    /// New sealed details (ciphertext; empty keeps the previous ones).
    #[serde(with = "hex_bytes")]
    pub sealed: Vec<u8>,
}

/// The id of the case created by a report, known to the client before submission: 24 bytes of
/// a hash of the reporter's key, then the report's nonce (big-endian). A reporter's cases are
/// therefore ordered by when they were reported, so every table keyed by case id appends (the
/// reporter and the order are public anyway: they are the transaction's signer and nonce).
pub fn case_id(reporter: &PublicKey, nonce: u64) -> Hash {
    let reporter_hash = hash_tagged_parts(tag::CASE_ID, &[&reporter.0]);
    let mut id = [0u8; 32];
    id[..24].copy_from_slice(&reporter_hash.0[..24]);
    id[24..].copy_from_slice(&nonce.to_be_bytes());
    Hash(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_transitions() {
        use CaseStatus::*;
        assert!(Suspected.can_become(ClinicallyDiagnosed));
        assert!(Suspected.can_become(LabConfirmed));
        assert!(ClinicallyDiagnosed.can_become(Excluded));
        assert!(!LabConfirmed.can_become(Suspected));
        assert!(!Excluded.can_become(Suspected));
        assert!(!Excluded.can_become(Excluded));
        assert!(!Suspected.can_become(Suspected));
    }

    #[test]
    fn case_ids_differ_by_nonce() {
        let key = PublicKey([1; 32]);
        assert_ne!(case_id(&key, 1), case_id(&key, 2));
    }
}
