//! Offline verification of epichain proof bundles, with the genesis as the only trusted input.
//!
//! A bundle ([`bundle::ProofBundle`]) proves a record's history against one checkpoint: a
//! finalized header whose finality certificate a quorum of the genesis validators signed. The
//! record's head (or its absence) is proved by a Jellyfish Merkle path to the header's state
//! root; a case's versions form a hash chain ending at that head, so no version can be left out,
//! reordered or changed; each version names the transaction that made it, whose author's
//! signature is checked too. A transaction is proved by RFC 6962 paths to the header's
//! transaction and receipt roots. All signatures of a bundle (the quorum's and the authors') are
//! verified in one ZIP-215 batch.
//!
//! No network, no storage: the CLI, the client and the node share this crate.

pub mod bundle;
pub mod certificate;
mod history;

use bundle::{BundleDecodeError, ProofBundle, RecordRef};
use certificate::CertificateError;
use epichain_core::Genesis;
use epichain_core::encoding::Hash;
use epichain_core::keys::{self, PublicKey, Signature};
use epichain_core::merkle;
use epichain_core::state::{ChainBreak, StateKey, StateValue, verify_version_chain};
use epichain_core::transaction::SignedTransaction;
pub use history::history_lines;

/// The hasher of the state tree's proofs.
pub type StateHasher = sha2_010::Sha256;
/// A proof of a value (or its absence) in the state tree.
pub type SparseProof = jmt::proof::SparseMerkleProof<StateHasher>;

/// Which signature of a bundle failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signer {
    /// A validator's signature in the checkpoint's certificate.
    Validator(PublicKey),
    /// The author of a case version's transaction.
    Version(u32),
    /// The author of the proved transaction.
    Transaction,
}

impl std::fmt::Display for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signer::Validator(key) => write!(f, "validator {key} in the checkpoint certificate"),
            Signer::Version(version) => write!(f, "the author of version {version}"),
            Signer::Transaction => write!(f, "the author of the transaction"),
        }
    }
}

/// Exactly which check a bundle failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The bytes are not a bundle.
    #[error("{0}")]
    Decode(#[from] BundleDecodeError),
    /// The bundle is of another chain than the genesis.
    #[error("bundle is of chain {bundle}, the genesis is of chain {genesis}")]
    OtherChain {
        /// The genesis' chain id.
        genesis: Hash,
        /// The bundle's.
        bundle: Hash,
    },
    /// The checkpoint header names another chain.
    #[error("checkpoint header is of chain {0}")]
    HeaderChain(Hash),
    /// The checkpoint's certificate does not prove its header final.
    #[error("checkpoint certificate: {0}")]
    Certificate(#[from] CertificateError),
    /// A signature does not verify.
    #[error("signature of {0} does not verify")]
    Signature(Signer),
    /// The first state proof is not of the record's key.
    #[error("bundle does not prove the record's own state entry first")]
    MissingHead,
    /// A state proof does not lead to the checkpoint's state root.
    #[error("state proof {index} does not match the state root of height {height}")]
    StateProof {
        /// Position among the bundle's state proofs.
        index: usize,
        /// Checkpoint height.
        height: u64,
    },
    /// A proved state value does not decode as its key's record.
    #[error("state value {index} does not decode as its key's record")]
    StateValue {
        /// Position among the bundle's state proofs.
        index: usize,
    },
    /// A case's versions are not the record's versions.
    #[error("bundle has {found} versions, the record's head is version {head}")]
    VersionCount {
        /// Head version number.
        head: u32,
        /// Versions in the bundle.
        found: usize,
    },
    /// The versions do not form the record's hash chain.
    #[error("version chain: {0}")]
    VersionChain(#[from] ChainBreak),
    /// A version is of another case.
    #[error("version {0} belongs to another case")]
    VersionCase(u32),
    /// A version's transaction is not the one it names.
    #[error("version {0} carries a transaction other than the one it names")]
    VersionTransaction(u32),
    /// Versions where none belong (another kind, or an absent record).
    #[error("bundle carries versions for a record that has none")]
    UnexpectedVersions,
    /// A transaction bundle without its transaction proof or body (or a receipt's with a body).
    #[error("bundle does not carry the transaction proof its kind needs")]
    TransactionMissing,
    /// The transaction's receipt is another transaction's.
    #[error("receipt is of another transaction")]
    ReceiptMismatch,
    /// A header between the transaction's block and the checkpoint is not its successor's parent.
    #[error("header {0} is not the parent of the next header up to the checkpoint")]
    HeaderLink(u64),
    /// The transaction's path does not lead to the header's transactions root.
    #[error("transaction is not in block {0} (path does not match the transactions root)")]
    TransactionPath(u64),
    /// The receipt's path does not lead to the header's receipts root.
    #[error("receipt is not in block {0} (path does not match the receipts root)")]
    ReceiptPath(u64),
}

/// What a valid bundle proves.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The record.
    pub record: RecordRef,
    /// Height of the checkpoint.
    pub height: u64,
    /// Its block time, Unix milliseconds.
    pub time_ms: u64,
    /// Its block hash.
    pub block: Hash,
    /// Its state root.
    pub state_root: Hash,
    /// The validators whose signatures certify it.
    pub certified_by: Vec<PublicKey>,
    /// The genesis validators.
    pub validator_count: usize,
    /// The record's head at the checkpoint (none if absent, or for a transaction).
    pub head: Option<StateValue>,
    /// Other proved entries (an identity's certificate), in bundle order.
    pub related: Vec<(StateKey, Option<StateValue>)>,
}

/// A verifier for one chain: its id and validator order computed once, and the checkpoints it
/// already verified (a light client's memory: a bundle against one of them needs no signature
/// of the quorum again, and [`Verifier::latest`] lets a client refuse a rollback).
#[derive(Clone, Debug)]
pub struct Verifier {
    chain_id: Hash,
    validators: Vec<PublicKey>,
    trusted: std::collections::BTreeMap<u64, Hash>,
    authors: Authorship,
    /// The validators' keys decompressed once.
    keys: keys::KeyCache,
}

/// Who vouches for the authors of the transactions a bundle carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authorship {
    /// Every author's signature is verified again: a quorum of validators could not have made
    /// up a hospital's report (the default; what `epichain verify` does).
    Signatures,
    /// The certified state vouches: each transaction must still be the one the state names (its
    /// id covers its signature), but the signature is not re-verified. The validators checked it
    /// when they executed the block; a colluding quorum is then trusted for authorship.
    Quorum,
}

/// Most checkpoints a [`Verifier`] remembers (the newest are kept).
pub const TRUSTED_CHECKPOINTS_MAX: usize = 1_024;

impl Verifier {
    /// A verifier trusting only `genesis`.
    pub fn new(genesis: &Genesis) -> Self {
        let validators = certificate::validator_order(genesis);
        Verifier {
            chain_id: genesis.chain_id(),
            validators: validators.clone(),
            trusted: std::collections::BTreeMap::new(),
            authors: Authorship::Signatures,
            keys: keys::KeyCache::with_keys(&validators),
        }
    }

    /// The same verifier with another [`Authorship`] policy.
    pub fn with_authorship(mut self, authors: Authorship) -> Self {
        self.authors = authors;
        self
    }

    /// The chain this verifier checks.
    pub fn chain_id(&self) -> Hash {
        self.chain_id
    }

    /// Remembers a verified checkpoint.
    pub fn trust(&mut self, verified: &Verified) {
        self.trusted.insert(verified.height, verified.block);
        while self.trusted.len() > TRUSTED_CHECKPOINTS_MAX {
            self.trusted.pop_first();
        }
    }

    /// The newest checkpoint remembered: height and block hash.
    pub fn latest(&self) -> Option<(u64, Hash)> {
        self.trusted
            .last_key_value()
            .map(|(height, block)| (*height, *block))
    }

    /// Verifies that `certificate` finalizes the block `block` (a quorum of this chain's
    /// validators signed it).
    pub fn verify_certificate(
        &self,
        block: &Hash,
        certificate: &[u8],
    ) -> Result<(), CertificateError> {
        let certified = certificate::certify(&self.chain_id, &self.validators, block, certificate)?;
        let mut signatures = Signatures::default();
        signatures.push_quorum(&certified);
        signatures
            .verify(self.keys.clone())
            .map_err(|error| match error {
                VerifyError::Signature(Signer::Validator(validator)) => {
                    CertificateError::Signature { validator }
                }
                _ => CertificateError::Malformed("signature"),
            })
    }

    /// Reads and verifies an encoded bundle.
    pub fn verify_bytes(&self, bytes: &[u8]) -> Result<(ProofBundle, Verified), VerifyError> {
        let bundle = ProofBundle::from_bytes(bytes)?;
        let verified = self.verify(&bundle)?;
        Ok((bundle, verified))
    }

    /// Verifies a bundle: chain, certificate (unless its checkpoint is trusted already), state
    /// paths, versions, signatures.
    pub fn verify(&self, bundle: &ProofBundle) -> Result<Verified, VerifyError> {
        if bundle.chain_id != self.chain_id {
            return Err(VerifyError::OtherChain {
                genesis: self.chain_id,
                bundle: bundle.chain_id,
            });
        }
        let header = &bundle.checkpoint.header;
        if header.chain_id != self.chain_id {
            return Err(VerifyError::HeaderChain(header.chain_id));
        }
        let block = header.hash();
        let certified = certificate::certify(
            &self.chain_id,
            &self.validators,
            &block,
            &bundle.checkpoint.certificate,
        )?;
        let mut signatures = Signatures {
            authors: self.authors,
            ..Signatures::default()
        };
        if self.trusted.get(&header.height) != Some(&block) {
            signatures.push_quorum(&certified);
        }
        let mut values = verify_state(bundle)?.into_iter();
        let head = match bundle.record {
            RecordRef::Transaction(id) | RecordRef::Receipt(id) => {
                verify_transaction(bundle, &id, &mut signatures)?;
                None
            }
            _ => values.next().ok_or(VerifyError::MissingHead)?.1,
        };
        match (&bundle.record, &head) {
            (RecordRef::Case(id), Some(StateValue::Case(record))) => {
                verify_versions(bundle, id, record.version, &record.head, &mut signatures)?;
            }
            _ if !bundle.versions.is_empty() => return Err(VerifyError::UnexpectedVersions),
            _ => {}
        }
        signatures.verify(self.keys.clone())?;
        Ok(Verified {
            record: bundle.record,
            height: header.height,
            time_ms: header.time_ms,
            block,
            state_root: header.state_root,
            certified_by: certified.signatures.iter().map(|(key, _)| *key).collect(),
            validator_count: self.validators.len(),
            head,
            related: values.collect(),
        })
    }
}

/// Reads and verifies an encoded bundle against `genesis`.
pub fn verify_bytes(
    genesis: &Genesis,
    bytes: &[u8],
) -> Result<(ProofBundle, Verified), VerifyError> {
    Verifier::new(genesis).verify_bytes(bytes)
}

/// Verifies a bundle against `genesis`.
pub fn verify(genesis: &Genesis, bundle: &ProofBundle) -> Result<Verified, VerifyError> {
    Verifier::new(genesis).verify(bundle)
}

/// Checks every state proof against the checkpoint's state root; the record's own key first.
fn verify_state(bundle: &ProofBundle) -> Result<Vec<(StateKey, Option<StateValue>)>, VerifyError> {
    let header = &bundle.checkpoint.header;
    if let Some(key) = bundle.record.state_key()
        && bundle.state.first().map(|proof| &proof.key) != Some(&key)
    {
        return Err(VerifyError::MissingHead);
    }
    let root = jmt::RootHash(header.state_root.0);
    bundle
        .state
        .iter()
        .enumerate()
        .map(|(index, state)| {
            let failed = VerifyError::StateProof {
                index,
                height: header.height,
            };
            let proof: SparseProof = borsh::from_slice(&state.proof).map_err(|_| failed.clone())?;
            proof
                .verify(
                    root,
                    jmt::KeyHash(state.key.tree_key()),
                    state.value.as_deref(),
                )
                .map_err(|_| failed)?;
            let decoded = state
                .decoded()
                .map_err(|_| VerifyError::StateValue { index })?;
            Ok((state.key.clone(), decoded))
        })
        .collect()
}

/// Checks that a case's versions are exactly the chain ending at its head, each with the
/// transaction it names.
fn verify_versions(
    bundle: &ProofBundle,
    id: &Hash,
    head_version: u32,
    head: &Hash,
    signatures: &mut Signatures,
) -> Result<(), VerifyError> {
    if bundle.versions.len() != head_version as usize + 1 {
        return Err(VerifyError::VersionCount {
            head: head_version,
            found: bundle.versions.len(),
        });
    }
    verify_version_chain(bundle.versions.iter().map(|proof| &proof.version), head)?;
    for proof in &bundle.versions {
        let number = proof.version.version;
        if proof.version.case_id != *id {
            return Err(VerifyError::VersionCase(number));
        }
        let transaction = &proof.transaction;
        if transaction.id() != proof.version.transaction_id
            || transaction.transaction.signer != proof.version.signer
        {
            return Err(VerifyError::VersionTransaction(number));
        }
        signatures.push(
            Signer::Version(number),
            transaction.transaction.signer,
            || transaction.transaction.signing_bytes(),
            transaction.signature,
        );
    }
    Ok(())
}

/// Checks a transaction and its receipt against its block's roots, and its block's link to the
/// checkpoint.
fn verify_transaction(
    bundle: &ProofBundle,
    id: &Hash,
    signatures: &mut Signatures,
) -> Result<(), VerifyError> {
    let checkpoint = &bundle.checkpoint.header;
    let proof = bundle
        .transaction
        .as_ref()
        .ok_or(VerifyError::TransactionMissing)?;
    let mut next = checkpoint;
    for header in proof.headers.iter().rev() {
        if next.parent != header.hash() || next.height != header.height + 1 {
            return Err(VerifyError::HeaderLink(header.height));
        }
        next = header;
    }
    let block = bundle
        .transaction_block()
        .ok_or(VerifyError::TransactionMissing)?;
    let with_body = matches!(bundle.record, RecordRef::Transaction(_));
    if proof.transaction.is_some() != with_body {
        return Err(VerifyError::TransactionMissing);
    }
    let found = proof
        .transaction
        .as_ref()
        .map_or(proof.receipt.transaction_id, SignedTransaction::id);
    if found != *id || proof.receipt.transaction_id != found {
        return Err(VerifyError::ReceiptMismatch);
    }
    let leaf = merkle::leaf_hash(&found.0);
    if !merkle::verify(&leaf, &proof.transaction_path, &block.transactions_root) {
        return Err(VerifyError::TransactionPath(block.height));
    }
    if proof.receipt_path.index != proof.transaction_path.index
        || !merkle::verify(
            &proof.receipt.leaf_hash(),
            &proof.receipt_path,
            &block.receipts_root,
        )
    {
        return Err(VerifyError::ReceiptPath(block.height));
    }
    if let Some(transaction) = &proof.transaction {
        signatures.push(
            Signer::Transaction,
            transaction.transaction.signer,
            || transaction.transaction.signing_bytes(),
            transaction.signature,
        );
    }
    Ok(())
}

/// Signatures collected from a bundle, verified in one batch.
struct Signatures {
    authors: Authorship,
    signers: Vec<Signer>,
    items: Vec<(PublicKey, Vec<u8>, Signature)>,
}

impl Default for Signatures {
    fn default() -> Self {
        Signatures {
            authors: Authorship::Signatures,
            signers: Vec::new(),
            items: Vec::new(),
        }
    }
}

impl Signatures {
    /// Adds a signature (its message built only if it will be verified).
    fn push(
        &mut self,
        signer: Signer,
        key: PublicKey,
        message: impl FnOnce() -> Vec<u8>,
        signature: Signature,
    ) {
        if self.authors == Authorship::Quorum && !matches!(signer, Signer::Validator(_)) {
            return;
        }
        self.signers.push(signer);
        self.items.push((key, message(), signature));
    }

    /// Adds a certificate's validator signatures.
    fn push_quorum(&mut self, certified: &certificate::Certified) {
        for (key, signature) in &certified.signatures {
            self.push(
                Signer::Validator(*key),
                *key,
                || certified.message.clone(),
                *signature,
            );
        }
    }

    fn verify(self, mut cache: keys::KeyCache) -> Result<(), VerifyError> {
        let items: Vec<keys::SignedMessage<'_>> = self
            .items
            .iter()
            .map(|(key, message, signature)| keys::SignedMessage {
                key,
                message,
                signature,
            })
            .collect();
        let resolved = cache.resolve(&items);
        let verdicts = keys::verify_many_resolved(&items, resolved.as_deref(), 1);
        match verdicts.iter().position(|valid| !valid) {
            Some(index) => Err(VerifyError::Signature(self.signers[index].clone())),
            None => Ok(()),
        }
    }
}
