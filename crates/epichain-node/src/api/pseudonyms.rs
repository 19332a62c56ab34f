//! `/v1/pseudonyms`: the scope covering a region (its published key, evaluator and queue) and
//! each request with the CDC's answer (review H4). Public: points reveal no one, and who asked
//! for how many pseudonyms is the audit trail.

use super::{ApiState, Failure, bad_request, not_found, parse_hash};
use axum::Json;
use axum::extract::{Path, Query, State};
use epichain_api::ApiError;
use epichain_api::pseudonyms::{AnswerView, RequestView, ScopeQuery, ScopeView};
use epichain_core::RegionCode;
use epichain_core::pseudonym::{PseudonymPurpose, PseudonymScope};
use epichain_ledger::state::{PseudonymRequestRecord, PseudonymScopeRecord};

/// The nearest scope published at or above a region for a purpose.
#[utoipa::path(
    get,
    path = "/v1/pseudonyms/scope",
    params(ScopeQuery),
    responses((status = 200, body = ScopeView), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
pub async fn scope(
    State(state): State<ApiState>,
    Query(query): Query<ScopeQuery>,
) -> Result<Json<ScopeView>, Failure> {
    let region: RegionCode = query.region.parse().map_err(bad_request)?;
    let purpose: PseudonymPurpose = match &query.purpose {
        Some(text) => text.parse().map_err(bad_request)?,
        None => PseudonymPurpose::CaseReporting,
    };
    let reader = state.reader()?;
    for region in region.lineage() {
        let scope = PseudonymScope { region, purpose };
        if let Some(record) = reader.get::<PseudonymScopeRecord>(&scope)? {
            return Ok(Json(ScopeView {
                region: record.scope.region,
                purpose: record.scope.purpose,
                public_key: record.public_key,
                evaluator: record.evaluator,
                published_height: record.published_height,
                pending: record.pending,
            }));
        }
    }
    Err(not_found("pseudonym scope"))
}

/// A pseudonym request and, once posted, the CDC's answer.
#[utoipa::path(
    get,
    path = "/v1/pseudonyms/requests/{id}",
    params(("id" = String, Path, description = "Request (transaction) id, hex", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = RequestView), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
pub async fn request(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, Failure> {
    let id = parse_hash(&id)?;
    let record = state
        .reader()?
        .get::<PseudonymRequestRecord>(&id)?
        .ok_or_else(|| not_found("pseudonym request"))?;
    Ok(Json(RequestView {
        id: record.id,
        region: record.scope.region,
        purpose: record.scope.purpose,
        requester: record.requester,
        institution: record.institution,
        blinded: record.blinded,
        height: record.height,
        time_ms: record.time_ms,
        answer: record.answer.map(|answer| AnswerView {
            evaluated: answer.evaluated,
            proof: answer.proof,
            public_key: answer.public_key,
            by: answer.by,
            height: answer.height,
        }),
    }))
}
