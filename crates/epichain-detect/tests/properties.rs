//! Property tests: edge cases never panic, give typed errors, keep R's numbers finite where R's
//! are, and are deterministic to the bit.

use epichain_detect::{DetectError, Output, run};
use proptest::prelude::*;

/// Weekly period.
const WEEKLY: u32 = 52;

/// Every method with a representative parameter set (fast enough for the debug profile).
fn configurations() -> Vec<(&'static str, Vec<(String, String)>)> {
    let pairs = |items: &[(&str, &str)]| -> Vec<(String, String)> {
        items
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    };
    vec![
        ("fixed", pairs(&[("k", "1")])),
        ("mpm", pairs(&[("years", "3"), ("prob", "0.8")])),
        ("ears-c1", pairs(&[])),
        ("ears-c2", pairs(&[("minSigma", "0.5")])),
        ("ears-c3", pairs(&[])),
        ("cusum", pairs(&[])),
        ("cusum", pairs(&[("m", "glm"), ("trans", "anscombe")])),
        ("glrnb", pairs(&[("alpha", "0"), ("ret", "cases")])),
        ("glrnb", pairs(&[("alpha", "0.2")])),
        ("farrington", pairs(&[("b", "3"), ("w", "2")])),
        ("farrington-flexible", pairs(&[("b", "3")])),
        (
            "farrington-flexible",
            pairs(&[
                ("b", "3"),
                ("noPeriods", "4"),
                ("pastWeeksNotIncluded", "8"),
                ("thresholdMethod", "nbPlugin"),
            ]),
        ),
    ]
}

/// Bits of every number of an output, for exact comparison.
fn fingerprint(output: &Output) -> Vec<u64> {
    let mut bits = Vec::new();
    for row in &output.rows {
        bits.push(row.t as u64);
        bits.push(row.observed.to_bits());
        bits.push(row.upperbound.map_or(u64::MAX, f64::to_bits));
        bits.push(match row.alarm {
            Some(true) => 1,
            Some(false) => 0,
            None => 2,
        });
        bits.extend(row.values.iter().map(|v| v.map_or(u64::MAX, f64::to_bits)));
    }
    bits
}

/// Run every configuration; each must succeed or fail with a typed error, never panic.
fn run_all(counts: &[f64]) -> Vec<(&'static str, Result<Output, DetectError>)> {
    configurations()
        .into_iter()
        .map(|(method, parameters)| (method, run(method, &parameters, WEEKLY, counts)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Random counts (including long zero and constant runs) run without panics, and twice
    /// give the same bits.
    #[test]
    fn random_series_are_deterministic(
        base in prop::collection::vec(0u32..40, 170..220),
        zero_run in 0usize..60,
        constant in 0u32..5,
    ) {
        let mut counts: Vec<f64> = base.iter().map(|c| f64::from(*c)).collect();
        for value in counts.iter_mut().skip(20).take(zero_run) {
            *value = 0.0;
        }
        for value in counts.iter_mut().skip(100).take(zero_run) {
            *value = f64::from(constant);
        }
        let first = run_all(&counts);
        let second = run_all(&counts);
        for ((method, a), (_, b)) in first.iter().zip(&second) {
            match (a, b) {
                (Ok(a), Ok(b)) => prop_assert_eq!(fingerprint(a), fingerprint(b), "{}", method),
                (Err(a), Err(b)) => prop_assert_eq!(a, b),
                _ => prop_assert!(false, "{} not deterministic", method),
            }
        }
    }

    /// Series shorter than a method needs give SeriesTooShort, never a panic. (CUSUM and GLR
    /// train on the first half, so very short series may run, or fail with ModelFit when the
    /// seasonal GLM has fewer points than coefficients.)
    #[test]
    fn short_series_give_a_clear_error(length in 0usize..8) {
        let counts = vec![1.0; length];
        for (method, result) in run_all(&counts) {
            let needs_history = !matches!(method, "fixed" | "cusum" | "glrnb");
            match result {
                Err(DetectError::SeriesTooShort { .. }) => {}
                Err(DetectError::ModelFit(_)) if !needs_history => {}
                Ok(_) if !needs_history && length > 0 => {}
                other => prop_assert!(false, "{} length {}: {:?}", method, length, other),
            }
        }
    }

    /// Huge counts: no panic, and finite bounds wherever R gives a number.
    #[test]
    fn huge_counts_stay_finite(
        base in prop::collection::vec(1_000_000_000u64..4_000_000_000, 170..200),
    ) {
        let counts: Vec<f64> = base.iter().map(|c| *c as f64).collect();
        for (method, result) in run_all(&counts) {
            let output = result.expect(method);
            for row in &output.rows {
                if let Some(bound) = row.upperbound {
                    prop_assert!(bound.is_finite(), "{} t={} bound {}", method, row.t, bound);
                }
            }
        }
    }
}

#[test]
fn all_zero_series_run_without_panic() {
    let counts = vec![0.0; 220];
    for (method, result) in run_all(&counts) {
        // R's CUSUM/GLR baselines are degenerate on an all-zero training part; a typed error or
        // R's NaN/0 values are fine, a panic is not.
        if let Ok(output) = result {
            assert!(!output.rows.is_empty(), "{method}");
        }
    }
}

#[test]
fn invalid_counts_are_rejected() {
    for bad in [f64::NAN, -1.0, f64::INFINITY] {
        let mut counts = vec![1.0; 300];
        counts[7] = bad;
        for (method, result) in run_all(&counts) {
            assert!(
                matches!(result, Err(DetectError::InvalidObservation { time: 8, .. })),
                "{method}"
            );
        }
    }
}

#[test]
fn fixed_threshold_alarms_from_k_cases() {
    let counts = [0.0, 1.0, 2.0, 0.0];
    let parameters = vec![("k".to_string(), "2".to_string())];
    let output = run("fixed", &parameters, WEEKLY, &counts).expect("fixed runs");
    let alarms: Vec<Option<bool>> = output.rows.iter().map(|r| r.alarm).collect();
    assert_eq!(alarms, [Some(false), Some(false), Some(true), Some(false)]);
    assert!(output.rows.iter().all(|r| r.upperbound == Some(2.0)));
}

/// The library must not call the platform's transcendental functions (see clippy.toml).
#[test]
fn library_uses_no_platform_transcendentals() {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let forbidden = [
        ".exp()",
        ".ln()",
        ".powf(",
        ".powi(",
        ".log(",
        ".log2()",
        ".log10()",
        ".exp2()",
        ".exp_m1()",
        ".ln_1p()",
        ".sin()",
        ".cos()",
        ".tan()",
        ".cbrt()",
        "HashMap",
    ];
    for entry in std::fs::read_dir(source).expect("src readable") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("source readable");
        for pattern in forbidden {
            assert!(!text.contains(pattern), "{} uses {pattern}", path.display());
        }
    }
}

#[test]
fn early_classic_farrington_points_drop_missing_references_without_panic() {
    let counts: Vec<f64> = (0..320).map(|t| f64::from((t * 7 % 13) as u8)).collect();
    let parameters = vec![("range_start".to_string(), "50".to_string())];
    let output = run("farrington", &parameters, WEEKLY, &counts).expect("farrington runs");
    assert_eq!(output.rows.first().map(|r| r.t), Some(50));
    let too_early = vec![("range_start".to_string(), "49".to_string())];
    assert!(matches!(
        run("farrington", &too_early, WEEKLY, &counts),
        Err(DetectError::BadValue { .. })
    ));
}

/// Parameter names each method accepts (besides `range_start`).
const ACCEPTED: &[(&str, &[&str])] = &[
    ("fixed", &["k"]),
    (
        "mpm",
        &["window", "years", "half", "prob", "type", "compare"],
    ),
    ("ears-c3", &["baseline", "alpha", "minSigma"]),
    ("cusum", &["k", "h", "m", "trans"]),
    ("glrnb", &["alpha", "c.ARL", "ret"]),
    (
        "farrington",
        &[
            "b",
            "w",
            "reweight",
            "alpha",
            "trend",
            "limit54",
            "powertrans",
        ],
    ),
    (
        "farrington-flexible",
        &[
            "b",
            "w",
            "reweight",
            "weightsThreshold",
            "alpha",
            "trend",
            "pThresholdTrend",
            "noPeriods",
            "pastWeeksNotIncluded",
            "thresholdMethod",
            "limit54",
        ],
    ),
];

/// Values that stress the parser and the algorithms' domains.
const VALUES: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "7",
    "26",
    "0.5",
    "0.999",
    "1e6",
    "-1",
    "NaN",
    "abc",
    "4294967295",
    "TRUE",
    "FALSE",
    "NULL",
    "glm",
    "cases",
    "nbPlugin",
    "5,4",
    "2/3",
    ">=",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Any combination of accepted names and odd values returns Ok or a typed error.
    #[test]
    fn odd_parameter_values_never_panic(
        method_index in 0usize..7,
        choices in prop::collection::vec((0usize..16, 0usize..22), 0..4),
        seed in 0u32..1000,
    ) {
        let (method, names) = ACCEPTED[method_index];
        let mut parameters: Vec<(String, String)> = Vec::new();
        for (name_index, value_index) in choices {
            let name = names[name_index % names.len()];
            if parameters.iter().all(|(n, _)| n != name) {
                parameters.push((name.to_string(), VALUES[value_index].to_string()));
            }
        }
        let counts: Vec<f64> = (0..330u32).map(|t| f64::from((t * 31 + seed) % 17)).collect();
        let _ = run(method, &parameters, WEEKLY, &counts);
    }
}
