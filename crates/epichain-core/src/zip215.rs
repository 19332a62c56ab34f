//! Ed25519 verification under the ZIP-215 rules, so that batch and single verification accept
//! exactly the same signatures.
//!
//! RFC 8032 leaves two choices open, and libraries differ on both: whether the verification
//! equation is multiplied by the cofactor, and which point encodings are accepted. A library
//! whose batch check is cofactorless with random weights (as `ed25519-dalek`'s) accepts some
//! signatures its single check rejects, so a transaction's validity would depend on the other
//! transactions it is verified with; with a cache of verdicts, on which node verified it.
//! ZIP-215 (<https://zips.z.cash/zip-0215>) fixes both choices:
//! - `S` must be canonical (< ℓ); `R` and `A` may be any encoding of a curve point (the y
//!   coordinate is reduced mod p);
//! - the equation is cofactored: `[8](R + [k]A − [S]B) = 0` with `k = SHA-512(R ‖ A ‖ M)`.
//!
//! The batch check is `[8](Σ zᵢRᵢ + Σ (zᵢkᵢ)Aᵢ − (Σ zᵢSᵢ)B) = 0` with 128-bit weights `zᵢ`
//! derived from a hash of every item (Fiat–Shamir: fixed before anyone can adapt a signature
//! to them). It holds exactly when every single check holds (but with negligible probability).
//! Terms of one key are added before the multiscalar multiplication: a batch of many reports from
//! few hospitals costs little more than one point per report.
//!
//! Signatures are made by `ed25519-dalek` (RFC 8032); every RFC 8032 signature is valid here.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};
use std::collections::BTreeMap;

/// A decompressed public key.
pub type Point = EdwardsPoint;

/// Domain of the batch weights' derivation.
const BATCH_WEIGHTS_DOMAIN: &[u8] = b"epichain/v1/zip215-batch-weights";

/// A public key's point, from any encoding of a curve point.
pub fn decompress(key: &[u8; 32]) -> Option<EdwardsPoint> {
    CompressedEdwardsY(*key).decompress()
}

/// True for keys of small order: anyone can sign for them, so they are refused as identities.
pub fn is_weak(key: &EdwardsPoint) -> bool {
    key.is_small_order()
}

/// One item to verify: the key (its point and its encoding, which the challenge hashes), the
/// message and the signature.
#[derive(Clone, Copy, Debug)]
pub struct Item<'a> {
    /// The key's point.
    pub key: &'a EdwardsPoint,
    /// The key's encoding.
    pub key_bytes: &'a [u8; 32],
    /// The signed bytes.
    pub message: &'a [u8],
    /// `R ‖ S`.
    pub signature: &'a [u8; 64],
}

/// `R`'s point, `S` (canonical) and the challenge `k` of an item, or `None` if malformed.
fn parts(item: &Item<'_>) -> Option<(EdwardsPoint, Scalar, Scalar)> {
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&item.signature[..32]);
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&item.signature[32..]);
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
    let r = CompressedEdwardsY(r_bytes).decompress()?;
    let mut hasher = Sha512::new();
    hasher.update(r_bytes);
    hasher.update(item.key_bytes);
    hasher.update(item.message);
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&hasher.finalize());
    Some((r, s, Scalar::from_bytes_mod_order_wide(&wide)))
}

/// ZIP-215 single verification: `[8](R + [k]A − [S]B) = 0`.
pub fn verify(item: &Item<'_>) -> bool {
    let Some((r, s, k)) = parts(item) else {
        return false;
    };
    let check = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, item.key, &-s) + r;
    check.mul_by_cofactor().is_identity()
}

/// ZIP-215 batch verification: true exactly when [`verify`] holds for every item.
pub fn verify_batch(items: &[Item<'_>]) -> bool {
    if items.is_empty() {
        return true;
    }
    let mut parsed = Vec::with_capacity(items.len());
    for item in items {
        match parts(item) {
            Some(parts) => parsed.push(parts),
            None => return false,
        }
    }
    let weights = batch_weights(items);
    let mut basepoint = Scalar::ZERO;
    let mut by_key: BTreeMap<&[u8; 32], (Scalar, &EdwardsPoint)> = BTreeMap::new();
    let mut scalars = Vec::with_capacity(items.len() + 1);
    let mut points = Vec::with_capacity(items.len() + 1);
    for ((item, (r, s, k)), z) in items.iter().zip(&parsed).zip(&weights) {
        basepoint -= z * s;
        scalars.push(*z);
        points.push(*r);
        let entry = by_key
            .entry(item.key_bytes)
            .or_insert((Scalar::ZERO, item.key));
        entry.0 += z * k;
    }
    for (scalar, point) in by_key.into_values() {
        scalars.push(scalar);
        points.push(*point);
    }
    scalars.push(basepoint);
    points.push(ED25519_BASEPOINT_POINT);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points)
        .mul_by_cofactor()
        .is_identity()
}

/// 128-bit weights derived from every item, so no signature can be adapted to them.
fn batch_weights(items: &[Item<'_>]) -> Vec<Scalar> {
    let mut transcript = Sha512::new();
    transcript.update(BATCH_WEIGHTS_DOMAIN);
    transcript.update((items.len() as u64).to_le_bytes());
    for item in items {
        transcript.update(item.key_bytes);
        transcript.update(item.signature);
        transcript.update((item.message.len() as u64).to_le_bytes());
        transcript.update(item.message);
    }
    let seed = transcript.finalize();
    (0..items.len() as u64)
        .map(|index| {
            let mut hasher = Sha512::new();
            hasher.update(seed);
            hasher.update(index.to_le_bytes());
            let digest = hasher.finalize();
            let mut bytes = [0u8; 32];
            bytes[..16].copy_from_slice(&digest[..16]);
            Scalar::from_bytes_mod_order(bytes)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::EIGHT_TORSION;
    use ed25519_dalek::Signer as _;

    fn signed(seed: u8, message: &[u8]) -> ([u8; 32], EdwardsPoint, [u8; 64]) {
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let bytes = key.verifying_key().to_bytes();
        let point = decompress(&bytes).expect("point");
        (bytes, point, key.sign(message).to_bytes())
    }

    #[test]
    fn rfc8032_signatures_verify_alone_and_in_batches() {
        let messages: Vec<Vec<u8>> = (0..20u8).map(|index| vec![index; 40]).collect();
        let keys: Vec<_> = messages
            .iter()
            .enumerate()
            .map(|(index, message)| signed(index as u8 % 3, message))
            .collect();
        let items: Vec<Item<'_>> = keys
            .iter()
            .zip(&messages)
            .map(|((bytes, point, signature), message)| Item {
                key: point,
                key_bytes: bytes,
                message,
                signature,
            })
            .collect();
        assert!(items.iter().all(verify));
        assert!(verify_batch(&items));
        // One wrong message fails it alone and fails the batch.
        let mut wrong = items.clone();
        wrong[7].message = b"another message";
        assert!(!verify(&wrong[7]));
        assert!(!verify_batch(&wrong));
    }

    /// The message of [`torsion_signed`].
    const TAINTED: &[u8] = b"tainted";

    /// The signature the review describes: `R' = R + T` for a torsion point `T`, with `S`
    /// computed over `R'`: key bytes, key point and signature of [`TAINTED`].
    fn torsion_signed() -> ([u8; 32], EdwardsPoint, [u8; 64]) {
        let secret = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let expanded = Sha512::digest(secret.to_bytes());
        let mut scalar_bytes = [0u8; 32];
        scalar_bytes.copy_from_slice(&expanded[..32]);
        scalar_bytes[0] &= 248;
        scalar_bytes[31] &= 127;
        scalar_bytes[31] |= 64;
        let a = Scalar::from_bytes_mod_order(scalar_bytes);
        let key_bytes = secret.verifying_key().to_bytes();
        let key = decompress(&key_bytes).expect("point");
        let nonce = Scalar::from_bytes_mod_order([3; 32]);
        let r = EdwardsPoint::mul_base(&nonce) + EIGHT_TORSION[4];
        let r_bytes = r.compress().to_bytes();
        let mut hasher = Sha512::new();
        hasher.update(r_bytes);
        hasher.update(key_bytes);
        hasher.update(TAINTED);
        let mut wide = [0u8; 64];
        wide.copy_from_slice(&hasher.finalize());
        let k = Scalar::from_bytes_mod_order_wide(&wide);
        let s = nonce + k * a;
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&r_bytes);
        signature[32..].copy_from_slice(s.as_bytes());
        (key_bytes, key, signature)
    }

    /// A cofactorless single check rejects the torsion signature while a cofactorless batch may
    /// accept it; under ZIP-215 both accept it, always.
    #[test]
    fn torsion_in_r_gets_the_same_verdict_alone_and_in_any_batch() {
        let (key_bytes, key, signature) = torsion_signed();
        let tainted = Item {
            key: &key,
            key_bytes: &key_bytes,
            message: TAINTED,
            signature: &signature,
        };
        // RFC 8032's cofactorless check (ed25519-dalek) rejects it …
        let dalek = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes).expect("key");
        assert!(
            dalek
                .verify_strict(TAINTED, &ed25519_dalek::Signature::from_bytes(&signature))
                .is_err()
        );
        // … ZIP-215 accepts it alone and in every batch it is put in.
        assert!(verify(&tainted));
        let others: Vec<_> = (0..8u8)
            .map(|index| (vec![index; 9], signed(index, &[index; 9])))
            .collect();
        for size in 0..others.len() {
            let mut batch = vec![tainted];
            for (message, (bytes, point, signature)) in &others[..size] {
                batch.push(Item {
                    key: point,
                    key_bytes: bytes,
                    message,
                    signature,
                });
            }
            assert!(verify_batch(&batch), "batch of {}", batch.len());
        }
    }

    /// Review M9, at the entry points the ledger and the node call: a single check and the
    /// batched `verify_many` give the torsion signature the same verdict (were either back on
    /// dalek's cofactorless checks, this would fail).
    #[test]
    fn the_public_checks_agree_on_torsion_in_r() {
        let (key_bytes, _, signature) = torsion_signed();
        let public = crate::PublicKey(key_bytes);
        let signature = crate::Signature(signature);
        assert!(public.verify(TAINTED, &signature).is_ok());
        let others: Vec<(crate::PublicKey, Vec<u8>, crate::Signature)> = (0..8u8)
            .map(|index| {
                let (bytes, _, signature) = signed(index, &[index; 9]);
                (
                    crate::PublicKey(bytes),
                    vec![index; 9],
                    crate::Signature(signature),
                )
            })
            .collect();
        let mut items = vec![crate::keys::SignedMessage {
            key: &public,
            message: TAINTED,
            signature: &signature,
        }];
        items.extend(
            others
                .iter()
                .map(|(key, message, signature)| crate::keys::SignedMessage {
                    key,
                    message,
                    signature,
                }),
        );
        assert_eq!(crate::keys::verify_many(&items), vec![true; items.len()]);
    }

    #[test]
    fn non_canonical_s_and_small_order_keys_are_refused() {
        let (bytes, point, mut signature) = signed(4, b"m");
        signature[63] |= 0xF0;
        let item = Item {
            key: &point,
            key_bytes: &bytes,
            message: b"m",
            signature: &signature,
        };
        assert!(!verify(&item));
        assert!(!verify_batch(&[item]));
        let identity = [1u8; 1]
            .iter()
            .chain([0u8; 31].iter())
            .copied()
            .collect::<Vec<u8>>();
        let identity: [u8; 32] = identity.try_into().expect("32 bytes");
        assert!(is_weak(
            &decompress(&identity).expect("the identity is a point")
        ));
        assert!(!is_weak(&point));
    }
}
