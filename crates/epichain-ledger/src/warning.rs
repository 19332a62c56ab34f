//! Early-warning contracts: the pure parts (which rules apply to which series, how much history
//! a method needs, evaluating a series, who may take which workflow step).
//!
//! The executor keeps the counts and calls these after every block; see `execute.rs`.

use epichain_core::encoding::{Hash, hash_value};
use epichain_core::warning::{Period, WarningRule};
use epichain_core::{Catalogue, DiseaseCode, Level, RegionCode, RegionSet};

/// Longest series a rule may ask for (five 365-day years plus margins).
pub const HISTORY_DAYS_MAX: usize = 5 * 365 + 120;

/// Domain tag of signal ids.
pub const SIGNAL_ID_TAG: &str = "epichain/v1/signal-id";

/// The numbers behind a signal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// The method's alarm at the last point.
    pub alarm: bool,
    /// The statistic compared (window or period count).
    pub statistic: f64,
    /// The threshold (upper bound).
    pub threshold: f64,
}

fn parameter(rule: &WarningRule, name: &str, default: usize) -> usize {
    rule.parameters
        .iter()
        .find(|(key, _)| key == name)
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(default)
}

/// How many periods of history a rule's method needs (the last one is evaluated).
pub fn history_length(rule: &WarningRule) -> usize {
    let frequency = rule.period.frequency() as usize;
    let length = match rule.method.as_str() {
        "fixed" => 1,
        "mpm" => {
            let window = parameter(
                rule,
                "window",
                if rule.period == Period::Daily { 7 } else { 1 },
            );
            frequency * parameter(rule, "years", 5) + window * parameter(rule, "half", 2) + window
        }
        "ears-c1" | "ears-c2" | "ears-c3" => parameter(rule, "baseline", 7) + 5,
        "farrington" | "farrington-flexible" => {
            frequency * parameter(rule, "b", 5) + parameter(rule, "w", 3) + 1
        }
        _ => 2 * frequency,
    };
    let cap = match rule.period {
        Period::Daily => HISTORY_DAYS_MAX,
        Period::Weekly => HISTORY_DAYS_MAX / 7,
    };
    length.clamp(1, cap)
}

/// Runs the rule's method on `series` (oldest first) and returns its verdict on the last point;
/// `None` if the method cannot evaluate it (too little history, a fit that fails).
pub fn evaluate(rule: &WarningRule, series: &[f64]) -> Option<Evaluation> {
    let mut parameters = rule.parameters.clone();
    if rule.method != "fixed" {
        parameters.push(("range_start".to_string(), series.len().to_string()));
    }
    let output =
        epichain_detect::run(&rule.method, &parameters, rule.period.frequency(), series).ok()?;
    let row = output.rows.last()?;
    if row.t != series.len() {
        return None;
    }
    let current = output
        .columns
        .iter()
        .position(|column| *column == "current")
        .and_then(|index| row.values.get(index).copied().flatten());
    Some(Evaluation {
        alarm: row.alarm == Some(true),
        statistic: current.unwrap_or(row.observed),
        threshold: row.upperbound.unwrap_or(f64::NAN),
    })
}

/// True if `rule` watches the series of `disease` in `region`: the disease is in scope, and the
/// region is at the rule's level (for district rules: a reporting unit, i.e. a region without
/// districts below it).
pub fn applies(
    rule: &WarningRule,
    disease: &DiseaseCode,
    region: RegionCode,
    catalogue: &Catalogue,
    regions: &RegionSet,
) -> bool {
    if !rule.diseases.covers(disease, catalogue) {
        return false;
    }
    match rule.level {
        Level::District => region.level() >= Level::City && !regions.has_children(region),
        level => region.level() == level,
    }
}

/// Regions a weekly rule evaluates when a week closes.
pub fn regions_at(level: Level, regions: &RegionSet) -> Vec<RegionCode> {
    if level == Level::National {
        return vec![RegionCode::NATIONAL];
    }
    regions
        .iter()
        .map(|info| info.code)
        .filter(|code| match level {
            Level::District => code.level() >= Level::City && !regions.has_children(*code),
            level => code.level() == level,
        })
        .collect()
}

/// The id of the signal of a series, method and period: at most one exists.
pub fn signal_id(
    disease: &DiseaseCode,
    region: RegionCode,
    method: &str,
    period: Period,
    period_index: u32,
) -> Hash {
    hash_value(
        SIGNAL_ID_TAG,
        &(disease, region, method.to_string(), period, period_index),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use epichain_core::warning::DiseaseScope;

    fn rule(method: &str, parameters: &[(&str, &str)], period: Period) -> WarningRule {
        WarningRule {
            diseases: DiseaseScope::Others,
            level: Level::District,
            period,
            method: method.into(),
            parameters: parameters
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
            required_steps: vec![],
        }
    }

    #[test]
    fn history_lengths_follow_the_methods() {
        let mpm = rule(
            "mpm",
            &[("window", "7"), ("years", "3"), ("half", "2")],
            Period::Daily,
        );
        assert_eq!(history_length(&mpm), 365 * 3 + 14 + 7);
        assert_eq!(
            history_length(&rule("fixed", &[("k", "1")], Period::Daily)),
            1
        );
        let farrington = rule(
            "farrington-flexible",
            &[("b", "3"), ("w", "3")],
            Period::Weekly,
        );
        assert_eq!(history_length(&farrington), 52 * 3 + 4);
    }

    #[test]
    fn fixed_threshold_alarms_on_the_first_case() {
        let fixed = rule("fixed", &[("k", "1")], Period::Daily);
        assert_eq!(evaluate(&fixed, &[0.0]).map(|e| e.alarm), Some(false));
        let one = evaluate(&fixed, &[1.0]).expect("evaluates");
        assert!(one.alarm);
        assert_eq!(one.threshold, 1.0);
    }

    #[test]
    fn moving_percentile_alarms_above_the_seasonal_baseline() {
        let mpm = rule(
            "mpm",
            &[
                ("window", "7"),
                ("years", "1"),
                ("half", "1"),
                ("prob", "0.8"),
            ],
            Period::Daily,
        );
        let length = history_length(&mpm);
        let mut series = vec![2.0; length];
        assert_eq!(evaluate(&mpm, &series).map(|e| e.alarm), Some(false));
        *series.last_mut().expect("point") = 30.0;
        let alarm = evaluate(&mpm, &series).expect("evaluates");
        assert!(alarm.alarm);
        assert_eq!(alarm.statistic, 6.0 * 2.0 + 30.0);
        assert_eq!(alarm.threshold, 14.0);
        assert!(
            evaluate(&mpm, &series[1..]).is_none(),
            "too short to evaluate"
        );
    }
}
