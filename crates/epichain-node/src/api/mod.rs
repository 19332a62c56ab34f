//! The HTTP API (axum): thin handlers, one file per resource, that turn ledger reads into the
//! typed contract of `epichain-api`. Its OpenAPI document is generated from those types and the
//! handlers (utoipa) and served at `/openapi.json`. Every error is a JSON [`ApiError`] with a
//! stable code; a handler returns `Result<_, Failure>` so that `?` carries storage failures to a
//! 500 and refusals to their 4xx.

use crate::chain::{Chain, ChainError};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use epichain_core::{Hash, PublicKey, SignedTransaction};
use epichain_ledger::{LedgerError, LedgerReader};
use futures::channel::mpsc;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod caller;
mod cases;
mod disclosure;
mod governance;
mod identities;
mod node;
mod page;
mod proofs;
mod pseudonyms;
mod signals;
mod transactions;
mod views;

pub use epichain_api::node::NodeRole;
pub use epichain_api::{ApiError, BATCH_TRANSACTIONS_MAX, REQUEST_BYTES_MAX, RETRY_AFTER_SECONDS};
pub use page::LISTING_SCAN_MAX;
pub use transactions::{
    CLIENT_TRANSACTIONS_BURST, CLIENT_TRANSACTIONS_PER_SECOND, FORWARD_TIMEOUT,
    FORWARDED_ANSWER_BYTES_MAX,
};

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
    /// HTTP client for forwarding: a validator that does not answer within [`FORWARD_TIMEOUT`]
    /// is skipped (review M7).
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

impl ApiState {
    /// A node's API state with nothing attached: no gossip, upstreams, metrics or journal.
    pub fn new(chain: Arc<Chain>, role: NodeRole, name: String) -> Self {
        ApiState {
            chain,
            role,
            name,
            gossip: None,
            upstream: Vec::new(),
            // Set by replicas to trust their upstreams' certificates.
            client: epichain_tls::http_client(None, FORWARD_TIMEOUT),
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

    /// A reader of the committed state.
    fn reader(&self) -> Result<LedgerReader, Failure> {
        Ok(self.chain.reader()?)
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

/// A refused or failed request: status, stable code, message, and whether to ask the client to
/// retry later.
#[derive(Debug)]
pub(crate) struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry: bool,
}

impl Failure {
    /// Asks the client to retry after [`RETRY_AFTER_SECONDS`].
    fn retry_later(mut self) -> Self {
        self.retry = true;
        self
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let retry = self.retry;
        let response = (
            self.status,
            Json(ApiError {
                code: self.code.to_string(),
                message: self.message,
            }),
        )
            .into_response();
        if retry {
            return retry_later(response);
        }
        response
    }
}

impl From<LedgerError> for Failure {
    fn from(failure: LedgerError) -> Self {
        internal(failure)
    }
}

impl From<ChainError> for Failure {
    fn from(failure: ChainError) -> Self {
        internal(failure)
    }
}

impl From<crate::escrow_agent::AgentError> for Failure {
    fn from(failure: crate::escrow_agent::AgentError) -> Self {
        internal(failure)
    }
}

impl From<epichain_ledger::StorageError> for Failure {
    fn from(failure: epichain_ledger::StorageError) -> Self {
        internal(failure)
    }
}

pub(crate) fn failure(status: StatusCode, code: &'static str, message: impl ToString) -> Failure {
    Failure {
        status,
        code,
        message: message.to_string(),
        retry: false,
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

fn internal(message: impl ToString) -> Failure {
    tracing::error!(failure = message.to_string(), "request failed");
    failure(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
}

fn not_found(what: &str) -> Failure {
    failure(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no such {what}"),
    )
}

fn bad_request(message: impl ToString) -> Failure {
    failure(StatusCode::BAD_REQUEST, "bad_request", message)
}

fn parse_hash(text: &str) -> Result<Hash, Failure> {
    Hash::from_hex(text)
        .map_err(|_| failure(StatusCode::BAD_REQUEST, "bad_id", "expected 64 hex digits"))
}

fn parse_key(what: &str, text: &str) -> Result<PublicKey, Failure> {
    PublicKey::from_hex(text).map_err(|_| {
        failure(
            StatusCode::BAD_REQUEST,
            "bad_key",
            format!("{what}: expected 64 hex digits"),
        )
    })
}

/// An optional query value parsed by `parse`.
fn parse_optional<T>(
    text: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, Failure>,
) -> Result<Option<T>, Failure> {
    text.map(parse).transpose()
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
        .routes(routes!(transactions::submit_transaction))
        .routes(routes!(transactions::submit_batch))
        .routes(routes!(transactions::transaction_status))
        .routes(routes!(node::status))
        .routes(routes!(node::block))
        .routes(routes!(node::block_raw))
        .routes(routes!(node::prometheus))
        .routes(routes!(identities::identity))
        .routes(routes!(identities::identities))
        .routes(routes!(cases::case_access))
        .routes(routes!(cases::case))
        .routes(routes!(signals::signals))
        .routes(routes!(signals::signal_stream))
        .routes(routes!(signals::signal))
        .routes(routes!(signals::counts))
        .routes(routes!(disclosure::escrow))
        .routes(routes!(disclosure::grants))
        .routes(routes!(disclosure::grant))
        .routes(routes!(disclosure::grant_shares))
        .routes(routes!(governance::governance))
        .routes(routes!(pseudonyms::scope))
        .routes(routes!(pseudonyms::request))
        .routes(routes!(proofs::proof))
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
        .fallback(|| async { not_found("route").into_response() })
        .layer(axum::middleware::map_response(json_client_errors))
}
