//! Detect aberrations in infectious-disease count series.
//!
//! Pure, deterministic re-implementations of the outbreak-detection algorithms of the R package
//! **surveillance 1.20.3** (and the CIDARS moving percentile method), for use inside a
//! consensus-critical state machine. Nothing here performs I/O, reads a clock or knows about
//! chains: every function maps a count series (and its period, 52 weekly or 365 daily) to one
//! row per evaluated time point.
//!
//! | method | module | R call |
//! |---|---|---|
//! | `fixed` | [`mpm`] | — (alarm iff count ≥ k) |
//! | `mpm` | [`mpm`] | `quantile()` over window sums |
//! | `ears-c1`, `ears-c2`, `ears-c3` | [`ears`] | `earsC` |
//! | `farrington` | [`farrington`] | `algo.farrington` |
//! | `farrington-flexible` | [`farrington_flexible`] | `farringtonFlexible` |
//! | `cusum` | [`cusum`] | `cusum` / `algo.cusum` |
//! | `glrnb` | [`glrnb`] | `glrnb` / `algo.glrnb` |
//!
//! Call a method by name with R's parameter names through [`run`], or use the typed functions of
//! each module. Values that R reports as `NA` are `None`; R's `NaN` is `Some(f64::NAN)`.
//!
//! ```
//! use epichain_detect::{format_alarm, format_value, run};
//!
//! let counts: Vec<f64> = (0..400).map(|t| f64::from(t % 7)).collect();
//! let params = vec![("noPeriods".to_string(), "10".to_string())];
//! let output = run("farrington-flexible", &params, 52, &counts)?;
//! assert_eq!(output.rows.first().map(|row| row.t), Some(264)); // 52·5 + 3 + 1
//! for row in &output.rows {
//!     let _csv = format!("{},{},{}", row.t, format_value(row.upperbound), format_alarm(row.alarm));
//! }
//! # Ok::<(), epichain_detect::DetectError>(())
//! ```
//!
//! **Where R differs from the textbook** (and this crate follows R): EARS C3 uses only the two
//! lagged C2 values and gives NaN/NA when a baseline has zero spread; CUSUM does not reset after
//! an alarm; the GLR restarts after one; classic Farrington uses a two-sided z and upper bound 0
//! under limit54, the flexible one a one-sided z and NA; farringtonFlexible's trend test and
//! prediction standard error use a dispersion computed with the reweighting weights, and its
//! nbPlugin/muan score is on the link scale. Each module documents its quirks.
//!
//! **Determinism.** All transcendental functions come from `libm` (see [`math`]); no
//! `f64::exp/ln/powf` of the platform, no hash-map iteration, no parallelism, no clocks. The GLM
//! fits reproduce R's `glm.fit` iteration by iteration (start `mustart = y + 0.1`, stop when
//! |dev − dev_old|/(|dev| + 0.1) < 1e-8, at most 25 iterations), solved by a Cholesky
//! factorisation of the weighted normal equations on a centred design.

pub mod cusum;
pub mod ears;
mod error;
pub mod farrington;
pub mod farrington_flexible;
pub mod glm;
pub mod glrnb;
pub mod math;
mod method;
pub mod mpm;
mod params;
mod range;

pub use error::DetectError;
pub use method::{Evaluation, MethodConfig};
pub use params::{
    COLUMNS_MAX, METHOD_NAMES, Output, Row, RowValues, format_alarm, format_value, run,
};
