//! `epichain bench crash`: a Jepsen-style check on real processes (issue 12 §6). A fresh devnet
//! runs in its own directory; concurrent clients submit reports to every node while validators
//! are killed with SIGKILL and restarted on a schedule (one down at a time, within f). Afterwards
//! every acknowledged report must be finalized exactly once on every node, and every node must
//! hold the same blocks and state root.

use crate::devnet::{self, Devnet};
use crate::table::Table;
use epichain_client::Client;
use epichain_core::{Day, Hash, RegionCode, Role, SignedTransaction};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Settings.
#[derive(Clone, Debug)]
pub struct CrashBenchConfig {
    /// A new directory for the devnet.
    pub directory: PathBuf,
    /// First HTTP port of the devnet.
    pub base_port: u16,
    /// Seconds of load with crashes.
    pub seconds: u64,
    /// Seconds between two kills.
    pub kill_every_seconds: u64,
    /// Seconds a killed validator stays down.
    pub down_seconds: u64,
    /// Concurrent clients (each a hospital with its own key).
    pub clients: usize,
    /// The `epichain` executable that runs the nodes.
    pub executable: PathBuf,
    /// Now (Unix ms): the devnet's genesis time.
    pub now_ms: u64,
}

/// Reports per client request.
const CLIENT_BATCH: usize = 10;

/// Longest wait for every acknowledged report on every node after the load.
const CONVERGENCE_TIMEOUT: Duration = Duration::from_secs(180);

/// What the run measured.
pub struct CrashBenchReport {
    /// Settings.
    pub config: CrashBenchConfig,
    /// Kills and restarts done.
    pub kills: usize,
    /// Reports acknowledged (202).
    pub acknowledged: usize,
    /// Submissions that failed (a node down) and were sent to another node.
    pub resubmissions: usize,
    /// Acknowledged reports missing on some node after the wait.
    pub lost: usize,
    /// Acknowledged reports in more than one block.
    pub duplicated: usize,
    /// Acknowledged reports finalized but rejected.
    pub rejected: usize,
    /// Each node's height at the end.
    pub heights: Vec<u64>,
    /// Whether every node holds the same block hash and state root at the lowest height.
    pub same_state: bool,
    /// Seconds from the end of the load until every report was final everywhere.
    pub convergence_seconds: f64,
}

impl CrashBenchReport {
    /// The report as a table.
    pub fn table(&self) -> Table {
        let mut table = Table::new(&["measure", "value", "bound", "ok"]);
        let ok = |pass: bool| if pass { "yes" } else { "NO" }.to_string();
        let row =
            |table: &mut Table, label: &str, value: String, bound: &str, pass: Option<bool>| {
                table.row(vec![
                    label.to_string(),
                    value,
                    bound.to_string(),
                    pass.map(ok).unwrap_or_default(),
                ]);
            };
        row(
            &mut table,
            "validators killed (SIGKILL) and restarted",
            self.kills.to_string(),
            "",
            None,
        );
        row(
            &mut table,
            "reports acknowledged",
            self.acknowledged.to_string(),
            "",
            None,
        );
        row(
            &mut table,
            "submissions retried on another node",
            self.resubmissions.to_string(),
            "",
            None,
        );
        row(
            &mut table,
            "acknowledged, not final on every node",
            self.lost.to_string(),
            "0",
            Some(self.lost == 0),
        );
        row(
            &mut table,
            "acknowledged, in more than one block",
            self.duplicated.to_string(),
            "0",
            Some(self.duplicated == 0),
        );
        row(
            &mut table,
            "acknowledged, final but rejected",
            self.rejected.to_string(),
            "0",
            Some(self.rejected == 0),
        );
        row(
            &mut table,
            "same blocks and state root on every node",
            format!("heights {:?}", self.heights),
            "same",
            Some(self.same_state),
        );
        row(
            &mut table,
            "convergence after the load (s)",
            format!("{:.1}", self.convergence_seconds),
            "",
            None,
        );
        table
    }
}

/// The node processes of the devnet.
struct Processes {
    children: Vec<Option<Child>>,
    executable: PathBuf,
}

impl Processes {
    fn spawn(&mut self, devnet: &Devnet, index: usize) -> Result<(), String> {
        let node = &devnet.nodes[index];
        let log = devnet
            .directory
            .join("logs")
            .join(format!("{}.log", node.name));
        let child = devnet::spawn_node(&self.executable, &node.config, &log)
            .map_err(|error| error.to_string())?;
        self.children[index] = Some(child);
        Ok(())
    }

    fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.children[index].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for index in 0..self.children.len() {
            self.kill(index);
        }
    }
}

/// Hospitals of the run, one per client, enrolled through `client`.
async fn enrol_clients(devnet: &mut Devnet, client: &Client, count: usize) -> Result<(), String> {
    let futian: RegionCode = "440304"
        .parse()
        .map_err(|error: epichain_core::region::RegionError| error.to_string())?;
    for index in 0..count {
        devnet
            .world
            .add_identity(
                &format!("crash-hospital-{index}"),
                &format!("Crash-test hospital {index}"),
                Role::Hospital,
                futian,
                2,
                &format!("crash-hospital-{index}"),
            )
            .map_err(|error| error.to_string())?;
    }
    devnet::enrol_world(devnet, client)
        .await
        .map_err(|error| error.to_string())?;
    Ok(())
}

/// Reports of one client's hospital.
fn reports(
    devnet: &mut Devnet,
    client: usize,
    day: Day,
    count: usize,
) -> Result<Vec<SignedTransaction>, String> {
    let signer = &mut devnet
        .world
        .identity(&format!("crash-hospital-{client}"))
        .map_err(|error| error.to_string())?
        .signer;
    (0..count as u64)
        .map(|index| {
            let patient = (client as u64) << 32 | index;
            let report =
                super::bench_report("epichain/bench-crash-patient", patient, "INFLUENZA", day)?;
            Ok(signer.report(report).0)
        })
        .collect()
}

/// One client: submits its reports in batches, each to the next node, retrying a batch on the
/// next node when one does not answer (the same transactions: resubmission is idempotent).
async fn submit_until(
    nodes: Vec<Client>,
    reports: Vec<SignedTransaction>,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<Hash>>>,
) -> usize {
    let mut retries = 0;
    let mut next = 0usize;
    for batch in reports.chunks(CLIENT_BATCH) {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        loop {
            let client = &nodes[next % nodes.len()];
            next += 1;
            match devnet::submit_all(client, batch).await {
                Ok(ids) => {
                    if let Ok(mut acknowledged) = acknowledged.lock() {
                        acknowledged.extend(ids);
                    }
                    break;
                }
                Err(_) => {
                    retries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    retries
}

/// What one node's blocks hold: how often each transaction appears, which were rejected, and
/// the (hash, state root) of each block read.
#[derive(Default)]
struct NodeBlocks {
    /// The last height read (0: none yet).
    read_height: u64,
    seen: BTreeMap<Hash, usize>,
    rejected: std::collections::BTreeSet<Hash>,
    headers: BTreeMap<u64, String>,
}

impl NodeBlocks {
    /// Reads the blocks this node finalized since the last call.
    async fn read_new(&mut self, client: &Client) -> Result<(), String> {
        let status = client.status().await.map_err(|error| error.to_string())?;
        let height = status.height;
        while self.read_height < height {
            let at = self.read_height + 1;
            let block = client.block(at).await.map_err(|error| error.to_string())?;
            for receipt in &block.receipts {
                let id = receipt.transaction_id;
                *self.seen.entry(id).or_default() += 1;
                if receipt.outcome != epichain_core::TransactionOutcome::Applied {
                    self.rejected.insert(id);
                }
            }
            self.headers
                .insert(at, format!("{} {}", block.hash, block.header.state_root));
            self.read_height = at;
        }
        Ok(())
    }

    fn missing(&self, ids: &[Hash]) -> usize {
        ids.iter().filter(|id| !self.seen.contains_key(id)).count()
    }
}

/// Reads every node's blocks until each holds every id or the timeout passes.
async fn converge(clients: &[Client], ids: &[Hash]) -> Vec<NodeBlocks> {
    let deadline = Instant::now() + CONVERGENCE_TIMEOUT;
    let mut nodes: Vec<NodeBlocks> = clients.iter().map(|_| NodeBlocks::default()).collect();
    loop {
        for (client, node) in clients.iter().zip(&mut nodes) {
            let _ = node.read_new(client).await;
        }
        let done = nodes.iter().all(|node| node.missing(ids) == 0);
        if done || Instant::now() >= deadline {
            return nodes;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Runs the schedule: load from `clients` hospitals, a validator killed every
/// `kill_every_seconds` and restarted after `down_seconds`.
#[allow(clippy::too_many_lines)] // The run's phases in order: start, load with crashes, check.
pub async fn run(config: CrashBenchConfig) -> Result<CrashBenchReport, String> {
    let mut devnet = Devnet::prepare(&config.directory, config.base_port, config.now_ms)
        .map_err(|error| error.to_string())?;
    std::fs::create_dir_all(devnet.directory.join("logs")).map_err(|error| error.to_string())?;
    let mut processes = Processes {
        children: (0..devnet.nodes.len()).map(|_| None).collect(),
        executable: config.executable.clone(),
    };
    for index in 0..devnet.nodes.len() {
        processes.spawn(&devnet, index)?;
    }
    let clients: Vec<Client> = devnet
        .nodes
        .iter()
        .map(|node| devnet.client(&node.url))
        .collect();
    let first = clients[0].clone();
    for client in &clients {
        if !devnet::wait_ready(client, Duration::from_secs(60)).await {
            return Err(format!(
                "{} did not start (see {}/logs)",
                client.base(),
                devnet.directory.display()
            ));
        }
    }
    enrol_clients(&mut devnet, &first, config.clients).await?;
    let status = first.status().await.map_err(|error| error.to_string())?;
    let day = Day::from_unix_ms(status.time_ms);
    let per_client = (config.seconds as usize + 1) * 10 * CLIENT_BATCH;
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for client in 0..config.clients {
        let reports = reports(&mut devnet, client, day, per_client)?;
        tasks.push(tokio::spawn(submit_until(
            clients.clone(),
            reports,
            stop.clone(),
            acknowledged.clone(),
        )));
    }
    let validators = devnet.validator_urls().len();
    let started = Instant::now();
    let mut kills = 0;
    while started.elapsed() < Duration::from_secs(config.seconds) {
        tokio::time::sleep(Duration::from_secs(config.kill_every_seconds)).await;
        let victim = kills % validators;
        processes.kill(victim);
        kills += 1;
        tokio::time::sleep(Duration::from_secs(config.down_seconds)).await;
        processes.spawn(&devnet, victim)?;
    }
    stop.store(true, Ordering::Relaxed);
    let mut resubmissions = 0;
    for task in tasks {
        resubmissions += task.await.unwrap_or_default();
    }
    let ids = acknowledged
        .lock()
        .map(|ids| ids.clone())
        .unwrap_or_default();
    let load_ended = Instant::now();
    let nodes = converge(&clients, &ids).await;
    let convergence_seconds = load_ended.elapsed().as_secs_f64();
    let lost = nodes
        .iter()
        .map(|node| node.missing(&ids))
        .max()
        .unwrap_or(0);
    let duplicated = nodes
        .iter()
        .map(|node| {
            ids.iter()
                .filter(|id| node.seen.get(id).copied().unwrap_or(0) > 1)
                .count()
        })
        .max()
        .unwrap_or(0);
    let rejected = nodes
        .iter()
        .map(|node| ids.iter().filter(|id| node.rejected.contains(id)).count())
        .max()
        .unwrap_or(0);
    let heights: Vec<u64> = nodes.iter().map(|node| node.read_height).collect();
    let lowest = heights.iter().copied().min().unwrap_or(0);
    let reference = nodes[0].headers.get(&lowest);
    let same_state = (1..=lowest).all(|height| {
        let first = nodes[0].headers.get(&height);
        first.is_some() && nodes.iter().all(|node| node.headers.get(&height) == first)
    }) && reference.is_some();
    Ok(CrashBenchReport {
        config,
        kills,
        acknowledged: ids.len(),
        resubmissions,
        lost,
        duplicated,
        rejected,
        heights,
        same_state,
        convergence_seconds,
    })
}
