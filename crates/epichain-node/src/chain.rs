//! The node's view of the chain: the ledger, the blocks executed but not yet final, and the
//! mempool. Consensus asks it to propose and verify blocks and hands it finalized blocks; the API
//! submits transactions and reads state. No runtime types here: time comes in as arguments.

use crate::block::ChainBlock;
use crate::budget::TokenBucket;
use crate::mempool::{Admission, Mempool, MempoolLimits};
use epichain_core::transaction::TRANSACTION_BYTES_MAX;
use epichain_core::{Block, Hash, Payload, PublicKey, Receipt, Rejection, SignedTransaction};
use epichain_ledger::signatures::SignatureVerifier;
use epichain_ledger::state::ChainConfig;
use epichain_ledger::store::StoreReader;
use epichain_ledger::{
    Authenticator, BlockContext, BlockOutcome, Ledger, LedgerError, LedgerReader, OnDurable,
    PreparedBlock, ReadHandle, StorageError, Tip,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// Limits on what a proposer puts in a block.
#[derive(Clone, Copy, Debug)]
pub struct BlockLimits {
    /// Most transactions per block.
    pub transactions_max: usize,
    /// Most transaction bytes per block.
    pub bytes_max: usize,
}

impl Default for BlockLimits {
    fn default() -> Self {
        BlockLimits {
            transactions_max: 4_000,
            bytes_max: 4 * 1024 * 1024,
        }
    }
}

/// Why the chain could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The ledger failed or refused.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The ancestry does not connect to what this node has committed.
    #[error("ancestry does not extend the committed tip: {0}")]
    Ancestry(String),
    /// A lock holder panicked.
    #[error("node state poisoned")]
    Poisoned,
}

/// Why a submitted transaction was refused before reaching the mempool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// Too large.
    #[error("transaction of {0} bytes exceeds {TRANSACTION_BYTES_MAX}")]
    TooLarge(usize),
    /// Not a canonical signed transaction.
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// Fails authentication (signature, chain, signer's standing, nonce, or an enrolment whose
    /// certificate does not verify): no block could carry it.
    #[error("{0}")]
    Refused(Rejection),
    /// Another pending transaction of the signer has this nonce.
    #[error("another pending transaction of the signer has nonce {0}")]
    NonceTaken(u64),
    /// The mempool is full.
    #[error("mempool full; retry later")]
    Full,
    /// The signer has as many transactions pending as it may.
    #[error("too many pending transactions from this signer; retry later")]
    SignerFull,
    /// Enrolments arrive faster than this node checks them.
    #[error("too many enrolments; retry later")]
    EnrolmentsBusy,
    /// Storage failed.
    #[error("{0}")]
    Internal(String),
}

/// Result of a successful submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// Newly pending.
    Pending(Hash),
    /// Already pending (idempotent resubmission).
    AlreadyPending(Hash),
    /// Already in a finalized block at this height.
    Finalized(Hash, u64),
}

impl Submitted {
    /// The transaction id.
    pub fn id(&self) -> Hash {
        match self {
            Submitted::Pending(id)
            | Submitted::AlreadyPending(id)
            | Submitted::Finalized(id, _) => *id,
        }
    }
}

/// The outcome of one submission: how it was taken, and the transaction to gossip if new.
pub type Admitted = Result<(Submitted, Option<Arc<SignedTransaction>>), SubmitError>;

/// What admission checks a transaction against, read once per batch of submissions.
struct Gate<'a> {
    reader: &'a LedgerReader,
    authenticator: Authenticator<'a, StoreReader>,
    recent: &'a dyn Fn(&Hash) -> Option<u64>,
    enrolments: &'a Mutex<TokenBucket>,
    now_ms: u64,
}

/// Admits a transaction whose signature verified: already final or pending answers as such;
/// otherwise it must pass the authentication a block would apply (so what a node accepts a
/// proposer can include) and fit the mempool's limits. A signer not yet enrolled may send its
/// enrolment (within the node's enrolment budget, since its certificate chain is verified here)
/// and transactions that follow a pending enrolment.
fn admit(
    gate: &mut Gate<'_>,
    pool: &mut Mempool,
    (id, transaction): (Hash, SignedTransaction),
    size: usize,
) -> Admitted {
    if pool.contains(&id) {
        return Ok((Submitted::AlreadyPending(id), None));
    }
    let internal = |error: &dyn std::fmt::Display| SubmitError::Internal(error.to_string());
    let stored = gate
        .reader
        .receipt(&id)
        .map_err(|error| internal(&error))?
        .map(|(height, _)| height);
    if let Some(height) = stored.or_else(|| (gate.recent)(&id)) {
        return Ok((Submitted::Finalized(id, height), None));
    }
    let enrolment = matches!(transaction.transaction.payload, Payload::EnrollIdentity(_));
    if enrolment {
        let mut budget = gate
            .enrolments
            .lock()
            .map_err(|_| SubmitError::Internal("enrolment budget poisoned".into()))?;
        if !budget.take(gate.now_ms) {
            return Err(SubmitError::EnrolmentsBusy);
        }
    }
    match gate
        .authenticator
        .check(&transaction)
        .map_err(|error| internal(&error))?
    {
        Ok(()) => {}
        Err(Rejection::UnknownSigner(key)) if pool.enrolment_pending(&key) => {}
        // Its predecessors may be pending here or elsewhere: it waits for them.
        Err(Rejection::NonceGap { nonce, last }) if nonce - last <= NONCE_AHEAD_MAX => {}
        Err(rejection) => return Err(SubmitError::Refused(rejection)),
    }
    let nonce = transaction.transaction.nonce;
    let transaction = Arc::new(transaction);
    match pool.insert(id, transaction.clone(), size, gate.now_ms) {
        Admission::Added => Ok((Submitted::Pending(id), Some(transaction))),
        Admission::Duplicate => Ok((Submitted::AlreadyPending(id), None)),
        Admission::NonceTaken => Err(SubmitError::NonceTaken(nonce)),
        Admission::Full => Err(SubmitError::Full),
        Admission::SignerFull => Err(SubmitError::SignerFull),
        Admission::EnrolmentsFull => Err(SubmitError::EnrolmentsBusy),
    }
}

/// How far past a signer's last finalized nonce a transaction may be admitted.
pub const NONCE_AHEAD_MAX: u64 = 16_384;

/// Enrolments a node checks per second (each verifies a certificate chain), and its burst.
pub const ENROLMENTS_PER_SECOND: u32 = 50;
/// See [`ENROLMENTS_PER_SECOND`].
pub const ENROLMENT_BURST: u32 = 500;

/// Capacity of the new-signal notification channel (slow subscribers skip ahead).
pub const SIGNAL_NOTICES_MAX: usize = 1_024;

/// Committed blocks whose receipts stay in memory, so a transaction committed while a
/// pipelined ledger is still writing its block is neither admitted again nor reported unknown.
pub const RECENT_BLOCKS_MAX: usize = 16;

/// Shared node state.
pub struct Chain {
    /// New signals, as blocks commit (for the API's event stream).
    signals: tokio::sync::broadcast::Sender<Hash>,
    ledger: Mutex<Ledger>,
    speculative: Mutex<BTreeMap<Hash, Arc<PreparedBlock>>>,
    mempool: Mutex<Mempool>,
    limits: BlockLimits,
    chain_id: Hash,
    validators: Vec<PublicKey>,
    verifier: Arc<SignatureVerifier>,
    reads: ReadHandle,
    /// Receipts of the last committed blocks, newest last (see [`RECENT_BLOCKS_MAX`]).
    recent: Mutex<VecDeque<(u64, Vec<Receipt>)>>,
    /// Enrolments this node may still check (see [`ENROLMENTS_PER_SECOND`]).
    enrolments: Mutex<TokenBucket>,
    /// The chain configuration at a block (by hash), for admission.
    config: Mutex<Option<(Hash, Arc<ChainConfig>)>>,
}

fn lock<T>(mutex: &Mutex<T>) -> Result<MutexGuard<'_, T>, ChainError> {
    mutex.lock().map_err(|_| ChainError::Poisoned)
}

impl Chain {
    /// Wraps an opened ledger.
    pub fn new(ledger: Ledger, mempool: MempoolLimits, limits: BlockLimits) -> Self {
        let chain_id = ledger.chain_id();
        let validators = ledger
            .genesis()
            .validators
            .iter()
            .map(|validator| validator.key)
            .collect();
        let verifier = ledger.verifier();
        let reads = ledger.read_handle();
        Chain {
            verifier,
            reads,
            recent: Mutex::new(VecDeque::new()),
            enrolments: Mutex::new(TokenBucket::new(ENROLMENTS_PER_SECOND, ENROLMENT_BURST, 0)),
            config: Mutex::new(None),
            signals: tokio::sync::broadcast::channel(SIGNAL_NOTICES_MAX).0,
            ledger: Mutex::new(ledger),
            speculative: Mutex::new(BTreeMap::new()),
            mempool: Mutex::new(Mempool::new(mempool)),
            limits,
            chain_id,
            validators,
        }
    }

    /// Subscribes to signals opened by committed blocks.
    pub fn subscribe_signals(&self) -> tokio::sync::broadcast::Receiver<Hash> {
        self.signals.subscribe()
    }

    /// Sends the signals `events` opened to subscribers, once `after` ran (the block is
    /// readable then: a subscriber that looks a signal up finds it).
    fn announce_when(&self, events: &[epichain_ledger::Event], after: OnDurable) -> OnDurable {
        let opened: Vec<Hash> = events
            .iter()
            .filter_map(|event| match event {
                epichain_ledger::Event::SignalOpened { signal, .. } => Some(*signal),
                _ => None,
            })
            .collect();
        let sender = self.signals.clone();
        Box::new(move || {
            after();
            for signal in opened {
                let _ = sender.send(signal);
            }
        })
    }

    /// Chain id.
    pub fn chain_id(&self) -> Hash {
        self.chain_id
    }

    /// Validator keys from genesis.
    pub fn validators(&self) -> &[PublicKey] {
        &self.validators
    }

    /// Latest committed block.
    pub fn tip(&self) -> Result<Tip, ChainError> {
        Ok(lock(&self.ledger)?.tip())
    }

    /// A read snapshot of committed state. Taken without the ledger lock: reads never wait for
    /// block execution or commit.
    pub fn reader(&self) -> Result<LedgerReader, ChainError> {
        Ok(self.reads.reader()?)
    }

    /// Pending transactions and their bytes.
    pub fn mempool_size(&self) -> (usize, usize) {
        self.mempool
            .lock()
            .map(|pool| (pool.len(), pool.bytes()))
            .unwrap_or_default()
    }

    /// True if the transaction waits in the mempool.
    pub fn is_pending(&self, id: &Hash) -> bool {
        self.mempool.lock().is_ok_and(|pool| pool.contains(id))
    }

    /// Stateless checks (size, decoding, chain id, signature) plus a replay check against the
    /// signer's finalized nonce, then the mempool. Returns the parsed transaction for gossip.
    pub fn submit(&self, bytes: &[u8], now_ms: u64) -> Admitted {
        self.submit_many(&[bytes], now_ms)
            .pop()
            .unwrap_or_else(|| Err(SubmitError::Internal("empty batch".into())))
    }

    /// [`submit`](Chain::submit) for many transactions at once: signatures are checked in one
    /// batch verification, state is read from one snapshot, the mempool locked once.
    pub fn submit_many(&self, items: &[&[u8]], now_ms: u64) -> Vec<Admitted> {
        let mut results: Vec<Option<Admitted>> = (0..items.len()).map(|_| None).collect();
        // Where each decoded transaction came from (position, size), its id and itself.
        let mut places: Vec<(usize, usize)> = Vec::with_capacity(items.len());
        let mut ids: Vec<Hash> = Vec::with_capacity(items.len());
        let mut transactions: Vec<SignedTransaction> = Vec::with_capacity(items.len());
        for (index, bytes) in items.iter().enumerate() {
            match self.parse(bytes) {
                Ok(transaction) => {
                    places.push((index, bytes.len()));
                    // Decoding is canonical (fuzzed: `fuzz/fuzz_targets/transaction.rs`), so the
                    // id is the hash of the bytes received: no re-encoding.
                    ids.push(SignedTransaction::id_of_bytes(bytes));
                    transactions.push(transaction);
                }
                Err(refusal) => results[index] = Some(Err(refusal)),
            }
        }
        // Verified once per node: block execution reuses these verdicts.
        let signatures = self.verifier.verify(&transactions, &ids);
        let refuse_all = |error: &dyn std::fmt::Display| -> Vec<Admitted> {
            items
                .iter()
                .map(|_| Err(SubmitError::Internal(error.to_string())))
                .collect()
        };
        let reader = match self.reader() {
            Ok(reader) => reader,
            Err(error) => return refuse_all(&error),
        };
        let recent = |id: &Hash| self.recent_receipt(id).map(|(height, _)| height);
        let mut gate = match self.gate(&reader, &recent, now_ms) {
            Ok(gate) => gate,
            Err(error) => return refuse_all(&error),
        };
        let Ok(mut pool) = self.mempool.lock() else {
            return refuse_all(&"mempool poisoned");
        };
        let checked = places
            .into_iter()
            .zip(transactions)
            .zip(ids)
            .zip(signatures);
        for ((((index, size), transaction), id), signature_valid) in checked {
            results[index] = Some(if signature_valid {
                admit(&mut gate, &mut pool, (id, transaction), size)
            } else {
                Err(SubmitError::Refused(Rejection::BadSignature))
            });
        }
        results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| Err(SubmitError::Internal("unprocessed".into())))
            })
            .collect()
    }

    /// Admission's view of committed state, for checks as a block after the tip at `now_ms`.
    fn gate<'a>(
        &'a self,
        reader: &'a LedgerReader,
        recent: &'a dyn Fn(&Hash) -> Option<u64>,
        now_ms: u64,
    ) -> Result<Gate<'a>, ChainError> {
        let tip = reader
            .store()
            .tip()
            .map_err(LedgerError::from)?
            .ok_or_else(|| LedgerError::from(StorageError::Corrupt("store has no tip".into())))?;
        let context = BlockContext {
            height: tip.height + 1,
            time_ms: now_ms.max(tip.time_ms + 1),
            parent_time_ms: tip.time_ms,
        };
        let config = self.config_at(reader, &tip)?;
        Ok(Gate {
            reader,
            authenticator: Authenticator::new(reader.store(), config, context),
            recent,
            enrolments: &self.enrolments,
            now_ms,
        })
    }

    /// The chain configuration as of `tip`, decoded once per block rather than per submission
    /// (only governance changes it, and only in a block).
    fn config_at(&self, reader: &LedgerReader, tip: &Tip) -> Result<Arc<ChainConfig>, ChainError> {
        let mut cached = lock(&self.config)?;
        if let Some((hash, config)) = cached.as_ref()
            && *hash == tip.hash
        {
            return Ok(config.clone());
        }
        let config = Arc::new(reader.config()?);
        *cached = Some((tip.hash, config.clone()));
        Ok(config)
    }

    /// Size, decoding and chain id.
    fn parse(&self, bytes: &[u8]) -> Result<SignedTransaction, SubmitError> {
        if bytes.len() > TRANSACTION_BYTES_MAX {
            return Err(SubmitError::TooLarge(bytes.len()));
        }
        let transaction = SignedTransaction::from_bytes(bytes)
            .map_err(|error| SubmitError::Malformed(error.to_string()))?;
        if transaction.transaction.chain_id != self.chain_id {
            return Err(SubmitError::Refused(Rejection::WrongChain {
                expected: self.chain_id,
                found: transaction.transaction.chain_id,
            }));
        }
        Ok(transaction)
    }

    /// Prepared states of `uncommitted` (oldest first, each extending the previous and the first
    /// extending the tip), executing any this node has not executed yet.
    fn prepared_ancestry(
        &self,
        ledger: &Ledger,
        uncommitted: &[ChainBlock],
    ) -> Result<Vec<Arc<PreparedBlock>>, ChainError> {
        let mut prepared: Vec<Arc<PreparedBlock>> = Vec::with_capacity(uncommitted.len());
        for block in uncommitted {
            let hash = block.hash();
            let cached = lock(&self.speculative)?.get(&hash).cloned();
            let next = match cached {
                Some(next) => next,
                None => {
                    let inner = block
                        .block()
                        .ok_or_else(|| ChainError::Ancestry("genesis above the tip".into()))?;
                    let ancestors: Vec<&PreparedBlock> = prepared.iter().map(Arc::as_ref).collect();
                    let next = Arc::new(ledger.verify_on(&ancestors, inner.clone())?);
                    lock(&self.speculative)?.insert(hash, next.clone());
                    next
                }
            };
            prepared.push(next);
        }
        Ok(prepared)
    }

    /// Keeps the ancestry blocks above `tip`, oldest first, after checking that the chain meets
    /// the tip. `ancestry` is newest first (parent, grandparent, …) down to the tip or below.
    fn uncommitted(
        tip: &Tip,
        ancestry_newest_first: &[ChainBlock],
    ) -> Result<Vec<ChainBlock>, ChainError> {
        let mut uncommitted: Vec<ChainBlock> = Vec::new();
        let mut reached_tip = false;
        for block in ancestry_newest_first {
            let height = block.block().map_or(0, |inner| inner.header.height);
            if height <= tip.height {
                if height == tip.height && block.hash() != tip.hash {
                    return Err(ChainError::Ancestry(format!(
                        "block at committed height {height} differs from ours"
                    )));
                }
                reached_tip = height == tip.height;
                break;
            }
            uncommitted.push(block.clone());
        }
        if !reached_tip {
            return Err(ChainError::Ancestry(
                "ancestry does not reach the committed tip".into(),
            ));
        }
        uncommitted.reverse();
        Ok(uncommitted)
    }

    /// Builds a block on the parent at the head of `ancestry` (newest first, reaching down to the
    /// committed tip) with pending transactions, at `time_ms` (raised to just after the parent's
    /// time if needed).
    pub fn propose(&self, ancestry: &[ChainBlock], time_ms: u64) -> Result<ChainBlock, ChainError> {
        let ledger = lock(&self.ledger)?;
        let uncommitted = Self::uncommitted(&ledger.tip(), ancestry)?;
        let ancestors = self.prepared_ancestry(&ledger, &uncommitted)?;
        let parent_time = ancestors
            .last()
            .map_or(ledger.tip().time_ms, |parent| parent.block.header.time_ms);
        let included: BTreeSet<Hash> = ancestors
            .iter()
            .flat_map(|ancestor| {
                ancestor
                    .receipts()
                    .iter()
                    .map(|receipt| receipt.transaction_id)
            })
            .collect();
        let transactions: Vec<SignedTransaction> = lock(&self.mempool)?
            .select(
                self.limits.transactions_max,
                self.limits.bytes_max,
                &included,
            )
            .into_iter()
            .map(|transaction| transaction.as_ref().clone())
            .collect();
        let references: Vec<&PreparedBlock> = ancestors.iter().map(Arc::as_ref).collect();
        let prepared =
            ledger.prepare_on(&references, time_ms.max(parent_time + 1), transactions)?;
        // What fails authentication now never will on this ancestry, except a transaction
        // waiting for an earlier nonce: drop the rest.
        lock(&self.mempool)?.remove(
            prepared
                .unauthenticated()
                .iter()
                .filter(|refused| !matches!(refused.rejection, Rejection::NonceGap { .. }))
                .map(|refused| refused.id),
        );
        let block = ChainBlock::new(prepared.block.clone());
        lock(&self.speculative)?.insert(prepared.hash(), Arc::new(prepared));
        Ok(block)
    }

    /// Re-executes a proposed block on its ancestry (newest first, reaching down to the
    /// committed tip) and checks its header.
    pub fn verify(&self, ancestry: &[ChainBlock], block: &ChainBlock) -> Result<bool, ChainError> {
        let Some(inner) = block.block() else {
            return Ok(false);
        };
        if lock(&self.speculative)?.contains_key(&block.hash()) {
            return Ok(true);
        }
        let ledger = lock(&self.ledger)?;
        if inner.header.height <= ledger.tip().height {
            // Already final: valid exactly if it is the block we committed there.
            let committed = ledger.reader()?.store().header(inner.header.height);
            return Ok(committed
                .ok()
                .flatten()
                .is_some_and(|header| header == inner.header));
        }
        let uncommitted = Self::uncommitted(&ledger.tip(), ancestry)?;
        let ancestors = self.prepared_ancestry(&ledger, &uncommitted)?;
        let references: Vec<&PreparedBlock> = ancestors.iter().map(Arc::as_ref).collect();
        match ledger.verify_on(&references, inner.clone()) {
            Ok(prepared) => {
                lock(&self.speculative)?.insert(prepared.hash(), Arc::new(prepared));
                Ok(true)
            }
            Err(error) if error.is_invalid_block() => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Commits a finalized block (delivered in height order); `on_durable` runs once it is
    /// durable (consensus is acknowledged then, never before). Returns `None` for a block at or
    /// below the tip (redelivery, `on_durable` runs at once) or the genesis marker.
    pub fn apply_finalized(
        &self,
        block: &ChainBlock,
        certificate: Option<&[u8]>,
        on_durable: OnDurable,
    ) -> Result<Option<BlockOutcome>, ChainError> {
        let Some(inner) = block.block() else {
            on_durable();
            return Ok(None);
        };
        let mut ledger = lock(&self.ledger)?;
        let tip = ledger.tip();
        if inner.header.height <= tip.height {
            drop(ledger);
            on_durable();
            return Ok(None);
        }
        let hash = block.hash();
        let cached = lock(&self.speculative)?.remove(&hash);
        let prepared = match cached {
            Some(prepared) if prepared.block.header.parent == tip.hash => {
                Arc::try_unwrap(prepared).unwrap_or_else(|shared| (*shared).clone())
            }
            _ => ledger.verify_on(&[], inner.clone())?,
        };
        let on_durable = self.announce_when(prepared.events(), on_durable);
        let outcome = ledger.commit_with(prepared, certificate, Some(on_durable))?;
        drop(ledger);
        self.remember(&outcome)?;
        let height = outcome.header.height;
        lock(&self.speculative)?.retain(|_, prepared| prepared.block.header.height > height);
        lock(&self.mempool)?.remove(
            outcome
                .receipts
                .iter()
                .map(|receipt| receipt.transaction_id),
        );
        Ok(Some(outcome))
    }

    /// Applies a block fetched from a peer (a follower's path), with its certificate.
    pub fn apply_fetched(
        &self,
        block: Block,
        certificate: Option<&[u8]>,
    ) -> Result<BlockOutcome, ChainError> {
        let mut ledger = lock(&self.ledger)?;
        let prepared = ledger.verify_on(&[], block)?;
        let announce = self.announce_when(prepared.events(), Box::new(|| ()));
        let outcome = ledger.commit_with(prepared, certificate, Some(announce))?;
        drop(ledger);
        self.remember(&outcome)?;
        lock(&self.mempool)?.remove(
            outcome
                .receipts
                .iter()
                .map(|receipt| receipt.transaction_id),
        );
        Ok(outcome)
    }

    fn remember(&self, outcome: &BlockOutcome) -> Result<(), ChainError> {
        let mut recent = lock(&self.recent)?;
        if recent.len() >= RECENT_BLOCKS_MAX {
            recent.pop_front();
        }
        recent.push_back((outcome.header.height, outcome.receipts.clone()));
        Ok(())
    }

    /// The receipt of a transaction in one of the last committed blocks, with its height.
    pub fn recent_receipt(&self, id: &Hash) -> Option<(u64, Receipt)> {
        let recent = self.recent.lock().ok()?;
        recent.iter().rev().find_map(|(height, receipts)| {
            receipts
                .iter()
                .find(|receipt| receipt.transaction_id == *id)
                .map(|receipt| (*height, receipt.clone()))
        })
    }

    /// Stores a certificate that arrived after its block.
    pub fn store_certificate(&self, height: u64, certificate: &[u8]) -> Result<(), ChainError> {
        Ok(lock(&self.ledger)?.store_certificate(height, certificate)?)
    }

    /// Drops expired mempool entries.
    pub fn expire(&self, now_ms: u64) -> usize {
        self.mempool
            .lock()
            .map(|mut pool| pool.expire(now_ms))
            .unwrap_or_default()
    }

    /// Makes group-committed blocks durable (shutdown).
    pub fn sync(&self) -> Result<(), ChainError> {
        Ok(lock(&self.ledger)?.sync()?)
    }
}
