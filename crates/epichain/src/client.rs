//! The Rust SDK's HTTP client: submit signed transactions, read status, identities, cases and
//! transaction outcomes from any node.

use epichain_core::{Hash, PublicKey, SignedTransaction, Signer};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Failures talking to a node.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Transport failure.
    #[error("{url}: {source}")]
    Http {
        /// Requested URL.
        url: String,
        /// Cause.
        source: reqwest::Error,
    },
    /// The node refused the request (4xx/5xx JSON error).
    #[error("{status} {code}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Stable error code.
        code: String,
        /// Human message.
        message: String,
        /// Seconds to wait, for 503.
        retry_after_seconds: Option<u64>,
    },
}

/// The node's answer to a submission.
#[derive(Clone, Debug, Deserialize)]
pub struct Submission {
    /// Transaction id.
    pub id: String,
    /// `pending` or `finalized`.
    pub status: String,
    /// Height when finalized.
    pub height: Option<u64>,
}

/// One transaction's result in a batch.
/// The escrow key as a node reports it (`/v1/escrow`).
#[derive(Clone, Debug, Deserialize)]
pub struct EscrowStatus {
    /// The holders (the genesis validators).
    pub holders: Vec<PublicKey>,
    /// Partial decryptions a release needs.
    pub threshold: u32,
    /// The public sharing (hex), once the holders have generated the key.
    sharing: Option<String>,
}

impl EscrowStatus {
    /// The public sharing's bytes, once generated.
    pub fn sharing_bytes(&self) -> Option<Vec<u8>> {
        self.sharing
            .as_deref()
            .and_then(|text| hex::decode(text).ok())
    }

    /// The decoded public sharing, once generated.
    pub fn sharing(&self) -> Option<epichain_escrow::EscrowSharing> {
        self.sharing_bytes()
            .and_then(|bytes| epichain_escrow::decode_sharing(&bytes, self.holders.len()).ok())
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct BatchResult {
    /// Transaction id, when it decoded.
    pub id: Option<String>,
    /// `pending`, `finalized` or `refused`.
    pub status: String,
    /// Refusal code (`mempool_full`, `stale_nonce`, …).
    pub code: Option<String>,
    /// Refusal reason.
    pub message: Option<String>,
}

#[derive(Deserialize)]
struct BatchResponse {
    results: Vec<BatchResult>,
}

/// A client of one node's API.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    /// A client for `base` (e.g. `http://127.0.0.1:8000`).
    pub fn new(base: &str) -> Self {
        Client {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .pool_max_idle_per_host(64)
                .build()
                .unwrap_or_default(),
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn decode<T: DeserializeOwned>(
        url: String,
        response: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, ClientError> {
        let response = response.map_err(|source| ClientError::Http {
            url: url.clone(),
            source,
        })?;
        let status = response.status();
        let retry_after_seconds = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok());
        if !status.is_success() {
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            return Err(ClientError::Refused {
                status: status.as_u16(),
                code: body["code"].as_str().unwrap_or("unknown").to_string(),
                message: body["message"].as_str().unwrap_or("").to_string(),
                retry_after_seconds,
            });
        }
        response
            .json()
            .await
            .map_err(|source| ClientError::Http { url, source })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let response = self.http.get(&url).send().await;
        Self::decode(url, response).await
    }

    /// Any read-only endpoint, e.g. `/v1/escrow` or `/v1/grants?case=…`, as JSON.
    pub async fn get_json(&self, path: &str) -> Result<serde_json::Value, ClientError> {
        self.get(path).await
    }

    /// The escrow key: holders, threshold and, once generated, the public sharing.
    pub async fn escrow(&self) -> Result<EscrowStatus, ClientError> {
        self.get("/v1/escrow").await
    }

    /// Submits a signed transaction (binary body).
    pub async fn submit(&self, transaction: &SignedTransaction) -> Result<Submission, ClientError> {
        let url = format!("{}/v1/transactions", self.base);
        let response = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(transaction.to_bytes())
            .send()
            .await;
        Self::decode(url, response).await
    }

    /// Submits many signed transactions in one request; one result per transaction, in order.
    pub async fn submit_batch(
        &self,
        transactions: &[SignedTransaction],
    ) -> Result<Vec<BatchResult>, ClientError> {
        let url = format!("{}/v1/transactions/batch", self.base);
        let items: Vec<Vec<u8>> = transactions
            .iter()
            .map(SignedTransaction::to_bytes)
            .collect();
        let response = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(epichain_core::encoding::encode(&items))
            .send()
            .await;
        let body: BatchResponse = Self::decode(url, response).await?;
        Ok(body.results)
    }

    /// Node status (`/v1/status`).
    pub async fn status(&self) -> Result<serde_json::Value, ClientError> {
        self.get("/v1/status").await
    }

    /// A transaction's status (`pending`, `finalized` with outcome, or `unknown`).
    pub async fn transaction(&self, id: &Hash) -> Result<serde_json::Value, ClientError> {
        self.get(&format!("/v1/transactions/{id}")).await
    }

    /// An identity, if enrolled.
    pub async fn identity(
        &self,
        key: &PublicKey,
    ) -> Result<Option<serde_json::Value>, ClientError> {
        match self.get(&format!("/v1/identities/{key}")).await {
            Ok(identity) => Ok(Some(identity)),
            Err(ClientError::Refused { status: 404, .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Identities of a role at exactly a region, with their encryption keys.
    pub async fn identities(
        &self,
        role: epichain_core::Role,
        region: epichain_core::RegionCode,
    ) -> Result<serde_json::Value, ClientError> {
        self.get(&format!("/v1/identities?role={role}&region={region}"))
            .await
    }

    /// Signals matching a query string (`region=…&disease=…&status=…&limit=…`).
    pub async fn signals(&self, query: &str) -> Result<serde_json::Value, ClientError> {
        self.get(&format!("/v1/signals?{query}")).await
    }

    /// One signal with its cases and steps.
    pub async fn signal(&self, id: &Hash) -> Result<serde_json::Value, ClientError> {
        self.get(&format!("/v1/signals/{id}")).await
    }

    /// A case with its history.
    pub async fn case(&self, id: &Hash) -> Result<serde_json::Value, ClientError> {
        self.get(&format!("/v1/cases/{id}")).await
    }

    /// A signer for `key` that continues after the key's last finalized nonce.
    pub async fn signer(&self, key: epichain_core::KeyPair) -> Result<Signer, ClientError> {
        let status = self.status().await?;
        let chain_id = status["chain_id"]
            .as_str()
            .and_then(|text| Hash::from_hex(text).ok())
            .unwrap_or_default();
        let last_nonce = self
            .identity(&key.public_key())
            .await?
            .and_then(|identity| identity["nonce"].as_u64())
            .unwrap_or(0);
        Ok(Signer::new(key, chain_id, last_nonce))
    }

    /// Waits until a transaction is finalized (or `timeout` passes); returns its status.
    pub async fn wait_finalized(
        &self,
        id: &Hash,
        timeout: Duration,
    ) -> Result<serde_json::Value, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let status = self.transaction(id).await?;
            if status["status"] == "finalized" || tokio::time::Instant::now() >= deadline {
                return Ok(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
