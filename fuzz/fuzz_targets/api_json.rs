//! Outside requests to the node's HTTP API (its router, without a socket): JSON and binary
//! bodies to the submission endpoints and arbitrary paths and queries. Never a panic and never a
//! 5xx: bad input is a 4xx with a JSON body.
//! Input: a selector byte, then the body (or the path and query).
#![no_main]

use axum::body::Body;
use axum::http::Request;
use epichain_ledger::Ledger;
use epichain_node::api::{self, ApiState, NodeRole};
use epichain_node::chain::{BlockLimits, Chain};
use epichain_node::mempool::MempoolLimits;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt as _;

/// 2026-11-01T00:00:00+08:00.
const GENESIS_MS: u64 = 1_793_462_400_000;

/// The node's runtime and router, built once (the router carries its generated OpenAPI
/// document: building it per input spent most of the time there, not in the handlers).
fn node() -> &'static (tokio::runtime::Runtime, axum::Router) {
    static NODE: OnceLock<(tokio::runtime::Runtime, axum::Router)> = OnceLock::new();
    NODE.get_or_init(|| {
        let world = epichain_world::DemoWorld::new(GENESIS_MS, Vec::new()).expect("world");
        let directory = Box::leak(Box::new(tempfile::tempdir().expect("temp dir")));
        let ledger =
            Ledger::open(&directory.path().join("ledger.redb"), &world.genesis).expect("ledger");
        let chain = Arc::new(Chain::new(
            ledger,
            MempoolLimits::default(),
            BlockLimits::default(),
        ));
        let state = ApiState::new(chain, NodeRole::Validator, "fuzz".into());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        (runtime, api::router(state))
    })
}

fn request(selector: u8, body: &[u8]) -> Option<Request<Body>> {
    let post = |path: &str, content_type: &str| {
        Request::post(path)
            .header("content-type", content_type)
            .body(Body::from(body.to_vec()))
            .ok()
    };
    match selector % 5 {
        0 => post("/v1/transactions", "application/json"),
        1 => post("/v1/transactions/batch", "application/json"),
        2 => post("/v1/transactions/batch", "application/octet-stream"),
        3 => post("/v1/transactions", "application/octet-stream"),
        _ => {
            let path = std::str::from_utf8(body).ok()?;
            Request::get(format!("/{}", path.trim_start_matches('/')))
                .body(Body::empty())
                .ok()
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let Some(request) = request(*selector, body) else {
        return;
    };
    let (runtime, router) = node();
    let path = request.uri().to_string();
    let Ok(response) = runtime.block_on(router.clone().oneshot(request));
    let status = response.status();
    assert!(!status.is_server_error(), "{status} for {path}");
});
