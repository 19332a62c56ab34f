//! CUSUM and GLR against R surveillance 1.20.3 (tests/fixtures/SOURCES.md).

mod common;

use common::{Report, Table, Tolerance, check, check_alarm, series};
use epichain_detect::cusum::{CusumControl, CusumMean, CusumTransform, cusum};
use epichain_detect::glrnb::{GlrControl, GlrDispersion, GlrReturn, glrnb};

/// Closed-form CUSUM agrees to 1e-9; anything from a GLM fit to 1e-6 relative.
const EXACT: Tolerance = Tolerance::Absolute(1e-9);
const MODEL: Tolerance = Tolerance::Relative(1e-6);

fn cusum_config(file: &str, m: CusumMean, transform: CusumTransform, tolerance: Tolerance) {
    let table = Table::read(&format!("outputs/{file}.csv"));
    let all_series = series();
    let mut report = Report::default();
    for (id, rows) in table.by_series() {
        let control = CusumControl {
            m: m.clone(),
            transform,
            ..CusumControl::new(52)
        };
        let points = cusum(&all_series[&id], &control).expect("cusum runs");
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
                tolerance,
            );
            check_alarm(&mut problems, "alarm", get("alarm"), point.alarm);
            check(
                &mut problems,
                "cusum",
                get("cusum"),
                Some(point.statistic),
                tolerance,
            );
            check(&mut problems, "m", get("m"), Some(point.mean), tolerance);
            report.row(&format!("{id} t={}", point.time), problems);
        }
    }
    report.assert_all(file);
}

#[test]
fn cusum_standard() {
    cusum_config(
        "cusum_CU_standard",
        CusumMean::TrainingMean,
        CusumTransform::Standard,
        EXACT,
    );
}

#[test]
fn cusum_rossi() {
    cusum_config(
        "cusum_CU_rossi",
        CusumMean::TrainingMean,
        CusumTransform::Rossi,
        EXACT,
    );
}

#[test]
fn cusum_anscombe_glm() {
    cusum_config(
        "cusum_CU_anscombe_glm",
        CusumMean::Glm,
        CusumTransform::Anscombe,
        MODEL,
    );
}

fn glr_config(file: &str, dispersion: GlrDispersion, ret: GlrReturn) {
    let table = Table::read(&format!("outputs/{file}.csv"));
    let all_series = series();
    let mut report = Report::default();
    for (id, rows) in table.by_series() {
        let control = GlrControl {
            dispersion,
            ret,
            ..GlrControl::new(52)
        };
        let points = glrnb(&all_series[&id], &control).expect("glrnb runs");
        assert_eq!(points.len(), rows.len(), "{file} {id}: row count");
        for (point, row) in points.iter().zip(rows) {
            let get = |name: &str| row[table.column(name)].as_str();
            assert_eq!(get("t").parse::<usize>().expect("t"), point.time);
            let mut problems = Vec::new();
            let bound_tolerance = if ret == GlrReturn::Cases {
                EXACT
            } else {
                MODEL
            };
            check(
                &mut problems,
                "upperbound",
                get("upperbound"),
                Some(point.upperbound),
                bound_tolerance,
            );
            check_alarm(&mut problems, "alarm", get("alarm"), Some(point.alarm));
            check(&mut problems, "mu0", get("mu0"), Some(point.mu0), MODEL);
            check(
                &mut problems,
                "alpha_nb",
                get("alpha_nb"),
                Some(point.alpha),
                MODEL,
            );
            report.row(&format!("{id} t={}", point.time), problems);
        }
    }
    report.assert_all(file);
}

#[test]
fn glr_poisson_value() {
    glr_config(
        "glrnb_GLR_pois_value",
        GlrDispersion::Poisson,
        GlrReturn::Value,
    );
}

#[test]
fn glr_poisson_cases() {
    glr_config(
        "glrnb_GLR_pois_cases",
        GlrDispersion::Poisson,
        GlrReturn::Cases,
    );
}

#[test]
fn glr_negative_binomial_value() {
    glr_config(
        "glrnb_GLR_nb_value",
        GlrDispersion::Estimated,
        GlrReturn::Value,
    );
}
