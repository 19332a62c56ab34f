//! `epichain bench ledger`: the ledger's write path against the physical bound of Ed25519
//! signature verification, measured in the same run on the same machine.
//!
//! The same signed blocks (1,000 case reports each, from enrolled hospitals, with real sealed
//! envelopes) go through a fresh ledger in each mode; every mode verifies every signature,
//! executes, computes the state root and commits to disk. Throughput is wall-clock, from the
//! first measured block to the last one durable.

use super::{VerificationBounds, verification_bounds};
use crate::table::Table;
use crate::world::DemoWorld;
use anyhow::{Context, Result, ensure};
use epichain_core::{Block, Day, RegionCode, Role, SignedTransaction, Signer, TransactionOutcome};
use epichain_ledger::Ledger;
use epichain_ledger::signatures::verify_ahead;
use std::path::Path;
use std::time::{Duration, Instant};

/// Settings of the ledger benchmark.
#[derive(Clone, Debug)]
pub struct LedgerBenchConfig {
    /// Measured blocks.
    pub blocks: usize,
    /// Transactions per block.
    pub block_size: usize,
    /// Distinct reporting hospitals.
    pub hospitals: usize,
    /// Also load the same reports into a local PostgreSQL.
    pub postgres: bool,
}

impl Default for LedgerBenchConfig {
    fn default() -> Self {
        LedgerBenchConfig {
            blocks: 20,
            block_size: 1_000,
            hospitals: 64,
            postgres: false,
        }
    }
}

/// Blocks applied before measuring (caches, allocator, page cache).
const WARM_UP_BLOCKS: usize = 2;

/// How the ledger is driven in one measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One thread: verify, execute, write and fsync each block in turn.
    Sequential,
    /// Three stages on two cores: the next block's signatures verified ahead, this block
    /// executed, the previous one written and fsynced by the ledger's writer thread.
    Pipelined,
}

/// Results of the ledger benchmark.
#[derive(Clone, Debug)]
pub struct LedgerBenchReport {
    /// Settings used.
    pub config: LedgerBenchConfig,
    /// Verification on one core.
    pub bounds: VerificationBounds,
    /// Cores of this machine.
    pub cores: usize,
    /// Proposer path, one thread, fsync every block: transactions/s.
    pub sequential: f64,
    /// Proposer path, pipelined, fsync every block.
    pub pipelined: f64,
    /// Catch-up replay of received blocks (every root checked), pipelined, every block durable.
    pub replay: f64,
    /// The same reports into PostgreSQL, if asked.
    pub postgres: Option<super::postgres::PostgresOutcome>,
}

impl LedgerBenchReport {
    /// The headline: pipelined apply + commit with fsync every block, against the one-core batch
    /// bound.
    pub fn ratio_to_batch_bound(&self) -> f64 {
        self.pipelined / self.bounds.batch
    }

    /// The printed table.
    pub fn table(&self) -> Table {
        let mut table = Table::new(&["measurement", "tx/s", "vs batch verify (1 core)"]);
        let mut row = |name: String, value: f64| {
            table.row(vec![
                name,
                format!("{value:.0}"),
                format!("{:.2}x", value / self.bounds.batch),
            ]);
        };
        let size = self.config.block_size;
        row(
            "Ed25519 verify, single (ZIP-215), 1 core".into(),
            self.bounds.single,
        );
        row(
            format!("Ed25519 verify, ed25519-dalek batch of {size}, 1 core (the bound)"),
            self.bounds.batch,
        );
        row(
            format!("Ed25519 verify, ZIP-215 batch of {size}, cached keys (ours), 1 core"),
            self.bounds.batch_cached_keys,
        );
        row(
            format!(
                "Ed25519 verify, ed25519-dalek batch of {size}, all {} cores",
                self.cores
            ),
            self.bounds.batch * self.cores as f64,
        );
        row(
            format!("ledger apply + commit, {size}-tx blocks, fsync every block, 1 thread"),
            self.sequential,
        );
        row(
            format!("ledger apply + commit, {size}-tx blocks, fsync every block, pipelined"),
            self.pipelined,
        );
        row(
            "catch-up replay (re-verify, re-execute, check roots), every block durable, pipelined"
                .into(),
            self.replay,
        );
        if let Some(postgres) = &self.postgres {
            postgres.rows(&mut row);
        }
        table
    }
}

/// The benchmark's world and signed blocks, built once and replayed into each fresh ledger.
struct Workload {
    world: DemoWorld,
    genesis_ms: u64,
    enrolments: Vec<SignedTransaction>,
    blocks: Vec<Vec<SignedTransaction>>,
}

/// Runs the benchmark in temporary directories.
pub fn run_ledger(config: LedgerBenchConfig) -> Result<LedgerBenchReport> {
    ensure!(
        config.blocks > 0 && config.block_size > 0 && config.hospitals > 0,
        "nothing to measure"
    );
    let workload = workload(&config)?;
    let bounds = verification_bounds(&workload.blocks[WARM_UP_BLOCKS]);
    let sequential = measure(&workload, Mode::Sequential)?.0;
    let (pipelined, blocks) = measure(&workload, Mode::Pipelined)?;
    let replay = replay(&workload, blocks)?;
    let postgres = if config.postgres {
        Some(super::postgres::run(&workload.blocks[WARM_UP_BLOCKS..]))
    } else {
        None
    };
    Ok(LedgerBenchReport {
        config,
        bounds,
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        sequential,
        pipelined,
        replay,
        postgres,
    })
}

fn workload(config: &LedgerBenchConfig) -> Result<Workload> {
    let genesis_ms = bench_genesis_ms()?;
    let mut world = bench_world(genesis_ms, Vec::new(), config.hospitals)?;
    let mut enrolments = world.enrolments();
    enrolments.extend(world.publications());
    let blocks = (0..config.blocks + WARM_UP_BLOCKS)
        .map(|block| report_block(&mut world, config.block_size, block, genesis_ms))
        .collect::<Result<_>>()?;
    Ok(Workload {
        world,
        genesis_ms,
        enrolments,
        blocks,
    })
}

/// Genesis time of the benchmark worlds.
pub(crate) fn bench_genesis_ms() -> Result<u64> {
    Ok(Day::from_ymd(2026, 1, 1)?.start_unix_ms() as u64)
}

/// The demo world with `hospitals` extra Futian hospitals that report in [`report_block`].
pub(crate) fn bench_world(
    genesis_ms: u64,
    validators: Vec<epichain_core::genesis::Validator>,
    hospitals: usize,
) -> Result<DemoWorld> {
    let mut world = DemoWorld::new(genesis_ms, validators)?;
    let futian: RegionCode = "440304".parse()?;
    for index in 0..hospitals {
        let handle = format!("{BENCH_HOSPITAL_PREFIX}{index}");
        world.add_identity(
            &handle,
            &format!("Bench hospital {index}"),
            Role::Hospital,
            futian,
            2,
            &handle,
        )?;
    }
    Ok(world)
}

/// A fresh ledger in `directory` with the workload's identities enrolled; returns it and the
/// time of its last block.
fn enrolled_ledger(workload: &Workload, directory: &Path) -> Result<(Ledger, u64)> {
    let mut ledger = Ledger::open(&directory.join("bench.redb"), &workload.world.genesis)?;
    let time_ms = workload.genesis_ms + 3_600_000;
    let outcome = ledger.append(time_ms, workload.enrolments.clone())?;
    ensure!(
        outcome
            .receipts
            .iter()
            .all(|receipt| receipt.outcome == TransactionOutcome::Applied),
        "benchmark enrolment failed"
    );
    Ok((ledger, time_ms))
}

/// Applies the workload's blocks as a proposer would (prepare, commit; every block durable) in
/// `mode`; returns transactions/s over the measured blocks and every block, for the replay.
///
/// (redb's non-durable commits, behind `Ledger::set_sync_interval`, measured slower than
/// durable ones here: pages cannot be reused until the next durable commit. The pipelined
/// writer's grouping of queued blocks is the group commit that pays.)
fn measure(workload: &Workload, mode: Mode) -> Result<(f64, Vec<Block>)> {
    let directory = tempfile::tempdir().context("temporary directory")?;
    let (mut ledger, mut time_ms) = enrolled_ledger(workload, directory.path())?;
    ledger.set_pipelined(mode == Mode::Pipelined)?;
    let verifier = ledger.verifier();
    let mut started = Instant::now();
    let mut applied = 0usize;
    let mut apply = |transactions: Vec<SignedTransaction>| -> Result<()> {
        if applied == WARM_UP_BLOCKS {
            ledger.flush()?;
            started = Instant::now();
        }
        time_ms += 1_000;
        let prepared = ledger.prepare(time_ms, transactions)?;
        let outcome = ledger.commit(prepared)?;
        ensure!(
            outcome
                .receipts
                .iter()
                .all(|receipt| receipt.outcome == TransactionOutcome::Applied),
            "a benchmark report was rejected"
        );
        applied += 1;
        Ok(())
    };
    match mode {
        Mode::Sequential => {
            for transactions in workload.blocks.clone() {
                apply(transactions)?;
            }
        }
        Mode::Pipelined => {
            verify_ahead(&verifier, workload.blocks.clone(), |block| block, apply)?;
        }
    }
    ledger.sync()?;
    let elapsed = started.elapsed();
    let blocks = stored_blocks(&ledger)?;
    Ok((rate(workload, elapsed), blocks))
}

/// Measured transactions per second.
fn rate(workload: &Workload, elapsed: Duration) -> f64 {
    let measured: usize = workload.blocks[WARM_UP_BLOCKS..].iter().map(Vec::len).sum();
    measured as f64 / elapsed.as_secs_f64()
}

fn stored_blocks(ledger: &Ledger) -> Result<Vec<Block>> {
    let reader = ledger.reader()?;
    (1..=ledger.tip().height)
        .map(|height| {
            reader
                .store()
                .block(height)?
                .with_context(|| format!("block {height} missing"))
        })
        .collect()
}

/// Catch-up: a fresh ledger applies received blocks (signatures verified ahead on the other
/// core, re-execution, every root checked, pipelined commit, every block durable).
fn replay(workload: &Workload, blocks: Vec<Block>) -> Result<f64> {
    let directory = tempfile::tempdir().context("temporary directory")?;
    let mut replica = Ledger::open(
        &directory.path().join("replay.redb"),
        &workload.world.genesis,
    )?;
    replica.set_pipelined(true)?;
    let verifier = replica.verifier();
    let mut started = Instant::now();
    // Block 1 enrols; the warm-up blocks follow.
    let measured_from = 2 + WARM_UP_BLOCKS as u64;
    verify_ahead(
        &verifier,
        blocks,
        |block| block.transactions.as_slice(),
        |block| -> Result<()> {
            if block.header.height == measured_from {
                replica.flush()?;
                started = Instant::now();
            }
            replica.apply_block(block)?;
            Ok(())
        },
    )?;
    replica.sync()?;
    Ok(rate(workload, started.elapsed()))
}
/// Handle prefix of the benchmark's extra Futian hospitals.
pub(crate) const BENCH_HOSPITAL_PREFIX: &str = "bench-hospital-";

pub(crate) fn report_block(
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
