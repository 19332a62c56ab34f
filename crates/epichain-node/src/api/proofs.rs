//! `/v1/proofs/{kind}/{id}`: a record's history with the proofs to check it offline against
//! the genesis alone (`epichain verify`). A bundle shows what the record's own endpoint shows,
//! so it is served to the same callers; an absence proof to anyone.

use super::caller::Caller;
use super::{ApiState, Failure, failure, not_found};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use epichain_api::ApiError;
use epichain_api::proofs::BUNDLE_CONTENT_TYPE;
use epichain_core::Role;
use epichain_ledger::LedgerReader;
use epichain_ledger::proofs::ProofError;
use epichain_ledger::state::StateValue;
use epichain_verify::bundle::{ProofBundle, RecordRef};

/// A proof bundle of a case (every version), signal (its workflow), grant, identity (with its
/// certificate and encryption key), transaction (with its receipt, e.g. an access log), receipt
/// (without the transaction's body: public) or the escrow key, checked against the
/// latest finalized header (a transaction: its block). The bundle's JSON view is
/// `epichain verify --json`'s. Absent records get a proof of absence.
#[utoipa::path(
    get,
    path = "/v1/proofs/{kind}/{id}",
    params(
        ("kind" = String, Path, description = "case, signal, grant, identity, transaction, receipt or escrow"),
        ("id" = String, Path, description = "Record id, hex (an identity's key; `key` for the escrow key)")
    ),
    responses(
        (status = 200, description = "The bundle (`EPIPROOF` ‖ Borsh, format 1)",
            content_type = "application/vnd.epichain.proof"),
        (status = 400, body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, body = ApiError),
        (status = 404, body = ApiError),
        (status = 503, body = ApiError)
    )
)]
pub async fn proof(
    State(state): State<ApiState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let record = RecordRef::parse(&kind, &id)
        .map_err(|message| failure(StatusCode::BAD_REQUEST, "bad_record", message))?;
    let reader = state.reader()?;
    let bundle = reader.proof_bundle(record).map_err(proof_failure)?;
    permit(&caller, &reader, &bundle)?;
    Ok((
        [(header::CONTENT_TYPE, BUNDLE_CONTENT_TYPE)],
        bundle.to_bytes(),
    )
        .into_response())
}

fn proof_failure(error: ProofError) -> Failure {
    match error {
        ProofError::Ledger(error) => error.into(),
        ProofError::UnknownTransaction => not_found("transaction"),
        ProofError::NoCheckpoint | ProofError::Uncertified(_) | ProofError::Changed(_) => failure(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_checkpoint",
            error.to_string(),
        )
        .retry_later(),
    }
}

/// The same callers as the record's own endpoint: a case's reader, a signal's jurisdiction, a
/// patient's jurisdiction; a transaction to its signer and to CDCs and nodes. Grants, other
/// identities and absences are public.
fn permit(caller: &Caller, reader: &LedgerReader, bundle: &ProofBundle) -> Result<(), Failure> {
    if let Some(proof) = &bundle.transaction {
        let Some(transaction) = &proof.transaction else {
            return Ok(()); // a receipt: public, like the transaction's status
        };
        if caller.identity()?.key == transaction.transaction.signer {
            return Ok(());
        }
        return caller.require_follower();
    }
    let head = bundle
        .state
        .first()
        .and_then(|proof| proof.decoded().ok().flatten());
    match head {
        Some(StateValue::Case(case)) => caller.require_case(reader, &case),
        Some(StateValue::Signal(signal)) => caller.require_covers(signal.region),
        Some(StateValue::Identity(identity)) if identity.role == Role::Patient => {
            caller.require_patient(&identity)
        }
        _ => Ok(()),
    }
}
