//! The ledger: genesis, block building, verification and commit. Queries are in
//! [`crate::reader`].
//!
//! Commit is synchronous by default. [`Ledger::set_pipelined`] moves the store writes to a
//! background thread ([`crate::writer`]): blocks committed in memory but not yet written stay
//! visible to execution as layers over the store, so the next block executes while the previous
//! one is written; [`Ledger::reader`] waits for the writer, so reads always see every commit.

use crate::execute::{
    BlockContext, CheckedTransactions, Event, Execution, Unauthenticated, execute_block,
};
use crate::reader::LedgerReader;
use crate::signatures::SignatureVerifier;
use crate::state::{
    ChainConfig, CountBasis, CountKey, StateKey, StateRead, StateValue, StatusCounts,
};
use crate::store::{BlockWrite, STORAGE_FORMAT_VERSION, Store, StoreReader, Tip};
use crate::writer::{Job, OnDurable, Writer};
use crate::{LedgerError, StorageError};
use epichain_core::block::{
    BLOCK_TRANSACTIONS_MAX, HEADER_FORMAT_VERSION, receipts_root, transactions_root_of_ids,
};
use epichain_core::encoding::{self, Hash};
use epichain_core::{Block, BlockHeader, Genesis, Receipt, SignedTransaction};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::sync::Arc;

/// Most blocks committed in memory and not yet written, before a commit waits for the writer.
pub const PIPELINE_BLOCKS_MAX: usize = 4;

/// What applying a block produced.
#[derive(Clone, Debug)]
pub struct BlockOutcome {
    /// The block's header.
    pub header: BlockHeader,
    /// One receipt per transaction.
    pub receipts: Vec<Receipt>,
    /// Events of the applied transactions.
    pub events: Vec<Event>,
    /// Transactions the proposer left out because they fail authentication (empty for a block
    /// received from elsewhere: such a block is invalid).
    pub unauthenticated: Vec<Unauthenticated>,
}

/// A block executed but not yet committed.
#[derive(Clone)]
pub struct PreparedBlock {
    /// The block with a complete header.
    pub block: Block,
    hash: Hash,
    /// Canonical bytes of each transaction (what is stored and hashed into its id).
    encoded: Vec<Vec<u8>>,
    execution: Execution,
    tree: jmt::storage::TreeUpdateBatch,
}

impl PreparedBlock {
    /// Hash of the block's header.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// Receipts the block would commit.
    pub fn receipts(&self) -> &[Receipt] {
        &self.execution.receipts
    }

    /// Transactions left out because they fail authentication (a proposer's block only).
    pub fn unauthenticated(&self) -> &[Unauthenticated] {
        &self.execution.unauthenticated
    }

    /// Events the block would emit.
    pub fn events(&self) -> &[Event] {
        &self.execution.events
    }

    pub(crate) fn write<'a>(&'a self, certificate: Option<&'a [u8]>) -> BlockWrite<'a> {
        BlockWrite {
            block: &self.block,
            transaction_bytes: &self.encoded,
            execution: &self.execution,
            tree: &self.tree,
            certificate,
        }
    }
}

/// The ledger over its store.
pub struct Ledger {
    store: Arc<Store>,
    genesis: Genesis,
    chain_id: Hash,
    /// The last committed block (written, or in flight to the writer).
    tip: Tip,
    /// Blocks committed but not yet written, oldest first.
    in_flight: VecDeque<Arc<PreparedBlock>>,
    /// The background writer, when pipelined.
    writer: Option<Writer>,
    verifier: Arc<SignatureVerifier>,
    /// Make every n-th block durable (1: every block).
    sync_interval_blocks: u64,
    /// Height of the last block committed durably (or queued to be).
    synced_height: u64,
    /// Callbacks of blocks committed without durability (synchronous mode), run at the next
    /// durable commit.
    waiting: Vec<OnDurable>,
}

impl Ledger {
    /// Opens the ledger at `path`, writing genesis on first use. Refuses a store that belongs to
    /// another chain, or whose state tree does not hash to the root its tip committed.
    pub fn open(path: &Path, genesis: &Genesis) -> Result<Self, LedgerError> {
        genesis
            .validate()
            .map_err(|error| LedgerError::Genesis(error.to_string()))?;
        for (index, rule) in genesis.warning_rules.iter().enumerate() {
            crate::execute::check_rule(index, rule).map_err(|problem| {
                LedgerError::Genesis(format!("warning rule {index}: {problem}"))
            })?;
        }
        let store = Store::open(path)?;
        let chain_id = genesis.chain_id();
        let genesis_bytes = encoding::encode(genesis);
        let reader = store.reader()?;
        let tip = match (reader.tip()?, reader.genesis_bytes()?) {
            (Some(tip), Some(stored)) => {
                if stored != genesis_bytes {
                    return Err(LedgerError::Genesis(
                        "the store at this path belongs to a different genesis".to_string(),
                    ));
                }
                if tip.format_version != STORAGE_FORMAT_VERSION {
                    return Err(LedgerError::Storage(StorageError::Corrupt(format!(
                        "storage format {} is not the supported {STORAGE_FORMAT_VERSION}",
                        tip.format_version
                    ))));
                }
                check_state_root(&reader, &tip)?;
                tip
            }
            _ => {
                drop(reader);
                Self::write_genesis(&store, genesis, &genesis_bytes)?
            }
        };
        Ok(Ledger {
            store: Arc::new(store),
            genesis: genesis.clone(),
            chain_id,
            synced_height: tip.height,
            tip,
            in_flight: VecDeque::new(),
            writer: None,
            verifier: Arc::new(SignatureVerifier::default()),
            sync_interval_blocks: 1,
            waiting: Vec::new(),
        })
    }

    /// Group commit: make only every `blocks`-th block durable (fsync). Blocks in between are
    /// committed atomically but may be lost by a crash, which leaves the store consistent at the
    /// last durable block; use it only where lost blocks are fetched again (a node behind
    /// consensus replays finalized blocks from its peers or its block archive). Call [`sync`]
    /// before shutting down. With redb this is slower than durable commits (its non-durable
    /// commits cannot reuse pages until the next durable one); a pipelined ledger already groups
    /// queued blocks into one durable transaction.
    ///
    /// [`sync`]: Ledger::sync
    pub fn set_sync_interval(&mut self, blocks: u64) {
        self.sync_interval_blocks = blocks.max(1);
    }

    /// Writes blocks on a background thread (`true`) or in [`commit`](Ledger::commit) itself.
    pub fn set_pipelined(&mut self, pipelined: bool) -> Result<(), LedgerError> {
        self.flush()?;
        self.writer = if pipelined {
            let writer = Writer::start(self.store.clone(), self.tip.height).map_err(|error| {
                StorageError::Database(format!("cannot start the ledger writer: {error}"))
            })?;
            Some(writer)
        } else {
            None
        };
        Ok(())
    }

    /// Verifies signatures with `threads` threads per large block.
    pub fn set_verification_threads(&mut self, threads: usize) {
        self.verifier = Arc::new(SignatureVerifier::new(threads));
    }

    /// The signature verifier, shared with admission so a signature is verified once per node.
    pub fn verifier(&self) -> Arc<SignatureVerifier> {
        self.verifier.clone()
    }

    /// Makes everything committed so far durable.
    pub fn sync(&mut self) -> Result<(), LedgerError> {
        if self.synced_height < self.tip.height || !self.waiting.is_empty() {
            match &self.writer {
                Some(writer) => writer.sync(self.tip.height)?,
                None => self.store.sync()?,
            }
            self.synced_height = self.tip.height;
            for callback in self.waiting.drain(..) {
                callback();
            }
        }
        self.drain()?;
        Ok(())
    }

    /// Waits until the writer has written every committed block.
    pub fn flush(&mut self) -> Result<(), LedgerError> {
        if let Some(writer) = &self.writer {
            writer.wait(self.tip.height, false)?;
        }
        self.drain()
    }

    /// Drops the in-flight blocks the writer has written (the store now shows them).
    fn drain(&mut self) -> Result<(), LedgerError> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        writer.failure()?;
        let written = writer.written();
        while self
            .in_flight
            .front()
            .is_some_and(|front| front.block.header.height <= written)
        {
            self.in_flight.pop_front();
        }
        Ok(())
    }

    fn write_genesis(
        store: &Store,
        genesis: &Genesis,
        genesis_bytes: &[u8],
    ) -> Result<Tip, LedgerError> {
        let config = ChainConfig::from_genesis(genesis);
        let mut writes = vec![(StateKey::Config, StateValue::Config(Box::new(config)))];
        writes.extend(
            history_counts(&genesis.history)
                .into_iter()
                .map(|(key, counts)| (StateKey::Count(key), StateValue::Count(counts))),
        );
        let reader = store.reader()?;
        let (root, tree) = reader
            .tree()
            .put_value_set(
                writes
                    .iter()
                    .map(|(key, value)| (jmt::KeyHash(key.tree_key()), Some(value.to_bytes()))),
                0,
            )
            .map_err(|error| StorageError::Tree(error.to_string()))?;
        drop(reader);
        let tip = Tip {
            format_version: STORAGE_FORMAT_VERSION,
            height: 0,
            hash: genesis.chain_id(),
            state_root: Hash(root.0),
            time_ms: genesis.time_ms,
        };
        store.write_genesis(genesis_bytes, &writes, &tree, tip)?;
        Ok(tip)
    }

    /// Chain id.
    pub fn chain_id(&self) -> Hash {
        self.chain_id
    }

    /// The genesis this ledger was opened with.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// Latest committed block.
    pub fn tip(&self) -> Tip {
        self.tip
    }

    /// Executes transactions as the next block at `time_ms`, without committing.
    pub fn prepare(
        &self,
        time_ms: u64,
        transactions: Vec<SignedTransaction>,
    ) -> Result<PreparedBlock, LedgerError> {
        self.prepare_on(&[], time_ms, transactions)
    }

    /// Executes transactions as the block after `ancestors`: prepared, not yet committed blocks
    /// that extend the tip in order (empty: the block after the tip). This is how a proposer
    /// builds, and a validator checks, a block whose parent is not final yet.
    pub fn prepare_on(
        &self,
        ancestors: &[&PreparedBlock],
        time_ms: u64,
        transactions: Vec<SignedTransaction>,
    ) -> Result<PreparedBlock, LedgerError> {
        let (parent_hash, parent_height, parent_time_ms) = self.check_ancestry(ancestors)?;
        let height = parent_height + 1;
        if time_ms <= parent_time_ms {
            return Err(LedgerError::InvalidBlock(format!(
                "block time {time_ms} is not after the previous block time {parent_time_ms}"
            )));
        }
        if transactions.len() > BLOCK_TRANSACTIONS_MAX {
            return Err(LedgerError::InvalidBlock(format!(
                "{} transactions exceed the block limit of {BLOCK_TRANSACTIONS_MAX}",
                transactions.len()
            )));
        }
        let encoded: Vec<Vec<u8>> = transactions
            .iter()
            .map(SignedTransaction::to_bytes)
            .collect();
        let ids: Vec<Hash> = encoded
            .iter()
            .map(|bytes| SignedTransaction::id_of_bytes(bytes))
            .collect();
        let signatures_valid = self.verifier.verify(&transactions, &ids);
        let reader = self.store.reader()?;
        let layers: Vec<&PreparedBlock> = self
            .in_flight
            .iter()
            .map(Arc::as_ref)
            .chain(ancestors.iter().copied())
            .collect();
        let view = Speculative {
            base: &reader,
            layers: &layers,
        };
        let context = BlockContext {
            height,
            time_ms,
            parent_time_ms,
        };
        let checked = CheckedTransactions {
            transactions: &transactions,
            ids: &ids,
            signatures_valid: &signatures_valid,
        };
        let execution = execute_block(&view, context, checked)?;
        let (transactions, encoded) = keep_authenticated(transactions, encoded, &execution);
        let (state_root, tree) = state_root_after(&view, &execution, height)?;
        let header = BlockHeader {
            format_version: HEADER_FORMAT_VERSION,
            chain_id: self.chain_id,
            height,
            time_ms,
            parent: parent_hash,
            transactions_root: transactions_root_of_ids(&execution.transaction_ids),
            receipts_root: receipts_root(&execution.receipts),
            state_root,
            transaction_count: transactions.len() as u32,
        };
        Ok(PreparedBlock {
            hash: header.hash(),
            block: Block {
                header,
                transactions,
            },
            encoded,
            execution,
            tree,
        })
    }

    /// (hash, height, time) of the block the next one would extend, checking that the ancestors
    /// form a chain from the tip.
    fn check_ancestry(
        &self,
        ancestors: &[&PreparedBlock],
    ) -> Result<(Hash, u64, u64), LedgerError> {
        let mut parent = (self.tip.hash, self.tip.height, self.tip.time_ms);
        for ancestor in ancestors {
            let header = &ancestor.block.header;
            if header.parent != parent.0 || header.height != parent.1 + 1 {
                return Err(LedgerError::InvalidBlock(
                    "uncommitted ancestors do not extend the tip".to_string(),
                ));
            }
            parent = (ancestor.hash, header.height, header.time_ms);
        }
        Ok(parent)
    }

    /// Commits a prepared block. It must have been prepared on the current tip.
    pub fn commit(&mut self, prepared: PreparedBlock) -> Result<BlockOutcome, LedgerError> {
        self.commit_with(prepared, None, None)
    }

    /// Commits a prepared block with the consensus engine's finality certificate for it (opaque
    /// bytes, stored beside the block for proofs and followers).
    pub fn commit_with_certificate(
        &mut self,
        prepared: PreparedBlock,
        certificate: Option<&[u8]>,
    ) -> Result<BlockOutcome, LedgerError> {
        self.commit_with(prepared, certificate, None)
    }

    /// Commits a prepared block; `on_durable` runs once the block is durable (at once when it
    /// is written durably in this call; later with a group commit or a pipelined writer).
    pub fn commit_with(
        &mut self,
        prepared: PreparedBlock,
        certificate: Option<&[u8]>,
        on_durable: Option<OnDurable>,
    ) -> Result<BlockOutcome, LedgerError> {
        self.drain()?;
        let header = &prepared.block.header;
        if header.parent != self.tip.hash || header.height != self.tip.height + 1 {
            return Err(LedgerError::InvalidBlock(
                "prepared on a different tip".to_string(),
            ));
        }
        let tip = Tip {
            format_version: STORAGE_FORMAT_VERSION,
            height: header.height,
            hash: prepared.hash,
            state_root: header.state_root,
            time_ms: header.time_ms,
        };
        let durable = tip.height - self.synced_height >= self.sync_interval_blocks;
        let outcome = BlockOutcome {
            header: prepared.block.header.clone(),
            receipts: prepared.execution.receipts.clone(),
            events: prepared.execution.events.clone(),
            unauthenticated: prepared.execution.unauthenticated.clone(),
        };
        self.verifier.forget(&prepared.execution.transaction_ids);
        match &self.writer {
            Some(_) => self.commit_pipelined(prepared, certificate, tip, durable, on_durable)?,
            None => {
                self.store
                    .write_block(&prepared.write(certificate), tip, durable)?;
                self.waiting.extend(on_durable);
                if durable {
                    for callback in self.waiting.drain(..) {
                        callback();
                    }
                }
            }
        }
        self.tip = tip;
        if durable {
            self.synced_height = tip.height;
        }
        Ok(outcome)
    }

    fn commit_pipelined(
        &mut self,
        prepared: PreparedBlock,
        certificate: Option<&[u8]>,
        tip: Tip,
        durable: bool,
        on_durable: Option<OnDurable>,
    ) -> Result<(), LedgerError> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        if self.in_flight.len() >= PIPELINE_BLOCKS_MAX
            && let Some(oldest) = self.in_flight.front()
        {
            writer.wait(oldest.block.header.height, false)?;
        }
        let prepared = Arc::new(prepared);
        writer.submit(Job {
            prepared: prepared.clone(),
            certificate: certificate.map(<[u8]>::to_vec),
            tip,
            durable,
            on_durable,
        })?;
        self.in_flight.push_back(prepared);
        self.drain()
    }

    /// Stores a finality certificate that arrived after its block was committed.
    pub fn store_certificate(
        &mut self,
        height: u64,
        certificate: &[u8],
    ) -> Result<(), LedgerError> {
        self.flush()?;
        Ok(self.store.write_certificate(height, certificate)?)
    }

    /// Builds the next block from transactions at `time_ms` and commits it (a single-node chain:
    /// the demo, tests and benchmarks).
    pub fn append(
        &mut self,
        time_ms: u64,
        transactions: Vec<SignedTransaction>,
    ) -> Result<BlockOutcome, LedgerError> {
        let prepared = self.prepare(time_ms, transactions)?;
        self.commit(prepared)
    }

    /// Checks a block received from elsewhere against its uncommitted ancestors (empty: the tip),
    /// re-executes it and compares every root in its header. Writes nothing.
    pub fn verify_on(
        &self,
        ancestors: &[&PreparedBlock],
        block: Block,
    ) -> Result<PreparedBlock, LedgerError> {
        let header = block.header.clone();
        let invalid = |message: &str| Err(LedgerError::InvalidBlock(message.to_string()));
        if header.format_version != HEADER_FORMAT_VERSION {
            return invalid("header format unsupported");
        }
        if header.chain_id != self.chain_id {
            return invalid("block is for another chain");
        }
        let (parent_hash, parent_height, _) = self.check_ancestry(ancestors)?;
        if header.height != parent_height + 1 {
            return invalid("block height does not follow its parent");
        }
        if header.parent != parent_hash {
            return invalid("block does not extend its parent");
        }
        if header.transaction_count as usize != block.transactions.len() {
            return invalid("transaction count does not match");
        }
        let prepared = self.prepare_on(ancestors, header.time_ms, block.transactions)?;
        if let Some(refused) = prepared.execution.unauthenticated.first() {
            return Err(LedgerError::Unauthenticated(Box::new(refused.clone())));
        }
        let computed = &prepared.block.header;
        if computed.transactions_root != header.transactions_root {
            return invalid("transactions root does not match");
        }
        if computed.receipts_root != header.receipts_root {
            return invalid("receipts root does not match re-execution");
        }
        if computed.state_root != header.state_root {
            return invalid("state root does not match re-execution");
        }
        debug_assert_eq!(*computed, header, "every header field checked");
        Ok(prepared)
    }

    /// Validates a block received from elsewhere against the current tip, re-executes it, checks
    /// every root in its header, and commits it. Nothing is written if any check fails.
    pub fn apply_block(&mut self, block: Block) -> Result<BlockOutcome, LedgerError> {
        let prepared = self.verify_on(&[], block)?;
        self.commit(prepared)
    }

    /// Like [`apply_block`](Ledger::apply_block), storing the block's finality certificate.
    pub fn apply_certified_block(
        &mut self,
        block: Block,
        certificate: Option<&[u8]>,
    ) -> Result<BlockOutcome, LedgerError> {
        let prepared = self.verify_on(&[], block)?;
        self.commit_with_certificate(prepared, certificate)
    }

    /// A read snapshot for queries. Waits for the writer, so it sees every committed block
    /// (durable or not).
    pub fn reader(&self) -> Result<LedgerReader, LedgerError> {
        if let Some(writer) = &self.writer {
            writer.wait(self.tip.height, false)?;
        }
        Ok(LedgerReader {
            reader: self.store.reader()?,
        })
    }

    /// A handle that opens read snapshots without this ledger (see [`ReadHandle`]).
    pub fn read_handle(&self) -> ReadHandle {
        ReadHandle {
            store: self.store.clone(),
        }
    }

    /// Removes tree nodes made stale at or before `height` (state proofs at earlier heights are
    /// no longer served). Returns how many.
    pub fn prune_tree(&mut self, height: u64) -> Result<u64, LedgerError> {
        self.flush()?;
        Ok(self.store.prune_tree(height.min(self.tip.height))?)
    }
}

/// Opens read snapshots of the written store without holding the ledger, so reads never wait
/// for block execution. A snapshot shows the blocks written so far: with a pipelined ledger,
/// a block still in flight to the writer appears a few milliseconds after its commit.
#[derive(Clone)]
pub struct ReadHandle {
    store: Arc<Store>,
}

impl ReadHandle {
    /// A consistent snapshot of what is written.
    pub fn reader(&self) -> Result<LedgerReader, LedgerError> {
        Ok(LedgerReader {
            reader: self.store.reader()?,
        })
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        // Best effort: a group-committed or pipelined tail is made durable on a clean shutdown.
        let _ = self.sync();
    }
}

/// The Merkle tree after a block's writes: its root and the nodes to store.
/// The transactions (and their bytes) that passed authentication: a proposer's block carries
/// only those, and the execution already numbered them so.
fn keep_authenticated(
    transactions: Vec<SignedTransaction>,
    encoded: Vec<Vec<u8>>,
    execution: &Execution,
) -> (Vec<SignedTransaction>, Vec<Vec<u8>>) {
    if execution.unauthenticated.is_empty() {
        return (transactions, encoded);
    }
    let left_out: BTreeSet<usize> = execution
        .unauthenticated
        .iter()
        .map(|refused| refused.position)
        .collect();
    let kept: (Vec<SignedTransaction>, Vec<Vec<u8>>) = transactions
        .into_iter()
        .zip(encoded)
        .enumerate()
        .filter(|(position, _)| !left_out.contains(position))
        .map(|(_, pair)| pair)
        .unzip();
    assert_eq!(
        kept.0.len(),
        execution.receipts.len(),
        "one receipt per kept transaction"
    );
    kept
}

fn state_root_after(
    view: &Speculative<'_>,
    execution: &Execution,
    height: u64,
) -> Result<(Hash, jmt::storage::TreeUpdateBatch), LedgerError> {
    let (root, tree) = jmt::Sha256Jmt::new(view)
        .put_value_set(
            execution
                .writes
                .iter()
                .map(|(key, value)| (jmt::KeyHash(key.tree_key()), Some(value.to_bytes()))),
            height,
        )
        .map_err(|error| StorageError::Tree(error.to_string()))?;
    Ok((Hash(root.0), tree))
}

/// The state root recomputed from the stored tree must be the tip's: a store whose tree
/// and tip disagree is corrupt, and serving it would be serving state nobody committed.
fn check_state_root(reader: &StoreReader, tip: &Tip) -> Result<(), LedgerError> {
    let root = reader
        .tree()
        .get_root_hash(tip.height)
        .map_err(|error| StorageError::Tree(error.to_string()))?;
    if Hash(root.0) != tip.state_root {
        return Err(StorageError::Corrupt(format!(
            "the stored state tree hashes to {}, but block {} committed {}",
            Hash(root.0),
            tip.height,
            tip.state_root
        ))
        .into());
    }
    Ok(())
}

/// Daily report-basis counts of imported history, summed up the four levels.
fn history_counts(
    history: &[epichain_core::warning::HistoricalSeries],
) -> BTreeMap<CountKey, StatusCounts> {
    let mut counts: BTreeMap<CountKey, StatusCounts> = BTreeMap::new();
    for series in history {
        for (offset, count) in series.counts.iter().enumerate() {
            if *count == 0 {
                continue;
            }
            let day = epichain_core::Day(series.first_day.0 + offset as u32);
            for region in series.region.lineage() {
                counts
                    .entry(CountKey {
                        disease: series.disease.clone(),
                        region,
                        basis: CountBasis::Report,
                        day,
                    })
                    .or_default()
                    .adjust(epichain_core::CaseStatus::LabConfirmed, i64::from(*count));
            }
        }
    }
    counts
}

/// The committed state seen through uncommitted ancestors' writes (later ancestors win).
struct Speculative<'a> {
    base: &'a StoreReader,
    layers: &'a [&'a PreparedBlock],
}

impl StateRead for Speculative<'_> {
    fn read(&self, key: &StateKey) -> Result<Option<StateValue>, StorageError> {
        for layer in self.layers.iter().rev() {
            if let Some(value) = layer.execution.writes.get(key) {
                return Ok(Some(value.clone()));
            }
        }
        self.base.read(key)
    }
}

impl jmt::storage::TreeReader for Speculative<'_> {
    fn get_node_option(
        &self,
        node_key: &jmt::storage::NodeKey,
    ) -> anyhow::Result<Option<jmt::storage::Node>> {
        for layer in self.layers.iter().rev() {
            if let Some(node) = layer.tree.node_batch.nodes().get(node_key) {
                return Ok(Some(node.clone()));
            }
        }
        self.base.get_node_option(node_key)
    }

    fn get_value_option(
        &self,
        max_version: jmt::Version,
        key_hash: jmt::KeyHash,
    ) -> anyhow::Result<Option<jmt::OwnedValue>> {
        for layer in self.layers.iter().rev() {
            let version = layer.block.header.height;
            if let Some(value) = layer.tree.node_batch.values().get(&(version, key_hash)) {
                return Ok(value.clone());
            }
        }
        self.base.get_value_option(max_version, key_hash)
    }

    fn get_rightmost_leaf(
        &self,
    ) -> anyhow::Result<Option<(jmt::storage::NodeKey, jmt::storage::LeafNode)>> {
        self.base.get_rightmost_leaf()
    }
}
