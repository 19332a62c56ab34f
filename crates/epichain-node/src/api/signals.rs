//! `/v1/signals` and `/v1/counts`: early-warning signals (listing, one signal, a live stream)
//! and the count series behind them.

use super::caller::{Caller, not_permitted};
use super::{
    ApiState, Failure, StreamSlot, bad_request, failure, not_found, page, parse_hash,
    parse_optional, views,
};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use epichain_api::ApiError;
use epichain_api::signals::{
    COUNT_SERIES_DAYS_MAX, CountBasis, CountPoint, CountQuery, SIGNALS_LIST_MAX, SMALL_CELL_MAX,
    SignalDetail, SignalQuery, SignalView,
};
use epichain_core::{Day, DiseaseCode, Hash, RegionCode};
use epichain_ledger::LedgerError;
use epichain_ledger::state::SignalRecord;
use epichain_ledger::store::TimedIndex;

/// Signals, newest first, filtered by region (and below), disease, status and time. A request
/// examines at most `LISTING_SCAN_MAX` signals; a `Link: <…>; rel="next"` header names the next
/// page when there may be more.
#[utoipa::path(
    get,
    path = "/v1/signals",
    params(SignalQuery),
    responses((status = 200, body = Vec<SignalView>), (status = 400, body = ApiError))
)]
pub async fn signals(
    State(state): State<ApiState>,
    caller: Caller,
    uri: axum::http::Uri,
    Query(query): Query<SignalQuery>,
) -> Result<Response, Failure> {
    let region = parse_optional(query.region.as_deref(), |text| {
        text.parse::<RegionCode>()
            .map_err(|invalid| failure(StatusCode::BAD_REQUEST, "bad_region", invalid))
    })?;
    let cursor = page::parse_cursor(query.cursor.as_deref())?
        .or(query.until_ms.map(|until| (until, Hash([0xFF; 32]))));
    let limit = query.limit.unwrap_or(100).min(SIGNALS_LIST_MAX);
    let reader = state.reader()?;
    let accept = |id: Hash| -> Result<Option<SignalView>, LedgerError> {
        let Some(record) = reader.get::<SignalRecord>(&id)? else {
            return Ok(None);
        };
        let covered = caller.covers(record.region);
        let view = views::signal_for(record, covered);
        let region_ok = region.is_none_or(|region| view.region.is_within(region));
        let disease_ok = query
            .disease
            .as_deref()
            .is_none_or(|disease| view.disease.as_str() == disease);
        let status_ok = query.status.is_none_or(|status| status == view.status);
        Ok((region_ok && disease_ok && status_ok).then_some(view))
    };
    let bounds = (query.since_ms.unwrap_or(0), cursor);
    let (views, next) = page::scan_timed(&reader, TimedIndex::Signals, bounds, limit, accept)?;
    Ok(page::with_next(Json(views).into_response(), &uri, next))
}

/// One signal with its workflow steps; its cases (ids and metadata) only for a signed request
/// whose jurisdiction covers the signal's region.
#[utoipa::path(
    get,
    path = "/v1/signals/{id}",
    params(("id" = String, Path, description = "Signal id, hex", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = SignalDetail), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
pub async fn signal(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SignalDetail>, Failure> {
    let id = parse_hash(&id)?;
    let reader = state.reader()?;
    let record = reader
        .get::<SignalRecord>(&id)?
        .ok_or_else(|| not_found("signal"))?;
    let covered = caller.covers(record.region);
    let cases = if covered {
        let mut cases = Vec::with_capacity(record.cases.len());
        for case in &record.cases {
            cases.extend(reader.case(case)?.map(views::case_summary));
        }
        Some(cases)
    } else {
        None
    };
    Ok(Json(SignalDetail {
        signal: views::signal_for(record, covered),
        cases,
    }))
}

/// The parsed count query: disease, region, basis and days.
fn count_series(query: &CountQuery) -> Result<(DiseaseCode, RegionCode, Day, Day), Failure> {
    let disease: DiseaseCode = query.disease.parse().map_err(bad_request)?;
    let region: RegionCode = query.region.parse().map_err(bad_request)?;
    let from: Day = query.from.parse().map_err(bad_request)?;
    let to: Day = query.to.parse().map_err(bad_request)?;
    if to < from || to.0 - from.0 >= COUNT_SERIES_DAYS_MAX {
        return Err(bad_request(format!(
            "from ≤ to and at most {COUNT_SERIES_DAYS_MAX} days"
        )));
    }
    Ok((disease, region, from, to))
}

/// Daily counts of a disease in a region (any of the four levels), by report or onset day. By
/// status only for a signed request whose jurisdiction covers the region. Anyone else gets daily
/// totals by report day of the cells of more than `SMALL_CELL_MAX` cases (review H3); onset days,
/// which late reports change after the fact, need the jurisdiction.
#[utoipa::path(
    get,
    path = "/v1/counts",
    params(CountQuery),
    responses(
        (status = 200, body = Vec<CountPoint>),
        (status = 400, body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, body = ApiError)
    )
)]
pub async fn counts(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<CountQuery>,
) -> Result<Json<Vec<CountPoint>>, Failure> {
    let (disease, region, from, to) = count_series(&query)?;
    let covered = caller.covers(region);
    let basis = match query.basis.unwrap_or_default() {
        CountBasis::Report => epichain_ledger::state::CountBasis::Report,
        CountBasis::Onset if covered => epichain_ledger::state::CountBasis::Onset,
        CountBasis::Onset => {
            // A day's onset count grows with each late report: two answers a day apart would
            // single out the case reported in between.
            caller.identity()?;
            return Err(not_permitted());
        }
    };
    let reader = state.reader()?;
    // Only the answers outside the jurisdiction walk the region tree.
    let regions = if covered {
        epichain_core::RegionSet::default()
    } else {
        reader.config()?.regions
    };
    let mut points = Vec::with_capacity((to.0 - from.0 + 1) as usize);
    for day in (from.0..=to.0).map(Day) {
        let counts = reader.count(&disease, region, basis, day)?;
        let total = counts.total();
        points.push(if covered {
            CountPoint {
                day,
                suspected: Some(counts.suspected),
                clinical: Some(counts.clinical),
                confirmed: Some(counts.confirmed),
                total: Some(total),
                suppressed_regions: 0,
            }
        } else {
            let (disclosed, suppressed_regions) =
                disclosed_total(&reader, &regions, &disease, region, day)?;
            CountPoint {
                day,
                suspected: None,
                clinical: None,
                confirmed: None,
                total: (total == 0 || total > SMALL_CELL_MAX).then_some(disclosed),
                suppressed_regions,
            }
        });
    }
    Ok(Json(points))
}

/// A day's report-basis cases in the reporting regions at or below `region` that had more than
/// `SMALL_CELL_MAX` of them, and how many reporting regions had 1 to `SMALL_CELL_MAX`. A total
/// made only of disclosed cells cannot be differenced against its parts to expose a small one.
/// Visits only regions with cases that day.
fn disclosed_total(
    reader: &epichain_ledger::LedgerReader,
    regions: &epichain_core::RegionSet,
    disease: &DiseaseCode,
    region: RegionCode,
    day: Day,
) -> Result<(u32, u32), Failure> {
    let (mut disclosed, mut suppressed) = (0u32, 0u32);
    let mut pending = vec![region];
    while let Some(next) = pending.pop() {
        let total = reader
            .count(
                disease,
                next,
                epichain_ledger::state::CountBasis::Report,
                day,
            )?
            .total();
        if total == 0 {
            continue;
        }
        if regions.has_children(next) {
            pending.extend(regions.children(next));
        } else if total > SMALL_CELL_MAX {
            disclosed += total;
        } else {
            suppressed += 1;
        }
    }
    Ok((disclosed, suppressed))
}

/// Server-sent events: each signal opened by a newly committed block, as JSON.
#[utoipa::path(
    get,
    path = "/v1/signals/stream",
    responses(
        (status = 200, description = "text/event-stream of signals", content_type = "text/event-stream"),
        (status = 503, description = "Too many streams open; see Retry-After", body = ApiError)
    )
)]
pub async fn signal_stream(State(state): State<ApiState>) -> Result<Response, Failure> {
    let slot = StreamSlot::take(&state.streams).ok_or_else(|| {
        failure(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            format!(
                "this node serves at most {} event streams",
                super::STREAMS_MAX
            ),
        )
        .retry_later()
    })?;
    let receiver = state.chain.subscribe_signals();
    let chain = state.chain.clone();
    let start = (receiver, chain, slot);
    let stream = futures::stream::unfold(start, |(mut receiver, chain, slot)| async move {
        loop {
            match receiver.recv().await {
                Ok(id) => {
                    let view = chain
                        .reader()
                        .ok()
                        .and_then(|reader| reader.get::<SignalRecord>(&id).ok().flatten())
                        .map(|record| views::signal_for(record, false));
                    if let Some(view) = view {
                        let event = axum::response::sse::Event::default()
                            .event("signal")
                            .json_data(&view)
                            .unwrap_or_default();
                        let next = (receiver, chain, slot);
                        return Some((Ok::<_, std::convert::Infallible>(event), next));
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(axum::response::sse::Sse::new(stream)
        .keep_alive(axum::response::sse::KeepAlive::default())
        .into_response())
}
