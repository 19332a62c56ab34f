//! The node itself: `/v1/status`, finalized blocks, and Prometheus metrics.

use super::caller::Caller;
use super::{ApiState, Failure, failure, not_found};
use crate::metrics;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use epichain_api::ApiError;
use epichain_api::node::{BlockView, NodeStatus};
use std::sync::atomic::Ordering;

/// Height, tip, state root, validator set, peers and mempool.
#[utoipa::path(
    get,
    path = "/v1/status",
    responses((status = 200, body = NodeStatus), (status = 500, body = ApiError))
)]
pub async fn status(State(state): State<ApiState>) -> Result<Json<NodeStatus>, Failure> {
    let tip = state.chain.tip()?;
    let chain_name = state.reader()?.config()?.chain_name;
    Ok(Json(NodeStatus {
        name: state.name.clone(),
        role: state.role,
        chain_id: state.chain.chain_id(),
        chain_name,
        height: tip.height,
        tip_hash: tip.hash,
        state_root: tip.state_root,
        time_ms: tip.time_ms,
        validators: state.chain.validators().to_vec(),
        peers: state.peers.load(Ordering::Relaxed),
        mempool_transactions: state.chain.mempool_size().0,
    }))
}

/// A finalized block: header, transaction ids, receipts and finality certificate.
#[utoipa::path(
    get,
    path = "/v1/blocks/{height}",
    params(("height" = u64, Path, description = "Block height")),
    responses((status = 200, body = BlockView), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
pub async fn block(
    State(state): State<ApiState>,
    Path(height): Path<u64>,
) -> Result<Json<BlockView>, Failure> {
    let reader = state.reader()?;
    let block = reader
        .store()
        .block(height)?
        .ok_or_else(|| not_found("block"))?;
    let receipts = reader.store().receipts(height)?.unwrap_or_default();
    let certificate = reader.certificate(height)?;
    Ok(Json(BlockView {
        hash: block.header.hash(),
        transactions: block
            .transactions
            .iter()
            .map(|transaction| transaction.id())
            .collect(),
        header: block.header,
        receipts,
        certificate: certificate.map(hex::encode),
    }))
}

/// A finalized block for followers: canonical bytes of `(block bytes, certificate bytes)`. Signed
/// requests of CDCs and nodes only: a block carries every case's line-level metadata.
#[utoipa::path(
    get,
    path = "/v1/blocks/{height}/raw",
    params(("height" = u64, Path, description = "Block height")),
    responses(
        (status = 200, description = "Borsh (Vec<u8> block, Option<Vec<u8>> certificate)", content_type = "application/octet-stream"),
        (status = 400, body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, body = ApiError),
        (status = 404, body = ApiError)
    )
)]
pub async fn block_raw(
    State(state): State<ApiState>,
    caller: Caller,
    Path(height): Path<u64>,
) -> Result<Response, Failure> {
    caller.require_follower()?;
    let reader = state.reader()?;
    let block = reader
        .store()
        .block(height)?
        .ok_or_else(|| not_found("block"))?;
    let certificate = reader.certificate(height)?;
    let bytes = epichain_core::encoding::encode(&(block.to_bytes(), certificate));
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

/// Prometheus metrics.
#[utoipa::path(
    get,
    path = "/metrics",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain"),
        (status = 404, description = "Metrics are not enabled", body = ApiError)
    )
)]
pub async fn prometheus(State(state): State<ApiState>) -> Result<Response, Failure> {
    let (transactions, bytes) = state.chain.mempool_size();
    metrics::mempool(transactions, bytes);
    metrics::peers(state.peers.load(Ordering::Relaxed));
    let handle = state.prometheus.as_ref().ok_or_else(|| {
        failure(
            StatusCode::NOT_FOUND,
            "no_metrics",
            "metrics are not enabled",
        )
    })?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response())
}
