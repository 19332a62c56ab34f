//! Sealed case details: identifying and clinical data encrypted on the reporting side.
//!
//! Each record version gets a fresh 32-byte data key. The details are encrypted with
//! ChaCha20-Poly1305 under it; the data key is wrapped with HPKE (RFC 9180, X25519 +
//! HKDF-SHA256 + ChaCha20-Poly1305) to each reader's X25519 encryption key (the district
//! authority, the reporter), and separately to the k-of-n escrow (opaque bytes here: the escrow
//! scheme lives with the threshold cryptography). Everything is bound to the chain, the case
//! and the version, so a ciphertext cannot be moved to another record.

use crate::encoding::{self, DecodeError, Hash, hash_tagged_parts, signing_bytes};
use crate::keys::{KeyError, PublicKey, write_private_file};
use borsh::{BorshDeserialize, BorshSerialize};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use serde::{Deserialize, Serialize};
use std::path::Path;

type HpkeKem = hpke::kem::X25519HkdfSha256;
type HpkeKdf = hpke::kdf::HkdfSha256;
type HpkeAead = hpke::aead::ChaCha20Poly1305;

/// Version of the envelope format.
pub const ENVELOPE_FORMAT_VERSION: u8 = 2;

/// Most readers of one envelope.
pub const READERS_MAX: usize = 32;

/// HPKE `info` of wrapped data keys.
const WRAP_INFO: &[u8] = b"epichain/v1/data-key";

/// Domain tag of the binding (AAD) of an envelope.
pub const ENVELOPE_BINDING_TAG: &str = "epichain/v1/sealed-binding";

/// Domain tag of a sealed note's binding (a workflow step's or a grant request's words).
pub const NOTE_BINDING_TAG: &str = "epichain/v1/sealed-note";

/// Domain tag of the signature binding an encryption key to an identity.
pub const ENCRYPTION_KEY_TAG: &str = "epichain/v1/encryption-key";

/// Errors sealing or opening.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The envelope does not decode.
    #[error("sealed details do not decode: {0}")]
    Malformed(#[from] DecodeError),
    /// An envelope format this version does not know.
    #[error(
        "sealed details use envelope format {0}; this version reads format {ENVELOPE_FORMAT_VERSION}"
    )]
    Format(u8),
    /// This key is not among the envelope's readers.
    #[error("this key is not a reader of the sealed details")]
    NotAReader,
    /// Authentication failed: wrong key, wrong record, or tampered ciphertext.
    #[error("sealed details fail authentication (wrong key, wrong record, or tampered)")]
    Authentication,
    /// An encryption key is not a valid X25519 point.
    #[error("invalid encryption key")]
    InvalidKey,
    /// Too many readers.
    #[error("at most {READERS_MAX} readers")]
    TooManyReaders,
    /// The details are not valid JSON of the expected shape.
    #[error("details: {0}")]
    Details(String),
    /// Key file handling.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The random source failed.
    #[error("random source unavailable")]
    Random,
}

/// Identifying and clinical details of a case: never on chain in clear.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaseDetails {
    /// Patient name.
    pub name: String,
    /// Identity document number.
    pub national_id: String,
    /// Phone.
    pub phone: String,
    /// Address.
    pub address: String,
    /// Occupation.
    pub occupation: String,
    /// Symptoms.
    pub symptoms: String,
    /// Laboratory results.
    pub lab_results: String,
    /// Free text.
    pub free_text: String,
    /// A FHIR resource (JSON) when imported.
    pub fhir: Option<serde_json::Value>,
}

impl CaseDetails {
    /// JSON bytes (what is encrypted).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses JSON bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        serde_json::from_slice(bytes).map_err(|error| SealError::Details(error.to_string()))
    }
}

/// An X25519 public encryption key, published on chain with an identity.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct EncryptionPublicKey(pub [u8; 32]);

/// An X25519 key pair for reading sealed details (kept beside the signing key, mode 0600).
#[derive(Clone)]
pub struct EncryptionKeyPair {
    seed: [u8; 32],
}

impl std::fmt::Debug for EncryptionKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptionKeyPair({})", hex::encode(self.public().0))
    }
}

impl EncryptionKeyPair {
    /// A fresh key pair from the OS random source.
    pub fn generate() -> Result<Self, SealError> {
        Ok(Self::from_seed(crate::keys::random_secret()?))
    }

    /// A key pair derived from a 32-byte seed (RFC 9180 DeriveKeyPair).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        EncryptionKeyPair { seed }
    }

    /// The encryption key of a node (a validator holding an escrow share), derived from its
    /// signing key so the node needs no second secret file.
    pub fn derived_from(signing: &crate::keys::KeyPair) -> Self {
        Self::from_seed(
            crate::encoding::hash_tagged_parts(
                "epichain/v1/node-encryption-key",
                &[&signing.seed()],
            )
            .0,
        )
    }

    fn keys(
        &self,
    ) -> (
        <HpkeKem as hpke::Kem>::PrivateKey,
        <HpkeKem as hpke::Kem>::PublicKey,
    ) {
        HpkeKem::derive_keypair(&self.seed)
    }

    /// The public key.
    pub fn public(&self) -> EncryptionPublicKey {
        let bytes = self.keys().1.to_bytes();
        let mut public = [0u8; 32];
        public.copy_from_slice(&bytes);
        EncryptionPublicKey(public)
    }

    /// Writes the seed as hex with mode 0600 (refusing to overwrite).
    pub fn write_file(&self, path: &Path) -> Result<(), SealError> {
        Ok(write_private_file(
            path,
            format!("{}\n", hex::encode(self.seed)).as_bytes(),
        )?)
    }

    /// Reads a key written by [`write_file`](Self::write_file).
    pub fn read_file(path: &Path) -> Result<Self, SealError> {
        match crate::keys::read_secret_file(path) {
            Ok(seed) => Ok(Self::from_seed(seed)),
            Err(KeyError::Secret(_)) => Err(SealError::InvalidKey),
            Err(error) => Err(error.into()),
        }
    }

    /// Unwraps a data key wrapped to this key.
    fn unwrap_key(&self, wrapped: &WrappedKey, binding: &[u8]) -> Result<[u8; 32], SealError> {
        let encapped = <HpkeKem as hpke::Kem>::EncappedKey::from_bytes(&wrapped.encapped)
            .map_err(|_| SealError::Authentication)?;
        let key = hpke::single_shot_open::<HpkeAead, HpkeKdf, HpkeKem>(
            &OpModeR::Base,
            &self.keys().0,
            &encapped,
            WRAP_INFO,
            &wrapped.ciphertext,
            binding,
        )
        .map_err(|_| SealError::Authentication)?;
        key.try_into().map_err(|_| SealError::Authentication)
    }
}

/// The data key wrapped to one reader.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct WrappedKey {
    /// The reader's identity key.
    pub reader: PublicKey,
    /// The encryption key the data key was sealed to: the ledger requires it to be the reader's
    /// published key, so a node that hands a reporter another key (review H5) gets the report
    /// refused instead of readable by whoever holds that key.
    pub recipient: EncryptionPublicKey,
    /// HPKE encapsulated key.
    #[serde(with = "crate::encoding::hex_bytes")]
    pub encapped: Vec<u8>,
    /// HPKE ciphertext of the data key.
    #[serde(with = "crate::encoding::hex_bytes")]
    pub ciphertext: Vec<u8>,
}

/// Sealed case details as stored in a report or update.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Envelope {
    /// [`ENVELOPE_FORMAT_VERSION`].
    pub format: u8,
    /// ChaCha20-Poly1305 ciphertext of the details under the data key.
    #[serde(with = "crate::encoding::hex_bytes")]
    pub body: Vec<u8>,
    /// The data key for each reader.
    pub readers: Vec<WrappedKey>,
    /// The data key for the k-of-n escrow (scheme-specific bytes; empty if none).
    #[serde(with = "crate::encoding::hex_bytes")]
    pub escrow: Vec<u8>,
}

/// What an envelope is bound to: the chain, the case and the version it belongs to.
pub fn binding(chain_id: &Hash, case_id: &Hash, version: u32) -> Vec<u8> {
    hash_tagged_parts(
        ENVELOPE_BINDING_TAG,
        &[&chain_id.0, &case_id.0, &version.to_le_bytes()],
    )
    .0
    .to_vec()
}

/// What a sealed note is bound to: the chain, the record it is about (a signal, a grant
/// request's governance proposal) and a number within it (the step, the action).
pub fn note_binding(chain_id: &Hash, subject: &Hash, number: u32) -> Vec<u8> {
    hash_tagged_parts(
        NOTE_BINDING_TAG,
        &[&chain_id.0, &subject.0, &number.to_le_bytes()],
    )
    .0
    .to_vec()
}

/// The target the escrow key is asked to sign to release a record version's data key.
pub fn escrow_target(chain_id: &Hash, case_id: &Hash, version: u32) -> Vec<u8> {
    binding(chain_id, case_id, version)
}

/// The bytes an identity signs to bind its encryption key (in `PublishEncryptionKey`, the
/// transaction signature itself provides the binding).
pub fn encryption_key_binding(identity: &PublicKey, key: &EncryptionPublicKey) -> Vec<u8> {
    signing_bytes(ENCRYPTION_KEY_TAG, &(identity, key))
}

fn body_cipher(data_key: &[u8; 32]) -> chacha20poly1305::ChaCha20Poly1305 {
    chacha20poly1305::ChaCha20Poly1305::new(&(*data_key).into())
}

/// A fresh random data key.
pub fn new_data_key() -> Result<[u8; 32], SealError> {
    crate::keys::random_secret().map_err(|_| SealError::Random)
}

/// Produces the escrow wrap of a data key.
pub type EscrowWrap<'a> = &'a dyn Fn(&[u8; 32]) -> Vec<u8>;

/// Seals `plaintext` under a fresh data key to `readers`, with `escrow` given the data key to
/// produce the escrow wrap (or `None`).
pub fn seal(
    plaintext: &[u8],
    readers: &[(PublicKey, EncryptionPublicKey)],
    escrow: Option<EscrowWrap<'_>>,
    binding: &[u8],
) -> Result<Envelope, SealError> {
    if readers.len() > READERS_MAX {
        return Err(SealError::TooManyReaders);
    }
    let data_key = new_data_key()?;
    // A data key is used for exactly one message, so a fixed nonce is safe.
    let body = body_cipher(&data_key)
        .encrypt(
            &[0u8; 12].into(),
            Payload {
                msg: plaintext,
                aad: binding,
            },
        )
        .map_err(|_| SealError::Authentication)?;
    let mut wrapped = Vec::with_capacity(readers.len());
    for (reader, key) in readers {
        let public = <HpkeKem as hpke::Kem>::PublicKey::from_bytes(&key.0)
            .map_err(|_| SealError::InvalidKey)?;
        let (encapped, ciphertext) = hpke::single_shot_seal::<HpkeAead, HpkeKdf, HpkeKem>(
            &OpModeS::Base,
            &public,
            WRAP_INFO,
            &data_key,
            binding,
        )
        .map_err(|_| SealError::InvalidKey)?;
        wrapped.push(WrappedKey {
            reader: *reader,
            recipient: *key,
            encapped: encapped.to_bytes().to_vec(),
            ciphertext,
        });
    }
    Ok(Envelope {
        format: ENVELOPE_FORMAT_VERSION,
        body,
        readers: wrapped,
        escrow: escrow.map(|wrap| wrap(&data_key)).unwrap_or_default(),
    })
}

impl Envelope {
    /// Canonical bytes (the `sealed` field of a report or update).
    pub fn to_bytes(&self) -> Vec<u8> {
        encoding::encode(self)
    }

    /// Decodes stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let envelope: Envelope = encoding::decode_bounded(bytes, crate::case::SEALED_BYTES_MAX)?;
        if envelope.format != ENVELOPE_FORMAT_VERSION {
            return Err(SealError::Format(envelope.format));
        }
        if envelope.readers.len() > READERS_MAX {
            return Err(SealError::TooManyReaders);
        }
        Ok(envelope)
    }

    /// The readers it names.
    pub fn reader_keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.readers.iter().map(|wrapped| &wrapped.reader)
    }

    /// True if `reader` can open it.
    pub fn is_reader(&self, reader: &PublicKey) -> bool {
        self.readers.iter().any(|wrapped| wrapped.reader == *reader)
    }

    /// Opens as reader `reader` with its encryption key.
    pub fn open(
        &self,
        reader: &PublicKey,
        key: &EncryptionKeyPair,
        binding: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        let wrapped = self
            .readers
            .iter()
            .find(|wrapped| wrapped.reader == *reader)
            .ok_or(SealError::NotAReader)?;
        // The envelope names the key it was sealed to: another than ours is a tampered envelope.
        if wrapped.recipient != key.public() {
            return Err(SealError::Authentication);
        }
        let data_key = key.unwrap_key(wrapped, binding)?;
        self.open_with_data_key(&data_key, binding)
    }

    /// Opens with a data key recovered another way (the escrow).
    pub fn open_with_data_key(
        &self,
        data_key: &[u8; 32],
        binding: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        body_cipher(data_key)
            .decrypt(
                &[0u8; 12].into(),
                Payload {
                    msg: &self.body,
                    aad: binding,
                },
            )
            .map_err(|_| SealError::Authentication)
    }
}

/// Seals a value to one HPKE recipient (escrow shares, DKG messages): `(encapped, ciphertext)`.
pub fn seal_to(
    recipient: &EncryptionPublicKey,
    plaintext: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, SealError> {
    let public = <HpkeKem as hpke::Kem>::PublicKey::from_bytes(&recipient.0)
        .map_err(|_| SealError::InvalidKey)?;
    let (encapped, ciphertext) = hpke::single_shot_seal::<HpkeAead, HpkeKdf, HpkeKem>(
        &OpModeS::Base,
        &public,
        b"epichain/v1/sealed-to",
        plaintext,
        aad,
    )
    .map_err(|_| SealError::InvalidKey)?;
    let mut bytes = encapped.to_bytes().to_vec();
    bytes.extend_from_slice(&ciphertext);
    Ok(bytes)
}

/// Opens what [`seal_to`] sealed.
pub fn open_from(key: &EncryptionKeyPair, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
    if sealed.len() < 32 {
        return Err(SealError::Authentication);
    }
    let (encapped, ciphertext) = sealed.split_at(32);
    let encapped = <HpkeKem as hpke::Kem>::EncappedKey::from_bytes(encapped)
        .map_err(|_| SealError::Authentication)?;
    hpke::single_shot_open::<HpkeAead, HpkeKdf, HpkeKem>(
        &OpModeR::Base,
        &key.keys().0,
        &encapped,
        b"epichain/v1/sealed-to",
        ciphertext,
        aad,
    )
    .map_err(|_| SealError::Authentication)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details() -> Vec<u8> {
        CaseDetails {
            name: "Zhang San".into(),
            national_id: "11010519491231002X".into(),
            symptoms: "fever, rash".into(),
            ..CaseDetails::default()
        }
        .to_bytes()
    }

    #[test]
    fn readers_open_others_cannot_and_tampering_fails() {
        let authority = (PublicKey([1; 32]), EncryptionKeyPair::from_seed([11; 32]));
        let reporter = (PublicKey([2; 32]), EncryptionKeyPair::from_seed([12; 32]));
        let outsider = (PublicKey([3; 32]), EncryptionKeyPair::from_seed([13; 32]));
        let bind = binding(&Hash([9; 32]), &Hash([8; 32]), 0);
        let envelope = seal(
            &details(),
            &[
                (authority.0, authority.1.public()),
                (reporter.0, reporter.1.public()),
            ],
            None,
            &bind,
        )
        .expect("seal");
        let envelope = Envelope::from_bytes(&envelope.to_bytes()).expect("round trip");
        assert_eq!(
            envelope
                .open(&authority.0, &authority.1, &bind)
                .expect("authority"),
            details()
        );
        assert_eq!(
            envelope
                .open(&reporter.0, &reporter.1, &bind)
                .expect("reporter"),
            details()
        );
        assert!(matches!(
            envelope.open(&outsider.0, &outsider.1, &bind),
            Err(SealError::NotAReader)
        ));
        // The outsider's key cannot open the authority's wrap either.
        assert!(matches!(
            envelope.open(&authority.0, &outsider.1, &bind),
            Err(SealError::Authentication)
        ));
        // Another record's binding fails.
        let other = binding(&Hash([9; 32]), &Hash([8; 32]), 1);
        assert!(envelope.open(&authority.0, &authority.1, &other).is_err());
        // A flipped body byte fails.
        let mut tampered = envelope.clone();
        tampered.body[0] ^= 1;
        assert!(matches!(
            tampered.open(&authority.0, &authority.1, &bind),
            Err(SealError::Authentication)
        ));
    }

    #[test]
    fn sealed_to_one_recipient() {
        let key = EncryptionKeyPair::from_seed([5; 32]);
        let sealed = seal_to(&key.public(), b"share", b"aad").expect("seal");
        assert_eq!(open_from(&key, &sealed, b"aad").expect("open"), b"share");
        assert!(open_from(&EncryptionKeyPair::from_seed([6; 32]), &sealed, b"aad").is_err());
        assert!(open_from(&key, &sealed, b"other").is_err());
    }
}
