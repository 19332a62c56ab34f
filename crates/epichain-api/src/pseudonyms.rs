//! Pseudonym scopes and requests (review H4): the key a scope's CDC published, and each
//! reporting site's blinded request with the CDC's answer. Elements are hex; nothing here
//! identifies anyone (blinded and evaluated points only).

use epichain_core::pseudonym::PseudonymPurpose;
use epichain_core::{Hash, Institution, PublicKey, RegionCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Which scope: the one covering a region for a purpose.
#[derive(Clone, Debug, Serialize, Deserialize, IntoParams)]
pub struct ScopeQuery {
    /// A region: the scope found is the nearest published at or above it.
    #[param(pattern = "^[0-9]{6}$")]
    pub region: String,
    /// `case-reporting` (default) or `contact-tracing`.
    #[param(pattern = "^(case-reporting|contact-tracing)$")]
    pub purpose: Option<String>,
}

/// A published pseudonym scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScopeView {
    /// The scope's region.
    #[schema(value_type = String)]
    pub region: RegionCode,
    /// Its purpose.
    #[schema(value_type = String)]
    pub purpose: PseudonymPurpose,
    /// Its public key (hex of a Ristretto255 element).
    #[serde(with = "epichain_core::encoding::hex_array")]
    #[schema(value_type = String)]
    pub public_key: [u8; 32],
    /// The CDC key that answers its requests.
    #[schema(value_type = String)]
    pub evaluator: PublicKey,
    /// When the key was published or last rotated.
    pub published_height: u64,
    /// Unanswered requests, oldest first.
    #[schema(value_type = Vec<String>)]
    pub pending: Vec<Hash>,
}

/// A CDC's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AnswerView {
    /// Evaluated elements (hex), in the request's order.
    #[serde(with = "epichain_core::encoding::hex_arrays")]
    #[schema(value_type = Vec<String>)]
    pub evaluated: Vec<[u8; 32]>,
    /// The batch proof (hex).
    #[serde(with = "epichain_core::encoding::hex_bytes")]
    #[schema(value_type = String)]
    pub proof: Vec<u8>,
    /// The scope key the proof is against (hex).
    #[serde(with = "epichain_core::encoding::hex_array")]
    #[schema(value_type = String)]
    pub public_key: [u8; 32],
    /// Who answered.
    #[schema(value_type = String)]
    pub by: PublicKey,
    /// When.
    pub height: u64,
}

/// A reporting site's request: who asked, how many, when, and the answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RequestView {
    /// Request (transaction) id.
    #[schema(value_type = String)]
    pub id: Hash,
    /// The scope's region.
    #[schema(value_type = String)]
    pub region: RegionCode,
    /// The scope's purpose.
    #[schema(value_type = String)]
    pub purpose: PseudonymPurpose,
    /// Who asked.
    #[schema(value_type = String)]
    pub requester: PublicKey,
    /// For which institution.
    #[schema(value_type = String)]
    pub institution: Institution,
    /// Blinded elements (hex).
    #[serde(with = "epichain_core::encoding::hex_arrays")]
    #[schema(value_type = Vec<String>)]
    pub blinded: Vec<[u8; 32]>,
    /// Block height.
    pub height: u64,
    /// Block time, Unix milliseconds.
    pub time_ms: u64,
    /// The answer, once posted.
    pub answer: Option<AnswerView>,
}
