//! The disclosure contract: grants (opened by a confirmed outbreak or by governance, revoked by
//! governance, expiring) and the decryption shares holders post for granted records. The ledger
//! sees only public facts: which records, for whom, from which holder; the partial decryptions
//! themselves are sealed to the grantee.
//!
//! - A confirmed outbreak opens a grant over the signal's disease and region from
//!   `OUTBREAK_LOOKBACK_DAYS` before its period to the day of confirmation, for
//!   `OUTBREAK_GRANT_DAYS`; its audience is fixed by the scope (neighbouring regions and parent
//!   authorities).
//! - Shares are accepted from escrow holders, once the escrow key exists, for open grants only,
//!   for grantees in the audience with a published encryption key, for record versions in scope,
//!   each record version once per grantee and holder.

use super::{Event, Exec, Executor};
use crate::StorageError;
use crate::state::{
    CaseRecord, DisclosureBatch, DisclosureKey, DisclosureTally, EscrowKeyRecord, GrantRecord,
    GrantSource, IdentityRecord, PostingKey, SharedKey, SharedRecord, SignalRecord, StateRead,
};
use epichain_core::disclosure::{
    DecryptionShares, GRANT_NOTE_SEALED_BYTES_MAX, GrantPurpose, GrantRequest, GrantScope,
    OUTBREAK_GRANT_DAYS, OUTBREAK_LOOKBACK_DAYS, SHARED_RECORDS_MAX,
};
use epichain_core::encoding::{Hash, hash_tagged_parts};
use epichain_core::rejection::DisclosureProblem;
use epichain_core::sealed::EncryptionPublicKey;
use epichain_core::warning::{Period, first_day_of_week};
use epichain_core::{Day, RegionCode, Rejection};

pub use super::escrow::ESCROW_COMBINE_WAIT_BLOCKS;
use super::escrow::HOLDER_SEALED_BYTES_MAX;

/// Longest grant.
pub const GRANT_DAYS_MAX: u32 = 365;

/// The id of a grant.
pub fn grant_id(source: &GrantSource, index: u32) -> Hash {
    match source {
        GrantSource::Outbreak { signal } => {
            hash_tagged_parts("epichain/v1/grant", &[b"outbreak", &signal.0])
        }
        GrantSource::Governance { sequence } => hash_tagged_parts(
            "epichain/v1/grant",
            &[b"governance", &sequence.to_le_bytes(), &index.to_le_bytes()],
        ),
    }
}

/// What a confirmed outbreak discloses: the signal's disease in its region, from
/// [`OUTBREAK_LOOKBACK_DAYS`] before the signal's period to the day of confirmation.
pub fn outbreak_scope(signal: &SignalRecord, today: Day) -> GrantScope {
    let start = match signal.period {
        Period::Daily => Day(signal.period_index),
        Period::Weekly => first_day_of_week(signal.period_index),
    };
    GrantScope {
        disease: signal.disease.clone(),
        region: signal.region,
        first_day: Day(start.0.saturating_sub(OUTBREAK_LOOKBACK_DAYS)),
        last_day: today,
    }
}

impl<S: StateRead> Executor<'_, S> {
    /// Opens a grant; returns its id.
    fn open_grant(
        &mut self,
        source: GrantSource,
        index: u32,
        scope: GrantScope,
        valid_days: u32,
        purpose: GrantPurpose,
        sealed_note: Vec<u8>,
    ) -> Exec<Hash> {
        let id = grant_id(&source, index);
        // Grant ids derive from the confirming signal (confirmed once) or from the proposal's
        // sequence and the action's index: a taken id is a broken invariant, not a rejection.
        if self.exists::<GrantRecord>(&id)? {
            return Err(StorageError::Corrupt(format!("grant id {id} is taken")).into());
        }
        let audience = scope.audience(&self.config.regions);
        let record = GrantRecord {
            id,
            source,
            audience,
            purpose,
            sealed_note,
            created_height: self.context.height,
            created_time_ms: self.context.time_ms,
            expires_time_ms: self
                .context
                .time_ms
                .saturating_add(u64::from(valid_days) * epichain_core::calendar::DAY_MS as u64),
            revoked_height: None,
            scope,
        };
        self.pending_events.push(Event::GrantOpened {
            grant: id,
            disease: record.scope.disease.clone(),
            region: record.scope.region,
        });
        self.overlay.put(&id, record);
        Ok(id)
    }

    /// The grant a confirmed outbreak opens: purpose outbreak response, no note.
    pub(super) fn open_outbreak_grant(&mut self, signal: &SignalRecord) -> Exec<Hash> {
        let scope = outbreak_scope(signal, self.context.day());
        self.open_grant(
            GrantSource::Outbreak { signal: signal.id },
            0,
            scope,
            OUTBREAK_GRANT_DAYS,
            GrantPurpose::OutbreakResponse,
            Vec::new(),
        )
    }

    /// A grant requested by governance.
    pub(super) fn open_governance_grant(
        &mut self,
        sequence: u64,
        index: u32,
        request: &GrantRequest,
    ) -> Exec<Hash> {
        let scope = &request.scope;
        if self.config.catalogue.get(&scope.disease).is_none() {
            return Err(Rejection::UnknownDisease(scope.disease.clone()).into());
        }
        if !self.config.regions.contains(scope.region) {
            return Err(Rejection::UnknownRegion(scope.region).into());
        }
        if scope.first_day > scope.last_day {
            return Err(DisclosureProblem::DaysOutOfOrder.into());
        }
        if request.valid_days == 0 || request.valid_days > GRANT_DAYS_MAX {
            return Err(DisclosureProblem::GrantDays(request.valid_days).into());
        }
        if request.sealed_note.len() > GRANT_NOTE_SEALED_BYTES_MAX {
            return Err(DisclosureProblem::NoteTooLong(request.sealed_note.len() as u32).into());
        }
        // The request's words are for the national authorities that approve it.
        self.check_envelope(&request.sealed_note, RegionCode::NATIONAL)?;
        self.open_grant(
            GrantSource::Governance { sequence },
            index,
            scope.clone(),
            request.valid_days,
            request.purpose,
            request.sealed_note.clone(),
        )
    }

    /// Closes a grant (governance).
    pub(super) fn revoke_grant(&mut self, id: &Hash) -> Exec<()> {
        let Some(mut grant) = self.get::<GrantRecord>(id)? else {
            return Err(DisclosureProblem::UnknownGrant(*id).into());
        };
        if grant.revoked_height.is_some() {
            return Err(DisclosureProblem::GrantRevoked(*id).into());
        }
        grant.revoked_height = Some(self.context.height);
        self.pending_events.push(Event::GrantRevoked { grant: *id });
        self.overlay.put(id, grant);
        Ok(())
    }

    /// A holder's sealed partial decryptions for one grantee.
    pub(super) fn decryption_shares(
        &mut self,
        signer: &IdentityRecord,
        shares: &DecryptionShares,
    ) -> Exec<()> {
        let grant = self.open_grant_for_shares(signer, shares)?;
        self.check_grantee(&grant, shares)?;
        if shares.records.is_empty() || shares.records.len() > SHARED_RECORDS_MAX {
            return Err(DisclosureProblem::RecordCount(shares.records.len() as u32).into());
        }
        if !shares.records.windows(2).all(|pair| pair[0] < pair[1]) {
            return Err(DisclosureProblem::RecordsOutOfOrder.into());
        }
        if shares.sealed.len() > HOLDER_SEALED_BYTES_MAX {
            return Err(DisclosureProblem::SharesTooLarge.into());
        }
        let key = DisclosureKey {
            grant: grant.id,
            grantee: shares.grantee,
            holder: signer.key,
        };
        self.check_shared_records(&grant, &key, shares)?;
        // Each posting shares at least one new covered version, so a holder's postings for a
        // grantee are bounded by the versions the grant covers, and each is its own value.
        let mut tally = self.get::<DisclosureTally>(&key)?.unwrap_or_default();
        let posting = PostingKey {
            disclosure: key.clone(),
            sequence: tally.postings,
        };
        for record in &shares.records {
            let shared = SharedKey {
                disclosure: key.clone(),
                record: *record,
            };
            self.overlay.put(
                &shared,
                SharedRecord {
                    posting: tally.postings,
                },
            );
        }
        self.overlay.put(
            &posting,
            DisclosureBatch {
                records: shares.records.clone(),
                sealed: shares.sealed.clone(),
                height: self.context.height,
            },
        );
        tally.postings += 1;
        tally.records += shares.records.len() as u32;
        self.overlay.put(&key, tally);
        self.pending_events.push(Event::DecryptionSharesPosted {
            grant: grant.id,
            grantee: shares.grantee,
            holder: signer.key,
            records: shares.records.len() as u32,
        });
        Ok(())
    }

    /// The grant of a posting: the signer holds an escrow share, the key exists, the grant is
    /// open.
    fn open_grant_for_shares(
        &self,
        signer: &IdentityRecord,
        shares: &DecryptionShares,
    ) -> Exec<GrantRecord> {
        if !self.config.escrow_holders.contains(&signer.key) {
            return Err(DisclosureProblem::NotHolder.into());
        }
        if !self.exists::<EscrowKeyRecord>(&())? {
            return Err(DisclosureProblem::NoEscrowKey.into());
        }
        let Some(grant) = self.get::<GrantRecord>(&shares.grant)? else {
            return Err(DisclosureProblem::UnknownGrant(shares.grant).into());
        };
        if grant.revoked_height.is_some() {
            return Err(DisclosureProblem::GrantRevoked(grant.id).into());
        }
        if !grant.is_open(self.context.time_ms) {
            return Err(DisclosureProblem::GrantExpired(grant.id).into());
        }
        Ok(grant)
    }

    /// The grantee is enrolled, in good standing, in the audience, with an encryption key.
    fn check_grantee(&self, grant: &GrantRecord, shares: &DecryptionShares) -> Exec<()> {
        let Some(grantee) = self.get::<IdentityRecord>(&shares.grantee)? else {
            return Err(DisclosureProblem::GranteeNotEnrolled(shares.grantee).into());
        };
        match self.check_standing(&grantee) {
            Ok(()) => {}
            Err(super::Halt::Reject(_)) => {
                return Err(DisclosureProblem::GranteeNotInGoodStanding(shares.grantee).into());
            }
            Err(abort) => return Err(abort),
        }
        if !grant.admits(&grantee) {
            return Err(DisclosureProblem::NotInAudience {
                role: grantee.role,
                region: grantee.region,
            }
            .into());
        }
        if !self.exists::<EncryptionPublicKey>(&shares.grantee)? {
            return Err(DisclosureProblem::GranteeHasNoEncryptionKey.into());
        }
        Ok(())
    }

    /// Every record version of a posting exists, is in the grant's scope, and was not shared
    /// with this grantee by this holder before.
    fn check_shared_records(
        &self,
        grant: &GrantRecord,
        key: &DisclosureKey,
        shares: &DecryptionShares,
    ) -> Exec<()> {
        for item in &shares.records {
            let Some(case) = self.get::<CaseRecord>(&item.case_id)? else {
                return Err(Rejection::UnknownCase(item.case_id).into());
            };
            if !grant
                .scope
                .covers(&case.disease, case.region, case.report_day)
            {
                return Err(DisclosureProblem::NotCovered(item.case_id).into());
            }
            if item.version > case.version {
                return Err(DisclosureProblem::NoSuchVersion {
                    case_id: item.case_id,
                    version: item.version,
                }
                .into());
            }
            let shared = SharedKey {
                disclosure: key.clone(),
                record: *item,
            };
            if self.exists::<SharedRecord>(&shared)? {
                return Err(DisclosureProblem::AlreadyShared {
                    case_id: item.case_id,
                    version: item.version,
                }
                .into());
            }
        }
        Ok(())
    }
}
