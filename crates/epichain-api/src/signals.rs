//! Early-warning signals, their workflow, and the count series (epidemic curves) behind them.

use epichain_core::warning::{Period, SignalOutcome, Step};
use epichain_core::{CaseStatus, Day, DiseaseCode, Hash, Level, PublicKey, RegionCode, Sex};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Most signals in one listing.
pub const SIGNALS_LIST_MAX: usize = 1_000;

/// Longest count series in one request, days.
pub const COUNT_SERIES_DAYS_MAX: u32 = 3 * 366;

/// Where a signal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SignalStatus {
    /// Open: steps under way.
    Open,
    /// Final confirmation: an outbreak.
    ConfirmedOutbreak,
    /// Final confirmation: dismissed.
    Dismissed,
}

impl SignalStatus {
    /// The name the API uses (`open`, `confirmed-outbreak`, `dismissed`).
    pub fn as_str(self) -> &'static str {
        match self {
            SignalStatus::Open => "open",
            SignalStatus::ConfirmedOutbreak => "confirmed-outbreak",
            SignalStatus::Dismissed => "dismissed",
        }
    }
}

impl std::str::FromStr for SignalStatus {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            SignalStatus::Open,
            SignalStatus::ConfirmedOutbreak,
            SignalStatus::Dismissed,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
        .ok_or_else(|| format!("{text:?} is not open, confirmed-outbreak or dismissed"))
    }
}

impl std::fmt::Display for SignalStatus {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A workflow step as recorded on chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StepView {
    /// Which step.
    #[schema(value_type = String)]
    pub step: Step,
    /// Who took it.
    #[schema(value_type = String)]
    pub by: PublicKey,
    /// Block height.
    pub height: u64,
    /// Block time, Unix milliseconds.
    pub time_ms: u64,
    /// Decision, for a final confirmation.
    #[schema(value_type = Option<String>)]
    pub outcome: Option<SignalOutcome>,
    /// What the step found (a code, e.g. `cluster-confirmed`).
    #[schema(value_type = String)]
    pub finding: epichain_core::warning::StepFinding,
    /// The step's words, sealed to the authorities over the signal's region (hex envelope;
    /// empty: none).
    #[serde(with = "epichain_core::encoding::hex_bytes")]
    #[schema(value_type = String)]
    pub sealed_note: Vec<u8>,
}

/// An early-warning signal: the series, method and numbers that raised it, the cases behind
/// it, and its workflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SignalView {
    /// Signal id.
    #[schema(value_type = String)]
    pub id: Hash,
    /// Disease.
    #[schema(value_type = String)]
    pub disease: DiseaseCode,
    /// Region of the series.
    #[schema(value_type = String)]
    pub region: RegionCode,
    /// Its level (`district`, `city`, `province`, `national`).
    #[schema(value_type = String)]
    pub level: Level,
    /// Method that raised it.
    pub method: String,
    /// `daily` or `weekly`.
    #[schema(value_type = String)]
    pub period: Period,
    /// Day (daily) or week number (weekly) the signal is about.
    pub period_index: u32,
    /// The statistic's exact f64 bits (what the chain committed); `null` unless the caller's
    /// jurisdiction covers the region (for a fixed-threshold rule it is the cell's case count).
    pub statistic_bits: Option<u64>,
    /// The threshold's exact f64 bits.
    pub threshold_bits: u64,
    /// Cases reported in the series while the signal was open (empty unless the request was
    /// signed by an identity whose jurisdiction covers the signal's region).
    #[schema(value_type = Vec<String>)]
    pub cases: Vec<Hash>,
    /// Block that opened it.
    pub opened_height: u64,
    /// Its time, Unix milliseconds.
    pub opened_time_ms: u64,
    /// Steps required before the final confirmation.
    #[schema(value_type = Vec<String>)]
    pub required_steps: Vec<Step>,
    /// Steps taken, in order.
    pub steps: Vec<StepView>,
    /// Status.
    pub status: SignalStatus,
    /// The statistic (`null` as `statistic_bits`).
    pub statistic: Option<f64>,
    /// The threshold.
    pub threshold: f64,
    /// Seconds from the signal to each step taken (response times).
    pub response_seconds: Vec<(String, f64)>,
}

/// The public metadata of a case behind a signal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseSummary {
    /// Case id.
    #[schema(value_type = String)]
    pub case_id: Hash,
    /// Disease.
    #[schema(value_type = String)]
    pub disease: DiseaseCode,
    /// Region of report.
    #[schema(value_type = String)]
    pub region: RegionCode,
    /// Current status.
    #[schema(value_type = String)]
    pub status: CaseStatus,
    /// Onset date.
    #[schema(value_type = String)]
    pub onset_day: Day,
    /// Report date.
    #[schema(value_type = String)]
    pub report_day: Day,
    /// Age band.
    pub age_band: u8,
    /// Sex.
    #[schema(value_type = String)]
    pub sex: Sex,
}

/// One signal with the metadata of its cases (for callers whose jurisdiction covers it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SignalDetail {
    /// The signal.
    pub signal: SignalView,
    /// Its cases; `null` unless the request was signed by an identity whose jurisdiction covers
    /// the signal's region.
    pub cases: Option<Vec<CaseSummary>>,
}

/// Filters of the signal listing.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
pub struct SignalQuery {
    /// Region and everything below it (an authority's jurisdiction), e.g. 440300.
    #[param(pattern = "^[0-9]{6}$")]
    pub region: Option<String>,
    /// Disease code.
    #[param(pattern = "^[A-Z0-9_]{1,32}$")]
    pub disease: Option<String>,
    /// Status.
    #[param(inline)]
    pub status: Option<SignalStatus>,
    /// Opened at or after this Unix time, milliseconds.
    pub since_ms: Option<u64>,
    /// Opened at or before this Unix time, milliseconds.
    pub until_ms: Option<u64>,
    /// Most results (default 100, at most 1,000).
    pub limit: Option<usize>,
    /// Continue after this entry (from the previous page's `Link` header).
    #[param(pattern = "^[0-9]+-[0-9a-fA-F]{64}$")]
    pub cursor: Option<String>,
}

impl SignalQuery {
    /// The newest signal of `disease` in `region` (and below) opened at or after `since_ms`.
    pub fn newest(disease: impl ToString, region: impl ToString, since_ms: u64) -> Self {
        SignalQuery {
            disease: Some(disease.to_string()),
            region: Some(region.to_string()),
            since_ms: Some(since_ms),
            limit: Some(1),
            ..SignalQuery::default()
        }
    }
}

/// Which date a count is by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CountBasis {
    /// Report day (default).
    #[default]
    Report,
    /// Onset day.
    Onset,
}

/// The count series (epidemic curve) query.
#[derive(Clone, Debug, Serialize, Deserialize, IntoParams)]
pub struct CountQuery {
    /// Disease code.
    #[param(pattern = "^[A-Z0-9_]{1,32}$")]
    pub disease: String,
    /// Region at any level (000000 is national).
    #[param(pattern = "^[0-9]{6}$")]
    pub region: String,
    /// Report (default) or onset.
    #[param(inline)]
    pub basis: Option<CountBasis>,
    /// First day, YYYY-MM-DD.
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub from: String,
    /// Last day, YYYY-MM-DD.
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub to: String,
}

/// One day of a count series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CountPoint {
    /// Day.
    #[schema(value_type = String)]
    pub day: Day,
    /// Suspected cases (`null` unless the caller's jurisdiction covers the region).
    pub suspected: Option<u32>,
    /// Clinically diagnosed cases (idem).
    pub clinical: Option<u32>,
    /// Laboratory-confirmed (and imported) cases (idem).
    pub confirmed: Option<u32>,
    /// All counted cases. For callers outside the region's jurisdiction: the cases of the
    /// reporting regions at or below it that had more than [`SMALL_CELL_MAX`] that day, and
    /// `null` when the region itself had 1 to [`SMALL_CELL_MAX`].
    pub total: Option<u32>,
    /// Reporting regions at or below the region whose 1 to [`SMALL_CELL_MAX`] cases that day are
    /// left out of `total` (always 0 for callers whose jurisdiction covers the region).
    pub suppressed_regions: u32,
}

/// Largest daily count of a reporting region withheld from callers outside its jurisdiction (a
/// cell of 1 to 4 cases identifies). Totals above a region are sums of disclosed cells only, so
/// no difference of two answers isolates a withheld one.
pub const SMALL_CELL_MAX: u32 = 4;
