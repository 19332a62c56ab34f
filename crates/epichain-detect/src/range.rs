//! Evaluation ranges (1-based, inclusive, ending at the last observation).

use crate::error::{DetectError, bad_value};
use std::ops::RangeInclusive;

/// Resolve the evaluated time points `start..=length`.
///
/// `default_start` is R's default; `minimum_start` the first point the method can evaluate.
pub(crate) fn resolve_range(
    method: &'static str,
    default_start: usize,
    minimum_start: usize,
    length: usize,
    range_start: Option<usize>,
) -> Result<RangeInclusive<usize>, DetectError> {
    let start = match range_start {
        None => default_start.max(minimum_start).max(1),
        Some(start) if start < minimum_start.max(1) => {
            return Err(bad_value(
                "range_start",
                start,
                &format!(
                    "{method} can evaluate only from t = {} on",
                    minimum_start.max(1)
                ),
            ));
        }
        Some(start) => start,
    };
    if length < start {
        return Err(DetectError::SeriesTooShort {
            method,
            needed: start,
            actual: length,
        });
    }
    Ok(start..=length)
}
