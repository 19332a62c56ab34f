//! Benchmarks that print a table, each measured beside a bound or a peer in the same run (these
//! machines are shared and noisy, so only ratios travel).
//!
//! - [`ledger`]: `epichain bench ledger`, the write path against Ed25519 verification;
//! - [`postgres`]: the same reports into a local PostgreSQL, for `bench ledger --postgres`;
//! - [`hostile`]: `epichain bench hostile`, attacks on a running devnet beside honest reports;
//! - [`crash`]: `epichain bench crash`, validators SIGKILLed on a schedule under load (Jepsen-style);
//! - [`network`]: `epichain bench network`, finalized throughput and latency on the devnet;
//! - [`privacy`]: `epichain bench privacy`, sealing, escrow and disclosure costs;
//! - [`warning`]: `epichain bench warning`, time from a triggering report to its signal;
//! - [`proofs`]: `epichain bench proofs`, proof bundles generated and verified per second.

pub mod crash;
pub mod hostile;
pub mod ledger;
pub mod network;
pub mod postgres;
pub mod privacy;
pub mod proofs;
pub mod warning;

use epichain_core::SignedTransaction;
use epichain_core::keys::{KeyCache, SignedMessage, verify_batch_dalek, verify_many_resolved};
use epichain_core::transaction::with_signed_messages;
use std::time::Instant;

pub use ledger::{LedgerBenchConfig, LedgerBenchReport, run_ledger};

/// The case report the network benchmarks submit: suspected, in Futian (440304), today, no
/// sealed details, a patient pseudonym derived from `tag` and `index` (distinct per report).
pub fn bench_report(
    tag: &str,
    index: u64,
    disease: &str,
    day: epichain_core::Day,
) -> Result<epichain_core::CaseReport, String> {
    Ok(epichain_core::CaseReport {
        disease: disease
            .parse()
            .map_err(|error: epichain_core::disease::DiseaseError| error.to_string())?,
        region: "440304"
            .parse()
            .map_err(|error: epichain_core::region::RegionError| error.to_string())?,
        status: epichain_core::CaseStatus::Suspected,
        patient: epichain_core::PatientRef::Pseudonym(epichain_core::encoding::hash_tagged(
            tag,
            &index.to_le_bytes(),
        )),
        onset_day: day,
        diagnosis_day: day,
        age_band: (index % 18) as u8,
        sex: epichain_core::Sex::Unknown,
        sealed: Vec::new(),
    })
}

/// Ed25519 verification rates on one core over one block's transactions, signatures per second.
#[derive(Clone, Copy, Debug)]
pub struct VerificationBounds {
    /// One at a time.
    pub single: f64,
    /// One batch with `ed25519-dalek` (RFC 8032, cofactorless, each key decompressed with its
    /// signature): the bound the targets name.
    pub batch: f64,
    /// One ZIP-215 batch with keys decompressed beforehand and terms of one key added up: what
    /// the ledger runs.
    pub batch_cached_keys: f64,
}

/// Measures [`VerificationBounds`] on `transactions`.
pub fn verification_bounds(transactions: &[SignedTransaction]) -> VerificationBounds {
    with_signed_messages(transactions.iter(), measure_bounds)
}

fn measure_bounds(items: &[SignedMessage<'_>]) -> VerificationBounds {
    let rounds = 5;
    let rate = |started: Instant| (rounds * items.len()) as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for _ in 0..rounds {
        for item in items {
            let _ = item.key.verify(item.message, item.signature);
        }
    }
    let single = rate(started);
    let started = Instant::now();
    for _ in 0..rounds {
        let _ = verify_batch_dalek(items);
    }
    let batch = rate(started);
    let keys = KeyCache::default().resolve(items);
    let started = Instant::now();
    for _ in 0..rounds {
        let _ = verify_many_resolved(items, keys.as_deref(), 1);
    }
    let batch_cached_keys = rate(started);
    VerificationBounds {
        single,
        batch,
        batch_cached_keys,
    }
}

/// The `fraction`-quantile (0..=1) of ascending `sorted` values (nearest rank), NaN if none.
pub fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}
