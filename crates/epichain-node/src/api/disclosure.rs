//! The escrow and disclosure endpoints: the escrow key's state, disclosure grants, and the sealed
//! decryption shares posted for one grantee (opaque to everyone else).

use super::{ApiState, error, internal, not_found, page, parse_hash};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use epichain_core::Hash;
use epichain_core::PublicKey;
use epichain_ledger::LedgerReader;
use epichain_ledger::state::{DisclosureKey, DisclosureTally, GrantRecord};
use epichain_ledger::store::TimedIndex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most grants in one listing.
pub const GRANTS_LIST_MAX: usize = 1_000;

/// A grant as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    /// The record.
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub record: GrantRecord,
    /// `open`, `expired` or `revoked`, at the latest block's time.
    pub status: &'static str,
}

impl GrantView {
    fn new(record: GrantRecord, time_ms: u64) -> Self {
        let status = if record.revoked_height.is_some() {
            "revoked"
        } else if record.is_open(time_ms) {
            "open"
        } else {
            "expired"
        };
        GrantView { record, status }
    }
}

fn tip_time(reader: &LedgerReader) -> u64 {
    reader
        .store()
        .tip()
        .ok()
        .flatten()
        .map_or(0, |tip| tip.time_ms)
}

fn holders(reader: &LedgerReader) -> Result<Vec<PublicKey>, epichain_ledger::LedgerError> {
    Ok(reader.config()?.escrow_holders)
}

/// The escrow key: holders, threshold and public sharing once generated, the dealings while the
/// holders generate it.
#[utoipa::path(get, path = "/v1/escrow", responses((status = 200, body = Object)))]
pub async fn escrow(State(state): State<ApiState>) -> Response {
    let reader = match state.chain.reader() {
        Ok(reader) => reader,
        Err(failure) => return internal(failure),
    };
    let holders = match holders(&reader) {
        Ok(holders) => holders,
        Err(failure) => return internal(failure),
    };
    let generated = match reader.get::<epichain_ledger::state::EscrowKeyRecord>(&()) {
        Ok(generated) => generated,
        Err(failure) => return internal(failure),
    };
    let mut dealings = Vec::new();
    for holder in &holders {
        match reader.get::<epichain_ledger::state::DealingRecord>(holder) {
            Ok(Some(dealing)) => dealings.push(serde_json::json!({
                "dealer": dealing.dealer,
                "height": dealing.height,
                "acks": dealing.acks.len(),
                "logged": dealing.log_height.is_some(),
            })),
            Ok(None) => {}
            Err(failure) => return internal(failure),
        }
    }
    let status = if holders.is_empty() {
        "none"
    } else if generated.is_some() {
        "ready"
    } else {
        "generating"
    };
    Json(serde_json::json!({
        "status": status,
        "holders": holders,
        "threshold": generated.as_ref().map_or(epichain_escrow::threshold_for(holders.len()), |key| key.threshold),
        "sharing": generated.as_ref().map(|key| hex::encode(&key.sharing)),
        "generated_height": generated.as_ref().map(|key| key.height),
        "dealers": generated.as_ref().map(|key| key.dealers.clone()),
        "dealings": dealings,
    }))
    .into_response()
}

/// A grant's statuses, as the listing filters them.
const GRANT_STATUSES: [&str; 3] = ["open", "expired", "revoked"];

/// Filters of the grant listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct GrantQuery {
    /// `open`, `expired` or `revoked`.
    pub status: Option<String>,
    /// Only grants covering this case (hex id).
    pub case: Option<String>,
    /// Most results (default 100, at most 1,000).
    pub limit: Option<usize>,
    /// Continue after this entry (from the previous page's `Link` header).
    pub cursor: Option<String>,
}

/// Disclosure grants, newest first; paged like the signal listing.
#[utoipa::path(
    get,
    path = "/v1/grants",
    params(GrantQuery),
    responses((status = 200, body = Vec<GrantView>), (status = 400, body = super::ApiError))
)]
pub async fn grants(
    State(state): State<ApiState>,
    uri: axum::http::Uri,
    axum::extract::Query(query): axum::extract::Query<GrantQuery>,
) -> Response {
    if let Some(status) = query.status.as_deref()
        && !GRANT_STATUSES.contains(&status)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_status",
            format!("status is one of {}", GRANT_STATUSES.join(", ")),
        );
    }
    let case = match query.case.as_deref().map(parse_hash) {
        None => None,
        Some(Ok(case)) => Some(case),
        Some(Err(refused)) => return refused.into_response(),
    };
    let reader = match state.chain.reader() {
        Ok(reader) => reader,
        Err(failure) => return internal(failure),
    };
    let case = match case.map(|id| reader.case(&id)) {
        None => None,
        Some(Ok(Some(record))) => Some(record),
        Some(Ok(None)) => return not_found("case"),
        Some(Err(failure)) => return internal(failure),
    };
    let cursor = match page::parse_cursor(query.cursor.as_deref()) {
        Ok(cursor) => cursor,
        Err(refused) => return refused.into_response(),
    };
    let limit = query.limit.unwrap_or(100).min(GRANTS_LIST_MAX);
    let now = tip_time(&reader);
    let accept = |id: Hash| -> Result<Option<GrantView>, epichain_ledger::LedgerError> {
        let Some(record) = reader.get::<GrantRecord>(&id)? else {
            return Ok(None);
        };
        let covers = case.as_ref().is_none_or(|case| {
            record
                .scope
                .covers(&case.disease, case.region, case.report_day)
        });
        let view = GrantView::new(record, now);
        let status_ok = query
            .status
            .as_deref()
            .is_none_or(|status| status == view.status);
        Ok((covers && status_ok).then_some(view))
    };
    match page::scan_timed(&reader, TimedIndex::Grants, (0, cursor), limit, accept) {
        Ok((views, next)) => page::with_next(Json(views).into_response(), &uri, next),
        Err(failure) => internal(failure),
    }
}

/// One grant with, per grantee, the holders that have posted shares for it.
#[utoipa::path(
    get,
    path = "/v1/grants/{id}",
    params(("id" = String, Path, description = "Grant id, hex")),
    responses((status = 200, body = Object), (status = 400, body = super::ApiError), (status = 404, body = super::ApiError))
)]
pub async fn grant(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    let id = match parse_hash(&id) {
        Ok(id) => id,
        Err(refused) => return refused.into_response(),
    };
    let reader = match state.chain.reader() {
        Ok(reader) => reader,
        Err(failure) => return internal(failure),
    };
    let record = match reader.get::<epichain_ledger::state::GrantRecord>(&id) {
        Ok(Some(record)) => record,
        Ok(None) => return not_found("grant"),
        Err(failure) => return internal(failure),
    };
    let holders = match holders(&reader) {
        Ok(holders) => holders,
        Err(failure) => return internal(failure),
    };
    let grantees = match crate::escrow_agent::grantees(&reader, &record) {
        Ok(grantees) => grantees,
        Err(failure) => return internal(failure),
    };
    let mut rows = Vec::new();
    for (grantee, _) in grantees {
        let identity = reader.identity(&grantee).ok().flatten();
        let mut posted = Vec::new();
        for holder in &holders {
            if let Ok(Some(tally)) = reader.get::<DisclosureTally>(&DisclosureKey {
                grant: id,
                grantee,
                holder: *holder,
            }) {
                posted.push(serde_json::json!({
                    "holder": holder,
                    "records": tally.records,
                    "postings": tally.postings,
                }));
            }
        }
        rows.push(serde_json::json!({
            "grantee": grantee,
            "name": identity.as_ref().map(|identity| identity.name.clone()),
            "role": identity.as_ref().map(|identity| identity.role),
            "region": identity.as_ref().map(|identity| identity.region),
            "holders": posted,
        }));
    }
    let now = tip_time(&reader);
    Json(serde_json::json!({ "grant": GrantView::new(record, now), "grantees": rows }))
        .into_response()
}

/// Most postings of one holder in one answer (each is at most 48 KiB of sealed shares).
pub const POSTINGS_PAGE_MAX: u32 = 16;

/// Which postings to return.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SharesQuery {
    /// Only this holder's postings (hex key).
    pub holder: Option<String>,
    /// From this posting number (default 0).
    pub from: Option<u32>,
}

/// One holder's postings in an answer, with where to continue.
#[derive(Debug, Serialize)]
struct HolderPostings {
    holder: PublicKey,
    batches: Vec<epichain_ledger::state::DisclosureBatch>,
    /// The `from` of the next page, if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<u32>,
}

/// The sealed decryption shares holders posted for one grantee of a grant (only the grantee's
/// encryption key opens them), at most [`POSTINGS_PAGE_MAX`] per holder; a holder with more
/// names the `next` page (ask again with `holder` and `from`).
#[utoipa::path(
    get,
    path = "/v1/grants/{id}/shares/{grantee}",
    params(
        ("id" = String, Path, description = "Grant id, hex"),
        ("grantee" = String, Path, description = "Grantee's public key, hex"),
        SharesQuery
    ),
    responses((status = 200, body = Vec<Object>), (status = 400, body = super::ApiError))
)]
pub async fn grant_shares(
    State(state): State<ApiState>,
    Path((id, grantee)): Path<(String, String)>,
    axum::extract::Query(query): axum::extract::Query<SharesQuery>,
) -> Response {
    let id = match parse_hash(&id) {
        Ok(id) => id,
        Err(refused) => return refused.into_response(),
    };
    let Ok(grantee) = PublicKey::from_hex(&grantee) else {
        return error(StatusCode::BAD_REQUEST, "bad_key", "expected 64 hex digits");
    };
    let only = match query.holder.as_deref().map(PublicKey::from_hex) {
        None => None,
        Some(Ok(holder)) => Some(holder),
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_key",
                "holder: expected 64 hex digits",
            );
        }
    };
    let reader = match state.chain.reader() {
        Ok(reader) => reader,
        Err(failure) => return internal(failure),
    };
    let holders = match holders(&reader) {
        Ok(holders) => holders,
        Err(failure) => return internal(failure),
    };
    let from = query.from.unwrap_or(0);
    let mut answer = Vec::new();
    for holder in holders
        .into_iter()
        .filter(|holder| only.is_none_or(|only| only == *holder))
    {
        let key = DisclosureKey {
            grant: id,
            grantee,
            holder,
        };
        let tally = match reader.get::<DisclosureTally>(&key) {
            Ok(Some(tally)) => tally,
            Ok(None) => continue,
            Err(failure) => return internal(failure),
        };
        let batches = match reader.disclosure_postings(&key, from, POSTINGS_PAGE_MAX as usize) {
            Ok(batches) => batches,
            Err(failure) => return internal(failure),
        };
        let end = from.saturating_add(batches.len() as u32);
        answer.push(HolderPostings {
            holder,
            batches,
            next: (end < tally.postings).then_some(end),
        });
    }
    Json(answer).into_response()
}
