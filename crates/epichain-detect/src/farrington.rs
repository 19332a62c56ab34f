//! Classic Farrington algorithm (`algo.farrington` in R surveillance 1.20.3).
//!
//! **Purpose.** The method of the UK Health Protection Agency (now UKHSA) for weekly laboratory
//! reports: a quasi-Poisson regression on the same weeks of previous years predicts the current
//! count, and a count far above the prediction interval is an exceedance. Past outbreaks are
//! down-weighted and a linear trend is kept only when it is significant and sensible.
//!
//! **Reference.** Farrington CP, Andrews NJ, Beale AD, Catchpole MA (1996). *A statistical
//! algorithm for the early detection of outbreaks of infectious disease.* JRSS A 159(3):547–563.
//!
//! **Parameters** (R names): `b` = 5 years back, `w` = 3 half-window, `reweight` = TRUE,
//! `alpha` = 0.05, `trend` = TRUE, `limit54` = (5, 4), `powertrans` = "2/3", `range_start`
//! (default freq·b − w; the earliest allowed is freq − w + 1, where one reference value exists).
//!
//! **Definition** (R's `fitFun = "algo.farrington.fitGLM.fast"`). At time k the reference values
//! are y at k − freq·i + (−w..w), i = 1..b; indices below 1 are silently dropped (`n_ref_missing`).
//! A quasi-Poisson GLM `y ~ 1 + wtime` (wtime = time index) is fitted; if it does not converge
//! it is refitted without trend (and used even if that fit fails to converge, as R does).
//! φ = max(1, Pearson dispersion). With `reweight`, Anscombe residuals
//! s = 1.5(y^{2/3}μ^{−1/6} − μ^{1/2})/√(φ(1 − h)) give weights γ·s⁻² for s > 1 (**threshold 1**,
//! not 2.58 as in the flexible version) and γ otherwise, Σω = n, and the model is refitted. The
//! trend is kept iff b ≥ 3, its t-test p-value < 0.05 and the prediction ≤ max(reference y);
//! otherwise the model is refitted without it. With μ0 the prediction and se its standard error
//! (dispersion φ), τ = φ + se²/μ0 and U = (μ0^{2/3} + z·√(4/9·μ0^{1/3}·τ))^{3/2} with the
//! **two-sided z = qnorm(1 − alpha/2)**. The alarm is (y − μ0)/(U − μ0) > 1 (no y ≠ 0 condition).
//! **Fewer than 5 cases in the last 4 weeks (limit54) give upper bound 0 (not NA) and no alarm.**
//! `pd_q` = Φ((y^{2/3} − μ0^{2/3})/se) (lower tail), `pd_median` = μ0.
//!
//! **R call.** `algo.farrington(disProg, control = list(b = 5, w = 3, reweight = TRUE,
//! alpha = 0.05, trend = TRUE, limit54 = c(5, 4), powertrans = "2/3"))`.

use crate::error::{DetectError, bad_value, validate_counts};
use crate::glm::{Design, Family, GlmFit, ResponseLogarithms, Workspace, fit_with_logarithms};
use crate::math::{exp, pnorm, pow, qnorm, r_max, t_two_sided_p_value};
use crate::range::resolve_range;

/// Power transformation of the threshold (`powertrans`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerTransform {
    /// No transformation (`"none"`).
    Identity,
    /// Square root (`"1/2"`).
    SquareRoot,
    /// Two-thirds power (`"2/3"`, the default).
    TwoThirds,
}

impl PowerTransform {
    /// Exponent as R writes it.
    fn exponent(self) -> f64 {
        match self {
            PowerTransform::Identity => 1.0,
            PowerTransform::SquareRoot => 1.0 / 2.0,
            PowerTransform::TwoThirds => 2.0 / 3.0,
        }
    }

    /// Standard deviation of the transformed prediction given μ0 and τ.
    fn standard_error(self, mu0: f64, tau: f64) -> f64 {
        match self {
            PowerTransform::Identity => (mu0 * tau).sqrt(),
            PowerTransform::SquareRoot => (1.0 / 4.0 * tau).sqrt(),
            PowerTransform::TwoThirds => (4.0 / 9.0 * pow(mu0, 1.0 / 3.0) * tau).sqrt(),
        }
    }
}

/// The limit54 rule: at least `cases` reports in the last `weeks` periods (current included).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit54 {
    /// Minimum number of cases (5).
    pub cases: f64,
    /// Number of periods (4).
    pub weeks: usize,
}

impl Default for Limit54 {
    fn default() -> Self {
        Self {
            cases: 5.0,
            weeks: 4,
        }
    }
}

impl Limit54 {
    /// Whether the series has enough cases at 1-based time `k`.
    pub(crate) fn enough_cases(&self, observed: &[f64], k: usize) -> bool {
        let first = (k + 1).saturating_sub(self.weeks).max(1);
        observed[first - 1..k].iter().sum::<f64>() >= self.cases
    }

    pub(crate) fn validate(&self) -> Result<(), DetectError> {
        if self.cases.is_nan() || self.cases < 0.0 || self.weeks == 0 {
            return Err(bad_value(
                "limit54",
                format!("{},{}", self.cases, self.weeks),
                "cases must be >= 0 and period > 0",
            ));
        }
        Ok(())
    }
}

/// Control of [`farrington`].
#[derive(Debug, Clone, PartialEq)]
pub struct FarringtonControl {
    /// Years back (`b`).
    pub b: usize,
    /// Half window (`w`).
    pub w: usize,
    /// Down-weight past outbreaks (`reweight`).
    pub reweight: bool,
    /// Significance level (`alpha`), used two-sided.
    pub alpha: f64,
    /// Allow a linear trend (`trend`).
    pub trend: bool,
    /// limit54 rule.
    pub limit54: Limit54,
    /// Power transformation.
    pub power_transform: PowerTransform,
    /// First evaluated point; `None` is freq·b − w.
    pub range_start: Option<usize>,
    /// Period (52 weekly, 365 daily).
    pub period: usize,
}

impl FarringtonControl {
    /// R defaults.
    pub fn new(period: usize) -> Self {
        Self {
            b: 5,
            w: 3,
            reweight: true,
            alpha: 0.05,
            trend: true,
            limit54: Limit54::default(),
            power_transform: PowerTransform::TwoThirds,
            range_start: None,
            period,
        }
    }
}

/// One evaluated time point of [`farrington`].
#[derive(Debug, Clone, PartialEq)]
pub struct FarringtonPoint {
    /// 1-based time index.
    pub time: usize,
    /// Observed count.
    pub observed: f64,
    /// Upper bound U (0 when limit54 fails; NaN if the fit gave no standard error).
    pub upperbound: f64,
    /// Exceedance score > 1; NA when the score is NaN.
    pub alarm: Option<bool>,
    /// Whether the trend was kept.
    pub trend_kept: bool,
    /// Prediction μ0.
    pub mu0: f64,
    /// Standard error of μ0 (dispersion φ).
    pub se_mu0: f64,
    /// Dispersion φ = max(1, Pearson).
    pub phi: f64,
    /// Φ((y^{2/3} − μ0^{2/3})/se).
    pub pd_q: f64,
    /// Median of the predictive distribution (= μ0).
    pub pd_median: f64,
    /// Number of reference values used.
    pub reference_count: usize,
    /// Number of reference values with index < 1 (dropped).
    pub reference_missing: usize,
    /// limit54 satisfied.
    pub enough_cases: bool,
    /// Final GLM converged.
    pub converged: bool,
}

/// Reference data of one time point: response, time index and factor level per row.
#[derive(Debug, Default)]
pub(crate) struct ReferenceData {
    pub(crate) response: Vec<f64>,
    /// ln(y + 0.1) per row.
    pub(crate) log_start: Vec<f64>,
    /// y·ln(y) per row.
    pub(crate) y_log_y: Vec<f64>,
    /// y^(2/3) per row.
    pub(crate) y_two_thirds: Vec<f64>,
    pub(crate) time: Vec<f64>,
    pub(crate) level: Vec<usize>,
    /// Number of factor indicator columns (0 without `seasgroups`).
    pub(crate) level_columns: usize,
}

impl ReferenceData {
    pub(crate) fn clear(&mut self) {
        self.response.clear();
        self.log_start.clear();
        self.y_log_y.clear();
        self.y_two_thirds.clear();
        self.time.clear();
        self.level.clear();
        self.level_columns = 0;
    }

    /// Add observation `index` (0-based) of the series whose per-value tables are `tables`.
    pub(crate) fn push(&mut self, tables: &SeriesTables, index: usize, level: usize) {
        self.response.push(tables.observed[index]);
        self.log_start.push(tables.log_start[index]);
        self.y_log_y.push(tables.y_log_y[index]);
        self.y_two_thirds.push(tables.y_two_thirds[index]);
        let time = (index + 1) as f64;
        self.time.push(time);
        self.level.push(level);
    }

    pub(crate) fn max_response(&self) -> f64 {
        self.response
            .iter()
            .fold(f64::NEG_INFINITY, |a, b| a.max(*b))
    }
}

/// Per-observation quantities computed once per series and copied into each reference set.
#[derive(Debug, Default)]
pub(crate) struct SeriesTables {
    pub(crate) observed: Vec<f64>,
    log_start: Vec<f64>,
    y_log_y: Vec<f64>,
    y_two_thirds: Vec<f64>,
}

impl SeriesTables {
    pub(crate) fn new(observed: &[f64]) -> Self {
        let mut tables = Self {
            observed: observed.to_vec(),
            ..Self::default()
        };
        for y in observed {
            let (log_start, y_log_y) = crate::glm::response_logarithms(*y);
            tables.log_start.push(log_start);
            tables.y_log_y.push(y_log_y);
            let cube_root = libm::cbrt(*y);
            tables.y_two_thirds.push(cube_root * cube_root);
        }
        tables
    }
}

/// Which R fitting function is mimicked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FitSettings {
    pub(crate) reweight: bool,
    pub(crate) weights_threshold: f64,
    /// `algo.farrington.fitGLM.flexible`: NULL when no fit converges, and `model$weights` is
    /// overwritten by the reweighting weights (which changes `summary.glm`'s dispersion).
    pub(crate) flexible: bool,
}

/// A fitted Farrington model.
#[derive(Debug, Clone)]
pub(crate) struct FarringtonModel {
    pub(crate) glm: GlmFit,
    /// φ = max(1, Pearson dispersion).
    pub(crate) phi: f64,
    /// Whether `wtime` is a column (the model may have fallen back to no trend).
    pub(crate) has_trend: bool,
    /// The dispersion `summary.glm` would report on the returned object.
    pub(crate) summary_dispersion: f64,
}

impl FarringtonModel {
    /// η0 and x0'(X'WX)⁻¹x0 at the prediction point (time offset 0, level `level`).
    pub(crate) fn prediction(&self, level: usize) -> (f64, f64) {
        let dense: &[f64] = if self.has_trend { &[1.0, 0.0] } else { &[1.0] };
        let eta = crate::glm::linear_predictor(dense, level, &self.glm.coefficients);
        (eta, self.glm.quadratic_form(dense, level))
    }

    /// Two-sided t-test p-value of the trend coefficient, as `summary.glm` reports it.
    pub(crate) fn trend_p_value(&self) -> f64 {
        let standard_error = (self.summary_dispersion * self.glm.covariance(1, 1)).sqrt();
        t_two_sided_p_value(
            self.glm.coefficients[1] / standard_error,
            self.glm.df_residual,
        )
    }
}

/// Buffers reused across time points.
#[derive(Debug, Default)]
pub(crate) struct FarringtonWorkspace {
    pub(crate) data: ReferenceData,
    design: Design,
    /// (k, trend) of the design currently built.
    design_key: Option<(usize, bool)>,
    glm: Workspace,
    hat: Vec<f64>,
    residuals: Vec<f64>,
    weights: Vec<f64>,
}

/// Build the design `1 [+ (t − k)] [+ seasgroups]`; the time covariate is centred at k.
fn build_design(data: &ReferenceData, k: usize, trend: bool, design: &mut Design) {
    let dense_width = if trend { 2 } else { 1 };
    design.reset(dense_width, data.level_columns);
    for (time, level) in data.time.iter().zip(&data.level) {
        if trend {
            design.push_row(&[1.0, time - k as f64], *level);
        } else {
            design.push_row(&[1.0], *level);
        }
    }
}

/// Build the design for (k, trend) unless the workspace already holds it. The reference data
/// are filled once per time point k, so (k, trend) identifies the design.
fn ensure_design(workspace: &mut FarringtonWorkspace, k: usize, trend: bool) {
    if workspace.design_key != Some((k, trend)) {
        build_design(&workspace.data, k, trend, &mut workspace.design);
        workspace.design_key = Some((k, trend));
    }
}

/// One quasi-Poisson fit with optional prior weights.
fn fit_once(
    workspace: &mut FarringtonWorkspace,
    k: usize,
    trend: bool,
    prior: Option<&[f64]>,
) -> Option<GlmFit> {
    ensure_design(workspace, k, trend);
    let data = &workspace.data;
    let logarithms = ResponseLogarithms {
        log_start: &data.log_start,
        y_log_y: &data.y_log_y,
    };
    fit_with_logarithms(
        &workspace.design,
        &data.response,
        Some(logarithms),
        prior,
        Family::Poisson,
        None,
        &mut workspace.glm,
    )
    .ok()
}

/// Fit as `algo.farrington.fitGLM.fast` / `.flexible`, including the reweighting step.
pub(crate) fn fit_farrington(
    workspace: &mut FarringtonWorkspace,
    k: usize,
    trend: bool,
    settings: FitSettings,
) -> Option<FarringtonModel> {
    let mut has_trend = trend;
    let mut glm = fit_once(workspace, k, trend, None);
    if !glm.as_ref().is_some_and(|m| m.converged) && trend {
        has_trend = false;
        glm = fit_once(workspace, k, false, None);
    }
    let mut glm = glm?;
    if settings.flexible && !glm.converged {
        return None;
    }
    let y = &workspace.data.response;
    let mut phi = r_max(glm.pearson_dispersion(y), 1.0);
    let mut summary_dispersion = glm.pearson_dispersion(y);
    if settings.reweight {
        // Hat values are those of the model before reweighting.
        ensure_design(workspace, k, has_trend);
        glm.hat_values_into(&workspace.design, &mut workspace.hat);
        anscombe_residuals(
            &workspace.data.y_two_thirds,
            &glm.fitted,
            &workspace.hat,
            phi,
            &mut workspace.residuals,
        );
        assign_weights(
            &workspace.residuals,
            settings.weights_threshold,
            &mut workspace.weights,
        );
        let weights = std::mem::take(&mut workspace.weights);
        let refit = fit_once(workspace, k, has_trend, Some(&weights));
        workspace.weights = weights;
        glm = refit?;
        let y = &workspace.data.response;
        phi = r_max(glm.pearson_dispersion(y), 1.0);
        summary_dispersion = if settings.flexible {
            glm.dispersion_with_weights(y, &workspace.weights)
        } else {
            glm.pearson_dispersion(y)
        };
    }
    Some(FarringtonModel {
        glm,
        phi,
        has_trend,
        summary_dispersion,
    })
}

/// Standardised Anscombe residuals 1.5(y^{2/3}μ^{−1/6} − μ^{1/2})/√(φ(1 − h)), given y^{2/3}.
fn anscombe_residuals(y_two_thirds: &[f64], mu: &[f64], hat: &[f64], phi: f64, out: &mut Vec<f64>) {
    out.clear();
    for ((y_power, mi), hi) in y_two_thirds.iter().zip(mu).zip(hat) {
        // y^(2/3) (tabulated as cbrt(y)²), μ^(−1/6) and μ^(1/2) through cbrt and sqrt: within
        // 2 ulp of R's powl, and several times faster than pow in this per-row loop.
        let root_mu = mi.sqrt();
        let raw = 3.0 / 2.0 * (y_power / libm::cbrt(root_mu) - root_mu);
        out.push(raw / (phi * (1.0 - hi)).sqrt());
    }
}

/// `algo.farrington.assign.weights`: γ·s⁻² above the threshold, γ otherwise, Σω = n.
fn assign_weights(residuals: &[f64], threshold: f64, out: &mut Vec<f64>) {
    let inverse_square = |s: f64| 1.0 / (s * s);
    let total: f64 = residuals
        .iter()
        .map(|s| {
            if *s > threshold {
                inverse_square(*s)
            } else {
                1.0
            }
        })
        .sum();
    let gamma = residuals.len() as f64 / total;
    out.clear();
    out.extend(residuals.iter().map(|s| {
        if *s > threshold {
            gamma * inverse_square(*s)
        } else {
            gamma
        }
    }));
}

/// Upper bound of the (power-transformed) prediction interval: (μ0^e + z·se)^{1/e} and se.
pub(crate) fn delta_upper_bound(
    mu0: f64,
    se_fit: f64,
    phi: f64,
    z: f64,
    transform: PowerTransform,
) -> (f64, f64) {
    let tau = phi + se_fit * se_fit / mu0;
    let se = transform.standard_error(mu0, tau);
    let exponent = transform.exponent();
    let upper = pow(pow(mu0, exponent) + z * se, 1.0 / exponent);
    (upper, se)
}

/// Run the classic Farrington algorithm.
pub fn farrington(
    observed: &[f64],
    control: &FarringtonControl,
) -> Result<Vec<FarringtonPoint>, DetectError> {
    validate_counts(observed)?;
    validate_common(control.b, control.alpha, control.period)?;
    control.limit54.validate()?;
    if control.w >= control.period {
        // Keeps the reference loops bounded; R would silently reuse overlapping years.
        return Err(bad_value(
            "w",
            control.w,
            "half window must be shorter than the period",
        ));
    }
    let default_start = (control.period * control.b)
        .saturating_sub(control.w)
        .max(1);
    // R accepts earlier points too and drops reference indices below 1; at least one index of
    // the window one year back must exist.
    let minimum_start = (control.period + 1).saturating_sub(control.w).max(1);
    let range = resolve_range(
        "farrington",
        default_start,
        minimum_start,
        observed.len(),
        control.range_start,
    )?;
    let z = qnorm(1.0 - control.alpha / 2.0, 0.0, 1.0);
    let settings = FitSettings {
        reweight: control.reweight,
        weights_threshold: 1.0,
        flexible: false,
    };
    let mut workspace = FarringtonWorkspace::default();
    let tables = SeriesTables::new(observed);
    let points = range
        .map(|k| classic_point(&tables, k, control, z, settings, &mut workspace))
        .collect();
    Ok(points)
}

pub(crate) fn validate_common(b: usize, alpha: f64, period: usize) -> Result<(), DetectError> {
    if b == 0 {
        return Err(bad_value("b", b, "must be at least 1"));
    }
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(bad_value("alpha", alpha, "must lie in (0, 1)"));
    }
    if period == 0 {
        return Err(bad_value("freq", period, "must be positive"));
    }
    Ok(())
}

/// Reference values of the classic algorithm at time k (indices < 1 dropped).
fn classic_reference(
    tables: &SeriesTables,
    k: usize,
    control: &FarringtonControl,
    data: &mut ReferenceData,
) -> usize {
    let observed = &tables.observed;
    data.clear();
    let mut missing = 0;
    for i in (1..=control.b).rev() {
        let centre = k as i64 - (control.period * i) as i64;
        for offset in -(control.w as i64)..=(control.w as i64) {
            let index = centre + offset;
            if index >= 1 && (index as usize) <= observed.len() {
                data.push(tables, index as usize - 1, 0);
            } else {
                missing += 1;
            }
        }
    }
    missing
}

/// Evaluate one time point of the classic algorithm.
fn classic_point(
    tables: &SeriesTables,
    k: usize,
    control: &FarringtonControl,
    z: f64,
    settings: FitSettings,
    workspace: &mut FarringtonWorkspace,
) -> FarringtonPoint {
    let observed = &tables.observed;
    let missing = classic_reference(tables, k, control, &mut workspace.data);
    let reference_count = workspace.data.response.len();
    let y = observed[k - 1];
    let enough_cases = control.limit54.enough_cases(observed, k);
    let model = fit_farrington(workspace, k, control.trend, settings);
    let Some(mut model) = model else {
        return failed_classic_point(k, y, reference_count, missing, enough_cases);
    };
    let mut trend_kept = false;
    if model.has_trend {
        let (eta, _) = model.prediction(0);
        let significant = model.trend_p_value() < 0.05;
        let no_extrapolation = exp(eta) <= workspace.data.max_response();
        trend_kept = control.b >= 3 && significant && no_extrapolation;
        if !trend_kept {
            match fit_farrington(workspace, k, false, settings) {
                Some(refit) => model = refit,
                None => return failed_classic_point(k, y, reference_count, missing, enough_cases),
            }
        }
    }
    let (eta, quadratic) = model.prediction(0);
    let mu0 = crate::glm::inverse_link(eta);
    let se_mu0 = (model.phi * quadratic).sqrt() * mu0;
    let (upper, se) = delta_upper_bound(mu0, se_mu0, model.phi, z, control.power_transform);
    let exponent = control.power_transform.exponent();
    let score = if enough_cases {
        (y - mu0) / (upper - mu0)
    } else {
        0.0
    };
    FarringtonPoint {
        time: k,
        observed: y,
        upperbound: if enough_cases { upper } else { 0.0 },
        alarm: (!score.is_nan()).then_some(score > 1.0),
        trend_kept,
        mu0,
        se_mu0,
        phi: model.phi,
        pd_q: pnorm(pow(y, exponent), pow(mu0, exponent), se, true),
        pd_median: pow(qnorm(0.5, pow(mu0, exponent), se), 1.0 / exponent),
        reference_count,
        reference_missing: missing,
        enough_cases,
        converged: model.glm.converged,
    }
}

/// A point whose model could not be fitted at all (never happens with R's own data).
fn failed_classic_point(
    k: usize,
    y: f64,
    reference_count: usize,
    missing: usize,
    enough_cases: bool,
) -> FarringtonPoint {
    FarringtonPoint {
        time: k,
        observed: y,
        upperbound: f64::NAN,
        alarm: None,
        trend_kept: false,
        mu0: f64::NAN,
        se_mu0: f64::NAN,
        phi: f64::NAN,
        pd_q: f64::NAN,
        pd_median: f64::NAN,
        reference_count,
        reference_missing: missing,
        enough_cases,
        converged: false,
    }
}
