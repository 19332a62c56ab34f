//! Listings are bounded and paged (review H1): a page holds at most its limit, the next page is
//! named by a `Link` header, following the links visits every entry once, and a filter that
//! matches nothing answers an empty page without a link.
// Scenario tests read top to bottom as one story each; splitting them would hide the story.
#![allow(clippy::too_many_lines)]

use crate::single::Single;
use axum::body::Body;
use axum::http::Request;
use epichain_core::{Day, TransactionOutcome};
use epichain_node::api::{self, ApiState, NodeRole};
use tower::ServiceExt as _;

/// GETs `path` from the node's router: the JSON body and the next page's path, if any.
async fn get(state: &ApiState, path: &str) -> (serde_json::Value, Option<String>) {
    let response = api::router(state.clone())
        .oneshot(Request::get(path).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    assert_eq!(response.status(), 200, "{path}");
    let next = response
        .headers()
        .get("link")
        .and_then(|value| value.to_str().ok())
        .and_then(|link| link.strip_prefix('<'))
        .and_then(|link| link.split_once(">; rel=\"next\""))
        .map(|(path, _)| path.to_string());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (serde_json::from_slice(&bytes).expect("json"), next)
}

#[tokio::test]
async fn signal_listings_are_paged_by_cursor() {
    let mut single = Single::new();
    for batch in [single.world.enrolments(), single.world.publications()] {
        assert!(
            single
                .block(&batch)
                .iter()
                .all(|outcome| *outcome == TransactionOutcome::Applied)
        );
    }
    // Cholera (Class A): every case raises signals; three districts on two days.
    for (reporter, region) in [
        ("futian-hospital", "440304"),
        ("yuexiu-hospital", "440104"),
        ("nanshan-hospital", "440305"),
    ] {
        let day = Day::from_unix_ms(single.time_ms);
        let mut report = single
            .world
            .case_report(day, "CHOLERA", region)
            .expect("report");
        report.sealed = single
            .world
            .seal_details(reporter, &report, None)
            .expect("seal");
        let (transaction, _) = single
            .world
            .identity(reporter)
            .expect("reporter")
            .signer
            .report(report);
        assert_eq!(
            single.block(&[transaction]),
            vec![TransactionOutcome::Applied]
        );
    }
    let stored = single
        .chain
        .reader()
        .expect("reader")
        .store()
        .signal_ids(0, u64::MAX >> 1, 1_000)
        .expect("signals");
    assert!(stored.len() >= 3, "{} signals", stored.len());
    let state = ApiState::new(single.chain.clone(), NodeRole::Validator, "test".into());
    let mut seen = Vec::new();
    let mut next = Some("/v1/signals?limit=2".to_string());
    while let Some(path) = next {
        let (page, following) = get(&state, &path).await;
        let items = page.as_array().expect("array");
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|item| item["id"].as_str().expect("id").to_string()),
        );
        next = following;
    }
    let expected: Vec<String> = stored.iter().map(ToString::to_string).collect();
    assert_eq!(seen, expected, "every signal once, newest first");
    let (none, link) = get(&state, "/v1/signals?disease=NO_SUCH").await;
    assert_eq!((none, link), (serde_json::json!([]), None));
}
