//! Block-level writes over the committed state, with a transaction-level layer on top: a
//! transaction's writes join the block's when it applies and vanish when it is rejected.

use crate::StorageError;
use crate::state::{Entry, STATE_VALUE_BYTES_MAX, StateKey, StateRead, StateValue};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// The committed state seen through this block's writes. Reads of the committed state are
/// remembered for the block: the same authorities, keys and counts are read by many
/// transactions.
pub(super) struct Overlay<'a, S> {
    base: &'a S,
    base_reads: RefCell<BTreeMap<StateKey, Option<StateValue>>>,
    block: BTreeMap<StateKey, StateValue>,
    transaction: BTreeMap<StateKey, StateValue>,
}

impl<'a, S: StateRead> Overlay<'a, S> {
    pub(super) fn new(base: &'a S) -> Self {
        Overlay {
            base,
            base_reads: RefCell::new(BTreeMap::new()),
            block: BTreeMap::new(),
            transaction: BTreeMap::new(),
        }
    }

    /// The typed record under `key`, newest write first.
    pub(super) fn get<E: Entry>(&self, key: &E::Key) -> Result<Option<E>, StorageError> {
        let state_key = E::state_key(key);
        let value = match self.latest(&state_key) {
            Some(value) => value.clone(),
            None => match self.read_base(&state_key)? {
                Some(value) => value,
                None => return Ok(None),
            },
        };
        E::from_value(value).map(Some).ok_or_else(|| {
            StorageError::Corrupt(format!("state key {state_key:?} holds another record type"))
        })
    }

    /// True if some value is stored under `key`.
    pub(super) fn contains(&self, key: &StateKey) -> Result<bool, StorageError> {
        if self.latest(key).is_some() {
            return Ok(true);
        }
        Ok(self.read_base(key)?.is_some())
    }

    /// The committed value under `key`, read once per block.
    fn read_base(&self, key: &StateKey) -> Result<Option<StateValue>, StorageError> {
        if let Some(remembered) = self.base_reads.borrow().get(key) {
            return Ok(remembered.clone());
        }
        let value = self.base.read(key)?;
        self.base_reads
            .borrow_mut()
            .insert(key.clone(), value.clone());
        Ok(value)
    }

    fn latest(&self, key: &StateKey) -> Option<&StateValue> {
        self.transaction.get(key).or_else(|| self.block.get(key))
    }

    /// Writes a record in the transaction layer.
    pub(super) fn put<E: Entry>(&mut self, key: &E::Key, record: E) {
        self.transaction
            .insert(E::state_key(key), record.into_value());
    }

    /// The transaction applied: its writes join the block's, unless one encodes above
    /// [`STATE_VALUE_BYTES_MAX`] (its size is returned; the writes stay for the caller to
    /// discard).
    pub(super) fn commit_transaction(&mut self) -> Result<(), u64> {
        if let Some(bytes) = self
            .transaction
            .values()
            .map(|value| value.to_bytes().len())
            .find(|bytes| *bytes > STATE_VALUE_BYTES_MAX)
        {
            return Err(bytes as u64);
        }
        let writes = std::mem::take(&mut self.transaction);
        self.block.extend(writes);
        Ok(())
    }

    /// The transaction was rejected: its writes vanish.
    pub(super) fn discard_transaction(&mut self) {
        self.transaction.clear();
    }

    /// The block's writes, in key order.
    pub(super) fn into_writes(self) -> BTreeMap<StateKey, StateValue> {
        debug_assert!(
            self.transaction.is_empty(),
            "a transaction's writes were neither committed nor discarded"
        );
        self.block
    }
}
