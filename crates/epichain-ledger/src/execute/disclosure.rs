//! The access contract: the escrow key generation among the holders, disclosure grants (opened
//! by a confirmed outbreak or by governance, revoked by governance, expiring), and the
//! decryption shares holders post for granted records. The ledger sees only public facts: which
//! records, for whom, from which holder; the partial decryptions themselves are sealed to the
//! grantee.

use super::{Event, Executor, StateRead, Step};
use crate::StorageError;
use crate::rules::Rejection;
use crate::state::{
    DealingAck, DealingRecord, DisclosureBatch, DisclosureKey, DisclosureRecord, EscrowKeyRecord,
    GrantRecord, GrantSource, IdentityRecord, SignalRecord, StateKey, StateValue,
};
use epichain_core::disclosure::{
    DecryptionShares, ESCROW_MESSAGE_BYTES_MAX, EscrowMessage, GrantRequest, GrantScope,
    OUTBREAK_GRANT_DAYS, OUTBREAK_LOOKBACK_DAYS, SHARED_RECORDS_MAX,
};
use epichain_core::encoding::{Hash, hash_tagged_parts};
use epichain_core::warning::{Period, first_day_of_week};
use epichain_core::{Day, PublicKey};
use std::collections::BTreeMap;

/// Blocks after the first dealer's log at which a quorum of logs is combined even if some
/// holders never logged.
pub const ESCROW_COMBINE_WAIT_BLOCKS: u64 = 100;

/// Longest public purpose of a grant.
pub const GRANT_PURPOSE_BYTES_MAX: usize = 256;

/// Longest grant.
pub const GRANT_DAYS_MAX: u32 = 365;

/// Largest sealed share bundle or sealed dealing.
const SEALED_BYTES_MAX: usize = 48 * 1024;

const DAY_MS: u64 = 86_400_000;

fn refuse_escrow<T>(message: impl Into<String>) -> Step<T> {
    Ok(Err(Rejection::Escrow(message.into())))
}

fn refuse<T>(message: impl Into<String>) -> Step<T> {
    Ok(Err(Rejection::Disclosure(message.into())))
}

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
    /// The sealing rule for a report's or update's details in `region`: empty (no details), or
    /// an envelope of the known format that names among its readers an unrevoked authority over
    /// the region with a published encryption key (so the jurisdiction can read it), and, once
    /// the escrow key exists, carries an escrow wrap (so a disclosure grant can reach it). The
    /// ledger cannot see inside the ciphertexts: whether each wrap opens is the readers' check.
    pub(super) fn check_sealed(
        &self,
        sealed: &[u8],
        region: epichain_core::RegionCode,
    ) -> Step<()> {
        if sealed.is_empty() {
            return Ok(Ok(()));
        }
        let refuse_sealed = |message: String| Ok(Err(Rejection::Sealed(message)));
        let envelope = match epichain_core::sealed::Envelope::from_bytes(sealed) {
            Ok(envelope) => envelope,
            Err(error) => return refuse_sealed(error.to_string()),
        };
        let mut authority = false;
        for reader in envelope.reader_keys() {
            let Some(identity) = self.overlay.identity(reader)? else {
                continue;
            };
            if identity.role == epichain_core::Role::Authority
                && identity.revoked.is_none()
                && region.is_within(identity.region)
                && self
                    .overlay
                    .get(&StateKey::EncryptionKey(*reader))?
                    .is_some()
            {
                authority = true;
                break;
            }
        }
        if !authority {
            return refuse_sealed(format!(
                "no reader is an authority over {region} with a published encryption key: the jurisdiction could not read them"
            ));
        }
        if self.escrow_key()?.is_some() {
            if envelope.escrow.is_empty() {
                return refuse_sealed(
                    "the escrow key exists: wrap the data key to it too, or no disclosure grant can reach these details"
                        .to_string(),
                );
            }
            if let Err(error) = epichain_escrow::check_wrap_shape(&envelope.escrow) {
                return refuse_sealed(error.to_string());
            }
        }
        Ok(Ok(()))
    }

    fn dealing(&self, dealer: &PublicKey) -> Result<Option<DealingRecord>, StorageError> {
        match self.overlay.get(&StateKey::EscrowDealing(*dealer))? {
            Some(StateValue::EscrowDealing(record)) => Ok(Some(*record)),
            _ => Ok(None),
        }
    }

    fn escrow_key(&self) -> Result<Option<EscrowKeyRecord>, StorageError> {
        match self.overlay.get(&StateKey::EscrowKey)? {
            Some(StateValue::EscrowKey(record)) => Ok(Some(*record)),
            _ => Ok(None),
        }
    }

    fn grant(&self, id: &Hash) -> Result<Option<GrantRecord>, StorageError> {
        match self.overlay.get(&StateKey::Grant(*id))? {
            Some(StateValue::Grant(record)) => Ok(Some(*record)),
            _ => Ok(None),
        }
    }

    fn put_dealing(&mut self, record: DealingRecord) {
        self.overlay.put(
            StateKey::EscrowDealing(record.dealer),
            StateValue::EscrowDealing(Box::new(record)),
        );
    }

    /// A key-generation message from an escrow holder.
    pub(super) fn escrow(&mut self, signer: &IdentityRecord, message: &EscrowMessage) -> Step<()> {
        let holders = self.config.escrow_holders.clone();
        if !holders.contains(&signer.key) {
            return refuse_escrow(format!("{} is not an escrow holder", signer.key));
        }
        if self.escrow_key()?.is_some() {
            return refuse_escrow("the escrow key is already generated");
        }
        match message {
            EscrowMessage::Deal { public, shares } => {
                if self.dealing(&signer.key)?.is_some() {
                    return refuse_escrow("this holder has already dealt");
                }
                if public.len() > ESCROW_MESSAGE_BYTES_MAX {
                    return refuse_escrow("commitment too large");
                }
                if let Err(error) = epichain_escrow::check_commitment(public, holders.len()) {
                    return refuse_escrow(error.to_string());
                }
                let mut players: Vec<PublicKey> = shares.iter().map(|share| share.player).collect();
                players.sort();
                let mut expected = holders.clone();
                expected.sort();
                if players != expected {
                    return refuse_escrow("a dealing has exactly one share per holder");
                }
                if shares
                    .iter()
                    .any(|share| share.sealed.len() > SEALED_BYTES_MAX)
                {
                    return refuse_escrow("sealed share too large");
                }
                self.put_dealing(DealingRecord {
                    dealer: signer.key,
                    public: public.clone(),
                    shares: shares.clone(),
                    height: self.context.height,
                    acks: Vec::new(),
                    log: Vec::new(),
                    log_height: None,
                });
            }
            EscrowMessage::Ack { dealer, ack } => {
                let Some(mut dealing) = self.dealing(dealer)? else {
                    return refuse_escrow(format!("no dealing from {dealer}"));
                };
                if !dealing.log.is_empty() {
                    return refuse_escrow("the dealing is closed");
                }
                if dealing.acks.iter().any(|known| known.player == signer.key) {
                    return refuse_escrow("already acknowledged");
                }
                if let Err(error) = epichain_escrow::check_ack(ack) {
                    return refuse_escrow(error.to_string());
                }
                dealing.acks.push(DealingAck {
                    player: signer.key,
                    ack: ack.clone(),
                });
                self.put_dealing(dealing);
            }
            EscrowMessage::Log { log } => {
                let Some(mut dealing) = self.dealing(&signer.key)? else {
                    return refuse_escrow("no dealing from this holder");
                };
                if !dealing.log.is_empty() {
                    return refuse_escrow("the dealing is already closed");
                }
                let info = match epichain_escrow::dkg_info(&self.config.chain_id, &holders) {
                    Ok(info) => info,
                    Err(error) => return refuse_escrow(error.to_string()),
                };
                let checked = epichain_escrow::check_log(&info, holders.len(), log);
                if checked.map(|(dealer, _)| epichain_escrow::our_key(&dealer)) != Some(signer.key)
                {
                    return refuse_escrow("the log does not verify for this dealer");
                }
                dealing.log = log.clone();
                dealing.log_height = Some(self.context.height);
                self.put_dealing(dealing);
                self.combine_escrow(false)?;
            }
        }
        Ok(Ok(()))
    }

    /// Combines the logs into the escrow key once every holder logged, or (with `deadline`) once
    /// a quorum logged and [`ESCROW_COMBINE_WAIT_BLOCKS`] passed since the first log.
    fn combine_escrow(&mut self, deadline: bool) -> Result<(), StorageError> {
        let holders = self.config.escrow_holders.clone();
        let mut logs = BTreeMap::new();
        let mut first_log = u64::MAX;
        for holder in &holders {
            if let Some(dealing) = self.dealing(holder)?
                && let Some(height) = dealing.log_height
            {
                first_log = first_log.min(height);
                logs.insert(*holder, dealing.log);
            }
        }
        let everyone = logs.len() == holders.len();
        let waited = deadline
            && logs.len() >= epichain_escrow::threshold_for(holders.len()) as usize
            && self.context.height >= first_log.saturating_add(ESCROW_COMBINE_WAIT_BLOCKS);
        if !everyone && !waited {
            return Ok(());
        }
        let Ok(info) = epichain_escrow::dkg_info(&self.config.chain_id, &holders) else {
            return Ok(());
        };
        let Ok(generated) =
            epichain_escrow::observe_logs(&self.config.chain_id, &info, holders.len(), &logs)
        else {
            return Ok(());
        };
        let record = EscrowKeyRecord {
            sharing: generated.sharing,
            threshold: generated.threshold,
            holders: generated.holders,
            dealers: generated.dealers,
            height: self.context.height,
        };
        self.pending_events.push(Event::EscrowKeyGenerated {
            threshold: record.threshold,
            holders: record.holders.len() as u32,
            revealed: generated.revealed.len() as u32,
        });
        self.overlay
            .put(StateKey::EscrowKey, StateValue::EscrowKey(Box::new(record)));
        Ok(())
    }

    /// End of block: a quorum of logs is combined after the wait even if some holders are silent.
    pub(super) fn escrow_deadline(&mut self) -> Result<(), StorageError> {
        if self.config.escrow_holders.is_empty() || self.escrow_key()?.is_some() {
            return Ok(());
        }
        self.combine_escrow(true)?;
        self.output.events.append(&mut self.pending_events);
        self.overlay.commit_transaction();
        Ok(())
    }

    /// Opens a grant; returns its id.
    pub(super) fn open_grant(
        &mut self,
        source: GrantSource,
        index: u32,
        scope: GrantScope,
        valid_days: u32,
        purpose: String,
    ) -> Step<Hash> {
        let id = grant_id(&source, index);
        if self.grant(&id)?.is_some() {
            return refuse(format!("grant {id} exists"));
        }
        let audience = scope.audience(&self.config.regions);
        let record = GrantRecord {
            id,
            source,
            audience,
            purpose,
            created_height: self.context.height,
            created_time_ms: self.context.time_ms,
            expires_time_ms: self
                .context
                .time_ms
                .saturating_add(u64::from(valid_days) * DAY_MS),
            revoked_height: None,
            scope,
        };
        self.pending_events.push(Event::GrantOpened {
            grant: id,
            disease: record.scope.disease.clone(),
            region: record.scope.region,
        });
        self.overlay
            .put(StateKey::Grant(id), StateValue::Grant(Box::new(record)));
        Ok(Ok(id))
    }

    /// The grant a confirmed outbreak opens.
    pub(super) fn open_outbreak_grant(&mut self, signal: &SignalRecord) -> Step<Hash> {
        let scope = outbreak_scope(signal, self.context.day());
        let purpose = format!(
            "confirmed outbreak: {} in {} (signal {})",
            signal.disease, signal.region, signal.id
        );
        self.open_grant(
            GrantSource::Outbreak { signal: signal.id },
            0,
            scope,
            OUTBREAK_GRANT_DAYS,
            purpose,
        )
    }

    /// A grant requested by governance.
    pub(super) fn open_governance_grant(
        &mut self,
        sequence: u64,
        index: u32,
        request: &GrantRequest,
    ) -> Step<Hash> {
        let scope = &request.scope;
        if self.config.catalogue.get(&scope.disease).is_none() {
            return Ok(Err(Rejection::UnknownDisease(scope.disease.clone())));
        }
        if !self.config.regions.contains(scope.region) {
            return Ok(Err(Rejection::UnknownRegion(scope.region)));
        }
        if scope.first_day > scope.last_day {
            return refuse("a grant's first day is not after its last day");
        }
        if request.valid_days == 0 || request.valid_days > GRANT_DAYS_MAX {
            return refuse(format!("a grant lasts 1 to {GRANT_DAYS_MAX} days"));
        }
        if request.purpose.trim().is_empty() || request.purpose.len() > GRANT_PURPOSE_BYTES_MAX {
            return refuse(format!(
                "a grant's purpose is 1 to {GRANT_PURPOSE_BYTES_MAX} bytes"
            ));
        }
        self.open_grant(
            GrantSource::Governance { sequence },
            index,
            scope.clone(),
            request.valid_days,
            request.purpose.clone(),
        )
    }

    /// Closes a grant (governance).
    pub(super) fn revoke_grant(&mut self, id: &Hash) -> Step<()> {
        let Some(mut grant) = self.grant(id)? else {
            return refuse(format!("unknown grant {id}"));
        };
        if grant.revoked_height.is_some() {
            return refuse(format!("grant {id} is already revoked"));
        }
        grant.revoked_height = Some(self.context.height);
        self.pending_events.push(Event::GrantRevoked { grant: *id });
        self.overlay
            .put(StateKey::Grant(*id), StateValue::Grant(Box::new(grant)));
        Ok(Ok(()))
    }

    /// A holder's sealed partial decryptions for one grantee.
    pub(super) fn decryption_shares(
        &mut self,
        signer: &IdentityRecord,
        shares: &DecryptionShares,
    ) -> Step<()> {
        if !self.config.escrow_holders.contains(&signer.key) {
            return refuse(format!("{} is not an escrow holder", signer.key));
        }
        if self.escrow_key()?.is_none() {
            return refuse("the escrow key is not generated yet");
        }
        let Some(grant) = self.grant(&shares.grant)? else {
            return refuse(format!("unknown grant {}", shares.grant));
        };
        if grant.revoked_height.is_some() {
            return refuse(format!("grant {} is revoked", grant.id));
        }
        if !grant.is_open(self.context.time_ms) {
            return refuse(format!("grant {} has expired", grant.id));
        }
        let Some(grantee) = self.overlay.identity(&shares.grantee)? else {
            return refuse(format!("grantee {} is not enrolled", shares.grantee));
        };
        if let Err(rejection) = self.check_standing(&grantee)? {
            return refuse(format!("grantee {}: {rejection}", shares.grantee));
        }
        if !grant.audience.includes(grantee.role, grantee.region) {
            return refuse(format!(
                "a {} in {} is not a grantee of grant {}",
                grantee.role, grantee.region, grant.id
            ));
        }
        if self
            .overlay
            .get(&StateKey::EncryptionKey(shares.grantee))?
            .is_none()
        {
            return refuse("the grantee has published no encryption key");
        }
        if shares.records.is_empty() || shares.records.len() > SHARED_RECORDS_MAX {
            return refuse(format!("1 to {SHARED_RECORDS_MAX} records per posting"));
        }
        if !shares.records.windows(2).all(|pair| pair[0] < pair[1]) {
            return refuse("records are listed in order, each once");
        }
        if shares.sealed.len() > SEALED_BYTES_MAX {
            return refuse("sealed shares too large");
        }
        let key = StateKey::Disclosure(DisclosureKey {
            grant: grant.id,
            grantee: shares.grantee,
            holder: signer.key,
        });
        let mut record = match self.overlay.get(&key)? {
            Some(StateValue::Disclosure(record)) => *record,
            _ => DisclosureRecord::default(),
        };
        for item in &shares.records {
            let Some(case) = self.overlay.case(&item.case_id)? else {
                return Ok(Err(Rejection::UnknownCase(item.case_id)));
            };
            if !grant
                .scope
                .covers(&case.disease, case.region, case.report_day)
            {
                return refuse(format!(
                    "case {} is not covered by grant {}",
                    item.case_id, grant.id
                ));
            }
            if item.version > case.version {
                return refuse(format!(
                    "case {} has no version {}",
                    item.case_id, item.version
                ));
            }
            if record.contains(item) {
                return refuse(format!(
                    "case {} version {} was already shared with this grantee",
                    item.case_id, item.version
                ));
            }
        }
        record.batches.push(DisclosureBatch {
            records: shares.records.clone(),
            sealed: shares.sealed.clone(),
            height: self.context.height,
        });
        self.pending_events.push(Event::DecryptionSharesPosted {
            grant: grant.id,
            grantee: shares.grantee,
            holder: signer.key,
            records: shares.records.len() as u32,
        });
        self.overlay
            .put(key, StateValue::Disclosure(Box::new(record)));
        Ok(Ok(()))
    }
}
