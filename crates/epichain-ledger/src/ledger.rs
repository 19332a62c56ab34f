//! The ledger: genesis, block building and application, and queries over committed state.

use crate::execute::{BlockContext, Event, Execution, execute_block};
use crate::state::StateRead;
use crate::state::{
    CaseRecord, CaseVersion, CaseView, ChainConfig, CountBasis, CountKey, DetailsRef, Entry,
    IdentityRecord, StateKey, StateValue, StatusCounts, TransactionLocation, VersionChange,
    VersionView, details_hash, verify_version_chain,
};
use crate::store::{BlockWrite, STORAGE_FORMAT_VERSION, Store, StoreReader, Tip};
use crate::{LedgerError, StorageError};
use epichain_core::block::{
    BLOCK_TRANSACTIONS_MAX, HEADER_FORMAT_VERSION, receipts_root, transactions_root,
    transactions_root_of_ids,
};
use epichain_core::encoding::{self, Hash};
use epichain_core::{Block, BlockHeader, Genesis, Payload, PublicKey, Receipt, SignedTransaction};
use std::collections::BTreeMap;
use std::path::Path;

/// What applying a block produced.
#[derive(Clone, Debug)]
pub struct BlockOutcome {
    /// The block's header.
    pub header: BlockHeader,
    /// One receipt per transaction.
    pub receipts: Vec<Receipt>,
    /// Events of the applied transactions.
    pub events: Vec<Event>,
}

/// A block executed but not yet committed.
#[derive(Clone)]
pub struct PreparedBlock {
    /// The block with a complete header.
    pub block: Block,
    hash: Hash,
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

    /// Events the block would emit.
    pub fn events(&self) -> &[Event] {
        &self.execution.events
    }
}

/// The ledger over its store.
pub struct Ledger {
    store: Store,
    genesis: Genesis,
    chain_id: Hash,
    tip: Tip,
    /// Make every n-th block durable (1: every block).
    sync_interval_blocks: u64,
    /// Height of the last durable commit.
    synced_height: u64,
}

impl Ledger {
    /// Opens the ledger at `path`, writing genesis on first use. Refuses a store that belongs to
    /// another chain.
    pub fn open(path: &Path, genesis: &Genesis) -> Result<Self, LedgerError> {
        genesis
            .validate()
            .map_err(|error| LedgerError::Genesis(error.to_string()))?;
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
                tip
            }
            _ => {
                drop(reader);
                Self::write_genesis(&store, genesis, &genesis_bytes)?
            }
        };
        Ok(Ledger {
            store,
            genesis: genesis.clone(),
            chain_id,
            synced_height: tip.height,
            tip,
            sync_interval_blocks: 1,
        })
    }

    /// Group commit: make only every `blocks`-th block durable (fsync). Blocks in between are
    /// committed atomically but may be lost by a crash, which leaves the store consistent at the
    /// last durable block; use it only where lost blocks are fetched again (a node behind
    /// consensus replays finalized blocks from its peers or its block archive). Call [`sync`]
    /// before shutting down.
    ///
    /// [`sync`]: Ledger::sync
    pub fn set_sync_interval(&mut self, blocks: u64) {
        self.sync_interval_blocks = blocks.max(1);
    }

    /// Makes everything committed so far durable.
    pub fn sync(&mut self) -> Result<(), LedgerError> {
        if self.synced_height < self.tip.height {
            self.store.sync()?;
            self.synced_height = self.tip.height;
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
        let reader = self.store.reader()?;
        let view = Speculative {
            base: &reader,
            layers: ancestors,
        };
        let context = BlockContext {
            height,
            time_ms,
            parent_time_ms,
        };
        let execution = execute_block(&view, context, &transactions)?;
        let (root, tree) = jmt::Sha256Jmt::new(&view)
            .put_value_set(
                execution
                    .writes
                    .iter()
                    .map(|(key, value)| (jmt::KeyHash(key.tree_key()), Some(value.to_bytes()))),
                height,
            )
            .map_err(|error| StorageError::Tree(error.to_string()))?;
        let header = BlockHeader {
            format_version: HEADER_FORMAT_VERSION,
            chain_id: self.chain_id,
            height,
            time_ms,
            parent: parent_hash,
            transactions_root: transactions_root_of_ids(&execution.transaction_ids),
            receipts_root: receipts_root(&execution.receipts),
            state_root: Hash(root.0),
            transaction_count: transactions.len() as u32,
        };
        Ok(PreparedBlock {
            hash: header.hash(),
            block: Block {
                header,
                transactions,
            },
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
        self.commit_with_certificate(prepared, None)
    }

    /// Commits a prepared block with the consensus engine's finality certificate for it (opaque
    /// bytes, stored beside the block for proofs and followers).
    pub fn commit_with_certificate(
        &mut self,
        prepared: PreparedBlock,
        certificate: Option<&[u8]>,
    ) -> Result<BlockOutcome, LedgerError> {
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
        self.store.write_block(
            &BlockWrite {
                block: &prepared.block,
                execution: &prepared.execution,
                tree: &prepared.tree,
                certificate,
            },
            tip,
            durable,
        )?;
        self.tip = tip;
        if durable {
            self.synced_height = tip.height;
        }
        Ok(BlockOutcome {
            header: prepared.block.header,
            receipts: prepared.execution.receipts,
            events: prepared.execution.events,
        })
    }

    /// Stores a finality certificate that arrived after its block was committed.
    pub fn store_certificate(&self, height: u64, certificate: &[u8]) -> Result<(), LedgerError> {
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
        let invalid = |message: String| Err(LedgerError::InvalidBlock(message));
        if header.format_version != HEADER_FORMAT_VERSION {
            return invalid(format!(
                "header format {} unsupported",
                header.format_version
            ));
        }
        if header.chain_id != self.chain_id {
            return invalid("block is for another chain".to_string());
        }
        let (parent_hash, parent_height, _) = self.check_ancestry(ancestors)?;
        if header.height != parent_height + 1 {
            return invalid(format!(
                "block height {} does not follow {parent_height}",
                header.height
            ));
        }
        if header.parent != parent_hash {
            return invalid("block does not extend its parent".to_string());
        }
        if header.transaction_count as usize != block.transactions.len() {
            return invalid("transaction count does not match".to_string());
        }
        if header.transactions_root != transactions_root(&block.transactions) {
            return invalid("transactions root does not match".to_string());
        }
        let prepared = self.prepare_on(ancestors, header.time_ms, block.transactions)?;
        let computed = &prepared.block.header;
        if computed.receipts_root != header.receipts_root {
            return invalid("receipts root does not match re-execution".to_string());
        }
        if computed.state_root != header.state_root {
            return invalid("state root does not match re-execution".to_string());
        }
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

    /// A read snapshot for queries (sees every committed block, durable or not).
    pub fn reader(&self) -> Result<LedgerReader, LedgerError> {
        Ok(LedgerReader {
            reader: self.store.reader()?,
        })
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        // Best effort: a group-committed tail is made durable on a clean shutdown.
        let _ = self.sync();
    }
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

/// Typed queries over one consistent snapshot.
pub struct LedgerReader {
    reader: StoreReader,
}

impl LedgerReader {
    /// The underlying store snapshot (blocks, receipts, indexes).
    pub fn store(&self) -> &StoreReader {
        &self.reader
    }

    /// The typed record under `key`, if any.
    pub fn get<E: Entry>(&self, key: &E::Key) -> Result<Option<E>, LedgerError> {
        Ok(self.reader.get::<E>(key)?)
    }

    /// Chain configuration.
    pub fn config(&self) -> Result<ChainConfig, LedgerError> {
        self.get::<ChainConfig>(&())?
            .ok_or_else(|| StorageError::Corrupt("no chain configuration".into()).into())
    }

    /// An identity.
    pub fn identity(&self, key: &PublicKey) -> Result<Option<IdentityRecord>, LedgerError> {
        self.get::<IdentityRecord>(key)
    }

    /// A case's head record.
    pub fn case(&self, id: &Hash) -> Result<Option<CaseRecord>, LedgerError> {
        self.get::<CaseRecord>(id)
    }

    /// A case's head record with its latest sealed details.
    pub fn case_view(&self, id: &Hash) -> Result<Option<CaseView>, LedgerError> {
        let Some(record) = self.case(id)? else {
            return Ok(None);
        };
        let sealed = match record.details {
            Some(details) => self.sealed_details(&details)?,
            None => Vec::new(),
        };
        Ok(Some(CaseView { record, sealed }))
    }

    /// The sealed bytes a reference points at, checked against its hash.
    pub fn sealed_details(&self, details: &DetailsRef) -> Result<Vec<u8>, LedgerError> {
        let change = self.change_at(details.location)?;
        let sealed = change.sealed();
        if details_hash(sealed) != details.hash {
            return Err(StorageError::Corrupt(format!(
                "sealed details at {:?} do not match their hash",
                details.location
            ))
            .into());
        }
        Ok(sealed.to_vec())
    }

    /// The case change made by the transaction at `location`.
    fn change_at(&self, location: TransactionLocation) -> Result<VersionChange, LedgerError> {
        let transaction = self.reader.transaction_at(location)?.ok_or_else(|| {
            StorageError::Corrupt(format!("no transaction stored at {location:?}"))
        })?;
        match transaction.transaction.payload {
            Payload::ReportCase(report) => Ok(VersionChange::Report(report)),
            Payload::UpdateCase(update) => Ok(VersionChange::Update {
                change: update.change,
                sealed: update.sealed,
            }),
            _ => Err(StorageError::Corrupt(format!(
                "the transaction at {location:?} changes no case"
            ))
            .into()),
        }
    }

    /// A case's stored versions, oldest first, checked to chain up to the record's head.
    pub fn case_versions(&self, id: &Hash) -> Result<Vec<CaseVersion>, LedgerError> {
        let Some(record) = self.case(id)? else {
            return Ok(Vec::new());
        };
        let count = record.version as usize + 1;
        let mut versions = Vec::with_capacity(count);
        let mut next = Some(record.head_location);
        while let Some(location) = next {
            let version = self.reader.case_version(location)?.ok_or_else(|| {
                StorageError::Corrupt(format!("case version missing at {location:?}"))
            })?;
            if version.case_id != *id || versions.len() == count {
                return Err(
                    StorageError::Corrupt(format!("case {id}: version chain broken")).into(),
                );
            }
            next = version.previous;
            versions.push(version);
        }
        versions.reverse();
        verify_version_chain(&versions, &record.head)
            .map_err(|broken| StorageError::Corrupt(format!("case {id}: {broken}")))?;
        Ok(versions)
    }

    /// A case's full version history with each version's change, oldest first.
    pub fn case_history(&self, id: &Hash) -> Result<Vec<VersionView>, LedgerError> {
        self.case_versions(id)?
            .into_iter()
            .map(|version| {
                let change = self.change_at(version.location)?;
                Ok(VersionView { version, change })
            })
            .collect()
    }

    /// The receipt of a transaction and where it landed.
    pub fn receipt(&self, id: &Hash) -> Result<Option<(u64, Receipt)>, LedgerError> {
        let Some(location) = self.reader.transaction_location(id)? else {
            return Ok(None);
        };
        let receipts = self
            .reader
            .receipts(location.height)?
            .ok_or_else(|| StorageError::Corrupt("receipts missing".into()))?;
        let receipt = receipts
            .into_iter()
            .nth(location.index as usize)
            .ok_or_else(|| StorageError::Corrupt("receipt index".into()))?;
        Ok(Some((location.height, receipt)))
    }

    /// Counts of a disease in a region (any level) on a day.
    pub fn count(
        &self,
        disease: &epichain_core::DiseaseCode,
        region: epichain_core::RegionCode,
        basis: CountBasis,
        day: epichain_core::Day,
    ) -> Result<StatusCounts, LedgerError> {
        let key = CountKey {
            disease: disease.clone(),
            region,
            basis,
            day,
        };
        Ok(self.get::<StatusCounts>(&key)?.unwrap_or_default())
    }

    /// The finality certificate stored with a block, if any.
    pub fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.reader.certificate(height)?)
    }

    /// The state root recomputed from the stored tree (checks what was written at commit).
    pub fn state_root(&self, height: u64) -> Result<Hash, LedgerError> {
        let root = self
            .reader
            .tree()
            .get_root_hash(height)
            .map_err(|error| StorageError::Tree(error.to_string()))?;
        Ok(Hash(root.0))
    }
}
