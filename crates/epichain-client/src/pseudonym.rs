//! Pseudonyms through the chain (review H4). A reporting site blinds identity numbers on its own
//! machine, posts the blinded points, waits for the scope's CDC to answer on chain and unblinds
//! the answer after checking its proof ([`obtain`]). The CDC's side, [`Evaluator`], publishes
//! the scope's key and answers the scope's queue; it runs wherever the CDC keeps its seed.

use crate::{Client, ClientError, Finality};
use epichain_core::pseudonym::{
    PseudonymError, PseudonymMessage, PseudonymPurpose, PseudonymScope, PseudonymSecret, blind,
};
use epichain_core::{Hash, Payload, RegionCode, Rejection, Signer};
use std::time::Duration;

/// How long a site waits for the CDC's answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Pause between looks at the request or the queue.
const POLL_PAUSE: Duration = Duration::from_millis(100);

/// Why pseudonyms could not be obtained or served.
#[derive(Debug, thiserror::Error)]
pub enum PseudonymFlowError {
    /// The node.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Blinding, evaluating or a proof that does not verify.
    #[error(transparent)]
    Pseudonym(#[from] PseudonymError),
    /// The chain refused a pseudonym transaction.
    #[error("refused: {0}")]
    Refused(Rejection),
    /// No answer (or no finality) in time.
    #[error("no answer from the scope's CDC within {0:?}")]
    Timeout(Duration),
}

/// Submits and waits for finality; a rejection is an error.
async fn submit_final(
    client: &Client,
    transaction: &epichain_core::SignedTransaction,
    timeout: Duration,
) -> Result<(), PseudonymFlowError> {
    client.submit(transaction).await?;
    match client.finality(&transaction.id(), timeout).await? {
        Finality::Applied { .. } => Ok(()),
        Finality::Rejected(rejection) => Err(PseudonymFlowError::Refused(rejection)),
        Finality::Pending => Err(PseudonymFlowError::Timeout(timeout)),
    }
}

/// The pseudonyms of `document_numbers` in the scope covering `region` for `purpose`, asked of
/// the scope's CDC as `signer` (a reporting site of the region): one per number, in order.
pub async fn obtain(
    client: &Client,
    signer: &mut Signer,
    region: RegionCode,
    purpose: PseudonymPurpose,
    document_numbers: &[&str],
) -> Result<Vec<Hash>, PseudonymFlowError> {
    let scope_view = client.pseudonym_scope(region, purpose).await?;
    let scope = PseudonymScope {
        region: scope_view.region,
        purpose,
    };
    let (blinding, blinded) = blind(document_numbers)?;
    let request = signer.sign(Payload::Pseudonym(PseudonymMessage::Request {
        scope,
        blinded,
    }));
    submit_final(client, &request, ANSWER_TIMEOUT).await?;
    let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
    loop {
        let view = client.pseudonym_request(&request.id()).await?;
        if let Some(answer) = view.answer {
            let proof: [u8; epichain_core::pseudonym::PROOF_BYTES] = answer
                .proof
                .as_slice()
                .try_into()
                .map_err(|_| PseudonymError::Proof)?;
            // The proof is checked against the key the scope published, as read before asking.
            return Ok(blinding.finalize(&answer.evaluated, &proof, &scope_view.public_key)?);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(PseudonymFlowError::Timeout(ANSWER_TIMEOUT));
        }
        tokio::time::sleep(POLL_PAUSE).await;
    }
}

/// A CDC's evaluator for one scope: its seed, the scope and the signer that published the key.
pub struct Evaluator {
    secret: PseudonymSecret,
    scope: PseudonymScope,
    signer: Signer,
    /// Requests answered but maybe not yet finalized: not answered twice.
    answered: std::collections::BTreeSet<Hash>,
}

impl Evaluator {
    /// An evaluator of `scope` with the CDC's `secret`, signing as `signer` (an authority of
    /// exactly the scope's region).
    pub fn new(secret: PseudonymSecret, scope: PseudonymScope, signer: Signer) -> Self {
        Evaluator {
            secret,
            scope,
            signer,
            answered: std::collections::BTreeSet::new(),
        }
    }

    /// Publishes the scope's key (or confirms it is the published one).
    pub async fn publish(&mut self, client: &Client) -> Result<(), PseudonymFlowError> {
        let public_key = self.secret.public_key(&self.scope);
        if let Ok(view) = client
            .pseudonym_scope(self.scope.region, self.scope.purpose)
            .await
            && view.region == self.scope.region
            && view.public_key == public_key
            && view.evaluator == self.signer.key().public_key()
        {
            return Ok(());
        }
        let transaction = self
            .signer
            .sign(Payload::Pseudonym(PseudonymMessage::PublishKey {
                scope: self.scope,
                public_key,
            }));
        submit_final(client, &transaction, ANSWER_TIMEOUT).await
    }

    /// Answers every request queued for the scope; returns how many it answered.
    pub async fn answer_pending(&mut self, client: &Client) -> Result<usize, PseudonymFlowError> {
        let view = client
            .pseudonym_scope(self.scope.region, self.scope.purpose)
            .await?;
        if view.region != self.scope.region {
            return Ok(0);
        }
        self.answered.retain(|id| view.pending.contains(id));
        let mut answers = Vec::with_capacity(view.pending.len());
        for id in &view.pending {
            if self.answered.contains(id) {
                continue;
            }
            let request = client.pseudonym_request(id).await?;
            if request.answer.is_some() {
                continue;
            }
            self.answered.insert(*id);
            let (evaluated, proof) = self.secret.evaluate(&self.scope, &request.blinded)?;
            answers.push(
                self.signer
                    .sign(Payload::Pseudonym(PseudonymMessage::Evaluate {
                        request: *id,
                        evaluated,
                        proof: proof.to_vec(),
                    })),
            );
        }
        if answers.is_empty() {
            return Ok(0);
        }
        for item in client.submit_batch(&answers).await? {
            if item.status == epichain_api::transactions::BatchStatus::Refused {
                return Err(PseudonymFlowError::Client(ClientError::Refused {
                    status: 400,
                    code: item.code.unwrap_or_default(),
                    message: item.message.unwrap_or_default(),
                    retry_after_seconds: None,
                }));
            }
        }
        Ok(answers.len())
    }

    /// Answers the queue forever; errors are logged to `report` and retried.
    pub async fn run(&mut self, client: &Client, mut report: impl FnMut(&PseudonymFlowError)) {
        loop {
            if let Err(error) = self.answer_pending(client).await {
                report(&error);
                tokio::time::sleep(Duration::from_secs(1)).await;
                // Start again from the chain's view: the nonce, and what is still unanswered.
                self.answered.clear();
                if let Ok(signer) = client.signer(self.signer.key().clone()).await {
                    self.signer = signer;
                }
            }
            tokio::time::sleep(POLL_PAUSE).await;
        }
    }
}
