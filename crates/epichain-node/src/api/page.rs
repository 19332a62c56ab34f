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
    (from_ms, before): (u64, Option<Cursor>),
    limit: usize,
    accept: impl FnMut(Hash) -> Result<Option<V>, LedgerError>,
) -> Result<(Vec<V>, Option<Cursor>), LedgerError> {
    let fetch = |before: Option<Cursor>, chunk: usize| {
        Ok(reader.store().timed_page(index, from_ms, before, chunk)?)
    };
    scan(fetch, before, limit, accept)
}

/// [`scan_timed`] over any source of index pages: `fetch(before, n)` answers at most `n`
/// entries older than `before`, newest first.
fn scan<V>(
    mut fetch: impl FnMut(Option<Cursor>, usize) -> Result<Vec<Cursor>, LedgerError>,
    mut before: Option<Cursor>,
    limit: usize,
    mut accept: impl FnMut(Hash) -> Result<Option<V>, LedgerError>,
) -> Result<(Vec<V>, Option<Cursor>), LedgerError> {
    let mut views = Vec::new();
    let mut examined = 0;
    loop {
        let chunk = SCAN_CHUNK.min(LISTING_SCAN_MAX - examined);
        let entries = fetch(before, chunk)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An index of `count` entries at times `count..1`, paged as the store pages it.
    fn index(count: u64) -> impl FnMut(Option<Cursor>, usize) -> Result<Vec<Cursor>, LedgerError> {
        move |before: Option<Cursor>, chunk: usize| {
            let below = before.map_or(count + 1, |(time_ms, _)| time_ms);
            Ok((1..below)
                .rev()
                .take(chunk)
                .map(|time_ms| (time_ms, Hash([0; 32])))
                .collect())
        }
    }

    /// Review H1: a filter that matches nothing examines at most `LISTING_SCAN_MAX` entries of
    /// a large index, then names where to continue; following the cursors covers the index.
    #[test]
    fn a_request_examines_at_most_the_scan_bound() {
        let count = 5 * LISTING_SCAN_MAX as u64 + 7;
        let mut examined = 0usize;
        let mut pages = 0;
        let mut before = None;
        loop {
            let mut this_page = 0usize;
            let reject = |_| {
                this_page += 1;
                Ok(None::<()>)
            };
            let (views, next) = scan(index(count), before, 100, reject).expect("scan");
            assert!(views.is_empty());
            assert!(this_page <= LISTING_SCAN_MAX, "{this_page} examined");
            examined += this_page;
            pages += 1;
            match next {
                Some(cursor) => before = Some(cursor),
                None => break,
            }
        }
        assert_eq!(examined as u64, count, "every entry once");
        assert_eq!(pages, 6);
        // A page of matches ends at its limit, with the cursor at the last one answered.
        let (views, next) = scan(index(count), None, 3, |id| Ok(Some(id))).expect("scan");
        assert_eq!(
            (views.len(), next.map(|(time_ms, _)| time_ms)),
            (3, Some(count - 2))
        );
    }
}
