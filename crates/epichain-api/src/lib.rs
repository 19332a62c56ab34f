//! The HTTP API as a typed contract: every request body, query and response body the node
//! serves, shared by the node (`epichain-node`, which generates its OpenAPI document from these
//! types) and the client (`epichain-client`). Neither side handles untyped JSON.
//!
//! Identifiers (`Hash`, `PublicKey`) travel as 64 hex digits, days as `YYYY-MM-DD`, regions as
//! six-digit codes, byte strings as hex. Every error is an [`ApiError`] with a stable code.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub mod cases;
pub mod disclosure;
pub mod governance;
pub mod identities;
pub mod node;
pub mod proofs;
pub mod pseudonyms;
pub mod signals;
pub mod transactions;

/// Largest request body (a batch of transactions).
pub const REQUEST_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Most transactions in one batch request.
pub const BATCH_TRANSACTIONS_MAX: usize = 4_096;

/// Header of a signed read request: the reader's identity key (hex).
pub const READER_KEY_HEADER: &str = "x-epichain-reader";

/// Header of a signed read request: the request time, Unix milliseconds.
pub const READER_TIME_HEADER: &str = "x-epichain-time";

/// Header of a signed read request: the signature (hex) over
/// `epichain_core::request::read_request_bytes`.
pub const READER_SIGNATURE_HEADER: &str = "x-epichain-signature";

/// The headers of a signed read request: the reader's key, the time (Unix ms) and the signature
/// over `epichain_core::request::read_request_bytes` of `method` and `path_and_query`.
pub fn read_signature_headers(
    key: &epichain_core::KeyPair,
    chain_id: &epichain_core::Hash,
    method: &str,
    path_and_query: &str,
    time_ms: u64,
) -> [(&'static str, String); 3] {
    let signature =
        epichain_core::request::sign_read_request(key, chain_id, method, path_and_query, time_ms);
    [
        (READER_KEY_HEADER, key.public_key().to_hex()),
        (READER_TIME_HEADER, time_ms.to_string()),
        (READER_SIGNATURE_HEADER, hex::encode(signature.0)),
    ]
}

/// Seconds a client should wait after a refusal that carries `Retry-After`.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// An error body: every 4xx and 5xx answer carries one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    /// Stable machine-readable code (`not_found`, `stale_nonce`, `mempool_full`, …).
    pub code: String,
    /// Human-readable message (may change between releases; match on `code`).
    pub message: String,
}

/// The pattern of a hex identifier (a hash or a public key).
pub const HEX_ID_PATTERN: &str = "^[0-9a-fA-F]{64}$";
