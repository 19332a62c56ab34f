//! Moving percentile method (MPM) of CIDARS, and the fixed threshold.
//!
//! **Purpose.** China's national automated early-warning system (CIDARS, since 2008) signals a
//! disease when the count of the current window exceeds a percentile of the counts of the same
//! season in previous years (P50–P80 depending on the disease); the most dangerous diseases use a
//! fixed threshold instead (one case is a signal).
//!
//! **Reference.** Yang W, Li Z, Lan Y, et al. (2011). *A nationwide web-based automated system
//! for outbreak early detection and rapid response in China.* Western Pac Surveill Response J
//! 2(1):10–15. Wang R-P, Jiang Y-G, et al. (2017), *Evaluation of the moving percentile method
//! …*, whose weekly wording is "Px = percentile (moving window \[5 week × 5 year\], x)".
//!
//! **Definition** (y counts, W window, P period, Y years, H half-width):
//! C_t = Σ_{i=0}^{W−1} y_{t−i}; baseline = { C_{t − P·j + W·d} : j = 1..Y, d = −H..H } (oldest
//! first); threshold = quantile(baseline, p) with R's `quantile` type 7 (Excel PERCENTILE.INC)
//! or type 2; alarm iff C_t > threshold (or ≥ with `compare = ">="`). The first evaluable t is
//! P·Y + W·H + W.
//!
//! **Parameters.** `window` (7 daily, 1 weekly), `years` (5), `half` (2), `prob` (0.8), `type`
//! (7 or 2), `compare` (`>` or `>=`). There is no R function for MPM; the equivalent R is
//! `quantile(baseline, prob, type = 7)` on the window sums, as in the reference README.
//!
//! **Fixed threshold** (`fixed`, parameter `k` = 1): alarm iff y_t ≥ k at every t; the
//! reported upper bound is k.

use crate::error::{DetectError, bad_value, validate_counts};
use crate::range::resolve_range;

/// Quantile definition of R's `quantile(type = ...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantileType {
    /// Type 2: inverse of the empirical CDF, averaging at discontinuities.
    Type2,
    /// Type 7 (R default, Excel PERCENTILE.INC): linear interpolation of order statistics.
    Type7,
}

/// How the window sum is compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Alarm iff current > threshold.
    Greater,
    /// Alarm iff current ≥ threshold.
    GreaterOrEqual,
}

/// Control of [`mpm`].
#[derive(Debug, Clone, PartialEq)]
pub struct MpmControl {
    /// Period P (52 weekly, 365 daily).
    pub period: usize,
    /// Window W in periods (7 daily, 1 weekly).
    pub window: usize,
    /// Number of past years Y.
    pub years: usize,
    /// Half-width H in windows.
    pub half: usize,
    /// Percentile p in \[0, 1\].
    pub prob: f64,
    /// Quantile definition.
    pub quantile_type: QuantileType,
    /// Comparison.
    pub compare: Comparison,
    /// First evaluated time point (1-based); `None` for the first evaluable one.
    pub range_start: Option<usize>,
}

impl MpmControl {
    /// Defaults for a period: window 7 for daily data (365), else 1; 5 years, half-width 2, P80.
    pub fn new(period: usize) -> Self {
        Self {
            period,
            window: if period == DAYS_PER_YEAR { 7 } else { 1 },
            years: 5,
            half: 2,
            prob: 0.8,
            quantile_type: QuantileType::Type7,
            compare: Comparison::Greater,
            range_start: None,
        }
    }
}

/// Days of a "year" of daily data (no leap days).
pub const DAYS_PER_YEAR: usize = 365;

/// One evaluated time point of [`mpm`].
#[derive(Debug, Clone, PartialEq)]
pub struct MpmPoint {
    /// 1-based time index.
    pub time: usize,
    /// Observed count at t.
    pub observed: f64,
    /// Window sum C_t.
    pub current: f64,
    /// Number of baseline values.
    pub baseline_count: usize,
    /// Threshold (the upper bound).
    pub threshold: f64,
    /// Alarm.
    pub alarm: bool,
}

/// Window sums C_t for every t ≥ W (index t−1), NaN before.
/// C_t = Σ_{i=0}^{W−1} y_{t−i} (1-based t ≥ W), summed oldest first. Computed only where
/// needed: evaluating the latest point of a long series reads a few windows, not all of them.
fn window_sum(observed: &[f64], t: usize, window: usize) -> f64 {
    observed[t - window..t].iter().sum()
}

/// R's `quantile(values, prob, type)` for values sorted ascending (non-empty).
pub fn quantile_sorted(sorted: &[f64], prob: f64, quantile_type: QuantileType) -> f64 {
    let count = sorted.len();
    if count == 0 {
        return f64::NAN;
    }
    match quantile_type {
        QuantileType::Type7 => {
            let index = 1.0 + (count as f64 - 1.0) * prob;
            let low = libm::floor(index);
            let high = libm::ceil(index);
            let low_value = sorted[(low as usize).clamp(1, count) - 1];
            let high_value = sorted[(high as usize).clamp(1, count) - 1];
            if index > low && high_value != low_value {
                let fraction = index - low;
                (1.0 - fraction) * low_value + fraction * high_value
            } else {
                low_value
            }
        }
        QuantileType::Type2 => {
            let fuzz = 4.0 * f64::EPSILON;
            let position = count as f64 * prob;
            let j = libm::floor(position + fuzz);
            let h = if position > j { 1.0 } else { 0.5 };
            // R pads x as c(x[1], x[1], x, x[n], x[n]) and reads x[j+2], x[j+3] (1-based).
            let padded = |i: f64| -> f64 {
                let index = i as i64 - 2; // position in the unpadded, 1-based
                sorted[(index.clamp(1, count as i64) - 1) as usize]
            };
            let lower = padded(j + 2.0);
            let upper = padded(j + 3.0);
            if h == 1.0 {
                upper
            } else if lower != upper {
                (1.0 - h) * lower + h * upper
            } else {
                lower
            }
        }
    }
}

/// Run the moving percentile method.
pub fn mpm(observed: &[f64], control: &MpmControl) -> Result<Vec<MpmPoint>, DetectError> {
    validate_counts(observed)?;
    validate_mpm(control)?;
    let first = control.period * control.years + control.window * control.half + control.window;
    let range = resolve_range("mpm", first, first, observed.len(), control.range_start)?;
    let mut baseline = Vec::with_capacity(control.years * (2 * control.half + 1));
    let points = range
        .map(|t| {
            baseline.clear();
            for j in (1..=control.years).rev() {
                let centre = t - control.period * j;
                for d in 0..=2 * control.half {
                    let index = centre + control.window * d - control.window * control.half;
                    baseline.push(window_sum(observed, index, control.window));
                }
            }
            baseline.sort_by(f64::total_cmp);
            let threshold = quantile_sorted(&baseline, control.prob, control.quantile_type);
            let current = window_sum(observed, t, control.window);
            let alarm = match control.compare {
                Comparison::Greater => current > threshold,
                Comparison::GreaterOrEqual => current >= threshold,
            };
            MpmPoint {
                time: t,
                observed: observed[t - 1],
                current,
                baseline_count: baseline.len(),
                threshold,
                alarm,
            }
        })
        .collect();
    Ok(points)
}

fn validate_mpm(control: &MpmControl) -> Result<(), DetectError> {
    if control.window == 0 {
        return Err(bad_value("window", control.window, "must be at least 1"));
    }
    if control.years == 0 {
        return Err(bad_value("years", control.years, "must be at least 1"));
    }
    if control.period <= control.window * control.half {
        return Err(bad_value(
            "half",
            control.half,
            "window·half must be shorter than the period",
        ));
    }
    if !(0.0..=1.0).contains(&control.prob) {
        return Err(bad_value("prob", control.prob, "must lie in [0, 1]"));
    }
    Ok(())
}

/// One time point of [`fixed`].
#[derive(Debug, Clone, PartialEq)]
pub struct FixedPoint {
    /// 1-based time index.
    pub time: usize,
    /// Observed count.
    pub observed: f64,
    /// The threshold k.
    pub threshold: f64,
    /// `observed >= k`.
    pub alarm: bool,
}

/// Fixed threshold: alarm iff the count is at least `k`, from `range_start` (default 1) on.
pub fn fixed(
    observed: &[f64],
    k: f64,
    range_start: Option<usize>,
) -> Result<Vec<FixedPoint>, DetectError> {
    validate_counts(observed)?;
    if !k.is_finite() {
        return Err(bad_value("k", k, "must be finite"));
    }
    let range = resolve_range("fixed", 1, 1, observed.len(), range_start)?;
    Ok(range
        .map(|t| FixedPoint {
            time: t,
            observed: observed[t - 1],
            threshold: k,
            alarm: observed[t - 1] >= k,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Daily MPM: 7-day sums, 3 years × (2·2 + 1) windows, first t = 365·3 + 7·2 + 7.
    #[test]
    fn daily_windows_follow_the_definition() {
        let counts: Vec<f64> = (0..1200).map(|t| f64::from(t % 11)).collect();
        let control = MpmControl {
            years: 3,
            prob: 0.5,
            ..MpmControl::new(DAYS_PER_YEAR)
        };
        let points = mpm(&counts, &control).expect("mpm runs");
        let first = &points[0];
        assert_eq!(first.time, 365 * 3 + 7 * 2 + 7);
        assert_eq!(first.baseline_count, 15);
        let window_sum = |t: usize| -> f64 { counts[t - 7..t].iter().sum() };
        assert_eq!(first.current, window_sum(first.time));
        let mut baseline: Vec<f64> = (1..=3)
            .flat_map(|j| (0..5).map(move |d| (j, d)))
            .map(|(j, d)| window_sum(first.time - 365 * j + 7 * d - 14))
            .collect();
        baseline.sort_by(f64::total_cmp);
        assert_eq!(first.threshold, baseline[7]);
    }
}
