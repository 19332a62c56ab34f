//! Ed25519 keys and signatures: generation, PKCS#8 PEM files (mode 0600), single and batch
//! verification.

use crate::encoding::{DecodeError, parse_hex_array};
use crate::zip215;
use borsh::{BorshDeserialize, BorshSerialize};
use ed25519_dalek::Signer;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::path::Path;

/// Errors about keys and signatures.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Bytes that are not a valid Ed25519 public key.
    #[error("not a valid Ed25519 public key")]
    InvalidPublicKey,
    /// Signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// PEM/PKCS#8 content is not an Ed25519 key.
    #[error("{path}: not an Ed25519 PKCS#8 PEM key ({reason})")]
    Pem { path: String, reason: String },
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// Refusing to overwrite a key file.
    #[error("{0}: file exists; refusing to overwrite a key")]
    Exists(String),
    /// The operating system's random source failed.
    #[error("random source unavailable: {0}")]
    Random(String),
    /// A secret file that does not hold 64 hex digits.
    #[error("{0}: expected a 32-byte secret as 64 hex digits")]
    Secret(String),
}

/// An Ed25519 public key (32 bytes): the identity of every signer on chain.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, DecodeError> {
        parse_hex_array(text).map(PublicKey)
    }

    /// Short form for logs and tables.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..6])
    }

    fn verifying_key(&self) -> Result<ed25519_dalek::VerifyingKey, KeyError> {
        ed25519_dalek::VerifyingKey::from_bytes(&self.0).map_err(|_| KeyError::InvalidPublicKey)
    }

    /// Verifies one signature over `message` (ZIP-215 rules: the same verdict as in any batch,
    /// see [`crate::zip215`]).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), KeyError> {
        let key = zip215::decompress(&self.0).ok_or(KeyError::InvalidPublicKey)?;
        let item = zip215::Item {
            key: &key,
            key_bytes: &self.0,
            message,
            signature: &signature.0,
        };
        if zip215::verify(&item) {
            Ok(())
        } else {
            Err(KeyError::BadSignature)
        }
    }

    /// True for a key anyone can sign for (a point of small order) or no point at all: such a
    /// key is refused as an identity.
    pub fn is_weak(&self) -> bool {
        zip215::decompress(&self.0).is_none_or(|key| zip215::is_weak(&key))
    }

    /// SubjectPublicKeyInfo DER, for certificates.
    pub fn to_spki_der(&self) -> Result<Vec<u8>, KeyError> {
        let key = self.verifying_key()?;
        key.to_public_key_der()
            .map(|document| document.as_bytes().to_vec())
            .map_err(|_| KeyError::InvalidPublicKey)
    }

    /// Parses a SubjectPublicKeyInfo DER.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        ed25519_dalek::VerifyingKey::from_public_key_der(der)
            .map(|key| PublicKey(key.to_bytes()))
            .map_err(|_| KeyError::InvalidPublicKey)
    }
}

impl std::str::FromStr for PublicKey {
    type Err = DecodeError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        PublicKey::from_hex(text)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::encoding::deserialize_from_str(deserializer)
    }
}

/// An Ed25519 signature (64 bytes).
#[derive(Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

impl std::str::FromStr for Signature {
    type Err = DecodeError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_hex_array(text).map(Signature)
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::encoding::deserialize_from_str(deserializer)
    }
}

/// An Ed25519 key pair.
#[derive(Clone)]
pub struct KeyPair {
    signing: ed25519_dalek::SigningKey,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPair({})", self.public_key())
    }
}

impl KeyPair {
    /// A fresh key pair from the operating system's random source.
    pub fn generate() -> Result<Self, KeyError> {
        Ok(Self::from_seed(random_secret()?))
    }

    /// A key pair from a 32-byte seed (tests, benchmarks and deterministic fixtures only).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        KeyPair {
            signing: ed25519_dalek::SigningKey::from_bytes(&seed),
        }
    }

    /// The 32-byte secret seed. Only for handing the key to another Ed25519 implementation
    /// (the consensus engine's key type); never log or store it outside a key file.
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    /// Signs a message.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.signing.sign(message).to_bytes())
    }

    /// PKCS#8 v2 DER of the private key.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        self.signing
            .to_pkcs8_der()
            .map(|document| document.as_bytes().to_vec())
            .map_err(|error| KeyError::Pem {
                path: String::new(),
                reason: error.to_string(),
            })
    }

    /// PKCS#8 PEM text of the private key.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        self.signing
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map(|text| text.to_string())
            .map_err(|error| KeyError::Pem {
                path: String::new(),
                reason: error.to_string(),
            })
    }

    /// Parses PKCS#8 PEM text.
    pub fn from_pkcs8_pem(text: &str) -> Result<Self, KeyError> {
        ed25519_dalek::SigningKey::from_pkcs8_pem(text)
            .map(|signing| KeyPair { signing })
            .map_err(|error| KeyError::Pem {
                path: String::new(),
                reason: error.to_string(),
            })
    }

    /// Writes the key as PKCS#8 PEM with mode 0600, refusing to overwrite an existing file.
    pub fn write_pem_file(&self, path: &Path) -> Result<(), KeyError> {
        let text = self.to_pkcs8_pem()?;
        write_private_file(path, text.as_bytes())
    }

    /// Reads a PKCS#8 PEM key file.
    pub fn read_pem_file(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_pkcs8_pem(&text).map_err(|error| match error {
            KeyError::Pem { reason, .. } => KeyError::Pem {
                path: path.display().to_string(),
                reason,
            },
            other => other,
        })
    }
}

/// 32 bytes from the operating system's random source.
pub fn random_secret() -> Result<[u8; 32], KeyError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|error| KeyError::Random(error.to_string()))?;
    Ok(secret)
}

/// Reads a 32-byte secret written as hex (a seed or key file of ours, mode 0600).
pub fn read_secret_file(path: &Path) -> Result<[u8; 32], KeyError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: display.clone(),
        source,
    })?;
    crate::encoding::parse_hex_array(text.trim()).map_err(|_| KeyError::Secret(display))
}

/// Reads a 32-byte secret file, first making it (random, hex, mode 0600) if it does not exist:
/// secrets a node keeps across restarts.
pub fn secret_file(path: &Path) -> Result<[u8; 32], KeyError> {
    if !path.exists() {
        let secret = random_secret()?;
        write_private_file(path, format!("{}\n", hex::encode(secret)).as_bytes())?;
    }
    read_secret_file(path)
}

/// Creates a new file readable only by its owner (0600 on Unix) and writes `bytes`.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    use std::io::Write;
    let display = path.display().to_string();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists(display.clone())
        } else {
            KeyError::Io {
                path: display.clone(),
                source,
            }
        }
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|source| KeyError::Io {
            path: display,
            source,
        })
}

/// Reads a public key from a file holding either a private key (PKCS#8 PEM), a public key
/// (SubjectPublicKeyInfo PEM), or 64 hex digits.
pub fn read_public_key_file(path: &Path) -> Result<PublicKey, KeyError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: display.clone(),
        source,
    })?;
    if let Ok(pair) = KeyPair::from_pkcs8_pem(&text) {
        return Ok(pair.public_key());
    }
    if let Ok(key) = ed25519_dalek::VerifyingKey::from_public_key_pem(&text) {
        return Ok(PublicKey(key.to_bytes()));
    }
    PublicKey::from_hex(&text).map_err(|_| KeyError::Pem {
        path: display,
        reason: "expected a PKCS#8 private key, an SPKI public key PEM, or 64 hex digits"
            .to_string(),
    })
}

/// Public key as SubjectPublicKeyInfo PEM text.
pub fn public_key_pem(key: &PublicKey) -> Result<String, KeyError> {
    let verifying =
        ed25519_dalek::VerifyingKey::from_bytes(&key.0).map_err(|_| KeyError::InvalidPublicKey)?;
    verifying
        .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|_| KeyError::InvalidPublicKey)
}

/// One item of a batch verification.
#[derive(Clone, Copy, Debug)]
pub struct SignedMessage<'a> {
    /// Signer.
    pub key: &'a PublicKey,
    /// Message bytes (already including the domain tag).
    pub message: &'a [u8],
    /// Signature.
    pub signature: &'a Signature,
}

/// Verifies many signatures at once. Returns one verdict per item: batch verification first, and
/// individual verification to locate the culprits only if the batch fails. The verdicts are the
/// same as verifying each item alone (ZIP-215, see [`crate::zip215`]).
pub fn verify_many(items: &[SignedMessage<'_>]) -> Vec<bool> {
    if items.is_empty() {
        return Vec::new();
    }
    let keys = KeyCache::default().resolve(items);
    verify_many_resolved(items, keys.as_deref(), 1)
}

/// Most decompressed keys a [`KeyCache`] holds before it starts over.
pub const KEY_CACHE_ENTRIES_MAX: usize = 65_536;

/// Fewest signatures per thread when a batch is split across threads.
pub const PARALLEL_BATCH_ITEMS_MIN: usize = 256;

/// Decompressed public keys by key. Decompressing a key (a field square root) costs about a
/// quarter of verifying one signature in a batch, and the same few thousand enrolled keys sign
/// everything, so a verifier decompresses each once.
#[derive(Clone, Debug, Default)]
pub struct KeyCache {
    keys: std::collections::BTreeMap<PublicKey, zip215::Point>,
}

impl KeyCache {
    /// The decompressed key, or `None` if the bytes are not a curve point.
    fn get(&mut self, key: &PublicKey) -> Option<zip215::Point> {
        if let Some(found) = self.keys.get(key) {
            return Some(*found);
        }
        let decompressed = zip215::decompress(&key.0)?;
        if self.keys.len() >= KEY_CACHE_ENTRIES_MAX {
            self.keys.clear();
        }
        self.keys.insert(*key, decompressed);
        Some(decompressed)
    }

    /// A cache holding `keys` already (invalid ones are left out: they fail when used).
    pub fn with_keys(keys: &[PublicKey]) -> KeyCache {
        let mut cache = KeyCache::default();
        for key in keys {
            cache.get(key);
        }
        cache
    }

    /// The decompressed keys of `items`, in order; `None` if one is not a curve point.
    pub fn resolve(&mut self, items: &[SignedMessage<'_>]) -> Option<Vec<zip215::Point>> {
        items.iter().map(|item| self.get(item.key)).collect()
    }
}

/// [`verify_many`] with keys already decompressed ([`KeyCache::resolve`]; `None` if one was
/// invalid), the batch split over `threads` threads when it is large enough.
pub fn verify_many_resolved(
    items: &[SignedMessage<'_>],
    keys: Option<&[zip215::Point]>,
    threads: usize,
) -> Vec<bool> {
    // An invalid key fails its item; verify each item alone to say which.
    let Some(keys) = keys else {
        return verify_each(items);
    };
    let chunk = items
        .len()
        .div_ceil(threads.max(1))
        .max(PARALLEL_BATCH_ITEMS_MIN);
    let batches_valid = if items.len() <= chunk {
        batch_with_keys(items, keys)
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = items
                .chunks(chunk)
                .zip(keys.chunks(chunk))
                .map(|(items, keys)| scope.spawn(move || batch_with_keys(items, keys)))
                .collect();
            handles
                .into_iter()
                .all(|handle| handle.join().unwrap_or(false))
        })
    };
    if batches_valid {
        vec![true; items.len()]
    } else {
        verify_each(items)
    }
}

fn batch_with_keys(items: &[SignedMessage<'_>], keys: &[zip215::Point]) -> bool {
    let batch: Vec<zip215::Item<'_>> = items
        .iter()
        .zip(keys)
        .map(|(item, key)| zip215::Item {
            key,
            key_bytes: &item.key.0,
            message: item.message,
            signature: &item.signature.0,
        })
        .collect();
    zip215::verify_batch(&batch)
}

fn verify_each(items: &[SignedMessage<'_>]) -> Vec<bool> {
    items
        .iter()
        .map(|item| item.key.verify(item.message, item.signature).is_ok())
        .collect()
}

/// RFC 8032 batch verification as `ed25519-dalek` implements it (cofactorless, keys decompressed
/// per signature): the bound the benchmarks are measured against. Not used for verdicts.
pub fn verify_batch_dalek(items: &[SignedMessage<'_>]) -> bool {
    let mut keys = Vec::with_capacity(items.len());
    for item in items {
        match item.key.verifying_key() {
            Ok(key) => keys.push(key),
            Err(_) => return false,
        }
    }
    let messages: Vec<&[u8]> = items.iter().map(|item| item.message).collect();
    let signatures: Vec<ed25519_dalek::Signature> = items
        .iter()
        .map(|item| ed25519_dalek::Signature::from_bytes(&item.signature.0))
        .collect();
    ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let pair = KeyPair::from_seed([7; 32]);
        let signature = pair.sign(b"hello");
        assert!(pair.public_key().verify(b"hello", &signature).is_ok());
        assert!(pair.public_key().verify(b"hellO", &signature).is_err());
    }

    #[test]
    fn pem_file_round_trip_with_private_mode() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("key.pem");
        let pair = KeyPair::generate().expect("random source");
        pair.write_pem_file(&path).expect("write key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let read = KeyPair::read_pem_file(&path).expect("read key");
        assert_eq!(read.public_key(), pair.public_key());
        assert_eq!(
            read_public_key_file(&path).expect("public key"),
            pair.public_key()
        );
        assert!(matches!(
            pair.write_pem_file(&path),
            Err(KeyError::Exists(_))
        ));
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"));
    }

    #[test]
    fn batch_locates_the_bad_signature() {
        let pairs: Vec<KeyPair> = (0..5u8).map(|i| KeyPair::from_seed([i; 32])).collect();
        let keys: Vec<PublicKey> = pairs.iter().map(KeyPair::public_key).collect();
        let messages: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10]).collect();
        let mut signatures: Vec<Signature> = pairs
            .iter()
            .zip(&messages)
            .map(|(pair, message)| pair.sign(message))
            .collect();
        let items = |signatures: &[Signature]| -> Vec<bool> {
            let items: Vec<SignedMessage<'_>> = (0..5)
                .map(|i| SignedMessage {
                    key: &keys[i],
                    message: &messages[i],
                    signature: &signatures[i],
                })
                .collect();
            verify_many(&items)
        };
        assert_eq!(items(&signatures), vec![true; 5]);
        signatures[3].0[0] ^= 1;
        assert_eq!(items(&signatures), vec![true, true, true, false, true]);
    }
}
