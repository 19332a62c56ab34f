//! The authenticated state as the ledger reads it. The keys and records are defined in
//! [`epichain_core::state`] (shared with the offline verifier); this module adds reading.

use crate::StorageError;
pub use epichain_core::state::*;

/// Read access to the committed state.
pub trait StateRead {
    /// The value under a key, if any.
    fn read(&self, key: &StateKey) -> Result<Option<StateValue>, StorageError>;

    /// The typed record under `key`, if any; a value of another type is corruption.
    fn get<E: Entry>(&self, key: &E::Key) -> Result<Option<E>, StorageError> {
        let state_key = E::state_key(key);
        match self.read(&state_key)? {
            None => Ok(None),
            Some(value) => E::from_value(value).map(Some).ok_or_else(|| {
                StorageError::Corrupt(format!("state key {state_key:?} holds another record type"))
            }),
        }
    }
}
