//! A simulated validator network for tests: 4 validators on commonware's simulated p2p and
//! deterministic runtime, each executing real ledger blocks.
#![allow(dead_code)]

use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{Clock as _, Handle, Quota, Spawner as _, Supervisor as _, deterministic};
use commonware_utils::{NZU32, NZUsize};
use epichain_core::{Hash, SignedTransaction};
use epichain_ledger::Ledger;
use epichain_node::PublicKey;
use epichain_node::chain::{BlockLimits, Chain};
use epichain_node::consensus::{self, Channels, Timeouts, ValidatorSettings, channel};
use epichain_node::finality::{consensus_private_key, consensus_public_key};
use epichain_node::mempool::MempoolLimits;
use epichain_verify::certificate::verify as verify_certificate;
use epichain_world::{DemoWorld, validator_key, validators};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

pub type Context = deterministic::Context;

/// 2026-11-01T00:00:00+08:00.
pub const GENESIS_MS: u64 = 1_793_462_400_000;
pub const VALIDATOR_COUNT: usize = 4;

/// Operators of the simulated validators.
pub const NAMES: [&str; 4] = ["China CDC", "Guangdong CDC", "Guangxi CDC", "Hunan CDC"];

pub struct Node {
    pub chain: Option<Arc<Chain>>,
    pub handle: Option<Handle<()>>,
}

impl Node {
    pub fn chain(&self) -> &Chain {
        self.chain.as_ref().expect("validator is running")
    }
}

pub struct Sim {
    pub context: Context,
    pub oracle: Oracle<PublicKey, Context>,
    pub directory: tempfile::TempDir,
    pub world: DemoWorld,
    pub keys: Vec<PublicKey>,
    pub nodes: Vec<Node>,
}

/// A link with a delivery probability of `success_percent` %.
pub fn link(latency_ms: u64, jitter_ms: u64, success_percent: u64) -> Link {
    Link {
        latency: Duration::from_millis(latency_ms),
        jitter: Duration::from_millis(jitter_ms),
        success_rate: commonware_utils::Probability::new(success_percent, 100)
            .expect("probability"),
    }
}

impl Sim {
    pub async fn new(context: Context) -> Sim {
        Sim::with_world(
            context,
            DemoWorld::new(GENESIS_MS, validators(&NAMES)).expect("world"),
        )
        .await
    }

    /// A simulation of `world` (its genesis must name the 4 demo validators).
    pub async fn with_world(context: Context, world: DemoWorld) -> Sim {
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

    /// A simulation of `world` with every validator connected (10 ms ± 5, no loss), started,
    /// and the world's identities enrolled.
    pub async fn enrolled(context: Context, world: DemoWorld) -> Sim {
        let mut sim = Sim::with_world(context, world).await;
        sim.connect_all(&link(10, 5, 100)).await;
        for index in 0..VALIDATOR_COUNT {
            sim.start(index).await;
        }
        let enrolments = sim.world.enrolments();
        sim.settle(&enrolments).await;
        sim
    }

    pub async fn connect(&self, a: usize, b: usize, link: &Link) {
        let _ = self
            .oracle
            .add_link(self.keys[a].clone(), self.keys[b].clone(), link.clone())
            .await;
    }

    pub async fn disconnect(&self, a: usize, b: usize) {
        let _ = self
            .oracle
            .remove_link(self.keys[a].clone(), self.keys[b].clone())
            .await;
    }

    pub async fn connect_all(&self, link: &Link) {
        for a in 0..VALIDATOR_COUNT {
            for b in 0..VALIDATOR_COUNT {
                if a != b {
                    self.connect(a, b, link).await;
                }
            }
        }
    }

    /// Starts (or restarts, on the same storage) honest validator `index`.
    pub async fn start(&mut self, index: usize) {
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
    pub fn crash(&mut self, index: usize) {
        if let Some(handle) = self.nodes[index].handle.take() {
            handle.abort();
        }
        self.nodes[index].chain = None;
    }

    /// Sends transactions to every running validator, as a client broadcasting would.
    pub fn submit(&self, transactions: &[SignedTransaction]) {
        let now = now_ms(&self.context);
        for chain in self.nodes.iter().filter_map(|node| node.chain.as_ref()) {
            for transaction in transactions {
                let _ = chain.submit(&transaction.to_bytes(), now);
            }
        }
    }

    pub async fn wait_height(&self, nodes: &[usize], height: u64) {
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

    pub async fn wait_applied(&self, nodes: &[usize], ids: &[Hash]) {
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

    /// Submits transactions and waits until every validator applied them.
    pub async fn settle(&self, transactions: &[SignedTransaction]) {
        self.submit(transactions);
        let ids: Vec<Hash> = transactions.iter().map(SignedTransaction::id).collect();
        self.wait_applied(&[0, 1, 2, 3], &ids).await;
    }

    pub fn height(&self, index: usize) -> u64 {
        self.nodes[index].chain().tip().expect("tip").height
    }

    /// Every block and state root agree across `nodes` up to the lowest tip; certificates verify
    /// offline with the genesis alone.
    pub fn assert_agreement(&self, nodes: &[usize]) {
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
                engine_agrees(&self.world.genesis, &header.hash(), &certificate);
                certified += 1;
            }
        }
        assert!(
            lowest == 0 || certified > 0,
            "no block carried a certificate"
        );
    }
}

pub fn now_ms(context: &Context) -> u64 {
    epichain_node::application::now_ms(context)
}

pub fn runner(seed: u64) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_start_time(UNIX_EPOCH + Duration::from_millis(GENESIS_MS + 3_600_000))
            .with_timeout(Some(Duration::from_secs(600))),
    )
}

/// The demo world's enrolments and `count` reports.
pub fn workload(world: &mut DemoWorld, count: usize) -> (Vec<SignedTransaction>, Vec<Hash>) {
    let mut transactions = world.enrolments();
    let day = epichain_core::Day::from_unix_ms(GENESIS_MS + 3_600_000);
    let reports = world.reports(day, count, 1).expect("reports");
    transactions.extend(reports.into_iter().map(|(transaction, _)| transaction));
    let ids = transactions.iter().map(SignedTransaction::id).collect();
    (transactions, ids)
}

/// The engine's own verdict on a certificate (the reference for the offline verifier).
fn engine_verifies(genesis: &epichain_core::Genesis, block: &Hash, certificate: &[u8]) -> bool {
    use commonware_codec::Decode as _;
    use commonware_cryptography::certificate::Verifier as _;
    let keys = epichain_node::finality::validator_keys(genesis).expect("keys");
    let verifier = epichain_node::Scheme::verifier(
        &consensus::namespace(&genesis.chain_id()),
        commonware_utils::ordered::Set::from_iter_dedup(keys),
    );
    let Ok(finalization) = epichain_node::Finalization::decode_cfg(
        certificate.to_vec(),
        &verifier.certificate_codec_config(),
    ) else {
        return false;
    };
    finalization.proposal.payload == epichain_node::block::digest_of(block)
        && finalization.verify(
            &mut rand::rng(),
            &verifier,
            &commonware_parallel::Sequential,
        )
}

/// The offline verifier and the engine agree on a real certificate and on altered copies of it
/// (each byte of a signature, the block, the signer bitmap).
fn engine_agrees(genesis: &epichain_core::Genesis, block: &Hash, certificate: &[u8]) {
    assert!(engine_verifies(genesis, block, certificate));
    let decoded = epichain_verify::certificate::decode(certificate).expect("decodes");
    assert_eq!(epichain_verify::certificate::encode(&decoded), certificate);
    let mut other_block = *block;
    other_block.0[0] ^= 1;
    assert!(!engine_verifies(genesis, &other_block, certificate));
    assert!(verify_certificate(genesis, &other_block, certificate).is_err());
    for position in [certificate.len() - 1, certificate.len() - 64, 40, 44] {
        let mut altered = certificate.to_vec();
        altered[position] ^= 0x10;
        assert_eq!(
            engine_verifies(genesis, block, &altered),
            verify_certificate(genesis, block, &altered).is_ok(),
            "verdicts differ on a certificate altered at byte {position}"
        );
    }
}
