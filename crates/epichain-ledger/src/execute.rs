//! The deterministic state machine: executes a block's transactions against a read-only view of
//! the state and returns the writes, receipts, events and case versions. It reads no clock, no
//! randomness and no hash-map order; the only time is the block's.
//!
//! Every transaction is atomic. A transaction from an authenticated signer (enrolled, not revoked,
//! valid signature, fresh nonce) consumes its nonce even if a business rule then rejects it, so a
//! rejected transaction can never be replayed into a later state where it would apply.

use crate::StorageError;
use crate::rules::{Action, Rejection, require_role, require_within};
use crate::state::{
    AuthorityCertificate, CaseRecord, CaseState, CaseVersion, ChainConfig, CountBasis, CountKey,
    IdentityRecord, RevocationRecord, SIGNAL_CASES_MAX, SignalRecord, SignalStatus, StateKey,
    StateValue, StatusCounts, StepRecord, VersionChange,
};
use crate::warning::{applies, evaluate, history_length, regions_at, signal_id, validate_step};
use epichain_core::case::{AGE_BAND_MAX, SEALED_BYTES_MAX, case_id};
use epichain_core::cert;
use epichain_core::disease::{Disease, DiseaseError};
use epichain_core::encoding::{Hash, hash_tagged, tag};
use epichain_core::governance::{APPROVALS_MAX, PROPOSAL_ACTIONS_MAX};
use epichain_core::transaction::verify_signatures;
use epichain_core::warning::{Period, SignalAction, WarningRule, first_day_of_week, week_of};
use epichain_core::{
    CaseChange, CaseReport, CaseStatus, CaseUpdate, Day, EnrollIdentity, Governance,
    GovernanceAction, Level, PatientRef, Payload, PublicKey, Receipt, RegionCode, RevokeIdentity,
    Role, SignedTransaction, TransactionOutcome,
};
use serde::Serialize;
use std::collections::BTreeMap;

mod disclosure;

pub use disclosure::{ESCROW_COMBINE_WAIT_BLOCKS, grant_id, outbreak_scope};

/// Read access to the committed state.
pub trait StateRead {
    /// The value under a key, if any.
    fn read(&self, key: &StateKey) -> Result<Option<StateValue>, StorageError>;
}

/// What a block execution needs besides the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockContext {
    /// Height of the block.
    pub height: u64,
    /// Block time, Unix milliseconds.
    pub time_ms: u64,
    /// The previous block's time (genesis time for the first block): a week boundary between
    /// the two closes a week for the weekly warning rules.
    pub parent_time_ms: u64,
}

impl BlockContext {
    fn day(&self) -> Day {
        Day::from_unix_ms(self.time_ms)
    }

    fn time_seconds(&self) -> i64 {
        (self.time_ms / 1000) as i64
    }
}

/// Something that happened, for contracts, indexes and subscribers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event {
    /// A key enrolled (or renewed its certificate).
    IdentityEnrolled {
        /// Key.
        key: PublicKey,
        /// Role.
        role: Role,
        /// Region.
        region: RegionCode,
    },
    /// A key was revoked.
    KeyRevoked {
        /// Key.
        key: PublicKey,
        /// By whom.
        by: PublicKey,
    },
    /// A case was reported.
    CaseReported {
        /// Case.
        case_id: Hash,
        /// Disease.
        disease: epichain_core::DiseaseCode,
        /// Region.
        region: RegionCode,
        /// Initial status.
        status: CaseStatus,
    },
    /// A case changed.
    CaseUpdated {
        /// Case.
        case_id: Hash,
        /// New version number.
        version: u32,
        /// Status before.
        from: CaseStatus,
        /// Status after.
        to: CaseStatus,
    },
    /// A governance proposal applied.
    GovernanceApplied {
        /// Its sequence number.
        sequence: u64,
    },
    /// An identity published its encryption key.
    EncryptionKeyPublished {
        /// Identity.
        key: PublicKey,
    },
    /// An identity recorded that it reads a case's sealed details.
    AccessLogged {
        /// Case.
        case_id: Hash,
        /// Reader.
        reader: PublicKey,
        /// Purpose.
        purpose: String,
    },
    /// A warning rule raised a new signal.
    SignalOpened {
        /// Signal id.
        signal: Hash,
        /// Disease.
        disease: epichain_core::DiseaseCode,
        /// Region of the series.
        region: RegionCode,
        /// Method.
        method: String,
    },
    /// A workflow step was taken on a signal.
    SignalStepTaken {
        /// Signal id.
        signal: Hash,
        /// The step.
        step: epichain_core::warning::Step,
    },
    /// The escrow key was generated.
    EscrowKeyGenerated {
        /// Partial decryptions needed.
        threshold: u32,
        /// Holders.
        holders: u32,
        /// Holders whose shares were revealed (they did not acknowledge a dealing).
        revealed: u32,
    },
    /// A disclosure grant opened.
    GrantOpened {
        /// Grant id.
        grant: Hash,
        /// Disease.
        disease: epichain_core::DiseaseCode,
        /// Outbreak region.
        region: RegionCode,
    },
    /// A disclosure grant was revoked.
    GrantRevoked {
        /// Grant id.
        grant: Hash,
    },
    /// An escrow holder posted sealed decryption shares for a grantee.
    DecryptionSharesPosted {
        /// Grant id.
        grant: Hash,
        /// Grantee.
        grantee: PublicKey,
        /// Holder.
        holder: PublicKey,
        /// Records covered.
        records: u32,
    },
}

/// The result of executing a block.
#[derive(Clone, Debug, Default)]
pub struct Execution {
    /// Transaction ids, in order.
    pub transaction_ids: Vec<Hash>,
    /// State writes, in key order.
    pub writes: BTreeMap<StateKey, StateValue>,
    /// One receipt per transaction, in order.
    pub receipts: Vec<Receipt>,
    /// Events of applied transactions, in order.
    pub events: Vec<Event>,
    /// New case versions, in order.
    pub versions: Vec<CaseVersion>,
}

/// Executes `transactions` on top of `state` for the block described by `context`.
pub fn execute_block(
    state: &impl StateRead,
    context: BlockContext,
    transactions: &[SignedTransaction],
) -> Result<Execution, StorageError> {
    let signatures_valid = verify_signatures(transactions);
    let config = match state.read(&StateKey::Config)? {
        Some(StateValue::Config(config)) => *config,
        _ => {
            return Err(StorageError::Corrupt(
                "state has no chain configuration".into(),
            ));
        }
    };
    let mut executor = Executor {
        overlay: Overlay::new(state),
        config,
        config_changed: false,
        context,
        output: Execution::default(),
        pending_events: Vec::new(),
        pending_versions: Vec::new(),
        transaction_id: Hash::ZERO,
        touched: BTreeMap::new(),
        pending_touched: Vec::new(),
    };
    executor.output.transaction_ids = transactions.iter().map(SignedTransaction::id).collect();
    for (index, (transaction, signature_valid)) in
        transactions.iter().zip(signatures_valid).enumerate()
    {
        executor.transaction_id = executor.output.transaction_ids[index];
        let outcome = if signature_valid {
            executor.apply_transaction(transaction)?
        } else {
            Err(Rejection::BadSignature)
        };
        let outcome = match outcome {
            Ok(()) => TransactionOutcome::Applied,
            Err(rejection) => TransactionOutcome::Rejected {
                code: rejection.code().to_string(),
                message: rejection.to_string(),
            },
        };
        executor.output.receipts.push(Receipt {
            transaction_id: executor.transaction_id,
            outcome,
        });
    }
    executor.evaluate_warnings()?;
    executor.escrow_deadline()?;
    if executor.config_changed {
        executor.overlay.block.insert(
            StateKey::Config,
            StateValue::Config(Box::new(executor.config)),
        );
    }
    executor.output.writes = executor.overlay.block;
    Ok(executor.output)
}

/// Block-level writes over the committed state, with a transaction-level layer on top.
struct Overlay<'a, S> {
    base: &'a S,
    block: BTreeMap<StateKey, StateValue>,
    transaction: BTreeMap<StateKey, StateValue>,
}

impl<'a, S: StateRead> Overlay<'a, S> {
    fn new(base: &'a S) -> Self {
        Overlay {
            base,
            block: BTreeMap::new(),
            transaction: BTreeMap::new(),
        }
    }

    fn get(&self, key: &StateKey) -> Result<Option<StateValue>, StorageError> {
        if let Some(value) = self.transaction.get(key).or_else(|| self.block.get(key)) {
            return Ok(Some(value.clone()));
        }
        self.base.read(key)
    }

    fn put(&mut self, key: StateKey, value: StateValue) {
        self.transaction.insert(key, value);
    }

    fn commit_transaction(&mut self) {
        let writes = std::mem::take(&mut self.transaction);
        self.block.extend(writes);
    }

    fn discard_transaction(&mut self) {
        self.transaction.clear();
    }

    fn identity(&self, key: &PublicKey) -> Result<Option<IdentityRecord>, StorageError> {
        match self.get(&StateKey::Identity(*key))? {
            Some(StateValue::Identity(record)) => Ok(Some(record)),
            _ => Ok(None),
        }
    }

    fn is_revoked(&self, key: &PublicKey) -> Result<bool, StorageError> {
        Ok(self.get(&StateKey::Revocation(*key))?.is_some())
    }

    fn case(&self, id: &Hash) -> Result<Option<CaseRecord>, StorageError> {
        match self.get(&StateKey::Case(*id))? {
            Some(StateValue::Case(record)) => Ok(Some(*record)),
            _ => Ok(None),
        }
    }
}

/// Rejections are the transaction's business; storage failures abort the block.
type Step<T> = Result<Result<T, Rejection>, StorageError>;

struct Executor<'a, S> {
    overlay: Overlay<'a, S>,
    config: ChainConfig,
    config_changed: bool,
    context: BlockContext,
    output: Execution,
    pending_events: Vec<Event>,
    pending_versions: Vec<CaseVersion>,
    /// Id of the transaction being applied.
    transaction_id: Hash,
    /// Report-basis series that gained cases in this block, with the new cases.
    touched: BTreeMap<(epichain_core::DiseaseCode, RegionCode), Vec<Hash>>,
    /// The same for the transaction being applied.
    pending_touched: Vec<(epichain_core::DiseaseCode, RegionCode, Hash)>,
}

impl<S: StateRead> Executor<'_, S> {
    fn apply_transaction(&mut self, signed: &SignedTransaction) -> Step<()> {
        let transaction = &signed.transaction;
        if transaction.chain_id != self.config.chain_id {
            return Ok(Err(Rejection::WrongChain {
                expected: self.config.chain_id,
                found: transaction.chain_id,
            }));
        }
        let result = if let Payload::EnrollIdentity(enroll) = &transaction.payload {
            self.enroll(signed, enroll)?
        } else {
            match self.authenticate(&transaction.signer, transaction.nonce)? {
                Err(rejection) => return Ok(Err(rejection)),
                Ok(mut signer) => {
                    // The nonce is consumed whatever the payload's fate.
                    signer.nonce = transaction.nonce;
                    self.overlay.put(
                        StateKey::Identity(signer.key),
                        StateValue::Identity(signer.clone()),
                    );
                    self.overlay.commit_transaction();
                    self.dispatch(signed, &signer)?
                }
            }
        };
        match result {
            Ok(()) => {
                self.overlay.commit_transaction();
                self.output.events.append(&mut self.pending_events);
                self.output.versions.append(&mut self.pending_versions);
                for (disease, region, case) in self.pending_touched.drain(..) {
                    self.touched
                        .entry((disease, region))
                        .or_default()
                        .push(case);
                }
            }
            Err(_) => {
                self.overlay.discard_transaction();
                self.pending_events.clear();
                self.pending_versions.clear();
                self.pending_touched.clear();
            }
        }
        Ok(result)
    }

    fn dispatch(&mut self, signed: &SignedTransaction, signer: &IdentityRecord) -> Step<()> {
        match &signed.transaction.payload {
            Payload::EnrollIdentity(_) => Ok(Ok(())),
            Payload::RevokeIdentity(revoke) => self.revoke(signer, revoke),
            Payload::ReportCase(report) => self.report(signed, signer, report),
            Payload::UpdateCase(update) => self.update(signer, update),
            Payload::Governance(governance) => self.govern(signer, governance),
            Payload::SignalAction(action) => self.signal_action(signer, action),
            Payload::PublishEncryptionKey(key) => {
                self.overlay.put(
                    StateKey::EncryptionKey(signer.key),
                    StateValue::EncryptionKey(*key),
                );
                self.pending_events
                    .push(Event::EncryptionKeyPublished { key: signer.key });
                Ok(Ok(()))
            }
            Payload::AccessLog(access) => self.access_log(signer, access),
            Payload::Escrow(message) => self.escrow(signer, message),
            Payload::DecryptionShares(shares) => self.decryption_shares(signer, shares),
        }
    }

    /// An enrolled, unrevoked signer whose chain is valid at block time and whose nonce is fresh.
    fn authenticate(&self, key: &PublicKey, nonce: u64) -> Step<IdentityRecord> {
        let Some(identity) = self.overlay.identity(key)? else {
            return Ok(Err(Rejection::UnknownSigner(*key)));
        };
        if let Err(rejection) = self.check_standing(&identity)? {
            return Ok(Err(rejection));
        }
        if nonce <= identity.nonce {
            return Ok(Err(Rejection::StaleNonce {
                nonce,
                last: identity.nonce,
            }));
        }
        Ok(Ok(identity))
    }

    /// Not revoked, no revoked CA above, certificate chain valid at block time.
    fn check_standing(&self, identity: &IdentityRecord) -> Step<()> {
        if identity.revoked.is_some() || self.overlay.is_revoked(&identity.key)? {
            return Ok(Err(Rejection::RevokedSigner(identity.key)));
        }
        for issuer in &identity.issuer_keys {
            if self.overlay.is_revoked(issuer)? {
                return Ok(Err(Rejection::RevokedIssuer(*issuer)));
            }
        }
        let now = self.context.time_seconds();
        if now < identity.valid_from_seconds || now > identity.valid_until_seconds {
            return Ok(Err(Rejection::CertificateNotValid));
        }
        Ok(Ok(()))
    }

    fn enroll(&mut self, signed: &SignedTransaction, enroll: &EnrollIdentity) -> Step<()> {
        let transaction = &signed.transaction;
        let intermediates: Vec<Vec<u8>> = enroll
            .intermediates
            .iter()
            .map(|bytes| bytes.0.clone())
            .collect();
        let verified = match cert::verify_identity_chain(
            &enroll.certificate,
            &intermediates,
            &self.config.root_certificates,
            self.context.time_seconds().max(0) as u64,
        ) {
            Ok(verified) => verified,
            Err(error) => return Ok(Err(Rejection::Certificate(error.to_string()))),
        };
        let leaf = &verified.leaf;
        if leaf.key != transaction.signer {
            return Ok(Err(Rejection::Certificate(
                "the certificate is for another key than the signer's".to_string(),
            )));
        }
        if !self.config.regions.contains(leaf.claims.region) {
            return Ok(Err(Rejection::UnknownRegion(leaf.claims.region)));
        }
        if self.overlay.is_revoked(&leaf.key)? {
            return Ok(Err(Rejection::RevokedSigner(leaf.key)));
        }
        for issuer in &verified.issuers {
            if self.overlay.is_revoked(&issuer.key)? {
                return Ok(Err(Rejection::RevokedIssuer(issuer.key)));
            }
        }
        let last_nonce = self
            .overlay
            .identity(&leaf.key)?
            .map_or(0, |existing| existing.nonce);
        if transaction.nonce <= last_nonce {
            return Ok(Err(Rejection::StaleNonce {
                nonce: transaction.nonce,
                last: last_nonce,
            }));
        }
        let certificate_hash = hash_tagged(tag::CERTIFICATE, &enroll.certificate);
        self.overlay.put(
            StateKey::Certificate(certificate_hash),
            StateValue::Certificate(enroll.certificate.clone()),
        );
        for issuer in &verified.issuers {
            let key = StateKey::CertificateAuthority(issuer.key);
            if self.overlay.get(&key)?.is_none() {
                self.overlay.put(
                    key,
                    StateValue::CertificateAuthority(AuthorityCertificate {
                        key: issuer.key,
                        region: issuer.claims.region,
                        name: issuer.common_name.clone(),
                    }),
                );
            }
        }
        let record = IdentityRecord {
            key: leaf.key,
            role: leaf.claims.role,
            region: leaf.claims.region,
            name: leaf.common_name.clone(),
            certificate: certificate_hash,
            issuer_keys: verified.issuers.iter().map(|issuer| issuer.key).collect(),
            valid_from_seconds: verified.valid_from_seconds,
            valid_until_seconds: verified.valid_until_seconds,
            enrolled_height: self.context.height,
            nonce: transaction.nonce,
            revoked: None,
        };
        self.pending_events.push(Event::IdentityEnrolled {
            key: record.key,
            role: record.role,
            region: record.region,
        });
        self.overlay
            .put(StateKey::Identity(record.key), StateValue::Identity(record));
        Ok(Ok(()))
    }

    fn revoke(&mut self, signer: &IdentityRecord, revoke: &RevokeIdentity) -> Step<()> {
        let target = revoke.key;
        if self.overlay.is_revoked(&target)? {
            return Ok(Err(Rejection::AlreadyRevoked(target)));
        }
        let identity = self.overlay.identity(&target)?;
        if target != signer.key {
            if let Err(rejection) = require_role(signer.role, Action::RevokeOther) {
                return Ok(Err(rejection));
            }
            // Peers and superiors cannot be revoked: authorities and CAs only from above.
            let (region, needs_strictly_below) = match (
                &identity,
                self.overlay.get(&StateKey::CertificateAuthority(target))?,
            ) {
                (Some(identity), _) => (identity.region, identity.role == Role::Authority),
                (None, Some(StateValue::CertificateAuthority(authority))) => {
                    (authority.region, true)
                }
                _ => return Ok(Err(Rejection::UnknownKey(target))),
            };
            if let Err(rejection) = require_within(region, signer.region) {
                return Ok(Err(rejection));
            }
            if needs_strictly_below && region == signer.region {
                return Ok(Err(Rejection::OutsideJurisdiction {
                    region,
                    jurisdiction: signer.region,
                }));
            }
        }
        let record = RevocationRecord {
            height: self.context.height,
            by: signer.key,
            reason: revoke.reason,
        };
        self.overlay
            .put(StateKey::Revocation(target), StateValue::Revocation(record));
        if let Some(mut identity) = identity {
            identity.revoked = Some(record);
            self.overlay
                .put(StateKey::Identity(target), StateValue::Identity(identity));
        }
        self.pending_events.push(Event::KeyRevoked {
            key: target,
            by: signer.key,
        });
        Ok(Ok(()))
    }

    fn report(
        &mut self,
        signed: &SignedTransaction,
        signer: &IdentityRecord,
        report: &CaseReport,
    ) -> Step<()> {
        if let Err(rejection) = self.validate_report(signer, report)? {
            return Ok(Err(rejection));
        }
        let transaction = &signed.transaction;
        let id = case_id(&transaction.signer, transaction.nonce);
        if self.overlay.case(&id)?.is_some() {
            return Ok(Err(Rejection::InvalidReport(
                "case already exists".to_string(),
            )));
        }
        let state = CaseState {
            status: report.status,
            outcome: None,
            closed: false,
        };
        let version = CaseVersion {
            case_id: id,
            version: 0,
            replaces: Hash::ZERO,
            transaction_id: self.transaction_id,
            signer: transaction.signer,
            height: self.context.height,
            time_ms: self.context.time_ms,
            change: VersionChange::Report(report.clone()),
            state,
        };
        let record = CaseRecord {
            case_id: id,
            disease: report.disease.clone(),
            region: report.region,
            patient: report.patient,
            onset_day: report.onset_day,
            diagnosis_day: report.diagnosis_day,
            report_day: self.context.day(),
            age_band: report.age_band,
            sex: report.sex,
            reporter: transaction.signer,
            state,
            sealed: report.sealed.clone(),
            version: 0,
            head: version.hash(),
        };
        self.pending_events.push(Event::CaseReported {
            case_id: id,
            disease: report.disease.clone(),
            region: report.region,
            status: report.status,
        });
        self.pending_versions.push(version);
        self.count(&record, record.state.status, 1)?;
        for region in record.region.lineage() {
            self.pending_touched
                .push((record.disease.clone(), region, id));
        }
        self.overlay
            .put(StateKey::Case(id), StateValue::Case(Box::new(record)));
        Ok(Ok(()))
    }

    fn validate_report(&self, signer: &IdentityRecord, report: &CaseReport) -> Step<()> {
        let check = || -> Result<(), Rejection> {
            require_role(signer.role, Action::ReportCase)?;
            if !matches!(
                report.status,
                CaseStatus::Suspected | CaseStatus::ClinicallyDiagnosed
            ) {
                return Err(Rejection::InvalidReport(format!(
                    "a new report is suspected or clinically-diagnosed, not {}",
                    report.status
                )));
            }
            match self.config.catalogue.require_active(&report.disease) {
                Ok(_) => {}
                Err(DiseaseError::Retired(code)) => return Err(Rejection::RetiredDisease(code)),
                Err(_) => return Err(Rejection::UnknownDisease(report.disease.clone())),
            }
            let regions = &self.config.regions;
            if !regions.contains(report.region) || report.region.level() < Level::City {
                return Err(Rejection::UnknownRegion(report.region));
            }
            if regions.has_children(report.region) {
                return Err(Rejection::InvalidReport(format!(
                    "region {} has districts: report in the district",
                    report.region
                )));
            }
            require_within(report.region, signer.region)?;
            let today = self.context.day();
            if report.onset_day > report.diagnosis_day || report.diagnosis_day > today {
                return Err(Rejection::InvalidReport(format!(
                    "dates must satisfy onset ({}) ≤ diagnosis ({}) ≤ block day ({today})",
                    report.onset_day, report.diagnosis_day
                )));
            }
            if report.age_band > AGE_BAND_MAX {
                return Err(Rejection::InvalidReport(format!(
                    "age band {} exceeds {AGE_BAND_MAX}",
                    report.age_band
                )));
            }
            check_sealed_size(&report.sealed)
        };
        if let Err(rejection) = check() {
            return Ok(Err(rejection));
        }
        if let Err(rejection) = self.check_sealed(&report.sealed, report.region)? {
            return Ok(Err(rejection));
        }
        if let PatientRef::Key(patient) = report.patient {
            let enrolled = self.overlay.identity(&patient)?.is_some_and(|identity| {
                identity.role == Role::Patient && identity.revoked.is_none()
            });
            if !enrolled {
                return Ok(Err(Rejection::UnknownPatient(patient)));
            }
        }
        Ok(Ok(()))
    }

    fn update(&mut self, signer: &IdentityRecord, update: &CaseUpdate) -> Step<()> {
        let Some(mut record) = self.overlay.case(&update.case_id)? else {
            return Ok(Err(Rejection::UnknownCase(update.case_id)));
        };
        let new_state = match validate_update(signer, &record, update) {
            Ok(state) => state,
            Err(rejection) => return Ok(Err(rejection)),
        };
        if let Err(rejection) = self.check_sealed(&update.sealed, record.region)? {
            return Ok(Err(rejection));
        }
        let version = CaseVersion {
            case_id: record.case_id,
            version: record.version + 1,
            replaces: record.head,
            transaction_id: self.transaction_id,
            signer: signer.key,
            height: self.context.height,
            time_ms: self.context.time_ms,
            change: VersionChange::Update {
                change: update.change.clone(),
                sealed: update.sealed.clone(),
            },
            state: new_state,
        };
        self.pending_events.push(Event::CaseUpdated {
            case_id: record.case_id,
            version: version.version,
            from: record.state.status,
            to: new_state.status,
        });
        if new_state.status != record.state.status {
            self.count(&record, record.state.status, -1)?;
            self.count(&record, new_state.status, 1)?;
        }
        record.state = new_state;
        record.version = version.version;
        record.head = version.hash();
        if !update.sealed.is_empty() {
            record.sealed = update.sealed.clone();
        }
        self.pending_versions.push(version);
        self.overlay.put(
            StateKey::Case(record.case_id),
            StateValue::Case(Box::new(record)),
        );
        Ok(Ok(()))
    }

    /// Adds `delta` cases of `status` to the record's counts at every level, by report day and
    /// by onset day.
    fn count(
        &mut self,
        record: &CaseRecord,
        status: CaseStatus,
        delta: i64,
    ) -> Result<(), StorageError> {
        for region in record.region.lineage() {
            for (basis, day) in [
                (CountBasis::Report, record.report_day),
                (CountBasis::Onset, record.onset_day),
            ] {
                let key = StateKey::Count(CountKey {
                    disease: record.disease.clone(),
                    region,
                    basis,
                    day,
                });
                let mut counts = match self.overlay.get(&key)? {
                    Some(StateValue::Count(counts)) => counts,
                    _ => StatusCounts::default(),
                };
                counts.adjust(status, delta);
                self.overlay.put(key, StateValue::Count(counts));
            }
        }
        Ok(())
    }

    /// Report-basis totals of one series for `length` periods ending at `last` (a day, or a
    /// week number for weekly series); `None` where that reaches before the counts begin.
    fn series(
        &self,
        disease: &epichain_core::DiseaseCode,
        region: RegionCode,
        period: Period,
        last: u32,
        length: usize,
    ) -> Result<Option<Vec<f64>>, StorageError> {
        let days_per_period = match period {
            Period::Daily => 1,
            Period::Weekly => 7,
        };
        let last_day = match period {
            Period::Daily => last,
            Period::Weekly => first_day_of_week(last).0 + 6,
        };
        let span = (length as u32).saturating_mul(days_per_period);
        if span == 0 || last_day + 1 < span {
            return Ok(None);
        }
        let first_day = last_day + 1 - span;
        if first_day < self.config.coverage_start_day.0 {
            return Ok(None);
        }
        let mut values = Vec::with_capacity(length);
        let mut total = 0u64;
        for (offset, day) in (first_day..=last_day).enumerate() {
            let key = StateKey::Count(CountKey {
                disease: disease.clone(),
                region,
                basis: CountBasis::Report,
                day: Day(day),
            });
            if let Some(StateValue::Count(counts)) = self.overlay.get(&key)? {
                total += u64::from(counts.total());
            }
            if (offset as u32 + 1).is_multiple_of(days_per_period) {
                values.push(total as f64);
                total = 0;
            }
        }
        Ok(Some(values))
    }

    /// After the block's transactions: evaluates every daily rule on the series the block
    /// touched, and every weekly rule on all its series when the block closed a week. Opens a
    /// signal per series × method × period at most; later cases join it.
    fn evaluate_warnings(&mut self) -> Result<(), StorageError> {
        let today = self.context.day();
        let rules = self.config.warning_rules.clone();
        let touched = std::mem::take(&mut self.touched);
        for ((disease, region), cases) in &touched {
            for rule in rules.iter().filter(|rule| rule.period == Period::Daily) {
                if applies(
                    rule,
                    disease,
                    *region,
                    &self.config.catalogue,
                    &self.config.regions,
                ) {
                    self.evaluate_series(rule, disease, *region, today.0, cases)?;
                }
            }
        }
        let this_week = week_of(today);
        let previous_week = week_of(Day::from_unix_ms(self.context.parent_time_ms));
        if this_week > previous_week {
            let closed = this_week - 1;
            for rule in rules.iter().filter(|rule| rule.period == Period::Weekly) {
                let diseases: Vec<epichain_core::DiseaseCode> = self
                    .config
                    .catalogue
                    .iter()
                    .filter(|disease| {
                        !disease.retired
                            && rule.diseases.covers(&disease.code, &self.config.catalogue)
                    })
                    .map(|disease| disease.code.clone())
                    .collect();
                for region in regions_at(rule.level, &self.config.regions) {
                    for disease in &diseases {
                        self.evaluate_series(rule, disease, region, closed, &[])?;
                    }
                }
            }
        }
        self.overlay.commit_transaction();
        Ok(())
    }

    fn evaluate_series(
        &mut self,
        rule: &WarningRule,
        disease: &epichain_core::DiseaseCode,
        region: RegionCode,
        period_index: u32,
        cases: &[Hash],
    ) -> Result<(), StorageError> {
        let id = signal_id(disease, region, &rule.method, rule.period, period_index);
        if let Some(StateValue::Signal(mut signal)) = self.overlay.get(&StateKey::Signal(id))? {
            // The period's signal exists: new cases join it while it is open.
            if signal.status == SignalStatus::Open && !cases.is_empty() {
                for case in cases {
                    if signal.cases.len() < SIGNAL_CASES_MAX && !signal.cases.contains(case) {
                        signal.cases.push(*case);
                    }
                }
                self.overlay
                    .put(StateKey::Signal(id), StateValue::Signal(signal));
            }
            return Ok(());
        }
        let Some(series) = self.series(
            disease,
            region,
            rule.period,
            period_index,
            history_length(rule),
        )?
        else {
            return Ok(());
        };
        let Some(evaluation) = evaluate(rule, &series) else {
            return Ok(());
        };
        if !evaluation.alarm {
            return Ok(());
        }
        let signal = SignalRecord {
            id,
            disease: disease.clone(),
            region,
            level: region.level(),
            method: rule.method.clone(),
            period: rule.period,
            period_index,
            statistic_bits: evaluation.statistic.to_bits(),
            threshold_bits: evaluation.threshold.to_bits(),
            cases: cases.iter().take(SIGNAL_CASES_MAX).copied().collect(),
            opened_height: self.context.height,
            opened_time_ms: self.context.time_ms,
            required_steps: rule.required_steps.clone(),
            steps: Vec::new(),
            status: SignalStatus::Open,
        };
        self.output.events.push(Event::SignalOpened {
            signal: id,
            disease: disease.clone(),
            region,
            method: rule.method.clone(),
        });
        self.overlay
            .put(StateKey::Signal(id), StateValue::Signal(Box::new(signal)));
        Ok(())
    }

    fn signal_action(&mut self, signer: &IdentityRecord, action: &SignalAction) -> Step<()> {
        let Some(StateValue::Signal(mut signal)) =
            self.overlay.get(&StateKey::Signal(action.signal))?
        else {
            return Ok(Err(Rejection::UnknownSignal(action.signal)));
        };
        let status = match validate_step(signer, &signal, action) {
            Ok(status) => status,
            Err(rejection) => return Ok(Err(rejection)),
        };
        signal.steps.push(StepRecord {
            step: action.step,
            by: signer.key,
            height: self.context.height,
            time_ms: self.context.time_ms,
            outcome: action.outcome,
            note: action.note.clone(),
        });
        signal.status = status;
        self.pending_events.push(Event::SignalStepTaken {
            signal: action.signal,
            step: action.step,
        });
        if status == SignalStatus::ConfirmedOutbreak
            && let Err(rejection) = self.open_outbreak_grant(&signal)?
        {
            return Ok(Err(rejection));
        }
        self.overlay
            .put(StateKey::Signal(action.signal), StateValue::Signal(signal));
        Ok(Ok(()))
    }

    fn access_log(
        &mut self,
        signer: &IdentityRecord,
        access: &epichain_core::transaction::AccessLog,
    ) -> Step<()> {
        use epichain_core::transaction::ACCESS_PURPOSE_BYTES_MAX;
        if self.overlay.case(&access.case_id)?.is_none() {
            return Ok(Err(Rejection::UnknownCase(access.case_id)));
        }
        if access.purpose.trim().is_empty() || access.purpose.len() > ACCESS_PURPOSE_BYTES_MAX {
            return Ok(Err(Rejection::InvalidReport(format!(
                "an access purpose is 1 to {ACCESS_PURPOSE_BYTES_MAX} bytes"
            ))));
        }
        self.pending_events.push(Event::AccessLogged {
            case_id: access.case_id,
            reader: signer.key,
            purpose: access.purpose.clone(),
        });
        Ok(Ok(()))
    }

    fn govern(&mut self, signer: &IdentityRecord, governance: &Governance) -> Step<()> {
        if let Err(rejection) = require_role(signer.role, Action::Govern) {
            return Ok(Err(rejection));
        }
        if signer.region != RegionCode::NATIONAL {
            return Ok(Err(Rejection::Governance(
                "only a national authority can submit proposals".to_string(),
            )));
        }
        let proposal = &governance.proposal;
        let expected = self.config.governance_sequence + 1;
        if proposal.sequence != expected {
            return Ok(Err(Rejection::Governance(format!(
                "proposal sequence {} is not the next sequence {expected}",
                proposal.sequence
            ))));
        }
        if proposal.actions.is_empty() || proposal.actions.len() > PROPOSAL_ACTIONS_MAX {
            return Ok(Err(Rejection::Governance(format!(
                "a proposal has 1 to {PROPOSAL_ACTIONS_MAX} actions"
            ))));
        }
        if let Err(rejection) = self.check_approvals(governance)? {
            return Ok(Err(rejection));
        }
        let mut config = self.config.clone();
        for action in &proposal.actions {
            if let Err(message) = apply_governance_action(&mut config, action) {
                return Ok(Err(Rejection::Governance(message)));
            }
        }
        config.governance_sequence = proposal.sequence;
        let previous = std::mem::replace(&mut self.config, config);
        // Grants are state, not configuration: opened and revoked under the new configuration.
        for (index, action) in proposal.actions.iter().enumerate() {
            let outcome = match action {
                GovernanceAction::GrantDisclosure(request) => self
                    .open_governance_grant(proposal.sequence, index as u32, request)?
                    .map(|_| ()),
                GovernanceAction::RevokeGrant(grant) => self.revoke_grant(grant)?,
                _ => Ok(()),
            };
            if let Err(rejection) = outcome {
                self.config = previous;
                return Ok(Err(rejection));
            }
        }
        self.config_changed = true;
        self.pending_events.push(Event::GovernanceApplied {
            sequence: proposal.sequence,
        });
        Ok(Ok(()))
    }

    /// At least `approval_threshold` distinct national authorities in good standing signed.
    fn check_approvals(&self, governance: &Governance) -> Step<()> {
        let approvals = &governance.approvals;
        if approvals.len() > APPROVALS_MAX {
            return Ok(Err(Rejection::Governance(format!(
                "more than {APPROVALS_MAX} approvals"
            ))));
        }
        let message = governance.proposal.approval_bytes(&self.config.chain_id);
        let mut approvers = std::collections::BTreeSet::new();
        for approval in approvals {
            if !approvers.insert(approval.approver) {
                return Ok(Err(Rejection::Governance(format!(
                    "approver {} appears twice",
                    approval.approver
                ))));
            }
            let Some(identity) = self.overlay.identity(&approval.approver)? else {
                return Ok(Err(Rejection::Governance(format!(
                    "approver {} is not enrolled",
                    approval.approver
                ))));
            };
            if identity.role != Role::Authority || identity.region != RegionCode::NATIONAL {
                return Ok(Err(Rejection::Governance(format!(
                    "approver {} is not a national authority",
                    approval.approver
                ))));
            }
            if let Err(rejection) = self.check_standing(&identity)? {
                return Ok(Err(Rejection::Governance(format!(
                    "approver {}: {rejection}",
                    approval.approver
                ))));
            }
            if approval
                .approver
                .verify(&message, &approval.signature)
                .is_err()
            {
                return Ok(Err(Rejection::Governance(format!(
                    "approval by {} does not verify",
                    approval.approver
                ))));
            }
        }
        let threshold = usize::from(self.config.approval_threshold);
        if approvers.len() < threshold {
            return Ok(Err(Rejection::Governance(format!(
                "{} approvals, {threshold} required",
                approvers.len()
            ))));
        }
        Ok(Ok(()))
    }
}

fn check_sealed_size(sealed: &[u8]) -> Result<(), Rejection> {
    if sealed.len() > SEALED_BYTES_MAX {
        return Err(Rejection::InvalidReport(format!(
            "sealed details of {} bytes exceed {SEALED_BYTES_MAX}",
            sealed.len()
        )));
    }
    Ok(())
}

/// Checks an update against the record and the role table; returns the state after it.
fn validate_update(
    signer: &IdentityRecord,
    record: &CaseRecord,
    update: &CaseUpdate,
) -> Result<CaseState, Rejection> {
    require_role(signer.role, Action::for_change(&update.change))?;
    require_within(record.region, signer.region)?;
    if record.state.closed {
        return Err(Rejection::CaseClosed);
    }
    if update.replaces != record.head {
        return Err(Rejection::StaleVersion {
            expected: record.head,
            found: update.replaces,
        });
    }
    check_sealed_size(&update.sealed)?;
    let mut state = record.state;
    match &update.change {
        CaseChange::Status(next) => {
            if !state.status.can_become(*next) {
                return Err(Rejection::InvalidTransition {
                    from: state.status,
                    to: *next,
                });
            }
            state.status = *next;
        }
        CaseChange::Outcome(outcome) => {
            if state.status == CaseStatus::Excluded {
                return Err(Rejection::CaseExcluded);
            }
            state.outcome = Some(*outcome);
        }
        CaseChange::Close => state.closed = true,
        CaseChange::Amend => {
            if update.sealed.is_empty() {
                return Err(Rejection::InvalidReport(
                    "an amendment must carry new sealed details".to_string(),
                ));
            }
        }
    }
    Ok(state)
}

/// Applies one governance action to a configuration.
fn apply_governance_action(
    config: &mut ChainConfig,
    action: &GovernanceAction,
) -> Result<(), String> {
    match action {
        GovernanceAction::UpsertDisease(disease) => {
            let statutory = Disease::statutory_deadline_hours(disease.class, disease.managed_as_a);
            if disease.report_deadline_hours != statutory {
                return Err(format!(
                    "disease {}: reporting deadline must be the statutory {statutory} h",
                    disease.code
                ));
            }
            config.catalogue.insert(disease.clone());
        }
        GovernanceAction::RetireDisease(code) => {
            config
                .catalogue
                .retire(code)
                .map_err(|error| error.to_string())?;
        }
        GovernanceAction::UpsertRegion(region) => {
            config
                .regions
                .insert(region.clone())
                .map_err(|error| error.to_string())?;
        }
        GovernanceAction::SetAdjacency { a, b, adjacent } => {
            config
                .regions
                .set_adjacent(*a, *b, *adjacent)
                .map_err(|error| error.to_string())?;
        }
        GovernanceAction::AddRootCertificate(der) => {
            let root = cert::parse_certificate(der).map_err(|error| error.to_string())?;
            if !root.is_ca || root.claims.region != RegionCode::NATIONAL {
                return Err("a root must be a national CA certificate".to_string());
            }
            if !config.root_certificates.contains(der) {
                config.root_certificates.push(der.clone());
            }
        }
        GovernanceAction::RemoveRootCertificate(key) => {
            let before = config.root_certificates.len();
            config
                .root_certificates
                .retain(|der| cert::parse_certificate(der).map_or(true, |root| root.key != *key));
            if config.root_certificates.len() == before {
                return Err(format!("no root certificate with key {key}"));
            }
            if config.root_certificates.is_empty() {
                return Err("the last root certificate cannot be removed".to_string());
            }
        }
        GovernanceAction::GrantDisclosure(_) | GovernanceAction::RevokeGrant(_) => {}
        GovernanceAction::SetWarningRules(rules) => {
            for rule in rules {
                if !epichain_detect::METHOD_NAMES.contains(&rule.method.as_str()) {
                    return Err(format!("unknown detection method {}", rule.method));
                }
            }
            config.warning_rules = rules.clone();
        }
        GovernanceAction::SetApprovalThreshold(threshold) => {
            if *threshold == 0 {
                return Err("the approval threshold must be at least 1".to_string());
            }
            config.approval_threshold = *threshold;
        }
    }
    Ok(())
}
