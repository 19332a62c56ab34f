//! `epichain detect`: run an aberration-detection method over every series of a CSV file.
//!
//! Input: a header with at least `series_id,t,observed` (other columns ignored), any number of
//! series, rows in any order; `t` is 1-based and each series must cover `1..=n` exactly once.
//! Output: `series_id,t,observed,upperbound,alarm` followed by the method's own columns, `NA` where
//! undefined, one row per evaluated point, series in order of first appearance.

use std::collections::BTreeMap;
use std::io::{Read, Write};

/// Periods the command accepts: weekly and daily (365-day years).
pub const FREQUENCIES: [u32; 2] = [52, 365];

/// Why a detection run failed.
#[derive(Debug, thiserror::Error)]
pub enum DetectCsvError {
    /// The CSV itself is malformed.
    #[error("input line {line}: {message}")]
    Input {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A required column is missing.
    #[error("input has no column {0:?} (need series_id, t, observed)")]
    MissingColumn(&'static str),
    /// A series does not cover 1..=n.
    #[error("series {series}: {message}")]
    Series {
        /// Series id.
        series: String,
        /// What is wrong.
        message: String,
    },
    /// The method rejected its parameters or a series.
    #[error("series {series}: {source}")]
    Method {
        /// Series id.
        series: String,
        /// The method's error.
        source: epichain_detect::DetectError,
    },
    /// Unsupported frequency.
    #[error("--freq must be 52 (weekly) or 365 (daily), not {0}")]
    Frequency(u32),
    /// Not a method name.
    #[error("unknown method {0:?} (known: {known})", known = epichain_detect::METHOD_NAMES.join(", "))]
    UnknownMethod(String),
    /// A `--param` is not `NAME=VALUE`.
    #[error("parameter {0:?} is not NAME=VALUE")]
    Parameter(String),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// CSV writing failed.
    #[error("{0}")]
    Csv(#[from] csv::Error),
}

/// Parses `NAME=VALUE` parameters.
pub fn parse_parameters(items: &[String]) -> Result<Vec<(String, String)>, DetectCsvError> {
    items
        .iter()
        .map(|item| match item.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                Ok((name.trim().to_string(), value.trim().to_string()))
            }
            _ => Err(DetectCsvError::Parameter(item.clone())),
        })
        .collect()
}

/// Counts of each series, in order of first appearance.
fn read_series(input: impl Read) -> Result<Vec<(String, Vec<f64>)>, DetectCsvError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader.headers().map_err(|error| DetectCsvError::Input {
        line: 1,
        message: error.to_string(),
    })?;
    let column = |name: &'static str| {
        headers
            .iter()
            .position(|header| header == name)
            .ok_or(DetectCsvError::MissingColumn(name))
    };
    let (series_column, t_column, observed_column) =
        (column("series_id")?, column("t")?, column("observed")?);
    let mut order: Vec<String> = Vec::new();
    let mut series: BTreeMap<String, BTreeMap<usize, f64>> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|error| DetectCsvError::Input {
            line: error.position().map_or(0, |position| position.line()),
            message: error.to_string(),
        })?;
        let line = record.position().map_or(0, |position| position.line());
        let field = |index: usize| record.get(index).unwrap_or_default();
        let id = field(series_column).to_string();
        let t: usize = field(t_column)
            .parse()
            .ok()
            .filter(|t| *t >= 1)
            .ok_or_else(|| DetectCsvError::Input {
                line,
                message: format!("t {:?} is not a positive integer", field(t_column)),
            })?;
        let observed: u64 = field(observed_column)
            .parse()
            .map_err(|_| DetectCsvError::Input {
                line,
                message: format!(
                    "observed {:?} is not a non-negative integer count",
                    field(observed_column)
                ),
            })?;
        let points = series.entry(id.clone()).or_insert_with(|| {
            order.push(id.clone());
            BTreeMap::new()
        });
        if points.insert(t, observed as f64).is_some() {
            return Err(DetectCsvError::Input {
                line,
                message: format!("series {id} has t = {t} twice"),
            });
        }
    }
    order
        .into_iter()
        .map(|id| {
            let points = series.remove(&id).unwrap_or_default();
            let count = points.len();
            if points.keys().next_back() != Some(&count) {
                return Err(DetectCsvError::Series {
                    series: id,
                    message: format!("t must run from 1 to {count} without gaps"),
                });
            }
            Ok((id, points.into_values().collect()))
        })
        .collect()
}

/// Runs `method` over every series of `input` and writes the result CSV to `output`.
/// Nothing is written unless every series succeeds.
pub fn run(
    method: &str,
    parameters: &[(String, String)],
    frequency: u32,
    input: impl Read,
    output: impl Write,
) -> Result<usize, DetectCsvError> {
    if !FREQUENCIES.contains(&frequency) {
        return Err(DetectCsvError::Frequency(frequency));
    }
    if !epichain_detect::METHOD_NAMES.contains(&method) {
        return Err(DetectCsvError::UnknownMethod(method.to_string()));
    }
    let series = read_series(input)?;
    let mut results = Vec::with_capacity(series.len());
    for (id, observed) in &series {
        let result =
            epichain_detect::run(method, parameters, frequency, observed).map_err(|source| {
                DetectCsvError::Method {
                    series: id.clone(),
                    source,
                }
            })?;
        results.push((id, result));
    }
    let mut writer = csv::Writer::from_writer(output);
    let mut rows = 0;
    if let Some((_, first)) = results.first() {
        let mut header = vec!["series_id"];
        header.extend(first.header());
        writer.write_record(&header)?;
    }
    for (id, result) in &results {
        for row in &result.rows {
            let mut cells = vec![id.to_string()];
            cells.extend(result.format_row(row));
            writer.write_record(&cells)?;
            rows += 1;
        }
    }
    writer.flush()?;
    Ok(rows)
}
