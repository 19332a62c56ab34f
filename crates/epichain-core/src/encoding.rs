//! The one canonical binary encoding (Borsh) and domain-separated SHA-256 hashing.
//!
//! Everything that is hashed or signed goes through [`encode`]; JSON exists only at the API edge.
//! Borsh is canonical by construction for the types we use: fixed-width little-endian integers,
//! `u32` length prefixes, enum variants as a `u8` tag, no maps with unspecified order (we only use
//! `Vec` and `BTreeMap`, whose order is the key order).
//!
//! Every hash and signature covers a domain-separation tag (see [`tag`]), so bytes that are valid
//! for one purpose can never be replayed as another.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;

/// Domain-separation tags. Each names one purpose and carries the format version.
pub mod tag {
    /// Signature over a transaction envelope.
    pub const TRANSACTION_SIGNATURE: &str = "epichain/v1/tx-signature";
    /// Identifier of a signed transaction.
    pub const TRANSACTION_ID: &str = "epichain/v1/tx-id";
    /// Identifier of a case, derived from its reporter and the report's nonce.
    pub const CASE_ID: &str = "epichain/v1/case-id";
    /// Hash of one version of a case record (the per-record hash chain).
    pub const CASE_VERSION: &str = "epichain/v1/case-version";
    /// Hash of a block header.
    pub const BLOCK_HEADER: &str = "epichain/v1/block-header";
    /// Leaf of a block's transaction or receipt Merkle tree.
    pub const MERKLE_LEAF: &str = "epichain/v1/merkle-leaf";
    /// Inner node of a block's transaction or receipt Merkle tree.
    pub const MERKLE_NODE: &str = "epichain/v1/merkle-node";
    /// Genesis document (its hash is the chain id).
    pub const GENESIS: &str = "epichain/v1/genesis";
    /// Approval of a governance proposal by a national authority.
    pub const GOVERNANCE_APPROVAL: &str = "epichain/v1/governance-approval";
    /// Keyed patient pseudonym derived from a national identity number.
    pub const PATIENT_PSEUDONYM: &str = "epichain/v1/patient-pseudonym";
    /// Key of an entry in the authenticated state tree.
    pub const STATE_KEY: &str = "epichain/v1/state-key";
    /// Content address of a stored certificate.
    pub const CERTIFICATE: &str = "epichain/v1/certificate";
    /// Hash of a case's sealed details, as the state commits them.
    pub const SEALED_DETAILS: &str = "epichain/v1/sealed-details";
    /// An identity's signature over an HTTP read request.
    pub const READ_REQUEST: &str = "epichain/v1/read-request";
}

/// Upper bound on any single encoded object we decode from untrusted input.
pub const DECODE_BYTES_MAX: usize = 4 * 1024 * 1024;

/// A SHA-256 digest.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The all-zero hash: "no previous" in hash chains.
    pub const ZERO: Hash = Hash([0u8; 32]);

    /// Bytes of the digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, DecodeError> {
        parse_hex_array(text).map(Hash)
    }
}

impl std::str::FromStr for Hash {
    type Err = DecodeError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Hash::from_hex(text)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_from_str(deserializer)
    }
}

/// Deserialises a value from its string form (`FromStr`), for types shown as text in JSON.
pub fn deserialize_from_str<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    let text = <String as Deserialize>::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// Parses exactly `N` bytes of hex.
pub fn parse_hex_array<const N: usize>(text: &str) -> Result<[u8; N], DecodeError> {
    let bytes = hex::decode(text.trim()).map_err(|_| DecodeError::Hex)?;
    bytes
        .try_into()
        .map_err(|bytes: Vec<u8>| DecodeError::Length {
            expected: N,
            actual: bytes.len(),
        })
}

/// Errors decoding canonical bytes or hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input is larger than [`DECODE_BYTES_MAX`] or a caller's limit.
    #[error("input of {actual} bytes exceeds the limit of {limit} bytes")]
    TooLarge { actual: usize, limit: usize },
    /// The bytes are not a valid canonical encoding of the expected type.
    #[error("malformed canonical encoding: {0}")]
    Malformed(String),
    /// Not hexadecimal.
    #[error("not valid hexadecimal")]
    Hex,
    /// Wrong number of bytes.
    #[error("expected {expected} bytes, got {actual}")]
    Length { expected: usize, actual: usize },
}

/// Canonical bytes of a value.
pub fn encode<T: BorshSerialize>(value: &T) -> Vec<u8> {
    // Writing into a Vec cannot fail; Borsh only errors on I/O.
    borsh::to_vec(value).unwrap_or_default()
}

/// Decodes canonical bytes, requiring the whole buffer to be consumed and bounding the size.
pub fn decode<T: BorshDeserialize>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode_bounded(bytes, DECODE_BYTES_MAX)
}

/// Decodes canonical bytes with an explicit size limit.
pub fn decode_bounded<T: BorshDeserialize>(bytes: &[u8], limit: usize) -> Result<T, DecodeError> {
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge {
            actual: bytes.len(),
            limit,
        });
    }
    borsh::from_slice(bytes).map_err(|error| DecodeError::Malformed(error.to_string()))
}

/// SHA-256 over a length-prefixed domain tag followed by the message.
pub fn hash_tagged(tag: &str, message: &[u8]) -> Hash {
    hash_tagged_parts(tag, &[message])
}

/// SHA-256 over a length-prefixed domain tag followed by several message parts.
pub fn hash_tagged_parts(tag: &str, parts: &[&[u8]]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update((tag.len() as u32).to_le_bytes());
    hasher.update(tag.as_bytes());
    for part in parts {
        hasher.update(part);
    }
    Hash(hasher.finalize().into())
}

/// Hash of a value's canonical encoding under a domain tag.
pub fn hash_value<T: BorshSerialize>(tag: &str, value: &T) -> Hash {
    hash_tagged(tag, &encode(value))
}

/// The byte string a signature covers: length-prefixed tag followed by the canonical message.
pub fn signing_bytes<T: BorshSerialize>(tag: &str, value: &T) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(4 + tag.len() + 256);
    bytes.extend_from_slice(&(tag.len() as u32).to_le_bytes());
    bytes.extend_from_slice(tag.as_bytes());
    // Writing into a Vec cannot fail.
    let _ = borsh::to_writer(&mut bytes, value);
    bytes
}

/// Serde helpers for byte strings as hex in JSON.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialises bytes as lower-case hex.
    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(bytes))
    }

    /// Parses hex into bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = <String as Deserialize>::deserialize(deserializer)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}

/// Serde for a 32-byte array as hex (`#[serde(with = "hex_array")]`).
pub mod hex_array {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialises the array as lower-case hex.
    pub fn serialize<S: Serializer>(bytes: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(bytes))
    }

    /// Parses 64 hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 32], D::Error> {
        let text = <String as Deserialize>::deserialize(deserializer)?;
        parse(&text).map_err(serde::de::Error::custom)
    }

    /// Exactly 64 hex digits (no surrounding space).
    pub(super) fn parse(text: &str) -> Result<[u8; 32], hex::FromHexError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes)?;
        Ok(bytes)
    }
}

/// Serde for a list of 32-byte arrays as hex strings.
pub mod hex_arrays {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialises each array as lower-case hex.
    pub fn serialize<S: Serializer>(arrays: &[[u8; 32]], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(arrays.iter().map(hex::encode))
    }

    /// Parses a list of 64-hex-digit strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<[u8; 32]>, D::Error> {
        let texts = <Vec<String> as Deserialize>::deserialize(deserializer)?;
        texts
            .iter()
            .map(|text| super::hex_array::parse(text).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_separate_domains() {
        let message = b"same bytes";
        assert_ne!(
            hash_tagged(tag::CASE_ID, message),
            hash_tagged(tag::TRANSACTION_ID, message)
        );
    }

    #[test]
    fn tag_is_length_prefixed_so_boundaries_cannot_shift() {
        // "ab" + "c" and "a" + "bc" must not collide.
        assert_ne!(hash_tagged("ab", b"c"), hash_tagged("a", b"bc"));
    }

    #[test]
    fn decode_rejects_trailing_bytes_and_oversize() {
        let mut bytes = encode(&7u32);
        assert_eq!(decode::<u32>(&bytes), Ok(7));
        bytes.push(0);
        assert!(decode::<u32>(&bytes).is_err());
        assert!(matches!(
            decode_bounded::<u32>(&[0; 8], 4),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn hash_hex_round_trip() {
        let hash = hash_tagged("x", b"y");
        assert_eq!(Hash::from_hex(&hash.to_hex()), Ok(hash));
        assert!(Hash::from_hex("abc").is_err());
    }
}
