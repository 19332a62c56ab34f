//! Running a node process: a validator on commonware's tokio runtime with authenticated p2p,
//! or a replica that follows validators over HTTP; both serve the API until interrupted.

use crate::api::{ApiState, FORWARD_TIMEOUT, NodeRole};
use crate::chain::{BlockLimits, Chain, Submitted};
use crate::config::{NodeConfig, Role};
use crate::consensus::{self, Channels, Timeouts, ValidatorSettings, channel};
use crate::escrow_agent::{self, EscrowAgent, HolderKeys};
use crate::finality::{consensus_private_key, consensus_public_key, validator_keys};
use crate::http::{HttpLimits, HttpServer};
use crate::journal::{Journal, JournalError};
use crate::mempool::MempoolLimits;
use crate::sync::Follower;
use crate::{PublicKey, metrics};
use commonware_cryptography::{ChaCha20Poly1305, Signer as _};
use commonware_p2p::authenticated::lookup;
use commonware_p2p::{Address, AddressableManager as _};
use commonware_runtime::{Quota, Runner as _, Spawner as _, Supervisor as _};
use commonware_stream::cups::{self, Cups};
use commonware_stream::sake::{self, Sake};
use commonware_utils::{NZU32, NZUsize, ordered::Map};
use epichain_core::{Genesis, KeyPair};
use epichain_ledger::Ledger;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Configuration or files.
    #[error("{0}")]
    Setup(String),
    /// The ledger.
    #[error(transparent)]
    Ledger(#[from] epichain_ledger::LedgerError),
}

fn setup(message: impl ToString) -> NodeError {
    NodeError::Setup(message.to_string())
}

/// Messages per second one peer may send on each channel (token bucket), tuned for blocks of up
/// to several thousand transactions among a handful of validators.
mod quota {
    pub const VOTES_PER_SECOND: u32 = 2_048;
    pub const CERTIFICATES_PER_SECOND: u32 = 1_024;
    pub const RESOLVER_PER_SECOND: u32 = 512;
    pub const BLOCKS_PER_SECOND: u32 = 256;
    pub const BACKFILL_PER_SECOND: u32 = 512;
    /// Gossip batches (each at most 512 transactions and 1 MiB): a Byzantine validator can
    /// demand at most 32,768 signature checks a second, off the consensus workers.
    pub const TRANSACTIONS_PER_SECOND: u32 = 64;
}

/// The validator's escrow share, in its data directory (mode 0600).
pub const ESCROW_SHARE_FILE: &str = "escrow-share.hex";

/// How often the escrow agent looks for work.
const ESCROW_AGENT_INTERVAL: Duration = Duration::from_millis(300);

/// Reads genesis and opens the ledger with the configured limits.
fn open_chain(config: &NodeConfig) -> Result<(Genesis, Arc<Chain>), NodeError> {
    let text = std::fs::read_to_string(&config.genesis)
        .map_err(|error| setup(format!("{}: {error}", config.genesis.display())))?;
    let genesis = Genesis::from_json(&text).map_err(setup)?;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|error| setup(format!("{}: {error}", config.data_dir.display())))?;
    let mut ledger = Ledger::open(&config.data_dir.join("ledger.redb"), &genesis)?;
    ledger.set_sync_interval(config.limits.sync_interval_blocks);
    ledger.set_pipelined(config.limits.pipelined_writes)?;
    ledger.set_verification_threads(
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
    );
    let chain = Chain::new(
        ledger,
        MempoolLimits {
            transactions_max: config.limits.mempool_transactions_max,
            bytes_max: config.limits.mempool_bytes_max,
            ..MempoolLimits::default()
        },
        BlockLimits {
            transactions_max: config.limits.block_transactions_max,
            bytes_max: config.limits.block_bytes_max,
        },
    );
    Ok((genesis, Arc::new(chain)))
}

/// The validator's mempool journal, in its data directory.
pub const JOURNAL_DIRECTORY: &str = "mempool-journal";

/// Opens the mempool journal and re-admits what it holds (transactions this node acknowledged
/// before it stopped): those still pending are gossiped and journaled again, then the old
/// segments are deleted.
async fn replay_journal(
    data_dir: &std::path::Path,
    chain: &Chain,
    gossip: &futures::channel::mpsc::UnboundedSender<Arc<epichain_core::SignedTransaction>>,
    clock: &impl commonware_runtime::Clock,
) -> Result<Arc<Journal>, JournalError> {
    let retention =
        Duration::from_millis(MempoolLimits::default().age_max_ms) + Duration::from_secs(120);
    let (journal, replayed) = Journal::open(&data_dir.join(JOURNAL_DIRECTORY), retention)?;
    let slices: Vec<&[u8]> = replayed.iter().map(Vec::as_slice).collect();
    let outcomes = chain.submit_many(&slices, crate::application::now_ms(clock));
    let mut pending = Vec::new();
    for (bytes, outcome) in replayed.iter().zip(outcomes) {
        if let Ok((Submitted::Pending(_) | Submitted::AlreadyPending(_), parsed)) = outcome {
            pending.push(bytes.clone());
            if let Some(transaction) = parsed {
                let _ = gossip.unbounded_send(transaction);
            }
        }
    }
    if !replayed.is_empty() {
        tracing::info!(
            journaled = replayed.len(),
            pending = pending.len(),
            "mempool journal replayed"
        );
    }
    journal.append(pending).await?;
    journal.forget_replayed()?;
    Ok(Arc::new(journal))
}

/// Reports catch-up progress: (height, target height).
pub type Progress = Box<dyn FnMut(u64, u64) + Send>;

/// Runs the node described by `config` until Ctrl-C or SIGTERM; then makes the ledger durable.
pub fn run(config: NodeConfig) -> Result<(), NodeError> {
    run_with_progress(config, Box::new(|_, _| {}))
}

/// Like [`run`], reporting a replica's catch-up progress to `progress`.
pub fn run_with_progress(config: NodeConfig, progress: Progress) -> Result<(), NodeError> {
    let prometheus = metrics::install();
    match config.role {
        Role::Validator => run_validator(config, prometheus),
        Role::Replica => run_replica(config, prometheus, progress),
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut stream) => {
                    stream.recv().await;
                }
                Err(_) => futures::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = interrupt => {}
            () = terminate => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// The API's TLS configuration from the files the configuration names, checked against the
/// genesis roots now (a certificate the node's clients would refuse stops it at start-up).
fn tls_config(
    config: &NodeConfig,
    genesis: &Genesis,
) -> Result<Option<Arc<rustls::ServerConfig>>, NodeError> {
    let Some(files) = &config.tls else {
        return Ok(None);
    };
    let text = std::fs::read(&files.certificate)
        .map_err(|error| setup(format!("{}: {error}", files.certificate.display())))?;
    let chain = epichain_core::cert::certificates_from_pem_or_der(&text)
        .map_err(|error| setup(format!("{}: {error}", files.certificate.display())))?;
    let key = KeyPair::read_pem_file(&files.key).map_err(setup)?;
    let server = epichain_tls::server_config(
        chain,
        &key,
        &genesis.root_certificates,
        // The wall clock: the certificate's validity now, at start-up (an edge).
        crate::wall_clock_ms() / 1_000,
    )
    .map_err(|error| setup(format!("{}: {error}", files.certificate.display())))?;
    Ok(Some(Arc::new(server)))
}

/// Serves the API on its own runtime until Ctrl-C or SIGTERM, then stops it (within its
/// shutdown deadline, open streams or not).
async fn serve(
    state: ApiState,
    address: std::net::SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<(), NodeError> {
    let server = HttpServer::start(state, address, HttpLimits::default(), tls)
        .map_err(|error| setup(format!("HTTP listen {address}: {error}")))?;
    shutdown_signal().await;
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .map_err(setup)
}

/// The key in the file a configuration field names (`field` for the message).
fn key_file(path: Option<&std::path::PathBuf>, field: &str) -> Result<KeyPair, NodeError> {
    let path = path.ok_or_else(|| setup(format!("the configuration names no `{field}`")))?;
    KeyPair::read_pem_file(path).map_err(setup)
}

/// The node's key, from the file its configuration names (checked present for both roles).
fn node_key(config: &NodeConfig) -> Result<KeyPair, NodeError> {
    key_file(config.key.as_ref(), "key")
}

/// The validator's escrow holder key, checked against the one genesis names for its consensus
/// key (review M11: a key of its own).
fn holder_key(
    config: &NodeConfig,
    genesis: &epichain_core::Genesis,
    consensus: &KeyPair,
) -> Result<KeyPair, NodeError> {
    let holder = key_file(config.holder_key.as_ref(), "holder_key")?;
    let named = genesis
        .validators
        .iter()
        .find(|validator| validator.key == consensus.public_key())
        .map(|validator| validator.holder);
    if named != Some(holder.public_key()) {
        return Err(setup(format!(
            "holder key {} is not the one genesis names for this validator",
            holder.public_key()
        )));
    }
    Ok(holder)
}

#[allow(clippy::too_many_lines)] // Validator start-up in order; to be split into a pure plan and start_* steps with the node restructure (issue 12).
fn run_validator(
    config: NodeConfig,
    prometheus: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> Result<(), NodeError> {
    let (genesis, chain) = open_chain(&config)?;
    let tls = tls_config(&config, &genesis)?;
    let key = node_key(&config)?;
    let private = consensus_private_key(&key).map_err(setup)?;
    let validators = validator_keys(&genesis).map_err(setup)?;
    if !validators.contains(&private.public_key()) {
        return Err(setup(format!(
            "key {} is not a validator in genesis",
            key.public_key()
        )));
    }
    let mut addresses: Vec<(PublicKey, Address)> = Vec::new();
    for peer in &config.validator_addresses {
        let public = epichain_core::PublicKey::from_hex(&peer.key)
            .map_err(|error| setup(format!("validator address key {}: {error}", peer.key)))?;
        addresses.push((
            consensus_public_key(&public).map_err(setup)?,
            peer.address.into(),
        ));
    }
    let listen = config
        .p2p_listen
        .ok_or_else(|| setup("validator without p2p_listen"))?;
    let runtime = commonware_runtime::tokio::Config::new()
        .with_worker_threads(2)
        .with_catch_panics(false)
        .with_storage_directory(config.data_dir.join("consensus"));
    let name = config.name.clone();
    let http_listen = config.http_listen;
    let config_data_dir = config.data_dir.clone();
    let validator_count = validators.len();
    let holder = holder_key(&config, &genesis, &key)?;
    let agent = EscrowAgent::new(
        genesis.chain_id(),
        genesis
            .validators
            .iter()
            .map(|validator| validator.holder)
            .collect(),
        holder,
        HolderKeys::in_directory(&config.data_dir).map_err(setup)?,
        Some(config.data_dir.join(ESCROW_SHARE_FILE)),
    );
    commonware_runtime::tokio::Runner::new(runtime).start(|context| async move {
        let handshake = Cups::<_, ChaCha20Poly1305>::new(
            Sake {
                signer: private.clone(),
                synchrony_bound: Duration::from_secs(5),
                max_handshake_age: Duration::from_secs(10),
                version: sake::Version::V1,
            },
            cups::Version::V1,
        );
        let mut namespace = b"epichain-p2p-v1-".to_vec();
        namespace.extend_from_slice(&chain.chain_id().0);
        // Production limits (review M13), except that validators may sit on a private network
        // (a CDC intranet, or loopback for the devnet) and several may share an address.
        let mut p2p = lookup::Config::recommended(
            handshake,
            &namespace,
            listen,
            NZUsize!(validator_count.max(1)),
            consensus::max_message_size(validator_count as u32),
            NZUsize!(4096),
        );
        p2p.allow_private_ips = true;
        p2p.allowed_handshake_rate_per_ip =
            Quota::per_second(NZU32!(validator_count.clamp(1, 64) as u32));
        // A restarted validator is known and must rejoin at once (60 s by default).
        p2p.peer_connection_cooldown = Duration::from_secs(1);
        let (mut network, mut oracle) = lookup::Network::new(context.child("network"), p2p);
        let _ = oracle.track(0, Map::from_iter_dedup(addresses));
        let mut register = |id: u64, per_second: u32| {
            network.register(
                id,
                Quota::per_second(std::num::NonZeroU32::new(per_second).unwrap_or(NZU32!(1))),
            )
        };
        let channels = Channels {
            votes: register(channel::VOTES, quota::VOTES_PER_SECOND),
            certificates: register(channel::CERTIFICATES, quota::CERTIFICATES_PER_SECOND),
            resolver: register(channel::RESOLVER, quota::RESOLVER_PER_SECOND),
            blocks: register(channel::BLOCKS, quota::BLOCKS_PER_SECOND),
            backfill: register(channel::BACKFILL, quota::BACKFILL_PER_SECOND),
            transactions: register(channel::TRANSACTIONS, quota::TRANSACTIONS_PER_SECOND),
        };
        network.start();
        let settings = ValidatorSettings {
            key: private,
            validators,
            partition_prefix: "epichain".to_string(),
            timeouts: Timeouts::lan(),
        };
        let validator = match consensus::start_validator(
            context.child("validator"),
            settings,
            chain.clone(),
            oracle.clone(),
            oracle.clone(),
            channels,
        )
        .await
        {
            Ok(validator) => validator,
            Err(error) => {
                tracing::error!(%error, "validator did not start");
                return Err(setup(error));
            }
        };
        let journal =
            match replay_journal(&config_data_dir, &chain, &validator.gossip, &context).await {
                Ok(journal) => journal,
                Err(error) => {
                    tracing::error!(%error, "mempool journal");
                    return Err(setup(error));
                }
            };
        let liveness = validator.peers.clone();
        let peer_count = Arc::new(AtomicUsize::new(0));
        let counter = peer_count.clone();
        let expiry_chain = chain.clone();
        context
            .child("housekeeping")
            .spawn(move |clock| async move {
                loop {
                    let now = crate::application::now_ms(&clock);
                    counter.store(liveness.count(now), std::sync::atomic::Ordering::Relaxed);
                    expiry_chain.expire(now);
                    commonware_runtime::Clock::sleep(&clock, Duration::from_secs(1)).await;
                }
            });
        context.child("escrow").spawn({
            let chain = chain.clone();
            let gossip = validator.gossip.clone();
            move |clock| escrow_agent::run(agent, chain, gossip, clock, ESCROW_AGENT_INTERVAL)
        });
        let state = ApiState {
            gossip: Some(validator.gossip.clone()),
            prometheus,
            peers: peer_count,
            journal: Some(journal),
            ..ApiState::new(chain.clone(), NodeRole::Validator, name)
        };
        let served = serve(state, http_listen, tls).await;
        chain.sync().map_err(setup)?;
        tracing::info!("stopped; ledger synced");
        served
    })
}

fn run_replica(
    config: NodeConfig,
    prometheus: Option<metrics_exporter_prometheus::PrometheusHandle>,
    mut progress: Progress,
) -> Result<(), NodeError> {
    let key = node_key(&config)?;
    let (genesis, chain) = open_chain(&config)?;
    let tls = tls_config(&config, &genesis)?;
    let upstream_trust = epichain_tls::NodeTrust::from_genesis(&genesis);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(setup)?;
    runtime.block_on(async move {
        let follower = Follower::new(chain.clone(), genesis, config.upstream.clone(), key);
        let peer_count = Arc::new(AtomicUsize::new(config.upstream.len()));
        let follow = tokio::spawn(async move {
            follower.run(&mut progress).await;
        });
        let state = ApiState {
            upstream: config.upstream.clone(),
            client: epichain_tls::http_client(Some(&upstream_trust), FORWARD_TIMEOUT),
            prometheus,
            peers: peer_count,
            ..ApiState::new(chain.clone(), NodeRole::Replica, config.name.clone())
        };
        let served = serve(state, config.http_listen, tls).await;
        follow.abort();
        chain.sync().map_err(setup)?;
        tracing::info!("stopped; ledger synced");
        served
    })
}
