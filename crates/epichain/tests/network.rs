//! Real processes on loopback: 4 validators and 3 replicas. A validator is killed with SIGKILL
//! under load and restarted; it catches up, every acknowledged transaction is finalized on
//! every node, and all nodes hold the same blocks.

use epichain::client::Client;
use epichain::devnet::{self, Devnet};
use epichain_core::{Day, Hash};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A block of ports that are free right now (HTTP base..base+6 and p2p base+1000..base+1003).
fn free_base_port() -> u16 {
    let start = 20_000 + (std::process::id() % 5_000) as u16 * 2;
    (start..60_000)
        .step_by(17)
        .find(|base| {
            (0..7)
                .map(|offset| base + offset)
                .chain((0..4).map(|offset| base + 1_000 + offset))
                .all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        })
        .expect("free ports")
}

struct Nodes {
    children: Vec<Option<Child>>,
    devnet: Devnet,
}

impl Nodes {
    fn spawn(&mut self, index: usize) {
        let node = &self.devnet.nodes[index];
        let log = std::fs::File::create(self.devnet.directory.join(format!("{}.log", node.name)))
            .expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_epichain"))
            .args(["node", "--config"])
            .arg(&node.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn node");
        self.children[index] = Some(child);
    }

    fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.children[index].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for index in 0..self.children.len() {
            self.kill(index);
        }
    }
}

#[test]
fn a_killed_validator_catches_up_and_no_acknowledged_transaction_is_lost() {
    let directory = tempfile::tempdir().expect("temp dir");
    #[allow(clippy::disallowed_methods)]
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let devnet = Devnet::prepare(directory.path(), free_base_port(), now_ms).expect("devnet");
    let count = devnet.nodes.len();
    let mut nodes = Nodes {
        children: (0..count).map(|_| None).collect(),
        devnet,
    };
    for index in 0..count {
        nodes.spawn(index);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let clients: Vec<Client> = nodes
        .devnet
        .nodes
        .iter()
        .map(|node| Client::new(&node.url))
        .collect();
    runtime.block_on(async {
        for client in &clients {
            assert!(
                devnet::wait_ready(client, Duration::from_secs(60)).await,
                "{} not ready",
                client.base()
            );
        }
        let enrolled = devnet::enrol_world(&mut nodes.devnet, &clients[0])
            .await
            .expect("enrol");
        assert!(enrolled > 0);
    });

    // Load through validators 0–2 and a replica (which forwards), killing validator 3 mid-way.
    let submitters = [0usize, 1, 2, 4];
    let day = Day::from_unix_ms(now_ms);
    let mut acknowledged: Vec<Hash> = Vec::new();
    let started = Instant::now();
    let mut round = 0u64;
    let mut killed = false;
    let mut restarted = false;
    while started.elapsed() < Duration::from_secs(18) {
        let batch = devnet::report_batch(&mut nodes.devnet, day, 10, round).expect("reports");
        let client = &clients[submitters[round as usize % submitters.len()]];
        let ids = runtime
            .block_on(devnet::submit_all(client, &batch))
            .expect("accepted");
        acknowledged.extend(ids);
        round += 1;
        if !killed && started.elapsed() > Duration::from_secs(4) {
            nodes.kill(3);
            killed = true;
        }
        if killed && !restarted && started.elapsed() > Duration::from_secs(9) {
            nodes.spawn(3);
            restarted = true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(killed && restarted);
    assert!(
        acknowledged.len() > 500,
        "only {} acknowledged",
        acknowledged.len()
    );

    // Every acknowledged transaction is finalized on every node, including the restarted one.
    runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(120);
        for client in &clients {
            for id in &acknowledged {
                loop {
                    let status = client
                        .transaction(id)
                        .await
                        .map(|status| status["status"].clone());
                    if matches!(status.as_ref().map(|s| s.as_str()), Ok(Some("finalized"))) {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "{id} not finalized on {}",
                        client.base()
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        // The same blocks everywhere up to the lowest tip.
        let mut heights = Vec::new();
        for client in &clients {
            heights.push(
                client.status().await.expect("status")["height"]
                    .as_u64()
                    .expect("height"),
            );
        }
        let lowest = *heights.iter().min().expect("nodes");
        let http = reqwest::Client::new();
        for height in [1, lowest / 2, lowest] {
            let mut hashes = Vec::new();
            for client in &clients {
                let block: serde_json::Value = http
                    .get(format!("{}/v1/blocks/{height}", client.base()))
                    .send()
                    .await
                    .expect("block")
                    .json()
                    .await
                    .expect("json");
                hashes.push(block["hash"].as_str().expect("hash").to_string());
            }
            assert!(
                hashes.windows(2).all(|pair| pair[0] == pair[1]),
                "height {height}: {hashes:?}"
            );
        }
    });
}
