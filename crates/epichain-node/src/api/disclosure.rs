//! `/v1/escrow` and `/v1/grants`: the escrow key's state, disclosure grants, and the sealed
//! decryption shares posted for one grantee (opaque to everyone else).

use super::{ApiState, Failure, not_found, page, parse_hash, parse_key, parse_optional, views};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use epichain_api::ApiError;
use epichain_api::disclosure::{
    DealingSummary, EscrowState, EscrowView, GRANTS_LIST_MAX, GrantDetail, GrantQuery, GrantView,
    GranteeView, HolderPostings, HolderTally, POSTINGS_PAGE_MAX, SharesQuery,
};
use epichain_core::{Hash, PublicKey};
use epichain_ledger::state::{
    DealingRecord, DisclosureKey, DisclosureTally, EscrowKeyRecord, GrantRecord,
};
use epichain_ledger::store::TimedIndex;
use epichain_ledger::{LedgerError, LedgerReader};

fn tip_time(reader: &LedgerReader) -> Result<u64, LedgerError> {
    Ok(reader.store().tip()?.map_or(0, |tip| tip.time_ms))
}

fn holders(reader: &LedgerReader) -> Result<Vec<PublicKey>, LedgerError> {
    Ok(reader.config()?.escrow_holders)
}

/// The escrow key: holders, threshold and public sharing once generated, the dealings while the
/// holders generate it.
#[utoipa::path(
    get,
    path = "/v1/escrow",
    responses((status = 200, body = EscrowView), (status = 500, body = ApiError))
)]
pub async fn escrow(State(state): State<ApiState>) -> Result<Json<EscrowView>, Failure> {
    let reader = state.reader()?;
    let holders = holders(&reader)?;
    let generated = reader.get::<EscrowKeyRecord>(&())?;
    let mut dealings = Vec::new();
    for holder in &holders {
        if let Some(dealing) = reader.get::<DealingRecord>(holder)? {
            dealings.push(DealingSummary {
                dealer: dealing.dealer,
                height: dealing.height,
                acks: dealing.acks.len(),
                logged: dealing.log_height.is_some(),
            });
        }
    }
    let status = match (&generated, holders.is_empty()) {
        (_, true) => EscrowState::None,
        (Some(_), false) => EscrowState::Ready,
        (None, false) => EscrowState::Generating,
    };
    Ok(Json(EscrowView {
        status,
        threshold: generated
            .as_ref()
            .map_or(epichain_escrow::threshold_for(holders.len()), |key| {
                key.threshold
            }),
        holders,
        sharing: generated.as_ref().map(|key| hex::encode(&key.sharing)),
        generated_height: generated.as_ref().map(|key| key.height),
        dealers: generated.map(|key| key.dealers),
        dealings,
    }))
}

/// Disclosure grants, newest first; paged like the signal listing.
#[utoipa::path(
    get,
    path = "/v1/grants",
    params(GrantQuery),
    responses((status = 200, body = Vec<GrantView>), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
pub async fn grants(
    State(state): State<ApiState>,
    uri: axum::http::Uri,
    Query(query): Query<GrantQuery>,
) -> Result<Response, Failure> {
    let case = parse_optional(query.case.as_deref(), parse_hash)?;
    let cursor = page::parse_cursor(query.cursor.as_deref())?;
    let reader = state.reader()?;
    let case = match case {
        None => None,
        Some(id) => Some(reader.case(&id)?.ok_or_else(|| not_found("case"))?),
    };
    let limit = query.limit.unwrap_or(100).min(GRANTS_LIST_MAX);
    let now = tip_time(&reader)?;
    let accept = |id: Hash| -> Result<Option<GrantView>, LedgerError> {
        let Some(record) = reader.get::<GrantRecord>(&id)? else {
            return Ok(None);
        };
        let covers = case.as_ref().is_none_or(|case| {
            record
                .scope
                .covers(&case.disease, case.region, case.report_day)
        });
        let view = views::grant(record, now);
        let status_ok = query.status.is_none_or(|status| status == view.status);
        Ok((covers && status_ok).then_some(view))
    };
    let (views, next) = page::scan_timed(&reader, TimedIndex::Grants, (0, cursor), limit, accept)?;
    Ok(page::with_next(Json(views).into_response(), &uri, next))
}

/// One grant with, per grantee, the holders that have posted shares for it.
#[utoipa::path(
    get,
    path = "/v1/grants/{id}",
    params(("id" = String, Path, description = "Grant id, hex", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = GrantDetail), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
pub async fn grant(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<GrantDetail>, Failure> {
    let id = parse_hash(&id)?;
    let reader = state.reader()?;
    let record = reader
        .get::<GrantRecord>(&id)?
        .ok_or_else(|| not_found("grant"))?;
    let holders = holders(&reader)?;
    let mut grantees = Vec::new();
    for (grantee, _) in crate::escrow_agent::grantees(&reader, &record)? {
        let identity = reader.identity(&grantee)?;
        let mut posted = Vec::new();
        for holder in &holders {
            let key = DisclosureKey {
                grant: id,
                grantee,
                holder: *holder,
            };
            if let Some(tally) = reader.get::<DisclosureTally>(&key)? {
                posted.push(HolderTally {
                    holder: *holder,
                    records: tally.records,
                    postings: tally.postings,
                });
            }
        }
        grantees.push(GranteeView {
            grantee,
            name: identity.as_ref().map(|identity| identity.name.clone()),
            role: identity.as_ref().map(|identity| identity.role),
            region: identity.as_ref().map(|identity| identity.region),
            holders: posted,
        });
    }
    let now = tip_time(&reader)?;
    Ok(Json(GrantDetail {
        grant: views::grant(record, now),
        grantees,
    }))
}

/// The sealed decryption shares holders posted for one grantee of a grant (only the grantee's
/// encryption key opens them), at most `POSTINGS_PAGE_MAX` per holder; a holder with more
/// names the `next` page (ask again with `holder` and `from`).
#[utoipa::path(
    get,
    path = "/v1/grants/{id}/shares/{grantee}",
    params(
        ("id" = String, Path, description = "Grant id, hex", pattern = "^[0-9a-fA-F]{64}$"),
        ("grantee" = String, Path, description = "Grantee's public key, hex", pattern = "^[0-9a-fA-F]{64}$"),
        SharesQuery
    ),
    responses((status = 200, body = Vec<HolderPostings>), (status = 400, body = ApiError))
)]
pub async fn grant_shares(
    State(state): State<ApiState>,
    Path((id, grantee)): Path<(String, String)>,
    Query(query): Query<SharesQuery>,
) -> Result<Json<Vec<HolderPostings>>, Failure> {
    let id = parse_hash(&id)?;
    let grantee = parse_key("grantee", &grantee)?;
    let only = parse_optional(query.holder.as_deref(), |text| parse_key("holder", text))?;
    let reader = state.reader()?;
    let from = query.from.unwrap_or(0);
    let mut answer = Vec::new();
    for holder in holders(&reader)?
        .into_iter()
        .filter(|holder| only.is_none_or(|only| only == *holder))
    {
        let key = DisclosureKey {
            grant: id,
            grantee,
            holder,
        };
        let Some(tally) = reader.get::<DisclosureTally>(&key)? else {
            continue;
        };
        let batches = reader.disclosure_postings(&key, from, POSTINGS_PAGE_MAX as usize)?;
        let end = from.saturating_add(batches.len() as u32);
        answer.push(HolderPostings {
            holder,
            batches: batches.into_iter().map(views::posting).collect(),
            next: (end < tally.postings).then_some(end),
        });
    }
    Ok(Json(answer))
}
