//! Typed errors of the detection crate.

/// Why a detection run could not produce output.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DetectError {
    /// The method name is not one of [`crate::METHOD_NAMES`].
    #[error(
        "unknown method `{0}` (known: fixed, mpm, ears-c1, ears-c2, ears-c3, farrington, farrington-flexible, cusum, glrnb)"
    )]
    UnknownMethod(String),
    /// The parameter name is not accepted by the method.
    #[error("unknown parameter `{parameter}` for method `{method}`")]
    UnknownParameter {
        /// Method name as given.
        method: String,
        /// Parameter name as given.
        parameter: String,
    },
    /// A parameter value could not be parsed or is out of its domain.
    #[error("bad value `{value}` for parameter `{parameter}`: {reason}")]
    BadValue {
        /// Parameter name.
        parameter: String,
        /// Value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The series does not reach the first time point the method can evaluate.
    #[error("series too short for {method}: needs at least {needed} observations, got {actual}")]
    SeriesTooShort {
        /// Method name.
        method: &'static str,
        /// Smallest usable series length (or evaluation start) for these parameters.
        needed: usize,
        /// Series length given.
        actual: usize,
    },
    /// An observation is negative, NaN or infinite.
    #[error("observation at t={time} is {value}: counts must be finite and non-negative")]
    InvalidObservation {
        /// 1-based time index.
        time: usize,
        /// The offending value.
        value: f64,
    },
    /// A model needed for the whole series (CUSUM or GLR baseline) could not be fitted.
    #[error("model fit failed: {0}")]
    ModelFit(String),
}

impl DetectError {
    /// A stable code for the kind of failure, with the parameter it concerns where there is
    /// one (`bad_value:alpha`): what a ledger may commit, unlike the message.
    pub fn code(&self) -> String {
        match self {
            DetectError::UnknownMethod(_) => "unknown_method".to_string(),
            DetectError::UnknownParameter { parameter, .. } => {
                format!("unknown_parameter:{parameter}")
            }
            DetectError::BadValue { parameter, .. } => format!("bad_value:{parameter}"),
            DetectError::SeriesTooShort { .. } => "series_too_short".to_string(),
            DetectError::InvalidObservation { .. } => "invalid_observation".to_string(),
            DetectError::ModelFit(_) => "model_fit".to_string(),
        }
    }
}

/// Check that every count is finite and non-negative.
pub(crate) fn validate_counts(observed: &[f64]) -> Result<(), DetectError> {
    match observed.iter().position(|v| !v.is_finite() || *v < 0.0) {
        Some(index) => Err(DetectError::InvalidObservation {
            time: index + 1,
            value: observed[index],
        }),
        None => Ok(()),
    }
}

/// Build a [`DetectError::BadValue`].
pub(crate) fn bad_value(parameter: &str, value: impl ToString, reason: &str) -> DetectError {
    DetectError::BadValue {
        parameter: parameter.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}
