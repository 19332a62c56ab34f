//! Ledger records as the API's wire types (`epichain-api`): the one place that maps storage
//! shapes to the contract, so a storage change cannot silently change an answer.

use epichain_api::cases::{
    CaseRecordView, CaseStateView, DetailsRefView, Location, VersionChange as ApiChange,
    VersionView as ApiVersion,
};
use epichain_api::disclosure::{GrantSource as ApiSource, GrantStatus, GrantView, PostingView};
use epichain_api::identities::{IdentityView, RevocationView};
use epichain_api::signals::{CaseSummary, SignalStatus as ApiSignalStatus, SignalView, StepView};
use epichain_ledger::state::{
    CaseRecord, CaseState, CaseView, DisclosureBatch, GrantRecord, GrantSource, IdentityRecord,
    SignalRecord, SignalStatus, TransactionLocation, VersionChange, VersionView,
};

fn location(location: TransactionLocation) -> Location {
    Location {
        height: location.height,
        index: location.index,
    }
}

fn case_state(state: CaseState) -> CaseStateView {
    CaseStateView {
        status: state.status,
        outcome: state.outcome,
        closed: state.closed,
    }
}

/// An identity with its published encryption key (hex).
pub fn identity(record: IdentityRecord, encryption_key: Option<String>) -> IdentityView {
    IdentityView {
        key: record.key,
        role: record.role,
        region: record.region,
        institution: record.institution,
        name: record.name,
        certificate: record.certificate,
        issuer_keys: record.issuer_keys,
        valid_from_seconds: record.valid_from_seconds,
        valid_until_seconds: record.valid_until_seconds,
        enrolled_height: record.enrolled_height,
        claims_since_height: record.claims_since_height,
        nonce: record.nonce,
        revoked: record.revoked.map(|revoked| RevocationView {
            height: revoked.height,
            by: revoked.by,
            reason: revoked.reason,
        }),
        encryption_key,
    }
}

/// A case's head record with its latest sealed details.
pub fn case_record(view: CaseView) -> CaseRecordView {
    let record = view.record;
    CaseRecordView {
        case_id: record.case_id,
        disease: record.disease,
        region: record.region,
        patient: record.patient,
        onset_day: record.onset_day,
        diagnosis_day: record.diagnosis_day,
        report_day: record.report_day,
        age_band: record.age_band,
        sex: record.sex,
        reporter: record.reporter,
        state: case_state(record.state),
        details: record.details.map(|details| DetailsRefView {
            hash: details.hash,
            location: location(details.location),
        }),
        version: record.version,
        head: record.head,
        head_location: location(record.head_location),
        sealed: hex::encode(view.sealed),
    }
}

/// One version of a case with its change.
pub fn version(view: VersionView) -> ApiVersion {
    let version = view.version;
    ApiVersion {
        case_id: version.case_id,
        version: version.version,
        replaces: version.replaces,
        previous: version.previous.map(location),
        transaction_id: version.transaction_id,
        location: location(version.location),
        signer: version.signer,
        time_ms: version.time_ms,
        details: version.details,
        state: case_state(version.state),
        change: match view.change {
            VersionChange::Report(report) => ApiChange::Report { report },
            VersionChange::Update { change, sealed } => ApiChange::Update {
                change,
                sealed: hex::encode(sealed),
            },
        },
    }
}

/// The public metadata of a case.
pub fn case_summary(case: CaseRecord) -> CaseSummary {
    CaseSummary {
        case_id: case.case_id,
        disease: case.disease,
        region: case.region,
        status: case.state.status,
        onset_day: case.onset_day,
        report_day: case.report_day,
        age_band: case.age_band,
        sex: case.sex,
    }
}

/// A signal as a caller sees it: its case ids and statistic (for a fixed threshold, the cell's
/// count) only if `covered` (the caller's jurisdiction covers the signal's region).
pub fn signal_for(record: SignalRecord, covered: bool) -> SignalView {
    let mut view = signal(record);
    if !covered {
        view.cases.clear();
        view.statistic = None;
        view.statistic_bits = None;
    }
    view
}

/// A signal with its numbers as floats and its response times.
fn signal(record: SignalRecord) -> SignalView {
    let response_seconds = record
        .steps
        .iter()
        .map(|taken| {
            (
                taken.step.to_string(),
                taken.time_ms.saturating_sub(record.opened_time_ms) as f64 / 1000.0,
            )
        })
        .collect();
    SignalView {
        statistic: Some(record.statistic()),
        threshold: record.threshold(),
        response_seconds,
        id: record.id,
        disease: record.disease,
        region: record.region,
        level: record.level,
        method: record.method,
        period: record.period,
        period_index: record.period_index,
        statistic_bits: Some(record.statistic_bits),
        threshold_bits: record.threshold_bits,
        cases: record.cases,
        opened_height: record.opened_height,
        opened_time_ms: record.opened_time_ms,
        required_steps: record.required_steps,
        steps: record
            .steps
            .into_iter()
            .map(|step| StepView {
                step: step.step,
                by: step.by,
                height: step.height,
                time_ms: step.time_ms,
                outcome: step.outcome,
                finding: step.finding,
                sealed_note: step.sealed_note,
            })
            .collect(),
        status: match record.status {
            SignalStatus::Open => ApiSignalStatus::Open,
            SignalStatus::ConfirmedOutbreak => ApiSignalStatus::ConfirmedOutbreak,
            SignalStatus::Dismissed => ApiSignalStatus::Dismissed,
        },
    }
}

/// A grant with its status at `time_ms`.
pub fn grant(record: GrantRecord, time_ms: u64) -> GrantView {
    let status = if record.revoked_height.is_some() {
        GrantStatus::Revoked
    } else if record.is_open(time_ms) {
        GrantStatus::Open
    } else {
        GrantStatus::Expired
    };
    GrantView {
        id: record.id,
        source: match record.source {
            GrantSource::Outbreak { signal } => ApiSource::Outbreak { signal },
            GrantSource::Governance { sequence } => ApiSource::Governance { sequence },
        },
        scope: record.scope,
        audience: record.audience,
        purpose: record.purpose,
        sealed_note: record.sealed_note,
        created_height: record.created_height,
        created_time_ms: record.created_time_ms,
        expires_time_ms: record.expires_time_ms,
        revoked_height: record.revoked_height,
        status,
    }
}

/// One posting of sealed decryption shares.
pub fn posting(batch: DisclosureBatch) -> PostingView {
    PostingView {
        records: batch.records,
        sealed: hex::encode(batch.sealed),
        height: batch.height,
    }
}
