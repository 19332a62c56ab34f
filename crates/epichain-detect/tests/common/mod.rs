//! Fixture loading and comparison helpers shared by the reference tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Path of a fixture file.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A parsed CSV file: header and rows of fields (no quoting in these fixtures).
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn read(name: &str) -> Table {
        let text = std::fs::read_to_string(fixture_path(name)).expect("fixture readable");
        let mut lines = text.lines();
        let header: Vec<String> = lines
            .next()
            .expect("header line")
            .split(',')
            .map(|f| f.trim_matches('"').to_string())
            .collect();
        let rows = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                assert!(!l.contains('"'), "quoted field in {name}: {l}");
                let fields: Vec<String> = l.split(',').map(str::to_string).collect();
                assert_eq!(fields.len(), header.len(), "field count in {name}: {l}");
                fields
            })
            .collect();
        Table { header, rows }
    }

    pub fn column(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("column {name} missing"))
    }

    /// Rows grouped by series id (first column), in file order.
    pub fn by_series(&self) -> BTreeMap<String, Vec<&Vec<String>>> {
        let id = self.column("series_id");
        let mut groups: BTreeMap<String, Vec<&Vec<String>>> = BTreeMap::new();
        for row in &self.rows {
            groups.entry(row[id].clone()).or_default().push(row);
        }
        groups
    }
}

/// Input series by id, as counts.
pub fn series() -> BTreeMap<String, Vec<f64>> {
    let table = Table::read("series.csv");
    let id = table.column("series_id");
    let t = table.column("t");
    let observed = table.column("observed");
    let mut map: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for row in &table.rows {
        let values = map.entry(row[id].clone()).or_default();
        assert_eq!(row[t].parse::<usize>().expect("t"), values.len() + 1);
        values.push(row[observed].parse().expect("observed"));
    }
    map
}

/// How strictly a number must agree.
#[derive(Clone, Copy, Debug)]
pub enum Tolerance {
    /// |a − b| ≤ tol · max(1, |b|).
    Absolute(f64),
    /// |a − b| ≤ tol · |b| (plus 1e-13 absolute for values that are zero in R).
    Relative(f64),
}

/// Parse a fixture cell: NA → None, NaN/Inf/-Inf/numbers → Some.
pub fn cell(text: &str) -> Option<f64> {
    match text {
        "NA" => None,
        "NaN" => Some(f64::NAN),
        "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        other => Some(
            other
                .parse()
                .unwrap_or_else(|_| panic!("bad number {other}")),
        ),
    }
}

/// Whether an actual value agrees with the fixture text.
pub fn agrees(expected: &str, actual: Option<f64>, tolerance: Tolerance) -> bool {
    match (cell(expected), actual) {
        (None, None) => true,
        (Some(e), Some(a)) if e.is_nan() => a.is_nan(),
        (Some(e), Some(a)) if e.is_infinite() => a == e,
        (Some(e), Some(a)) => match tolerance {
            Tolerance::Absolute(tol) => (a - e).abs() <= tol * e.abs().max(1.0),
            Tolerance::Relative(tol) => (a - e).abs() <= tol * e.abs() + 1e-13,
        },
        _ => false,
    }
}

/// Alarm cell: "1"/"0"/"NA".
pub fn alarm_cell(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "1",
        Some(false) => "0",
        None => "NA",
    }
}

/// Collects disagreements of one configuration.
#[derive(Default)]
pub struct Report {
    pub rows: usize,
    pub rows_matched: usize,
    pub messages: Vec<String>,
}

impl Report {
    /// Record one row; `problems` lists its disagreeing columns.
    pub fn row(&mut self, context: &str, problems: Vec<String>) {
        self.rows += 1;
        if problems.is_empty() {
            self.rows_matched += 1;
        } else if self.messages.len() < 30 {
            self.messages
                .push(format!("{context}: {}", problems.join("; ")));
        }
    }

    pub fn assert_all(&self, config: &str) {
        println!("{config}: {}/{} rows match", self.rows_matched, self.rows);
        assert!(
            self.rows_matched == self.rows && self.rows > 0,
            "{config}: {}/{} rows match\n{}",
            self.rows_matched,
            self.rows,
            self.messages.join("\n")
        );
    }
}

/// Compare a numeric column and push a message on disagreement.
pub fn check(
    problems: &mut Vec<String>,
    column: &str,
    expected: &str,
    actual: Option<f64>,
    tolerance: Tolerance,
) {
    if !agrees(expected, actual, tolerance) {
        problems.push(format!("{column}: R {expected} vs ours {actual:?}"));
    }
}

/// Compare an alarm column.
pub fn check_alarm(problems: &mut Vec<String>, column: &str, expected: &str, actual: Option<bool>) {
    if expected != alarm_cell(actual) {
        problems.push(format!("{column}: R {expected} vs ours {actual:?}"));
    }
}
