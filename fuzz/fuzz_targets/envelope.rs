//! Outside bytes as sealed case details (an envelope on chain, or any HPKE ciphertext a reader
//! opens): never a panic; opening with a key it was not sealed to fails.
#![no_main]

use epichain_core::sealed::{self, EncryptionKeyPair, Envelope};
use epichain_core::{Hash, KeyPair};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn reader() -> &'static (epichain_core::PublicKey, EncryptionKeyPair) {
    static READER: OnceLock<(epichain_core::PublicKey, EncryptionKeyPair)> = OnceLock::new();
    READER.get_or_init(|| {
        let key = KeyPair::from_seed([7; 32]);
        (key.public_key(), EncryptionKeyPair::derived_from(&key))
    })
}

fuzz_target!(|data: &[u8]| {
    let (key, encryption) = reader();
    if let Ok(envelope) = Envelope::from_bytes(data) {
        let binding = sealed::binding(&Hash([1; 32]), &Hash([2; 32]), 0);
        let _ = envelope.open(key, encryption, &binding);
    }
    let _ = sealed::open_from(encryption, data, b"aad");
});
