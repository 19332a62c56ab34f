//! `/v1/proofs/{kind}/{id}`: proof bundles (format in `epichain_verify::bundle`; its JSON view
//! is the verifier's, `epichain verify --json`, not the API's).

/// Media type of an encoded bundle.
pub const BUNDLE_CONTENT_TYPE: &str = "application/vnd.epichain.proof";
