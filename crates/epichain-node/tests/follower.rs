//! A replica following a lying upstream (review M7): an answer larger than any block is refused
//! while it streams, not buffered whole, and a forwarded submission to a validator that never
//! answers gives up.

use crate::single::Single;
use axum::body::Body;
use epichain_node::sync::{Follower, UPSTREAM_BODY_BYTES_MAX};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// An upstream that claims height 10 and answers any block with an endless stream of zeros;
/// returns its URL and how many bytes it managed to send.
async fn lying_upstream() -> (String, Arc<AtomicUsize>) {
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let router = axum::Router::new()
        .route(
            "/v1/status",
            axum::routing::get(|| async { axum::Json(serde_json::json!({ "height": 10 })) }),
        )
        .route(
            "/v1/blocks/{height}/raw",
            axum::routing::get(move || {
                let counter = counter.clone();
                async move {
                    let chunks = futures::stream::repeat_with(move || {
                        counter.fetch_add(64 * 1024, Ordering::Relaxed);
                        Ok::<_, std::convert::Infallible>(bytes::Bytes::from(vec![0u8; 64 * 1024]))
                    });
                    Body::from_stream(chunks)
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, sent)
}

#[tokio::test]
async fn an_endless_answer_is_refused_while_it_streams() {
    let single = Single::new();
    let chain = single.chain.clone();
    let (url, sent) = lying_upstream().await;
    let follower = Follower::new(
        chain.clone(),
        single.world.genesis.clone(),
        vec![url],
        epichain_core::KeyPair::from_seed([5; 32]),
    );
    assert_eq!(follower.target_height().await.expect("status"), 10);
    let started = Instant::now();
    let applied = follower.step().await.expect("step");
    assert_eq!(applied, 0, "nothing applied from the liar");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(chain.tip().expect("tip").height, 0);
    // The follower stopped reading soon after the limit (the server may have buffered ahead).
    let read = sent.load(Ordering::Relaxed);
    assert!(
        read < UPSTREAM_BODY_BYTES_MAX * 4,
        "{read} bytes were sent before the follower gave up"
    );
}

/// Review M7: a replica forwarding a submission to a validator that accepts the connection and
/// never answers gives up after `FORWARD_TIMEOUT` and answers 502, instead of holding the
/// client (and a connection slot) forever.
#[tokio::test]
async fn a_forwarded_submission_to_a_silent_validator_gives_up() {
    use epichain_node::api::{self, ApiState, FORWARD_TIMEOUT, NodeRole};
    use tower::ServiceExt as _;
    let single = Single::new();
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = silent.local_addr().expect("address");
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            connections.push(connection);
        }
    });
    let state = ApiState {
        upstream: vec![format!("http://{address}")],
        ..ApiState::new(single.chain.clone(), NodeRole::Replica, "replica".into())
    };
    let request = axum::http::Request::post("/v1/transactions")
        .header("content-type", "application/octet-stream")
        .body(Body::from(vec![1u8, 2, 3]))
        .expect("request");
    let started = Instant::now();
    let response = api::router(state).oneshot(request).await.expect("response");
    let waited = started.elapsed();
    assert_eq!(response.status(), 502);
    assert!(
        waited >= FORWARD_TIMEOUT && waited < FORWARD_TIMEOUT + Duration::from_secs(5),
        "gave up after {waited:?}"
    );
    held.abort();
}
