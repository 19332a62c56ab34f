//! EARS C1, C2 and C3 (`earsC` in R surveillance 1.20.3).
//!
//! **Purpose.** The Early Aberration Reporting System methods of the US CDC flag a count that
//! lies far above the mean of a short, recent baseline. They need no seasonal history, so they
//! suit new series and daily syndromic data.
//!
//! **Reference.** Hutwagner L, Thompson W, Seeman GM, Treadwell T (2003). *The bioterrorism
//! preparedness and response Early Aberration Reporting System (EARS).* J Urban Health 80(2
//! Suppl 1):i89–96. Fricker RD, Hegler BL, Dunfee DA (2008), Stat Med 27:3407–3429.
//!
//! **Parameters** (R names): `baseline` b = 7 (≥ 3), `alpha` (default 0.001 for C1/C2 and 0.025
//! for C3 when absent), `minSigma` = 0, and the evaluation start `range_start`.
//!
//! **Definition**, with z = qnorm(1 − alpha) and sd using the n − 1 denominator:
//! - C1: reference y\[t−b..t−1\]; C2: reference y\[t−b−2..t−3\] (two-period guard band).
//!   UB_t = mean(ref) + z · max(sd(ref), minSigma); alarm iff y_t > UB_t (strict).
//!   Default ranges start at b+1 (C1), b+3 (C2), b+5 (C3).
//! - C3 **as R computes it** (differs from the textbook): with C2_s = (y_s − mean_s)/max(sd_s,
//!   minSigma), UB_t = max(0, y_t + σ_t·(z − \[max(0, C2_{t−2}−1) + max(0, C2_{t−1}−1)\])).
//!   The current C2_t is *not* used, so the alarm holds iff the lag part exceeds z (and y_t > 0
//!   when UB clips at 0). Hutwagner's C3 = Σ_{s=t−2..t} max(0, C2_s − 1) is reported as
//!   `c3_textbook` for reference only.
//! - With sd = 0 and minSigma = 0, C1/C2 give UB = mean (any y above it alarms) while C3 gives
//!   C2 = ±Inf or NaN, hence UB = NaN and alarm = NA, exactly like R.
//!
//! **R call.** `earsC(sts, control = list(method = "C1", baseline = 7, alpha = 0.001, minSigma = 0))`.

use crate::error::{DetectError, bad_value, validate_counts};
use crate::math::{mean, qnorm, r_max, standard_deviation};
use crate::range::resolve_range;

/// Smallest baseline R accepts.
pub const BASELINE_MIN: usize = 3;
/// Default alpha of C1 and C2.
pub const ALPHA_DEFAULT_C1_C2: f64 = 0.001;
/// Default alpha of C3.
pub const ALPHA_DEFAULT_C3: f64 = 0.025;

/// Which EARS statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EarsMethod {
    /// Baseline directly before t.
    C1,
    /// Baseline with a two-period guard band.
    C2,
    /// R's lagged C3.
    C3,
}

/// Control of [`ears`], named after R's `control` list.
#[derive(Debug, Clone, PartialEq)]
pub struct EarsControl {
    /// C1, C2 or C3.
    pub method: EarsMethod,
    /// Number of reference periods (`baseline`).
    pub baseline: usize,
    /// Significance level; `None` takes the method default.
    pub alpha: Option<f64>,
    /// Lower bound of the standard deviation (`minSigma`).
    pub min_sigma: f64,
    /// First evaluated time point (1-based); `None` is R's default.
    pub range_start: Option<usize>,
}

impl EarsControl {
    /// R's defaults for `method`.
    pub fn new(method: EarsMethod) -> Self {
        Self {
            method,
            baseline: 7,
            alpha: None,
            min_sigma: 0.0,
            range_start: None,
        }
    }
}

/// One evaluated time point of [`ears`].
#[derive(Debug, Clone, PartialEq)]
pub struct EarsPoint {
    /// 1-based time index.
    pub time: usize,
    /// Observed count.
    pub observed: f64,
    /// Upper bound (may be NaN for C3, as in R).
    pub upperbound: f64,
    /// `observed > upperbound`; `None` (NA) when the bound is NaN.
    pub alarm: Option<bool>,
    /// Mean of the reference values of t.
    pub baseline_mean: f64,
    /// Raw sample standard deviation of the reference values of t.
    pub baseline_sd: f64,
    /// max(sd, minSigma).
    pub sigma: f64,
    /// (y − mean)/sigma for C1/C2; C2_t for C3.
    pub statistic: f64,
    /// C3 only: C2 at t−1.
    pub c2_lag1: Option<f64>,
    /// C3 only: C2 at t−2.
    pub c2_lag2: Option<f64>,
    /// C3 only: max(0, C2_{t−2}−1) + max(0, C2_{t−1}−1), the part R uses.
    pub c3_lag_part: Option<f64>,
    /// C3 only: Hutwagner's Σ_{s=t−2..t} max(0, C2_s − 1) (reference only).
    pub c3_textbook: Option<f64>,
}

/// Reference statistics of one time point: (mean, raw sd, sigma).
fn reference_statistics(reference: &[f64], min_sigma: f64) -> (f64, f64, f64) {
    let centre = mean(reference);
    let sd = standard_deviation(reference);
    (centre, sd, r_max(sd, min_sigma))
}

/// Reference window of time `t` (1-based): `t-lag_high ..= t-lag_low` as a slice.
fn reference(observed: &[f64], t: usize, lag_low: usize, lag_high: usize) -> &[f64] {
    &observed[t - 1 - lag_high..t - lag_low]
}

/// Run EARS C1, C2 or C3 over the series.
pub fn ears(observed: &[f64], control: &EarsControl) -> Result<Vec<EarsPoint>, DetectError> {
    validate_counts(observed)?;
    let baseline = control.baseline;
    if baseline < BASELINE_MIN {
        return Err(bad_value("baseline", baseline, "minimum baseline is 3"));
    }
    if control.min_sigma.is_nan() || control.min_sigma < 0.0 {
        return Err(bad_value(
            "minSigma",
            control.min_sigma,
            "must be non-negative",
        ));
    }
    let alpha = control.alpha.unwrap_or(match control.method {
        EarsMethod::C3 => ALPHA_DEFAULT_C3,
        EarsMethod::C1 | EarsMethod::C2 => ALPHA_DEFAULT_C1_C2,
    });
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(bad_value("alpha", alpha, "must lie in (0, 1)"));
    }
    let z = qnorm(1.0 - alpha, 0.0, 1.0);
    let (first, name) = match control.method {
        EarsMethod::C1 => (baseline + 1, "ears-c1"),
        EarsMethod::C2 => (baseline + 3, "ears-c2"),
        EarsMethod::C3 => (baseline + 5, "ears-c3"),
    };
    let range = resolve_range(name, first, first, observed.len(), control.range_start)?;
    let points = range
        .map(|t| match control.method {
            EarsMethod::C1 => c1_c2_point(observed, t, 1, baseline, z, control.min_sigma),
            EarsMethod::C2 => c1_c2_point(observed, t, 3, baseline + 2, z, control.min_sigma),
            EarsMethod::C3 => c3_point(observed, t, baseline, z, control.min_sigma),
        })
        .collect();
    Ok(points)
}

/// C1/C2 at time t with reference lags `lag_low..=lag_high`.
fn c1_c2_point(
    observed: &[f64],
    t: usize,
    lag_low: usize,
    lag_high: usize,
    z: f64,
    min_sigma: f64,
) -> EarsPoint {
    let y = observed[t - 1];
    let (centre, sd, sigma) =
        reference_statistics(reference(observed, t, lag_low, lag_high), min_sigma);
    let upperbound = centre + z * sigma;
    EarsPoint {
        time: t,
        observed: y,
        upperbound,
        alarm: greater_than(y, upperbound),
        baseline_mean: centre,
        baseline_sd: sd,
        sigma,
        statistic: (y - centre) / sigma,
        c2_lag1: None,
        c2_lag2: None,
        c3_lag_part: None,
        c3_textbook: None,
    }
}

/// R's `y > bound`: NA when either side is NaN.
fn greater_than(y: f64, bound: f64) -> Option<bool> {
    if y.is_nan() || bound.is_nan() {
        None
    } else {
        Some(y > bound)
    }
}

/// C2 statistic at time s: (y_s − mean_s) / max(sd_s, minSigma).
fn c2_statistic(observed: &[f64], s: usize, baseline: usize, min_sigma: f64) -> f64 {
    let (centre, _, sigma) =
        reference_statistics(reference(observed, s, 3, baseline + 2), min_sigma);
    (observed[s - 1] - centre) / sigma
}

/// R's `pmax(0, c2 - 1)`.
fn positive_excess(c2: f64) -> f64 {
    r_max(0.0, c2 - 1.0)
}

/// C3 at time t, as R computes it.
fn c3_point(observed: &[f64], t: usize, baseline: usize, z: f64, min_sigma: f64) -> EarsPoint {
    let y = observed[t - 1];
    let (centre, sd, sigma) =
        reference_statistics(reference(observed, t, 3, baseline + 2), min_sigma);
    let c2_current = (y - centre) / sigma;
    let c2_lag1 = c2_statistic(observed, t - 1, baseline, min_sigma);
    let c2_lag2 = c2_statistic(observed, t - 2, baseline, min_sigma);
    let lag_part = positive_excess(c2_lag2) + positive_excess(c2_lag1);
    let upperbound = r_max(0.0, y + sigma * (z - lag_part));
    EarsPoint {
        time: t,
        observed: y,
        upperbound,
        alarm: greater_than(y, upperbound),
        baseline_mean: centre,
        baseline_sd: sd,
        sigma,
        statistic: c2_current,
        c2_lag1: Some(c2_lag1),
        c2_lag2: Some(c2_lag2),
        c3_lag_part: Some(lag_part),
        c3_textbook: Some(lag_part + positive_excess(c2_current)),
    }
}
