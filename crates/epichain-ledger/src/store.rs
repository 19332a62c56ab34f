//! Embedded storage on `redb`: headers, transactions, receipts, the authenticated state (a
//! Jellyfish Merkle tree whose nodes live in the same database) and query indexes, all written
//! in one transaction per block, so a crash leaves either the whole block or none of it.
//!
//! Layout (format 3), chosen so that a block's writes mostly append:
//! - headers, receipts and certificates by height; each transaction once, by (height, index);
//!   case versions by the (height, index) of the transaction that made them. Ciphertext lives
//!   only in its transaction: state and versions hold its hash and location.
//! - Merkle-tree nodes keyed by (version, path), so a block's new nodes append; nodes a block
//!   makes stale are listed by the version that staled them (appended too) and kept, so the
//!   tree at every height stays readable until [`Store::prune_tree`] removes them.
//! - the current state values by the state key's own encoding (not its tree hash): case ids
//!   begin with their reporter and end with the report's nonce, so a reporter's cases append,
//!   and a disease's counts sit together.
//! - randomly keyed tables, where the key is a hash by nature: transaction ids and the patient
//!   index. Their inserts are sorted within a block; they are about 40% of the bytes a block
//!   writes (an LSM for them is the next step).

use crate::StorageError;
use crate::execute::{Event, Execution};
use crate::state::{
    CaseVersion, STATE_VALUE_BYTES_MAX, StateKey, StateRead, StateValue, TransactionLocation,
};
use borsh::{BorshDeserialize, BorshSerialize};
use epichain_core::encoding::{self, Hash};
use epichain_core::transaction::AccessPurpose;
use epichain_core::{Block, BlockHeader, DiseaseCode, PublicKey, Receipt, RegionCode, Role};
use epichain_core::{SignedTransaction, block::BLOCK_TRANSACTIONS_MAX};
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{KeyHash, OwnedValue, Version};
use redb::{ReadableDatabase, TableDefinition};
use std::path::Path;

/// A table keyed by byte strings.
type BytesTable<V> = TableDefinition<'static, &'static [u8], V>;

const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const HEADERS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("headers");
const BLOCK_TRANSACTIONS: TableDefinition<'_, (u64, u32), &[u8]> =
    TableDefinition::new("block_transactions");
const CERTIFICATES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("certificates");
const RECEIPTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("receipts");
const TRANSACTION_IDS: TableDefinition<'_, &[u8], (u64, u32)> =
    TableDefinition::new("transaction_ids");
const STATE: BytesTable<&[u8]> = TableDefinition::new("state");
const TREE_NODES: BytesTable<&[u8]> = TableDefinition::new("tree_nodes");
const TREE_STALE: BytesTable<()> = TableDefinition::new("tree_stale");
const CASE_VERSIONS: TableDefinition<'_, (u64, u32), &[u8]> = TableDefinition::new("case_versions");
const INDEX_DISEASE_REGION_DAY: BytesTable<()> = TableDefinition::new("index_disease_region_day");
const INDEX_REPORTER: BytesTable<()> = TableDefinition::new("index_reporter");
const INDEX_PATIENT: BytesTable<()> = TableDefinition::new("index_patient");
const INDEX_SIGNALS: BytesTable<()> = TableDefinition::new("index_signals");
const INDEX_IDENTITIES: BytesTable<()> = TableDefinition::new("index_identities");
const INDEX_ACCESS: BytesTable<&[u8]> = TableDefinition::new("index_access");
const INDEX_GRANTS: BytesTable<()> = TableDefinition::new("index_grants");

/// Every byte-keyed index without values, created at open so readers never meet a missing one.
const UNIT_INDEXES: [BytesTable<()>; 7] = [
    TREE_STALE,
    INDEX_DISEASE_REGION_DAY,
    INDEX_REPORTER,
    INDEX_PATIENT,
    INDEX_SIGNALS,
    INDEX_IDENTITIES,
    INDEX_GRANTS,
];

const META_TIP: &str = "tip";
const META_GENESIS: &str = "genesis";
const META_PRUNED: &str = "tree_pruned_through";

/// Version of the storage layout.
pub const STORAGE_FORMAT_VERSION: u16 = 6;

/// The latest committed block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Tip {
    /// Storage layout version.
    pub format_version: u16,
    /// Height (0 = genesis only).
    pub height: u64,
    /// Hash of the latest header (the chain id at genesis).
    pub hash: Hash,
    /// State root after it.
    pub state_root: Hash,
    /// Its block time (genesis time at height 0).
    pub time_ms: u64,
}

/// Everything one block writes.
pub struct BlockWrite<'a> {
    /// The block, header complete.
    pub block: &'a Block,
    /// Canonical bytes of each of its transactions.
    pub transaction_bytes: &'a [Vec<u8>],
    /// Its execution.
    pub execution: &'a Execution,
    /// Merkle-tree changes.
    pub tree: &'a TreeUpdateBatch,
    /// The consensus engine's finality certificate, if known.
    pub certificate: Option<&'a [u8]>,
}

/// The database.
pub struct Store {
    database: redb::Database,
}

fn storage<E: Into<redb::Error>>(error: E) -> StorageError {
    StorageError::Database(error.into().to_string())
}

fn anyhow_storage(error: StorageError) -> anyhow::Error {
    anyhow::anyhow!(error.to_string())
}

impl Store {
    /// Opens or creates the database file.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let database = redb::Database::create(path).map_err(storage)?;
        let transaction = database.begin_write().map_err(storage)?;
        {
            transaction.open_table(META).map_err(storage)?;
            transaction.open_table(HEADERS).map_err(storage)?;
            transaction
                .open_table(BLOCK_TRANSACTIONS)
                .map_err(storage)?;
            transaction.open_table(CERTIFICATES).map_err(storage)?;
            transaction.open_table(RECEIPTS).map_err(storage)?;
            transaction.open_table(TRANSACTION_IDS).map_err(storage)?;
            transaction.open_table(STATE).map_err(storage)?;
            transaction.open_table(TREE_NODES).map_err(storage)?;
            transaction.open_table(CASE_VERSIONS).map_err(storage)?;
            transaction.open_table(INDEX_ACCESS).map_err(storage)?;
            for index in UNIT_INDEXES {
                transaction.open_table(index).map_err(storage)?;
            }
        }
        transaction.commit().map_err(storage)?;
        Ok(Store { database })
    }

    /// A consistent read view of the latest commit.
    pub fn reader(&self) -> Result<StoreReader, StorageError> {
        let transaction = self.database.begin_read().map_err(storage)?;
        Ok(StoreReader {
            state: transaction.open_table(STATE).map_err(storage)?,
            nodes: transaction.open_table(TREE_NODES).map_err(storage)?,
            transaction,
        })
    }

    /// Commits the genesis state (version 0 of the tree) and the genesis bytes.
    pub fn write_genesis(
        &self,
        genesis_bytes: &[u8],
        writes: &[(StateKey, StateValue)],
        tree: &TreeUpdateBatch,
        tip: Tip,
    ) -> Result<(), StorageError> {
        let transaction = self.database.begin_write().map_err(storage)?;
        {
            let mut meta = transaction.open_table(META).map_err(storage)?;
            meta.insert(META_GENESIS, genesis_bytes).map_err(storage)?;
            meta.insert(META_TIP, encoding::encode(&tip).as_slice())
                .map_err(storage)?;
            write_state(&transaction, writes.iter().map(|(key, value)| (key, value)))?;
            write_tree(&transaction, tree)?;
        }
        transaction.commit().map_err(storage)
    }

    /// Commits one block atomically; `durable` fsyncs before returning (otherwise the commit
    /// becomes durable with the next durable one).
    pub fn write_block(
        &self,
        write: &BlockWrite<'_>,
        tip: Tip,
        durable: bool,
    ) -> Result<(), StorageError> {
        self.write_blocks(std::slice::from_ref(write), tip, durable)
    }

    /// Commits consecutive blocks in one transaction (a group commit: pages that several
    /// blocks touch are written once); `tip` is the last block's. A crash leaves all of them or
    /// none.
    pub fn write_blocks(
        &self,
        writes: &[BlockWrite<'_>],
        tip: Tip,
        durable: bool,
    ) -> Result<(), StorageError> {
        let mut transaction = self.database.begin_write().map_err(storage)?;
        if !durable {
            transaction
                .set_durability(redb::Durability::None)
                .map_err(storage)?;
        }
        for write in writes {
            write_chain(&transaction, write)?;
            write_state(&transaction, write.execution.writes.iter())?;
            write_tree(&transaction, write.tree)?;
            write_versions_and_indexes(&transaction, &write.execution.versions)?;
            write_event_indexes(&transaction, &write.block.header, &write.execution.events)?;
        }
        {
            let mut meta = transaction.open_table(META).map_err(storage)?;
            meta.insert(META_TIP, encoding::encode(&tip).as_slice())
                .map_err(storage)?;
        }
        transaction.commit().map_err(storage)?;
        if cfg!(debug_assertions) {
            // Pair assertion: the tree as stored hashes to the root the tip committed.
            let root = self
                .reader()?
                .tree()
                .get_root_hash(tip.height)
                .map_err(|error| StorageError::Tree(error.to_string()))?;
            assert_eq!(
                Hash(root.0),
                tip.state_root,
                "the stored tree does not hash to block {}'s state root",
                tip.height
            );
        }
        Ok(())
    }

    /// Stores a finality certificate for an already committed block.
    pub fn write_certificate(&self, height: u64, certificate: &[u8]) -> Result<(), StorageError> {
        let transaction = self.database.begin_write().map_err(storage)?;
        {
            let mut certificates = transaction.open_table(CERTIFICATES).map_err(storage)?;
            certificates.insert(height, certificate).map_err(storage)?;
        }
        transaction.commit().map_err(storage)
    }

    /// Makes all earlier non-durable commits durable (an empty durable commit).
    pub fn sync(&self) -> Result<(), StorageError> {
        let transaction = self.database.begin_write().map_err(storage)?;
        transaction.commit().map_err(storage)
    }

    /// Deletes tree nodes that went stale at or before `version` (proofs against the state at
    /// heights before it are no longer served), in one durable transaction. Returns how many.
    pub fn prune_tree(&self, version: u64) -> Result<u64, StorageError> {
        let transaction = self.database.begin_write().map_err(storage)?;
        let mut pruned = 0;
        {
            let mut stale = transaction.open_table(TREE_STALE).map_err(storage)?;
            let mut nodes = transaction.open_table(TREE_NODES).map_err(storage)?;
            let end = (version + 1).to_be_bytes();
            let expired = stale
                .extract_from_if(..end.as_slice(), |_, _| true)
                .map_err(storage)?;
            for entry in expired {
                let (key, _) = entry.map_err(storage)?;
                nodes.remove(&key.value()[8..]).map_err(storage)?;
                pruned += 1;
            }
            let mut meta = transaction.open_table(META).map_err(storage)?;
            meta.insert(META_PRUNED, version.to_be_bytes().as_slice())
                .map_err(storage)?;
        }
        transaction.commit().map_err(storage)?;
        Ok(pruned)
    }
}

/// Header, transactions, receipts, certificate and transaction ids of a block.
fn write_chain(
    transaction: &redb::WriteTransaction,
    write: &BlockWrite<'_>,
) -> Result<(), StorageError> {
    let block = write.block;
    let height = block.header.height;
    let mut headers = transaction.open_table(HEADERS).map_err(storage)?;
    headers
        .insert(height, encoding::encode(&block.header).as_slice())
        .map_err(storage)?;
    let mut transactions = transaction
        .open_table(BLOCK_TRANSACTIONS)
        .map_err(storage)?;
    assert_eq!(
        write.transaction_bytes.len(),
        block.transactions.len(),
        "one encoding per transaction"
    );
    for (index, bytes) in write.transaction_bytes.iter().enumerate() {
        transactions
            .insert((height, index as u32), bytes.as_slice())
            .map_err(storage)?;
    }
    if let Some(certificate) = write.certificate {
        let mut certificates = transaction.open_table(CERTIFICATES).map_err(storage)?;
        certificates.insert(height, certificate).map_err(storage)?;
    }
    let mut receipts = transaction.open_table(RECEIPTS).map_err(storage)?;
    receipts
        .insert(
            height,
            encoding::encode(&write.execution.receipts).as_slice(),
        )
        .map_err(storage)?;
    let mut ids: Vec<(&Hash, u32)> = write.execution.transaction_ids.iter().zip(0u32..).collect();
    ids.sort_unstable();
    let mut locations = transaction.open_table(TRANSACTION_IDS).map_err(storage)?;
    for (id, index) in ids {
        let earlier = locations
            .insert(id.0.as_slice(), (height, index))
            .map_err(storage)?;
        // Block validity refuses a replayed transaction (its nonce is stale), so a receipt's
        // location is written once and never overwritten.
        assert!(earlier.is_none(), "transaction {id} stored twice");
    }
    Ok(())
}

/// State values by state-key hash, inserted in hash order.
fn write_state<'a>(
    transaction: &redb::WriteTransaction,
    writes: impl Iterator<Item = (&'a StateKey, &'a StateValue)>,
) -> Result<(), StorageError> {
    let mut sorted: Vec<(Vec<u8>, Vec<u8>)> = writes
        .map(|(key, value)| (key.table_key(), value.to_bytes()))
        .collect();
    sorted.sort_unstable();
    let mut state = transaction.open_table(STATE).map_err(storage)?;
    for (key, value) in &sorted {
        // Every value written decodes under the decoding limit (execution refuses larger).
        assert!(
            value.len() <= STATE_VALUE_BYTES_MAX,
            "state value of {} bytes",
            value.len()
        );
        state
            .insert(key.as_slice(), value.as_slice())
            .map_err(storage)?;
    }
    Ok(())
}

/// Key of a tree node: version (big-endian, so a block's nodes append) and nibble path.
fn node_key_bytes(key: &NodeKey) -> Vec<u8> {
    let mut bytes = key.version().to_be_bytes().to_vec();
    bytes.extend_from_slice(&encoding::encode(key.nibble_path()));
    bytes
}

fn write_tree(
    transaction: &redb::WriteTransaction,
    tree: &TreeUpdateBatch,
) -> Result<(), StorageError> {
    let mut nodes = transaction.open_table(TREE_NODES).map_err(storage)?;
    for (key, node) in tree.node_batch.nodes() {
        nodes
            .insert(
                node_key_bytes(key).as_slice(),
                encoding::encode(node).as_slice(),
            )
            .map_err(storage)?;
    }
    let mut stale = transaction.open_table(TREE_STALE).map_err(storage)?;
    for entry in &tree.stale_node_index_batch {
        let mut key = entry.stale_since_version.to_be_bytes().to_vec();
        key.extend_from_slice(&node_key_bytes(&entry.node_key));
        stale.insert(key.as_slice(), ()).map_err(storage)?;
    }
    Ok(())
}

fn write_versions_and_indexes(
    transaction: &redb::WriteTransaction,
    versions: &[CaseVersion],
) -> Result<(), StorageError> {
    let mut table = transaction.open_table(CASE_VERSIONS).map_err(storage)?;
    let mut by_reporter = transaction.open_table(INDEX_REPORTER).map_err(storage)?;
    for version in versions {
        let location = version.location;
        table
            .insert(
                (location.height, location.index),
                encoding::encode(version).as_slice(),
            )
            .map_err(storage)?;
        if version.version == 0 {
            by_reporter
                .insert(
                    Layout::new()
                        .key(&version.signer)
                        .location(location)
                        .hash(&version.case_id)
                        .as_slice(),
                    (),
                )
                .map_err(storage)?;
        }
    }
    Ok(())
}

/// Indexes derived from events: cases by disease × region × onset day and by patient, signals
/// and grants by time, identities by role and region, access logs by case.
fn write_event_indexes(
    transaction: &redb::WriteTransaction,
    header: &BlockHeader,
    events: &[Event],
) -> Result<(), StorageError> {
    let mut by_disease = transaction
        .open_table(INDEX_DISEASE_REGION_DAY)
        .map_err(storage)?;
    let mut patients = Vec::new();
    let mut signals = transaction.open_table(INDEX_SIGNALS).map_err(storage)?;
    let mut identities = transaction.open_table(INDEX_IDENTITIES).map_err(storage)?;
    let mut access = transaction.open_table(INDEX_ACCESS).map_err(storage)?;
    let mut grants = transaction.open_table(INDEX_GRANTS).map_err(storage)?;
    for event in events {
        match event {
            Event::CaseReported {
                case_id,
                disease,
                region,
                report_day,
                patient,
                location,
                ..
            } => {
                let key = disease_index_key(disease, *region, report_day.0, *location, case_id);
                by_disease.insert(key.as_slice(), ()).map_err(storage)?;
                patients.push(
                    Layout::new()
                        .bytes(&encoding::encode(patient))
                        .hash(case_id),
                );
            }
            Event::SignalOpened { signal, .. } => {
                let key = Layout::new().number(header.time_ms).hash(signal);
                signals.insert(key.as_slice(), ()).map_err(storage)?;
            }
            Event::GrantOpened { grant, .. } => {
                let key = Layout::new().number(header.time_ms).hash(grant);
                grants.insert(key.as_slice(), ()).map_err(storage)?;
            }
            Event::IdentityEnrolled { key, role, region } => {
                identities
                    .insert(identity_index_key(*role, *region, key).as_slice(), ())
                    .map_err(storage)?;
            }
            Event::AccessLogged {
                case_id,
                reader,
                purpose,
                location,
            } => {
                let key = Layout::new()
                    .hash(case_id)
                    .number(location.height)
                    .number(u64::from(location.index))
                    .key(reader);
                let value = encoding::encode(&(header.time_ms, *purpose));
                access
                    .insert(key.as_slice(), value.as_slice())
                    .map_err(storage)?;
            }
            _ => {}
        }
    }
    patients.sort_unstable_by(|a, b| a.as_slice().cmp(b.as_slice()));
    let mut by_patient = transaction.open_table(INDEX_PATIENT).map_err(storage)?;
    for key in patients {
        by_patient.insert(key.as_slice(), ()).map_err(storage)?;
    }
    Ok(())
}

/// An index key built field by field, in big-endian so byte order is field order.
struct Layout(Vec<u8>);

impl Layout {
    fn new() -> Self {
        Layout(Vec::with_capacity(80))
    }

    fn bytes(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }

    fn number(self, value: u64) -> Self {
        self.bytes(&value.to_be_bytes())
    }

    fn hash(self, hash: &Hash) -> Self {
        self.bytes(&hash.0)
    }

    fn key(self, key: &PublicKey) -> Self {
        self.bytes(&key.0)
    }

    fn location(self, location: TransactionLocation) -> Self {
        self.number(location.height)
            .bytes(&location.index.to_be_bytes())
    }

    fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

/// Width of the disease field in index keys (codes are at most this long).
const DISEASE_KEY_BYTES: usize = epichain_core::disease::DISEASE_CODE_BYTES_MAX;

fn disease_prefix(disease: &DiseaseCode) -> Vec<u8> {
    let mut key = vec![0u8; DISEASE_KEY_BYTES];
    let code = disease.as_str().as_bytes();
    key[..code.len()].copy_from_slice(code);
    key
}

/// Index key: disease (padded) ‖ region ‖ onset day ‖ report location (height, index) ‖ case id,
/// all big-endian. Regions of one jurisdiction are a contiguous numeric range, so a jurisdiction
/// is one range scan; within a day, cases are in report order, so inserts append.
fn disease_index_key(
    disease: &DiseaseCode,
    region: RegionCode,
    day: u32,
    location: TransactionLocation,
    case_id: &Hash,
) -> Vec<u8> {
    let mut key = disease_prefix(disease);
    key.extend_from_slice(&region.value().to_be_bytes());
    key.extend_from_slice(&day.to_be_bytes());
    key.extend_from_slice(&location.height.to_be_bytes());
    key.extend_from_slice(&location.index.to_be_bytes());
    key.extend_from_slice(&case_id.0);
    key
}

fn identity_index_key(role: Role, region: RegionCode, key: &PublicKey) -> Vec<u8> {
    let mut bytes = vec![role as u8];
    bytes.extend_from_slice(&region.value().to_be_bytes());
    bytes.extend_from_slice(&key.0);
    bytes
}

/// Numeric range of region codes within a jurisdiction.
pub fn jurisdiction_range(region: RegionCode) -> (u32, u32) {
    let value = region.value();
    match region.level() {
        epichain_core::Level::National => (0, 999_999),
        epichain_core::Level::Province => (value, value + 9_999),
        epichain_core::Level::City => (value, value + 99),
        epichain_core::Level::District => (value, value),
    }
}

/// Scan direction over an index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    Ascending,
    Descending,
}

/// A fixed-width field of an index key, or corruption.
fn field<const N: usize>(key: &[u8], offset: usize) -> Result<[u8; N], StorageError> {
    key.get(offset..offset + N)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| StorageError::Corrupt("index key too short".into()))
}

/// The bytes after `offset` of an index key as a 32-byte hash.
fn tail_hash(key: &[u8], offset: usize) -> Result<Hash, StorageError> {
    if key.len() != offset + 32 {
        return Err(StorageError::Corrupt(
            "index key of unexpected length".into(),
        ));
    }
    Ok(Hash(field::<32>(key, offset)?))
}

/// The indexes of records by the time they opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimedIndex {
    /// Signals.
    Signals,
    /// Disclosure grants.
    Grants,
}

/// A read snapshot: state lookups, tree nodes for proofs, blocks and indexes.
pub struct StoreReader {
    transaction: redb::ReadTransaction,
    state: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    nodes: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
}

impl StoreReader {
    fn get_bytes(
        table: &redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(table
            .get(key)
            .map_err(storage)?
            .map(|value| value.value().to_vec()))
    }

    /// Every state entry, in key order: its table key and its value bytes.
    pub fn for_each_state_entry<E: From<StorageError>>(
        &self,
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        use redb::ReadableTable as _;
        for entry in self.state.iter().map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            visit(key.value(), value.value())?;
        }
        Ok(())
    }

    /// The one index scan: keys in `[start, end]` of a byte-keyed index, in `order`, each
    /// decoded (or skipped with `None`), at most `limit` results.
    fn scan<V: redb::Value + 'static, T>(
        &self,
        index: BytesTable<V>,
        start: &[u8],
        end: &[u8],
        order: Order,
        limit: usize,
        mut decode: impl FnMut(&[u8], V::SelfType<'_>) -> Result<Option<T>, StorageError>,
    ) -> Result<Vec<T>, StorageError> {
        let table = self.transaction.open_table(index).map_err(storage)?;
        let range = table.range(start..=end).map_err(storage)?;
        let entries: Box<dyn Iterator<Item = _>> = match order {
            Order::Ascending => Box::new(range),
            Order::Descending => Box::new(range.rev()),
        };
        let mut found = Vec::new();
        for entry in entries {
            if found.len() >= limit {
                break;
            }
            let (key, value) = entry.map_err(storage)?;
            if let Some(item) = decode(key.value(), value.value())? {
                found.push(item);
            }
        }
        Ok(found)
    }

    /// The committed tip, if genesis was written.
    pub fn tip(&self) -> Result<Option<Tip>, StorageError> {
        let meta = self.transaction.open_table(META).map_err(storage)?;
        meta.get(META_TIP)
            .map_err(storage)?
            .map(|value| encoding::decode(value.value()).map_err(StorageError::from))
            .transpose()
    }

    /// The stored genesis bytes.
    pub fn genesis_bytes(&self) -> Result<Option<Vec<u8>>, StorageError> {
        let meta = self.transaction.open_table(META).map_err(storage)?;
        Ok(meta
            .get(META_GENESIS)
            .map_err(storage)?
            .map(|value| value.value().to_vec()))
    }

    /// A header by height.
    pub fn header(&self, height: u64) -> Result<Option<BlockHeader>, StorageError> {
        let headers = self.transaction.open_table(HEADERS).map_err(storage)?;
        headers
            .get(height)
            .map_err(storage)?
            .map(|value| encoding::decode(value.value()).map_err(StorageError::from))
            .transpose()
    }

    /// A block by height: its header and its transactions.
    pub fn block(&self, height: u64) -> Result<Option<Block>, StorageError> {
        let Some(header) = self.header(height)? else {
            return Ok(None);
        };
        let table = self
            .transaction
            .open_table(BLOCK_TRANSACTIONS)
            .map_err(storage)?;
        let mut transactions = Vec::with_capacity(header.transaction_count as usize);
        for entry in table.range((height, 0)..(height + 1, 0)).map_err(storage)? {
            let (_, value) = entry.map_err(storage)?;
            transactions.push(SignedTransaction::from_bytes(value.value())?);
        }
        if transactions.len() != header.transaction_count as usize
            || transactions.len() > BLOCK_TRANSACTIONS_MAX
        {
            return Err(StorageError::Corrupt(format!(
                "block {height} has {} transactions stored, {} in its header",
                transactions.len(),
                header.transaction_count
            )));
        }
        Ok(Some(Block {
            header,
            transactions,
        }))
    }

    /// One stored transaction.
    pub fn transaction_at(
        &self,
        location: TransactionLocation,
    ) -> Result<Option<SignedTransaction>, StorageError> {
        let table = self
            .transaction
            .open_table(BLOCK_TRANSACTIONS)
            .map_err(storage)?;
        table
            .get((location.height, location.index))
            .map_err(storage)?
            .map(|value| SignedTransaction::from_bytes(value.value()).map_err(StorageError::from))
            .transpose()
    }

    /// The finality certificate stored with a block.
    pub fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>, StorageError> {
        let table = self.transaction.open_table(CERTIFICATES).map_err(storage)?;
        Ok(table
            .get(height)
            .map_err(storage)?
            .map(|value| value.value().to_vec()))
    }

    /// Receipts of a block.
    pub fn receipts(&self, height: u64) -> Result<Option<Vec<Receipt>>, StorageError> {
        let receipts = self.transaction.open_table(RECEIPTS).map_err(storage)?;
        receipts
            .get(height)
            .map_err(storage)?
            .map(|value| encoding::decode(value.value()).map_err(StorageError::from))
            .transpose()
    }

    /// Where a transaction landed.
    pub fn transaction_location(
        &self,
        id: &Hash,
    ) -> Result<Option<TransactionLocation>, StorageError> {
        let table = self
            .transaction
            .open_table(TRANSACTION_IDS)
            .map_err(storage)?;
        Ok(table.get(id.0.as_slice()).map_err(storage)?.map(|value| {
            let (height, index) = value.value();
            TransactionLocation { height, index }
        }))
    }

    /// The case version made by the transaction at `location`.
    pub fn case_version(
        &self,
        location: TransactionLocation,
    ) -> Result<Option<CaseVersion>, StorageError> {
        let table = self
            .transaction
            .open_table(CASE_VERSIONS)
            .map_err(storage)?;
        table
            .get((location.height, location.index))
            .map_err(storage)?
            .map(|value| encoding::decode(value.value()).map_err(StorageError::from))
            .transpose()
    }

    /// Case ids of a disease within a jurisdiction, reported (block day) in `[first_day, last_day]`, in
    /// (region, day, report) order, at most `limit`.
    pub fn cases_by_disease(
        &self,
        disease: &DiseaseCode,
        jurisdiction: RegionCode,
        first_day: u32,
        last_day: u32,
        limit: usize,
    ) -> Result<Vec<Hash>, StorageError> {
        let (low, high) = jurisdiction_range(jurisdiction);
        let mut start = disease_prefix(disease);
        start.extend_from_slice(&low.to_be_bytes());
        let mut end = disease_prefix(disease);
        end.extend_from_slice(&high.to_be_bytes());
        end.extend_from_slice(&[0xFF; 4 + 12 + 32]);
        let day_offset = DISEASE_KEY_BYTES + 4;
        self.scan(
            INDEX_DISEASE_REGION_DAY,
            &start,
            &end,
            Order::Ascending,
            limit,
            |key, ()| {
                let day = u32::from_be_bytes(field::<4>(key, day_offset)?);
                if day < first_day || day > last_day {
                    return Ok(None);
                }
                tail_hash(key, day_offset + 4 + 12).map(Some)
            },
        )
    }

    /// Ids of signals opened between two times (Unix ms, inclusive), newest first, at most
    /// `limit`.
    pub fn signal_ids(
        &self,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> Result<Vec<Hash>, StorageError> {
        self.timed_ids(INDEX_SIGNALS, from_ms, to_ms, limit)
    }

    /// Ids of disclosure grants opened between two times (Unix ms, inclusive), newest first, at
    /// most `limit`.
    pub fn grant_ids(
        &self,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> Result<Vec<Hash>, StorageError> {
        self.timed_ids(INDEX_GRANTS, from_ms, to_ms, limit)
    }

    /// Ids from an index keyed by (time, id), newest first.
    fn timed_ids(
        &self,
        index: BytesTable<()>,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> Result<Vec<Hash>, StorageError> {
        let end = Layout::new().number(to_ms).bytes(&[0xFF; 32]);
        Ok(self
            .timed_entries(index, from_ms, end.as_slice(), limit)?
            .into_iter()
            .map(|(_, id)| id)
            .collect())
    }

    /// A page of signals or grants, newest first: (time, id) of those opened at or after
    /// `from_ms` and before the entry `before` (the last of the previous page; `None`: from the
    /// newest), at most `limit`.
    pub fn timed_page(
        &self,
        index: TimedIndex,
        from_ms: u64,
        before: Option<(u64, Hash)>,
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, StorageError> {
        let table = match index {
            TimedIndex::Signals => INDEX_SIGNALS,
            TimedIndex::Grants => INDEX_GRANTS,
        };
        let end = match before {
            Some((time_ms, id)) => Layout::new().number(time_ms).hash(&id),
            None => Layout::new().number(u64::MAX).bytes(&[0xFF; 32]),
        };
        let mut page = self.timed_entries(table, from_ms, end.as_slice(), limit + 1)?;
        page.retain(|entry| Some(*entry) != before);
        page.truncate(limit);
        Ok(page)
    }

    /// (time, id) entries of a (time, id) index from `from_ms` up to `end` (inclusive), newest
    /// first.
    fn timed_entries(
        &self,
        index: BytesTable<()>,
        from_ms: u64,
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, StorageError> {
        let start = Layout::new().number(from_ms);
        self.scan(
            index,
            start.as_slice(),
            end,
            Order::Descending,
            limit,
            |key, ()| {
                let time_ms = u64::from_be_bytes(field::<8>(key, 0)?);
                Ok(Some((time_ms, tail_hash(key, 8)?)))
            },
        )
    }

    /// Keys of identities enrolled with `role` exactly at `region`.
    pub fn identities_at(
        &self,
        role: Role,
        region: RegionCode,
    ) -> Result<Vec<PublicKey>, StorageError> {
        self.identities_between(role, region.value(), region.value())
    }

    /// Keys enrolled with `role` anywhere within `region` (the region and below).
    pub fn identities_within(
        &self,
        role: Role,
        region: RegionCode,
    ) -> Result<Vec<PublicKey>, StorageError> {
        let (low, high) = jurisdiction_range(region);
        self.identities_between(role, low, high)
    }

    fn identities_between(
        &self,
        role: Role,
        low: u32,
        high: u32,
    ) -> Result<Vec<PublicKey>, StorageError> {
        self.identities_page(role, (low, high), None, usize::MAX)
    }

    /// Keys enrolled with `role` at a region in `low..=high` (region codes), in index order,
    /// after the key `after` at `low` (a previous page's last), at most `limit`.
    pub fn identities_page(
        &self,
        role: Role,
        (low, high): (u32, u32),
        after: Option<PublicKey>,
        limit: usize,
    ) -> Result<Vec<PublicKey>, StorageError> {
        let mut start = vec![role as u8];
        start.extend_from_slice(&low.to_be_bytes());
        if let Some(after) = after {
            start.extend_from_slice(&after.0);
        }
        let mut end = vec![role as u8];
        end.extend_from_slice(&high.to_be_bytes());
        end.extend_from_slice(&[0xFF; 32]);
        let mut keys = self.scan(
            INDEX_IDENTITIES,
            &start,
            &end,
            Order::Ascending,
            limit.saturating_add(1),
            |key, ()| Ok(Some(PublicKey(tail_hash(key, 5)?.0))),
        )?;
        keys.retain(|key| Some(*key) != after);
        keys.truncate(limit);
        Ok(keys)
    }

    /// Access logs of a case: (height, reader, time, purpose), oldest first.
    /// From height `from_height`, at most `limit`.
    pub fn access_logs(
        &self,
        case_id: &Hash,
        from_height: u64,
        limit: usize,
    ) -> Result<Vec<(u64, PublicKey, u64, AccessPurpose)>, StorageError> {
        let start = Layout::new().hash(case_id).number(from_height);
        let end = Layout::new().hash(case_id).bytes(&[0xFF; 48]);
        self.scan(
            INDEX_ACCESS,
            start.as_slice(),
            end.as_slice(),
            Order::Ascending,
            limit,
            |key, value: &[u8]| {
                let height = u64::from_be_bytes(field::<8>(key, 32)?);
                let reader = PublicKey(tail_hash(key, 48)?.0);
                let (time_ms, purpose): (u64, AccessPurpose) = encoding::decode(value)?;
                Ok(Some((height, reader, time_ms, purpose)))
            },
        )
    }

    /// Case ids reported by a key, oldest first.
    pub fn cases_by_reporter(
        &self,
        reporter: &PublicKey,
        limit: usize,
    ) -> Result<Vec<Hash>, StorageError> {
        let start = Layout::new().key(reporter);
        let end = Layout::new().key(reporter).bytes(&[0xFF; 12 + 32]);
        self.scan(
            INDEX_REPORTER,
            start.as_slice(),
            end.as_slice(),
            Order::Ascending,
            limit,
            |key, ()| tail_hash(key, 32 + 12).map(Some),
        )
    }

    /// Case ids of a patient (key or pseudonym).
    pub fn cases_by_patient(
        &self,
        patient: &epichain_core::PatientRef,
        limit: usize,
    ) -> Result<Vec<Hash>, StorageError> {
        let prefix = encoding::encode(patient);
        let end = Layout::new().bytes(&prefix).bytes(&[0xFF; 32]);
        self.scan(
            INDEX_PATIENT,
            &prefix,
            end.as_slice(),
            Order::Ascending,
            limit,
            |key, ()| tail_hash(key, prefix.len()).map(Some),
        )
    }

    /// The Merkle tree over this snapshot.
    pub fn tree(&self) -> jmt::Sha256Jmt<'_, Self> {
        jmt::Sha256Jmt::new(self)
    }
}

impl StoreReader {
    /// The canonical bytes stored under a state key, undecoded (what the tree commits to).
    pub fn state_bytes(&self, key: &StateKey) -> Result<Option<Vec<u8>>, StorageError> {
        Self::get_bytes(&self.state, &key.table_key())
    }
}

impl StateRead for StoreReader {
    fn read(&self, key: &StateKey) -> Result<Option<StateValue>, StorageError> {
        self.state_bytes(key)?
            .map(|bytes| StateValue::from_bytes(key, &bytes).map_err(StorageError::from))
            .transpose()
    }
}

impl TreeReader for StoreReader {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Self::get_bytes(&self.nodes, &node_key_bytes(node_key))
            .map_err(anyhow_storage)?
            .map(|bytes| encoding::decode(&bytes).map_err(|error| anyhow::anyhow!(error)))
            .transpose()
    }

    /// Values are stored by state key, not by its hash (see the module doc): the tree is built
    /// from write sets and never reads values back; proofs pair a path with the value read by
    /// its state key.
    fn get_value_option(
        &self,
        _max_version: Version,
        _key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        anyhow::bail!("state values are read by state key, not by key hash")
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        anyhow::bail!("epichain's store does not support tree restoration")
    }
}
