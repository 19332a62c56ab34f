//! Call any method by name with R's parameter names, and get a table back.
//!
//! [`run`] takes the method name (one of [`METHOD_NAMES`]), `(name, value)` parameter pairs with
//! R's names, the period (52 weekly, 365 daily) and the counts, and returns an [`Output`]: one
//! [`Row`] per evaluated time point with `t, observed, upperbound, alarm` and the method's own
//! columns. A caller writes it as CSV `series_id,t,observed,upperbound,alarm,...` using
//! [`format_value`] and [`format_alarm`] (`NA` where R gives NA, `NaN` where R gives NaN).
//!
//! Every method also accepts `range_start` (1-based first evaluated point; R's default range
//! otherwise). Values are R-like: `TRUE`/`FALSE`, numbers, `NULL` for R's NULL, and
//! `limit54 = "5,4"` (or `c(5,4)`).

use crate::cusum::{CusumControl, CusumMean, CusumTransform, cusum};
use crate::ears::{EarsControl, EarsMethod, ears};
use crate::error::{DetectError, bad_value};
use crate::farrington::{FarringtonControl, Limit54, PowerTransform, farrington};
use crate::farrington_flexible::{FlexibleControl, ThresholdMethod, farrington_flexible};
use crate::glrnb::{GlrControl, GlrDispersion, GlrReturn, glrnb};
use crate::mpm::{Comparison, MpmControl, QuantileType, fixed, mpm};

/// Method names accepted by [`run`].
pub const METHOD_NAMES: [&str; 9] = [
    "fixed",
    "mpm",
    "ears-c1",
    "ears-c2",
    "ears-c3",
    "farrington",
    "farrington-flexible",
    "cusum",
    "glrnb",
];

/// One evaluated time point.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based time index.
    pub t: usize,
    /// Observed count.
    pub observed: f64,
    /// Upper bound; `None` is NA, `Some(NaN)` is NaN.
    pub upperbound: Option<f64>,
    /// Alarm; `None` is NA.
    pub alarm: Option<bool>,
    /// Method-specific values, in the order of [`Output::columns`].
    pub values: RowValues,
}

/// Most method-specific columns of any method (classic Farrington).
pub const COLUMNS_MAX: usize = 10;

/// Method-specific values of one row, stored inline (no allocation per row).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowValues {
    length: usize,
    items: [Option<f64>; COLUMNS_MAX],
}

impl RowValues {
    /// Values from a slice of at most [`COLUMNS_MAX`] items (extra items are dropped).
    pub fn from_slice(values: &[Option<f64>]) -> Self {
        let mut items = [None; COLUMNS_MAX];
        let length = values.len().min(COLUMNS_MAX);
        items[..length].copy_from_slice(&values[..length]);
        Self { length, items }
    }
}

impl std::ops::Deref for RowValues {
    type Target = [Option<f64>];

    fn deref(&self) -> &[Option<f64>] {
        &self.items[..self.length]
    }
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// Method name.
    pub method: String,
    /// Names of the method-specific columns.
    pub columns: Vec<&'static str>,
    /// One row per evaluated time point.
    pub rows: Vec<Row>,
}

impl Output {
    /// Full header after `series_id`: `t, observed, upperbound, alarm`, then [`Output::columns`].
    pub fn header(&self) -> Vec<&'static str> {
        let mut header = vec!["t", "observed", "upperbound", "alarm"];
        header.extend(self.columns.iter().copied());
        header
    }

    /// A row's cells formatted as in the header (numbers, `NA`, `NaN`, `Inf`).
    pub fn format_row(&self, row: &Row) -> Vec<String> {
        let mut cells = vec![
            row.t.to_string(),
            format_value(Some(row.observed)),
            format_value(row.upperbound),
            format_alarm(row.alarm).to_string(),
        ];
        cells.extend(row.values.iter().map(|v| format_value(*v)));
        cells
    }
}

/// Format a value as R writes it in CSV: `NA`, `NaN`, `Inf`, `-Inf`, or the shortest decimal
/// that reads back to the same `f64` (integers without a decimal point; magnitudes below 1e-5 or
/// from 1e15 on in exponent form such as `1e-20`).
pub fn format_value(value: Option<f64>) -> String {
    match value {
        None => "NA".to_string(),
        Some(v) if v.is_nan() => "NaN".to_string(),
        Some(v) if v == f64::INFINITY => "Inf".to_string(),
        Some(v) if v == f64::NEG_INFINITY => "-Inf".to_string(),
        // R prints negative zero as 0.
        Some(0.0) => "0".to_string(),
        Some(v) if (FIXED_NOTATION_MIN..FIXED_NOTATION_MAX).contains(&v.abs()) => format!("{v}"),
        Some(v) => format!("{v:e}"),
    }
}

/// Magnitudes printed in fixed notation; others use the shortest exponent form (`1e-20`).
const FIXED_NOTATION_MIN: f64 = 1e-5;
const FIXED_NOTATION_MAX: f64 = 1e15;

/// Format an alarm as `1`, `0` or `NA`.
pub fn format_alarm(alarm: Option<bool>) -> &'static str {
    match alarm {
        Some(true) => "1",
        Some(false) => "0",
        None => "NA",
    }
}

/// Parameters given by name, each to be consumed exactly once.
struct Parameters<'a> {
    method: &'a str,
    given: Vec<(&'a str, &'a str, bool)>,
}

impl<'a> Parameters<'a> {
    fn new(method: &'a str, params: &'a [(String, String)]) -> Result<Self, DetectError> {
        let mut given: Vec<(&str, &str, bool)> = Vec::with_capacity(params.len());
        for (name, value) in params {
            if given.iter().any(|(n, _, _)| n == name) {
                return Err(bad_value(name, value, "parameter given twice"));
            }
            given.push((name.as_str(), value.trim(), false));
        }
        Ok(Self { method, given })
    }

    /// The raw value of `name`, marking it used; `NULL` counts as absent.
    fn take(&mut self, name: &str) -> Option<&'a str> {
        let entry = self.given.iter_mut().find(|(n, _, _)| *n == name)?;
        entry.2 = true;
        (entry.1 != "NULL").then_some(entry.1)
    }

    fn number(&mut self, name: &str, default: f64) -> Result<f64, DetectError> {
        self.take(name)
            .map_or(Ok(default), |v| parse_number(name, v))
    }

    fn count(&mut self, name: &str, default: usize) -> Result<usize, DetectError> {
        self.take(name)
            .map_or(Ok(default), |v| parse_count(name, v))
    }

    fn optional_count(&mut self, name: &str) -> Result<Option<usize>, DetectError> {
        self.take(name).map(|v| parse_count(name, v)).transpose()
    }

    fn flag(&mut self, name: &str, default: bool) -> Result<bool, DetectError> {
        self.take(name).map_or(Ok(default), |v| parse_flag(name, v))
    }

    fn range_start(&mut self) -> Result<Option<usize>, DetectError> {
        self.optional_count("range_start")
    }

    /// Fail on any parameter the method did not consume.
    fn finish(self) -> Result<(), DetectError> {
        match self.given.iter().find(|(_, _, used)| !used) {
            Some((name, _, _)) => Err(DetectError::UnknownParameter {
                method: self.method.to_string(),
                parameter: name.to_string(),
            }),
            None => Ok(()),
        }
    }
}

fn parse_number(name: &str, value: &str) -> Result<f64, DetectError> {
    match value.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(number),
        _ => Err(bad_value(name, value, "expected a finite number")),
    }
}

fn parse_count(name: &str, value: &str) -> Result<usize, DetectError> {
    let number = parse_number(name, value)?;
    if number < 0.0 || number.fract() != 0.0 || number > u32::MAX as f64 {
        return Err(bad_value(name, value, "expected a non-negative integer"));
    }
    Ok(number as usize)
}

fn parse_flag(name: &str, value: &str) -> Result<bool, DetectError> {
    match value {
        "TRUE" | "true" | "T" | "1" => Ok(true),
        "FALSE" | "false" | "F" | "0" => Ok(false),
        _ => Err(bad_value(name, value, "expected TRUE or FALSE")),
    }
}

fn parse_limit54(value: &str) -> Result<Limit54, DetectError> {
    let inner = value.trim().trim_start_matches("c(").trim_end_matches(')');
    let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
    match parts.as_slice() {
        [cases, weeks] => Ok(Limit54 {
            cases: parse_number("limit54", cases)?,
            weeks: parse_count("limit54", weeks)?,
        }),
        _ => Err(bad_value(
            "limit54",
            value,
            "expected two numbers, e.g. 5,4",
        )),
    }
}

fn parse_power_transform(value: &str) -> Result<PowerTransform, DetectError> {
    match value {
        "2/3" => Ok(PowerTransform::TwoThirds),
        "1/2" => Ok(PowerTransform::SquareRoot),
        "none" => Ok(PowerTransform::Identity),
        _ => Err(bad_value("powertrans", value, "expected 2/3, 1/2 or none")),
    }
}

/// A method with its parameters parsed into its typed control.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Control {
    Fixed { k: f64, range_start: Option<usize> },
    Mpm(MpmControl),
    Ears(EarsControl),
    Farrington(FarringtonControl),
    Flexible(FlexibleControl),
    Cusum(CusumControl),
    Glrnb(GlrControl),
}

impl Control {
    /// Parses `params` for `method` (period `freq`); every parameter must be known and valid.
    pub(crate) fn parse(
        method: &str,
        params: &[(String, String)],
        freq: u32,
    ) -> Result<Control, DetectError> {
        if freq == 0 {
            return Err(bad_value("freq", freq, "must be positive"));
        }
        let period = freq as usize;
        let mut parameters = Parameters::new(method, params)?;
        let control = match method {
            "fixed" => Control::Fixed {
                k: parameters.number("k", 1.0)?,
                range_start: parameters.range_start()?,
            },
            "mpm" => Control::Mpm(parse_mpm(&mut parameters, period)?),
            "ears-c1" => Control::Ears(parse_ears(&mut parameters, EarsMethod::C1)?),
            "ears-c2" => Control::Ears(parse_ears(&mut parameters, EarsMethod::C2)?),
            "ears-c3" => Control::Ears(parse_ears(&mut parameters, EarsMethod::C3)?),
            "farrington" => Control::Farrington(parse_farrington(&mut parameters, period)?),
            "farrington-flexible" => Control::Flexible(parse_flexible(&mut parameters, period)?),
            "cusum" => Control::Cusum(parse_cusum(&mut parameters, period)?),
            "glrnb" => Control::Glrnb(parse_glrnb(&mut parameters, period)?),
            other => return Err(DetectError::UnknownMethod(other.to_string())),
        };
        parameters.finish()?;
        Ok(control)
    }

    /// Evaluates from `range_start` (1-based) on instead of R's default range.
    pub(crate) fn set_range_start(&mut self, start: usize) {
        let slot = match self {
            Control::Fixed { range_start, .. } => range_start,
            Control::Mpm(control) => &mut control.range_start,
            Control::Ears(control) => &mut control.range_start,
            Control::Farrington(control) => &mut control.range_start,
            Control::Flexible(control) => &mut control.range_start,
            Control::Cusum(control) => &mut control.range_start,
            Control::Glrnb(control) => &mut control.range_start,
        };
        *slot = Some(start);
    }

    /// Periods of history the method reads to evaluate one point (that point included).
    pub(crate) fn history_periods(&self) -> usize {
        match self {
            Control::Fixed { .. } => 1,
            Control::Mpm(control) => {
                control.period * control.years + control.window * control.half + control.window
            }
            Control::Ears(control) => control.baseline + 5,
            Control::Farrington(control) => control.period * control.b + control.w + 1,
            Control::Flexible(control) => control.period * control.b + control.w + 1,
            Control::Cusum(control) => 2 * control.period,
            Control::Glrnb(control) => 2 * control.period,
        }
    }

    /// Runs the method on `observed`.
    pub(crate) fn tabulate(&self, observed: &[f64]) -> Result<Table, DetectError> {
        match self {
            Control::Fixed { k, range_start } => tabulate_fixed(*k, *range_start, observed),
            Control::Mpm(control) => tabulate_mpm(control, observed),
            Control::Ears(control) => tabulate_ears(control, observed),
            Control::Farrington(control) => tabulate_farrington(control, observed),
            Control::Flexible(control) => tabulate_flexible(control, observed),
            Control::Cusum(control) => tabulate_cusum(control, observed),
            Control::Glrnb(control) => tabulate_glrnb(control, observed),
        }
    }
}

/// Run method `method` with R-named parameters on `observed` (period `freq`).
pub fn run(
    method: &str,
    params: &[(String, String)],
    freq: u32,
    observed: &[f64],
) -> Result<Output, DetectError> {
    let (columns, rows) = Control::parse(method, params, freq)?.tabulate(observed)?;
    Ok(Output {
        method: method.to_string(),
        columns,
        rows,
    })
}

pub(crate) type Table = (Vec<&'static str>, Vec<Row>);

fn tabulate_fixed(
    k: f64,
    range_start: Option<usize>,
    observed: &[f64],
) -> Result<Table, DetectError> {
    let rows = fixed(observed, k, range_start)?
        .into_iter()
        .map(|p| Row {
            t: p.time,
            observed: p.observed,
            upperbound: Some(p.threshold),
            alarm: Some(p.alarm),
            values: RowValues::from_slice(&[]),
        })
        .collect();
    Ok((Vec::new(), rows))
}

fn parse_mpm(parameters: &mut Parameters<'_>, period: usize) -> Result<MpmControl, DetectError> {
    let defaults = MpmControl::new(period);
    let quantile_type = match parameters.take("type") {
        None | Some("7") => QuantileType::Type7,
        Some("2") => QuantileType::Type2,
        Some(other) => return Err(bad_value("type", other, "expected 7 or 2")),
    };
    let compare = match parameters.take("compare") {
        None | Some(">") | Some("gt") => Comparison::Greater,
        Some(">=") | Some("ge") => Comparison::GreaterOrEqual,
        Some(other) => return Err(bad_value("compare", other, "expected > or >=")),
    };
    Ok(MpmControl {
        period,
        window: parameters.count("window", defaults.window)?,
        years: parameters.count("years", defaults.years)?,
        half: parameters.count("half", defaults.half)?,
        prob: parameters.number("prob", defaults.prob)?,
        quantile_type,
        compare,
        range_start: parameters.range_start()?,
    })
}

fn tabulate_mpm(control: &MpmControl, observed: &[f64]) -> Result<Table, DetectError> {
    let rows = mpm(observed, control)?
        .into_iter()
        .map(|p| Row {
            t: p.time,
            observed: p.observed,
            upperbound: Some(p.threshold),
            alarm: Some(p.alarm),
            values: RowValues::from_slice(&[Some(p.current), Some(p.baseline_count as f64)]),
        })
        .collect();
    Ok((vec!["current", "n_baseline"], rows))
}

fn parse_ears(
    parameters: &mut Parameters<'_>,
    method: EarsMethod,
) -> Result<EarsControl, DetectError> {
    let alpha = parameters
        .take("alpha")
        .map(|v| parse_number("alpha", v))
        .transpose()?;
    Ok(EarsControl {
        method,
        baseline: parameters.count("baseline", 7)?,
        alpha,
        min_sigma: parameters.number("minSigma", 0.0)?,
        range_start: parameters.range_start()?,
    })
}

fn tabulate_ears(control: &EarsControl, observed: &[f64]) -> Result<Table, DetectError> {
    let points = ears(observed, control)?;
    let c3 = control.method == EarsMethod::C3;
    let columns = if c3 {
        vec![
            "baseline_mean",
            "baseline_sd_raw",
            "sigma",
            "c2_t",
            "c2_tm1",
            "c2_tm2",
            "c3_lag_part",
            "c3_textbook",
        ]
    } else {
        vec!["baseline_mean", "baseline_sd_raw", "sigma", "stat"]
    };
    let rows = points
        .into_iter()
        .map(|p| {
            let all = [
                Some(p.baseline_mean),
                Some(p.baseline_sd),
                Some(p.sigma),
                Some(p.statistic),
                p.c2_lag1,
                p.c2_lag2,
                p.c3_lag_part,
                p.c3_textbook,
            ];
            let values = RowValues::from_slice(if c3 { &all } else { &all[..4] });
            Row {
                t: p.time,
                observed: p.observed,
                upperbound: Some(p.upperbound),
                alarm: p.alarm,
                values,
            }
        })
        .collect();
    Ok((columns, rows))
}

fn indicator(value: bool) -> Option<f64> {
    Some(if value { 1.0 } else { 0.0 })
}

fn parse_farrington(
    parameters: &mut Parameters<'_>,
    period: usize,
) -> Result<FarringtonControl, DetectError> {
    let defaults = FarringtonControl::new(period);
    Ok(FarringtonControl {
        b: parameters.count("b", defaults.b)?,
        w: parameters.count("w", defaults.w)?,
        reweight: parameters.flag("reweight", defaults.reweight)?,
        alpha: parameters.number("alpha", defaults.alpha)?,
        trend: parameters.flag("trend", defaults.trend)?,
        limit54: parameters
            .take("limit54")
            .map_or(Ok(defaults.limit54), parse_limit54)?,
        power_transform: parameters
            .take("powertrans")
            .map_or(Ok(defaults.power_transform), parse_power_transform)?,
        range_start: parameters.range_start()?,
        period,
    })
}

fn tabulate_farrington(
    control: &FarringtonControl,
    observed: &[f64],
) -> Result<Table, DetectError> {
    let columns = vec![
        "trend_kept",
        "mu0",
        "se_mu0",
        "phi",
        "pd_q",
        "pd_median",
        "n_ref",
        "n_ref_missing",
        "enough_cases",
        "glm_converged",
    ];
    let rows = farrington(observed, control)?
        .into_iter()
        .map(|p| Row {
            t: p.time,
            observed: p.observed,
            upperbound: Some(p.upperbound),
            alarm: p.alarm,
            values: RowValues::from_slice(&[
                indicator(p.trend_kept),
                Some(p.mu0),
                Some(p.se_mu0),
                Some(p.phi),
                Some(p.pd_q),
                Some(p.pd_median),
                Some(p.reference_count as f64),
                Some(p.reference_missing as f64),
                indicator(p.enough_cases),
                indicator(p.converged),
            ]),
        })
        .collect();
    Ok((columns, rows))
}

fn parse_flexible(
    parameters: &mut Parameters<'_>,
    period: usize,
) -> Result<FlexibleControl, DetectError> {
    let defaults = FlexibleControl::new(period);
    let threshold_method = match parameters.take("thresholdMethod") {
        None | Some("delta") => ThresholdMethod::Delta,
        Some("nbPlugin") => ThresholdMethod::NbPlugin,
        Some("muan") => ThresholdMethod::Muan,
        Some(other) => {
            return Err(bad_value(
                "thresholdMethod",
                other,
                "expected delta, nbPlugin or muan",
            ));
        }
    };
    Ok(FlexibleControl {
        b: parameters.count("b", defaults.b)?,
        w: parameters.count("w", defaults.w)?,
        reweight: parameters.flag("reweight", defaults.reweight)?,
        weights_threshold: parameters.number("weightsThreshold", defaults.weights_threshold)?,
        alpha: parameters.number("alpha", defaults.alpha)?,
        trend: parameters.flag("trend", defaults.trend)?,
        p_threshold_trend: parameters.number("pThresholdTrend", defaults.p_threshold_trend)?,
        limit54: parameters
            .take("limit54")
            .map_or(Ok(defaults.limit54), parse_limit54)?,
        power_transform: parameters
            .take("powertrans")
            .map_or(Ok(defaults.power_transform), parse_power_transform)?,
        no_periods: parameters.count("noPeriods", defaults.no_periods)?,
        past_weeks_not_included: parameters.optional_count("pastWeeksNotIncluded")?,
        threshold_method,
        range_start: parameters.range_start()?,
        period,
    })
}

fn tabulate_flexible(control: &FlexibleControl, observed: &[f64]) -> Result<Table, DetectError> {
    let columns = vec![
        "expected",
        "score",
        "pvalue",
        "phi",
        "trend_kept",
        "trend_coef",
        "mu0_quantile",
    ];
    let rows = farrington_flexible(observed, control)?
        .into_iter()
        .map(|p| Row {
            t: p.time,
            observed: p.observed,
            upperbound: p.upperbound,
            alarm: p.alarm,
            values: RowValues::from_slice(&[
                p.expected,
                p.score,
                p.pvalue,
                p.phi,
                p.trend_kept.and_then(indicator),
                p.trend_coefficient,
                p.mu0_quantile,
            ]),
        })
        .collect();
    Ok((columns, rows))
}

fn parse_cusum(
    parameters: &mut Parameters<'_>,
    period: usize,
) -> Result<CusumControl, DetectError> {
    let defaults = CusumControl::new(period);
    let m = match parameters.take("m") {
        None | Some("mean") => CusumMean::TrainingMean,
        Some("glm") => CusumMean::Glm,
        Some(value) => {
            let m = parse_number("m", value)?;
            if m <= 0.0 {
                return Err(bad_value("m", value, "must be positive, glm or NULL"));
            }
            CusumMean::Constant(m)
        }
    };
    let transform = match parameters.take("trans") {
        None | Some("standard") => CusumTransform::Standard,
        Some("rossi") => CusumTransform::Rossi,
        Some("anscombe") => CusumTransform::Anscombe,
        Some(other) => {
            return Err(bad_value(
                "trans",
                other,
                "expected standard, rossi or anscombe",
            ));
        }
    };
    Ok(CusumControl {
        k: parameters.number("k", defaults.k)?,
        h: parameters.number("h", defaults.h)?,
        m,
        transform,
        range_start: parameters.range_start()?,
        period,
        start_period: 1,
    })
}

fn tabulate_cusum(control: &CusumControl, observed: &[f64]) -> Result<Table, DetectError> {
    let rows = cusum(observed, control)?
        .into_iter()
        .map(|p| Row {
            t: p.time,
            observed: p.observed,
            upperbound: Some(p.upperbound),
            alarm: p.alarm,
            values: RowValues::from_slice(&[Some(p.statistic), Some(p.mean)]),
        })
        .collect();
    Ok((vec!["cusum", "m"], rows))
}

fn parse_glrnb(parameters: &mut Parameters<'_>, period: usize) -> Result<GlrControl, DetectError> {
    let dispersion = match parameters.take("alpha") {
        // R: a control list without alpha (or alpha = NULL) leaves it NULL: glm.nb estimates it.
        None => GlrDispersion::Estimated,
        Some(value) => match parse_number("alpha", value)? {
            0.0 => GlrDispersion::Poisson,
            alpha if alpha > 0.0 => GlrDispersion::Fixed(alpha),
            _ => return Err(bad_value("alpha", value, "must be >= 0 or NULL")),
        },
    };
    let ret = match parameters.take("ret") {
        None | Some("value") => GlrReturn::Value,
        Some("cases") => GlrReturn::Cases,
        Some(other) => return Err(bad_value("ret", other, "expected value or cases")),
    };
    Ok(GlrControl {
        c_arl: parameters.number("c.ARL", 5.0)?,
        dispersion,
        ret,
        range_start: parameters.range_start()?,
        period,
    })
}

fn tabulate_glrnb(control: &GlrControl, observed: &[f64]) -> Result<Table, DetectError> {
    let rows = glrnb(observed, control)?
        .into_iter()
        .map(|p| Row {
            t: p.time,
            observed: p.observed,
            upperbound: Some(p.upperbound),
            alarm: Some(p.alarm),
            values: RowValues::from_slice(&[Some(p.mu0), Some(p.alpha)]),
        })
        .collect();
    Ok((vec!["mu0", "alpha_nb"], rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn unknown_method_and_parameter_are_typed_errors() {
        let counts = vec![1.0; 20];
        assert!(matches!(
            run("nope", &[], 52, &counts),
            Err(DetectError::UnknownMethod(_))
        ));
        assert!(matches!(
            run("ears-c1", &pairs(&[("bogus", "1")]), 52, &counts),
            Err(DetectError::UnknownParameter { .. })
        ));
        assert!(matches!(
            run("ears-c1", &pairs(&[("alpha", "abc")]), 52, &counts),
            Err(DetectError::BadValue { .. })
        ));
        assert!(matches!(
            run("farrington-flexible", &[], 52, &counts),
            Err(DetectError::SeriesTooShort { .. })
        ));
    }

    #[test]
    fn values_format_like_r() {
        assert_eq!(format_value(None), "NA");
        assert_eq!(format_value(Some(f64::NAN)), "NaN");
        assert_eq!(format_value(Some(f64::INFINITY)), "Inf");
        assert_eq!(format_value(Some(3.0)), "3");
        assert_eq!(format_value(Some(0.25)), "0.25");
        assert_eq!(format_value(Some(-0.0)), "0");
        assert_eq!(format_value(Some(1e-20)), "1e-20");
        assert_eq!(format_value(Some(2.5e20)), "2.5e20");
        assert_eq!(format_alarm(None), "NA");
    }
}
