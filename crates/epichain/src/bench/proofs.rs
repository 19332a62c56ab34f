//! `epichain bench proofs`: proof bundles of a case with 10 versions in a chain of a million
//! transactions, generated per second by a node's store and verified per second on one core,
//! beside Ed25519 verification measured in the same run.
//!
//! The chain is built on this machine (real signed reports from 64 hospitals, every block
//! executed and committed); its tip is certified by 3 of the 4 demo validators, whose keys the
//! benchmark holds, in the engine's certificate layout.

use super::ledger::{bench_genesis_ms, bench_world, report_block};
use super::{VerificationBounds, verification_bounds};
use crate::table::Table;
use anyhow::{Context as _, Result, ensure};
use epichain_core::case::{CaseChange, Outcome};
use epichain_core::{Hash, SignedTransaction, TransactionOutcome};
use epichain_ledger::Ledger;
use epichain_verify::bundle::RecordRef;
use epichain_verify::certificate;
use epichain_verify::{Authorship, Verifier};
use epichain_world::{DemoWorld, validator_key, validators};
use std::time::Instant;

/// Settings of the proof benchmark.
#[derive(Clone, Debug)]
pub struct ProofBenchConfig {
    /// Transactions in the chain (at least).
    pub transactions: usize,
    /// Transactions per block.
    pub block_size: usize,
    /// Versions of the proved case.
    pub versions: u32,
    /// Bundles generated and verified in each measurement.
    pub iterations: usize,
}

impl Default for ProofBenchConfig {
    fn default() -> Self {
        ProofBenchConfig {
            transactions: 1_000_000,
            block_size: 1_000,
            versions: 10,
            iterations: 2_000,
        }
    }
}

/// Results of the proof benchmark.
#[derive(Clone, Debug)]
pub struct ProofBenchReport {
    /// Settings used.
    pub config: ProofBenchConfig,
    /// Transactions in the chain.
    pub chain_transactions: u64,
    /// Seconds to build the chain.
    pub build_seconds: f64,
    /// Encoded bundle size.
    pub bundle_bytes: usize,
    /// Bundles built and encoded per second (one thread, a fresh snapshot each).
    pub generated_per_second: f64,
    /// Bundles verified per second on one core, from bytes, certificate included.
    pub verified_per_second: f64,
    /// The same with the checkpoint already verified (a light client's next bundles).
    pub verified_trusted_per_second: f64,
    /// Authorship vouched by the quorum (authors' signatures not re-verified), certificate
    /// included.
    pub verified_quorum_per_second: f64,
    /// The same against a trusted checkpoint: hashing only.
    pub verified_quorum_trusted_per_second: f64,
    /// Ed25519 on one core, over one block's signatures.
    pub bounds: VerificationBounds,
}

impl ProofBenchReport {
    /// The table.
    pub fn table(&self) -> Table {
        let mut table = Table::new(&["measurement", "per second", "÷ Ed25519 single"]);
        let row = |table: &mut Table, name: &str, rate: f64| {
            table.row(vec![
                name.to_string(),
                format!("{rate:.0}"),
                format!("{:.3}", rate / self.bounds.single),
            ]);
        };
        row(
            &mut table,
            "Ed25519 verifications, one at a time",
            self.bounds.single,
        );
        row(
            &mut table,
            "Ed25519 verifications, ZIP-215 batch",
            self.bounds.batch_cached_keys,
        );
        row(
            &mut table,
            "bundles generated (node store)",
            self.generated_per_second,
        );
        row(
            &mut table,
            "bundles verified (certificate included)",
            self.verified_per_second,
        );
        row(
            &mut table,
            "bundles verified (checkpoint trusted)",
            self.verified_trusted_per_second,
        );
        row(
            &mut table,
            "bundles verified, quorum vouches for authors",
            self.verified_quorum_per_second,
        );
        row(
            &mut table,
            "  and checkpoint trusted (hashes only)",
            self.verified_quorum_trusted_per_second,
        );
        table
    }
}

/// Builds the chain and measures.
pub fn run(config: ProofBenchConfig) -> Result<ProofBenchReport> {
    ensure!(
        config.transactions > 0
            && config.block_size > 0
            && config.versions > 0
            && config.iterations > 0,
        "nothing to measure"
    );
    let directory = tempfile::tempdir().context("temporary directory")?;
    let started = Instant::now();
    let BuiltChain {
        world,
        mut ledger,
        case,
        sample,
        transactions,
    } = build_chain(&config, directory.path())?;
    let build_seconds = started.elapsed().as_secs_f64();
    certify_tip(&world, &mut ledger)?;
    let bounds = verification_bounds(&sample);
    let record = RecordRef::Case(case);
    let started = Instant::now();
    let mut bytes = Vec::new();
    for _ in 0..config.iterations {
        bytes = ledger.reader()?.proof_bundle(record)?.to_bytes();
    }
    let generated_per_second = rate(config.iterations, started);
    let mut verifier = Verifier::new(&world.genesis);
    let (bundle, verified) = verifier.verify_bytes(&bytes)?;
    ensure!(
        bundle.versions.len() == config.versions as usize,
        "the case has {} versions, not {}",
        bundle.versions.len(),
        config.versions
    );
    let verified_per_second = verify_rate(&verifier, &bytes, config.iterations)?;
    let mut quorum = verifier.clone().with_authorship(Authorship::Quorum);
    let verified_quorum_per_second = verify_rate(&quorum, &bytes, config.iterations)?;
    verifier.trust(&verified);
    let verified_trusted_per_second = verify_rate(&verifier, &bytes, config.iterations)?;
    quorum.trust(&verified);
    let verified_quorum_trusted_per_second = verify_rate(&quorum, &bytes, config.iterations)?;
    Ok(ProofBenchReport {
        chain_transactions: transactions,
        config,
        build_seconds,
        bundle_bytes: bytes.len(),
        generated_per_second,
        verified_per_second,
        verified_trusted_per_second,
        verified_quorum_per_second,
        verified_quorum_trusted_per_second,
        bounds,
    })
}

fn rate(count: usize, started: Instant) -> f64 {
    count as f64 / started.elapsed().as_secs_f64()
}

fn verify_rate(verifier: &Verifier, bytes: &[u8], iterations: usize) -> Result<f64> {
    let started = Instant::now();
    for _ in 0..iterations {
        verifier.verify_bytes(bytes)?;
    }
    Ok(rate(iterations, started))
}

/// The benchmark's chain.
struct BuiltChain {
    world: DemoWorld,
    ledger: Ledger,
    /// The case with `config.versions` versions.
    case: Hash,
    /// One block's transactions (for the Ed25519 bound).
    sample: Vec<SignedTransaction>,
    /// Transactions committed.
    transactions: u64,
}

/// A ledger of at least `config.transactions` reports, one of whose cases has
/// `config.versions` versions spread along the chain.
fn build_chain(config: &ProofBenchConfig, directory: &std::path::Path) -> Result<BuiltChain> {
    let genesis_ms = bench_genesis_ms()?;
    let mut world = bench_world(genesis_ms, validators(&crate::devnet::VALIDATOR_NAMES), 64)?;
    let mut ledger = Ledger::open(&directory.join("proofs.redb"), &world.genesis)?;
    let mut time_ms = genesis_ms + 3_600_000;
    let mut enrolments = world.enrolments();
    enrolments.extend(world.publications());
    let mut committed = enrolments.len() as u64;
    ledger.append(time_ms, enrolments)?;
    let day = epichain_core::Day::from_unix_ms(genesis_ms);
    let report = world.case_report(day, "DENGUE", "440304")?;
    // Not a benchmark hospital: their nonces are spent by `report_block`.
    let author = "futian-hospital";
    let (transaction, case) = world.identity(author)?.signer.report(report);
    let blocks = config.transactions.div_ceil(config.block_size);
    let versions = config.versions as usize;
    ensure!(blocks >= versions, "fewer blocks than versions");
    let mut pending = Some(transaction);
    let mut sample = Vec::new();
    for block in 0..blocks {
        let mut transactions = report_block(&mut world, config.block_size, block, genesis_ms)?;
        // Updates in blocks k·blocks/versions, k = 1..versions: spread along the chain.
        if block > 0 && (block * versions) % blocks < versions {
            let head = ledger.reader()?.case(&case)?.context("the case")?.head;
            let outcome = if block % 2 == 0 {
                Outcome::Recovered
            } else {
                Outcome::Transferred
            };
            let signer = &mut world.identity(author)?.signer;
            pending = Some(signer.update(case, head, CaseChange::Outcome(outcome), Vec::new()));
        }
        transactions.extend(pending.take());
        if block == 0 {
            sample = transactions.clone();
        }
        time_ms += 1_000;
        committed += transactions.len() as u64;
        let count = transactions.len();
        let outcome = ledger.append(time_ms, transactions)?;
        ensure!(
            outcome.receipts.len() == count
                && outcome
                    .receipts
                    .iter()
                    .all(|receipt| receipt.outcome == TransactionOutcome::Applied),
            "a benchmark transaction was refused"
        );
    }
    ledger.flush()?;
    Ok(BuiltChain {
        world,
        ledger,
        case,
        sample,
        transactions: committed,
    })
}

/// Stores a certificate of the tip signed by a quorum of the demo validators.
fn certify_tip(world: &DemoWorld, ledger: &mut Ledger) -> Result<()> {
    let tip = ledger.tip();
    let order = certificate::validator_order(&world.genesis);
    let keys: Vec<_> = (0..order.len()).map(validator_key).collect();
    let quorum: Vec<_> = keys.iter().take(certificate::quorum(order.len())).collect();
    let signed = certificate::sign_with_keys(
        &world.genesis.chain_id(),
        &order,
        &tip.hash,
        tip.height,
        &quorum,
    )
    .context("the demo validators' keys")?;
    ledger.store_certificate(tip.height, &signed)?;
    Ok(())
}

/// A small chain (4 report blocks, a case with 3 versions) certified at its tip, for tests.
#[cfg(test)]
fn small_certified_chain(directory: &std::path::Path) -> BuiltChain {
    let config = ProofBenchConfig {
        transactions: 40,
        block_size: 10,
        versions: 3,
        iterations: 1,
    };
    let mut chain = build_chain(&config, directory).expect("chain");
    certify_tip(&chain.world, &mut chain.ledger).expect("certificate");
    chain
}

#[cfg(test)]
mod tests {
    use super::*;
    use epichain_verify::VerifyError;

    /// A chain whose tip alone is certified: a transaction of an earlier block is proved through
    /// the headers linking its block to the tip, and a changed link is named.
    #[test]
    fn a_transaction_is_proved_through_headers_up_to_the_certified_tip() {
        let directory = tempfile::tempdir().expect("temp dir");
        let chain = small_certified_chain(directory.path());
        let reader = chain.ledger.reader().expect("reader");
        let first = chain.sample[0].id();
        let bundle = reader
            .proof_bundle(RecordRef::Transaction(first))
            .expect("bundle");
        let proof = bundle.transaction.as_ref().expect("transaction proof");
        assert_eq!(
            proof.headers.len(),
            3,
            "blocks 2–4 before the certified tip 5"
        );
        let verifier = Verifier::new(&chain.world.genesis);
        assert!(verifier.verify(&bundle).is_ok());
        let mut broken = bundle.clone();
        if let Some(proof) = broken.transaction.as_mut() {
            proof.headers[1].time_ms += 1;
        }
        assert_eq!(
            verifier.verify(&broken).err(),
            Some(VerifyError::HeaderLink(proof.headers[1].height))
        );
        let case = reader
            .proof_bundle(RecordRef::Case(chain.case))
            .expect("case bundle");
        assert_eq!(verifier.verify(&case).map(|v| v.height).ok(), Some(5));
        assert_eq!(case.versions.len(), 3);
    }
}

/// `epichain node verify-store` against a store edited behind the ledger's back (as someone
/// with write access to the database file could): each edit is named.
#[cfg(test)]
mod tampering {
    use super::*;
    use epichain_ledger::audit::{AuditError, StoreFault, verify_store};
    use redb::{ReadableTable as _, TableDefinition};

    /// Tables as the store names them (an attacker's view of the file).
    const HEADERS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("headers");
    const BLOCK_TRANSACTIONS: TableDefinition<'_, (u64, u32), &[u8]> =
        TableDefinition::new("block_transactions");
    const CERTIFICATES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("certificates");
    const CASE_VERSIONS: TableDefinition<'_, (u64, u32), &[u8]> =
        TableDefinition::new("case_versions");

    /// Flips the byte `from_end` bytes before the end of the value under `key`.
    macro_rules! flip {
        ($path:expr, $table:expr, $key:expr, $from_end:expr) => {{
            let database = redb::Database::open($path).expect("open");
            let transaction = database.begin_write().expect("write");
            {
                let mut table = transaction.open_table($table).expect("table");
                let mut bytes = table
                    .get($key)
                    .expect("get")
                    .expect("value")
                    .value()
                    .to_vec();
                let position = bytes.len() - 1 - $from_end;
                bytes[position] ^= 0x01;
                table.insert($key, bytes.as_slice()).expect("insert");
            }
            transaction.commit().expect("commit");
        }};
    }

    /// A certified chain in a fresh directory: its store path, a transaction's place, the
    /// place of a case's version 1 and the tip height.
    fn certified_store() -> (
        tempfile::TempDir,
        std::path::PathBuf,
        (u64, u32),
        (u64, u32),
        u64,
    ) {
        let directory = tempfile::tempdir().expect("temp dir");
        let chain = small_certified_chain(directory.path());
        let reader = chain.ledger.reader().expect("reader");
        let transaction = reader
            .store()
            .transaction_location(&chain.sample[0].id())
            .expect("read")
            .expect("stored");
        let versions = reader.case_versions(&chain.case).expect("versions");
        let version = versions[1].location;
        let tip = chain.ledger.tip().height;
        drop(reader);
        drop(chain);
        let path = directory.path().join("proofs.redb");
        (
            directory,
            path,
            (transaction.height, transaction.index),
            (version.height, version.index),
            tip,
        )
    }

    fn fault(path: &std::path::Path) -> StoreFault {
        match verify_store(path, |_| {}) {
            Err(AuditError::Fault(fault)) => fault,
            other => panic!("expected a fault, got {other:?}"),
        }
    }

    #[test]
    fn an_untouched_store_is_consistent_and_every_edit_is_named() {
        let (_directory, path, _, _, tip) = certified_store();
        let summary = verify_store(&path, |_| {}).expect("consistent");
        // 40 reports and the case with versions.
        assert_eq!(
            (summary.blocks, summary.certificates, summary.cases),
            (tip, 1, 41)
        );
        assert!(summary.transactions >= 40 && summary.state_entries > 0);

        let (_directory, path, transaction, _, _) = certified_store();
        flip!(&path, BLOCK_TRANSACTIONS, transaction, 0);
        assert_eq!(fault(&path), StoreFault::Transactions(transaction.0));

        let (_directory, path, _, version, _) = certified_store();
        flip!(&path, CASE_VERSIONS, version, 10);
        assert!(matches!(fault(&path), StoreFault::CaseVersions { .. }));

        let (_directory, path, _, _, tip) = certified_store();
        flip!(&path, CERTIFICATES, tip, 0);
        assert!(matches!(
            fault(&path),
            StoreFault::Certificate {
                error: epichain_verify::certificate::CertificateError::Signature { .. },
                ..
            }
        ));

        let (_directory, path, _, _, _) = certified_store();
        // Header layout (182 bytes): format 2, chain 32, height 8, time 8, parent 32, three roots
        // 96, count 4. A changed parent is named at its own height; a changed time changes the
        // header's hash, named at the next height.
        flip!(&path, HEADERS, 2, 120);
        assert_eq!(fault(&path), StoreFault::Parent(2));
        let (_directory, path, _, _, _) = certified_store();
        flip!(&path, HEADERS, 2, 136);
        assert_eq!(fault(&path), StoreFault::Parent(3));
    }
}
