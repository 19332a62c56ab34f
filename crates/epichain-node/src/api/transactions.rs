//! `/v1/transactions`: submit one or a batch (admission, journal, gossip; replicas forward to a
//! validator), and ask where a transaction stands.

use super::{ApiState, Failure, NodeRole, bad_request, failure, internal, parse_hash};
use crate::chain::{SubmitError, Submitted};
use crate::metrics;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use epichain_api::transactions::{
    BatchItem, BatchRequest, BatchResponse, BatchStatus, SubmitRequest, SubmitResponse,
    SubmitStatus, TransactionState, TransactionStatus,
};
use epichain_api::{ApiError, BATCH_TRANSACTIONS_MAX, REQUEST_BYTES_MAX};
use epichain_core::Rejection;

/// Transactions one client address may submit per second, and its burst: far above a hospital
/// gateway's rate, and a bound on the signature checks one client can demand.
pub const CLIENT_TRANSACTIONS_PER_SECOND: u32 = 20_000;
/// See [`CLIENT_TRANSACTIONS_PER_SECOND`].
pub const CLIENT_TRANSACTIONS_BURST: u32 = 40_000;

/// Largest answer a replica relays from a validator (a batch's results).
pub const FORWARDED_ANSWER_BYTES_MAX: usize = 4 * 1024 * 1024;

/// How long a replica waits for a validator to answer a forwarded submission.
pub const FORWARD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Submit a signed transaction: JSON `{"transaction": hex}` or raw bytes with
/// `Content-Type: application/octet-stream`. Idempotent: resubmitting returns the same id.
#[utoipa::path(
    post,
    path = "/v1/transactions",
    request_body(content = SubmitRequest, description = "JSON with hex bytes, or raw octet-stream"),
    responses(
        (status = 202, description = "Accepted, pending", body = SubmitResponse),
        (status = 200, description = "Already finalized", body = SubmitResponse),
        (status = 400, description = "Malformed, wrong chain, bad signature, stale nonce, bad certificate", body = ApiError),
        (status = 403, description = "Unknown or revoked signer", body = ApiError),
        (status = 409, description = "Another pending transaction of the signer has this nonce", body = ApiError),
        (status = 413, description = "Body over the limit", body = ApiError),
        (status = 502, description = "Replica: no validator reachable", body = ApiError),
        (status = 503, description = "Mempool full or journal unavailable; see Retry-After", body = ApiError)
    )
)]
pub async fn submit_transaction(
    State(state): State<ApiState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let bytes = transaction_bytes(&headers, &body)?;
    charge(&state, &extensions, 1)?;
    if state.role == NodeRole::Replica {
        return forward(&state, "/v1/transactions", bytes).await;
    }
    let outcome = admit(&state, vec![bytes]).await?.pop();
    match outcome.unwrap_or_else(|| Err(SubmitError::Internal("no outcome".into()))) {
        Ok(submitted) => {
            metrics::submission(true);
            let (pool_transactions, pool_bytes) = state.chain.mempool_size();
            metrics::mempool(pool_transactions, pool_bytes);
            let (status, answer) = submitted_answer(&submitted);
            Ok((status, Json(answer)).into_response())
        }
        Err(refusal) => {
            metrics::submission(false);
            Err(refusal_failure(&refusal))
        }
    }
}

/// Charges the client (by address, when the server knows it) for `transactions` submissions
/// and refuses if its budget is spent: a batch costs its size, so the signature checks one
/// client can demand are bounded.
fn charge(
    state: &ApiState,
    extensions: &axum::http::Extensions,
    transactions: usize,
) -> Result<(), Failure> {
    let Some(axum::extract::ConnectInfo(peer)) =
        extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    else {
        return Ok(());
    };
    let cost = u32::try_from(transactions).unwrap_or(u32::MAX);
    if state.submissions.take(peer.ip(), cost) {
        return Ok(());
    }
    Err(failure(
        StatusCode::TOO_MANY_REQUESTS,
        "client_budget",
        format!(
            "this address may submit {CLIENT_TRANSACTIONS_PER_SECOND} transactions a second; retry later"
        ),
    )
    .retry_later())
}

/// Admits transactions (signature checks off the async workers), makes those it acknowledges
/// durable in the journal, and gossips the new ones. An error is the answer to send instead:
/// nothing is acknowledged that the journal could not keep.
async fn admit(
    state: &ApiState,
    items: Vec<Vec<u8>>,
) -> Result<Vec<Result<Submitted, SubmitError>>, Failure> {
    let chain = state.chain.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let slices: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
        let outcomes = chain.submit_many(&slices, crate::wall_clock_ms());
        (items, outcomes)
    })
    .await;
    let Ok((items, outcomes)) = checked else {
        return Err(internal("admission stopped"));
    };
    if let Some(journal) = &state.journal {
        let acknowledged: Vec<Vec<u8>> = items
            .into_iter()
            .zip(&outcomes)
            .filter(|(_, outcome)| {
                matches!(
                    outcome,
                    Ok((Submitted::Pending(_) | Submitted::AlreadyPending(_), _))
                )
            })
            .map(|(bytes, _)| bytes)
            .collect();
        if let Err(broken) = journal.append(acknowledged).await {
            tracing::error!(%broken, "transactions admitted but not journaled");
            let unavailable = failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "journal_unavailable",
                broken,
            );
            return Err(unavailable.retry_later());
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|outcome| {
            outcome.map(|(submitted, parsed)| {
                if let (Some(transaction), Some(gossip)) = (parsed, &state.gossip) {
                    let _ = gossip.unbounded_send(transaction);
                }
                submitted
            })
        })
        .collect())
}

fn is_binary(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/octet-stream"))
}

fn transaction_bytes(headers: &HeaderMap, body: &Bytes) -> Result<Vec<u8>, Failure> {
    if is_binary(headers) {
        return Ok(body.to_vec());
    }
    let request: SubmitRequest = serde_json::from_slice(body)
        .map_err(|parse| bad_request(format!("expected {{\"transaction\": hex}}: {parse}")))?;
    hex::decode(request.transaction.trim()).map_err(|_| bad_request("transaction is not hex"))
}

/// The status and body answering an accepted submission.
fn submitted_answer(submitted: &Submitted) -> (StatusCode, SubmitResponse) {
    let id = submitted.id();
    match submitted {
        Submitted::Finalized(_, height) => (
            StatusCode::OK,
            SubmitResponse {
                id,
                status: SubmitStatus::Finalized,
                height: Some(*height),
            },
        ),
        Submitted::Pending(_) | Submitted::AlreadyPending(_) => (
            StatusCode::ACCEPTED,
            SubmitResponse {
                id,
                status: SubmitStatus::Pending,
                height: None,
            },
        ),
    }
}

fn refusal_code(refusal: &SubmitError) -> (StatusCode, &'static str) {
    match refusal {
        SubmitError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        SubmitError::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed"),
        SubmitError::Refused(
            rejection @ (Rejection::UnknownSigner(_)
            | Rejection::RevokedSigner(_)
            | Rejection::RevokedIssuer(_)),
        ) => (StatusCode::FORBIDDEN, rejection.code()),
        SubmitError::Refused(rejection) => (StatusCode::BAD_REQUEST, rejection.code()),
        SubmitError::NonceTaken(_) => (StatusCode::CONFLICT, "nonce_pending"),
        SubmitError::Full => (StatusCode::SERVICE_UNAVAILABLE, "mempool_full"),
        SubmitError::SignerFull => (StatusCode::TOO_MANY_REQUESTS, "signer_busy"),
        SubmitError::EnrolmentsBusy => (StatusCode::TOO_MANY_REQUESTS, "enrolments_busy"),
        SubmitError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

/// True if a refusal with this status asks the client to retry later.
fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS
}

fn refusal_failure(refusal: &SubmitError) -> Failure {
    let (status, code) = refusal_code(refusal);
    let refused = failure(status, code, refusal);
    if is_retryable(status) {
        return refused.retry_later();
    }
    refused
}

/// Replicas hand submissions to the first upstream validator that answers, and relay its answer.
async fn forward(state: &ApiState, path: &str, bytes: Vec<u8>) -> Result<Response, Failure> {
    for upstream in &state.upstream {
        let sent = state
            .client
            .post(format!("{upstream}{path}"))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes.clone())
            .send()
            .await;
        if let Ok(answer) = sent {
            let status =
                StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let retry = answer.headers().get(header::RETRY_AFTER).cloned();
            let Ok(body) = crate::sync::body_capped(answer, FORWARDED_ANSWER_BYTES_MAX).await
            else {
                continue;
            };
            let mut response =
                (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
            if let Some(retry) = retry {
                response.headers_mut().insert(header::RETRY_AFTER, retry);
            }
            return Ok(response);
        }
    }
    Err(failure(
        StatusCode::BAD_GATEWAY,
        "no_upstream",
        "no validator reachable",
    ))
}

/// Submit up to 4,096 signed transactions at once: JSON `{"transactions": [hex, …]}` or the
/// canonical encoding of `Vec<Vec<u8>>` as `application/octet-stream`. Each is checked as by
/// `POST /v1/transactions`; results come in order. Retry-After is set if any was refused because
/// the mempool or the signer's share of it is full.
#[utoipa::path(
    post,
    path = "/v1/transactions/batch",
    request_body(content = BatchRequest, description = "JSON with hex transactions, or octet-stream"),
    responses(
        (status = 200, description = "Per-transaction results", body = BatchResponse),
        (status = 400, description = "Malformed batch", body = ApiError),
        (status = 413, description = "Body over the limit", body = ApiError),
        (status = 502, description = "Replica: no validator reachable", body = ApiError),
        (status = 503, description = "Journal unavailable; see Retry-After", body = ApiError)
    )
)]
pub async fn submit_batch(
    State(state): State<ApiState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let items = batch_items(&headers, &body)?;
    charge(&state, &extensions, items.len())?;
    if state.role == NodeRole::Replica {
        let encoded = epichain_core::encoding::encode(&items);
        return forward(&state, "/v1/transactions/batch", encoded).await;
    }
    let outcomes = admit(&state, items).await?;
    let mut any_retryable = false;
    let results = outcomes
        .into_iter()
        .map(|outcome| {
            metrics::submission(outcome.is_ok());
            match outcome {
                Ok(submitted) => {
                    let (_, answer) = submitted_answer(&submitted);
                    BatchItem {
                        id: Some(answer.id),
                        status: match answer.status {
                            SubmitStatus::Pending => BatchStatus::Pending,
                            SubmitStatus::Finalized => BatchStatus::Finalized,
                        },
                        height: answer.height,
                        code: None,
                        message: None,
                    }
                }
                Err(refusal) => {
                    let (status, code) = refusal_code(&refusal);
                    any_retryable |= is_retryable(status);
                    BatchItem {
                        id: None,
                        status: BatchStatus::Refused,
                        height: None,
                        code: Some(code.to_string()),
                        message: Some(refusal.to_string()),
                    }
                }
            }
        })
        .collect();
    let response = Json(BatchResponse { results }).into_response();
    if any_retryable {
        return Ok(super::retry_later(response));
    }
    Ok(response)
}

fn batch_items(headers: &HeaderMap, body: &Bytes) -> Result<Vec<Vec<u8>>, Failure> {
    let items: Vec<Vec<u8>> = if is_binary(headers) {
        epichain_core::encoding::decode_bounded(body, REQUEST_BYTES_MAX).map_err(bad_request)?
    } else {
        let request: BatchRequest = serde_json::from_slice(body).map_err(|parse| {
            bad_request(format!("expected {{\"transactions\": [hex]}}: {parse}"))
        })?;
        request
            .transactions
            .iter()
            .map(|text| hex::decode(text.trim()))
            .collect::<Result<_, _>>()
            .map_err(|_| bad_request("a transaction is not hex"))?
    };
    if items.len() > BATCH_TRANSACTIONS_MAX {
        return Err(failure(
            StatusCode::BAD_REQUEST,
            "too_many",
            format!("at most {BATCH_TRANSACTIONS_MAX} transactions per batch"),
        ));
    }
    Ok(items)
}

/// Where a transaction stands: pending in the mempool, finalized at a height (applied or
/// rejected with its reason), or unknown.
#[utoipa::path(
    get,
    path = "/v1/transactions/{id}",
    params(("id" = String, Path, description = "Transaction id, hex", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = TransactionStatus), (status = 400, body = ApiError))
)]
pub async fn transaction_status(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<TransactionStatus>, Failure> {
    let id = parse_hash(&id)?;
    let receipt = state.reader()?.receipt(&id)?;
    // "finalized" promises that reads show the block: one committed but still being written by
    // a pipelined ledger is reported pending for those milliseconds.
    let committed = receipt.is_none() && state.chain.recent_receipt(&id).is_some();
    let (status, height, outcome) = match receipt {
        Some((height, receipt)) => (
            TransactionState::Finalized,
            Some(height),
            Some(receipt.outcome),
        ),
        None if committed || state.chain.is_pending(&id) => (TransactionState::Pending, None, None),
        None => (TransactionState::Unknown, None, None),
    };
    Ok(Json(TransactionStatus {
        id,
        status,
        height,
        outcome,
    }))
}
