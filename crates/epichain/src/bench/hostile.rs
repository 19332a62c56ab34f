//! `epichain bench hostile`: attacks a running devnet from outside while an honest hospital
//! reports at a steady rate, and prints what got through (review C3, H1, H2; issue 12 §6).
//!
//! Attackers use their own loopback addresses (127.0.0.2 …), as separate clients would, so the
//! per-client rate limit does not count them against the honest one (127.0.0.1):
//! - a flood of 60 KB transactions from fresh keys (nobody enrolled them);
//! - slowloris connections: half a request head, then one byte every few seconds;
//! - loops of the most expensive queries (filtered listings, identities, blocks);
//! - batches of 4,096 transactions with forged signatures from an enrolled signer;
//! - request bodies over the size limit.
//!
//! Meanwhile the honest hospital's reports must finalize with p99 ≤ 1 s, every node must keep
//! answering `/v1/status`, and none of the junk may be stored.

use crate::bench::network::{Timings, latencies, wait_all, watch};
use crate::devnet::{self, Devnet};
use crate::table::Table;
use epichain_client::Client;
use epichain_core::transaction::AccessLog;
use epichain_core::{Day, Hash, KeyPair, Payload, SignedTransaction, Transaction};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Settings.
#[derive(Clone, Debug)]
pub struct HostileBenchConfig {
    /// A node of the devnet.
    pub node: String,
    /// The devnet's directory.
    pub devnet: std::path::PathBuf,
    /// Seconds of attack.
    pub seconds: u64,
    /// Honest reports per second.
    pub honest_rate: u32,
    /// Fresh keys flooding.
    pub flood_keys: usize,
    /// Slowloris connections.
    pub slowloris: usize,
    /// Loops of expensive queries.
    pub query_loops: usize,
}

/// The finalization latency bound for honest reports under attack, milliseconds.
pub const HONEST_P99_BOUND_MS: f64 = 1_000.0;

/// Answers by HTTP status, per attack.
#[derive(Default)]
struct Tally {
    answers: Mutex<BTreeMap<(&'static str, u16), u64>>,
    errors: Mutex<BTreeMap<&'static str, u64>>,
}

impl Tally {
    fn answer(&self, attack: &'static str, status: u16) {
        if let Ok(mut answers) = self.answers.lock() {
            *answers.entry((attack, status)).or_default() += 1;
        }
    }

    fn error(&self, attack: &'static str) {
        if let Ok(mut errors) = self.errors.lock() {
            *errors.entry(attack).or_default() += 1;
        }
    }
}

/// An attacker's HTTP client, from its own loopback address (it does not care whose TLS
/// certificate the node holds).
fn client_from(last_octet: u8) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet)))
        .tls_danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|error| error.to_string())
}

/// Transactions signed by keys nobody enrolled.
fn junk(chain_id: Hash, keys: usize, seed: u64) -> Result<Vec<SignedTransaction>, String> {
    let dengue = epichain_core::DiseaseCode::new("DENGUE").map_err(|error| error.to_string())?;
    Ok((0..keys)
        .map(|index| {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&seed.to_le_bytes());
            bytes[8..16].copy_from_slice(&(index as u64).to_le_bytes());
            let key = KeyPair::from_seed(bytes);
            Transaction {
                chain_id,
                signer: key.public_key(),
                nonce: 1,
                payload: Payload::ReportCase(junk_report(dengue.clone(), index as u64)),
            }
            .sign(&key)
        })
        .collect())
}

/// A report carrying 60 KB of junk "details".
fn junk_report(disease: epichain_core::DiseaseCode, index: u64) -> epichain_core::CaseReport {
    let day = epichain_core::Day(20_000);
    epichain_core::CaseReport {
        disease,
        region: epichain_core::RegionCode::NATIONAL,
        status: epichain_core::CaseStatus::Suspected,
        patient: epichain_core::PatientRef::Pseudonym(Hash::ZERO),
        onset_day: day,
        diagnosis_day: day,
        age_band: (index % 18) as u8,
        sex: epichain_core::Sex::Unknown,
        sealed: vec![0x5A; 60_000],
    }
}

/// Posts encoded transactions as one binary batch; returns the HTTP status.
async fn post_batch(
    http: &reqwest::Client,
    url: &str,
    transactions: &[SignedTransaction],
) -> Result<u16, reqwest::Error> {
    let items: Vec<Vec<u8>> = transactions
        .iter()
        .map(SignedTransaction::to_bytes)
        .collect();
    let response = http
        .post(format!("{url}/v1/transactions/batch"))
        .header("content-type", "application/octet-stream")
        .body(epichain_core::encoding::encode(&items))
        .send()
        .await?;
    Ok(response.status().as_u16())
}

async fn flood(
    urls: Vec<String>,
    junk: Arc<Vec<SignedTransaction>>,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
) {
    let Ok(http) = client_from(2) else { return };
    let mut round = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let url = &urls[round % urls.len()];
        let start = (round * 100) % junk.len().max(1);
        let chunk = &junk[start..(start + 100).min(junk.len())];
        match post_batch(&http, url, chunk).await {
            Ok(status) => tally.answer("flood (fresh keys)", status),
            Err(_) => tally.error("flood (fresh keys)"),
        }
        round += 1;
    }
}

/// One slowloris connection after another: half a head, then a byte every few seconds.
async fn slowloris(address: SocketAddr, closed: Arc<AtomicU64>, stop: Arc<AtomicBool>) {
    use tokio::io::AsyncWriteExt as _;
    while !stop.load(Ordering::Relaxed) {
        let Ok(socket) = tokio::net::TcpSocket::new_v4() else {
            return;
        };
        if socket
            .bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)), 0))
            .is_err()
        {
            return;
        }
        let Ok(mut stream) = socket.connect(address).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        if stream
            .write_all(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n")
            .await
            .is_err()
        {
            continue;
        }
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_secs(3)).await;
            if stream.write_all(b"X").await.is_err() {
                closed.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
}

async fn expensive_queries(
    urls: Vec<String>,
    case: Option<Hash>,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
) {
    let Ok(http) = client_from(4) else { return };
    let mut paths = vec![
        "/v1/signals?disease=NOPE&limit=1000".to_string(),
        "/v1/grants?status=revoked&limit=1000".to_string(),
        "/v1/identities?role=hospital&region=440304".to_string(),
        "/v1/signals?limit=1000".to_string(),
        "/v1/blocks/1".to_string(),
    ];
    if let Some(case) = case {
        paths.push(format!("/v1/cases/{case}"));
        paths.push(format!("/v1/cases/{case}/access"));
    }
    let mut round = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let url = format!("{}{}", urls[round % urls.len()], paths[round % paths.len()]);
        match http.get(url).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let _ = response.bytes().await;
                tally.answer("expensive queries", status);
            }
            Err(_) => tally.error("expensive queries"),
        }
        round += 1;
    }
}

async fn forged_batches(
    urls: Vec<String>,
    forged: Arc<Vec<SignedTransaction>>,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
) {
    let Ok(http) = client_from(5) else { return };
    let mut round = 0usize;
    while !stop.load(Ordering::Relaxed) {
        match post_batch(&http, &urls[round % urls.len()], &forged).await {
            Ok(status) => tally.answer("forged signatures (4,096/batch)", status),
            Err(_) => tally.error("forged signatures (4,096/batch)"),
        }
        round += 1;
    }
}

async fn oversized(urls: Vec<String>, tally: Arc<Tally>, stop: Arc<AtomicBool>) {
    let Ok(http) = client_from(6) else { return };
    let body = vec![0u8; 9 * 1024 * 1024];
    let mut round = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let url = format!("{}/v1/transactions/batch", urls[round % urls.len()]);
        let sent = http
            .post(url)
            .header("content-type", "application/octet-stream")
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(response) => tally.answer("oversized bodies (9 MiB)", response.status().as_u16()),
            Err(_) => tally.error("oversized bodies (9 MiB)"),
        }
        round += 1;
    }
}

/// `/v1/status` on every node every half second: (answered, failed, slowest ms).
async fn watch_status(
    urls: Vec<String>,
    trust: epichain_client::NodeTrust,
    stop: Arc<AtomicBool>,
) -> (u64, u64, f64) {
    let http = epichain_tls::http_client(Some(&trust), Duration::from_secs(5));
    let (mut answered, mut failed, mut slowest) = (0, 0, 0.0f64);
    while !stop.load(Ordering::Relaxed) {
        for url in &urls {
            let started = Instant::now();
            match http.get(format!("{url}/v1/status")).send().await {
                Ok(response) if response.status().is_success() => {
                    answered += 1;
                    slowest = slowest.max(started.elapsed().as_secs_f64() * 1_000.0);
                }
                _ => failed += 1,
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    (answered, failed, slowest)
}

/// Honest reports at `rate` per second to `client`, recording submission times; returns how
/// many were acknowledged and how many refused.
async fn honest(
    client: Client,
    reports: Vec<SignedTransaction>,
    rate: u32,
    timings: Arc<Mutex<Timings>>,
    stop: Arc<AtomicBool>,
) -> (Vec<Hash>, usize) {
    let batch = (rate as usize / 10).max(1);
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for chunk in reports.chunks(batch) {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let started = Instant::now();
        if let Ok(mut timings) = timings.lock() {
            for transaction in chunk {
                timings.submitted.insert(transaction.id(), started);
            }
        }
        match devnet::submit_all(&client, chunk).await {
            Ok(ids) => acknowledged.extend(ids),
            Err(_) => refused += chunk.len(),
        }
        tokio::time::sleep(Duration::from_millis(100).saturating_sub(started.elapsed())).await;
    }
    (acknowledged, refused)
}

/// Reports by the bench's provincial hospital, one per patient.
fn honest_reports(
    devnet: &mut Devnet,
    day: Day,
    count: usize,
) -> Result<Vec<SignedTransaction>, String> {
    let signer = &mut devnet
        .world
        .identity("bench-provincial-hospital")
        .map_err(|error| error.to_string())?
        .signer;
    (0..count as u64)
        .map(|index| {
            let report =
                super::bench_report("epichain/bench-hostile-patient", index, "INFLUENZA", day)?;
            Ok(signer.report(report).0)
        })
        .collect()
}

/// 4,096 transactions of an enrolled signer with forged signatures.
fn forged(devnet: &mut Devnet) -> Result<Vec<SignedTransaction>, String> {
    let signer = &mut devnet
        .world
        .identity("bench-provincial-lab")
        .map_err(|error| error.to_string())?
        .signer;
    let mut probe = signer.clone();
    Ok((0..4_096u32)
        .map(|index| {
            let mut transaction = probe.sign(Payload::AccessLog(AccessLog {
                case_id: Hash([index as u8; 32]),
                purpose: epichain_core::transaction::AccessPurpose::Audit,
            }));
            transaction.signature.0[..4].copy_from_slice(&index.to_le_bytes());
            transaction.signature.0[40] ^= 0x55;
            transaction
        })
        .collect())
}

/// Sizes of every node's ledger file, bytes.
fn ledger_sizes(devnet: &Devnet) -> Vec<u64> {
    devnet
        .nodes
        .iter()
        .map(|node| {
            std::fs::metadata(
                devnet
                    .directory
                    .join("data")
                    .join(&node.name)
                    .join("ledger.redb"),
            )
            .map_or(0, |metadata| metadata.len())
        })
        .collect()
}

/// What the attack run measured.
pub struct HostileBenchReport {
    /// Settings.
    pub config: HostileBenchConfig,
    /// Honest reports acknowledged, finalized, refused.
    pub honest: (usize, usize, usize),
    /// Honest finalization latency p50 and p99, ms.
    pub honest_latency_ms: (f64, f64),
    /// Status polls answered, failed, slowest ms.
    pub status: (u64, u64, f64),
    /// Answers per attack and status code; transport errors per attack.
    pub answers: BTreeMap<(&'static str, u16), u64>,
    /// Transport errors per attack.
    pub errors: BTreeMap<&'static str, u64>,
    /// Slowloris connections the nodes closed.
    pub slowloris_closed: u64,
    /// Junk transactions found stored, of those sampled.
    pub junk_stored: (usize, usize),
    /// Ledger growth per node during the run, bytes.
    pub ledger_growth: Vec<i64>,
}

impl HostileBenchReport {
    /// One line per attack and answer.
    fn attack_rows(&self, table: &mut Table) {
        let informative = |label: String, value: u64| {
            vec![label, value.to_string(), String::new(), String::new()]
        };
        for ((attack, status), count) in &self.answers {
            table.row(informative(format!("{attack}: HTTP {status}"), *count));
        }
        for (attack, count) in &self.errors {
            table.row(informative(format!("{attack}: connection errors"), *count));
        }
    }

    /// The report as a table: each line a figure and, where there is one, its bound.
    pub fn table(&self) -> Table {
        let mut table = Table::new(&["measure", "value", "bound", "ok"]);
        let ok = |pass: bool| if pass { "yes" } else { "NO" }.to_string();
        let (acknowledged, finalized, refused) = self.honest;
        table.row(vec![
            format!(
                "honest reports at {}/s: acknowledged / finalized / refused",
                self.config.honest_rate
            ),
            format!("{acknowledged} / {finalized} / {refused}"),
            "all finalized".into(),
            ok(finalized == acknowledged && refused == 0),
        ]);
        table.row(vec![
            "honest finalization latency p50 / p99 (ms)".into(),
            format!(
                "{:.0} / {:.0}",
                self.honest_latency_ms.0, self.honest_latency_ms.1
            ),
            format!("p99 ≤ {HONEST_P99_BOUND_MS:.0}"),
            ok(self.honest_latency_ms.1 <= HONEST_P99_BOUND_MS),
        ]);
        let (answered, failed, slowest) = self.status;
        table.row(vec![
            "/v1/status polls answered / failed (slowest ms)".into(),
            format!("{answered} / {failed} ({slowest:.0})"),
            "0 failed".into(),
            ok(failed == 0),
        ]);
        let (stored, sampled) = self.junk_stored;
        table.row(vec![
            "junk transactions stored (sampled)".into(),
            format!("{stored} of {sampled}"),
            "0".into(),
            ok(stored == 0),
        ]);
        self.attack_rows(&mut table);
        table.row(vec![
            format!(
                "slowloris connections ({}) closed by the nodes",
                self.config.slowloris
            ),
            self.slowloris_closed.to_string(),
            String::new(),
            String::new(),
        ]);
        let growth: Vec<String> = self
            .ledger_growth
            .iter()
            .map(|bytes| format!("{:.1}", *bytes as f64 / 1e6))
            .collect();
        table.row(vec![
            "ledger growth per node (MB; honest reports only)".into(),
            growth.join(" "),
            String::new(),
            String::new(),
        ]);
        table
    }
}

/// Runs the attacks against the devnet in `config.devnet` through `config.node`.
#[allow(clippy::too_many_lines)] // The run's phases in order: set up, attack, measure.
pub async fn run(config: HostileBenchConfig) -> Result<HostileBenchReport, String> {
    let (client, mut devnet) = devnet::attach_bench(&config.node, &config.devnet)
        .await
        .map_err(|error| error.to_string())?;
    let urls: Vec<String> = devnet.nodes.iter().map(|node| node.url.clone()).collect();
    let status = client.status().await.map_err(|error| error.to_string())?;
    let day = Day::from_unix_ms(status.time_ms);
    let chain_id = devnet.world.genesis.chain_id();
    let reports = honest_reports(
        &mut devnet,
        day,
        (config.honest_rate as u64 * config.seconds) as usize,
    )?;
    let forged = Arc::new(forged(&mut devnet)?);
    let junk = Arc::new(junk(chain_id, config.flood_keys, config.seconds)?);
    let case = reports.first().map(|report| {
        epichain_core::case::case_id(&report.transaction.signer, report.transaction.nonce)
    });
    let sizes_before = ledger_sizes(&devnet);
    let address: SocketAddr = client
        .base()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .parse()
        .map_err(|error: std::net::AddrParseError| error.to_string())?;

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let closed = Arc::new(AtomicU64::new(0));
    let timings = Arc::new(Mutex::new(Timings::default()));
    let mut attacks = Vec::new();
    attacks.push(tokio::spawn(flood(
        urls.clone(),
        junk.clone(),
        tally.clone(),
        stop.clone(),
    )));
    for _ in 0..config.slowloris {
        attacks.push(tokio::spawn(slowloris(
            address,
            closed.clone(),
            stop.clone(),
        )));
    }
    for _ in 0..config.query_loops {
        attacks.push(tokio::spawn(expensive_queries(
            urls.clone(),
            case,
            tally.clone(),
            stop.clone(),
        )));
    }
    attacks.push(tokio::spawn(forged_batches(
        urls.clone(),
        forged,
        tally.clone(),
        stop.clone(),
    )));
    attacks.push(tokio::spawn(oversized(
        urls.clone(),
        tally.clone(),
        stop.clone(),
    )));
    let trust = epichain_client::NodeTrust::from_genesis(&devnet.world.genesis);
    let status_watch = tokio::spawn(watch_status(urls.clone(), trust, stop.clone()));
    let block_watch = tokio::spawn(watch(client.clone(), timings.clone(), stop.clone()));
    // Let the attacks ramp up, then report honestly for the configured time.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let honest_stop = Arc::new(AtomicBool::new(false));
    let (acknowledged, refused) = honest(
        client.clone(),
        reports,
        config.honest_rate,
        timings.clone(),
        honest_stop,
    )
    .await;
    wait_all(&timings, &acknowledged, Duration::from_secs(30)).await;
    stop.store(true, Ordering::Relaxed);
    for attack in attacks {
        attack.abort();
    }
    let status = status_watch.await.unwrap_or_default();
    let _ = block_watch.await;

    let (p50, p99, finalized) = timings
        .lock()
        .map(|timings| latencies(&timings, &acknowledged))
        .unwrap_or_default();
    let mut stored = 0;
    let sample: Vec<&SignedTransaction> = junk.iter().step_by((junk.len() / 100).max(1)).collect();
    for transaction in &sample {
        if let Ok(answer) = client.transaction(&transaction.id()).await
            && answer.status != epichain_client::api::transactions::TransactionState::Unknown
        {
            stored += 1;
        }
    }
    let sizes_after = ledger_sizes(&devnet);
    let answers = tally
        .answers
        .lock()
        .map(|answers| answers.clone())
        .unwrap_or_default();
    let errors = tally
        .errors
        .lock()
        .map(|errors| errors.clone())
        .unwrap_or_default();
    Ok(HostileBenchReport {
        config,
        honest: (acknowledged.len(), finalized, refused),
        honest_latency_ms: (p50, p99),
        status,
        answers,
        errors,
        slowloris_closed: closed.load(Ordering::Relaxed),
        junk_stored: (stored, sample.len()),
        ledger_growth: sizes_after
            .iter()
            .zip(&sizes_before)
            .map(|(after, before)| *after as i64 - *before as i64)
            .collect(),
    })
}
