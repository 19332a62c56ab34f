//! Early-warning contracts: the pure parts (which rules apply to which series, the method a rule
//! runs and how much history it reads, signal ids). The methods themselves, their parameters
//! and defaults belong to `epichain-detect` ([`MethodConfig`]); the executor keeps the counts
//! and runs the rules after every block (`execute/warning.rs`).

use epichain_core::encoding::{Hash, hash_value};
use epichain_core::warning::{Period, WarningRule};
use epichain_core::{Catalogue, DiseaseCode, Level, RegionCode, RegionSet};
use epichain_detect::{DetectError, MethodConfig};

/// Longest series a rule may ask for (five 365-day years plus margins).
pub const HISTORY_DAYS_MAX: usize = 5 * 365 + 120;

/// Domain tag of signal ids.
pub const SIGNAL_ID_TAG: &str = "epichain/v1/signal-id";

/// The method configuration of a rule and the history one evaluation reads, capped at
/// [`HISTORY_DAYS_MAX`]; the error if the rule's parameters do not validate (governance and
/// genesis refuse such rules, so a committed rule always parses).
pub fn method_of(rule: &WarningRule) -> Result<(MethodConfig, usize), DetectError> {
    let config = MethodConfig::parse(&rule.method, &rule.parameters, rule.period.frequency())?;
    let cap = match rule.period {
        Period::Daily => HISTORY_DAYS_MAX,
        Period::Weekly => HISTORY_DAYS_MAX / 7,
    };
    let history = config.history_periods().clamp(1, cap);
    Ok((config, history))
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
    fn history_is_the_methods_and_capped() {
        let mpm = rule(
            "mpm",
            &[("window", "7"), ("years", "3"), ("half", "2")],
            Period::Daily,
        );
        assert_eq!(method_of(&mpm).expect("valid").1, 365 * 3 + 14 + 7);
        let long = rule("mpm", &[("years", "9")], Period::Daily);
        assert_eq!(method_of(&long).expect("valid").1, HISTORY_DAYS_MAX);
        assert!(method_of(&rule("mpm", &[("prob", "often")], Period::Daily)).is_err());
    }
}
