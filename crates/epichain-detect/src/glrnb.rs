//! Generalised likelihood ratio detector for Poisson and negative binomial counts
//! (`algo.glrnb` / `glrnb` in R surveillance 1.20.3).
//!
//! **Purpose.** A CUSUM whose out-of-control level is estimated rather than fixed: at each time
//! n it maximises, over every possible change point k and every multiplicative increase e^κ of
//! the in-control mean, the log-likelihood ratio of "mean μ0·e^κ since k" against "mean μ0", and
//! signals when the maximum reaches `c.ARL`.
//!
//! **Reference.** Höhle M, Paul M (2008). *Count data regression charts for the monitoring of
//! surveillance time series.* Computational Statistics & Data Analysis 52(9):4357–4368.
//!
//! **Parameters** (R names): `c.ARL` = 5; `alpha` (absent: estimated by `MASS::glm.nb`, the NB
//! dispersion α = 1/θ; 0: Poisson); `ret` = `value` (the GLR statistic) or `cases` (the smallest
//! count at n that would alarm; for the NB chart R searches only up to `xMax` = 10⁴ and reports
//! 1e99 beyond); `range_start` (default ⌊n/2⌋ + 1). Fixed as in
//! the R defaults: `Mtilde = 1`, `M = −1` (no window), `change = "intercept"`, `dir = "inc"`,
//! `mu0 = list(S = 1, trend = FALSE, refit = FALSE)`.
//!
//! **Definition.** μ0 from `y ~ 1 + cos(2πt/freq) + sin(2πt/freq)` fitted on t = 1..range_start−1.
//! Poisson (C `glr_cusum`): G_n = max_{k ≤ n} \[κ̂·Σx + (1 − e^κ̂)·Σμ0\] over k..n with
//! κ̂ = max(0, log(Σx/Σμ0)). Negative binomial (C `glr_nb_window`): κ̂ by Newton–Raphson on the
//! NB score (start 0.5, then warm-started, stop at |Δκ| ≤ 1e-6 or κ ≤ −18, at most 1000 steps),
//! l_{n,k} = Σ κ̂x + (x + 1/α) log((1 + αμ0)/(1 + αμ0e^κ̂)). Alarm iff G_n ≥ c.ARL; **after an
//! alarm the detector restarts at the next time point** (sums start afresh), as in R. The
//! upper bound is G_n (or the case count), negative or NA values set to 0.
//!
//! **R call.** `glrnb(sts, control = list(range = (floor(n/2)+1):n, alpha = 0, c.ARL = 5,
//! ret = "value", mu0 = list(S = 1, trend = FALSE, refit = FALSE)))`.

use crate::cusum::{SeasonalRows, half_series_start, seasonal_poisson_means};
use crate::error::{DetectError, bad_value, validate_counts};
use crate::glm::{Design, fit_negative_binomial, inverse_link, linear_predictor};
use crate::math::{exp, ln};
use crate::range::resolve_range;

/// What the upper bound reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlrReturn {
    /// The GLR statistic G_n.
    Value,
    /// The smallest count at n that would make G_n ≥ c.ARL.
    Cases,
}

/// The in-control distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GlrDispersion {
    /// Poisson (R `alpha = 0`).
    Poisson,
    /// Negative binomial with α estimated by `glm.nb` (R `alpha = NULL`).
    Estimated,
    /// Negative binomial with a given α > 0.
    Fixed(f64),
}

/// Control of [`glrnb`].
#[derive(Debug, Clone, PartialEq)]
pub struct GlrControl {
    /// Alarm threshold `c.ARL`.
    pub c_arl: f64,
    /// Distribution.
    pub dispersion: GlrDispersion,
    /// What to report as the upper bound.
    pub ret: GlrReturn,
    /// First evaluated point; `None` is ⌊n/2⌋ + 1.
    pub range_start: Option<usize>,
    /// Period of the seasonal baseline model.
    pub period: usize,
}

impl GlrControl {
    /// R defaults (Poisson, `c.ARL = 5`, `ret = "value"`).
    pub fn new(period: usize) -> Self {
        Self {
            c_arl: 5.0,
            dispersion: GlrDispersion::Poisson,
            ret: GlrReturn::Value,
            range_start: None,
            period,
        }
    }
}

/// One evaluated time point of [`glrnb`].
#[derive(Debug, Clone, PartialEq)]
pub struct GlrPoint {
    /// 1-based time index.
    pub time: usize,
    /// Observed count.
    pub observed: f64,
    /// GLR statistic or case count (0 where R gives NA or a negative value).
    pub upperbound: f64,
    /// G_n ≥ c.ARL.
    pub alarm: bool,
    /// In-control mean μ0 at t.
    pub mu0: f64,
    /// NB dispersion α used (0 for Poisson).
    pub alpha: f64,
}

/// Largest case count searched for `ret = "cases"` before reporting infinity.
const CASES_SEARCH_MAX: f64 = 1e15;

/// Run the GLR detector.
pub fn glrnb(observed: &[f64], control: &GlrControl) -> Result<Vec<GlrPoint>, DetectError> {
    validate_counts(observed)?;
    if !control.c_arl.is_finite() {
        return Err(bad_value("c.ARL", control.c_arl, "must be finite"));
    }
    let length = observed.len();
    let range = resolve_range(
        "glrnb",
        half_series_start(length),
        2,
        length,
        control.range_start,
    )?;
    let start = *range.start();
    let training = &observed[..start - 1];
    let (mu0, alpha) = baseline_means(training, start, length, control)?;
    // R passes the counts through as.integer().
    let counts: Vec<f64> = observed[start - 1..]
        .iter()
        .map(|x| libm::trunc(*x))
        .collect();
    let (upper, alarms) = run_segments(&counts, &mu0, alpha, control);
    Ok(range
        .enumerate()
        .map(|(i, t)| GlrPoint {
            time: t,
            observed: observed[t - 1],
            upperbound: if upper[i].is_nan() || upper[i] < 0.0 {
                0.0
            } else {
                upper[i]
            },
            alarm: alarms[i],
            mu0: mu0[i],
            alpha,
        })
        .collect())
}

/// μ0 over the evaluated range and the dispersion α.
fn baseline_means(
    training: &[f64],
    start: usize,
    length: usize,
    control: &GlrControl,
) -> Result<(Vec<f64>, f64), DetectError> {
    let training_times = (1..start).map(|i| i as i64);
    let prediction_times = (start..=length).map(|i| i as i64);
    match control.dispersion {
        GlrDispersion::Poisson => Ok((
            seasonal_poisson_means(training, training_times, prediction_times, control.period)?,
            0.0,
        )),
        GlrDispersion::Fixed(alpha) if alpha > 0.0 && alpha.is_finite() => {
            let means = negative_binomial_means(
                training,
                training_times,
                prediction_times,
                control,
                Some(alpha),
            )?;
            Ok((means.0, alpha))
        }
        GlrDispersion::Fixed(alpha) => {
            Err(bad_value("alpha", alpha, "must be positive and finite"))
        }
        GlrDispersion::Estimated => {
            negative_binomial_means(training, training_times, prediction_times, control, None)
        }
    }
}

/// Seasonal NB means: `glm.nb` (θ estimated) or, with α given, a NB GLM with θ = 1/α.
fn negative_binomial_means(
    training: &[f64],
    training_times: impl Iterator<Item = i64>,
    prediction_times: impl Iterator<Item = i64>,
    control: &GlrControl,
    alpha: Option<f64>,
) -> Result<(Vec<f64>, f64), DetectError> {
    let rows = SeasonalRows::new(control.period);
    let mut design = Design::new(3);
    for t in training_times {
        design.push_row(&rows.row(t), 0);
    }
    let mut workspace = Default::default();
    let failure = |f| DetectError::ModelFit(format!("negative binomial GLM: {f:?}"));
    let (coefficients, alpha) = match alpha {
        None => {
            let model =
                fit_negative_binomial(&design, training, &mut workspace).map_err(failure)?;
            (model.model.coefficients, 1.0 / model.theta)
        }
        Some(alpha) => {
            let family = crate::glm::Family::NegativeBinomial { theta: 1.0 / alpha };
            let model = crate::glm::fit(&design, training, None, family, None, &mut workspace)
                .map_err(failure)?;
            (model.coefficients, alpha)
        }
    };
    let means = prediction_times
        .map(|t| inverse_link(linear_predictor(&rows.row(t), 0, &coefficients)))
        .collect();
    Ok((means, alpha))
}

/// Run the detector with restarts after each alarm; returns (upper bound, alarm) per point.
fn run_segments(
    counts: &[f64],
    mu0: &[f64],
    alpha: f64,
    control: &GlrControl,
) -> (Vec<f64>, Vec<bool>) {
    let total = counts.len();
    let mut upper = vec![0.0; total];
    let mut alarms = vec![false; total];
    let mut poisson = PoissonGlr::default();
    let mut segment_start = 0;
    while segment_start < total {
        let x = &counts[segment_start..];
        let mu = &mu0[segment_start..];
        poisson.reset();
        let mut alarm_at = None;
        for n in 0..x.len() {
            let value = if alpha > 0.0 {
                glr_negative_binomial(&x[..=n], &mu[..=n], alpha)
            } else {
                poisson.push(mu[n], x[n])
            };
            upper[segment_start + n] = match (control.ret, alpha > 0.0) {
                (GlrReturn::Value, _) => value,
                (GlrReturn::Cases, false) => poisson.cases_needed(x[n], control.c_arl),
                (GlrReturn::Cases, true) => {
                    negative_binomial_cases_needed(&x[..=n], &mu[..=n], alpha, control.c_arl)
                }
            };
            if value >= control.c_arl {
                alarm_at = Some(n);
                break;
            }
        }
        match alarm_at {
            Some(n) => {
                alarms[segment_start + n] = true;
                segment_start += n + 1;
            }
            None => break,
        }
    }
    (upper, alarms)
}

/// l_{n,k} of the Poisson intercept chart for suffix sums (Σx, Σμ0), as C `glr` computes it.
#[inline]
fn poisson_log_likelihood_ratio(sum_x: f64, sum_mu: f64) -> f64 {
    if sum_x.is_nan() || sum_mu.is_nan() || sum_x <= sum_mu {
        // κ̂ = 0 (C's fmax(0, log(..)) also maps NaN to 0): the ratio is exactly 0.
        return 0.0;
    }
    // κ̂ = log(Σx/Σμ0) > 0; C's κ̂Σx + (1 − e^κ̂)Σμ0 with e^κ̂ = Σx/Σμ0 (equal to rounding).
    let ratio = sum_x / sum_mu;
    sum_x * ln(ratio) + (sum_mu - sum_x)
}

/// Poisson GLR of one segment, in amortised O(log n) per time point.
///
/// G_n = max_k f(S_k) over the suffix sums S_k = (Σμ0, Σx) from k to n, where
/// f(X, M) = sup_{κ ≥ 0} κX − (e^κ − 1)M is convex. With prefix sums Q_k, S_k = Q_{n+1} − Q_k,
/// so the maximum is attained at a vertex of the convex hull of {Q_0, …, Q_n}. The prefix points
/// arrive sorted by Σμ0 (μ0 > 0), so Andrew's monotone chain keeps the lower hull chain
/// incrementally. Values agree with the O(n²) scan of R's C code to rounding (see the tests).
#[derive(Debug, Default)]
struct PoissonGlr {
    lower: Vec<(f64, f64)>,
    prefix: (f64, f64),
}

/// Cross product of (a − o) × (b − o).
#[inline]
fn cross(o: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
}

impl PoissonGlr {
    fn reset(&mut self) {
        self.lower.clear();
        self.prefix = (0.0, 0.0);
    }

    /// Add time point n (μ0, x) and return G_n. Only the lower hull chain can hold the maximum
    /// (see [`PoissonGlr::statistic`]).
    fn push(&mut self, mu: f64, x: f64) -> f64 {
        let point = self.prefix;
        while self.lower.len() >= 2
            && cross(
                self.lower[self.lower.len() - 2],
                self.lower[self.lower.len() - 1],
                point,
            ) <= 0.0
        {
            self.lower.pop();
        }
        self.lower.push(point);
        self.prefix = (self.prefix.0 + mu, self.prefix.1 + x);
        self.statistic(self.prefix)
    }

    /// max over the candidate hull vertices q of f(total − q).
    ///
    /// f(T − q) is a supremum over κ ≥ 0 of functions linear in q with gradient
    /// (e^κ − 1, −κ) in (Σμ0, Σx), whose ratio (e^κ − 1)/κ is at least 1. Such a function is
    /// maximised on the lower chain, at a vertex whose outgoing edge has slope ≥ 1 (or the last
    /// vertex), so the scan walks the lower chain from the right and stops at the first edge
    /// with slope below 1.
    fn statistic(&self, total: (f64, f64)) -> f64 {
        let mut best = -1e99;
        let mut index = self.lower.len();
        while index > 0 {
            index -= 1;
            let q = self.lower[index];
            let value = poisson_log_likelihood_ratio(total.1 - q.1, total.0 - q.0);
            if value > best {
                best = value;
            }
            if index > 0 {
                let left = self.lower[index - 1];
                if q.1 - left.1 < q.0 - left.0 {
                    break;
                }
            }
        }
        best
    }

    /// Smallest count at the latest point (whose count was `count`) that makes G_n reach `c_arl`.
    fn cases_needed(&self, count: f64, c_arl: f64) -> f64 {
        let without_count = self.prefix.1 - count;
        let statistic_at = |cases: f64| self.statistic((self.prefix.0, without_count + cases));
        if statistic_at(0.0) >= c_arl {
            return 0.0;
        }
        // G_n is non-decreasing in the count: double, then bisect.
        let mut low = 0.0;
        let mut high = 1.0;
        while statistic_at(high) < c_arl {
            low = high;
            high *= 2.0;
            if high > CASES_SEARCH_MAX {
                return f64::INFINITY;
            }
        }
        while high - low > 1.0 {
            let middle = libm::floor((low + high) / 2.0);
            if statistic_at(middle) >= c_arl {
                high = middle;
            } else {
                low = middle;
            }
        }
        high
    }
}

/// O(n²) Poisson GLR exactly as C `glr` (backwards over k); the reference for [`PoissonGlr`].
#[cfg(test)]
fn glr_poisson_scan(x: &[f64], mu0: &[f64]) -> f64 {
    let mut sum_x = 0.0;
    let mut sum_mu = 0.0;
    let mut best = -1e99;
    for k in (0..x.len()).rev() {
        sum_x += x[k];
        sum_mu += mu0[k];
        let value = poisson_log_likelihood_ratio(sum_x, sum_mu);
        if value > best {
            best = value;
        }
    }
    best
}

/// R's `xMax`: the largest count its brute-force NB case search tries.
const NB_CASES_SEARCH_MAX: f64 = 1e4;
/// What R reports when no count up to `xMax` alarms.
const NB_CASES_NOT_FOUND: f64 = 1e99;

/// Smallest count at the last point making the NB GLR reach `c_arl`, as R's brute-force search
/// finds it (counts 0..=xMax+1, else 1e99). The NB statistic is non-decreasing in the last
/// count, so a bisection gives R's answer with O(log xMax) evaluations instead of a linear scan.
fn negative_binomial_cases_needed(x: &[f64], mu0: &[f64], alpha: f64, c_arl: f64) -> f64 {
    let mut buffer = x.to_vec();
    let last = buffer.len() - 1;
    let mut statistic_at = |cases: f64| {
        buffer[last] = cases;
        glr_negative_binomial(&buffer, mu0, alpha)
    };
    if statistic_at(0.0) >= c_arl {
        return 0.0;
    }
    let mut low = 0.0;
    let mut high = NB_CASES_SEARCH_MAX + 1.0;
    if statistic_at(high) < c_arl {
        return NB_CASES_NOT_FOUND;
    }
    while high - low > 1.0 {
        let middle = libm::floor((low + high) / 2.0);
        if statistic_at(middle) >= c_arl {
            high = middle;
        } else {
            low = middle;
        }
    }
    high
}

/// Newton–Raphson stopping rules of C `glr_nb_window`.
const NB_KAPPA_TOLERANCE: f64 = 1e-6;
const NB_KAPPA_FLOOR: f64 = -18.0;
const NB_ITERATIONS_MAX: usize = 1000;

/// NB GLR statistic at the last point of the segment (C `glr_nb_window`, M = −1, Mtilde = 1).
fn glr_negative_binomial(x: &[f64], mu0: &[f64], alpha: f64) -> f64 {
    let n = x.len() - 1;
    let mut best = -1e99;
    let mut kappa_ml = 0.5;
    for k in 0..=n {
        let mut kappa_old = 0.4;
        let mut kappa_new = kappa_ml;
        let mut iterations = 0;
        while kappa_new > NB_KAPPA_FLOOR
            && (kappa_new - kappa_old).abs() > NB_KAPPA_TOLERANCE
            && iterations < NB_ITERATIONS_MAX
        {
            iterations += 1;
            kappa_old = kappa_new;
            let (score, fisher) = nb_score_fisher(kappa_old, &x[k..], &mu0[k..], alpha);
            kappa_new = kappa_old + score / fisher;
        }
        kappa_ml = 0.0f64.max(kappa_new);
        if kappa_ml.is_nan() {
            kappa_ml = 0.0;
        }
        let lnk = nb_log_likelihood_ratio(kappa_ml, &x[k..], &mu0[k..], alpha);
        if lnk > best {
            best = lnk;
        }
    }
    best
}

/// Score and Fisher information of κ for the NB intercept chart.
fn nb_score_fisher(kappa: f64, x: &[f64], mu0: &[f64], alpha: f64) -> (f64, f64) {
    let factor = exp(kappa);
    let mut score = 0.0;
    let mut fisher = 0.0;
    for (xi, mi) in x.iter().zip(mu0) {
        let denominator = 1.0 + alpha * factor * mi;
        score += (xi - factor * mi) / denominator;
        fisher += mi * (alpha * xi + 1.0) / (denominator * denominator);
    }
    (score, factor * fisher)
}

/// l_{n,k} for the NB intercept chart.
fn nb_log_likelihood_ratio(kappa: f64, x: &[f64], mu0: &[f64], alpha: f64) -> f64 {
    let factor = exp(kappa);
    let mut sum = 0.0;
    for (xi, mi) in x.iter().zip(mu0) {
        sum +=
            kappa * xi + (xi + 1.0 / alpha) * ln((1.0 + alpha * mi) / (1.0 + alpha * mi * factor));
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The bisection finds what R's step-by-step search finds.
    #[test]
    fn negative_binomial_cases_match_a_linear_search() {
        let x = [2.0, 0.0, 3.0, 1.0, 4.0, 0.0];
        let mu = [1.5, 1.2, 1.8, 2.0, 1.1, 1.4];
        for n in 0..x.len() {
            let fast = negative_binomial_cases_needed(&x[..=n], &mu[..=n], 0.3, 5.0);
            let mut buffer = x[..=n].to_vec();
            let slow = (0..=10_001)
                .map(f64::from)
                .find(|cases| {
                    buffer[n] = *cases;
                    glr_negative_binomial(&buffer, &mu[..=n], 0.3) >= 5.0
                })
                .unwrap_or(NB_CASES_NOT_FOUND);
            assert_eq!(fast, slow, "n={n}");
        }
    }

    proptest! {
        /// The hull shortcut gives R's O(n²) scan value at every time point.
        #[test]
        fn hull_matches_the_quadratic_scan(
            data in prop::collection::vec((0u32..30, 0.05f64..20.0), 1..150),
        ) {
            let (x, mu): (Vec<f64>, Vec<f64>) =
                data.iter().map(|(x, m)| (*x as f64, *m)).unzip();
            let mut glr = PoissonGlr::default();
            for n in 0..x.len() {
                let fast = glr.push(mu[n], x[n]);
                let slow = glr_poisson_scan(&x[..=n], &mu[..=n]);
                prop_assert!((fast - slow).abs() <= 1e-9 * slow.abs().max(1.0), "n={} {} vs {}", n, fast, slow);
            }
        }
    }
}
