//! The consensus application: builds and verifies blocks for simplex (through marshal's
//! `Inline` wrapper) and applies finalized blocks, in order, to the ledger.

use crate::block::{ChainBlock, hash_of};
use crate::chain::Chain;
use crate::metrics;
use crate::{Finalization, PublicKey, Scheme};
use commonware_actor::Feedback;
use commonware_consensus::marshal::Update;
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_consensus::marshal::core::Mailbox;
use commonware_consensus::marshal::standard::Standard;
use commonware_consensus::simplex::types::Context;
use commonware_consensus::types::Height;
use commonware_consensus::{Application as ConsensusApplication, Heightable, Reporter};
use commonware_cryptography::sha256::Digest;
use commonware_cryptography::{Digested, Digestible};
use commonware_runtime::Clock;
use commonware_utils::Acknowledgement as _;
use commonware_utils::acknowledgement::Exact;
use futures::StreamExt as _;
use futures::channel::mpsc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// An idle proposer waits this long after its parent before proposing an empty block, so an idle
/// chain ticks a few blocks per second instead of spinning.
pub const EMPTY_BLOCK_INTERVAL_MS: u64 = 250;

/// A block may carry a time at most this far ahead of a validator's clock.
pub const BLOCK_TIME_FUTURE_TOLERANCE_MS: u64 = 5_000;

/// Milliseconds since the Unix epoch on the runtime's clock (simulated in tests).
pub fn now_ms(clock: &impl Clock) -> u64 {
    clock
        .current()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|duration| duration.as_millis() as u64)
        .unwrap_or_default()
}

/// The application handed to marshal's `Inline` wrapper.
#[derive(Clone)]
pub struct Application {
    chain: Arc<Chain>,
}

impl Application {
    /// Builds and verifies blocks on `chain`.
    pub fn new(chain: Arc<Chain>) -> Self {
        Application { chain }
    }

    /// Reads the ancestry (parent first) down to the committed tip, newest first.
    async fn ancestry(&self, ancestry: &mut impl Ancestry<ChainBlock>) -> Option<Vec<ChainBlock>> {
        let tip = self.chain.tip().ok()?;
        let mut newest_first = Vec::new();
        loop {
            let block = ancestry.next().await?;
            let height = block.height().get();
            newest_first.push(block.inner().clone());
            if height <= tip.height {
                return Some(newest_first);
            }
        }
    }
}

impl<E: Clock> ConsensusApplication<E> for Application {
    type SigningScheme = Scheme;
    type Context = Context<Digest, PublicKey>;
    type Block = ChainBlock;
    type Input = ();

    async fn propose(
        &mut self,
        (runtime, _context): (E, Self::Context),
        mut ancestry: impl Ancestry<ChainBlock>,
        _input: (),
    ) -> Option<Digested<ChainBlock>> {
        let ancestry = self.ancestry(&mut ancestry).await?;
        let parent_time = match ancestry.first().and_then(ChainBlock::block) {
            Some(parent) => parent.header.time_ms,
            None => self.chain.tip().ok()?.time_ms,
        };
        if self.chain.mempool_size().0 == 0 {
            let ready = parent_time + EMPTY_BLOCK_INTERVAL_MS;
            let now = now_ms(&runtime);
            if ready > now {
                runtime.sleep(Duration::from_millis(ready - now)).await;
            }
        }
        let started = std::time::Instant::now();
        let block = match self.chain.propose(&ancestry, now_ms(&runtime)) {
            Ok(block) => block,
            Err(error) => {
                tracing::warn!(%error, "cannot propose");
                return None;
            }
        };
        metrics::proposal_built(started.elapsed());
        let digest = block.digest();
        Some(Digested::precomputed(block, digest))
    }

    async fn verify(
        &mut self,
        (runtime, _context): (E, Self::Context),
        mut ancestry: impl Ancestry<ChainBlock>,
    ) -> bool {
        let Some(block) = ancestry.next().await else {
            return false;
        };
        let block = block.inner().clone();
        let Some(header) = block.block().map(|inner| inner.header.clone()) else {
            return false;
        };
        if header.time_ms > now_ms(&runtime) + BLOCK_TIME_FUTURE_TOLERANCE_MS {
            tracing::warn!(height = header.height, "block time too far in the future");
            return false;
        }
        let Some(ancestry) = self.ancestry(&mut ancestry).await else {
            return false;
        };
        match self.chain.verify(&ancestry, &block) {
            Ok(valid) => valid,
            Err(error) => {
                tracing::warn!(%error, "cannot verify");
                false
            }
        }
    }
}

/// A finalized block waiting to be applied, with marshal's acknowledgement.
type Delivery = (Digested<ChainBlock>, Exact);

/// Receives marshal's finalized blocks and queues them for the applier.
#[derive(Clone)]
pub struct FinalizedReporter {
    sender: mpsc::UnboundedSender<Delivery>,
}

impl FinalizedReporter {
    /// A reporter and the receiving end for [`run_applier`].
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Delivery>) {
        let (sender, receiver) = mpsc::unbounded();
        (FinalizedReporter { sender }, receiver)
    }
}

impl Reporter for FinalizedReporter {
    type Activity = Update<ChainBlock>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        if let Update::Block(block, acknowledgement) = activity {
            // Marshal bounds the deliveries awaiting acknowledgement, so this queue is bounded.
            let _ = self.sender.unbounded_send((block, acknowledgement));
        }
        Feedback::Ok
    }
}

/// The marshal mailbox of our block type.
pub type MarshalMailbox = Mailbox<Scheme, Standard<ChainBlock>>;

/// Applies finalized blocks in order and acknowledges each to marshal once it is durable (so a
/// crash never loses a block marshal believes delivered). A finalized block that does not
/// re-execute to its header, or a ledger that cannot write, stops the node process: it must
/// not keep serving state that diverged or froze.
pub async fn run_applier(
    clock: impl Clock,
    chain: Arc<Chain>,
    marshal: MarshalMailbox,
    mut deliveries: mpsc::UnboundedReceiver<Delivery>,
) {
    while let Some((block, acknowledgement)) = deliveries.next().await {
        let height = block.height();
        let certificate = if height.get() == 0 {
            None
        } else {
            marshal
                .get_finalization(Height::new(height.get()))
                .await
                .map(|finalization: Finalization| {
                    commonware_codec::Encode::encode(&finalization).to_vec()
                })
        };
        let on_durable = Box::new(move || acknowledgement.acknowledge());
        match chain.apply_finalized(block.inner(), certificate.as_deref(), on_durable) {
            Ok(Some(outcome)) => {
                metrics::block_finalized(&outcome, now_ms(&clock));
                tracing::debug!(
                    height = outcome.header.height,
                    hash = %hash_of(&block.digest()),
                    transactions = outcome.receipts.len(),
                    "finalized"
                );
            }
            Ok(None) => {}
            Err(error) => {
                crate::halt(&format!(
                    "finalized block {} cannot be applied: {error}",
                    height.get()
                ));
            }
        }
    }
}
