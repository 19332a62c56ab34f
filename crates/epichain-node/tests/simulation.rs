//! Deterministic simulation of the BFT network with commonware's simulated p2p and runtime:
//! 4 validators executing real ledger blocks under message delay and loss, a crashed and
//! restarted validator, a partition that heals, and a validator sending conflicting votes.
//! Honest validators must agree on every finalized block and state root, and make progress
//! after faults heal. A failing seed replays exactly.

use commonware_consensus::simplex::mocks::conflicter;
use commonware_cryptography::Sha256;
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{
    Clock as _, Handle, Quota, Runner as _, Spawner as _, Supervisor as _, deterministic,
};
use commonware_utils::{NZU32, NZUsize, ordered::Set};
use epichain_core::{Hash, SignedTransaction, TransactionOutcome};
use epichain_ledger::Ledger;
use epichain_node::chain::{BlockLimits, Chain};
use epichain_node::consensus::{self, Channels, Timeouts, ValidatorSettings, channel};
use epichain_node::finality::{consensus_private_key, consensus_public_key, verify_certificate};
use epichain_node::mempool::MempoolLimits;
use epichain_node::{PublicKey, Scheme};
use epichain_world::{DemoWorld, validator_key, validators};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

type Context = deterministic::Context;

/// 2026-11-01T00:00:00+08:00.
const GENESIS_MS: u64 = 1_793_462_400_000;
const VALIDATOR_COUNT: usize = 4;

struct Node {
    chain: Option<Arc<Chain>>,
    handle: Option<Handle<()>>,
}

impl Node {
    fn chain(&self) -> &Chain {
        self.chain.as_ref().expect("validator is running")
    }
}

struct Sim {
    context: Context,
    oracle: Oracle<PublicKey, Context>,
    directory: tempfile::TempDir,
    world: DemoWorld,
    keys: Vec<PublicKey>,
    nodes: Vec<Node>,
}

/// A link with a delivery probability of `success_percent` %.
fn link(latency_ms: u64, jitter_ms: u64, success_percent: u64) -> Link {
    Link {
        latency: Duration::from_millis(latency_ms),
        jitter: Duration::from_millis(jitter_ms),
        success_rate: commonware_utils::Probability::new(success_percent, 100)
            .expect("probability"),
    }
}

impl Sim {
    async fn new(context: Context) -> Sim {
        let names = ["China CDC", "Guangdong CDC", "Guangxi CDC", "Hunan CDC"];
        let world = DemoWorld::new(GENESIS_MS, validators(&names)).expect("world");
        let keys: Vec<PublicKey> = (0..VALIDATOR_COUNT)
            .map(|index| consensus_public_key(&validator_key(index).public_key()).expect("key"))
            .collect();
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: consensus::max_message_size(VALIDATOR_COUNT as u32),
                max_peers_per_set: NZUsize!(VALIDATOR_COUNT),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            keys.clone(),
        )
        .await;
        network.start();
        Sim {
            context,
            oracle,
            directory: tempfile::tempdir().expect("temp dir"),
            world,
            keys,
            nodes: Vec::new(),
        }
    }

    async fn connect(&self, a: usize, b: usize, link: &Link) {
        let _ = self
            .oracle
            .add_link(self.keys[a].clone(), self.keys[b].clone(), link.clone())
            .await;
    }

    async fn disconnect(&self, a: usize, b: usize) {
        let _ = self
            .oracle
            .remove_link(self.keys[a].clone(), self.keys[b].clone())
            .await;
    }

    async fn connect_all(&self, link: &Link) {
        for a in 0..VALIDATOR_COUNT {
            for b in 0..VALIDATOR_COUNT {
                if a != b {
                    self.connect(a, b, link).await;
                }
            }
        }
    }

    /// Starts (or restarts, on the same storage) honest validator `index`.
    async fn start(&mut self, index: usize) {
        let path = self
            .directory
            .path()
            .join(format!("validator-{index}.redb"));
        // After a crash, the aborted tasks release the ledger once the runtime drops them.
        let mut attempts = 0;
        let ledger = loop {
            match Ledger::open(&path, &self.world.genesis) {
                Ok(ledger) => break ledger,
                Err(_) if attempts < 100 => {
                    attempts += 1;
                    self.context.sleep(Duration::from_millis(10)).await;
                }
                Err(error) => panic!("ledger of validator {index} does not reopen: {error}"),
            }
        };
        let chain = Arc::new(Chain::new(
            ledger,
            MempoolLimits::default(),
            BlockLimits::default(),
        ));
        let quota = Quota::per_second(NZU32!(10_000));
        let control = self.oracle.control(self.keys[index].clone());
        let register = async |id| control.register(id, quota).await.expect("register");
        let channels = Channels {
            votes: register(channel::VOTES).await,
            certificates: register(channel::CERTIFICATES).await,
            resolver: register(channel::RESOLVER).await,
            blocks: register(channel::BLOCKS).await,
            backfill: register(channel::BACKFILL).await,
            transactions: register(channel::TRANSACTIONS).await,
        };
        let settings = ValidatorSettings {
            key: consensus_private_key(&validator_key(index)).expect("key"),
            validators: self.keys.clone(),
            partition_prefix: format!("validator-{index}"),
            timeouts: Timeouts::lan(),
        };
        let node_chain = chain.clone();
        let blocker = control.clone();
        let peers = self.oracle.manager();
        let handle = self
            .context
            .child("validator")
            .with_attribute("index", index)
            .spawn(move |context| async move {
                let _validator = consensus::start_validator(
                    context.child("components"),
                    settings,
                    node_chain,
                    blocker,
                    peers,
                    channels,
                )
                .await
                .expect("validator starts");
                futures::future::pending::<()>().await;
            });
        let node = Node {
            chain: Some(chain),
            handle: Some(handle),
        };
        if index < self.nodes.len() {
            self.nodes[index] = node;
        } else {
            self.nodes.push(node);
        }
    }

    /// Stops validator `index` abruptly: its tasks are aborted and its in-memory state dropped,
    /// as a killed process's would be; its storage stays.
    fn crash(&mut self, index: usize) {
        if let Some(handle) = self.nodes[index].handle.take() {
            handle.abort();
        }
        self.nodes[index].chain = None;
    }

    /// Sends transactions to every running validator, as a client broadcasting would.
    fn submit(&self, transactions: &[SignedTransaction]) {
        let now = now_ms(&self.context);
        for chain in self.nodes.iter().filter_map(|node| node.chain.as_ref()) {
            for transaction in transactions {
                let _ = chain.submit(&transaction.to_bytes(), now);
            }
        }
    }

    async fn wait_height(&self, nodes: &[usize], height: u64) {
        loop {
            if nodes
                .iter()
                .all(|index| self.nodes[*index].chain().tip().expect("tip").height >= height)
            {
                return;
            }
            self.context.sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_applied(&self, nodes: &[usize], ids: &[Hash]) {
        loop {
            let done = nodes.iter().all(|index| {
                let reader = self.nodes[*index].chain().reader().expect("reader");
                ids.iter()
                    .all(|id| reader.receipt(id).expect("receipt").is_some())
            });
            if done {
                return;
            }
            self.context.sleep(Duration::from_millis(50)).await;
        }
    }

    fn height(&self, index: usize) -> u64 {
        self.nodes[index].chain().tip().expect("tip").height
    }

    /// Every block and state root agree across `nodes` up to the lowest tip; certificates verify
    /// offline with the genesis alone.
    fn assert_agreement(&self, nodes: &[usize]) {
        let lowest = nodes
            .iter()
            .map(|index| self.height(*index))
            .min()
            .unwrap_or(0);
        let reference = self.nodes[nodes[0]].chain().reader().expect("reader");
        let mut certified = 0;
        for height in 1..=lowest {
            let header = reference
                .store()
                .header(height)
                .expect("read")
                .expect("header");
            for index in &nodes[1..] {
                let other = self.nodes[*index].chain().reader().expect("reader");
                let theirs = other.store().header(height).expect("read").expect("header");
                assert_eq!(
                    theirs, header,
                    "validators {} and {index} differ at {height}",
                    nodes[0]
                );
            }
            if let Some(certificate) = reference.certificate(height).expect("certificate") {
                verify_certificate(&self.world.genesis, &header.hash(), &certificate)
                    .expect("certificate verifies offline");
                certified += 1;
            }
        }
        assert!(
            lowest == 0 || certified > 0,
            "no block carried a certificate"
        );
    }
}

fn now_ms(context: &Context) -> u64 {
    epichain_node::application::now_ms(context)
}

fn runner(seed: u64) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_start_time(UNIX_EPOCH + Duration::from_millis(GENESIS_MS + 3_600_000))
            .with_timeout(Some(Duration::from_secs(600))),
    )
}

/// The demo world's enrolments and `count` reports.
fn workload(world: &mut DemoWorld, count: usize) -> (Vec<SignedTransaction>, Vec<Hash>) {
    let mut transactions = world.enrolments();
    let day = epichain_core::Day::from_unix_ms(GENESIS_MS + 3_600_000);
    let reports = world.reports(day, count, 1).expect("reports");
    transactions.extend(reports.into_iter().map(|(transaction, _)| transaction));
    let ids = transactions.iter().map(SignedTransaction::id).collect();
    (transactions, ids)
}

/// Runs the basic workload with `seed`; returns validator 0's (height, tip hash) after every
/// transaction applied.
fn basic_run(seed: u64) -> (u64, Hash) {
    runner(seed).start(|context| async move {
        let mut sim = Sim::new(context).await;
        sim.connect_all(&link(10, 8, 95)).await;
        for index in 0..VALIDATOR_COUNT {
            sim.start(index).await;
        }
        let (transactions, ids) = workload(&mut sim.world, 30);
        sim.submit(&transactions);
        sim.wait_applied(&[0], &ids).await;
        let tip = sim.nodes[0].chain().tip().expect("tip");
        (tip.height, tip.hash)
    })
}

#[test]
fn the_same_seed_replays_the_same_chain() {
    assert_eq!(basic_run(42), basic_run(42));
}

#[test]
fn four_validators_finalize_and_agree_on_ledger_blocks() {
    runner(1).start(|context| async move {
        let mut sim = Sim::new(context).await;
        sim.connect_all(&link(10, 2, 100)).await;
        for index in 0..VALIDATOR_COUNT {
            sim.start(index).await;
        }
        let (transactions, ids) = workload(&mut sim.world, 60);
        sim.submit(&transactions);
        sim.wait_applied(&[0, 1, 2, 3], &ids).await;
        sim.assert_agreement(&[0, 1, 2, 3]);
        let reader = sim.nodes[0].chain().reader().expect("reader");
        for id in &ids {
            let (_, receipt) = reader.receipt(id).expect("read").expect("receipt");
            assert_eq!(receipt.outcome, TransactionOutcome::Applied, "{id}");
        }
    });
}

/// One seed of the fault schedule: lossy links with jitter, a validator crashed and restarted
/// on its storage, then a 2–2 partition that heals.
fn faults(seed: u64) {
    runner(seed).start(|context| async move {
        let mut sim = Sim::new(context).await;
        sim.connect_all(&link(20, 15, 90)).await;
        for index in 0..VALIDATOR_COUNT {
            sim.start(index).await;
        }
        let (transactions, ids) = workload(&mut sim.world, 20);
        sim.submit(&transactions);
        sim.wait_height(&[0, 1, 2, 3], 3).await;

        // Crash validator 3; the other three keep finalizing.
        sim.crash(3);
        let before = sim.height(0);
        sim.wait_height(&[0, 1, 2], before + 3).await;
        sim.start(3).await;
        sim.wait_applied(&[0, 1, 2, 3], &ids).await;

        // Partition {0,1} | {2,3}: no quorum on either side; then heal.
        for a in [0, 1] {
            for b in [2, 3] {
                sim.disconnect(a, b).await;
                sim.disconnect(b, a).await;
            }
        }
        sim.context.sleep(Duration::from_secs(5)).await;
        sim.connect_all(&link(20, 15, 90)).await;
        let healed = (0..VALIDATOR_COUNT)
            .map(|index| sim.height(index))
            .max()
            .unwrap_or(0);
        sim.wait_height(&[0, 1, 2, 3], healed + 3).await;
        sim.assert_agreement(&[0, 1, 2, 3]);
    });
}

/// Seeds per test function; four functions run in parallel. `EPICHAIN_SIMULATION_SEEDS`
/// overrides the count per function (e.g. 2,000 for a soak run).
fn seeds_per_shard() -> u64 {
    std::env::var("EPICHAIN_SIMULATION_SEEDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(50)
}

fn shard(index: u64) {
    let count = seeds_per_shard();
    for seed in index * 1_000_000..index * 1_000_000 + count {
        faults(seed);
    }
}

#[test]
fn honest_validators_agree_under_faults_shard_0() {
    shard(0);
}

#[test]
fn honest_validators_agree_under_faults_shard_1() {
    shard(1);
}

#[test]
fn honest_validators_agree_under_faults_shard_2() {
    shard(2);
}

#[test]
fn honest_validators_agree_under_faults_shard_3() {
    shard(3);
}

#[test]
fn a_validator_sending_conflicting_votes_cannot_break_agreement() {
    runner(7).start(|context| async move {
        let mut sim = Sim::new(context).await;
        sim.connect_all(&link(10, 5, 100)).await;
        for index in 0..3 {
            sim.start(index).await;
        }
        // Validator 3 signs a conflicting vote for every vote it sees.
        let namespace = consensus::namespace(&sim.world.genesis.chain_id());
        let scheme = Scheme::signer(
            &namespace,
            Set::from_iter_dedup(sim.keys.clone()),
            consensus_private_key(&validator_key(3)).expect("key"),
        )
        .expect("participant");
        let control = sim.oracle.control(sim.keys[3].clone());
        let votes = control
            .register(channel::VOTES, Quota::per_second(NZU32!(10_000)))
            .await
            .expect("register");
        conflicter::Conflicter::<_, _, Sha256>::new(
            sim.context.child("byzantine"),
            conflicter::Config { scheme },
        )
        .start(votes);
        let (transactions, ids) = workload(&mut sim.world, 20);
        sim.submit(&transactions);
        sim.wait_applied(&[0, 1, 2], &ids).await;
        sim.assert_agreement(&[0, 1, 2]);
    });
}
