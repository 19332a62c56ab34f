//! `epichain bench network --node URL`: drives a running devnet with signed case reports from
//! many enrolled hospitals and measures finalized throughput and finalization latency, beside
//! the Ed25519 batch-verification bound measured in the same run.

use crate::bench::{percentile, verification_bounds};
use crate::devnet::{self, Devnet};
use crate::table::Table;
use epichain_client::{Client, ClientError};
use epichain_core::{Day, Hash, RegionCode, Role, SignedTransaction};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest wait for the full-load backlog to clear on every node before the latency phase.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(180);

/// How often the settle phase polls the nodes.
const SETTLE_POLL: Duration = Duration::from_millis(250);

/// Reports per request in the full-load phase (a hospital gateway batching its submissions).
const SUBMIT_BATCH: usize = 100;

/// Settings.
#[derive(Clone, Debug)]
pub struct NetworkBenchConfig {
    /// Node to submit to.
    pub node: String,
    /// Devnet directory (its CAs issue the benchmark hospitals' certificates).
    pub devnet: std::path::PathBuf,
    /// Reporting hospitals (client keys).
    pub hospitals: usize,
    /// Reports in the throughput phase.
    pub throughput_reports: usize,
    /// Concurrent submissions in the throughput phase.
    pub concurrency: usize,
    /// Offered load in the latency phase, reports per second.
    pub latency_rate: u32,
    /// Duration of the latency phase.
    pub latency_seconds: u32,
    /// Validators sharing this machine (divides the verification bound).
    pub validators_on_machine: usize,
}

/// Results.
#[derive(Clone, Debug)]
pub struct NetworkBenchReport {
    /// Settings.
    pub config: NetworkBenchConfig,
    /// Batch verifications per second on one core.
    pub batch_verify_per_second: f64,
    /// Cores of this machine.
    pub cores: usize,
    /// Finalized reports per second at full load.
    pub throughput_per_second: f64,
    /// Latency at full load, p50 and p99, milliseconds.
    pub saturated_latency_ms: (f64, f64),
    /// Offered rate actually achieved in the latency phase.
    pub offered_rate: f64,
    /// Latency at the offered rate, p50 and p99, milliseconds.
    pub latency_ms: (f64, f64),
    /// Reports refused (503) and retried.
    pub retries: usize,
    /// Seconds after the full-load phase until every node applied the backlog.
    pub settle_seconds: f64,
}

impl NetworkBenchReport {
    /// The verification bound shared by the validators on this machine, transactions/s.
    pub fn shared_bound(&self) -> f64 {
        self.batch_verify_per_second * self.cores as f64
            / self.config.validators_on_machine.max(1) as f64
    }

    /// The printed table.
    pub fn table(&self) -> Table {
        let mut table = Table::new(&["measurement", "value", "target"]);
        let bound = self.shared_bound();
        table.row(vec![
            "Ed25519 batch verify, one core".into(),
            format!("{:.0} tx/s", self.batch_verify_per_second),
            String::new(),
        ]);
        table.row(vec![
            format!(
                "bound: × {} cores ÷ {} validators on this machine",
                self.cores, self.config.validators_on_machine
            ),
            format!("{bound:.0} tx/s"),
            String::new(),
        ]);
        table.row(vec![
            "finalized reports, full load".into(),
            format!(
                "{:.0} tx/s ({:.2}x bound)",
                self.throughput_per_second,
                self.throughput_per_second / bound
            ),
            "≥ 10,000/s".into(),
        ]);
        table.row(vec![
            "finalization latency at full load, p50 / p99".into(),
            format!(
                "{:.0} / {:.0} ms",
                self.saturated_latency_ms.0, self.saturated_latency_ms.1
            ),
            String::new(),
        ]);
        table.row(vec![
            format!(
                "finalization latency at {:.0} reports/s, p50 / p99",
                self.offered_rate
            ),
            format!("{:.0} / {:.0} ms", self.latency_ms.0, self.latency_ms.1),
            "p99 ≤ 500 ms at 1,000/s".into(),
        ]);
        table.row(vec![
            "full-load backlog applied by every node after".into(),
            format!("{:.1} s", self.settle_seconds),
            String::new(),
        ]);
        table.row(vec![
            "requests slowed or retried by a full mempool".into(),
            self.retries.to_string(),
            String::new(),
        ]);
        table
    }
}

/// Waits until every node reports the same height and an empty mempool (or the timeout).
async fn settle(devnet: &Devnet) -> Result<(), String> {
    let clients: Vec<Client> = devnet
        .nodes
        .iter()
        .map(|node| devnet.client(&node.url))
        .collect();
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    loop {
        let mut heights = Vec::with_capacity(clients.len());
        let mut pending = 0;
        for client in &clients {
            let status = client.status().await.map_err(|error| error.to_string())?;
            heights.push(status.height);
            pending += status.mempool_transactions;
        }
        let settled = pending == 0 && heights.iter().min() == heights.iter().max();
        if settled || Instant::now() >= deadline {
            return Ok(());
        }
        tokio::time::sleep(SETTLE_POLL).await;
    }
}

/// When each watched transaction was submitted and finalized.
#[derive(Default)]
pub(crate) struct Timings {
    pub(crate) submitted: BTreeMap<Hash, Instant>,
    pub(crate) finalized: BTreeMap<Hash, Instant>,
}

/// Polls new blocks and records when watched transactions appear in them.
pub(crate) async fn watch(
    client: Client,
    timings: Arc<Mutex<Timings>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut next = client.status().await.map_or(0, |status| status.height) + 1;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let Ok(block) = client.block(next).await else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let seen = Instant::now();
        if let Ok(mut timings) = timings.lock() {
            for id in block.transactions {
                timings.finalized.entry(id).or_insert(seen);
            }
        }
        next += 1;
    }
}

pub(crate) fn latencies(timings: &Timings, ids: &[Hash]) -> (f64, f64, usize) {
    let mut values: Vec<f64> = ids
        .iter()
        .filter_map(|id| {
            let submitted = timings.submitted.get(id)?;
            let finalized = timings.finalized.get(id)?;
            Some(
                finalized
                    .saturating_duration_since(*submitted)
                    .as_secs_f64()
                    * 1_000.0,
            )
        })
        .collect();
    values.sort_by(f64::total_cmp);
    (
        percentile(&values, 0.5),
        percentile(&values, 0.99),
        values.len(),
    )
}

/// Submits one transaction, retrying while the mempool is full; counts retries.
async fn submit_with_retry(
    client: &Client,
    transaction: &SignedTransaction,
    retries: &Mutex<usize>,
) -> Result<(), ClientError> {
    loop {
        match client.submit(transaction).await {
            Ok(_) => return Ok(()),
            Err(ClientError::Refused { status: 503, .. }) => {
                if let Ok(mut count) = retries.lock() {
                    *count += 1;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

pub(crate) async fn wait_all(timings: &Mutex<Timings>, ids: &[Hash], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if timings
            .lock()
            .is_ok_and(|timings| ids.iter().all(|id| timings.finalized.contains_key(id)))
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Runs the benchmark against a running devnet.
#[allow(clippy::too_many_lines)] // The benchmark's phases in order; bench/ restructure with issue 12.
pub async fn run(config: NetworkBenchConfig) -> Result<NetworkBenchReport, String> {
    let mut devnet = Devnet::prepare(&config.devnet, devnet::DEFAULT_BASE_PORT, 0)
        .map_err(|error| error.to_string())?;
    let client = devnet.client(&config.node);
    let status = client.status().await.map_err(|error| error.to_string())?;
    if status.chain_id.to_hex() != devnet.manifest.chain_id {
        return Err(format!(
            "{} runs chain {}, but {} holds chain {}",
            config.node,
            status.chain_id,
            config.devnet.display(),
            devnet.manifest.chain_id
        ));
    }
    // Enrol the benchmark hospitals (Futian, under the Shenzhen CA).
    let futian: RegionCode = "440304"
        .parse()
        .map_err(|error: epichain_core::region::RegionError| error.to_string())?;
    for index in 0..config.hospitals {
        devnet
            .world
            .add_identity(
                &format!("bench-hospital-{index}"),
                &format!("Bench hospital {index}"),
                Role::Hospital,
                futian,
                2,
                &format!("bench-hospital-{index}"),
            )
            .map_err(|error| error.to_string())?;
    }
    devnet
        .resume_nonces(&client)
        .await
        .map_err(|error| error.to_string())?;
    devnet::enrol_world(&mut devnet, &client)
        .await
        .map_err(|error| error.to_string())?;
    let day = Day::from_unix_ms(status.time_ms);

    // Pre-sign everything (not measured).
    let total = config.throughput_reports + (config.latency_rate * config.latency_seconds) as usize;
    let signed = bench_reports(&mut devnet, day, total)?;
    let batch = verification_bounds(&signed[..signed.len().min(1_000)]).batch;
    let (throughput_set, latency_set) = signed.split_at(config.throughput_reports);

    let timings = Arc::new(Mutex::new(Timings::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = tokio::spawn(watch(client.clone(), timings.clone(), stop.clone()));
    let retries = Arc::new(Mutex::new(0usize));

    // Phase 1: full load with `concurrency` submitters; each owns some hospitals and sends their
    // reports in nonce order (a signer's nonces must arrive increasing).
    let started = Instant::now();
    let lanes = config.concurrency.clamp(1, config.hospitals.max(1));
    let mut chunks: Vec<Vec<SignedTransaction>> = vec![Vec::new(); lanes];
    for (index, transaction) in throughput_set.iter().enumerate() {
        chunks[(index % config.hospitals.max(1)) % lanes].push(transaction.clone());
    }
    let mut tasks = Vec::new();
    for chunk in chunks {
        let client = client.clone();
        let timings = timings.clone();
        let retries = retries.clone();
        tasks.push(tokio::spawn(async move {
            for batch in chunk.chunks(SUBMIT_BATCH) {
                let now = Instant::now();
                if let Ok(mut timings) = timings.lock() {
                    for transaction in batch {
                        timings.submitted.insert(transaction.id(), now);
                    }
                }
                let before = Instant::now();
                devnet::submit_all(&client, batch).await?;
                if before.elapsed() > Duration::from_millis(150)
                    && let Ok(mut count) = retries.lock()
                {
                    *count += 1;
                }
            }
            Ok::<(), ClientError>(())
        }));
    }
    for task in tasks {
        task.await
            .map_err(|error| error.to_string())?
            .map_err(|error| error.to_string())?;
    }
    let throughput_ids: Vec<Hash> = throughput_set.iter().map(SignedTransaction::id).collect();
    if !wait_all(&timings, &throughput_ids, Duration::from_secs(300)).await {
        return Err("not every report was finalized within 300 s".into());
    }
    let last_finalized = {
        let timings = timings.lock().map_err(|_| "poisoned")?;
        throughput_ids
            .iter()
            .filter_map(|id| timings.finalized.get(id))
            .max()
            .copied()
            .unwrap_or(started)
    };
    let throughput =
        throughput_ids.len() as f64 / last_finalized.duration_since(started).as_secs_f64();
    let saturated = {
        let timings = timings.lock().map_err(|_| "poisoned")?;
        latencies(&timings, &throughput_ids)
    };

    // The latency phase must not measure the full-load backlog: wait until every validator's
    // mempool is empty and every node (replicas included) has applied the same height.
    let settle_started = Instant::now();
    settle(&devnet).await?;
    let settle_seconds = settle_started.elapsed().as_secs_f64();

    // Phase 2: a fixed offered rate.
    let interval = Duration::from_secs_f64(1.0 / f64::from(config.latency_rate.max(1)));
    let started = Instant::now();
    let mut in_flight = Vec::new();
    for (index, transaction) in latency_set.iter().enumerate() {
        let due = started + interval * index as u32;
        tokio::time::sleep_until(due.into()).await;
        let client = client.clone();
        let timings = timings.clone();
        let retries = retries.clone();
        let transaction = transaction.clone();
        in_flight.push(tokio::spawn(async move {
            if let Ok(mut timings) = timings.lock() {
                timings.submitted.insert(transaction.id(), Instant::now());
            }
            submit_with_retry(&client, &transaction, &retries).await
        }));
    }
    let offered_rate = latency_set.len() as f64 / started.elapsed().as_secs_f64();
    for task in in_flight {
        task.await
            .map_err(|error| error.to_string())?
            .map_err(|error| error.to_string())?;
    }
    let latency_ids: Vec<Hash> = latency_set.iter().map(SignedTransaction::id).collect();
    wait_all(&timings, &latency_ids, Duration::from_secs(120)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = watcher.await;
    let latency = {
        let timings = timings.lock().map_err(|_| "poisoned")?;
        latencies(&timings, &latency_ids)
    };
    let retries = retries.lock().map(|count| *count).unwrap_or_default();
    Ok(NetworkBenchReport {
        batch_verify_per_second: batch,
        cores: std::thread::available_parallelism().map_or(1, |count| count.get()),
        throughput_per_second: throughput,
        saturated_latency_ms: (saturated.0, saturated.1),
        offered_rate,
        latency_ms: (latency.0, latency.1),
        retries,
        settle_seconds,
        config,
    })
}

/// `count` reports spread round-robin over the benchmark hospitals.
fn bench_reports(
    devnet: &mut Devnet,
    day: Day,
    count: usize,
) -> Result<Vec<SignedTransaction>, String> {
    let mut hospitals: Vec<&mut epichain_core::Signer> = devnet
        .world
        .identities
        .iter_mut()
        .filter(|identity| identity.handle.starts_with("bench-hospital-"))
        .map(|identity| &mut identity.signer)
        .collect();
    if hospitals.is_empty() {
        return Err("no benchmark hospitals".into());
    }
    let diseases = ["DENGUE", "INFLUENZA", "HFMD", "COVID19"];
    (0..count)
        .map(|index| {
            let hospital_count = hospitals.len();
            let signer = &mut hospitals[index % hospital_count];
            let report = crate::bench::bench_report(
                "epichain/bench-network-patient",
                index as u64,
                diseases[index % diseases.len()],
                day,
            )?;
            Ok(signer.report(report).0)
        })
        .collect()
}
