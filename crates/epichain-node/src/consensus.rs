//! Wiring of one validator, independent of the runtime (tokio in production, the deterministic
//! simulator in tests): buffered block broadcast, marshal (ordered delivery and backfill of
//! finalized blocks), marshal's `Inline` wrapper around our application, the simplex engine, and
//! transaction gossip.

use crate::application::{Application, FinalizedReporter, MarshalMailbox, now_ms, run_applier};
use crate::block::{BLOCK_BYTES_MAX, ChainBlock};
use crate::chain::Chain;
use crate::{PrivateKey, PublicKey, Scheme};
use commonware_broadcast::buffered;
use commonware_consensus::marshal::standard::{Inline, Standard};
use commonware_consensus::marshal::{self, core::Actor as Marshal, resolver::p2p as resolver};
use commonware_consensus::simplex::{self, elector::RoundRobin};
use commonware_consensus::types::{Epoch, FixedEpocher, ViewDelta};
use commonware_cryptography::certificate::{ConstantProvider, Verifier as _};
use commonware_cryptography::{Digested, Digestible, Sha256, Signer as _};
use commonware_p2p::{Blocker, Provider, Receiver, Recipients, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage};
use commonware_storage::archive::immutable;
use commonware_utils::{NZU16, NZU64, NZUsize, NonZeroDuration, ordered::Set};
use epichain_core::{Hash, SignedTransaction};
use futures::StreamExt as _;
use futures::channel::mpsc;
use rand::CryptoRng;
use std::sync::Arc;
use std::time::Duration;

/// p2p channel ids; identical on every node.
pub mod channel {
    /// Simplex votes.
    pub const VOTES: u64 = 0;
    /// Simplex certificates.
    pub const CERTIFICATES: u64 = 1;
    /// Simplex certificate fetching.
    pub const RESOLVER: u64 = 2;
    /// Marshal's block broadcast.
    pub const BLOCKS: u64 = 3;
    /// Marshal's backfill requests.
    pub const BACKFILL: u64 = 4;
    /// Transaction gossip between validators.
    pub const TRANSACTIONS: u64 = 5;
}

/// Consensus signatures are domain-separated per chain.
pub fn namespace(chain_id: &Hash) -> Vec<u8> {
    let mut namespace = epichain_verify::certificate::NAMESPACE_PREFIX.to_vec();
    namespace.extend_from_slice(&chain_id.0);
    namespace
}

/// Timeouts of the consensus engine.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// Wait for a leader's proposal.
    pub leader: Duration,
    /// Wait for a notarized proposal to certify (must exceed `leader`).
    pub certification: Duration,
    /// Re-broadcast of nullify votes.
    pub retry: Duration,
    /// Skip an unresponsive leader's term (must exceed `certification` and `retry`).
    pub skip: Duration,
    /// Fetch of missing certificates and blocks.
    pub fetch: Duration,
}

impl Timeouts {
    /// Values for validators on one LAN or machine.
    pub fn lan() -> Self {
        Timeouts {
            leader: Duration::from_secs(1),
            certification: Duration::from_secs(2),
            retry: Duration::from_secs(5),
            skip: Duration::from_secs(10),
            fetch: Duration::from_secs(1),
        }
    }
}

/// One validator's settings.
#[derive(Clone)]
pub struct ValidatorSettings {
    /// Its consensus key.
    pub key: PrivateKey,
    /// Every validator's key (from genesis).
    pub validators: Vec<PublicKey>,
    /// Prefix of every storage partition (unique per node).
    pub partition_prefix: String,
    /// Consensus timeouts.
    pub timeouts: Timeouts,
}

/// Channel pair of a registered p2p channel.
pub type Channel<S, R> = (S, R);

/// The six channels a validator needs.
pub struct Channels<S, R> {
    /// Simplex votes.
    pub votes: Channel<S, R>,
    /// Simplex certificates.
    pub certificates: Channel<S, R>,
    /// Simplex resolver.
    pub resolver: Channel<S, R>,
    /// Block broadcast.
    pub blocks: Channel<S, R>,
    /// Backfill.
    pub backfill: Channel<S, R>,
    /// Transaction gossip.
    pub transactions: Channel<S, R>,
}

/// Interval of the liveness heartbeat on the transaction channel.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(2);

/// A peer counts as connected if heard from within this window, milliseconds.
pub const PEER_WINDOW_MS: u64 = 3 * HEARTBEAT_INTERVAL.as_millis() as u64;

/// When each peer was last heard from on the transaction channel (gossip or heartbeat).
#[derive(Debug, Default)]
pub struct PeerLiveness {
    seen_ms: std::sync::Mutex<std::collections::BTreeMap<PublicKey, u64>>,
}

impl PeerLiveness {
    fn saw(&self, peer: PublicKey, now_ms: u64) {
        if let Ok(mut seen) = self.seen_ms.lock() {
            seen.insert(peer, now_ms);
        }
    }

    /// Peers heard from within [`PEER_WINDOW_MS`] of `now_ms`.
    pub fn count(&self, now_ms: u64) -> usize {
        self.seen_ms.lock().map_or(0, |seen| {
            seen.values()
                .filter(|last| now_ms.saturating_sub(**last) <= PEER_WINDOW_MS)
                .count()
        })
    }
}

/// A running validator.
pub struct Validator {
    /// Its tasks.
    pub handles: Vec<Handle<()>>,
    /// Marshal's mailbox (finalized blocks and certificates).
    pub marshal: MarshalMailbox,
    /// Send transactions accepted by this node's API to the other validators.
    pub gossip: mpsc::UnboundedSender<Arc<SignedTransaction>>,
    /// Liveness of the other validators.
    pub peers: Arc<PeerLiveness>,
}

/// Largest p2p message: the engine's and marshal's bounds for `count` validators.
pub fn max_message_size(count: u32) -> u32 {
    commonware_p2p::max_message_size(&[
        simplex::max_payload_size::<Scheme, commonware_cryptography::sha256::Digest>(count),
        marshal::max_payload_size::<Standard<ChainBlock>, Scheme>(count, &BLOCK_BYTES_MAX),
    ])
}

fn archive_config<C>(
    prefix: &str,
    name: &str,
    page_cache: CacheRef,
    codec_config: C,
) -> immutable::Config<C> {
    immutable::Config {
        metadata_partition: format!("{prefix}-{name}-metadata"),
        freezer_table_partition: format!("{prefix}-{name}-freezer-table"),
        freezer_table_initial_size: 64 * 1024,
        freezer_table_resize_frequency: 4,
        freezer_table_resize_chunk_size: 16 * 1024,
        freezer_key_partition: format!("{prefix}-{name}-freezer-key"),
        freezer_key_page_cache: page_cache,
        freezer_value_partition: format!("{prefix}-{name}-freezer-value"),
        freezer_value_target_size: 256 * 1024 * 1024,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}-{name}-ordinal"),
        items_per_section: NZU64!(4096),
        freezer_key_write_buffer: NZUsize!(1024 * 1024),
        freezer_value_write_buffer: NZUsize!(4 * 1024 * 1024),
        ordinal_write_buffer: NZUsize!(1024 * 1024),
        replay_buffer: NZUsize!(4 * 1024 * 1024),
        codec_config,
    }
}

/// Starts every component of a validator over already registered channels.
#[allow(clippy::too_many_lines)] // Configuration literals of four commonware actors; to be split into start_* functions with the node restructure (issue 12).
pub async fn start_validator<E, B, P, S, R>(
    context: E,
    settings: ValidatorSettings,
    chain: Arc<Chain>,
    blocker: B,
    peers: P,
    channels: Channels<S, R>,
) -> Result<Validator, String>
where
    E: Spawner + Clock + Storage + Metrics + CryptoRng,
    B: Blocker<PublicKey = PublicKey>,
    P: Provider<PublicKey = PublicKey>,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let me = settings.key.public_key();
    let namespace = namespace(&chain.chain_id());
    let participants = Set::from_iter_dedup(settings.validators.iter().cloned());
    let scheme = Scheme::signer(&namespace, participants, settings.key.clone())
        .ok_or("this key is not a validator in genesis")?;
    let mailbox_size = NZUsize!(4096);
    let page_cache = CacheRef::new(NZU16!(4096), NZUsize!(2048));
    let epocher = FixedEpocher::new(NZU64!(u64::MAX));
    let prefix = settings.partition_prefix.clone();
    let timeouts = settings.timeouts;

    let (broadcast, buffer) = buffered::Engine::new(
        context.child("buffer"),
        buffered::Config {
            public_key: me.clone(),
            mailbox_size,
            deque_size: 64,
            priority: false,
            codec_config: BLOCK_BYTES_MAX,
            peer_provider: peers.clone(),
            strategy: Sequential,
        },
    );
    let broadcast_handle = broadcast.start(channels.blocks);

    let backfill = resolver::init(
        context.child("marshal_resolver"),
        resolver::Config {
            public_key: me.clone(),
            peer_provider: peers.clone(),
            blocker: blocker.clone(),
            mailbox_size,
            fetch_timeout: NonZeroDuration::new(timeouts.fetch.max(Duration::from_millis(1)))
                .ok_or("fetch timeout")?,
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        channels.backfill,
    );

    let finalizations = immutable::Archive::init(
        context.child("finalizations_by_height"),
        archive_config(
            &prefix,
            "finalizations",
            page_cache.clone(),
            scheme.certificate_codec_config(),
        ),
    )
    .await
    .map_err(|error| format!("finalizations archive: {error}"))?;
    let blocks = immutable::Archive::init(
        context.child("finalized_blocks"),
        archive_config(&prefix, "blocks", page_cache.clone(), BLOCK_BYTES_MAX),
    )
    .await
    .map_err(|error| format!("blocks archive: {error}"))?;

    let genesis = ChainBlock::genesis(chain.chain_id());
    let genesis_digest = genesis.digest();
    let (marshal_actor, marshal_mailbox, _floor) = Marshal::init(
        context.child("marshal"),
        finalizations,
        blocks,
        marshal::Config {
            provider: ConstantProvider::new(scheme.clone()),
            epocher: epocher.clone(),
            start: marshal::Start::Genesis(Digested::precomputed(genesis, genesis_digest)),
            partition_prefix: format!("{prefix}-marshal"),
            mailbox_size,
            view_retention: ViewDelta::new(256),
            prunable_items_per_section: NZU64!(4096),
            page_cache: page_cache.clone(),
            replay_buffer: NZUsize!(4 * 1024 * 1024),
            key_write_buffer: NZUsize!(1024 * 1024),
            value_write_buffer: NZUsize!(4 * 1024 * 1024),
            block_codec_config: BLOCK_BYTES_MAX,
            max_repair: NZUsize!(64),
            max_pending_acks: NZUsize!(64),
            strategy: Sequential,
        },
    )
    .await;
    let (reporter, deliveries) = FinalizedReporter::new();
    let marshal_handle = marshal_actor.start(reporter, buffer, backfill);
    let applier_chain = chain.clone();
    let applier_marshal = marshal_mailbox.clone();
    let applier_handle = context.child("applier").spawn(move |clock| async move {
        run_applier(clock, applier_chain, applier_marshal, deliveries).await;
    });

    let inline = Inline::new(
        context.child("inline"),
        Application::new(chain.clone()),
        marshal_mailbox.clone(),
        epocher,
    );
    let engine = simplex::Engine::new(
        context.child("simplex"),
        simplex::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker: blocker.clone(),
            automaton: inline.clone(),
            relay: inline.clone(),
            reporter: inline,
            strategy: Sequential,
            partition: format!("{prefix}-simplex"),
            mailbox_size,
            epoch: Epoch::zero(),
            floor: simplex::Floor::Genesis(genesis_digest),
            replay_buffer: NZUsize!(4 * 1024 * 1024),
            write_buffer: NZUsize!(1024 * 1024),
            page_cache,
            leader_timeout: timeouts.leader,
            certification_timeout: timeouts.certification,
            timeout_retry: timeouts.retry,
            view_retention: ViewDelta::new(256),
            skip: simplex::SkipPolicy::Enabled {
                timeout: timeouts.skip,
                budget: simplex::SkipBudget::Participants,
            },
            fetch_timeout: NonZeroDuration::new(timeouts.fetch.max(Duration::from_millis(1)))
                .ok_or("fetch timeout")?,
            fetch_retry_delay: Duration::from_millis(100),
            forward: simplex::ForwardPolicy::SilentLeader,
            track_historical_votes: false,
        },
    );
    let engine_handle = engine.start(channels.votes, channels.certificates, channels.resolver);

    let (gossip, outgoing) = mpsc::unbounded();
    let (transactions_sender, transactions_receiver) = channels.transactions;
    let send_handle = context
        .child("gossip_send")
        .spawn(move |clock| send_transactions(clock, transactions_sender, outgoing));
    let receive_chain = chain.clone();
    let peers = Arc::new(PeerLiveness::default());
    let receive_peers = peers.clone();
    let gossip_blocker = blocker;
    let receive_handle = context.child("gossip_receive").spawn(move |clock| {
        let gossip = Gossip {
            chain: receive_chain,
            peers: receive_peers,
            blocker: gossip_blocker,
        };
        receive_transactions(clock, gossip, transactions_receiver)
    });

    Ok(Validator {
        handles: vec![
            broadcast_handle,
            marshal_handle,
            applier_handle,
            engine_handle,
            send_handle,
            receive_handle,
        ],
        marshal: marshal_mailbox,
        gossip,
        peers,
    })
}

/// Most transactions in one gossip message.
const GOSSIP_BATCH_MAX: usize = 512;

/// Most transaction bytes in one gossip message: well under the p2p message limit (a batch of
/// 512 transactions of 64 KiB would be 32 MiB and be dropped; review M6).
pub const GOSSIP_BYTES_MAX: usize = 1024 * 1024;

/// Sends accepted transactions to every validator, batching what is queued (within
/// [`GOSSIP_BATCH_MAX`] and [`GOSSIP_BYTES_MAX`]); sends an empty batch as a heartbeat when
/// idle. The queue holds only transactions admitted to the mempool, so the mempool's limits
/// bound it.
async fn send_transactions(
    clock: impl Clock,
    mut sender: impl Sender<PublicKey = PublicKey>,
    mut outgoing: mpsc::UnboundedReceiver<Arc<SignedTransaction>>,
) {
    let mut carried: Option<Vec<u8>> = None;
    loop {
        let first = match carried.take() {
            Some(bytes) => Some(bytes),
            None => {
                let heartbeat = std::pin::pin!(clock.sleep(HEARTBEAT_INTERVAL));
                match futures::future::select(outgoing.next(), heartbeat).await {
                    futures::future::Either::Left((None, _)) => return,
                    futures::future::Either::Left((Some(transaction), _)) => {
                        Some(transaction.to_bytes())
                    }
                    futures::future::Either::Right(((), _)) => None,
                }
            }
        };
        let mut bytes = first.as_ref().map_or(0, Vec::len);
        let mut batch: Vec<Vec<u8>> = first.into_iter().collect();
        while !batch.is_empty() && batch.len() < GOSSIP_BATCH_MAX {
            let Ok(next) = outgoing.try_recv() else {
                break;
            };
            let encoded = next.to_bytes();
            if bytes + encoded.len() > GOSSIP_BYTES_MAX {
                carried = Some(encoded);
                break;
            }
            bytes += encoded.len();
            batch.push(encoded);
        }
        let message = epichain_core::encoding::encode(&batch);
        // Returns the peers it reached; those not connected catch up through blocks.
        let _ = sender.send(Recipients::All, message, false);
    }
}

/// What the gossip receiver works with: the chain to admit into, the liveness it records, and
/// the blocker for a validator that gossips what no honest validator would.
struct Gossip<B> {
    chain: Arc<Chain>,
    peers: Arc<PeerLiveness>,
    blocker: B,
}

/// Admits transactions gossiped by other validators (the same checks as the API). An honest
/// validator gossips only transactions it admitted, in a batch that decodes: a batch that does
/// not, or a transaction with a bad signature, shows the sender is Byzantine (or broken), and it
/// is blocked (disconnected and refused) rather than allowed to make every validator check
/// forged signatures forever (review M13).
async fn receive_transactions<B: Blocker<PublicKey = PublicKey>>(
    clock: impl Clock + Spawner,
    mut gossip: Gossip<B>,
    mut receiver: impl Receiver<PublicKey = PublicKey>,
) {
    while let Ok((from, message)) = receiver.recv().await {
        gossip.peers.saw(from.clone(), now_ms(&clock));
        let Ok(batch) = epichain_core::encoding::decode_bounded::<Vec<Vec<u8>>>(
            message.as_ref(),
            BLOCK_BYTES_MAX,
        ) else {
            tracing::warn!(?from, "a validator gossiped an undecodable batch: blocked");
            let _ = gossip.blocker.block(from);
            continue;
        };
        let now = now_ms(&clock);
        let chain = gossip.chain.clone();
        // Signature checks run where blocking work goes, not on the consensus workers.
        let admitted = clock
            .child("verify")
            .shared(true)
            .spawn(move |_| async move {
                let items: Vec<&[u8]> = batch
                    .iter()
                    .take(GOSSIP_BATCH_MAX)
                    .map(Vec::as_slice)
                    .collect();
                chain.submit_many(&items, now)
            })
            .await;
        let forged = admitted.iter().flatten().any(|result| {
            matches!(
                result,
                Err(crate::chain::SubmitError::Refused(
                    epichain_core::Rejection::BadSignature
                ))
            )
        });
        if forged {
            tracing::warn!(
                ?from,
                "a validator gossiped a transaction with a bad signature: blocked"
            );
            let _ = gossip.blocker.block(from);
        }
    }
}
