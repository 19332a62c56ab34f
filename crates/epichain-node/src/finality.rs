//! Finality certificates: key conversion and offline verification with the genesis alone.

use crate::block::digest_of;
use crate::consensus::namespace;
use crate::{Finalization, PrivateKey, PublicKey, Scheme};
use commonware_codec::{Decode as _, DecodeExt as _};
use commonware_cryptography::certificate::Verifier as _;
use commonware_utils::ordered::Set;
use epichain_core::{Genesis, Hash, KeyPair};

/// Why a certificate does not prove finality.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FinalityError {
    /// Not a finalization certificate for this validator set.
    #[error("certificate does not decode: {0}")]
    Malformed(String),
    /// Signatures do not verify against the genesis validators.
    #[error("certificate signatures do not verify against the genesis validators")]
    Signatures,
    /// Certifies another block.
    #[error("certificate is for block {found}, not {expected}")]
    WrongBlock {
        /// Expected block hash.
        expected: Hash,
        /// Certified digest.
        found: Hash,
    },
    /// Genesis names no validators.
    #[error("genesis names no validators")]
    NoValidators,
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

/// Verifies that `certificate` finalizes the block with hash `block`, using only the genesis.
pub fn verify_certificate(
    genesis: &Genesis,
    block: &Hash,
    certificate: &[u8],
) -> Result<(), FinalityError> {
    let validators = validator_keys(genesis)?;
    if validators.is_empty() {
        return Err(FinalityError::NoValidators);
    }
    let verifier = Scheme::verifier(
        &namespace(&genesis.chain_id()),
        Set::from_iter_dedup(validators),
    );
    let finalization =
        Finalization::decode_cfg(certificate.to_vec(), &verifier.certificate_codec_config())
            .map_err(|error| FinalityError::Malformed(error.to_string()))?;
    if finalization.proposal.payload != digest_of(block) {
        return Err(FinalityError::WrongBlock {
            expected: *block,
            found: Hash(finalization.proposal.payload.0),
        });
    }
    let mut random = rand::rng();
    if !finalization.verify(&mut random, &verifier, &commonware_parallel::Sequential) {
        return Err(FinalityError::Signatures);
    }
    Ok(())
}
