//! Cursor pagination for listings (review H1): a request examines at most
//! [`LISTING_SCAN_MAX`] index entries, whatever its filters, and answers with the entries that
//! pass them; if there may be more it names the next page in a `Link: <…>; rel="next"` header
//! (RFC 8288), whose `cursor` is the last entry examined.

use super::{Failure, failure};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use epichain_core::Hash;
use epichain_ledger::store::TimedIndex;
use epichain_ledger::{LedgerError, LedgerReader};

/// Most index entries one listing request examines.
pub const LISTING_SCAN_MAX: usize = 2_000;

/// Entries read from the index at a time.
const SCAN_CHUNK: usize = 256;

/// A position in a (time, id) index: `TIME-IDHEX`.
pub type Cursor = (u64, Hash);

/// Parses a `cursor` query value.
pub fn parse_cursor(text: Option<&str>) -> Result<Option<Cursor>, Failure> {
    let Some(text) = text else {
        return Ok(None);
    };
    let bad = || failure(StatusCode::BAD_REQUEST, "bad_cursor", "expected TIME-IDHEX");
    let (time, id) = text.split_once('-').ok_or_else(bad)?;
    let time_ms = time.parse().map_err(|_| bad())?;
    let id = Hash::from_hex(id).map_err(|_| bad())?;
    Ok(Some((time_ms, id)))
}

/// The entries of `index` newest first, from `before` (exclusive) down to `from_ms`, that
/// `accept` turns into views, until `limit` views or [`LISTING_SCAN_MAX`] entries examined.
/// Returns the views and, if the index may hold more, the cursor to continue from.
pub fn scan_timed<V>(
    reader: &LedgerReader,
    index: TimedIndex,
    (from_ms, mut before): (u64, Option<Cursor>),
    limit: usize,
    mut accept: impl FnMut(Hash) -> Result<Option<V>, LedgerError>,
) -> Result<(Vec<V>, Option<Cursor>), LedgerError> {
    let mut views = Vec::new();
    let mut examined = 0;
    loop {
        let chunk = SCAN_CHUNK.min(LISTING_SCAN_MAX - examined);
        let entries = reader.store().timed_page(index, from_ms, before, chunk)?;
        let exhausted = entries.len() < chunk;
        for (time_ms, id) in entries {
            examined += 1;
            before = Some((time_ms, id));
            if let Some(view) = accept(id)? {
                views.push(view);
                if views.len() >= limit {
                    return Ok((views, before));
                }
            }
        }
        if exhausted {
            return Ok((views, None));
        }
        if examined >= LISTING_SCAN_MAX {
            return Ok((views, before));
        }
    }
}

/// Adds the `Link` header naming the next page of `uri`, if there is one.
pub fn with_next(response: Response, uri: &Uri, next: Option<Cursor>) -> Response {
    match next {
        Some((time_ms, id)) => with_link(response, uri, "cursor", &format!("{time_ms}-{id}")),
        None => response,
    }
}

/// Adds `Link: <uri with parameter=value>; rel="next"`.
pub fn with_link(mut response: Response, uri: &Uri, parameter: &str, value: &str) -> Response {
    let prefix = format!("{parameter}=");
    let mut query: Vec<&str> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with(&prefix))
        .collect();
    let next = format!("{prefix}{value}");
    query.push(&next);
    let link = format!("<{}?{}>; rel=\"next\"", uri.path(), query.join("&"));
    if let Ok(value) = HeaderValue::from_str(&link) {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}
