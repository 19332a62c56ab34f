//! Signed read requests: line-level metadata (case records, access logs, patients) is served only
//! to an enrolled identity whose jurisdiction covers it (review H3). The client signs the request
//! line with its identity key, as it signs transactions; the node checks the signature, the time
//! and the identity's standing, then the jurisdiction.
//!
//! Signed bytes: `tag ‖ Borsh(chain id, method, path with query, time in Unix ms)`. A signature is
//! good for [`READ_REQUEST_SKEW_MS_MAX`] around the node's clock; replaying it within that window
//! repeats a read the signer was allowed to make, which reveals nothing new.

use crate::encoding::{Hash, signing_bytes, tag};
use crate::keys::{KeyPair, Signature};

/// How far a read request's time may be from the node's clock, milliseconds.
pub const READ_REQUEST_SKEW_MS_MAX: u64 = 5 * 60 * 1000;

/// The bytes an identity signs to make a read request.
pub fn read_request_bytes(
    chain_id: &Hash,
    method: &str,
    path_and_query: &str,
    time_ms: u64,
) -> Vec<u8> {
    signing_bytes(
        tag::READ_REQUEST,
        &(chain_id, method, path_and_query, time_ms),
    )
}

/// Signs a read request.
pub fn sign_read_request(
    key: &KeyPair,
    chain_id: &Hash,
    method: &str,
    path_and_query: &str,
    time_ms: u64,
) -> Signature {
    key.sign(&read_request_bytes(
        chain_id,
        method,
        path_and_query,
        time_ms,
    ))
}
