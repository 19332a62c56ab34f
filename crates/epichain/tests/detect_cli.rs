//! `epichain detect` on the R `surveillance` reference data (fixtures of `epichain-detect`, source
//! named in its `tests/fixtures/SOURCES.md`): any row order in, R's numbers out.
// Scenario tests read top to bottom as one story each; splitting them would hide the story.
#![allow(clippy::too_many_lines)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../epichain-detect/tests/fixtures")
}

fn epichain(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_epichain"))
        .args(args)
        .output()
        .expect("run epichain")
}

/// (series_id, t) → (upperbound, alarm) from a CSV with those columns.
fn bounds(text: &str) -> BTreeMap<(String, u32), (String, String)> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (series, t, upper, alarm) = (
        column("series_id"),
        column("t"),
        column("upperbound"),
        column("alarm"),
    );
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (
                (cells[series].to_string(), cells[t].parse().expect("t")),
                (cells[upper].to_string(), cells[alarm].to_string()),
            )
        })
        .collect()
}

fn same_number(ours: &str, reference: &str, relative: f64) -> bool {
    match (ours.parse::<f64>(), reference.parse::<f64>()) {
        (Ok(a), Ok(b)) if a.is_nan() || b.is_nan() => a.is_nan() && b.is_nan(),
        (Ok(a), Ok(b)) => (a - b).abs() <= relative * b.abs().max(1.0),
        _ => ours == reference,
    }
}

fn check(method: &str, params: &[&str], reference: &str, relative: f64) {
    let directory = tempfile::tempdir().expect("temp dir");
    let expected = bounds(
        &std::fs::read_to_string(fixtures().join("outputs").join(reference)).expect("reference"),
    );
    // The series R evaluated (others are too short for the method), rows reversed to prove that
    // order does not matter.
    let input = std::fs::read_to_string(fixtures().join("series.csv")).expect("series");
    let mut lines: Vec<&str> = input.lines().collect();
    let header = lines.remove(0);
    lines.retain(|line| {
        let series = line.split(',').next().unwrap_or_default();
        expected.keys().any(|(id, _)| id == series)
    });
    lines.reverse();
    let shuffled = directory.path().join("series.csv");
    std::fs::write(&shuffled, format!("{header}\n{}\n", lines.join("\n"))).expect("write");
    let output = directory.path().join("out.csv");
    let mut args = vec!["detect", "--method", method, "--freq", "52", "--input"];
    let shuffled_text = shuffled.display().to_string();
    let output_text = output.display().to_string();
    args.push(&shuffled_text);
    args.extend(["--output", &output_text]);
    for param in params {
        args.extend(["--param", param]);
    }
    let result = epichain(&args);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let ours = bounds(&std::fs::read_to_string(&output).expect("output"));
    assert_eq!(ours.len(), expected.len(), "{method}: row count");
    for (key, (upper, alarm)) in &expected {
        let (our_upper, our_alarm) = ours
            .get(key)
            .unwrap_or_else(|| panic!("{method}: missing {key:?}"));
        assert!(
            same_number(our_upper, upper, relative),
            "{method} {key:?}: {our_upper} vs {upper}"
        );
        assert_eq!(our_alarm, alarm, "{method} {key:?}");
    }
}

#[test]
fn ears_c3_matches_r() {
    check("ears-c3", &[], "ears_C3_default.csv", 1e-9);
}

#[test]
fn farrington_flexible_matches_r() {
    check(
        "farrington-flexible",
        &[],
        "farringtonFlexible_FF_default.csv",
        1e-6,
    );
}

#[test]
fn cusum_with_parameters_matches_r() {
    check("cusum", &["trans=rossi"], "cusum_CU_rossi.csv", 1e-9);
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let directory = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: &str| {
        let path = directory.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    };
    let missing_column = write("a.csv", "series_id,t,count\nx,1,3\n");
    let non_integer = write("b.csv", "series_id,t,observed\nx,1,3.5\n");
    let gap = write("c.csv", "series_id,t,observed\nx,1,3\nx,3,4\n");
    let short = write("d.csv", "series_id,t,observed\nx,1,3\nx,2,4\n");
    let rows: String = (1..=30).map(|t| format!("x,{t},{}\n", t % 4)).collect();
    let good = write("e.csv", &format!("series_id,t,observed\n{rows}"));
    for (args, expected) in [
        (
            vec![
                "--method",
                "ears-c1",
                "--freq",
                "52",
                "--input",
                &missing_column,
            ],
            "observed",
        ),
        (
            vec![
                "--method",
                "ears-c1",
                "--freq",
                "52",
                "--input",
                &non_integer,
            ],
            "integer",
        ),
        (
            vec!["--method", "ears-c1", "--freq", "52", "--input", &gap],
            "gaps",
        ),
        (
            vec!["--method", "ears-c1", "--freq", "52", "--input", &short],
            "too short",
        ),
        (
            vec!["--method", "nope", "--freq", "52", "--input", &good],
            "unknown method",
        ),
        (
            vec![
                "--method", "ears-c1", "--param", "bogus=1", "--freq", "52", "--input", &good,
            ],
            "bogus",
        ),
        (
            vec![
                "--method", "ears-c1", "--param", "alpha", "--freq", "52", "--input", &good,
            ],
            "NAME=VALUE",
        ),
        (
            vec!["--method", "ears-c1", "--freq", "12", "--input", &good],
            "52",
        ),
    ] {
        let mut full = vec!["detect"];
        full.extend(args.iter().copied());
        let output = epichain(&full);
        assert_eq!(output.status.code(), Some(2), "{full:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{full:?}: {stderr}");
    }
}
