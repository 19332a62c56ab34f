//! A detection method with validated parameters: what a warning rule runs.
//!
//! [`MethodConfig::parse`] checks the method name and every parameter once (a rule whose
//! parameters do not parse is refused where it is set, not discovered when it never fires);
//! [`MethodConfig::history_periods`] says how much history one evaluation reads; and
//! [`MethodConfig::evaluate_last`] runs the method on a series and returns its verdict on the
//! last point.

use crate::error::DetectError;
use crate::params::Control;

/// The numbers behind a verdict on the last point of a series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// The method's alarm at the last point.
    pub alarm: bool,
    /// The statistic compared (the window or period count; the count itself for methods that
    /// compare it directly).
    pub statistic: f64,
    /// The threshold (upper bound); NaN where the method gives none.
    pub threshold: f64,
}

/// A method with its parameters parsed and validated, for one period (frequency).
#[derive(Clone, Debug, PartialEq)]
pub struct MethodConfig {
    method: String,
    frequency: u32,
    control: Control,
}

impl MethodConfig {
    /// Parses `method` (one of [`crate::METHOD_NAMES`]) with R-named `parameters` for a series
    /// of `frequency` periods per year (52 weekly, 365 daily). Fails on an unknown method, an
    /// unknown parameter or a value out of its domain.
    pub fn parse(
        method: &str,
        parameters: &[(String, String)],
        frequency: u32,
    ) -> Result<Self, DetectError> {
        Ok(MethodConfig {
            method: method.to_string(),
            frequency,
            control: Control::parse(method, parameters, frequency)?,
        })
    }

    /// The method's name.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// Periods per year.
    pub fn frequency(&self) -> u32 {
        self.frequency
    }

    /// Periods of history one evaluation reads, the evaluated point included.
    pub fn history_periods(&self) -> usize {
        self.control.history_periods().max(1)
    }

    /// Runs the method on `series` (oldest first) and returns its verdict on the last point.
    /// Fails where the method cannot evaluate it (too little history, a model that cannot be
    /// fitted, invalid counts).
    pub fn evaluate_last(&self, series: &[f64]) -> Result<Evaluation, DetectError> {
        let mut control = self.control.clone();
        control.set_range_start(series.len().max(1));
        let (columns, rows) = control.tabulate(series)?;
        let Some(row) = rows.last().filter(|row| row.t == series.len()) else {
            return Err(DetectError::SeriesTooShort {
                method: "evaluate_last",
                needed: self.history_periods(),
                actual: series.len(),
            });
        };
        let current = columns
            .iter()
            .position(|column| *column == "current")
            .and_then(|index| row.values.get(index).copied().flatten());
        Ok(Evaluation {
            alarm: row.alarm == Some(true),
            statistic: current.unwrap_or(row.observed),
            threshold: row.upperbound.unwrap_or(f64::NAN),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn history_follows_the_parameters() {
        let mpm = MethodConfig::parse(
            "mpm",
            &pairs(&[("window", "7"), ("years", "3"), ("half", "2")]),
            365,
        )
        .expect("valid");
        assert_eq!(mpm.history_periods(), 365 * 3 + 14 + 7);
        let fixed = MethodConfig::parse("fixed", &pairs(&[("k", "1")]), 365).expect("valid");
        assert_eq!(fixed.history_periods(), 1);
        let farrington =
            MethodConfig::parse("farrington-flexible", &pairs(&[("b", "3"), ("w", "3")]), 52)
                .expect("valid");
        assert_eq!(farrington.history_periods(), 52 * 3 + 4);
    }

    #[test]
    fn bad_parameters_are_refused_at_parse() {
        for (method, parameters) in [
            ("mpm", pairs(&[("prob", "high")])),
            ("mpm", pairs(&[("window", "-1")])),
            (
                "farrington-flexible",
                pairs(&[("thresholdMethod", "magic")]),
            ),
            ("ears-c3", pairs(&[("alpha", "0.001"), ("beta", "2")])),
            ("glrnb", pairs(&[("alpha", "-1")])),
            ("no-such-method", Vec::new()),
        ] {
            assert!(
                MethodConfig::parse(method, &parameters, 52).is_err(),
                "{method} {parameters:?} parsed"
            );
        }
    }

    #[test]
    fn fixed_threshold_alarms_on_the_first_case() {
        let fixed = MethodConfig::parse("fixed", &pairs(&[("k", "1")]), 365).expect("valid");
        assert!(!fixed.evaluate_last(&[0.0]).expect("evaluates").alarm);
        let one = fixed.evaluate_last(&[1.0]).expect("evaluates");
        assert!(one.alarm);
        assert_eq!(one.threshold, 1.0);
    }

    #[test]
    fn moving_percentile_alarms_above_the_seasonal_baseline() {
        let mpm = MethodConfig::parse(
            "mpm",
            &pairs(&[
                ("window", "7"),
                ("years", "1"),
                ("half", "1"),
                ("prob", "0.8"),
            ]),
            365,
        )
        .expect("valid");
        let length = mpm.history_periods();
        let mut series = vec![2.0; length];
        assert!(!mpm.evaluate_last(&series).expect("evaluates").alarm);
        *series.last_mut().expect("point") = 30.0;
        let alarm = mpm.evaluate_last(&series).expect("evaluates");
        assert!(alarm.alarm);
        assert_eq!(alarm.statistic, 6.0 * 2.0 + 30.0);
        assert_eq!(alarm.threshold, 14.0);
        assert!(
            mpm.evaluate_last(&series[1..]).is_err(),
            "too short to evaluate"
        );
    }
}
