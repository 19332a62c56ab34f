//! Our keys as the consensus engine's (certificates are checked by `epichain_verify`).

use crate::{PrivateKey, PublicKey};
use commonware_codec::DecodeExt as _;
use epichain_core::{Genesis, KeyPair};

/// Why a key cannot serve the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FinalityError {
    /// A validator key is not a valid Ed25519 point.
    #[error("invalid validator key in genesis")]
    InvalidKey,
}

/// Our public key as the engine's key type.
pub fn consensus_public_key(key: &epichain_core::PublicKey) -> Result<PublicKey, FinalityError> {
    PublicKey::decode(key.0.to_vec()).map_err(|_| FinalityError::InvalidKey)
}

/// Our key pair as the engine's private key (same Ed25519 seed).
pub fn consensus_private_key(key: &KeyPair) -> Result<PrivateKey, FinalityError> {
    PrivateKey::decode(key.seed().to_vec()).map_err(|_| FinalityError::InvalidKey)
}

/// The validator keys of a genesis, as the engine's type.
pub fn validator_keys(genesis: &Genesis) -> Result<Vec<PublicKey>, FinalityError> {
    genesis
        .validators
        .iter()
        .map(|validator| consensus_public_key(&validator.key))
        .collect()
}
