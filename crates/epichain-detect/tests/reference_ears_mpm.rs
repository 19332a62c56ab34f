//! EARS and MPM against R surveillance 1.20.3 / the reference MPM rule (tests/fixtures/SOURCES.md).
// Scenario tests read top to bottom as one story each; splitting them would hide the story.
#![allow(clippy::too_many_lines)]

mod common;

use common::{Report, Table, Tolerance, check, check_alarm, series};
use epichain_detect::ears::{EarsControl, EarsMethod, ears};
use epichain_detect::mpm::{Comparison, MpmControl, QuantileType, mpm};

/// EARS, MPM and fixed thresholds must agree to 1e-9.
const TOLERANCE: Tolerance = Tolerance::Absolute(1e-9);

fn ears_config(file: &str, control: EarsControl) {
    let table = Table::read(&format!("outputs/{file}.csv"));
    let all_series = series();
    let mut report = Report::default();
    let is_c3 = control.method == EarsMethod::C3;
    for (id, rows) in table.by_series() {
        let points = ears(&all_series[&id], &control).expect("ears runs");
        assert_eq!(points.len(), rows.len(), "{file} {id}: row count");
        for (point, row) in points.iter().zip(rows) {
            let get = |name: &str| row[table.column(name)].as_str();
            let mut problems = Vec::new();
            assert_eq!(get("t").parse::<usize>().expect("t"), point.time);
            check(
                &mut problems,
                "upperbound",
                get("upperbound"),
                Some(point.upperbound),
                TOLERANCE,
            );
            check_alarm(&mut problems, "alarm", get("alarm"), point.alarm);
            check(
                &mut problems,
                "baseline_mean",
                get("baseline_mean"),
                Some(point.baseline_mean),
                TOLERANCE,
            );
            check(
                &mut problems,
                "baseline_sd_raw",
                get("baseline_sd_raw"),
                Some(point.baseline_sd),
                TOLERANCE,
            );
            check(
                &mut problems,
                "sigma",
                get("sigma"),
                Some(point.sigma),
                TOLERANCE,
            );
            if is_c3 {
                check(
                    &mut problems,
                    "c2_t",
                    get("c2_t"),
                    Some(point.statistic),
                    TOLERANCE,
                );
                check(
                    &mut problems,
                    "c2_tm1",
                    get("c2_tm1"),
                    point.c2_lag1,
                    TOLERANCE,
                );
                check(
                    &mut problems,
                    "c2_tm2",
                    get("c2_tm2"),
                    point.c2_lag2,
                    TOLERANCE,
                );
                check(
                    &mut problems,
                    "c3_lag_part",
                    get("c3_lag_part"),
                    point.c3_lag_part,
                    TOLERANCE,
                );
                check(
                    &mut problems,
                    "c3_textbook",
                    get("c3_textbook"),
                    point.c3_textbook,
                    TOLERANCE,
                );
            } else {
                check(
                    &mut problems,
                    "stat",
                    get("stat"),
                    Some(point.statistic),
                    TOLERANCE,
                );
            }
            report.row(&format!("{id} t={}", point.time), problems);
        }
    }
    report.assert_all(file);
}

fn control(method: EarsMethod, baseline: usize, alpha: Option<f64>, min_sigma: f64) -> EarsControl {
    EarsControl {
        method,
        baseline,
        alpha,
        min_sigma,
        range_start: None,
    }
}

#[test]
fn ears_c1_default() {
    ears_config("ears_C1_default", EarsControl::new(EarsMethod::C1));
}

#[test]
fn ears_c2_default() {
    ears_config("ears_C2_default", EarsControl::new(EarsMethod::C2));
}

#[test]
fn ears_c3_default() {
    ears_config("ears_C3_default", EarsControl::new(EarsMethod::C3));
}

#[test]
fn ears_c1_b28_a005_ms1() {
    ears_config(
        "ears_C1_b28_a0.05_ms1",
        control(EarsMethod::C1, 28, Some(0.05), 1.0),
    );
}

#[test]
fn ears_c2_b14_a001_ms05() {
    ears_config(
        "ears_C2_b14_a0.01_ms0.5",
        control(EarsMethod::C2, 14, Some(0.01), 0.5),
    );
}

#[test]
fn ears_c3_b7_a0001_ms1() {
    ears_config(
        "ears_C3_b7_a0.001_ms1",
        control(EarsMethod::C3, 7, Some(0.001), 1.0),
    );
}

/// One MPM fixture carries type 7 (> and ≥) and type 2 (>) results.
fn mpm_config(file: &str, years: usize, prob: f64) {
    let table = Table::read(&format!("outputs/{file}.csv"));
    let all_series = series();
    let mut report = Report::default();
    let variants = [
        (
            QuantileType::Type7,
            Comparison::Greater,
            "threshold_type7",
            "alarm_gt_type7",
        ),
        (
            QuantileType::Type7,
            Comparison::GreaterOrEqual,
            "threshold_type7",
            "alarm_ge_type7",
        ),
        (
            QuantileType::Type2,
            Comparison::Greater,
            "threshold_type2",
            "alarm_gt_type2",
        ),
    ];
    for (id, rows) in table.by_series() {
        for (quantile_type, compare, threshold_column, alarm_column) in variants {
            let control = MpmControl {
                years,
                prob,
                quantile_type,
                compare,
                ..MpmControl::new(52)
            };
            let points = mpm(&all_series[&id], &control).expect("mpm runs");
            assert_eq!(points.len(), rows.len(), "{file} {id}: row count");
            for (point, row) in points.iter().zip(&rows) {
                let get = |name: &str| row[table.column(name)].as_str();
                let mut problems = Vec::new();
                assert_eq!(get("t").parse::<usize>().expect("t"), point.time);
                check(
                    &mut problems,
                    "current",
                    get("current"),
                    Some(point.current),
                    TOLERANCE,
                );
                check(
                    &mut problems,
                    "n_baseline",
                    get("n_baseline"),
                    Some(point.baseline_count as f64),
                    TOLERANCE,
                );
                check(
                    &mut problems,
                    threshold_column,
                    get(threshold_column),
                    Some(point.threshold),
                    TOLERANCE,
                );
                check_alarm(
                    &mut problems,
                    alarm_column,
                    get(alarm_column),
                    Some(point.alarm),
                );
                report.row(&format!("{id} t={} {alarm_column}", point.time), problems);
            }
        }
    }
    report.assert_all(file);
}

#[test]
fn mpm_weekly_5y_p50() {
    mpm_config("mpm_MPM_weekly_5wk_5y_P50", 5, 0.5);
}

#[test]
fn mpm_weekly_5y_p75() {
    mpm_config("mpm_MPM_weekly_5wk_5y_P75", 5, 0.75);
}

#[test]
fn mpm_weekly_5y_p80() {
    mpm_config("mpm_MPM_weekly_5wk_5y_P80", 5, 0.8);
}

#[test]
fn mpm_weekly_3y_p80() {
    mpm_config("mpm_MPM_weekly_5wk_3y_P80", 3, 0.8);
}
