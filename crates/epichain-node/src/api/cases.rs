//! `/v1/cases`: a case record with its verifiable version history, and the audited reads of its
//! sealed details.

use super::caller::Caller;
use super::page::with_link;
use super::{ApiState, Failure, not_found, parse_hash, views};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use epichain_api::ApiError;
use epichain_api::cases::{
    ACCESS_LOGS_PAGE_MAX, AccessLogView, AccessQuery, CaseAnswer, HISTORY_PAGE_MAX, HistoryQuery,
};

/// A case record (line-level metadata and ciphertext) with one page of its version history,
/// oldest first: at most `HISTORY_PAGE_MAX` versions from `from_version`; `next_version` names
/// the next page. The whole chain of versions is checked up to the record's head on every read.
/// Only for a signed request from the reporter, an identity whose jurisdiction covers the case,
/// or a grantee of a grant covering it (review H3); anonymous callers get aggregates only.
#[utoipa::path(
    get,
    path = "/v1/cases/{id}",
    params(("id" = String, Path, description = "Case id, hex", pattern = "^[0-9a-fA-F]{64}$"), HistoryQuery),
    responses((status = 200, body = CaseAnswer), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError))
)]
pub async fn case(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<CaseAnswer>, Failure> {
    let id = parse_hash(&id)?;
    caller.identity()?;
    let reader = state.reader()?;
    let record = reader.case_view(&id)?.ok_or_else(|| not_found("case"))?;
    caller.require_case(&reader, &record.record)?;
    let from_version = query.from_version.unwrap_or(0);
    let history = reader.case_history_page(&id, from_version, HISTORY_PAGE_MAX)?;
    let end = from_version.saturating_add(HISTORY_PAGE_MAX);
    let next_version = (end <= record.record.version).then_some(end);
    Ok(Json(CaseAnswer {
        record: views::case_record(record),
        history: history.into_iter().map(views::version).collect(),
        next_version,
    }))
}

/// The audited reads of a case's sealed details, oldest first, at most `ACCESS_LOGS_PAGE_MAX`
/// per answer; a `Link` header names the next page. For the same callers as the case.
#[utoipa::path(
    get,
    path = "/v1/cases/{id}/access",
    params(("id" = String, Path, description = "Case id, hex", pattern = "^[0-9a-fA-F]{64}$"), AccessQuery),
    responses((status = 200, body = Vec<AccessLogView>), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError))
)]
pub async fn case_access(
    State(state): State<ApiState>,
    caller: Caller,
    uri: axum::http::Uri,
    Path(id): Path<String>,
    Query(query): Query<AccessQuery>,
) -> Result<Response, Failure> {
    let id = parse_hash(&id)?;
    caller.identity()?;
    let reader = state.reader()?;
    let record = reader.case(&id)?.ok_or_else(|| not_found("case"))?;
    caller.require_case(&reader, &record)?;
    let from_height = query.from_height.unwrap_or(0);
    let mut logs = reader
        .store()
        .access_logs(&id, from_height, ACCESS_LOGS_PAGE_MAX + 1)?;
    // Pages end at a height boundary, so that the next starts at a height.
    let next = (logs.len() > ACCESS_LOGS_PAGE_MAX).then(|| {
        let cut = logs[ACCESS_LOGS_PAGE_MAX].0;
        logs.truncate(ACCESS_LOGS_PAGE_MAX);
        if logs.iter().any(|log| log.0 < cut) {
            logs.retain(|log| log.0 < cut);
            cut
        } else {
            cut + 1
        }
    });
    let page: Vec<AccessLogView> = logs
        .into_iter()
        .map(|(height, reader, time_ms, purpose)| AccessLogView {
            height,
            reader,
            time_ms,
            purpose,
        })
        .collect();
    let body = Json(page).into_response();
    Ok(match next {
        Some(height) => with_link(body, &uri, "from_height", &height.to_string()),
        None => body,
    })
}
