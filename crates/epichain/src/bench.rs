//! `epichain bench ledger`: the ledger's throughput against the physical bound of Ed25519
//! signature verification, measured in the same run on the same machine and core.

use crate::table::Table;
use crate::world::DemoWorld;
use anyhow::{Context, Result, ensure};
use epichain_core::keys::{SignedMessage, verify_batch};
use epichain_core::{Day, RegionCode, Role, SignedTransaction, Signer, TransactionOutcome};
use epichain_ledger::Ledger;
use std::time::{Duration, Instant};

/// Settings of the ledger benchmark.
#[derive(Clone, Copy, Debug)]
pub struct LedgerBenchConfig {
    /// Measured blocks.
    pub blocks: usize,
    /// Transactions per block.
    pub block_size: usize,
    /// Distinct reporting hospitals.
    pub hospitals: usize,
}

impl Default for LedgerBenchConfig {
    fn default() -> Self {
        LedgerBenchConfig {
            blocks: 20,
            block_size: 1_000,
            hospitals: 64,
        }
    }
}

/// Blocks per fsync in the group-commit measurement.
pub const GROUP_COMMIT_BLOCKS: u64 = 10;

/// Time spent applying blocks with one durability setting.
#[derive(Clone, Copy, Debug)]
pub struct LedgerTiming {
    /// Executing blocks (verify, rules, state root) per second, in transactions.
    pub prepare_per_second: f64,
    /// Committing blocks per second, in transactions.
    pub commit_per_second: f64,
    /// End to end, transactions per second.
    pub total_per_second: f64,
    /// Catch-up replay of the same blocks into a fresh ledger, transactions per second.
    pub replay_per_second: f64,
}

/// Results of the ledger benchmark.
#[derive(Clone, Debug)]
pub struct LedgerBenchReport {
    /// Settings used.
    pub config: LedgerBenchConfig,
    /// Ed25519 single verifications per second.
    pub single_verify_per_second: f64,
    /// Ed25519 batch verifications per second (batches of one block).
    pub batch_verify_per_second: f64,
    /// Every block durable (fsync per block).
    pub durable: LedgerTiming,
    /// Group commit: fsync every [`GROUP_COMMIT_BLOCKS`] blocks.
    pub grouped: LedgerTiming,
}

impl LedgerBenchReport {
    /// Ledger throughput (fsync per block) as a share of the batch-verification bound.
    pub fn ratio_to_batch_bound(&self) -> f64 {
        self.durable.total_per_second / self.batch_verify_per_second
    }

    /// The printed table.
    pub fn table(&self) -> Table {
        let mut table = Table::new(&["measurement (one core)", "tx/s", "vs batch verify"]);
        let mut row = |name: String, value: f64| {
            table.row(vec![
                name,
                format!("{value:.0}"),
                format!("{:.2}x", value / self.batch_verify_per_second),
            ]);
        };
        let size = self.config.block_size;
        row(
            "Ed25519 verify, single".into(),
            self.single_verify_per_second,
        );
        row(
            format!("Ed25519 verify, batch of {size}"),
            self.batch_verify_per_second,
        );
        row(
            "ledger execute (verify + rules + state root)".into(),
            self.durable.prepare_per_second,
        );
        row(
            "ledger commit, fsync every block".into(),
            self.durable.commit_per_second,
        );
        row(
            format!("ledger commit, fsync every {GROUP_COMMIT_BLOCKS} blocks"),
            self.grouped.commit_per_second,
        );
        row(
            format!("ledger apply + commit, {size}-tx blocks, fsync every block"),
            self.durable.total_per_second,
        );
        row(
            format!("ledger apply + commit, {size}-tx blocks, fsync every {GROUP_COMMIT_BLOCKS}"),
            self.grouped.total_per_second,
        );
        row(
            format!("catch-up replay of received blocks, fsync every {REPLAY_SYNC_BLOCKS}"),
            self.durable.replay_per_second,
        );
        table
    }
}

/// Runs the benchmark in temporary directories.
pub fn run_ledger(config: LedgerBenchConfig) -> Result<LedgerBenchReport> {
    ensure!(
        config.blocks > 0 && config.block_size > 0 && config.hospitals > 0,
        "nothing to measure"
    );
    let (single, batch, durable) = measure(config, 1)?;
    let (_, _, grouped) = measure(config, GROUP_COMMIT_BLOCKS)?;
    Ok(LedgerBenchReport {
        config,
        single_verify_per_second: single,
        batch_verify_per_second: batch,
        durable,
        grouped,
    })
}

/// Builds a fresh world and ledger, then applies the measured blocks with the given sync
/// interval. Returns (single verify/s, batch verify/s, ledger timing).
fn measure(config: LedgerBenchConfig, sync_interval: u64) -> Result<(f64, f64, LedgerTiming)> {
    let genesis_ms = Day::from_ymd(2026, 1, 1)?.start_unix_ms() as u64;
    let mut world = DemoWorld::new(genesis_ms, Vec::new())?;
    let futian: RegionCode = "440304".parse()?;
    for index in 0..config.hospitals {
        let handle = format!("{BENCH_HOSPITAL_PREFIX}{index}");
        world.add_identity(
            &handle,
            &format!("Bench hospital {index}"),
            Role::Hospital,
            futian,
            2,
        )?;
    }
    let directory = tempfile::tempdir().context("temporary directory")?;
    let mut ledger = Ledger::open(&directory.path().join("bench.redb"), &world.genesis)?;
    ledger.set_sync_interval(sync_interval);
    let mut enrolments = world.enrolments();
    enrolments.extend(world.publications());
    let mut time_ms = genesis_ms + 3_600_000;
    let outcome = ledger.append(time_ms, enrolments)?;
    ensure!(
        outcome
            .receipts
            .iter()
            .all(|receipt| receipt.outcome == TransactionOutcome::Applied),
        "benchmark enrolment failed"
    );

    let warm_up = 2;
    let blocks: Vec<Vec<SignedTransaction>> = (0..config.blocks + warm_up)
        .map(|block| report_block(&mut world, config.block_size, block, genesis_ms))
        .collect::<Result<_>>()?;
    let (single, batch) = verification_bounds(&blocks[0]);

    let mut prepare_time = Duration::ZERO;
    let mut commit_time = Duration::ZERO;
    for (index, transactions) in blocks.into_iter().enumerate() {
        time_ms += 1_000;
        let started = Instant::now();
        let prepared = ledger.prepare(time_ms, transactions)?;
        let prepared_at = Instant::now();
        let outcome = ledger.commit(prepared)?;
        let committed_at = Instant::now();
        ensure!(
            outcome
                .receipts
                .iter()
                .all(|receipt| receipt.outcome == TransactionOutcome::Applied),
            "a benchmark report was rejected"
        );
        if index >= warm_up {
            prepare_time += prepared_at - started;
            commit_time += committed_at - prepared_at;
        }
    }
    let started = Instant::now();
    ledger.sync()?;
    commit_time += started.elapsed();
    let replay_per_second = replay(&ledger, &world.genesis, warm_up as u64)?;
    let transactions = (config.blocks * config.block_size) as f64;
    let timing = LedgerTiming {
        prepare_per_second: transactions / prepare_time.as_secs_f64(),
        commit_per_second: transactions / commit_time.as_secs_f64(),
        total_per_second: transactions / (prepare_time + commit_time).as_secs_f64(),
        replay_per_second,
    };
    Ok((single, batch, timing))
}

/// Blocks per fsync while replaying (catch-up uses group commit: lost blocks are fetched again).
pub const REPLAY_SYNC_BLOCKS: u64 = 100;

/// Catch-up: a fresh ledger applies the blocks of `source` as received blocks (signature
/// verification, re-execution, every root checked, commit with group fsync). Transactions/s.
fn replay(source: &Ledger, genesis: &epichain_core::Genesis, warm_up: u64) -> Result<f64> {
    let reader = source.reader()?;
    let blocks: Vec<epichain_core::Block> = (1..=source.tip().height)
        .map(|height| {
            reader
                .store()
                .block(height)?
                .ok_or_else(|| epichain_ledger::StorageError::Corrupt("missing block".into()))
        })
        .collect::<Result<_, _>>()?;
    let directory = tempfile::tempdir().context("temporary directory")?;
    let mut replica = Ledger::open(&directory.path().join("replay.redb"), genesis)?;
    replica.set_sync_interval(REPLAY_SYNC_BLOCKS);

    let mut measured = Duration::ZERO;
    let mut transactions = 0usize;
    for block in blocks {
        let count = block.transactions.len();
        let height = block.header.height;
        let started = Instant::now();
        replica.apply_block(block)?;
        if height > 1 + warm_up {
            measured += started.elapsed();
            transactions += count;
        }
    }
    let started = Instant::now();
    replica.sync()?;
    measured += started.elapsed();
    Ok(transactions as f64 / measured.as_secs_f64())
}

/// Handle prefix of the benchmark's extra Futian hospitals.
const BENCH_HOSPITAL_PREFIX: &str = "bench-hospital-";

fn report_block(
    world: &mut DemoWorld,
    size: usize,
    block: usize,
    genesis_ms: u64,
) -> Result<Vec<SignedTransaction>> {
    let day = Day::from_unix_ms(genesis_ms);
    let diseases = ["DENGUE", "INFLUENZA", "HFMD", "COVID19"];
    // One real envelope (district authority + reporter wraps) serves every report: the ledger
    // checks its readers, not its binding, and sealing is the clients' cost, not the ledger's.
    let mut template = epichain_core::CaseReport {
        disease: diseases[0].parse()?,
        region: "440304".parse()?,
        status: epichain_core::CaseStatus::Suspected,
        patient: epichain_core::PatientRef::Pseudonym(epichain_core::Hash::ZERO),
        onset_day: day,
        diagnosis_day: day,
        age_band: 0,
        sex: epichain_core::Sex::Unknown,
        sealed: Vec::new(),
    };
    template.sealed = world.seal_details(&format!("{BENCH_HOSPITAL_PREFIX}0"), &template, None)?;
    let mut hospitals: Vec<&mut Signer> = world
        .identities
        .iter_mut()
        .filter(|identity| identity.handle.starts_with(BENCH_HOSPITAL_PREFIX))
        .map(|identity| &mut identity.signer)
        .collect();
    ensure!(!hospitals.is_empty(), "no benchmark hospitals");
    (0..size)
        .map(|index| {
            let count = hospitals.len();
            let signer = &mut hospitals[index % count];
            let report = epichain_core::CaseReport {
                disease: diseases[(index + block) % diseases.len()].parse()?,
                region: "440304".parse()?,
                status: epichain_core::CaseStatus::Suspected,
                patient: epichain_core::PatientRef::Pseudonym(
                    epichain_core::encoding::hash_tagged(
                        "epichain/bench-patient",
                        &((block * size + index) as u64).to_le_bytes(),
                    ),
                ),
                onset_day: day,
                diagnosis_day: day,
                age_band: (index % 18) as u8,
                sex: epichain_core::Sex::Unknown,
                sealed: template.sealed.clone(),
            };
            Ok(signer.report(report).0)
        })
        .collect()
}

/// Single and batch Ed25519 verifications per second on one block's transactions.
pub fn verification_bounds(transactions: &[SignedTransaction]) -> (f64, f64) {
    let messages: Vec<Vec<u8>> = transactions
        .iter()
        .map(|signed| signed.transaction.signing_bytes())
        .collect();
    let items: Vec<SignedMessage<'_>> = transactions
        .iter()
        .zip(&messages)
        .map(|(signed, message)| SignedMessage {
            key: &signed.transaction.signer,
            message,
            signature: &signed.signature,
        })
        .collect();
    let rounds = 5;
    let started = Instant::now();
    for _ in 0..rounds {
        for item in &items {
            let _ = item.key.verify(item.message, item.signature);
        }
    }
    let single = (rounds * items.len()) as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for _ in 0..rounds {
        let _ = verify_batch(&items);
    }
    let batch = (rounds * items.len()) as f64 / started.elapsed().as_secs_f64();
    (single, batch)
}
