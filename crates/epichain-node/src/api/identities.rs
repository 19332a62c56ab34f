//! `/v1/identities`: enrolled identities and whom a reporter seals details to.

use super::caller::Caller;
use super::page::with_link;
use super::{ApiState, Failure, bad_request, not_found, parse_key, parse_optional, views};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use epichain_api::ApiError;
use epichain_api::identities::{IDENTITIES_PAGE_MAX, IdentityQuery, IdentityView};
use epichain_core::Role;
use epichain_core::sealed::EncryptionPublicKey;
use epichain_ledger::{IdentityRecord, LedgerError, LedgerReader};

/// An enrolled identity with its published encryption key.
fn identity_view(
    reader: &LedgerReader,
    record: IdentityRecord,
) -> Result<IdentityView, LedgerError> {
    let encryption_key = reader
        .get::<EncryptionPublicKey>(&record.key)?
        .map(|public| hex::encode(public.0));
    Ok(views::identity(record, encryption_key))
}

/// An enrolled identity. A patient's only for a signed request from the patient or an identity
/// whose jurisdiction covers it (review H3).
#[utoipa::path(
    get,
    path = "/v1/identities/{key}",
    params(("key" = String, Path, description = "Public key, hex", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = IdentityView), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError))
)]
pub async fn identity(
    State(state): State<ApiState>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<IdentityView>, Failure> {
    let key = parse_key("key", &key)?;
    let reader = state.reader()?;
    let record = reader
        .identity(&key)?
        .ok_or_else(|| not_found("identity"))?;
    if record.role == Role::Patient {
        caller.require_patient(&record)?;
    }
    Ok(Json(identity_view(&reader, record)?))
}

/// Identities of a role at a region, with their encryption keys: whom a reporter seals details
/// to. At most `IDENTITIES_PAGE_MAX` per answer; a `Link` header names the next page. Patients
/// only for a signed request whose jurisdiction covers the region.
#[utoipa::path(
    get,
    path = "/v1/identities",
    params(IdentityQuery),
    responses((status = 200, body = Vec<IdentityView>), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError))
)]
pub async fn identities(
    State(state): State<ApiState>,
    caller: Caller,
    uri: axum::http::Uri,
    Query(query): Query<IdentityQuery>,
) -> Result<Response, Failure> {
    let (Ok(role), Ok(region)) = (
        query.role.parse::<Role>(),
        query.region.parse::<epichain_core::RegionCode>(),
    ) else {
        return Err(bad_request("expected a role and a region code"));
    };
    if role == Role::Patient {
        caller.require_covers(region)?;
    }
    let after = parse_optional(query.after.as_deref(), |text| parse_key("after", text))?;
    let reader = state.reader()?;
    let keys = reader.store().identities_page(
        role,
        (region.value(), region.value()),
        after,
        IDENTITIES_PAGE_MAX,
    )?;
    let next = (keys.len() == IDENTITIES_PAGE_MAX).then(|| keys[keys.len() - 1]);
    let mut views = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(record) = reader.identity(&key)? {
            views.push(identity_view(&reader, record)?);
        }
    }
    let body = Json(views).into_response();
    Ok(match next {
        Some(key) => with_link(body, &uri, "after", &key.to_hex()),
        None => body,
    })
}
