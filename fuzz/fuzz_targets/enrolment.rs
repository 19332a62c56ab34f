//! Outside bytes as an enrolment's certificate chain (x509/DER through x509-parser and webpki),
//! checked against the demonstration world's root as admission and execution do. Never a panic.
//! Input: the leaf, then up to three intermediates, each prefixed by a 2-byte length.
#![no_main]

use epichain_core::cert;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// 2026-11-01T00:00:00+08:00.
const GENESIS_MS: u64 = 1_793_462_400_000;

fn roots() -> &'static Vec<Vec<u8>> {
    static ROOTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        epichain_world::DemoWorld::new(GENESIS_MS, Vec::new())
            .expect("world")
            .genesis
            .root_certificates
    })
}

fn split(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut parts = Vec::new();
    while parts.len() < 4 {
        let Some((length, rest)) = data.split_first_chunk::<2>() else {
            break;
        };
        let length = usize::from(u16::from_le_bytes(*length)).min(rest.len());
        let (part, next) = rest.split_at(length);
        parts.push(part.to_vec());
        data = next;
    }
    parts
}

fuzz_target!(|data: &[u8]| {
    let parts = split(data);
    let Some((leaf, intermediates)) = parts.split_first() else {
        return;
    };
    let _ = cert::verify_identity_chain(leaf, intermediates, roots(), GENESIS_MS / 1000 + 86_400);
});
