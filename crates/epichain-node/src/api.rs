//! The HTTP API (axum), with its OpenAPI document generated from the handlers (utoipa) and
//! served at `/openapi.json`. Errors are JSON `{code, message}` with a stable code.

use crate::chain::{Chain, SubmitError, Submitted};
use crate::metrics;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use epichain_core::{Hash, PublicKey, Rejection, SignedTransaction, TransactionOutcome};
use epichain_ledger::store::TimedIndex;
use futures::channel::mpsc;
use metrics_exporter_prometheus::PrometheusHandle;
use page::with_link;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod disclosure;
mod page;
pub use page::LISTING_SCAN_MAX;

/// Seconds a client should wait after a 503 (mempool full).
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// Largest request body (a batch of transactions).
pub const REQUEST_BYTES_MAX: usize = 8 * 1024 * 1024;

/// What the node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// Votes in consensus.
    Validator,
    /// Follows finalized blocks.
    Replica,
}

/// Shared state of the API.
#[derive(Clone)]
pub struct ApiState {
    /// The chain.
    pub chain: Arc<Chain>,
    /// Validator or replica.
    pub role: NodeRole,
    /// Node name from its configuration.
    pub name: String,
    /// Validators: gossip accepted transactions to the other validators.
    pub gossip: Option<mpsc::UnboundedSender<Arc<SignedTransaction>>>,
    /// Replicas: validator API URLs to forward submissions to.
    pub upstream: Vec<String>,
    /// HTTP client for forwarding.
    pub client: reqwest::Client,
    /// Prometheus renderer.
    pub prometheus: Option<PrometheusHandle>,
    /// Connected peers (validators) or reachable upstreams (replicas).
    pub peers: Arc<AtomicUsize>,
    /// Open event streams (at most [`STREAMS_MAX`]).
    pub streams: Arc<AtomicUsize>,
    /// Validators: the mempool journal, so that an acknowledged transaction survives a crash.
    pub journal: Option<Arc<crate::journal::Journal>>,
    /// Transactions each client address may submit (a batch costs its size).
    pub submissions: Arc<crate::budget::ClientBudgets>,
}

/// Transactions one client address may submit per second, and its burst: far above a hospital
/// gateway's rate, and a bound on the signature checks one client can demand.
pub const CLIENT_TRANSACTIONS_PER_SECOND: u32 = 20_000;
/// See [`CLIENT_TRANSACTIONS_PER_SECOND`].
pub const CLIENT_TRANSACTIONS_BURST: u32 = 40_000;

impl ApiState {
    /// A node's API state with nothing attached: no gossip, upstreams, metrics or journal.
    pub fn new(chain: Arc<Chain>, role: NodeRole, name: String) -> Self {
        ApiState {
            chain,
            role,
            name,
            gossip: None,
            upstream: Vec::new(),
            client: reqwest::Client::new(),
            prometheus: None,
            peers: Arc::default(),
            streams: Arc::default(),
            journal: None,
            submissions: Arc::new(crate::budget::ClientBudgets::new(
                CLIENT_TRANSACTIONS_PER_SECOND,
                CLIENT_TRANSACTIONS_BURST,
            )),
        }
    }
}

/// Most event-stream subscribers a node serves at once.
pub const STREAMS_MAX: usize = 256;

/// One open event stream; counted while it lives.
struct StreamSlot(Arc<AtomicUsize>);

impl StreamSlot {
    fn take(streams: &Arc<AtomicUsize>) -> Option<StreamSlot> {
        streams
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < STREAMS_MAX).then_some(open + 1)
            })
            .ok()
            .map(|_| StreamSlot(streams.clone()))
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An error body.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    /// Stable machine-readable code.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

/// A refused request: status, stable code, message.
struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ApiError {
                code: self.code.to_string(),
                message: self.message,
            }),
        )
            .into_response()
    }
}

fn failure(status: StatusCode, code: &'static str, message: impl ToString) -> Failure {
    Failure {
        status,
        code,
        message: message.to_string(),
    }
}

/// Adds `Retry-After` to a refusal that a client should retry ([`RETRY_AFTER_SECONDS`]).
pub(crate) fn retry_later(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response
}

pub(crate) fn error(status: StatusCode, code: &'static str, message: impl ToString) -> Response {
    failure(status, code, message).into_response()
}

/// Every client error leaves as a JSON [`ApiError`]: the extractors' own rejections (a path or
/// query that does not parse, an unreadable body, a wrong method) are plain text, so they are
/// rewrapped here with their status and text kept.
async fn json_client_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !status.is_client_error() || is_json {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 4_096)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        _ => "bad_request",
    };
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("bad request")
            .to_string()
    } else {
        text
    };
    error(status, code, message)
}

fn internal(message: impl ToString) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
}

fn not_found(what: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no such {what}"),
    )
}

fn parse_hash(text: &str) -> Result<Hash, Failure> {
    Hash::from_hex(text)
        .map_err(|_| failure(StatusCode::BAD_REQUEST, "bad_id", "expected 64 hex digits"))
}

/// A transaction to submit, hex-encoded canonical bytes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmitRequest {
    /// Hex of the signed transaction's canonical (Borsh) bytes.
    pub transaction: String,
}

/// The result of a submission.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmitResponse {
    /// Transaction id (hex).
    pub id: String,
    /// `pending`, or `finalized` when the transaction is already in a block.
    pub status: String,
    /// Height, when finalized.
    pub height: Option<u64>,
}

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
        (status = 503, description = "Mempool full or journal unavailable; see Retry-After", body = ApiError)
    )
)]
async fn submit_transaction(
    State(state): State<ApiState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bytes = match transaction_bytes(&headers, &body) {
        Ok(bytes) => bytes,
        Err(refused) => return refused.into_response(),
    };
    if let Some(refused) = over_budget(&state, &extensions, 1) {
        return refused;
    }
    if state.role == NodeRole::Replica {
        return forward(&state, "/v1/transactions", bytes).await;
    }
    let outcome = match admit(&state, vec![bytes]).await {
        Ok(mut outcomes) => outcomes.pop(),
        Err(unavailable) => return unavailable,
    };
    match outcome.unwrap_or_else(|| Err(SubmitError::Internal("no outcome".into()))) {
        Ok(submitted) => {
            metrics::submission(true);
            let (pool_transactions, pool_bytes) = state.chain.mempool_size();
            metrics::mempool(pool_transactions, pool_bytes);
            submitted_response(submitted)
        }
        Err(refusal) => {
            metrics::submission(false);
            refusal_response(refusal)
        }
    }
}

/// Charges the client (by address, when the server knows it) for `transactions` submissions
/// and returns the refusal if its budget is spent: a batch costs its size, so the signature
/// checks one client can demand are bounded.
fn over_budget(
    state: &ApiState,
    extensions: &axum::http::Extensions,
    transactions: usize,
) -> Option<Response> {
    let axum::extract::ConnectInfo(peer) =
        extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?;
    let cost = u32::try_from(transactions).unwrap_or(u32::MAX);
    if state.submissions.take(peer.ip(), cost) {
        return None;
    }
    Some(retry_later(error(
        StatusCode::TOO_MANY_REQUESTS,
        "client_budget",
        format!(
            "this address may submit {CLIENT_TRANSACTIONS_PER_SECOND} transactions a second; retry later"
        ),
    )))
}

/// Admits transactions (signature checks off the async workers), makes those it acknowledges
/// durable in the journal, and gossips the new ones. An error is the answer to send instead:
/// nothing is acknowledged that the journal could not keep.
async fn admit(
    state: &ApiState,
    items: Vec<Vec<u8>>,
) -> Result<Vec<Result<Submitted, SubmitError>>, Response> {
    let chain = state.chain.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let slices: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
        let outcomes = chain.submit_many(&slices, wall_clock_ms());
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
        if let Err(failure) = journal.append(acknowledged).await {
            tracing::error!(%failure, "transactions admitted but not journaled");
            return Err(retry_later(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "journal_unavailable",
                failure,
            )));
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
    let request: SubmitRequest = serde_json::from_slice(body).map_err(|parse| {
        failure(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("expected {{\"transaction\": hex}}: {parse}"),
        )
    })?;
    hex::decode(request.transaction.trim()).map_err(|_| {
        failure(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "transaction is not hex",
        )
    })
}

fn submitted_response(submitted: Submitted) -> Response {
    let id = submitted.id().to_hex();
    match submitted {
        Submitted::Finalized(_, height) => (
            StatusCode::OK,
            Json(SubmitResponse {
                id,
                status: "finalized".into(),
                height: Some(height),
            }),
        )
            .into_response(),
        Submitted::Pending(_) | Submitted::AlreadyPending(_) => (
            StatusCode::ACCEPTED,
            Json(SubmitResponse {
                id,
                status: "pending".into(),
                height: None,
            }),
        )
            .into_response(),
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

fn refusal_response(refusal: SubmitError) -> Response {
    let (status, code) = refusal_code(&refusal);
    let response = error(status, code, &refusal);
    if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
        return retry_later(response);
    }
    response
}

/// Replicas hand submissions to the first upstream validator that answers.
async fn forward(state: &ApiState, path: &str, bytes: Vec<u8>) -> Response {
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
            return response;
        }
    }
    error(
        StatusCode::BAD_GATEWAY,
        "no_upstream",
        "no validator reachable",
    )
}

/// Largest answer a replica relays from a validator (a batch's results).
pub const FORWARDED_ANSWER_BYTES_MAX: usize = 4 * 1024 * 1024;

/// How long a replica waits for a validator to answer a forwarded submission.
pub const FORWARD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Most transactions in one batch request.
pub const BATCH_TRANSACTIONS_MAX: usize = 4_096;

/// Many transactions, hex-encoded.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchRequest {
    /// Hex of each signed transaction's canonical bytes.
    pub transactions: Vec<String>,
}

/// What happened to one transaction of a batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchItem {
    /// Transaction id, when it decoded.
    pub id: Option<String>,
    /// `pending`, `finalized` or `refused`.
    pub status: String,
    /// Height, when finalized.
    pub height: Option<u64>,
    /// Refusal code.
    pub code: Option<String>,
    /// Refusal reason.
    pub message: Option<String>,
}

/// Results in request order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchResponse {
    /// One per submitted transaction.
    pub results: Vec<BatchItem>,
}

/// Submit up to 4,096 signed transactions at once: JSON `{"transactions": [hex, …]}` or the
/// canonical encoding of `Vec<Vec<u8>>` as `application/octet-stream`. Each is checked as by
/// `POST /v1/transactions`; results come in order. Retry-After is set if any was refused because
/// the mempool is full.
#[utoipa::path(
    post,
    path = "/v1/transactions/batch",
    request_body(content = BatchRequest, description = "JSON with hex transactions, or octet-stream"),
    responses(
        (status = 200, description = "Per-transaction results", body = BatchResponse),
        (status = 400, description = "Malformed batch", body = ApiError),
        (status = 413, description = "Body over the limit", body = ApiError),
        (status = 503, description = "Journal unavailable; see Retry-After", body = ApiError)
    )
)]
async fn submit_batch(
    State(state): State<ApiState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let items = match batch_items(&headers, &body) {
        Ok(items) => items,
        Err(refused) => return refused.into_response(),
    };
    if let Some(refused) = over_budget(&state, &extensions, items.len()) {
        return refused;
    }
    if state.role == NodeRole::Replica {
        let encoded = epichain_core::encoding::encode(&items);
        return forward(&state, "/v1/transactions/batch", encoded).await;
    }
    let outcomes = match admit(&state, items).await {
        Ok(outcomes) => outcomes,
        Err(unavailable) => return unavailable,
    };
    let mut any_full = false;
    let results = outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Ok(submitted) => {
                metrics::submission(true);
                let (status, height) = match submitted {
                    Submitted::Finalized(_, height) => ("finalized", Some(height)),
                    _ => ("pending", None),
                };
                BatchItem {
                    id: Some(submitted.id().to_hex()),
                    status: status.into(),
                    height,
                    code: None,
                    message: None,
                }
            }
            Err(refusal) => {
                metrics::submission(false);
                let (status, code) = refusal_code(&refusal);
                any_full |= status == StatusCode::SERVICE_UNAVAILABLE
                    || status == StatusCode::TOO_MANY_REQUESTS;
                BatchItem {
                    id: None,
                    status: "refused".into(),
                    height: None,
                    code: Some(code.to_string()),
                    message: Some(refusal.to_string()),
                }
            }
        })
        .collect();
    let response = Json(BatchResponse { results }).into_response();
    if any_full {
        return retry_later(response);
    }
    response
}

fn batch_items(headers: &HeaderMap, body: &Bytes) -> Result<Vec<Vec<u8>>, Failure> {
    let items: Vec<Vec<u8>> = if is_binary(headers) {
        epichain_core::encoding::decode_bounded(body, REQUEST_BYTES_MAX)
            .map_err(|error| failure(StatusCode::BAD_REQUEST, "bad_request", error))?
    } else {
        let request: BatchRequest = serde_json::from_slice(body).map_err(|parse| {
            failure(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("expected {{\"transactions\": [hex]}}: {parse}"),
            )
        })?;
        request
            .transactions
            .iter()
            .map(|text| hex::decode(text.trim()))
            .collect::<Result<_, _>>()
            .map_err(|_| {
                failure(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "a transaction is not hex",
                )
            })?
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

/// Status of a transaction.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TransactionStatus {
    /// Transaction id.
    pub id: String,
    /// `pending`, `finalized` or `unknown`.
    pub status: String,
    /// Height of its block, when finalized.
    pub height: Option<u64>,
    /// `applied`, or `rejected` with a code and reason, when finalized.
    #[schema(value_type = Object)]
    pub outcome: Option<TransactionOutcome>,
}

/// Where a transaction stands: pending in the mempool, finalized at a height (applied or
/// rejected with its reason), or unknown.
#[utoipa::path(
    get,
    path = "/v1/transactions/{id}",
    params(("id" = String, Path, description = "Transaction id, hex")),
    responses((status = 200, body = TransactionStatus), (status = 400, body = ApiError))
)]
async fn transaction_status(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    let id = match parse_hash(&id) {
        Ok(id) => id,
        Err(refused) => return refused.into_response(),
    };
    let receipt = match state.chain.reader().map(|reader| reader.receipt(&id)) {
        Ok(Ok(receipt)) => receipt,
        Ok(Err(failure)) => return internal(failure),
        Err(failure) => return internal(failure),
    };
    // "finalized" promises that reads show the block: one committed but still being written by
    // a pipelined ledger is reported pending for those milliseconds.
    let committed = receipt.is_none() && state.chain.recent_receipt(&id).is_some();
    let status = match receipt {
        Some((height, receipt)) => TransactionStatus {
            id: id.to_hex(),
            status: "finalized".into(),
            height: Some(height),
            outcome: Some(receipt.outcome),
        },
        None if committed || state.chain.is_pending(&id) => TransactionStatus {
            id: id.to_hex(),
            status: "pending".into(),
            height: None,
            outcome: None,
        },
        None => TransactionStatus {
            id: id.to_hex(),
            status: "unknown".into(),
            height: None,
            outcome: None,
        },
    };
    Json(status).into_response()
}

/// Node status.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NodeStatus {
    /// Node name.
    pub name: String,
    /// `validator` or `replica`.
    pub role: String,
    /// Chain id (genesis hash).
    pub chain_id: String,
    /// Chain name.
    pub chain_name: String,
    /// Latest committed height.
    pub height: u64,
    /// Hash of the latest header.
    pub tip_hash: String,
    /// State root after it.
    pub state_root: String,
    /// Its block time, Unix milliseconds.
    pub time_ms: u64,
    /// Validator keys from genesis.
    pub validators: Vec<String>,
    /// Connected peers.
    pub peers: usize,
    /// Pending transactions.
    pub mempool_transactions: usize,
}

/// Height, tip, state root, validator set, peers and mempool.
#[utoipa::path(get, path = "/v1/status", responses((status = 200, body = NodeStatus)))]
async fn status(State(state): State<ApiState>) -> Response {
    let tip = match state.chain.tip() {
        Ok(tip) => tip,
        Err(failure) => return internal(failure),
    };
    let chain_name = state
        .chain
        .reader()
        .and_then(|reader| reader.config().map_err(Into::into))
        .map(|config| config.chain_name)
        .unwrap_or_default();
    Json(NodeStatus {
        name: state.name.clone(),
        role: match state.role {
            NodeRole::Validator => "validator".into(),
            NodeRole::Replica => "replica".into(),
        },
        chain_id: state.chain.chain_id().to_hex(),
        chain_name,
        height: tip.height,
        tip_hash: tip.hash.to_hex(),
        state_root: tip.state_root.to_hex(),
        time_ms: tip.time_ms,
        validators: state
            .chain
            .validators()
            .iter()
            .map(PublicKey::to_hex)
            .collect(),
        peers: state.peers.load(Ordering::Relaxed),
        mempool_transactions: state.chain.mempool_size().0,
    })
    .into_response()
}

/// A block with its receipts and finality certificate.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockView {
    /// Header hash.
    pub hash: String,
    /// The header.
    #[schema(value_type = Object)]
    pub header: epichain_core::BlockHeader,
    /// Transaction ids in order.
    pub transactions: Vec<String>,
    /// Receipts in order.
    #[schema(value_type = Vec<Object>)]
    pub receipts: Vec<epichain_core::Receipt>,
    /// Finality certificate (hex), checkable with the genesis validators; absent when the block
    /// was finalized through a descendant's certificate.
    pub certificate: Option<String>,
}

/// A finalized block: header, transaction ids, receipts and finality certificate.
#[utoipa::path(
    get,
    path = "/v1/blocks/{height}",
    params(("height" = u64, Path, description = "Block height")),
    responses((status = 200, body = BlockView), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
async fn block(State(state): State<ApiState>, Path(height): Path<u64>) -> Response {
    let reader = match state.chain.reader() {
        Ok(reader) => reader,
        Err(failure) => return internal(failure),
    };
    let (Ok(Some(block)), Ok(receipts), Ok(certificate)) = (
        reader.store().block(height),
        reader.store().receipts(height),
        reader.certificate(height),
    ) else {
        return not_found("block");
    };
    Json(BlockView {
        hash: block.header.hash().to_hex(),
        transactions: block
            .transactions
            .iter()
            .map(|transaction| transaction.id().to_hex())
            .collect(),
        header: block.header,
        receipts: receipts.unwrap_or_default(),
        certificate: certificate.map(hex::encode),
    })
    .into_response()
}

/// A finalized block for followers: canonical bytes of `(block bytes, certificate bytes)`.
#[utoipa::path(
    get,
    path = "/v1/blocks/{height}/raw",
    params(("height" = u64, Path, description = "Block height")),
    responses(
        (status = 200, description = "Borsh (Vec<u8> block, Option<Vec<u8>> certificate)", content_type = "application/octet-stream"),
        (status = 400, body = ApiError),
        (status = 404, body = ApiError)
    )
)]
async fn block_raw(State(state): State<ApiState>, Path(height): Path<u64>) -> Response {
    let reader = match state.chain.reader() {
        Ok(reader) => reader,
        Err(failure) => return internal(failure),
    };
    let (Ok(Some(block)), Ok(certificate)) =
        (reader.store().block(height), reader.certificate(height))
    else {
        return not_found("block");
    };
    let bytes = epichain_core::encoding::encode(&(block.to_bytes(), certificate));
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

/// An enrolled identity.
#[utoipa::path(
    get,
    path = "/v1/identities/{key}",
    params(("key" = String, Path, description = "Public key, hex")),
    responses((status = 200, body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
async fn identity(State(state): State<ApiState>, Path(key): Path<String>) -> Response {
    let Ok(key) = PublicKey::from_hex(&key) else {
        return error(StatusCode::BAD_REQUEST, "bad_key", "expected 64 hex digits");
    };
    let reader = match state.chain.reader() {
        Ok(reader) => reader,
        Err(failure) => return internal(failure),
    };
    match identity_view(&reader, &key) {
        Ok(Some(view)) => Json(view).into_response(),
        Ok(None) => not_found("identity"),
        Err(failure) => internal(failure),
    }
}

/// An identity with its published encryption key.
fn identity_view(
    reader: &epichain_ledger::LedgerReader,
    key: &PublicKey,
) -> Result<Option<serde_json::Value>, epichain_ledger::LedgerError> {
    let Some(identity) = reader.identity(key)? else {
        return Ok(None);
    };
    let encryption_key = reader
        .get::<epichain_core::sealed::EncryptionPublicKey>(key)?
        .map(|public| hex::encode(public.0));
    let mut value = serde_json::to_value(identity).unwrap_or_default();
    value["encryption_key"] = serde_json::json!(encryption_key);
    Ok(Some(value))
}

/// Which identities to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct IdentityQuery {
    /// Role, e.g. `authority`.
    pub role: String,
    /// Home region (exactly), e.g. 440304.
    pub region: String,
    /// Continue after this key (from the previous page's `Link` header).
    pub after: Option<String>,
}

/// Most identities in one answer.
pub const IDENTITIES_PAGE_MAX: usize = 1_000;

/// Identities of a role at a region, with their encryption keys: whom a reporter seals details to.
#[utoipa::path(
    get,
    path = "/v1/identities",
    params(IdentityQuery),
    responses((status = 200, body = Vec<Object>), (status = 400, body = ApiError))
)]
async fn identities(
    State(state): State<ApiState>,
    uri: axum::http::Uri,
    axum::extract::Query(query): axum::extract::Query<IdentityQuery>,
) -> Response {
    let (Ok(role), Ok(region)) = (
        query.role.parse::<epichain_core::Role>(),
        query.region.parse::<epichain_core::RegionCode>(),
    ) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "expected a role and a region code",
        );
    };
    let reader = match state.chain.reader() {
        Ok(reader) => reader,
        Err(failure) => return internal(failure),
    };
    let after = match query.after.as_deref().map(PublicKey::from_hex) {
        None => None,
        Some(Ok(key)) => Some(key),
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_key",
                "after: expected 64 hex digits",
            );
        }
    };
    let keys = match reader.store().identities_page(
        role,
        (region.value(), region.value()),
        after,
        IDENTITIES_PAGE_MAX,
    ) {
        Ok(keys) => keys,
        Err(failure) => return internal(failure),
    };
    let next = (keys.len() == IDENTITIES_PAGE_MAX).then(|| keys[keys.len() - 1]);
    let mut views = Vec::new();
    for key in keys {
        match identity_view(&reader, &key) {
            Ok(Some(view)) => views.push(view),
            Ok(None) => {}
            Err(failure) => return internal(failure),
        }
    }
    let body = Json(views).into_response();
    match next {
        Some(key) => with_link(body, &uri, "after", &key.to_hex()),
        None => body,
    }
}

/// Most access logs in one answer.
pub const ACCESS_LOGS_PAGE_MAX: usize = 1_000;

/// Which access logs to return.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AccessQuery {
    /// From this height (default 0; the `Link` header names the next page's).
    pub from_height: Option<u64>,
}

/// The audited reads of a case's sealed details, oldest first, at most
/// [`ACCESS_LOGS_PAGE_MAX`] per answer.
#[utoipa::path(
    get,
    path = "/v1/cases/{id}/access",
    params(("id" = String, Path, description = "Case id, hex"), AccessQuery),
    responses((status = 200, body = Vec<Object>), (status = 400, body = ApiError))
)]
async fn case_access(
    State(state): State<ApiState>,
    uri: axum::http::Uri,
    Path(id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<AccessQuery>,
) -> Response {
    let id = match parse_hash(&id) {
        Ok(id) => id,
        Err(refused) => return refused.into_response(),
    };
    let reader = match state.chain.reader() {
        Ok(reader) => reader,
        Err(failure) => return internal(failure),
    };
    let from_height = query.from_height.unwrap_or(0);
    let mut logs = match reader
        .store()
        .access_logs(&id, from_height, ACCESS_LOGS_PAGE_MAX + 1)
    {
        Ok(logs) => logs,
        Err(failure) => return internal(failure),
    };
    // Pages end at a height boundary, so that the next starts at a height.
    let next = (logs.len() > ACCESS_LOGS_PAGE_MAX).then(|| {
        let cut = logs[ACCESS_LOGS_PAGE_MAX].0;
        logs.truncate(ACCESS_LOGS_PAGE_MAX);
        if logs.iter().any(|log| log.0 < cut) {
            logs.retain(|log| log.0 < cut);
            cut
        } else {
            cut + 1
        }
    });
    let body = Json(
        logs.into_iter()
            .map(|(height, reader, time_ms, purpose)| {
                serde_json::json!({ "height": height, "reader": reader, "time_ms": time_ms, "purpose": purpose })
            })
            .collect::<Vec<_>>(),
    )
    .into_response();
    match next {
        Some(height) => with_link(body, &uri, "from_height", &height.to_string()),
        None => body,
    }
}

/// A case record (public metadata and ciphertext) with its full version history.
#[utoipa::path(
    get,
    path = "/v1/cases/{id}",
    params(("id" = String, Path, description = "Case id, hex")),
    responses((status = 200, body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
async fn case(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    let id = match parse_hash(&id) {
        Ok(id) => id,
        Err(refused) => return refused.into_response(),
    };
    let reader = match state.chain.reader() {
        Ok(reader) => reader,
        Err(failure) => return internal(failure),
    };
    match (reader.case_view(&id), reader.case_history(&id)) {
        (Ok(Some(record)), Ok(history)) => {
            Json(serde_json::json!({ "record": record, "history": history })).into_response()
        }
        (Ok(None), _) => not_found("case"),
        (Err(failure), _) | (_, Err(failure)) => internal(failure),
    }
}

/// Most signals in one listing.
pub const SIGNALS_LIST_MAX: usize = 1_000;

/// Longest count series in one request, days.
pub const COUNT_SERIES_DAYS_MAX: u32 = 3 * 366;

/// A signal as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignalView {
    /// The record (`statistic_bits`/`threshold_bits` are the exact f64 bits).
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub record: epichain_ledger::state::SignalRecord,
    /// The statistic.
    pub statistic: f64,
    /// The threshold.
    pub threshold: f64,
    /// Seconds from the signal to each step taken (response times).
    pub response_seconds: Vec<(String, f64)>,
}

impl SignalView {
    fn new(record: epichain_ledger::state::SignalRecord) -> Self {
        let response_seconds = record
            .steps
            .iter()
            .map(|taken| {
                (
                    taken.step.to_string(),
                    taken.time_ms.saturating_sub(record.opened_time_ms) as f64 / 1000.0,
                )
            })
            .collect();
        SignalView {
            statistic: record.statistic(),
            threshold: record.threshold(),
            response_seconds,
            record,
        }
    }
}

/// Filters of the signal listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SignalQuery {
    /// Region and everything below it (an authority's jurisdiction), e.g. 440300.
    pub region: Option<String>,
    /// Disease code.
    pub disease: Option<String>,
    /// `open`, `confirmed-outbreak` or `dismissed`.
    pub status: Option<String>,
    /// Opened at or after this Unix time, milliseconds.
    pub since_ms: Option<u64>,
    /// Opened at or before this Unix time, milliseconds.
    pub until_ms: Option<u64>,
    /// Most results (default 100, at most 1,000).
    pub limit: Option<usize>,
    /// Continue after this entry (from the previous page's `Link` header).
    pub cursor: Option<String>,
}

/// Signals, newest first, filtered by region (and below), disease, status and time. A request
/// examines at most `LISTING_SCAN_MAX` signals; a `Link: <…>; rel="next"` header names the next
/// page when there may be more.
#[utoipa::path(
    get,
    path = "/v1/signals",
    params(SignalQuery),
    responses((status = 200, body = Vec<SignalView>), (status = 400, body = ApiError))
)]
async fn signals(
    State(state): State<ApiState>,
    uri: axum::http::Uri,
    axum::extract::Query(query): axum::extract::Query<SignalQuery>,
) -> Response {
    let region = match query
        .region
        .as_deref()
        .map(str::parse::<epichain_core::RegionCode>)
    {
        None => None,
        Some(Ok(region)) => Some(region),
        Some(Err(invalid)) => return error(StatusCode::BAD_REQUEST, "bad_region", invalid),
    };
    let cursor = match page::parse_cursor(query.cursor.as_deref()) {
        Ok(cursor) => cursor.or(query.until_ms.map(|until| (until, Hash([0xFF; 32])))),
        Err(refused) => return refused.into_response(),
    };
    let limit = query.limit.unwrap_or(100).min(SIGNALS_LIST_MAX);
    let reader = match state.chain.reader() {
        Ok(reader) => reader,
        Err(failure) => return internal(failure),
    };
    let accept = |id: Hash| -> Result<Option<SignalView>, epichain_ledger::LedgerError> {
        let Some(record) = reader.get::<epichain_ledger::state::SignalRecord>(&id)? else {
            return Ok(None);
        };
        let region_ok = region.is_none_or(|region| record.region.is_within(region));
        let disease_ok = query
            .disease
            .as_deref()
            .is_none_or(|disease| record.disease.as_str() == disease);
        let view = SignalView::new(record);
        let status_ok = query.status.as_deref().is_none_or(|status| {
            serde_json::to_value(view.record.status).is_ok_and(|value| value == status)
        });
        Ok((region_ok && disease_ok && status_ok).then_some(view))
    };
    let bounds = (query.since_ms.unwrap_or(0), cursor);
    match page::scan_timed(&reader, TimedIndex::Signals, bounds, limit, accept) {
        Ok((views, next)) => page::with_next(Json(views).into_response(), &uri, next),
        Err(failure) => internal(failure),
    }
}

/// One signal with the public metadata of its cases and its workflow steps.
#[utoipa::path(
    get,
    path = "/v1/signals/{id}",
    params(("id" = String, Path, description = "Signal id, hex")),
    responses((status = 200, body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
async fn signal(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    let id = match parse_hash(&id) {
        Ok(id) => id,
        Err(refused) => return refused.into_response(),
    };
    let reader = match state.chain.reader() {
        Ok(reader) => reader,
        Err(failure) => return internal(failure),
    };
    match reader.get::<epichain_ledger::state::SignalRecord>(&id) {
        Ok(Some(record)) => {
            let cases: Vec<serde_json::Value> = record
                .cases
                .iter()
                .filter_map(|case| reader.case(case).ok().flatten())
                .map(|case| {
                    serde_json::json!({
                        "case_id": case.case_id,
                        "disease": case.disease,
                        "region": case.region,
                        "status": case.state.status,
                        "onset_day": case.onset_day,
                        "report_day": case.report_day,
                        "age_band": case.age_band,
                        "sex": case.sex,
                    })
                })
                .collect();
            Json(serde_json::json!({ "signal": SignalView::new(record), "cases": cases }))
                .into_response()
        }
        Ok(None) => not_found("signal"),
        Err(failure) => internal(failure),
    }
}

/// The count series (epidemic curve) query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CountQuery {
    /// Disease code.
    pub disease: String,
    /// Region at any level (000000 is national).
    pub region: String,
    /// `report` (default) or `onset`.
    pub basis: Option<String>,
    /// First day, YYYY-MM-DD.
    pub from: String,
    /// Last day, YYYY-MM-DD.
    pub to: String,
}

/// One day of a count series.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountPoint {
    /// Day.
    #[schema(value_type = String)]
    pub day: epichain_core::Day,
    /// Suspected cases.
    pub suspected: u32,
    /// Clinically diagnosed cases.
    pub clinical: u32,
    /// Laboratory-confirmed (and imported) cases.
    pub confirmed: u32,
    /// All counted cases.
    pub total: u32,
}

/// Daily counts of a disease in a region (any of the four levels), by report or onset day.
#[utoipa::path(
    get,
    path = "/v1/counts",
    params(CountQuery),
    responses((status = 200, body = Vec<CountPoint>), (status = 400, body = ApiError))
)]
async fn counts(
    State(state): State<ApiState>,
    axum::extract::Query(query): axum::extract::Query<CountQuery>,
) -> Response {
    let parsed = (|| -> Result<_, String> {
        let disease: epichain_core::DiseaseCode = query
            .disease
            .parse()
            .map_err(|e: epichain_core::disease::DiseaseError| e.to_string())?;
        let region: epichain_core::RegionCode = query
            .region
            .parse()
            .map_err(|e: epichain_core::region::RegionError| e.to_string())?;
        let basis = match query.basis.as_deref().unwrap_or("report") {
            "report" => epichain_ledger::state::CountBasis::Report,
            "onset" => epichain_ledger::state::CountBasis::Onset,
            other => return Err(format!("basis {other:?} is not report or onset")),
        };
        let from: epichain_core::Day = query
            .from
            .parse()
            .map_err(|e: epichain_core::calendar::DateError| e.to_string())?;
        let to: epichain_core::Day = query
            .to
            .parse()
            .map_err(|e: epichain_core::calendar::DateError| e.to_string())?;
        if to < from || to.0 - from.0 >= COUNT_SERIES_DAYS_MAX {
            return Err(format!(
                "from ≤ to and at most {COUNT_SERIES_DAYS_MAX} days"
            ));
        }
        Ok((disease, region, basis, from, to))
    })();
    let (disease, region, basis, from, to) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => return error(StatusCode::BAD_REQUEST, "bad_request", message),
    };
    let reader = match state.chain.reader() {
        Ok(reader) => reader,
        Err(failure) => return internal(failure),
    };
    let mut points = Vec::new();
    for day in from.0..=to.0 {
        let day = epichain_core::Day(day);
        match reader.count(&disease, region, basis, day) {
            Ok(counts) => points.push(CountPoint {
                day,
                suspected: counts.suspected,
                clinical: counts.clinical,
                confirmed: counts.confirmed,
                total: counts.total(),
            }),
            Err(failure) => return internal(failure),
        }
    }
    Json(points).into_response()
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
async fn signal_stream(State(state): State<ApiState>) -> Response {
    let Some(slot) = StreamSlot::take(&state.streams) else {
        return retry_later(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            format!("this node serves at most {STREAMS_MAX} event streams"),
        ));
    };
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
                        .and_then(|reader| {
                            reader
                                .get::<epichain_ledger::state::SignalRecord>(&id)
                                .ok()
                                .flatten()
                        })
                        .map(SignalView::new);
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
    axum::response::sse::Sse::new(stream)
        .keep_alive(axum::response::sse::KeepAlive::default())
        .into_response()
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn prometheus(State(state): State<ApiState>) -> Response {
    let (transactions, bytes) = state.chain.mempool_size();
    metrics::mempool(transactions, bytes);
    metrics::peers(state.peers.load(Ordering::Relaxed));
    match &state.prometheus {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "no_metrics",
            "metrics are not enabled",
        ),
    }
}

/// The wall clock at the API edge.
#[allow(clippy::disallowed_methods)]
fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|duration| duration.as_millis() as u64)
        .unwrap_or_default()
}

/// Every operation may also be answered by the server's limits (`epichain_node::http`): 408 when
/// a request takes too long, 429 when a client exceeds its rate, 503 when the node sheds load.
fn with_limit_responses(mut document: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
    let limits = [
        ("408", "The request took too long"),
        (
            "429",
            "Too many requests from this address; see Retry-After",
        ),
        ("503", "The node sheds load; see Retry-After"),
    ];
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            for (status, description) in limits {
                let response = ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                                "ApiError",
                            ))))
                            .build(),
                    )
                    .build();
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert(RefOr::T(response));
            }
        }
    }
    document
}

/// The API router and its OpenAPI document.
pub fn router(state: ApiState) -> axum::Router {
    let (router, document) = OpenApiRouter::new()
        .routes(routes!(submit_transaction))
        .routes(routes!(submit_batch))
        .routes(routes!(transaction_status))
        .routes(routes!(status))
        .routes(routes!(block))
        .routes(routes!(block_raw))
        .routes(routes!(identity))
        .routes(routes!(identities))
        .routes(routes!(case_access))
        .routes(routes!(case))
        .routes(routes!(signals))
        .routes(routes!(signal_stream))
        .routes(routes!(signal))
        .routes(routes!(counts))
        .routes(routes!(disclosure::escrow))
        .routes(routes!(disclosure::grants))
        .routes(routes!(disclosure::grant))
        .routes(routes!(disclosure::grant_shares))
        .routes(routes!(prometheus))
        .with_state(state)
        .split_for_parts();
    let document = Arc::new(with_limit_responses(document));
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let document = document.clone();
                async move { Json(document.as_ref().clone()) }
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(REQUEST_BYTES_MAX))
        .fallback(|| async { not_found("route") })
        .layer(axum::middleware::map_response(json_client_errors))
}
