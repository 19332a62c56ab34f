//! A client that trusts no node (issue 14 §3, review H5). With [`Client::verifying`], before the
//! client seals to an identity's encryption key, wraps a data key to the escrow key or believes
//! a receipt, it checks the node's answer against a proof bundle verified with the genesis
//! alone; it names the node that lied, and refuses a node answering from a state older than
//! one it already verified (no rollback). With [`Client::remembering`] the newest verified
//! checkpoint is kept in a file, so the refusal holds across runs.

use crate::seal::Reader;
use crate::{Client, ClientError};
use epichain_api::disclosure::EscrowView;
use epichain_api::transactions::TransactionStatus;
use epichain_core::state::{StateKey, StateValue};
use epichain_core::{Genesis, Hash, RegionCode, Role};
use epichain_verify::bundle::{ProofBundle, RecordRef};
use epichain_verify::{Verified, Verifier};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The verifier a client checks answers with, and the checkpoints it verified.
#[derive(Debug)]
pub(crate) struct Trust {
    verifier: Mutex<Verifier>,
    /// Where the newest verified checkpoint is kept across runs, and the one read from there
    /// (a floor for rollbacks, not a checkpoint to skip signatures for).
    memory: Option<Memory>,
}

#[derive(Debug)]
struct Memory {
    path: PathBuf,
    floor: Option<(u64, Hash)>,
}

impl Trust {
    fn lock(&self) -> MutexGuard<'_, Verifier> {
        // A panic while holding it leaves a cache of checkpoints, not a broken invariant.
        self.verifier
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The newest checkpoint verified, in this run or (remembered) before.
    fn latest(&self, verifier: &Verifier) -> Option<(u64, Hash)> {
        let remembered = self.memory.as_ref().and_then(|memory| memory.floor);
        verifier.latest().max(remembered)
    }

    /// Keeps `checkpoint` in the memory file if it is newer than what the file holds.
    fn remember(&self, checkpoint: (u64, Hash)) -> Result<(), ClientError> {
        let Some(memory) = &self.memory else {
            return Ok(());
        };
        let failed = |error: std::io::Error| ClientError::Memory {
            path: memory.path.display().to_string(),
            reason: error.to_string(),
        };
        if read_checkpoint(&memory.path)?.is_some_and(|kept| kept.0 >= checkpoint.0) {
            return Ok(());
        }
        // Written beside and renamed: a crash leaves the old checkpoint or the new, never half.
        let partial = memory.path.with_extension("partial");
        std::fs::write(
            &partial,
            format!("{} {}\n", checkpoint.0, checkpoint.1.to_hex()),
        )
        .map_err(failed)?;
        std::fs::rename(&partial, &memory.path).map_err(failed)
    }
}

/// Most bytes of a checkpoint memory file.
const MEMORY_BYTES_MAX: u64 = 256;

/// The checkpoint kept in `path` (`HEIGHT HASH`), none if the file does not exist.
fn read_checkpoint(path: &Path) -> Result<Option<(u64, Hash)>, ClientError> {
    let failed = |reason: String| ClientError::Memory {
        path: path.display().to_string(),
        reason,
    };
    let text = match std::fs::File::open(path) {
        Ok(file) => {
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut std::io::Read::take(file, MEMORY_BYTES_MAX),
                &mut text,
            )
            .map_err(|error| failed(error.to_string()))?;
            text
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(failed(error.to_string())),
    };
    let mut words = text.split_whitespace();
    let height = words.next().and_then(|word| word.parse().ok());
    let hash = words.next().and_then(|word| Hash::from_hex(word).ok());
    match (height, hash, words.next()) {
        (Some(height), Some(hash), None) => Ok(Some((height, hash))),
        _ => Err(failed("not `HEIGHT HASH`".to_string())),
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
                memory: None,
            })),
            ..client
        }
    }

    /// This verifying client, keeping the newest checkpoint it verified in the file `path`
    /// (one per chain) and refusing, from now on, answers older than the one already there.
    pub fn remembering(&self, path: &Path) -> Result<Client, ClientError> {
        let trust = self.trust.as_ref().ok_or(ClientError::NotVerifying)?;
        let verifier = trust.lock().clone();
        Ok(Client {
            trust: Some(Arc::new(Trust {
                verifier: Mutex::new(verifier),
                memory: Some(Memory {
                    path: path.to_path_buf(),
                    floor: read_checkpoint(path)?,
                }),
            })),
            ..self.clone()
        })
    }

    /// True if this client checks answers against proofs.
    pub fn verifies(&self) -> bool {
        self.trust.is_some()
    }

    /// The newest checkpoint this client verified: height and block hash.
    pub fn latest_verified(&self) -> Option<(u64, Hash)> {
        let trust = self.trust.as_ref()?;
        let verifier = trust.lock();
        trust.latest(&verifier)
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
            if let Some((latest, _)) = trust.latest(&verifier)
                && verified.height < latest
            {
                return Err(ClientError::RolledBack {
                    node: self.base.clone(),
                    height: verified.height,
                    latest,
                });
            }
            verifier.trust(&verified);
            drop(verifier);
            trust.remember((verified.height, verified.block))?;
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
