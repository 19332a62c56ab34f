//! Embedded storage on `redb`: blocks, receipts, the authenticated state (a Jellyfish Merkle tree
//! whose nodes live in the same database) and query indexes, all written in one transaction per
//! block, so a crash leaves either the whole block or none of it.
//!
//! Only the latest version of the Merkle tree is kept: nodes made stale by a block are deleted in
//! the same transaction. Record histories stay provable through the per-record hash chains.

use crate::StorageError;
use crate::execute::Execution;
use crate::state::StateRead;
use crate::state::{CaseVersion, StateKey, StateValue};
use borsh::{BorshDeserialize, BorshSerialize};
use epichain_core::encoding::{self, Hash};
use epichain_core::{Block, BlockHeader, DiseaseCode, Receipt, RegionCode};
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Version};
use redb::{ReadableDatabase, TableDefinition};
use std::path::Path;

const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const CERTIFICATES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("certificates");
const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
const RECEIPTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("receipts");
const TRANSACTIONS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("transactions");
const STATE: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("state");
const TREE_NODES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("tree_nodes");
const CASE_VERSIONS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("case_versions");
const INDEX_DISEASE_REGION_DAY: TableDefinition<'_, &[u8], ()> =
    TableDefinition::new("index_disease_region_day");
const INDEX_REPORTER: TableDefinition<'_, &[u8], ()> = TableDefinition::new("index_reporter");
const INDEX_PATIENT: TableDefinition<'_, &[u8], ()> = TableDefinition::new("index_patient");
const INDEX_SIGNALS: TableDefinition<'_, &[u8], ()> = TableDefinition::new("index_signals");
const INDEX_IDENTITIES: TableDefinition<'_, &[u8], ()> = TableDefinition::new("index_identities");
const INDEX_ACCESS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("index_access");
const INDEX_GRANTS: TableDefinition<'_, &[u8], ()> = TableDefinition::new("index_grants");

const META_TIP: &str = "tip";
const META_GENESIS: &str = "genesis";

/// Version of the storage layout.
pub const STORAGE_FORMAT_VERSION: u16 = 1;

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

/// Where a transaction landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TransactionLocation {
    /// Block height.
    pub height: u64,
    /// Index in the block.
    pub index: u32,
}

/// Everything one block writes.
pub struct BlockWrite<'a> {
    /// The block, header complete.
    pub block: &'a Block,
    /// Its execution.
    pub execution: &'a Execution,
    /// Merkle-tree changes.
    pub tree: &'a jmt::storage::TreeUpdateBatch,
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
            // Create every table so that readers never meet a missing one.
            transaction.open_table(META).map_err(storage)?;
            transaction.open_table(CERTIFICATES).map_err(storage)?;
            transaction.open_table(BLOCKS).map_err(storage)?;
            transaction.open_table(RECEIPTS).map_err(storage)?;
            transaction.open_table(TRANSACTIONS).map_err(storage)?;
            transaction.open_table(STATE).map_err(storage)?;
            transaction.open_table(TREE_NODES).map_err(storage)?;
            transaction.open_table(CASE_VERSIONS).map_err(storage)?;
            transaction
                .open_table(INDEX_DISEASE_REGION_DAY)
                .map_err(storage)?;
            transaction.open_table(INDEX_REPORTER).map_err(storage)?;
            transaction.open_table(INDEX_PATIENT).map_err(storage)?;
            transaction.open_table(INDEX_SIGNALS).map_err(storage)?;
            transaction.open_table(INDEX_IDENTITIES).map_err(storage)?;
            transaction.open_table(INDEX_ACCESS).map_err(storage)?;
            transaction.open_table(INDEX_GRANTS).map_err(storage)?;
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
        tree: &jmt::storage::TreeUpdateBatch,
        tip: Tip,
    ) -> Result<(), StorageError> {
        let transaction = self.database.begin_write().map_err(storage)?;
        {
            let mut meta = transaction.open_table(META).map_err(storage)?;
            meta.insert(META_GENESIS, genesis_bytes).map_err(storage)?;
            meta.insert(META_TIP, encoding::encode(&tip).as_slice())
                .map_err(storage)?;
            let mut state = transaction.open_table(STATE).map_err(storage)?;
            for (key, value) in writes {
                state
                    .insert(key.tree_key().as_slice(), value.to_bytes().as_slice())
                    .map_err(storage)?;
            }
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
        let mut transaction = self.database.begin_write().map_err(storage)?;
        if !durable {
            transaction
                .set_durability(redb::Durability::None)
                .map_err(|error| StorageError::Database(error.to_string()))?;
        }
        {
            let block = write.block;
            let height = block.header.height;
            let mut blocks = transaction.open_table(BLOCKS).map_err(storage)?;
            blocks
                .insert(height, block.to_bytes().as_slice())
                .map_err(storage)?;
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
            let mut locations = transaction.open_table(TRANSACTIONS).map_err(storage)?;
            for (index, receipt) in write.execution.receipts.iter().enumerate() {
                let location = TransactionLocation {
                    height,
                    index: index as u32,
                };
                locations
                    .insert(
                        receipt.transaction_id.0.as_slice(),
                        encoding::encode(&location).as_slice(),
                    )
                    .map_err(storage)?;
            }
            let mut state = transaction.open_table(STATE).map_err(storage)?;
            for (key, value) in &write.execution.writes {
                state
                    .insert(key.tree_key().as_slice(), value.to_bytes().as_slice())
                    .map_err(storage)?;
            }
            write_versions_and_indexes(&transaction, &write.execution.versions)?;
            write_event_indexes(&transaction, block, &write.execution.events)?;
            write_tree(&transaction, write.tree)?;
            let mut meta = transaction.open_table(META).map_err(storage)?;
            meta.insert(META_TIP, encoding::encode(&tip).as_slice())
                .map_err(storage)?;
        }
        transaction.commit().map_err(storage)
    }
}

impl Store {
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
}

/// Indexes derived from events: signals by time, identities by role and region, access logs by
/// case.
fn write_event_indexes(
    transaction: &redb::WriteTransaction,
    block: &Block,
    events: &[crate::execute::Event],
) -> Result<(), StorageError> {
    use crate::execute::Event;
    let mut signals = transaction.open_table(INDEX_SIGNALS).map_err(storage)?;
    let mut identities = transaction.open_table(INDEX_IDENTITIES).map_err(storage)?;
    let mut access = transaction.open_table(INDEX_ACCESS).map_err(storage)?;
    let mut grants = transaction.open_table(INDEX_GRANTS).map_err(storage)?;
    for event in events {
        match event {
            Event::SignalOpened { signal, .. } => {
                let mut key = block.header.time_ms.to_be_bytes().to_vec();
                key.extend_from_slice(&signal.0);
                signals.insert(key.as_slice(), ()).map_err(storage)?;
            }
            Event::GrantOpened { grant, .. } => {
                let mut key = block.header.time_ms.to_be_bytes().to_vec();
                key.extend_from_slice(&grant.0);
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
            } => {
                let mut key = case_id.0.to_vec();
                key.extend_from_slice(&block.header.height.to_be_bytes());
                key.extend_from_slice(&reader.0);
                let value = encoding::encode(&(block.header.time_ms, purpose.clone()));
                access
                    .insert(key.as_slice(), value.as_slice())
                    .map_err(storage)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn identity_index_key(
    role: epichain_core::Role,
    region: RegionCode,
    key: &epichain_core::PublicKey,
) -> Vec<u8> {
    let mut bytes = vec![role as u8];
    bytes.extend_from_slice(&region.value().to_be_bytes());
    bytes.extend_from_slice(&key.0);
    bytes
}

fn write_tree(
    transaction: &redb::WriteTransaction,
    tree: &jmt::storage::TreeUpdateBatch,
) -> Result<(), StorageError> {
    let mut nodes = transaction.open_table(TREE_NODES).map_err(storage)?;
    for (key, node) in tree.node_batch.nodes() {
        nodes
            .insert(
                encoding::encode(key).as_slice(),
                encoding::encode(node).as_slice(),
            )
            .map_err(storage)?;
    }
    for stale in &tree.stale_node_index_batch {
        nodes
            .remove(encoding::encode(&stale.node_key).as_slice())
            .map_err(storage)?;
    }
    Ok(())
}

fn write_versions_and_indexes(
    transaction: &redb::WriteTransaction,
    versions: &[CaseVersion],
) -> Result<(), StorageError> {
    let mut table = transaction.open_table(CASE_VERSIONS).map_err(storage)?;
    let mut by_disease = transaction
        .open_table(INDEX_DISEASE_REGION_DAY)
        .map_err(storage)?;
    let mut by_reporter = transaction.open_table(INDEX_REPORTER).map_err(storage)?;
    let mut by_patient = transaction.open_table(INDEX_PATIENT).map_err(storage)?;
    for version in versions {
        table
            .insert(
                version_key(&version.case_id, version.version).as_slice(),
                encoding::encode(version).as_slice(),
            )
            .map_err(storage)?;
        if let crate::state::VersionChange::Report(report) = &version.change {
            let disease_key = disease_index_key(
                &report.disease,
                report.region,
                report.onset_day.0,
                &version.case_id,
            );
            by_disease
                .insert(disease_key.as_slice(), ())
                .map_err(storage)?;
            let mut reporter_key = version.signer.0.to_vec();
            reporter_key.extend_from_slice(&version.case_id.0);
            by_reporter
                .insert(reporter_key.as_slice(), ())
                .map_err(storage)?;
            let mut patient_key = encoding::encode(&report.patient);
            patient_key.extend_from_slice(&version.case_id.0);
            by_patient
                .insert(patient_key.as_slice(), ())
                .map_err(storage)?;
        }
    }
    Ok(())
}

fn version_key(case_id: &Hash, version: u32) -> Vec<u8> {
    let mut key = case_id.0.to_vec();
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// Width of the disease field in index keys (codes are at most this long).
const DISEASE_KEY_BYTES: usize = epichain_core::disease::DISEASE_CODE_BYTES_MAX;

fn disease_prefix(disease: &DiseaseCode) -> Vec<u8> {
    let mut key = vec![0u8; DISEASE_KEY_BYTES];
    let code = disease.as_str().as_bytes();
    key[..code.len()].copy_from_slice(code);
    key
}

/// Index key: disease (padded) ‖ region (big-endian) ‖ onset day (big-endian) ‖ case id. Regions
/// of one jurisdiction are a contiguous numeric range, so a jurisdiction is one range scan.
fn disease_index_key(
    disease: &DiseaseCode,
    region: RegionCode,
    day: u32,
    case_id: &Hash,
) -> Vec<u8> {
    let mut key = disease_prefix(disease);
    key.extend_from_slice(&region.value().to_be_bytes());
    key.extend_from_slice(&day.to_be_bytes());
    key.extend_from_slice(&case_id.0);
    key
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

    /// A block by height.
    pub fn block(&self, height: u64) -> Result<Option<Block>, StorageError> {
        let blocks = self.transaction.open_table(BLOCKS).map_err(storage)?;
        blocks
            .get(height)
            .map_err(storage)?
            .map(|value| Block::from_bytes(value.value()).map_err(StorageError::from))
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

    /// A header by height.
    pub fn header(&self, height: u64) -> Result<Option<BlockHeader>, StorageError> {
        Ok(self.block(height)?.map(|block| block.header))
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
        let table = self.transaction.open_table(TRANSACTIONS).map_err(storage)?;
        table
            .get(id.0.as_slice())
            .map_err(storage)?
            .map(|value| encoding::decode(value.value()).map_err(StorageError::from))
            .transpose()
    }

    /// All versions of a case, oldest first.
    pub fn case_versions(&self, case_id: &Hash) -> Result<Vec<CaseVersion>, StorageError> {
        let table = self
            .transaction
            .open_table(CASE_VERSIONS)
            .map_err(storage)?;
        let start = version_key(case_id, 0);
        let end = version_key(case_id, u32::MAX);
        let mut versions = Vec::new();
        for entry in table
            .range(start.as_slice()..=end.as_slice())
            .map_err(storage)?
        {
            let (_, value) = entry.map_err(storage)?;
            versions.push(encoding::decode(value.value())?);
        }
        Ok(versions)
    }

    /// Case ids of a disease within a jurisdiction, with onset day in `[first_day, last_day]`, in
    /// (region, day, id) order, at most `limit`.
    pub fn cases_by_disease(
        &self,
        disease: &DiseaseCode,
        jurisdiction: RegionCode,
        first_day: u32,
        last_day: u32,
        limit: usize,
    ) -> Result<Vec<Hash>, StorageError> {
        let table = self
            .transaction
            .open_table(INDEX_DISEASE_REGION_DAY)
            .map_err(storage)?;
        let (low, high) = jurisdiction_range(jurisdiction);
        let mut start = disease_prefix(disease);
        start.extend_from_slice(&low.to_be_bytes());
        let mut end = disease_prefix(disease);
        end.extend_from_slice(&high.to_be_bytes());
        end.extend_from_slice(&[0xFF; 4 + 32]);
        let mut found = Vec::new();
        for entry in table
            .range(start.as_slice()..=end.as_slice())
            .map_err(storage)?
        {
            let (key, _) = entry.map_err(storage)?;
            let key = key.value();
            let day_offset = DISEASE_KEY_BYTES + 4;
            let day = u32::from_be_bytes(
                key[day_offset..day_offset + 4]
                    .try_into()
                    .map_err(|_| StorageError::Corrupt("index key".into()))?,
            );
            if day < first_day || day > last_day {
                continue;
            }
            let id: [u8; 32] = key[day_offset + 4..]
                .try_into()
                .map_err(|_| StorageError::Corrupt("index key".into()))?;
            found.push(Hash(id));
            if found.len() >= limit {
                break;
            }
        }
        Ok(found)
    }

    /// Case ids with a key prefix in one of the simple indexes.
    fn ids_with_prefix(
        &self,
        table: TableDefinition<'_, &[u8], ()>,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Hash>, StorageError> {
        let table = self.transaction.open_table(table).map_err(storage)?;
        let mut end = prefix.to_vec();
        end.extend_from_slice(&[0xFF; 32]);
        let mut found = Vec::new();
        for entry in table.range(prefix..=end.as_slice()).map_err(storage)? {
            let (key, _) = entry.map_err(storage)?;
            let id: [u8; 32] = key.value()[prefix.len()..]
                .try_into()
                .map_err(|_| StorageError::Corrupt("index key".into()))?;
            found.push(Hash(id));
            if found.len() >= limit {
                break;
            }
        }
        Ok(found)
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
        index: TableDefinition<'_, &[u8], ()>,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> Result<Vec<Hash>, StorageError> {
        let table = self.transaction.open_table(index).map_err(storage)?;
        let start = from_ms.to_be_bytes().to_vec();
        let mut end = to_ms.to_be_bytes().to_vec();
        end.extend_from_slice(&[0xFF; 32]);
        let mut found = Vec::new();
        for entry in table
            .range(start.as_slice()..=end.as_slice())
            .map_err(storage)?
            .rev()
        {
            let (key, _) = entry.map_err(storage)?;
            let id: [u8; 32] = key.value()[8..]
                .try_into()
                .map_err(|_| StorageError::Corrupt("time index key".into()))?;
            found.push(Hash(id));
            if found.len() >= limit {
                break;
            }
        }
        Ok(found)
    }

    /// Keys of identities enrolled with `role` exactly at `region`.
    pub fn identities_at(
        &self,
        role: epichain_core::Role,
        region: RegionCode,
    ) -> Result<Vec<epichain_core::PublicKey>, StorageError> {
        self.identities_between(role, region.value(), region.value())
    }

    /// Keys enrolled with `role` anywhere within `region` (the region and below).
    pub fn identities_within(
        &self,
        role: epichain_core::Role,
        region: RegionCode,
    ) -> Result<Vec<epichain_core::PublicKey>, StorageError> {
        let (low, high) = jurisdiction_range(region);
        self.identities_between(role, low, high)
    }

    fn identities_between(
        &self,
        role: epichain_core::Role,
        low: u32,
        high: u32,
    ) -> Result<Vec<epichain_core::PublicKey>, StorageError> {
        let table = self
            .transaction
            .open_table(INDEX_IDENTITIES)
            .map_err(storage)?;
        let mut start = vec![role as u8];
        start.extend_from_slice(&low.to_be_bytes());
        let mut end = vec![role as u8];
        end.extend_from_slice(&high.to_be_bytes());
        end.extend_from_slice(&[0xFF; 32]);
        let mut keys = Vec::new();
        for entry in table
            .range(start.as_slice()..=end.as_slice())
            .map_err(storage)?
        {
            let (key, _) = entry.map_err(storage)?;
            let bytes: [u8; 32] = key.value()[5..]
                .try_into()
                .map_err(|_| StorageError::Corrupt("identity index key".into()))?;
            keys.push(epichain_core::PublicKey(bytes));
        }
        Ok(keys)
    }

    /// Access logs of a case: (height, reader, time, purpose), oldest first.
    pub fn access_logs(
        &self,
        case_id: &Hash,
    ) -> Result<Vec<(u64, epichain_core::PublicKey, u64, String)>, StorageError> {
        let table = self.transaction.open_table(INDEX_ACCESS).map_err(storage)?;
        let start = case_id.0.to_vec();
        let mut end = case_id.0.to_vec();
        end.extend_from_slice(&[0xFF; 40]);
        let mut logs = Vec::new();
        for entry in table
            .range(start.as_slice()..=end.as_slice())
            .map_err(storage)?
        {
            let (key, value) = entry.map_err(storage)?;
            let key = key.value();
            let height = u64::from_be_bytes(
                key[32..40]
                    .try_into()
                    .map_err(|_| StorageError::Corrupt("access index key".into()))?,
            );
            let reader: [u8; 32] = key[40..]
                .try_into()
                .map_err(|_| StorageError::Corrupt("access index key".into()))?;
            let (time_ms, purpose): (u64, String) = encoding::decode(value.value())?;
            logs.push((height, epichain_core::PublicKey(reader), time_ms, purpose));
        }
        Ok(logs)
    }

    /// Case ids reported by a key.
    pub fn cases_by_reporter(
        &self,
        reporter: &epichain_core::PublicKey,
        limit: usize,
    ) -> Result<Vec<Hash>, StorageError> {
        self.ids_with_prefix(INDEX_REPORTER, &reporter.0, limit)
    }

    /// Case ids of a patient (key or pseudonym).
    pub fn cases_by_patient(
        &self,
        patient: &epichain_core::PatientRef,
        limit: usize,
    ) -> Result<Vec<Hash>, StorageError> {
        self.ids_with_prefix(INDEX_PATIENT, &encoding::encode(patient), limit)
    }

    /// The Merkle tree over this snapshot.
    pub fn tree(&self) -> jmt::Sha256Jmt<'_, Self> {
        jmt::Sha256Jmt::new(self)
    }
}

impl StateRead for StoreReader {
    fn read(&self, key: &StateKey) -> Result<Option<StateValue>, StorageError> {
        Self::get_bytes(&self.state, &key.tree_key())?
            .map(|bytes| StateValue::from_bytes(key, &bytes).map_err(StorageError::from))
            .transpose()
    }
}

impl TreeReader for StoreReader {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Self::get_bytes(&self.nodes, &encoding::encode(node_key))
            .map_err(anyhow_storage)?
            .map(|bytes| encoding::decode(&bytes).map_err(|error| anyhow::anyhow!(error)))
            .transpose()
    }

    /// Only the latest value of each key is kept; `max_version` is the latest by construction.
    fn get_value_option(
        &self,
        _max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Self::get_bytes(&self.state, &key_hash.0).map_err(anyhow_storage)
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        anyhow::bail!("epichain's store does not support tree restoration")
    }
}
