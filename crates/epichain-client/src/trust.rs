//! A client that trusts no node (issue 14 §3, review H5). With [`Client::verifying`], before the
//! client seals to an identity's encryption key, wraps a data key to the escrow key or believes
//! a receipt, it checks the node's answer against a proof bundle verified with the genesis
//! alone; it names the node that lied, and refuses a node answering from a state older than
//! one it already verified (no rollback).

use crate::seal::Reader;
use crate::{Client, ClientError};
use epichain_api::disclosure::EscrowView;
use epichain_api::transactions::TransactionStatus;
use epichain_core::state::{StateKey, StateValue};
use epichain_core::{Genesis, Hash, RegionCode, Role};
use epichain_verify::bundle::{ProofBundle, RecordRef};
use epichain_verify::{Verified, Verifier};
use std::sync::{Arc, Mutex, MutexGuard};

/// The verifier a client checks answers with, and the checkpoints it verified.
#[derive(Debug)]
pub(crate) struct Trust {
    verifier: Mutex<Verifier>,
}

impl Trust {
    fn lock(&self) -> MutexGuard<'_, Verifier> {
        // A panic while holding it leaves a cache of checkpoints, not a broken invariant.
        self.verifier
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Client {
    /// This client, checking what it acts on against proofs verified with `genesis`, and
    /// (unless already given roots) trusting nodes' TLS certificates under its roots.
    pub fn verifying(&self, genesis: &Genesis) -> Client {
        let client = match &self.tls {
            Some(_) => self.clone(),
            None => self.trusting(epichain_tls::NodeTrust::from_genesis(genesis)),
        };
        Client {
            trust: Some(Arc::new(Trust {
                verifier: Mutex::new(Verifier::new(genesis)),
            })),
            ..client
        }
    }

    /// True if this client checks answers against proofs.
    pub fn verifies(&self) -> bool {
        self.trust.is_some()
    }

    /// The newest checkpoint this client verified: height and block hash.
    pub fn latest_verified(&self) -> Option<(u64, Hash)> {
        self.trust.as_ref().and_then(|trust| trust.lock().latest())
    }

    fn lied(&self, what: String) -> ClientError {
        ClientError::Lied {
            node: self.base.clone(),
            what,
        }
    }

    /// Fetches a record's bundle and verifies it with the genesis given to
    /// [`Client::verifying`] (a client made without one refuses: `NotVerifying`). A record's
    /// state older than the newest checkpoint already verified is a rollback.
    pub async fn proven(&self, record: RecordRef) -> Result<(ProofBundle, Verified), ClientError> {
        let trust = self.trust.as_ref().ok_or(ClientError::NotVerifying)?;
        let bytes = self.proof_bundle(&record).await?;
        let mut verifier = trust.lock();
        let (bundle, verified) =
            verifier
                .verify_bytes(&bytes)
                .map_err(|error| ClientError::Unproven {
                    node: self.base.clone(),
                    error,
                })?;
        if verified.record != record {
            return Err(self.lied(format!("a bundle of another record for {}", record.kind())));
        }
        if !matches!(record, RecordRef::Transaction(_) | RecordRef::Receipt(_)) {
            if let Some((latest, _)) = verifier.latest()
                && verified.height < latest
            {
                return Err(ClientError::RolledBack {
                    node: self.base.clone(),
                    height: verified.height,
                    latest,
                });
            }
            verifier.trust(&verified);
        }
        Ok((bundle, verified))
    }

    /// Checks a reader the node listed: an enrolled, unrevoked identity (of `role` at `region`
    /// if given) whose published encryption key is the one listed.
    pub(crate) async fn check_reader(
        &self,
        reader: &Reader,
        claims: Option<(Role, RegionCode)>,
    ) -> Result<(), ClientError> {
        if !self.verifies() {
            return Ok(());
        }
        let (key, encryption) = reader;
        let (_, verified) = self.proven(RecordRef::Identity(*key)).await?;
        let identity = match &verified.head {
            Some(StateValue::Identity(identity)) if identity.revoked.is_none() => identity,
            _ => return Err(self.lied(format!("{key} as an enrolled, unrevoked reader"))),
        };
        if let Some((role, region)) = claims
            && (identity.role != role || identity.region != region)
        {
            return Err(self.lied(format!("{key} as a {role} of {region}")));
        }
        let proved =
            verified
                .related
                .iter()
                .find_map(|(state_key, value)| match (state_key, value) {
                    (StateKey::EncryptionKey(owner), Some(StateValue::EncryptionKey(proved)))
                        if owner == key =>
                    {
                        Some(*proved)
                    }
                    _ => None,
                });
        if proved != Some(*encryption) {
            return Err(self.lied(format!("the encryption key of {key}")));
        }
        Ok(())
    }

    /// Checks the escrow key the node served against the proved one.
    pub(crate) async fn check_escrow(&self, view: &EscrowView) -> Result<(), ClientError> {
        if !self.verifies() {
            return Ok(());
        }
        let (_, verified) = self.proven(RecordRef::EscrowKey).await?;
        let matches = match &verified.head {
            // What wrapping uses: the public sharing over this many holders, and the threshold.
            // (The view lists holders in configuration order, the record in the scheme's.)
            Some(StateValue::EscrowKey(record)) => {
                let mut listed = view.holders.clone();
                let mut proved = record.holders.clone();
                listed.sort();
                proved.sort();
                view.sharing_bytes().as_ref() == Some(&record.sharing)
                    && listed == proved
                    && view.threshold == record.threshold
            }
            None => view.sharing.is_none(),
            Some(_) => false,
        };
        if matches {
            Ok(())
        } else {
            Err(self.lied("the escrow key".to_string()))
        }
    }

    /// Checks a case's latest sealed details, as the node served them, against the case's
    /// proved head: the ciphertext must hash to the head's details and be carried by `version`.
    pub(crate) async fn check_sealed(
        &self,
        id: &Hash,
        sealed: &[u8],
        version: u32,
    ) -> Result<(), ClientError> {
        if !self.verifies() {
            return Ok(());
        }
        let (bundle, verified) = self.proven(RecordRef::Case(*id)).await?;
        let Some(StateValue::Case(record)) = &verified.head else {
            return Err(self.lied(format!("case {id} exists")));
        };
        let carried = record.details.filter(|details| {
            details.hash == epichain_core::state::details_hash(sealed)
                && bundle.versions.iter().any(|proof| {
                    proof.version.location == details.location && proof.version.version == version
                })
        });
        match carried {
            Some(_) => Ok(()),
            None => Err(self.lied(format!("the sealed details of case {id}"))),
        }
    }

    /// Checks a final transaction status against the transaction's proved receipt and block.
    pub(crate) async fn check_receipt(
        &self,
        id: &Hash,
        status: &TransactionStatus,
    ) -> Result<(), ClientError> {
        let (Some(outcome), true) = (&status.outcome, self.verifies()) else {
            return Ok(());
        };
        let (bundle, _) = self.proven(RecordRef::Receipt(*id)).await?;
        let (Some(proof), Some(block)) = (&bundle.transaction, bundle.transaction_block()) else {
            return Err(self.lied(format!("a receipt of {id}")));
        };
        if proof.receipt.outcome != *outcome || status.height != Some(block.height) {
            return Err(self.lied(format!("the receipt of transaction {id}")));
        }
        Ok(())
    }
}
