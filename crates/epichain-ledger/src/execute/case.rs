//! The case contract.
//!
//! - A doctor or hospital reports a case in a district of its jurisdiction, for an active
//!   catalogue disease, as suspected or clinically diagnosed, with onset ≤ diagnosis ≤ block day.
//!   The case id is derived from the reporter and the nonce, so a report cannot be filed twice.
//! - An update names the version it replaces (optimistic concurrency), moves the status forward
//!   only (suspected → clinical → confirmed, or excluded), records an outcome, closes, or amends
//!   the sealed details; the role table says who may do which, within their jurisdiction.
//! - A case belongs to its reporting institution and to the authorities over its region: only
//!   they diagnose, record outcomes, amend, or replace the details readers see; a laboratory's
//!   (or anyone else's) sealed details stay in their version as an annotation. Details replaced
//!   by anyone but the reporter keep the (unrevoked) reporter a reader.
//! - Sealed details are empty or an envelope readable by an authority over the case's region,
//!   every reader sealed to the encryption key it published, and, once the escrow key exists,
//!   wrapped to the escrow too.
//! - Every version is kept: versions form a hash chain ending at the record's head.
//! - A reader logs its purpose (a code) on chain before decrypting someone else's record; only
//!   the roles that read sealed details log.

use super::{Event, Exec, Executor};
use crate::StorageError;
use crate::rules::{Action, action_for_change, require_role, require_within, role_may};
use crate::state::{
    CaseRecord, CaseState, CaseVersion, DetailsRef, EscrowKeyRecord, IdentityRecord, StateRead,
    TransactionLocation, details_hash,
};
use epichain_core::case::{AGE_BAND_MAX, SEALED_BYTES_MAX, case_id};
use epichain_core::disease::DiseaseError;
use epichain_core::rejection::{AccessLogProblem, ReportProblem, SealedProblem};
use epichain_core::sealed::{EncryptionPublicKey, Envelope};
use epichain_core::transaction::AccessLog;
use epichain_core::{
    CaseChange, CaseReport, CaseStatus, CaseUpdate, Hash, Level, PatientRef, RegionCode, Rejection,
    Role, SignedTransaction,
};

impl<S: StateRead> Executor<'_, S> {
    pub(super) fn report(
        &mut self,
        signed: &SignedTransaction,
        signer: &IdentityRecord,
        report: &CaseReport,
    ) -> Exec<()> {
        self.validate_report(signer, report)?;
        let transaction = &signed.transaction;
        let id = case_id(&transaction.signer, transaction.nonce);
        // Case ids derive from (signer, nonce) and nonces only grow: a taken id is a broken
        // invariant (or a hash collision), not a rejection.
        if self.exists::<CaseRecord>(&id)? {
            return Err(StorageError::Corrupt(format!("case id {id} is taken")).into());
        }
        let location = self.location();
        let state = CaseState {
            status: report.status,
            outcome: None,
            closed: false,
        };
        let details = details_of(&report.sealed, location);
        let version = CaseVersion {
            case_id: id,
            version: 0,
            replaces: Hash::ZERO,
            previous: None,
            transaction_id: self.transaction_id,
            location,
            signer: transaction.signer,
            time_ms: self.context.time_ms,
            details: details.map(|details| details.hash),
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
            details,
            version: 0,
            head: version.hash(),
            head_location: location,
        };
        self.pending_events.push(Event::CaseReported {
            case_id: id,
            disease: report.disease.clone(),
            region: report.region,
            onset_day: report.onset_day,
            report_day: self.context.day(),
            patient: report.patient,
            status: report.status,
            location,
        });
        self.pending_versions.push(version);
        self.count(&record, record.state.status, 1)?;
        for region in record.region.lineage() {
            self.pending_touched
                .push((record.disease.clone(), region, id));
        }
        self.overlay.put(&id, record);
        Ok(())
    }

    fn validate_report(&self, signer: &IdentityRecord, report: &CaseReport) -> Exec<()> {
        require_role(signer.role, Action::ReportCase)?;
        if !matches!(
            report.status,
            CaseStatus::Suspected | CaseStatus::ClinicallyDiagnosed
        ) {
            return Err(ReportProblem::InitialStatus(report.status).into());
        }
        match self.config.catalogue.require_active(&report.disease) {
            Ok(_) => {}
            Err(DiseaseError::Retired(code)) => return Err(Rejection::RetiredDisease(code).into()),
            Err(_) => return Err(Rejection::UnknownDisease(report.disease.clone()).into()),
        }
        let regions = &self.config.regions;
        if !regions.contains(report.region) || report.region.level() < Level::City {
            return Err(Rejection::UnknownRegion(report.region).into());
        }
        if regions.has_children(report.region) {
            return Err(ReportProblem::RegionHasDistricts(report.region).into());
        }
        require_within(report.region, signer.region)?;
        let today = self.context.day();
        if report.onset_day > report.diagnosis_day || report.diagnosis_day > today {
            return Err(ReportProblem::DatesOutOfOrder {
                onset_day: report.onset_day.0,
                diagnosis_day: report.diagnosis_day.0,
                block_day: today.0,
            }
            .into());
        }
        if report.age_band > AGE_BAND_MAX {
            return Err(ReportProblem::AgeBand(report.age_band).into());
        }
        check_sealed_size(&report.sealed)?;
        self.check_sealed(&report.sealed, report.region)?;
        if let PatientRef::Key(patient) = report.patient {
            let enrolled = self
                .get::<IdentityRecord>(&patient)?
                .is_some_and(|identity| {
                    identity.role == Role::Patient && identity.revoked.is_none()
                });
            if !enrolled {
                return Err(Rejection::UnknownPatient(patient).into());
            }
        }
        Ok(())
    }

    pub(super) fn update(&mut self, signer: &IdentityRecord, update: &CaseUpdate) -> Exec<()> {
        let Some(mut record) = self.get::<CaseRecord>(&update.case_id)? else {
            return Err(Rejection::UnknownCase(update.case_id).into());
        };
        let owner = self.is_owner(signer, &record)?;
        let new_state = validate_update(signer, owner, &record, update)?;
        let envelope = self.check_sealed(&update.sealed, record.region)?;
        if let Some(envelope) = &envelope {
            self.check_reporter_reads(signer, &record, envelope)?;
        }
        let location = self.location();
        let details = details_of(&update.sealed, location);
        let version = CaseVersion {
            case_id: record.case_id,
            version: record.version + 1,
            replaces: record.head,
            previous: Some(record.head_location),
            transaction_id: self.transaction_id,
            location,
            signer: signer.key,
            time_ms: self.context.time_ms,
            details: details.map(|details| details.hash),
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
        record.head_location = location;
        // An owner's details replace the latest; anyone else's stay in the version as an
        // annotation (readable through the history, never in place of the reporter's).
        if details.is_some() && owner {
            record.details = details;
        }
        self.pending_versions.push(version);
        let id = record.case_id;
        self.overlay.put(&id, record);
        Ok(())
    }

    /// The sealing rule for a report's or update's details in `region`: empty (no details), or
    /// an envelope of the known format that names among its readers an unrevoked authority over
    /// the region with a published encryption key (so the jurisdiction can read it), and, once
    /// the escrow key exists, carries an escrow wrap (so a disclosure grant can reach it). The
    /// ledger cannot see inside the ciphertexts: whether each wrap opens is the readers' check.
    fn check_sealed(&self, sealed: &[u8], region: RegionCode) -> Exec<Option<Envelope>> {
        let Some(envelope) = self.check_envelope(sealed, region)? else {
            return Ok(None);
        };
        if self.exists::<EscrowKeyRecord>(&())? {
            if envelope.escrow.is_empty() {
                return Err(SealedProblem::EscrowWrapMissing.into());
            }
            epichain_escrow::check_wrap_shape(&envelope.escrow)
                .map_err(|_| SealedProblem::EscrowWrapMalformed)?;
        }
        Ok(Some(envelope))
    }

    /// The case's owners (review H8): keys of the reporting institution, and the authorities
    /// whose jurisdiction covers the case (the district CDC and those above it).
    fn is_owner(&self, signer: &IdentityRecord, record: &CaseRecord) -> Exec<bool> {
        if signer.key == record.reporter
            || (signer.role == Role::Authority && record.region.is_within(signer.region))
        {
            return Ok(true);
        }
        let Some(reporter) = self.get::<IdentityRecord>(&record.reporter)? else {
            return Err(StorageError::Corrupt(format!(
                "case {} has no reporter identity",
                record.case_id
            ))
            .into());
        };
        Ok(reporter.institution == signer.institution)
    }

    /// Details sealed by anyone but the reporter keep the reporter (while unrevoked) a reader,
    /// so nobody locks the reporting institution out of its own case.
    fn check_reporter_reads(
        &self,
        signer: &IdentityRecord,
        record: &CaseRecord,
        envelope: &Envelope,
    ) -> Exec<()> {
        if signer.key == record.reporter || envelope.is_reader(&record.reporter) {
            return Ok(());
        }
        if self.is_revoked(&record.reporter)? {
            return Ok(());
        }
        Err(SealedProblem::ReporterNotReader.into())
    }

    /// Every reader's data key is sealed to the encryption key that reader published (review H5:
    /// a node handing the reporter another key gets the report refused), and one reader is an
    /// unrevoked authority over `region`.
    /// Sealed bytes (details, or a workflow step's or grant request's note): empty, or an
    /// envelope whose readers are sealed to their published keys and include an authority over
    /// `region`; returns the envelope.
    pub(super) fn check_envelope(
        &self,
        sealed: &[u8],
        region: RegionCode,
    ) -> Exec<Option<Envelope>> {
        if sealed.is_empty() {
            return Ok(None);
        }
        let envelope = Envelope::from_bytes(sealed).map_err(|_| SealedProblem::Malformed)?;
        self.check_readers(&envelope, region)?;
        Ok(Some(envelope))
    }

    fn check_readers(&self, envelope: &Envelope, region: RegionCode) -> Exec<()> {
        let mut jurisdiction_reads = false;
        for wrapped in &envelope.readers {
            let published = self.get::<EncryptionPublicKey>(&wrapped.reader)?;
            if published != Some(wrapped.recipient) {
                return Err(SealedProblem::ReaderKeyMismatch(wrapped.reader).into());
            }
            if !jurisdiction_reads {
                jurisdiction_reads =
                    self.get::<IdentityRecord>(&wrapped.reader)?
                        .is_some_and(|identity| {
                            identity.role == Role::Authority
                                && identity.revoked.is_none()
                                && region.is_within(identity.region)
                        });
            }
        }
        if !jurisdiction_reads {
            return Err(SealedProblem::NoJurisdictionReader(region).into());
        }
        Ok(())
    }

    pub(super) fn access_log(&mut self, signer: &IdentityRecord, access: &AccessLog) -> Exec<()> {
        if !role_may(signer.role, Action::ReadDetails) {
            return Err(AccessLogProblem::RoleCannotRead(signer.role).into());
        }
        if !self.exists::<CaseRecord>(&access.case_id)? {
            return Err(Rejection::UnknownCase(access.case_id).into());
        }
        self.pending_events.push(Event::AccessLogged {
            case_id: access.case_id,
            reader: signer.key,
            purpose: access.purpose,
            location: self.location(),
        });
        Ok(())
    }
}

/// The state's reference to sealed details carried by the transaction at `location`.
fn details_of(sealed: &[u8], location: TransactionLocation) -> Option<DetailsRef> {
    (!sealed.is_empty()).then(|| DetailsRef {
        hash: details_hash(sealed),
        location,
    })
}

fn check_sealed_size(sealed: &[u8]) -> Result<(), ReportProblem> {
    if sealed.len() > SEALED_BYTES_MAX {
        return Err(ReportProblem::SealedTooLarge {
            bytes: sealed.len() as u32,
        });
    }
    Ok(())
}

/// Checks an update against the record, the role table and ownership; returns the state after
/// it. A doctor's or hospital's changes (diagnosis, outcome, amendment) are the reporting
/// institution's; a laboratory confirms and an authority excludes or closes any case in its
/// jurisdiction.
fn validate_update(
    signer: &IdentityRecord,
    owner: bool,
    record: &CaseRecord,
    update: &CaseUpdate,
) -> Result<CaseState, Rejection> {
    require_role(signer.role, action_for_change(&update.change))?;
    require_within(record.region, signer.region)?;
    if matches!(signer.role, Role::Doctor | Role::Hospital) && !owner {
        return Err(Rejection::NotCaseOwner);
    }
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
                return Err(ReportProblem::AmendmentWithoutDetails.into());
            }
        }
    }
    Ok(state)
}
