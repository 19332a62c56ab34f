//! A verified record's history as lines for people: who changed what, when, at which height,
//! and which fields are sealed.

use crate::Verified;
use crate::bundle::{ProofBundle, VersionProof};
use epichain_core::calendar::Day;
use epichain_core::case::CaseChange;
use epichain_core::state::{SignalRecord, StateValue};
use epichain_core::transaction::Payload;

/// Block time as `YYYY-MM-DD hh:mm:ss CST` (the chain's reporting day is China Standard Time).
pub fn format_time_ms(time_ms: u64) -> String {
    let day = Day::from_unix_ms(time_ms);
    let seconds = (time_ms as i64 - day.start_unix_ms()) / 1000;
    format!(
        "{day} {:02}:{:02}:{:02} CST",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The readable history of a verified bundle, oldest first, ending with what certifies it.
pub fn history_lines(bundle: &ProofBundle, verified: &Verified) -> Vec<String> {
    let mut lines = vec![format!(
        "{} {}",
        verified.record.kind(),
        verified.record.id_hex()
    )];
    lines.extend(head_lines(bundle, verified));
    lines.push(format!(
        "certified: height {} {}, block {}, state root {}, by {} of {} validators",
        verified.height,
        format_time_ms(verified.time_ms),
        verified.block,
        verified.state_root,
        verified.certified_by.len(),
        verified.validator_count,
    ));
    lines
}

fn head_lines(bundle: &ProofBundle, verified: &Verified) -> Vec<String> {
    let mut lines = Vec::new();
    match &verified.head {
        None if bundle.transaction.is_none() => lines.push(format!(
            "  absent: no such record in the state at height {}",
            verified.height
        )),
        None => lines.extend(transaction_lines(bundle)),
        Some(StateValue::Case(record)) => {
            lines.push(format!(
                "  {} in {}, reported by {}; now {} ({} versions){}",
                record.disease,
                record.region,
                record.reporter,
                record.state.status,
                record.version + 1,
                if record.state.closed { ", closed" } else { "" }
            ));
            lines.extend(bundle.versions.iter().map(version_line));
        }
        Some(StateValue::Signal(signal)) => lines.extend(signal_lines(signal)),
        Some(StateValue::Grant(grant)) => lines.push(format!(
            "  {} grant, created at height {} {}, expires {}{}{}",
            grant.purpose.name(),
            grant.created_height,
            format_time_ms(grant.created_time_ms),
            format_time_ms(grant.expires_time_ms),
            grant
                .revoked_height
                .map(|height| format!(", revoked at height {height}"))
                .unwrap_or_default(),
            if grant.sealed_note.is_empty() {
                ""
            } else {
                " (sealed note)"
            }
        )),
        Some(StateValue::Identity(identity)) => lines.push(format!(
            "  {} ({}, {}, {}), enrolled at height {}, claims since height {}{}",
            identity.name,
            identity.role,
            identity.region,
            identity.institution,
            identity.enrolled_height,
            identity.claims_since_height,
            identity
                .revoked
                .map(|revoked| format!(
                    ", revoked at height {} by {} ({:?})",
                    revoked.height, revoked.by, revoked.reason
                ))
                .unwrap_or_default()
        )),
        Some(StateValue::EscrowKey(escrow)) => lines.push(format!(
            "  escrow key generated at height {}: any {} of {} holders release a data key",
            escrow.height,
            escrow.threshold,
            escrow.holders.len()
        )),
        Some(_) => lines.push("  (record of another type)".into()),
    }
    lines
}

fn signal_lines(signal: &SignalRecord) -> Vec<String> {
    let mut lines = vec![format!(
        "  {} in {} ({:?}, {}), opened at height {} {}; {} cases; {:?}",
        signal.disease,
        signal.region,
        signal.level,
        signal.method,
        signal.opened_height,
        format_time_ms(signal.opened_time_ms),
        signal.cases.len(),
        signal.status
    )];
    lines.extend(signal.steps.iter().map(|step| {
        format!(
            "  step {} by {} at height {} {}: {}{}",
            step.step,
            step.by,
            step.height,
            format_time_ms(step.time_ms),
            step.finding.name(),
            if step.sealed_note.is_empty() {
                ""
            } else {
                " (sealed note)"
            }
        )
    }));
    lines
}

fn version_line(proof: &VersionProof) -> String {
    let version = &proof.version;
    let change = match &proof.transaction.transaction.payload {
        Payload::ReportCase(report) => format!(
            "report {} {} {}, onset {}, age band {}",
            report.disease, report.region, report.status, report.onset_day, report.age_band
        ),
        Payload::UpdateCase(update) => match &update.change {
            CaseChange::Status(status) => format!("status → {status}"),
            other => format!("{other:?}"),
        },
        other => other.kind().to_string(),
    };
    let sealed = version
        .details
        .map(|hash| format!("; sealed details {hash}"))
        .unwrap_or_default();
    format!(
        "  v{} at height {} {} by {}: {}{}",
        version.version,
        version.location.height,
        format_time_ms(version.time_ms),
        version.signer,
        change,
        sealed
    )
}

fn transaction_lines(bundle: &ProofBundle) -> Vec<String> {
    let (Some(proof), Some(block)) = (&bundle.transaction, bundle.transaction_block()) else {
        return Vec::new();
    };
    let block = block.height;
    let Some(signed) = &proof.transaction else {
        return vec![format!(
            "  receipt of transaction {} in block {block} at index {}: {:?}",
            proof.receipt.transaction_id, proof.transaction_path.index, proof.receipt.outcome
        )];
    };
    let transaction = &signed.transaction;
    let what = match &transaction.payload {
        Payload::AccessLog(log) => format!(
            "access log: read case {} for {}",
            log.case_id,
            log.purpose.name()
        ),
        other => other.kind().to_string(),
    };
    vec![format!(
        "  {what}, signed by {} (nonce {}), in block {block} at index {}: {:?}",
        transaction.signer, transaction.nonce, proof.transaction_path.index, proof.receipt.outcome
    )]
}
