//! Every fixture configuration through the by-name parameter layer [`epichain_detect::run`]:
//! upper bound, alarm and every method column that the fixture also carries.

mod common;

use common::{Report, Table, Tolerance, check, check_alarm, series};
use epichain_detect::run;

const EXACT: Tolerance = Tolerance::Absolute(1e-9);
const MODEL: Tolerance = Tolerance::Relative(1e-6);

/// A fixture file, the method, its R-named parameters and the tolerance.
type Configuration = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    Tolerance,
);

const CONFIGURATIONS: &[Configuration] = &[
    ("ears_C1_default", "ears-c1", &[], EXACT),
    ("ears_C2_default", "ears-c2", &[], EXACT),
    ("ears_C3_default", "ears-c3", &[], EXACT),
    (
        "ears_C1_b28_a0.05_ms1",
        "ears-c1",
        &[("baseline", "28"), ("alpha", "0.05"), ("minSigma", "1")],
        EXACT,
    ),
    (
        "ears_C2_b14_a0.01_ms0.5",
        "ears-c2",
        &[("baseline", "14"), ("alpha", "0.01"), ("minSigma", "0.5")],
        EXACT,
    ),
    (
        "ears_C3_b7_a0.001_ms1",
        "ears-c3",
        &[("baseline", "7"), ("alpha", "0.001"), ("minSigma", "1")],
        EXACT,
    ),
    (
        "cusum_CU_standard",
        "cusum",
        &[
            ("k", "1.04"),
            ("h", "2.26"),
            ("m", "NULL"),
            ("trans", "standard"),
        ],
        EXACT,
    ),
    ("cusum_CU_rossi", "cusum", &[("trans", "rossi")], EXACT),
    (
        "cusum_CU_anscombe_glm",
        "cusum",
        &[("m", "glm"), ("trans", "anscombe")],
        MODEL,
    ),
    (
        "glrnb_GLR_pois_value",
        "glrnb",
        &[("alpha", "0"), ("c.ARL", "5"), ("ret", "value")],
        MODEL,
    ),
    (
        "glrnb_GLR_pois_cases",
        "glrnb",
        &[("alpha", "0"), ("ret", "cases")],
        EXACT,
    ),
    (
        "glrnb_GLR_nb_value",
        "glrnb",
        &[("alpha", "NULL"), ("ret", "value")],
        MODEL,
    ),
    ("farrington_classic_FA_default", "farrington", &[], MODEL),
    (
        "farrington_classic_FA_b3_w2_a0.01",
        "farrington",
        &[("b", "3"), ("w", "2"), ("alpha", "0.01")],
        MODEL,
    ),
    (
        "farringtonFlexible_FF_default",
        "farrington-flexible",
        &[],
        MODEL,
    ),
    (
        "farringtonFlexible_FF_noufaily",
        "farrington-flexible",
        &[
            ("noPeriods", "10"),
            ("pastWeeksNotIncluded", "26"),
            ("thresholdMethod", "nbPlugin"),
        ],
        MODEL,
    ),
    (
        "farringtonFlexible_FF_noufaily_muan",
        "farrington-flexible",
        &[
            ("noPeriods", "10"),
            ("pastWeeksNotIncluded", "26"),
            ("thresholdMethod", "muan"),
        ],
        MODEL,
    ),
    (
        "farringtonFlexible_FF_b2_w3",
        "farrington-flexible",
        &[("b", "2"), ("w", "3")],
        MODEL,
    ),
    (
        "farringtonFlexible_FF_b3_w2_notrend_a0.01_noreweight",
        "farrington-flexible",
        &[
            ("b", "3"),
            ("w", "2"),
            ("trend", "FALSE"),
            ("alpha", "0.01"),
            ("reweight", "FALSE"),
        ],
        MODEL,
    ),
];

fn owned(parameters: &[(&str, &str)]) -> Vec<(String, String)> {
    parameters
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn compare(
    file: &str,
    method: &str,
    parameters: &[(&str, &str)],
    tolerance: Tolerance,
    bound: &str,
    alarm: &str,
) {
    let table = Table::read(&format!("outputs/{file}.csv"));
    let all_series = series();
    let mut report = Report::default();
    for (id, rows) in table.by_series() {
        let output = run(method, &owned(parameters), 52, &all_series[&id]).expect("run succeeds");
        assert_eq!(output.rows.len(), rows.len(), "{file} {id}: row count");
        for (row, expected) in output.rows.iter().zip(rows) {
            let get = |name: &str| expected[table.column(name)].as_str();
            assert_eq!(get("t").parse::<usize>().expect("t"), row.t);
            let mut problems = Vec::new();
            check(
                &mut problems,
                "observed",
                get("observed"),
                Some(row.observed),
                EXACT,
            );
            check(&mut problems, bound, get(bound), row.upperbound, tolerance);
            check_alarm(&mut problems, alarm, get(alarm), row.alarm);
            for (column, value) in output.columns.iter().zip(row.values.iter()) {
                if table.header.iter().any(|h| h == column) {
                    check(&mut problems, column, get(column), *value, tolerance);
                }
            }
            report.row(&format!("{id} t={}", row.t), problems);
        }
    }
    report.assert_all(&format!("run({method}) {file} [{bound}, {alarm}]"));
}

#[test]
fn every_r_configuration_through_run() {
    for (file, method, parameters, tolerance) in CONFIGURATIONS {
        compare(file, method, parameters, *tolerance, "upperbound", "alarm");
    }
}

#[test]
fn every_mpm_configuration_through_run() {
    let files = [
        ("mpm_MPM_weekly_5wk_5y_P50", "5", "0.5"),
        ("mpm_MPM_weekly_5wk_5y_P75", "5", "0.75"),
        ("mpm_MPM_weekly_5wk_5y_P80", "5", "0.8"),
        ("mpm_MPM_weekly_5wk_3y_P80", "3", "0.8"),
    ];
    let variants = [
        ("7", ">", "threshold_type7", "alarm_gt_type7"),
        ("7", ">=", "threshold_type7", "alarm_ge_type7"),
        ("2", ">", "threshold_type2", "alarm_gt_type2"),
    ];
    for (file, years, prob) in files {
        for (quantile_type, comparison, bound, alarm) in variants {
            let parameters = [
                ("window", "1"),
                ("years", years),
                ("half", "2"),
                ("prob", prob),
                ("type", quantile_type),
                ("compare", comparison),
            ];
            compare(file, "mpm", &parameters, EXACT, bound, alarm);
        }
    }
}
