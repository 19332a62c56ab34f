//! `/v1/proofs/{kind}/{id}`: proof bundles (format in `epichain_verify::bundle`).

use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

/// Media type of an encoded bundle.
pub const BUNDLE_CONTENT_TYPE: &str = "application/vnd.epichain.proof";

/// How to answer.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
pub struct ProofQuery {
    /// `binary` (default: the canonical bundle, what `epichain verify` reads) or `json` (a view
    /// of the same content for people and scripts).
    pub format: Option<String>,
}
