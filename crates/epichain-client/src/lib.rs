//! The Rust client library: build, sign and seal transactions, submit them to any node, and
//! read status, identities, cases, signals and grants through the typed API contract
//! (`epichain-api`). No consensus, storage or server code comes with it.
//!
//! ```no_run
//! # async fn example(key: epichain_core::KeyPair) -> Result<(), epichain_client::ClientError> {
//! let client = epichain_client::Client::new("http://127.0.0.1:8000");
//! let status = client.status().await?;
//! let mut signer = client.signer(key).await?;
//! # let _ = (status, &mut signer);
//! # Ok(()) }
//! ```

use epichain_api::ApiError;
use epichain_api::cases::CaseAnswer;
use epichain_api::disclosure::{EscrowView, GrantQuery, GrantView, HolderPostings};
use epichain_api::identities::{IdentityQuery, IdentityView};
use epichain_api::node::{BlockView, NodeStatus};
use epichain_api::signals::{CountPoint, CountQuery, SignalDetail, SignalQuery, SignalView};
use epichain_api::transactions::{BatchItem, BatchResponse, SubmitResponse, TransactionStatus};
use epichain_core::{
    Hash, KeyPair, PublicKey, RegionCode, Role, SignedTransaction, Signer, TransactionOutcome,
};
use epichain_verify::bundle::RecordRef;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

pub mod audit;
pub mod pseudonym;
pub mod read;
pub mod seal;
mod trust;

pub use epichain_api as api;
pub use epichain_tls::NodeTrust;

/// How a transaction ended, after waiting for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finality {
    /// Applied in the finalized block at `height`.
    Applied {
        /// Height of its block.
        height: u64,
    },
    /// Finalized, and rejected.
    Rejected(epichain_core::Rejection),
    /// Not finalized within the wait.
    Pending,
}

/// How long one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Most pages of one case's history the client follows.
pub const HISTORY_PAGES_MAX: usize = 1_024;

/// Failures talking to a node.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Transport failure, or an answer that does not decode as the contract says.
    #[error("{url}: {}", epichain_tls::describe(source))]
    Http {
        /// Requested URL.
        url: String,
        /// Cause.
        source: reqwest::Error,
    },
    /// The node refused the request (4xx/5xx with an [`ApiError`] body).
    #[error("{status} {code}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Stable error code.
        code: String,
        /// Human message.
        message: String,
        /// Seconds to wait, when the node asked the client to retry later.
        retry_after_seconds: Option<u64>,
    },
    /// The node's TLS certificate is not one this client trusts (another chain's, another
    /// address's, not a node's, not the pinned key, or no roots were given).
    #[error("{url}: the node's TLS certificate is refused: {refusal}")]
    Untrusted {
        /// Requested URL.
        url: String,
        /// Why.
        refusal: epichain_tls::Refusal,
    },
    /// Plain HTTP to a node beyond this machine, not asked for ([`Client::allow_plain_http`]).
    #[error(
        "{url}: plain HTTP beyond this machine is refused; use https (or allow plain HTTP explicitly)"
    )]
    PlainHttp {
        /// Requested URL.
        url: String,
    },
    /// A query that cannot be encoded (a client bug, not the node's).
    #[error("query: {0}")]
    Query(String),
    /// The node's answer contradicts what it can prove.
    #[error("node {node} lied: its answer about {what} is not what its proof shows")]
    Lied {
        /// The node's URL.
        node: String,
        /// What it misstated.
        what: String,
    },
    /// A proof bundle from the node does not verify.
    #[error("node {node} sent a proof that does not verify: {error}")]
    Unproven {
        /// The node's URL.
        node: String,
        /// The failed check.
        error: epichain_verify::VerifyError,
    },
    /// The node answers from a state older than one this client verified.
    #[error("node {node} answers from height {height}, older than the verified height {latest}")]
    RolledBack {
        /// The node's URL.
        node: String,
        /// Height of its answer.
        height: u64,
        /// Newest height this client verified.
        latest: u64,
    },
    /// The file keeping the newest verified checkpoint ([`Client::remembering`]) cannot be
    /// read or written.
    #[error("checkpoint memory {path}: {reason}")]
    Memory {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// Proofs were asked of a client made without a genesis ([`Client::verifying`]).
    #[error("this client has no genesis to verify proofs with")]
    NotVerifying,
}

impl ClientError {
    /// The stable refusal code, if the node refused.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True for a refusal the node asked to retry later (with `Retry-After`).
    pub fn is_retry_later(&self) -> bool {
        matches!(
            self,
            ClientError::Refused {
                retry_after_seconds: Some(_),
                ..
            }
        )
    }
}

/// A client of one node's API.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    /// Signs read requests, if set ([`Client::signed_by`]).
    reader: Option<Arc<ReadSigner>>,
    /// Checks answers against proofs, if set ([`Client::verifying`]).
    trust: Option<Arc<trust::Trust>>,
    /// What it trusts nodes' TLS certificates with, if set ([`Client::trusting`]).
    tls: Option<NodeTrust>,
    /// Plain HTTP beyond this machine, not asked for: every request is refused.
    plain_http_refused: bool,
}

/// The identity a client signs its read requests with.
struct ReadSigner {
    key: KeyPair,
    chain_id: Hash,
}

/// The wall clock: a read request carries the time it was signed (the client is an edge).
#[allow(clippy::disallowed_methods)]
fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

impl std::fmt::Debug for ReadSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "ReadSigner({})", self.key.public_key())
    }
}

impl ReadSigner {
    /// Adds the read-signature headers over the request's method, path and query.
    fn sign(&self, request: &mut reqwest::Request) {
        let time_ms = wall_clock_ms();
        let url = request.url();
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        let pairs = epichain_api::read_signature_headers(
            &self.key,
            &self.chain_id,
            request.method().as_str(),
            &target,
            time_ms,
        );
        let headers = request.headers_mut();
        for (name, value) in pairs {
            if let Ok(value) = reqwest::header::HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }
}

impl Client {
    /// A client for `base` (e.g. `https://node1.cdc.example:8443`, or `http://127.0.0.1:8000`
    /// on this machine). Over HTTPS it trusts nothing until given the chain's roots
    /// ([`Client::trusting`], or [`Client::verifying`]); plain HTTP is refused beyond this machine
    /// unless asked for ([`Client::allow_plain_http`]).
    pub fn new(base: &str) -> Self {
        let base = base.trim_end_matches('/').to_string();
        Client {
            reader: None,
            trust: None,
            plain_http_refused: epichain_tls::is_remote_plain_http(&base),
            tls: None,
            http: epichain_tls::http_client(None, REQUEST_TIMEOUT),
            base,
        }
    }

    /// This client, accepting over HTTPS only nodes whose TLS certificates `trust` admits.
    pub fn trusting(&self, trust: NodeTrust) -> Client {
        Client {
            http: epichain_tls::http_client(Some(&trust), REQUEST_TIMEOUT),
            tls: Some(trust),
            ..self.clone()
        }
    }

    /// This client, sending plain HTTP to a node beyond this machine: requests, signatures and
    /// answers travel readable and alterable by anyone on the path.
    pub fn allow_plain_http(&self) -> Client {
        Client {
            plain_http_refused: false,
            ..self.clone()
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends a request built by `build` for `path`, after the transport rules.
    async fn send(
        &self,
        path: &str,
        build: impl FnOnce(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<(String, reqwest::Response), ClientError> {
        let url = format!("{}{path}", self.base);
        if self.plain_http_refused {
            return Err(ClientError::PlainHttp { url });
        }
        let failed = |source: reqwest::Error| match epichain_tls::refusal_of(&source) {
            Some(refusal) => ClientError::Untrusted {
                url: url.clone(),
                refusal: refusal.clone(),
            },
            None => ClientError::Http {
                url: url.clone(),
                source,
            },
        };
        let mut request = build(&self.http, &url).build().map_err(failed)?;
        if let Some(reader) = &self.reader {
            reader.sign(&mut request);
        }
        let response = self.http.execute(request).await.map_err(failed)?;
        Ok((url, Self::checked(response).await?))
    }

    /// The response if it succeeded, else the node's refusal.
    async fn checked(response: reqwest::Response) -> Result<reqwest::Response, ClientError> {
        let status = response.status();
        let retry_after_seconds = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok());
        if !status.is_success() {
            let body = response.json::<ApiError>().await.unwrap_or(ApiError {
                code: "unknown".into(),
                message: String::new(),
            });
            return Err(ClientError::Refused {
                status: status.as_u16(),
                code: body.code,
                message: body.message,
                retry_after_seconds,
            });
        }
        Ok(response)
    }

    async fn decode<T: DeserializeOwned>(
        (url, response): (String, reqwest::Response),
    ) -> Result<T, ClientError> {
        response
            .json()
            .await
            .map_err(|source| ClientError::Http { url, source })
    }

    /// The body of a GET as bytes.
    async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        let (url, response) = self.send(path, |http, url| http.get(url)).await?;
        response
            .bytes()
            .await
            .map(|bytes| bytes.to_vec())
            .map_err(|source| ClientError::Http { url, source })
    }

    /// A GET, signed if this client signs its reads.
    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        Self::decode(self.send(path, |http, url| http.get(url)).await?).await
    }

    /// The proof bundle of a record, as the node encoded it (`epichain_verify::bundle`): check
    /// it with `epichain_verify::verify_bytes` before believing it.
    pub async fn proof_bundle(&self, record: &RecordRef) -> Result<Vec<u8>, ClientError> {
        self.get_bytes(&format!("/v1/proofs/{}/{}", record.kind(), record.id_hex()))
            .await
    }

    /// A client that signs its read requests with `key` (an enrolled identity), so the node
    /// serves it the line-level records its jurisdiction covers (case records, access logs,
    /// patients, signals' cases, counts by status).
    pub async fn signed_by(&self, key: KeyPair) -> Result<Client, ClientError> {
        let chain_id = self.status().await?.chain_id;
        Ok(self.signed_for(key, chain_id))
    }

    fn signed_for(&self, key: KeyPair, chain_id: Hash) -> Client {
        Client {
            reader: Some(Arc::new(ReadSigner { key, chain_id })),
            ..self.clone()
        }
    }

    async fn get_query<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &impl Serialize,
    ) -> Result<T, ClientError> {
        let encoded = serde_urlencoded::to_string(query)
            .map_err(|invalid| ClientError::Query(invalid.to_string()))?;
        if encoded.is_empty() {
            return self.get(path).await;
        }
        self.get(&format!("{path}?{encoded}")).await
    }

    async fn post_bytes<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Vec<u8>,
    ) -> Result<T, ClientError> {
        let sent = self
            .send(path, |http, url| {
                http.post(url)
                    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                    .body(body)
            })
            .await?;
        Self::decode(sent).await
    }

    /// Node status (`/v1/status`).
    pub async fn status(&self) -> Result<NodeStatus, ClientError> {
        self.get("/v1/status").await
    }

    /// A finalized block with its receipts.
    pub async fn block(&self, height: u64) -> Result<BlockView, ClientError> {
        self.get(&format!("/v1/blocks/{height}")).await
    }

    /// Submits a signed transaction (binary body).
    pub async fn submit(
        &self,
        transaction: &SignedTransaction,
    ) -> Result<SubmitResponse, ClientError> {
        self.post_bytes("/v1/transactions", transaction.to_bytes())
            .await
    }

    /// Submits many signed transactions in one request; one result per transaction, in order.
    pub async fn submit_batch(
        &self,
        transactions: &[SignedTransaction],
    ) -> Result<Vec<BatchItem>, ClientError> {
        let items: Vec<Vec<u8>> = transactions
            .iter()
            .map(SignedTransaction::to_bytes)
            .collect();
        let body = epichain_core::encoding::encode(&items);
        let answer: BatchResponse = self.post_bytes("/v1/transactions/batch", body).await?;
        Ok(answer.results)
    }

    /// Where a transaction stands: pending, finalized with its outcome, or unknown.
    pub async fn transaction(&self, id: &Hash) -> Result<TransactionStatus, ClientError> {
        self.get(&format!("/v1/transactions/{id}")).await
    }

    /// Waits until a transaction is finalized (or `timeout` passes); returns its status.
    pub async fn wait_finalized(
        &self,
        id: &Hash,
        timeout: Duration,
    ) -> Result<TransactionStatus, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let status = self.transaction(id).await?;
            if status.is_finalized() || tokio::time::Instant::now() >= deadline {
                return Ok(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until a transaction is finalized (or `timeout` passes); returns how it ended.
    /// A verifying client ([`Client::verifying`]) checks a final outcome against the
    /// transaction's proved receipt.
    pub async fn finality(&self, id: &Hash, timeout: Duration) -> Result<Finality, ClientError> {
        let status = self.wait_finalized(id, timeout).await?;
        self.check_receipt(id, &status).await?;
        Ok(match (status.outcome, status.height) {
            (Some(TransactionOutcome::Applied), Some(height)) => Finality::Applied { height },
            (Some(TransactionOutcome::Rejected(rejection)), _) => Finality::Rejected(rejection),
            _ => Finality::Pending,
        })
    }

    /// An identity, if enrolled.
    pub async fn identity(&self, key: &PublicKey) -> Result<Option<IdentityView>, ClientError> {
        match self.get(&format!("/v1/identities/{key}")).await {
            Ok(identity) => Ok(Some(identity)),
            Err(ClientError::Refused { status: 404, .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Identities of a role at exactly a region, with their encryption keys (first page).
    pub async fn identities(
        &self,
        role: Role,
        region: RegionCode,
    ) -> Result<Vec<IdentityView>, ClientError> {
        let query = IdentityQuery {
            role: role.to_string(),
            region: region.to_string(),
            after: None,
        };
        self.get_query("/v1/identities", &query).await
    }

    /// A signer for `key` that continues after the key's last finalized nonce.
    pub async fn signer(&self, key: KeyPair) -> Result<Signer, ClientError> {
        let chain_id = self.status().await?.chain_id;
        let last_nonce = self
            .own_identity(&key, chain_id)
            .await?
            .map_or(0, |identity| identity.nonce);
        Ok(Signer::new(key, chain_id, last_nonce))
    }

    /// The identity of `key` as the chain knows it, asked signed as that key (a patient's record
    /// is served to the patient only); `None` if the key is not enrolled.
    pub async fn own_identity(
        &self,
        key: &KeyPair,
        chain_id: Hash,
    ) -> Result<Option<IdentityView>, ClientError> {
        let myself = self.signed_for(key.clone(), chain_id);
        match myself.identity(&key.public_key()).await {
            Err(error) if error.code() == Some("unknown_signer") => Ok(None),
            other => other,
        }
    }

    /// A case record with the first page of its history.
    pub async fn case(&self, id: &Hash) -> Result<CaseAnswer, ClientError> {
        self.get(&format!("/v1/cases/{id}")).await
    }

    /// A case record with its whole history, page by page (at most [`HISTORY_PAGES_MAX`]).
    pub async fn case_history(&self, id: &Hash) -> Result<CaseAnswer, ClientError> {
        let mut answer = self.case(id).await?;
        for _ in 1..HISTORY_PAGES_MAX {
            let Some(from) = answer.next_version else {
                break;
            };
            let page: CaseAnswer = self
                .get(&format!("/v1/cases/{id}?from_version={from}"))
                .await?;
            answer.history.extend(page.history);
            answer.next_version = page.next_version;
        }
        Ok(answer)
    }

    /// Signals matching `query`, newest first (one page).
    pub async fn signals(&self, query: &SignalQuery) -> Result<Vec<SignalView>, ClientError> {
        self.get_query("/v1/signals", query).await
    }

    /// One signal with its cases and steps.
    pub async fn signal(&self, id: &Hash) -> Result<SignalDetail, ClientError> {
        self.get(&format!("/v1/signals/{id}")).await
    }

    /// A daily count series.
    pub async fn counts(&self, query: &CountQuery) -> Result<Vec<CountPoint>, ClientError> {
        self.get_query("/v1/counts", query).await
    }

    /// The escrow key: holders, threshold and, once generated, the public sharing.
    pub async fn escrow(&self) -> Result<EscrowView, ClientError> {
        self.get("/v1/escrow").await
    }

    /// Governance: approvers, threshold, next sequence number and pending proposals.
    pub async fn governance(
        &self,
    ) -> Result<epichain_api::governance::GovernanceView, ClientError> {
        self.get("/v1/governance").await
    }

    /// The nearest pseudonym scope published at or above `region` for `purpose`.
    pub async fn pseudonym_scope(
        &self,
        region: RegionCode,
        purpose: epichain_core::pseudonym::PseudonymPurpose,
    ) -> Result<epichain_api::pseudonyms::ScopeView, ClientError> {
        let query = epichain_api::pseudonyms::ScopeQuery {
            region: region.to_string(),
            purpose: Some(purpose.to_string()),
        };
        self.get_query("/v1/pseudonyms/scope", &query).await
    }

    /// A pseudonym request and, once posted, its answer.
    pub async fn pseudonym_request(
        &self,
        id: &Hash,
    ) -> Result<epichain_api::pseudonyms::RequestView, ClientError> {
        self.get(&format!("/v1/pseudonyms/requests/{id}")).await
    }

    /// Disclosure grants matching `query`, newest first (one page).
    pub async fn grants(&self, query: &GrantQuery) -> Result<Vec<GrantView>, ClientError> {
        self.get_query("/v1/grants", query).await
    }

    /// The sealed shares posted for `grantee` under `grant`: one page per holder from `from`,
    /// or only `holder`'s.
    pub async fn grant_shares(
        &self,
        grant: &Hash,
        grantee: &PublicKey,
        page: Option<(PublicKey, u32)>,
    ) -> Result<Vec<HolderPostings>, ClientError> {
        let path = format!("/v1/grants/{grant}/shares/{grantee}");
        match page {
            None => self.get(&path).await,
            Some((holder, from)) => {
                self.get(&format!("{path}?holder={holder}&from={from}"))
                    .await
            }
        }
    }
}

/// The decoded escrow sharing of an escrow view, once generated.
pub fn escrow_sharing(escrow: &EscrowView) -> Option<epichain_escrow::EscrowSharing> {
    escrow
        .sharing_bytes()
        .and_then(|bytes| epichain_escrow::decode_sharing(&bytes, escrow.holders.len()).ok())
}
