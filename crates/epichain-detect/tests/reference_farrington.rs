//! Classic and flexible Farrington against R surveillance 1.20.3 (tests/fixtures/SOURCES.md).
// Scenario tests read top to bottom as one story each; splitting them would hide the story.
#![allow(clippy::too_many_lines)]

mod common;

use common::{Report, Table, Tolerance, check, check_alarm, series};
use epichain_detect::farrington::{FarringtonControl, farrington};

/// GLM-based quantities agree to 1e-6 relative.
const MODEL: Tolerance = Tolerance::Relative(1e-6);

fn flag(value: bool) -> Option<f64> {
    Some(if value { 1.0 } else { 0.0 })
}

fn classic_config(file: &str, control: FarringtonControl) {
    let table = Table::read(&format!("outputs/{file}.csv"));
    let all_series = series();
    let mut report = Report::default();
    for (id, rows) in table.by_series() {
        let points = farrington(&all_series[&id], &control).expect("farrington runs");
        assert_eq!(points.len(), rows.len(), "{file} {id}: row count");
        for (point, row) in points.iter().zip(rows) {
            let get = |name: &str| row[table.column(name)].as_str();
            assert_eq!(get("t").parse::<usize>().expect("t"), point.time);
            let mut problems = Vec::new();
            check(
                &mut problems,
                "upperbound",
                get("upperbound"),
                Some(point.upperbound),
                MODEL,
            );
            check_alarm(&mut problems, "alarm", get("alarm"), point.alarm);
            check(
                &mut problems,
                "trend_kept",
                get("trend_kept"),
                flag(point.trend_kept),
                MODEL,
            );
            check(&mut problems, "mu0", get("mu0"), Some(point.mu0), MODEL);
            check(
                &mut problems,
                "se_mu0",
                get("se_mu0"),
                Some(point.se_mu0),
                MODEL,
            );
            check(&mut problems, "phi", get("phi"), Some(point.phi), MODEL);
            check(&mut problems, "pd_q", get("pd_q"), Some(point.pd_q), MODEL);
            check(
                &mut problems,
                "pd_median",
                get("pd_median"),
                Some(point.pd_median),
                MODEL,
            );
            check(
                &mut problems,
                "n_ref",
                get("n_ref"),
                Some(point.reference_count as f64),
                MODEL,
            );
            check(
                &mut problems,
                "n_ref_missing",
                get("n_ref_missing"),
                Some(point.reference_missing as f64),
                MODEL,
            );
            check(
                &mut problems,
                "enough_cases",
                get("enough_cases"),
                flag(point.enough_cases),
                MODEL,
            );
            check(
                &mut problems,
                "glm_converged",
                get("glm_converged"),
                flag(point.converged),
                MODEL,
            );
            report.row(&format!("{id} t={}", point.time), problems);
        }
    }
    report.assert_all(file);
}

#[test]
fn farrington_classic_default() {
    classic_config("farrington_classic_FA_default", FarringtonControl::new(52));
}

#[test]
fn farrington_classic_b3_w2_a001() {
    let control = FarringtonControl {
        b: 3,
        w: 2,
        alpha: 0.01,
        ..FarringtonControl::new(52)
    };
    classic_config("farrington_classic_FA_b3_w2_a0.01", control);
}

use epichain_detect::farrington_flexible::{FlexibleControl, ThresholdMethod, farrington_flexible};

fn flexible_config(file: &str, control: FlexibleControl) {
    let table = Table::read(&format!("outputs/{file}.csv"));
    let all_series = series();
    let mut report = Report::default();
    for (id, rows) in table.by_series() {
        let points =
            farrington_flexible(&all_series[&id], &control).expect("farringtonFlexible runs");
        assert_eq!(points.len(), rows.len(), "{file} {id}: row count");
        for (point, row) in points.iter().zip(rows) {
            let get = |name: &str| row[table.column(name)].as_str();
            assert_eq!(get("t").parse::<usize>().expect("t"), point.time);
            let mut problems = Vec::new();
            check(
                &mut problems,
                "upperbound",
                get("upperbound"),
                point.upperbound,
                MODEL,
            );
            check_alarm(&mut problems, "alarm", get("alarm"), point.alarm);
            check(
                &mut problems,
                "expected",
                get("expected"),
                point.expected,
                MODEL,
            );
            check(&mut problems, "score", get("score"), point.score, MODEL);
            check(&mut problems, "pvalue", get("pvalue"), point.pvalue, MODEL);
            check(&mut problems, "phi", get("phi"), point.phi, MODEL);
            check(
                &mut problems,
                "trend_kept",
                get("trend_kept"),
                point.trend_kept.and_then(flag),
                MODEL,
            );
            check(
                &mut problems,
                "trend_coef",
                get("trend_coef"),
                point.trend_coefficient,
                MODEL,
            );
            check(
                &mut problems,
                "mu0_quantile",
                get("mu0_quantile"),
                point.mu0_quantile,
                MODEL,
            );
            report.row(&format!("{id} t={}", point.time), problems);
        }
    }
    report.assert_all(file);
}

#[test]
fn farrington_flexible_default() {
    flexible_config("farringtonFlexible_FF_default", FlexibleControl::new(52));
}

#[test]
fn farrington_flexible_noufaily() {
    let control = FlexibleControl {
        no_periods: 10,
        past_weeks_not_included: Some(26),
        threshold_method: ThresholdMethod::NbPlugin,
        ..FlexibleControl::new(52)
    };
    flexible_config("farringtonFlexible_FF_noufaily", control);
}

#[test]
fn farrington_flexible_noufaily_muan() {
    let control = FlexibleControl {
        no_periods: 10,
        past_weeks_not_included: Some(26),
        threshold_method: ThresholdMethod::Muan,
        ..FlexibleControl::new(52)
    };
    flexible_config("farringtonFlexible_FF_noufaily_muan", control);
}

#[test]
fn farrington_flexible_b2_w3() {
    let control = FlexibleControl {
        b: 2,
        w: 3,
        ..FlexibleControl::new(52)
    };
    flexible_config("farringtonFlexible_FF_b2_w3", control);
}

#[test]
fn farrington_flexible_b3_w2_notrend_a001_noreweight() {
    let control = FlexibleControl {
        b: 3,
        w: 2,
        trend: false,
        alpha: 0.01,
        reweight: false,
        ..FlexibleControl::new(52)
    };
    flexible_config(
        "farringtonFlexible_FF_b3_w2_notrend_a0.01_noreweight",
        control,
    );
}
