//! Flexible Farrington algorithm with the Noufaily improvements (`farringtonFlexible` in R
//! surveillance 1.20.3).
//!
//! **Purpose.** The improved Farrington method used by UKHSA since 2013: instead of short windows
//! only, the whole past is modelled with a seasonal factor, the most recent weeks are left out so
//! an emerging outbreak does not inflate its own baseline, and the threshold is a negative
//! binomial quantile.
//!
//! **Reference.** Noufaily A, Enki DG, Farrington P, Garthwaite P, Andrews N, Charlett A (2013).
//! *An improved algorithm for outbreak detection in multiple surveillance systems.* Stat Med
//! 32(7):1206–1222. Farrington CP et al. (1996), JRSS A 159:547–563.
//!
//! **Parameters** (R names, defaults): `b` = 5, `w` = 3, `reweight` = TRUE,
//! `weightsThreshold` = 2.58, `alpha` = 0.05 (one-sided), `trend` = TRUE, `pThresholdTrend` =
//! 0.05, `limit54` = (5, 4), `powertrans` = "2/3", `noPeriods` = 1, `pastWeeksNotIncluded`
//! (absent: w), `thresholdMethod` = `delta` | `nbPlugin` | `muan`, `range_start` (default
//! freq·b + w + 1, also the earliest allowed).
//!
//! **Definition at time k.**
//! 1. Reference data: every index in \[k − freq·b − w, k\] that carries a `seasgroups` level,
//!    minus k − pastWeeksNotIncluded..k. Level noPeriods marks the 2w+1 windows around
//!    k − freq·i; with noPeriods > 1 the rest of each year is split into noPeriods − 1 blocks
//!    (the remainder spread over the first blocks), otherwise only the windows are used.
//! 2. Quasi-Poisson GLM `y ~ 1 + wtime (+ seasgroups)`; without convergence refit without trend;
//!    without convergence again the point is NA. φ = max(1, Pearson). With `reweight`, Anscombe
//!    residuals above `weightsThreshold` get weight γ·s⁻² (γ so that Σω = n) and the model is
//!    refitted (φ recomputed).
//! 3. The trend is kept iff b ≥ 3, the wtime p-value < `pThresholdTrend` and the prediction
//!    ≤ max(reference y); otherwise refit without trend.
//! 4. Threshold: `delta` U = (μ0^{2/3} + z·√(4/9·μ0^{1/3}·τ))^{3/2}, τ = φ + se(μ0)²/μ0,
//!    **one-sided z = qnorm(1 − alpha)**; `nbPlugin` U = qnbinom(1 − alpha, μ0/(φ−1), 1/φ) with
//!    μ0 = exp(η0) (qpois if φ = 1), an integer; `muan` the same with
//!    μ0 = exp(qnorm(1 − alpha, η0, se(η0))).
//! 5. score = (y − μ0)/(U − μ0); **alarm = score > 1 and y ≠ 0**; with fewer than 5 cases in the
//!    last 4 weeks the upper bound and `expected` are **NA** (the classic version gives 0) and
//!    there is no alarm.
//!
//! **R quirks reproduced** (they differ from the papers):
//! - After reweighting, R overwrites `model$weights` with the reweighting weights, so the
//!   dispersion that `summary.glm` and `predict.glm` use for the trend p-value and se(η0) is
//!   Σω·((y−μ)/μ)²/df rather than the Pearson statistic (φ itself is computed before and is
//!   unaffected). `predict.glm` is called with `dispersion` inside `newdata`, so φ is not used
//!   for se(η0).
//! - For `nbPlugin` and `muan` the score is computed with η0 (link scale) in place of μ0:
//!   (y − η0)/(U − η0).
//! - `mu0_quantile` for `delta` is exp(qnorm(1 − alpha, μ0, se(μ0))) from response-scale numbers.
//!
//! **R call.** `farringtonFlexible(sts, control = list(b = 5, w = 3, noPeriods = 10,
//! pastWeeksNotIncluded = 26, thresholdMethod = "nbPlugin"))`.

use crate::error::{DetectError, bad_value, validate_counts};
use crate::farrington::{
    FarringtonModel, FarringtonWorkspace, FitSettings, Limit54, PowerTransform, ReferenceData,
    SeriesTables, delta_upper_bound, fit_farrington, validate_common,
};
use crate::glm::inverse_link;
use crate::math::{exp, pnbinom, pnorm, pow, ppois, qnbinom, qnorm, qpois};
use crate::range::resolve_range;

/// Threshold method (`thresholdMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdMethod {
    /// Farrington's power-transformed normal approximation.
    Delta,
    /// Negative binomial quantile at μ0 = exp(η0) (Noufaily 2013).
    NbPlugin,
    /// Negative binomial quantile at the upper quantile of μ0.
    Muan,
}

/// Control of [`farrington_flexible`].
#[derive(Debug, Clone, PartialEq)]
pub struct FlexibleControl {
    /// Years back (`b`).
    pub b: usize,
    /// Half window (`w`).
    pub w: usize,
    /// Down-weight past outbreaks (`reweight`).
    pub reweight: bool,
    /// Anscombe residual above which a value is down-weighted (`weightsThreshold`).
    pub weights_threshold: f64,
    /// One-sided significance level (`alpha`).
    pub alpha: f64,
    /// Allow a trend (`trend`).
    pub trend: bool,
    /// Trend significance level (`pThresholdTrend`).
    pub p_threshold_trend: f64,
    /// limit54 rule.
    pub limit54: Limit54,
    /// Power transformation of the delta method.
    pub power_transform: PowerTransform,
    /// Number of seasonal levels (`noPeriods`).
    pub no_periods: usize,
    /// Most recent periods left out (`pastWeeksNotIncluded`); `None` is w.
    pub past_weeks_not_included: Option<usize>,
    /// Threshold method.
    pub threshold_method: ThresholdMethod,
    /// First evaluated point; `None` is freq·b + w + 1.
    pub range_start: Option<usize>,
    /// Period (52 weekly, 365 daily).
    pub period: usize,
}

impl FlexibleControl {
    /// R defaults.
    pub fn new(period: usize) -> Self {
        Self {
            b: 5,
            w: 3,
            reweight: true,
            weights_threshold: 2.58,
            alpha: 0.05,
            trend: true,
            p_threshold_trend: 0.05,
            limit54: Limit54::default(),
            power_transform: PowerTransform::TwoThirds,
            no_periods: 1,
            past_weeks_not_included: None,
            threshold_method: ThresholdMethod::Delta,
            range_start: None,
            period,
        }
    }
}

/// One evaluated time point of [`farrington_flexible`].
#[derive(Debug, Clone, PartialEq)]
pub struct FlexiblePoint {
    /// 1-based time index.
    pub time: usize,
    /// Observed count.
    pub observed: f64,
    /// Upper bound; `None` (NA) when limit54 fails or no model converged.
    pub upperbound: Option<f64>,
    /// Alarm; `None` only when no model converged.
    pub alarm: Option<bool>,
    /// μ0 (delta) or exp(η0) (nbPlugin, muan); NA when limit54 fails.
    pub expected: Option<f64>,
    /// Exceedance score (computed even when limit54 fails).
    pub score: Option<f64>,
    /// Upper-tail probability of the observation.
    pub pvalue: Option<f64>,
    /// Dispersion φ.
    pub phi: Option<f64>,
    /// Whether the trend was kept (NA without a model).
    pub trend_kept: Option<bool>,
    /// Trend coefficient when kept.
    pub trend_coefficient: Option<f64>,
    /// R's `mu0Vector`.
    pub mu0_quantile: Option<f64>,
}

/// Seasonal level of each index of \[k − freq·b − w, k\] (0 = no level), R's `blocks()`.
fn seasonal_levels(k: usize, control: &FlexibleControl, levels: &mut Vec<usize>) -> usize {
    let (period, w, p) = (control.period, control.w, control.no_periods);
    let first = k - period * control.b - w;
    levels.clear();
    levels.resize(k - first + 1, 0);
    let mut set = |index: usize, level: usize| levels[index - first] = level;
    for index in k - w..=k {
        set(index, p);
    }
    for i in 1..=control.b {
        let reference = k - i * period;
        for index in reference - w..=reference + w {
            set(index, p);
        }
        if p != 1 {
            let gap = period - 2 * w - 1;
            let block_length = gap / (p - 1);
            let rest = gap % (p - 1);
            let mut position = reference + w + 1;
            for block in 1..p {
                let length = block_length + usize::from(block <= rest);
                for index in position..position + length {
                    set(index, block);
                }
                position += length;
            }
        }
    }
    first
}

/// Fill the reference data of time k; returns the design column of level `noPeriods`.
fn flexible_reference(
    tables: &SeriesTables,
    k: usize,
    control: &FlexibleControl,
    levels: &mut Vec<usize>,
    data: &mut ReferenceData,
) -> Result<usize, DetectError> {
    let first = seasonal_levels(k, control, levels);
    let excluded = control.past_weeks_not_included.unwrap_or(control.w);
    let excluded_from = k.saturating_sub(excluded);
    data.clear();
    let mut present = vec![false; control.no_periods + 1];
    for (offset, level) in levels.iter().enumerate() {
        let index = first + offset;
        if *level > 0 && index < excluded_from {
            present[*level] = true;
        }
    }
    // Treatment coding over the levels present: the smallest is the reference.
    let mut column_of_level = vec![0; control.no_periods + 1];
    let mut columns = 0;
    let mut seen_reference = false;
    for (level, is_present) in present.iter().enumerate().skip(1) {
        if *is_present {
            if seen_reference {
                columns += 1;
                column_of_level[level] = columns;
            } else {
                seen_reference = true;
            }
        }
    }
    for (offset, level) in levels.iter().enumerate() {
        let index = first + offset;
        if *level > 0 && index < excluded_from {
            let factor_level = if control.no_periods == 1 {
                0
            } else {
                column_of_level[*level]
            };
            data.push(tables, index - 1, factor_level);
        }
    }
    data.level_columns = if control.no_periods == 1 { 0 } else { columns };
    if control.no_periods > 1 && !present[control.no_periods] {
        return Err(bad_value(
            "pastWeeksNotIncluded",
            excluded,
            "leaves no reference window in the data",
        ));
    }
    Ok(if control.no_periods == 1 {
        0
    } else {
        column_of_level[control.no_periods]
    })
}

fn validate_flexible(control: &FlexibleControl) -> Result<(), DetectError> {
    validate_common(control.b, control.alpha, control.period)?;
    control.limit54.validate()?;
    if control.no_periods == 0 {
        return Err(bad_value(
            "noPeriods",
            control.no_periods,
            "must be at least 1",
        ));
    }
    if control.period <= 2 * control.w + 1 {
        return Err(bad_value(
            "w",
            control.w,
            "window 2w+1 must be shorter than the period",
        ));
    }
    let gap = control.period - 2 * control.w - 1;
    if control.no_periods > 1 && control.no_periods - 1 > gap {
        return Err(bad_value(
            "noPeriods",
            control.no_periods,
            "number of factors too big",
        ));
    }
    if !(0.0..=1.0).contains(&control.p_threshold_trend) {
        return Err(bad_value(
            "pThresholdTrend",
            control.p_threshold_trend,
            "must lie in [0, 1]",
        ));
    }
    if control.weights_threshold.is_nan() {
        return Err(bad_value(
            "weightsThreshold",
            control.weights_threshold,
            "must be a number",
        ));
    }
    Ok(())
}

/// Run the flexible Farrington algorithm.
pub fn farrington_flexible(
    observed: &[f64],
    control: &FlexibleControl,
) -> Result<Vec<FlexiblePoint>, DetectError> {
    validate_counts(observed)?;
    validate_flexible(control)?;
    let first = control.period * control.b + control.w + 1;
    let range = resolve_range(
        "farrington-flexible",
        first,
        first,
        observed.len(),
        control.range_start,
    )?;
    let settings = FitSettings {
        reweight: control.reweight,
        weights_threshold: control.weights_threshold,
        flexible: true,
    };
    let mut workspace = FarringtonWorkspace::default();
    let mut levels = Vec::new();
    let mut points = Vec::with_capacity(observed.len() + 1 - first.min(observed.len()));
    let tables = SeriesTables::new(observed);
    for k in range {
        let prediction_level =
            flexible_reference(&tables, k, control, &mut levels, &mut workspace.data)?;
        points.push(flexible_point(
            observed,
            k,
            control,
            settings,
            prediction_level,
            &mut workspace,
        ));
    }
    Ok(points)
}

/// Final model and trend decision at time k.
fn fit_with_trend_decision(
    workspace: &mut FarringtonWorkspace,
    k: usize,
    control: &FlexibleControl,
    settings: FitSettings,
    level: usize,
) -> Option<(FarringtonModel, bool)> {
    let model = fit_farrington(workspace, k, control.trend, settings)?;
    if !model.has_trend {
        return Some((model, false));
    }
    let (eta, _) = model.prediction(level);
    let significant = model.trend_p_value() < control.p_threshold_trend;
    let no_extrapolation = inverse_link(eta) <= workspace.data.max_response();
    if control.b >= 3 && significant && no_extrapolation {
        return Some((model, true));
    }
    let refit = fit_farrington(workspace, k, false, settings)?;
    Some((refit, false))
}

/// Evaluate one time point.
fn flexible_point(
    observed: &[f64],
    k: usize,
    control: &FlexibleControl,
    settings: FitSettings,
    level: usize,
    workspace: &mut FarringtonWorkspace,
) -> FlexiblePoint {
    let y = observed[k - 1];
    let Some((model, trend_kept)) = fit_with_trend_decision(workspace, k, control, settings, level)
    else {
        return failed_point(k, y);
    };
    let (eta0, quadratic) = model.prediction(level);
    let se_eta0 = (model.summary_dispersion * quadratic).sqrt();
    let enough_cases = control.limit54.enough_cases(observed, k);
    let threshold = match control.threshold_method {
        ThresholdMethod::Delta => delta_threshold(y, eta0, se_eta0, model.phi, control),
        ThresholdMethod::NbPlugin | ThresholdMethod::Muan => {
            negative_binomial_threshold(y, eta0, se_eta0, model.phi, control)
        }
    };
    let upper_available = !threshold.upper.is_nan();
    let score_gated = if enough_cases {
        threshold.score
    } else {
        f64::NAN
    };
    FlexiblePoint {
        time: k,
        observed: y,
        upperbound: enough_cases.then_some(threshold.upper).and_then(not_na),
        alarm: Some(!score_gated.is_nan() && score_gated > 1.0 && y != 0.0),
        expected: (enough_cases && upper_available).then_some(threshold.expected),
        score: not_na(threshold.score),
        pvalue: not_na(threshold.pvalue),
        phi: Some(model.phi),
        trend_kept: Some(trend_kept),
        trend_coefficient: trend_kept.then(|| model.glm.coefficients[1]),
        mu0_quantile: Some(threshold.mu0_quantile),
    }
}

/// R writes NA where a threshold could not be computed; keep NaN as NA here.
fn not_na(value: f64) -> Option<f64> {
    (!value.is_nan()).then_some(value)
}

/// Threshold quantities of one time point.
struct Threshold {
    upper: f64,
    score: f64,
    pvalue: f64,
    expected: f64,
    mu0_quantile: f64,
}

/// `algo.farrington.threshold.farrington` with the one-sided z.
fn delta_threshold(
    y: f64,
    eta0: f64,
    se_eta0: f64,
    phi: f64,
    control: &FlexibleControl,
) -> Threshold {
    let mu0 = inverse_link(eta0);
    let se_mu0 = se_eta0 * mu0;
    let z = qnorm(1.0 - control.alpha, 0.0, 1.0);
    let (upper, se) = delta_upper_bound(mu0, se_mu0, phi, z, control.power_transform);
    let exponent = match control.power_transform {
        PowerTransform::Identity => 1.0,
        PowerTransform::SquareRoot => 1.0 / 2.0,
        PowerTransform::TwoThirds => 2.0 / 3.0,
    };
    Threshold {
        upper,
        score: (y - mu0) / (upper - mu0),
        pvalue: pnorm(pow(y, exponent), pow(mu0, exponent), se, false),
        expected: mu0,
        mu0_quantile: exp(qnorm(1.0 - control.alpha, mu0, se_mu0)),
    }
}

/// `algo.farrington.threshold.noufaily` (nbPlugin and muan).
fn negative_binomial_threshold(
    y: f64,
    eta0: f64,
    se_eta0: f64,
    phi: f64,
    control: &FlexibleControl,
) -> Threshold {
    let mu0_quantile = match control.threshold_method {
        ThresholdMethod::NbPlugin => exp(eta0),
        _ => exp(qnorm(1.0 - control.alpha, eta0, se_eta0)),
    };
    let (upper, pvalue) = if mu0_quantile == f64::INFINITY || mu0_quantile.is_nan() {
        (f64::NAN, f64::NAN)
    } else if phi > 1.0 {
        let size = mu0_quantile / (phi - 1.0);
        (
            qnbinom(1.0 - control.alpha, size, 1.0 / phi),
            pnbinom(y - 1.0, size, 1.0 / phi, false),
        )
    } else {
        (
            qpois(1.0 - control.alpha, mu0_quantile),
            ppois(y - 1.0, mu0_quantile, false),
        )
    };
    Threshold {
        upper,
        // R computes this score on the link scale.
        score: (y - eta0) / (upper - eta0),
        pvalue,
        expected: exp(eta0),
        mu0_quantile,
    }
}

/// A point where neither model converged: everything NA, as R does.
fn failed_point(k: usize, y: f64) -> FlexiblePoint {
    FlexiblePoint {
        time: k,
        observed: y,
        upperbound: None,
        alarm: None,
        expected: None,
        score: None,
        pvalue: None,
        phi: None,
        trend_kept: None,
        trend_coefficient: None,
        mu0_quantile: None,
    }
}
