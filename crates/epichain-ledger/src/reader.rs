//! Typed queries over one consistent snapshot of the committed state, blocks and indexes.

use crate::state::{
    CaseRecord, CaseVersion, CaseView, ChainConfig, CountBasis, CountKey, DetailsRef,
    DisclosureBatch, DisclosureKey, DisclosureTally, Entry, GrantRecord, IdentityRecord,
    PostingKey, SharedKey, SharedRecord, StateRead, StatusCounts, TransactionLocation,
    VersionChange, VersionView, details_hash, verify_version_chain,
};
use crate::store::StoreReader;
use crate::{LedgerError, StorageError};
use epichain_core::disclosure::RecordVersion;
use epichain_core::encoding::Hash;
use epichain_core::{Payload, PublicKey, Receipt};

/// Typed queries over one consistent snapshot.
pub struct LedgerReader {
    pub(crate) reader: StoreReader,
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

    /// The disclosure grants open at `now_ms`, newest first, at most `limit`: only grants opened
    /// within the longest validity (`GRANT_DAYS_MAX`) can still be open, so only those are read.
    pub fn open_grants(&self, now_ms: u64, limit: usize) -> Result<Vec<GrantRecord>, LedgerError> {
        let oldest_open_ms =
            now_ms.saturating_sub(u64::from(crate::execute::GRANT_DAYS_MAX) * 86_400_000);
        let mut open = Vec::new();
        for id in self
            .reader
            .grant_ids(oldest_open_ms, u64::MAX >> 1, limit)?
        {
            if let Some(grant) = self.get::<GrantRecord>(&id)?
                && grant.is_open(now_ms)
            {
                open.push(grant);
            }
        }
        Ok(open)
    }

    /// A holder's postings for a grantee of a grant, from posting `from`, at most `limit`.
    pub fn disclosure_postings(
        &self,
        key: &DisclosureKey,
        from: u32,
        limit: usize,
    ) -> Result<Vec<DisclosureBatch>, LedgerError> {
        let tally = self.get::<DisclosureTally>(key)?.unwrap_or_default();
        (from..tally.postings)
            .take(limit)
            .map(|sequence| {
                let posting = PostingKey {
                    disclosure: key.clone(),
                    sequence,
                };
                self.get::<DisclosureBatch>(&posting)?.ok_or_else(|| {
                    StorageError::Corrupt(format!("posting {sequence} missing")).into()
                })
            })
            .collect()
    }

    /// True if the holder already shared the record version with the grantee.
    pub fn is_shared(
        &self,
        key: &DisclosureKey,
        record: RecordVersion,
    ) -> Result<bool, LedgerError> {
        let shared = SharedKey {
            disclosure: key.clone(),
            record,
        };
        Ok(self.get::<SharedRecord>(&shared)?.is_some())
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
        self.case_history_page(id, 0, u32::MAX)
    }

    /// At most `limit` versions of a case's history from version `from`, oldest first, each
    /// with its change. The whole chain is checked up to the head; only the page's changes are
    /// read from their transactions.
    pub fn case_history_page(
        &self,
        id: &Hash,
        from: u32,
        limit: u32,
    ) -> Result<Vec<VersionView>, LedgerError> {
        self.case_versions(id)?
            .into_iter()
            .skip(from as usize)
            .take(limit as usize)
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
