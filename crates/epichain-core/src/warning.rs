//! Early-warning configuration and signal workflow types: which aberration-detection method runs
//! on which series (disease × region level × day or week), and the steps that answer a signal.

use crate::calendar::Day;
use crate::disease::{Catalogue, DiseaseCode};
use crate::encoding::Hash;
use crate::region::{Level, RegionCode};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which diseases a rule covers.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "diseases")]
pub enum DiseaseScope {
    /// Class A and the Class B diseases managed as Class A.
    ManagedAsA,
    /// Every other disease.
    Others,
    /// The listed diseases.
    Listed(Vec<DiseaseCode>),
}

impl DiseaseScope {
    /// True if the rule covers `disease`.
    pub fn covers(&self, disease: &DiseaseCode, catalogue: &Catalogue) -> bool {
        let managed_as_a = catalogue
            .get(disease)
            .is_some_and(|entry| entry.managed_as_a);
        match self {
            DiseaseScope::ManagedAsA => managed_as_a,
            DiseaseScope::Others => !managed_as_a,
            DiseaseScope::Listed(codes) => codes.contains(disease),
        }
    }
}

/// The time unit of a rule's series.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Period {
    /// Daily counts (365-day years), evaluated as each block touches the series.
    Daily,
    /// Weekly counts (52-week years, weeks from Monday), evaluated when a week closes.
    Weekly,
}

impl Period {
    /// Observations per year, as the detection methods expect (`freq`).
    pub fn frequency(self) -> u32 {
        match self {
            Period::Daily => 365,
            Period::Weekly => 52,
        }
    }
}

/// Week number of a day: weeks start on Monday (1970-01-05 starts week 1).
pub fn week_of(day: Day) -> u32 {
    (day.0 + 3) / 7
}

/// First day (Monday) of a week.
pub fn first_day_of_week(week: u32) -> Day {
    Day((week * 7).saturating_sub(3))
}

/// One workflow step that answers a signal.
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
pub enum Step {
    /// Verification by the CDC of the signal's region (district CDC for district signals).
    Verify = 0,
    /// Regional consultation by a city (or higher) CDC.
    RegionalConsultation = 1,
    /// Pathogen analysis by a laboratory.
    PathogenAnalysis = 2,
    /// Expert consultation by a provincial (or national) CDC.
    ExpertConsultation = 3,
    /// Final confirmation (outbreak confirmed or dismissed) by a provincial (or national) CDC.
    FinalConfirmation = 4,
}

impl Step {
    /// Every step.
    pub const ALL: [Step; 5] = [
        Step::Verify,
        Step::RegionalConsultation,
        Step::PathogenAnalysis,
        Step::ExpertConsultation,
        Step::FinalConfirmation,
    ];

    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            Step::Verify => "verify",
            Step::RegionalConsultation => "regional-consultation",
            Step::PathogenAnalysis => "pathogen-analysis",
            Step::ExpertConsultation => "expert-consultation",
            Step::FinalConfirmation => "final-confirmation",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Step {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Step::ALL
            .into_iter()
            .find(|step| step.name() == text)
            .ok_or_else(|| {
                format!(
                    "unknown step {text:?} (expected verify, regional-consultation, pathogen-analysis, expert-consultation or final-confirmation)"
                )
            })
    }
}

/// Decision of a final confirmation.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum SignalOutcome {
    /// An outbreak is confirmed.
    ConfirmedOutbreak,
    /// The signal is dismissed.
    Dismissed,
}

impl std::str::FromStr for SignalOutcome {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "confirmed" | "confirmed-outbreak" => Ok(SignalOutcome::ConfirmedOutbreak),
            "dismissed" => Ok(SignalOutcome::Dismissed),
            _ => Err(format!(
                "unknown outcome {text:?} (expected confirmed-outbreak or dismissed)"
            )),
        }
    }
}

/// Largest sealed note on a workflow step, bytes.
pub const STEP_NOTE_SEALED_BYTES_MAX: usize = 4 * 1024;

crate::coded::coded_enum! {
    /// What a workflow step found: a code, never free text on the public chain (review M14);
    /// the step's words go in its sealed note.
    pub enum StepFinding("finding") {
        /// No finding recorded.
        NotRecorded = 0 => "not-recorded",
        /// The cases are linked: a cluster.
        ClusterConfirmed = 1 => "cluster-confirmed",
        /// No link found between the cases.
        NoClusterFound = 2 => "no-cluster-found",
        /// Duplicate or erroneous reports, not cases.
        ReportingArtefact = 3 => "reporting-artefact",
        /// Within the expected seasonal rise.
        ExpectedSeasonalRise = 4 => "expected-seasonal-rise",
        /// Confirmed by laboratory tests.
        LaboratoryConfirmed = 5 => "laboratory-confirmed",
        /// Imported cases.
        ImportedCases = 6 => "imported-cases",
        /// Investigation under way.
        UnderInvestigation = 7 => "under-investigation",
    }
}

/// A workflow step on a signal (payload).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SignalAction {
    /// The signal.
    pub signal: Hash,
    /// The step taken.
    pub step: Step,
    /// For a final confirmation: the decision.
    pub outcome: Option<SignalOutcome>,
    /// What the step found.
    pub finding: StepFinding,
    /// The step's note, sealed to the authorities over the signal's region (empty: none); see
    /// [`crate::sealed::note_binding`].
    #[serde(with = "crate::encoding::hex_bytes")]
    pub sealed_note: Vec<u8>,
}

/// A warning rule: run `method` with R-named `parameters` on the series of every disease in
/// `diseases` at `level`, per `period`; a signal needs `required_steps` before its final
/// confirmation.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct WarningRule {
    /// Diseases covered.
    pub diseases: DiseaseScope,
    /// Region level of the series (district means the reporting unit).
    pub level: Level,
    /// Daily or weekly series.
    pub period: Period,
    /// Method name as `epichain detect` knows it (`fixed`, `mpm`, `ears-c3`, …).
    pub method: String,
    /// Parameters with R's names.
    pub parameters: Vec<(String, String)>,
    /// Steps that must precede the final confirmation.
    pub required_steps: Vec<Step>,
}

impl WarningRule {
    fn new(
        diseases: DiseaseScope,
        level: Level,
        period: Period,
        method: &str,
        parameters: &[(&str, &str)],
        required_steps: &[Step],
    ) -> Self {
        WarningRule {
            diseases,
            level,
            period,
            method: method.to_string(),
            parameters: parameters
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
            required_steps: required_steps.to_vec(),
        }
    }

    /// CIDARS-like defaults: Class A and B-managed-as-A → fixed threshold 1 at the reporting
    /// unit; other diseases → daily moving percentile (7-day window, P80 of 3 years ± 2 windows)
    /// at the reporting unit; provincial and national series → weekly flexible Farrington.
    pub fn defaults() -> Vec<WarningRule> {
        use Step::*;
        vec![
            WarningRule::new(
                DiseaseScope::ManagedAsA,
                Level::District,
                Period::Daily,
                "fixed",
                &[("k", "1")],
                &[Verify, PathogenAnalysis],
            ),
            WarningRule::new(
                DiseaseScope::Others,
                Level::District,
                Period::Daily,
                "mpm",
                &[
                    ("window", "7"),
                    ("years", "3"),
                    ("half", "2"),
                    ("prob", "0.8"),
                ],
                &[Verify, RegionalConsultation],
            ),
            WarningRule::new(
                DiseaseScope::Others,
                Level::Province,
                Period::Weekly,
                "farrington-flexible",
                &[("b", "3"), ("w", "3")],
                &[ExpertConsultation],
            ),
            WarningRule::new(
                DiseaseScope::Others,
                Level::National,
                Period::Weekly,
                "farrington-flexible",
                &[("b", "3"), ("w", "3")],
                &[ExpertConsultation],
            ),
        ]
    }
}

/// Counts a legacy surveillance system reported before the chain started (imported at genesis):
/// daily case counts by report date for one disease in one reporting unit.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct HistoricalSeries {
    /// Disease.
    pub disease: DiseaseCode,
    /// Reporting unit.
    pub region: RegionCode,
    /// Day of the first count.
    pub first_day: Day,
    /// One count per day.
    pub counts: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        let monday: Day = "2026-11-23".parse().expect("date");
        let sunday: Day = "2026-11-29".parse().expect("date");
        let next_monday: Day = "2026-11-30".parse().expect("date");
        assert_eq!(monday.weekday_monday_zero(), 0);
        assert_eq!(week_of(monday), week_of(sunday));
        assert_eq!(week_of(next_monday), week_of(monday) + 1);
        assert_eq!(first_day_of_week(week_of(sunday)), monday);
    }

    #[test]
    fn scopes_follow_the_catalogue() {
        let catalogue = Catalogue::shipped().expect("catalogue");
        let code = |text: &str| DiseaseCode::new(text).expect("code");
        assert!(DiseaseScope::ManagedAsA.covers(&code("PLAGUE"), &catalogue));
        assert!(DiseaseScope::ManagedAsA.covers(&code("SARS"), &catalogue));
        assert!(!DiseaseScope::ManagedAsA.covers(&code("DENGUE"), &catalogue));
        assert!(DiseaseScope::Others.covers(&code("DENGUE"), &catalogue));
        assert!(DiseaseScope::Listed(vec![code("HFMD")]).covers(&code("HFMD"), &catalogue));
    }
}
