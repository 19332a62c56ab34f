//! Finality certificates of the consensus engine (commonware simplex, Ed25519 scheme), decoded
//! and checked without the engine: the verifier must not pull in a network stack.
//!
//! Layout (commonware-codec 2026.10; varints are canonical unsigned LEB128):
//! `varint epoch ‖ varint view ‖ varint parent view ‖ block hash (32) ‖ u64 BE signer-bitmap length
//! in bits ‖ bitmap bytes (bit i = 1 << (i % 8) of byte i / 8) ‖ varint signature count ‖
//! 64-byte signatures`, one per set bit, in index order. Bit i names the i-th validator of the
//! genesis keys sorted by their bytes. Each signature signs
//! `varint len(ns) ‖ ns ‖ proposal`, where `ns` is `"epichain-consensus-v1-" ‖ chain id ‖
//! "_FINALIZE"` and `proposal` is the first four fields re-encoded. A certificate needs a quorum
//! of `n − ⌊(n − 1) / 3⌋` distinct validators. The node's tests check this reading against the
//! engine's own verifier on real certificates.

use epichain_core::encoding::Hash;
use epichain_core::keys::{PublicKey, Signature};
use epichain_core::{Genesis, keys};

/// Prefix of the consensus namespace, followed by the chain id.
pub const NAMESPACE_PREFIX: &[u8] = b"epichain-consensus-v1-";
/// Suffix of the namespace of finalize votes.
const FINALIZE_SUFFIX: &[u8] = b"_FINALIZE";
/// Most validators a certificate may name (the bitmap length is read before anything else).
pub const VALIDATORS_MAX: usize = 1_024;

/// Why a certificate does not prove finality.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// Truncated, over-long or non-canonical bytes.
    #[error("certificate does not decode: {0}")]
    Malformed(&'static str),
    /// The genesis names no validators.
    #[error("genesis names no validators")]
    NoValidators,
    /// The signer bitmap is not over this validator set.
    #[error("certificate names {found} validators, genesis has {expected}")]
    ValidatorCount {
        /// Validators in genesis.
        expected: usize,
        /// Bits in the certificate.
        found: usize,
    },
    /// Fewer signers than a quorum.
    #[error("certificate has {found} signatures, a quorum is {quorum}")]
    NoQuorum {
        /// Signatures present.
        found: usize,
        /// Quorum of the validator set.
        quorum: usize,
    },
    /// Certifies another block.
    #[error("certificate is for block {found}, not {expected}")]
    WrongBlock {
        /// Expected block hash.
        expected: Hash,
        /// Certified block hash.
        found: Hash,
    },
    /// A signature does not verify.
    #[error("signature of validator {validator} does not verify")]
    Signature {
        /// The validator's key.
        validator: PublicKey,
    },
}

/// A decoded finalization certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finalization {
    /// Consensus epoch.
    pub epoch: u64,
    /// View of the finalized proposal.
    pub view: u64,
    /// View of its parent.
    pub parent_view: u64,
    /// The finalized block's hash.
    pub block: Hash,
    /// Number of bits in the signer bitmap.
    pub validator_count: usize,
    /// Indices of the signers, ascending.
    pub signers: Vec<usize>,
    /// Their signatures, in the same order.
    pub signatures: Vec<Signature>,
}

/// The consensus validators of a genesis, in the order certificates index them.
pub fn validator_order(genesis: &Genesis) -> Vec<PublicKey> {
    let mut keys: Vec<PublicKey> = genesis.validators.iter().map(|v| v.key).collect();
    keys.sort_by_key(|key| key.0);
    keys.dedup();
    keys
}

/// Signatures a quorum of `n` validators needs.
pub fn quorum(n: usize) -> usize {
    n - (n.saturating_sub(1)) / 3
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, count: usize) -> Result<&[u8], CertificateError> {
        if self.bytes.len() < count {
            return Err(CertificateError::Malformed("truncated"));
        }
        let (head, rest) = self.bytes.split_at(count);
        self.bytes = rest;
        Ok(head)
    }

    fn varint(&mut self) -> Result<u64, CertificateError> {
        let mut value = 0u64;
        for index in 0..10 {
            let byte = self.take(1)?[0];
            let bits = u64::from(byte & 0x7f);
            if index == 9 && byte > 1 {
                return Err(CertificateError::Malformed("varint overflows 64 bits"));
            }
            value |= bits << (7 * index);
            if byte & 0x80 == 0 {
                if byte == 0 && index > 0 {
                    return Err(CertificateError::Malformed("varint is not canonical"));
                }
                return Ok(value);
            }
        }
        Err(CertificateError::Malformed("varint overflows 64 bits"))
    }
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Decodes a certificate (checking its layout, not its signatures).
pub fn decode(bytes: &[u8]) -> Result<Finalization, CertificateError> {
    let mut reader = Reader { bytes };
    let epoch = reader.varint()?;
    let view = reader.varint()?;
    let parent_view = reader.varint()?;
    let mut block = [0u8; 32];
    block.copy_from_slice(reader.take(32)?);
    let mut length = [0u8; 8];
    length.copy_from_slice(reader.take(8)?);
    let validator_count = u64::from_be_bytes(length);
    if validator_count > VALIDATORS_MAX as u64 {
        return Err(CertificateError::Malformed(
            "more validators than the limit",
        ));
    }
    let validator_count = validator_count as usize;
    let bitmap = reader.take(validator_count.div_ceil(8))?;
    let signers: Vec<usize> = (0..validator_count)
        .filter(|bit| bitmap[bit / 8] & (1 << (bit % 8)) != 0)
        .collect();
    let trailing = bitmap.len() * 8 - validator_count;
    if trailing > 0 && bitmap[bitmap.len() - 1] >> (8 - trailing) != 0 {
        return Err(CertificateError::Malformed(
            "bits set past the validator count",
        ));
    }
    let count = reader.varint()?;
    if count != signers.len() as u64 || signers.is_empty() {
        return Err(CertificateError::Malformed(
            "signature count is not the signer count",
        ));
    }
    let mut signatures = Vec::with_capacity(signers.len());
    for _ in 0..signers.len() {
        let mut signature = [0u8; 64];
        signature.copy_from_slice(reader.take(64)?);
        signatures.push(Signature(signature));
    }
    if !reader.bytes.is_empty() {
        return Err(CertificateError::Malformed("trailing bytes"));
    }
    Ok(Finalization {
        epoch,
        view,
        parent_view,
        block: Hash(block),
        validator_count,
        signers,
        signatures,
    })
}

/// Encodes a certificate in the engine's layout (the inverse of [`decode`]; the node's tests
/// check it reproduces the engine's bytes). For tools that certify headers of a chain they
/// hold the validator keys of, such as the proof benchmark.
pub fn encode(finalization: &Finalization) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(64 + 64 * finalization.signatures.len());
    write_varint(&mut bytes, finalization.epoch);
    write_varint(&mut bytes, finalization.view);
    write_varint(&mut bytes, finalization.parent_view);
    bytes.extend_from_slice(&finalization.block.0);
    bytes.extend_from_slice(&(finalization.validator_count as u64).to_be_bytes());
    let mut bitmap = vec![0u8; finalization.validator_count.div_ceil(8)];
    for signer in &finalization.signers {
        bitmap[signer / 8] |= 1 << (signer % 8);
    }
    bytes.extend_from_slice(&bitmap);
    write_varint(&mut bytes, finalization.signatures.len() as u64);
    for signature in &finalization.signatures {
        bytes.extend_from_slice(&signature.0);
    }
    bytes
}

/// A certificate of `block` signed with `keys` (each must be one of `validators`, in
/// [`validator_order`]), for tools and tests holding a chain's validator keys.
pub fn sign_with_keys(
    chain_id: &Hash,
    validators: &[PublicKey],
    block: &Hash,
    view: u64,
    keys: &[&keys::KeyPair],
) -> Option<Vec<u8>> {
    let mut signers: Vec<(usize, &keys::KeyPair)> = keys
        .iter()
        .map(|key| {
            Some((
                validators.iter().position(|v| *v == key.public_key())?,
                *key,
            ))
        })
        .collect::<Option<_>>()?;
    signers.sort_by_key(|(index, _)| *index);
    let mut finalization = Finalization {
        epoch: 0,
        view,
        parent_view: view.saturating_sub(1),
        block: *block,
        validator_count: validators.len(),
        signers: signers.iter().map(|(index, _)| *index).collect(),
        signatures: Vec::new(),
    };
    let message = finalize_message(chain_id, &finalization);
    finalization.signatures = signers.iter().map(|(_, key)| key.sign(&message)).collect();
    Some(encode(&finalization))
}

/// The bytes each validator signed to finalize: the namespaced proposal.
pub fn finalize_message(chain_id: &Hash, finalization: &Finalization) -> Vec<u8> {
    let mut namespace = NAMESPACE_PREFIX.to_vec();
    namespace.extend_from_slice(&chain_id.0);
    namespace.extend_from_slice(FINALIZE_SUFFIX);
    let mut message = Vec::with_capacity(namespace.len() + 64);
    write_varint(&mut message, namespace.len() as u64);
    message.extend_from_slice(&namespace);
    write_varint(&mut message, finalization.epoch);
    write_varint(&mut message, finalization.view);
    write_varint(&mut message, finalization.parent_view);
    message.extend_from_slice(&finalization.block.0);
    message
}

/// A certificate checked for everything but its signatures: which keys signed, and the message.
#[derive(Clone, Debug)]
pub struct Certified {
    /// The signing validators' keys, with their signatures.
    pub signatures: Vec<(PublicKey, Signature)>,
    /// What each signed.
    pub message: Vec<u8>,
}

/// Checks a certificate's layout, validator set, quorum and block against `validators` (in
/// [`validator_order`]); the signatures are left to the caller (so a bundle verifies every
/// signature it carries in one batch).
pub fn certify(
    chain_id: &Hash,
    validators: &[PublicKey],
    block: &Hash,
    certificate: &[u8],
) -> Result<Certified, CertificateError> {
    if validators.is_empty() {
        return Err(CertificateError::NoValidators);
    }
    let finalization = decode(certificate)?;
    if finalization.validator_count != validators.len() {
        return Err(CertificateError::ValidatorCount {
            expected: validators.len(),
            found: finalization.validator_count,
        });
    }
    let needed = quorum(validators.len());
    if finalization.signers.len() < needed {
        return Err(CertificateError::NoQuorum {
            found: finalization.signers.len(),
            quorum: needed,
        });
    }
    if finalization.block != *block {
        return Err(CertificateError::WrongBlock {
            expected: *block,
            found: finalization.block,
        });
    }
    let message = finalize_message(chain_id, &finalization);
    let signatures = finalization
        .signers
        .iter()
        .zip(finalization.signatures)
        .map(|(index, signature)| (validators[*index], signature))
        .collect();
    Ok(Certified {
        signatures,
        message,
    })
}

/// Verifies that `certificate` finalizes the block with hash `block`, using only the genesis (a
/// caller checking many certificates keeps a [`crate::Verifier`] instead: the chain id hashes
/// the whole genesis).
pub fn verify(genesis: &Genesis, block: &Hash, certificate: &[u8]) -> Result<(), CertificateError> {
    crate::Verifier::new(genesis).verify_certificate(block, certificate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_refuse_non_canonical_forms() {
        for value in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut bytes = Vec::new();
            write_varint(&mut bytes, value);
            assert_eq!(Reader { bytes: &bytes }.varint(), Ok(value));
        }
        assert!(
            Reader {
                bytes: &[0x80, 0x00]
            }
            .varint()
            .is_err()
        );
        assert!(Reader { bytes: &[0xff; 11] }.varint().is_err());
    }

    use epichain_world::{DemoWorld, validator_key, validators};

    /// A certificate of `block` signed by the demo validators at `signers` (indices in
    /// [`validator_order`]).
    fn signed(genesis: &Genesis, block: Hash, signers: &[usize]) -> Vec<u8> {
        let order = validator_order(genesis);
        let keys: Vec<keys::KeyPair> = (0..order.len()).map(validator_key).collect();
        let chosen: Vec<&keys::KeyPair> = signers
            .iter()
            .map(|index| {
                keys.iter()
                    .find(|key| key.public_key() == order[*index])
                    .expect("a demo validator")
            })
            .collect();
        sign_with_keys(&genesis.chain_id(), &order, &block, 9, &chosen).expect("validators")
    }

    #[test]
    fn a_quorum_certifies_and_anything_less_or_altered_does_not() {
        let genesis = DemoWorld::new(1_800_000_000_000, validators(&["a", "b", "c", "d"]))
            .expect("world")
            .genesis;
        let block = Hash([5; 32]);
        let good = signed(&genesis, block, &[0, 2, 3]);
        assert_eq!(decode(&good).map(|f| encode(&f)), Ok(good.clone()));
        assert_eq!(verify(&genesis, &block, &good), Ok(()));
        assert_eq!(
            verify(&genesis, &block, &signed(&genesis, block, &[1, 3])),
            Err(CertificateError::NoQuorum {
                found: 2,
                quorum: 3
            })
        );
        assert!(matches!(
            verify(&genesis, &Hash([6; 32]), &good),
            Err(CertificateError::WrongBlock { .. })
        ));
        let mut forged = good.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(matches!(
            verify(&genesis, &block, &forged),
            Err(CertificateError::Signature { .. })
        ));
        let mut truncated = good.clone();
        truncated.pop();
        assert!(matches!(
            decode(&truncated),
            Err(CertificateError::Malformed(_))
        ));
        let mut trailing = good;
        trailing.push(0);
        assert!(matches!(
            decode(&trailing),
            Err(CertificateError::Malformed(_))
        ));
    }

    #[test]
    fn quorum_is_n_minus_f() {
        assert_eq!(quorum(1), 1);
        assert_eq!(quorum(4), 3);
        assert_eq!(quorum(7), 5);
        assert_eq!(quorum(10), 7);
    }
}
