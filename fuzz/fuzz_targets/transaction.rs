//! Outside bytes as a signed transaction (the API, gossip and blocks decode these): never a
//! panic; what decodes is canonical (re-encodes to the same bytes, so an id names one
//! transaction) and its signature check answers.
#![no_main]

use epichain_core::SignedTransaction;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(transaction) = SignedTransaction::from_bytes(data) {
        assert_eq!(transaction.to_bytes(), data, "decoding is canonical");
        assert_eq!(transaction.id(), SignedTransaction::id_of_bytes(data));
        let _ = transaction.verify_signature();
    }
});
