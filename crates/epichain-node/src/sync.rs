//! Following and catching up over HTTP: a replica (or a node that was down) fetches finalized
//! blocks with their finality certificates from validators, verifies the certificates against
//! the genesis validators, and replays the blocks through the ledger (which re-executes and
//! checks every root).
//!
//! A block finalized through a descendant's certificate carries none of its own; it is accepted
//! once a later certified block links back to it by parent hashes.
//!
//! Whole blocks carry every case's line-level metadata, so upstreams serve them only to signed
//! requests of CDCs and nodes (review H3): the follower signs each fetch with its node identity.

use crate::chain::Chain;
use crate::wall_clock_ms;
use epichain_core::{Block, Genesis, KeyPair};
use std::sync::Arc;
use std::time::Duration;

/// Most blocks fetched ahead while looking for a certificate.
pub const UNCERTIFIED_RUN_MAX: usize = 256;

/// Most bytes of blocks held before a certificate proves them (review M7: 256 blocks of 8 MiB
/// from a lying upstream would be 2 GiB).
pub const UNCERTIFIED_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Largest answer read from an upstream: a raw block with its certificate.
pub const UPSTREAM_BODY_BYTES_MAX: usize = crate::block::BLOCK_BYTES_MAX + 4096;

/// Largest status answer read from an upstream.
const STATUS_BYTES_MAX: usize = 64 * 1024;

/// Reads a response body of at most `bytes_max` bytes, refusing it as soon as it is larger
/// (review M7: the whole body used to be buffered before any check).
pub async fn body_capped(
    mut response: reqwest::Response,
    bytes_max: usize,
) -> Result<Vec<u8>, String> {
    if response
        .content_length()
        .is_some_and(|length| length > bytes_max as u64)
    {
        return Err(format!("answer over {bytes_max} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|error| error.to_string())? {
        if body.len() + chunk.len() > bytes_max {
            return Err(format!("answer over {bytes_max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Pause when the follower has nothing new to fetch.
pub const IDLE_PAUSE: Duration = Duration::from_millis(200);

/// Why following stopped or a step failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No upstream answered.
    #[error("no upstream reachable: {0}")]
    Unreachable(String),
    /// An upstream sent something invalid.
    #[error("upstream {upstream} sent an invalid block at height {height}: {reason}")]
    Invalid {
        /// Upstream URL.
        upstream: String,
        /// Height.
        height: u64,
        /// Why.
        reason: String,
    },
    /// Every upstream that answered refused this node's identity (not enrolled yet, revoked, or
    /// not a CDC's or a node's).
    #[error("upstreams refused this node's identity: {0}")]
    Refused(String),
    /// The local ledger failed.
    #[error(transparent)]
    Chain(#[from] crate::chain::ChainError),
}

/// How long one request to an upstream may take.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

/// Fetches blocks from HTTP upstreams (over HTTPS: nodes certified under the genesis roots).
pub struct Follower {
    chain: Arc<Chain>,
    /// Checks certificates against the genesis validators (chain id and keys computed once).
    certificates: epichain_verify::Verifier,
    upstreams: Vec<String>,
    key: KeyPair,
    client: reqwest::Client,
}

impl Follower {
    /// A follower of `upstreams` for `chain`, fetching blocks as the enrolled node identity `key`.
    pub fn new(chain: Arc<Chain>, genesis: Genesis, upstreams: Vec<String>, key: KeyPair) -> Self {
        Follower {
            chain,
            certificates: epichain_verify::Verifier::new(&genesis),
            upstreams,
            key,
            client: epichain_tls::http_client(
                Some(&epichain_tls::NodeTrust::from_genesis(&genesis)),
                UPSTREAM_TIMEOUT,
            ),
        }
    }

    /// The highest height any upstream reports.
    pub async fn target_height(&self) -> Result<u64, SyncError> {
        let mut best = None;
        let mut last_error = String::from("no upstream configured");
        for upstream in &self.upstreams {
            match self
                .client
                .get(format!("{upstream}/v1/status"))
                .send()
                .await
            {
                Ok(response) => {
                    match body_capped(response, STATUS_BYTES_MAX)
                        .await
                        .and_then(|body| {
                            serde_json::from_slice::<serde_json::Value>(&body)
                                .map_err(|error| error.to_string())
                        }) {
                        Ok(status) => {
                            let height = status["height"].as_u64().unwrap_or(0);
                            best = Some(best.map_or(height, |current: u64| current.max(height)));
                        }
                        Err(error) => last_error = error,
                    }
                }
                Err(error) => last_error = error.to_string(),
            }
        }
        best.ok_or(SyncError::Unreachable(last_error))
    }

    /// A finalized block and its certificate from the first upstream that has it.
    async fn fetch(
        &self,
        height: u64,
    ) -> Result<Option<(Block, Option<Vec<u8>>, String)>, SyncError> {
        let mut last_error = String::from("no upstream configured");
        let mut refused = None;
        let path = format!("/v1/blocks/{height}/raw");
        let headers = epichain_api::read_signature_headers(
            &self.key,
            &self.chain.chain_id(),
            "GET",
            &path,
            wall_clock_ms(),
        );
        for upstream in &self.upstreams {
            let mut request = self.client.get(format!("{upstream}{path}"));
            for (name, value) in &headers {
                request = request.header(*name, value);
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => {
                    last_error = error.to_string();
                    continue;
                }
            };
            if response.status() == reqwest::StatusCode::NOT_FOUND {
                continue;
            }
            let status = response.status();
            if status == reqwest::StatusCode::UNAUTHORIZED
                || status == reqwest::StatusCode::FORBIDDEN
            {
                refused = Some(format!("{upstream} answered {status}"));
                continue;
            }
            if !status.is_success() {
                last_error = format!("{upstream} answered {status}");
                continue;
            }
            let bytes = match body_capped(response, UPSTREAM_BODY_BYTES_MAX).await {
                Ok(bytes) => bytes,
                Err(error) => {
                    last_error = error;
                    continue;
                }
            };
            let invalid = |reason: String| SyncError::Invalid {
                upstream: upstream.clone(),
                height,
                reason,
            };
            let (block_bytes, certificate): (Vec<u8>, Option<Vec<u8>>) =
                epichain_core::encoding::decode_bounded(&bytes, UPSTREAM_BODY_BYTES_MAX)
                    .map_err(|error| invalid(error.to_string()))?;
            let block =
                Block::from_bytes(&block_bytes).map_err(|error| invalid(error.to_string()))?;
            if block.header.height != height {
                return Err(invalid(format!(
                    "block says height {}",
                    block.header.height
                )));
            }
            return Ok(Some((block, certificate, upstream.clone())));
        }
        if let Some(refused) = refused {
            return Err(SyncError::Refused(refused));
        }
        if self.upstreams.is_empty() {
            return Err(SyncError::Unreachable(last_error));
        }
        Ok(None)
    }

    /// Applies the next run of blocks whose finality is proven; returns how many were applied
    /// (0 when there is nothing new yet).
    pub async fn step(&self) -> Result<usize, SyncError> {
        let tip = self.chain.tip()?;
        let mut pending: Vec<Block> = Vec::new();
        let mut pending_bytes = 0usize;
        let mut height = tip.height + 1;
        loop {
            let Some((block, certificate, upstream)) = self.fetch(height).await? else {
                return Ok(0);
            };
            let expected_parent = pending
                .last()
                .map_or(tip.hash, |previous| previous.header.hash());
            if block.header.parent != expected_parent {
                return Err(SyncError::Invalid {
                    upstream,
                    height,
                    reason: "does not extend the previous block".into(),
                });
            }
            let hash = block.header.hash();
            pending_bytes += block
                .transactions
                .iter()
                .map(|transaction| transaction.to_bytes().len())
                .sum::<usize>();
            pending.push(block);
            let Some(certificate) = certificate else {
                if pending.len() >= UNCERTIFIED_RUN_MAX || pending_bytes > UNCERTIFIED_BYTES_MAX {
                    return Err(SyncError::Invalid {
                        upstream,
                        height,
                        reason: format!(
                            "{} blocks ({pending_bytes} bytes) without a certificate",
                            pending.len()
                        ),
                    });
                }
                height += 1;
                continue;
            };
            self.certificates
                .verify_certificate(&hash, &certificate)
                .map_err(|error| SyncError::Invalid {
                    upstream: upstream.clone(),
                    height,
                    reason: error.to_string(),
                })?;
            // The certificate finalizes this block and, through the parent links, every pending one.
            let count = pending.len();
            for (index, block) in pending.into_iter().enumerate() {
                let own = (index + 1 == count).then_some(certificate.as_slice());
                let height = block.header.height;
                // A quorum finalized this block: if it does not apply here, this node diverged
                // or its store failed, and it must stop rather than serve a frozen tip.
                if let Err(error) = self.chain.apply_fetched(block, own) {
                    crate::halt(&format!(
                        "finalized block {height} cannot be applied: {error}"
                    ));
                }
            }
            return Ok(count);
        }
    }

    /// Follows forever: applies what is finalized, pauses when idle, retries after errors.
    /// `progress(height, target)` is called after each applied run.
    pub async fn run(&self, mut progress: impl FnMut(u64, u64)) {
        let mut target = 0;
        loop {
            match self.step().await {
                Ok(0) => {
                    if let Ok(height) = self.target_height().await {
                        target = height;
                    }
                    tokio::time::sleep(IDLE_PAUSE).await;
                }
                Ok(_) => {
                    let height = self.chain.tip().map(|tip| tip.height).unwrap_or_default();
                    if height > target {
                        target = self.target_height().await.unwrap_or(height);
                    }
                    progress(height, target.max(height));
                }
                Err(error) => {
                    tracing::warn!(%error, "follow");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}
