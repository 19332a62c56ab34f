//! Poisson CUSUM (`algo.cusum` / `cusum` in R surveillance 1.20.3).
//!
//! **Purpose.** Page's cumulative sum accumulates standardised excesses over a reference mean and
//! signals once the sum passes a decision interval, so it detects small persistent increases
//! faster than a per-period threshold.
//!
//! **Reference.** Page ES (1954). *Continuous inspection schemes.* Biometrika 41:100–115.
//! Rossi G, Lampugnani L, Marchi M (1999). *An approximate CUSUM procedure for surveillance of
//! health events.* Stat Med 18:2111–2122.
//!
//! **Parameters** (R names): `k` = 1.04, `h` = 2.26, `m` (absent: mean of the training part
//! y\[1..range_start−1\]; `glm`: Poisson GLM `y ~ 1 + cos(2πt/freq) + sin(2πt/freq)` on the
//! training part, t = index; or a number), `trans` = `standard` | `rossi` | `anscombe`, and the
//! evaluation start `range_start` (default ⌊n/2⌋ + 1, so the first half is training).
//!
//! **Definition.** z_t = (x−m)/√m (standard), (x − 3m + 2√(xm))/(2√m) (rossi),
//! 1.5(x^{2/3} − m^{2/3})/m^{1/6} (anscombe). S_0 = 0, S_t = max(0, S_{t−1} + z_t − k); alarm iff
//! S_t ≥ h (non-strict). **As in R there is no reset after an alarm** (textbook CUSUM restarts at
//! 0), so alarms persist while S stays high. The upper bound is the smallest count that would
//! alarm: ⌈√m(h + k − S_{t−1}) + m⌉ for standard, the rossi and anscombe inversions otherwise,
//! NA or negative values set to 0.
//!
//! **R call.** `cusum(sts, control = list(range = (floor(n/2)+1):n, k = 1.04, h = 2.26,
//! m = NULL, trans = "standard"))`.

use crate::error::{DetectError, bad_value, validate_counts};
use crate::glm::{Design, Family, fit, inverse_link, linear_predictor};
use crate::math::{pow, r_max};
use crate::range::resolve_range;

/// How the in-control mean m is obtained.
#[derive(Debug, Clone, PartialEq)]
pub enum CusumMean {
    /// Mean of the training part (R's `m = NULL`).
    TrainingMean,
    /// Seasonal Poisson GLM on the training part (R's `m = "glm"`).
    Glm,
    /// A given constant.
    Constant(f64),
}

/// Standardisation of the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CusumTransform {
    /// (x − m)/√m.
    Standard,
    /// Rossi's approximate normal transform.
    Rossi,
    /// Anscombe's transform for Poisson data.
    Anscombe,
}

/// Control of [`cusum`].
#[derive(Debug, Clone, PartialEq)]
pub struct CusumControl {
    /// Reference value k.
    pub k: f64,
    /// Decision interval h.
    pub h: f64,
    /// In-control mean.
    pub m: CusumMean,
    /// Transformation.
    pub transform: CusumTransform,
    /// First evaluated point (1-based); `None` is ⌊n/2⌋ + 1.
    pub range_start: Option<usize>,
    /// Period of the seasonal GLM (52 weekly, 365 daily).
    pub period: usize,
    /// Period index of the first observation (R's `start[2]`, 1 by default).
    pub start_period: usize,
}

impl CusumControl {
    /// R's defaults for a series with the given period.
    pub fn new(period: usize) -> Self {
        Self {
            k: 1.04,
            h: 2.26,
            m: CusumMean::TrainingMean,
            transform: CusumTransform::Standard,
            range_start: None,
            period,
            start_period: 1,
        }
    }
}

/// One evaluated time point of [`cusum`].
#[derive(Debug, Clone, PartialEq)]
pub struct CusumPoint {
    /// 1-based time index.
    pub time: usize,
    /// Observed count.
    pub observed: f64,
    /// Smallest count that would alarm at t (0 where R gives NA or a negative value).
    pub upperbound: f64,
    /// S_t ≥ h; NA when S_t is NaN.
    pub alarm: Option<bool>,
    /// CUSUM statistic S_t.
    pub statistic: f64,
    /// In-control mean m at t.
    pub mean: f64,
}

/// Default evaluation start of CUSUM and GLR: ⌊n/2⌋ + 1.
pub(crate) fn half_series_start(length: usize) -> usize {
    length / 2 + 1
}

/// Seasonal design rows \[1, cos(2πt/P), sin(2πt/P)\] with the trigonometric values tabulated
/// over one period (t is reduced modulo P first; R evaluates `2*pi/p*t` on the unreduced t, which
/// differs only by the rounding of the larger angle, about 1e-14 relative).
pub(crate) struct SeasonalRows {
    cosine: Vec<f64>,
    sine: Vec<f64>,
}

impl SeasonalRows {
    pub(crate) fn new(period: usize) -> Self {
        let step = 2.0 * std::f64::consts::PI / period as f64;
        let (cosine, sine) = (0..period)
            .map(|t| {
                let angle = step * t as f64;
                (libm::cos(angle), libm::sin(angle))
            })
            .unzip();
        Self { cosine, sine }
    }

    /// Row for integer time `t` (any sign).
    pub(crate) fn row(&self, t: i64) -> [f64; 3] {
        let period = self.cosine.len() as i64;
        let phase = t.rem_euclid(period) as usize;
        [1.0, self.cosine[phase], self.sine[phase]]
    }
}

/// Fitted seasonal Poisson means at `prediction_times` from training on `training`.
pub(crate) fn seasonal_poisson_means(
    training: &[f64],
    training_times: impl Iterator<Item = i64>,
    prediction_times: impl Iterator<Item = i64>,
    period: usize,
) -> Result<Vec<f64>, DetectError> {
    let rows = SeasonalRows::new(period);
    let mut design = Design::new(3);
    for t in training_times {
        design.push_row(&rows.row(t), 0);
    }
    let mut workspace = Default::default();
    let model = fit(
        &design,
        training,
        None,
        Family::Poisson,
        None,
        &mut workspace,
    )
    .map_err(|failure| DetectError::ModelFit(format!("seasonal Poisson GLM: {failure:?}")))?;
    Ok(prediction_times
        .map(|t| inverse_link(linear_predictor(&rows.row(t), 0, &model.coefficients)))
        .collect())
}

/// Run the CUSUM.
pub fn cusum(observed: &[f64], control: &CusumControl) -> Result<Vec<CusumPoint>, DetectError> {
    validate_counts(observed)?;
    if !control.k.is_finite() {
        return Err(bad_value("k", control.k, "must be finite"));
    }
    if !control.h.is_finite() {
        return Err(bad_value("h", control.h, "must be finite"));
    }
    let length = observed.len();
    let range = resolve_range(
        "cusum",
        half_series_start(length),
        2,
        length,
        control.range_start,
    )?;
    let start = *range.start();
    let training = &observed[..start - 1];
    let means = in_control_means(training, control, start, length)?;
    let mut statistic_previous = 0.0;
    let points = range
        .zip(means)
        .map(|(t, m)| {
            let x = observed[t - 1];
            let z = standardise(x, m, control.transform);
            let statistic = r_max(0.0, statistic_previous + (z - control.k));
            let upperbound = upper_bound(m, control, statistic_previous);
            statistic_previous = statistic;
            CusumPoint {
                time: t,
                observed: x,
                upperbound,
                alarm: (!statistic.is_nan()).then_some(statistic >= control.h),
                statistic,
                mean: m,
            }
        })
        .collect();
    Ok(points)
}

/// m for every evaluated point.
fn in_control_means(
    training: &[f64],
    control: &CusumControl,
    start: usize,
    length: usize,
) -> Result<Vec<f64>, DetectError> {
    let count = length + 1 - start;
    match &control.m {
        CusumMean::TrainingMean => Ok(vec![crate::math::mean(training); count]),
        CusumMean::Constant(m) => Ok(vec![*m; count]),
        CusumMean::Glm => {
            let offset = control.start_period as i64 - 1;
            seasonal_poisson_means(
                training,
                (1..start).map(|i| i as i64 + offset),
                (start..=length).map(|i| i as i64 + offset),
                control.period,
            )
        }
    }
}

/// Standardised count z_t.
fn standardise(x: f64, m: f64, transform: CusumTransform) -> f64 {
    match transform {
        CusumTransform::Standard => (x - m) / m.sqrt(),
        CusumTransform::Rossi => (x - 3.0 * m + 2.0 * (x * m).sqrt()) / (2.0 * m.sqrt()),
        CusumTransform::Anscombe => {
            3.0 / 2.0 * (pow(x, 2.0 / 3.0) - pow(m, 2.0 / 3.0)) / pow(m, 1.0 / 6.0)
        }
    }
}

/// R's upper bound for the transform, with NA/NaN and negative values set to 0.
fn upper_bound(m: f64, control: &CusumControl, statistic_previous: f64) -> f64 {
    let (h, k, c) = (control.h, control.k, statistic_previous);
    let value = match control.transform {
        CusumTransform::Standard => libm::ceil(m.sqrt() * (h + k - c) + m),
        CusumTransform::Rossi => {
            let root_m = pow(m, 0.5);
            let m_three_halves = pow(m, 1.5);
            2.0 * h * root_m + 2.0 * k * root_m - 2.0 * c * root_m + 5.0 * m
                - 2.0
                    * pow(
                        4.0 * m * m + 2.0 * m_three_halves * h + 2.0 * m_three_halves * k
                            - 2.0 * m_three_halves * c,
                        0.5,
                    )
        }
        CusumTransform::Anscombe => {
            let base = (2.0 / 3.0) * pow(m, 1.0 / 6.0) * (h + k - c) + pow(m, 2.0 / 3.0);
            if base < 0.0 {
                0.0
            } else {
                pow(base, 3.0 / 2.0)
            }
        }
    };
    if value.is_nan() || value < 0.0 {
        0.0
    } else {
        value
    }
}
