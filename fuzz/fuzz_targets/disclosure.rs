//! Outside bytes in the escrow and disclosure payloads: decryption-share postings and escrow
//! key-generation messages (borsh), the escrow key's public sharing, commitments, acks and the
//! escrow wraps the ledger checks. Never a panic.
#![no_main]

use epichain_core::disclosure::{DecryptionShares, EscrowMessage};
use epichain_core::encoding::{DECODE_BYTES_MAX, decode_bounded, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(shares) = decode_bounded::<DecryptionShares>(data, DECODE_BYTES_MAX) {
        assert_eq!(encode(&shares), data);
    }
    if let Ok(message) = decode_bounded::<EscrowMessage>(data, DECODE_BYTES_MAX) {
        assert_eq!(encode(&message), data);
    }
    let _ = epichain_escrow::decode_sharing(data, 4);
    let _ = epichain_escrow::check_commitment(data, 4);
    let _ = epichain_escrow::check_ack(data);
    let _ = epichain_escrow::check_wrap_shape(data);
});
