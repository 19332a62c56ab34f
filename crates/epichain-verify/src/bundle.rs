//! The proof bundle: a record's history with everything needed to check it offline.
//!
//! Binary format (the canonical one; `.epiproof` files and `GET /v1/proofs/...`):
//! [`BUNDLE_MAGIC`] followed by the Borsh encoding of [`ProofBundle`], whose first field is
//! [`BUNDLE_FORMAT_VERSION`]. A reader refuses other magic, other versions and trailing bytes.
//! A JSON view ([`ProofBundle::to_json`]) shows the same content for people and scripts; it is
//! not read back.

use borsh::{BorshDeserialize, BorshSerialize};
use epichain_core::block::{BlockHeader, Receipt};
use epichain_core::encoding::{self, Hash};
use epichain_core::keys::PublicKey;
use epichain_core::merkle::InclusionProof;
use epichain_core::state::{CaseVersion, StateKey, StateValue};
use epichain_core::transaction::SignedTransaction;
use serde_json::{Value, json};

/// First bytes of an encoded bundle.
pub const BUNDLE_MAGIC: [u8; 8] = *b"EPIPROOF";
/// Version of the bundle layout.
pub const BUNDLE_FORMAT_VERSION: u16 = 1;
/// Largest encoded bundle a reader accepts (a case's versions are bounded by its transactions).
pub const BUNDLE_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Which record a bundle proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum RecordRef {
    /// A case record and all its versions.
    Case(Hash),
    /// An early-warning signal and its workflow steps.
    Signal(Hash),
    /// A disclosure grant.
    Grant(Hash),
    /// An enrolled identity and its certificate.
    Identity(PublicKey),
    /// One transaction and its receipt (an access log, a report, any signed act).
    Transaction(Hash),
    /// The escrow public key the validators generated (id `key`).
    EscrowKey,
    /// A transaction's receipt without the transaction's body (public: what a submitter checks
    /// without signing its request).
    Receipt(Hash),
}

/// The id of the escrow key in URLs and on the command line.
pub const ESCROW_KEY_ID: &str = "key";

impl RecordRef {
    /// The kind's name in URLs and on the command line.
    pub fn kind(&self) -> &'static str {
        match self {
            RecordRef::Case(_) => "case",
            RecordRef::Signal(_) => "signal",
            RecordRef::Grant(_) => "grant",
            RecordRef::Identity(_) => "identity",
            RecordRef::Transaction(_) => "transaction",
            RecordRef::EscrowKey => "escrow",
            RecordRef::Receipt(_) => "receipt",
        }
    }

    /// The id as hex.
    pub fn id_hex(&self) -> String {
        match self {
            RecordRef::Case(id)
            | RecordRef::Signal(id)
            | RecordRef::Grant(id)
            | RecordRef::Transaction(id)
            | RecordRef::Receipt(id) => id.to_string(),
            RecordRef::Identity(key) => key.to_hex(),
            RecordRef::EscrowKey => ESCROW_KEY_ID.to_string(),
        }
    }

    /// Parses a kind name and a hex id.
    pub fn parse(kind: &str, id: &str) -> Result<Self, String> {
        let hash = || {
            id.parse::<Hash>()
                .map_err(|_| format!("{kind} id must be 64 hex digits"))
        };
        Ok(match kind {
            "case" => RecordRef::Case(hash()?),
            "signal" => RecordRef::Signal(hash()?),
            "grant" => RecordRef::Grant(hash()?),
            "transaction" => RecordRef::Transaction(hash()?),
            "receipt" => RecordRef::Receipt(hash()?),
            "identity" => RecordRef::Identity(
                PublicKey::from_hex(id).map_err(|_| "identity id must be a key, 64 hex digits")?,
            ),
            "escrow" if id == ESCROW_KEY_ID => RecordRef::EscrowKey,
            "escrow" => return Err(format!("the escrow record's id is {ESCROW_KEY_ID:?}")),
            _ => {
                return Err(format!(
                    "unknown record kind {kind:?}: case, signal, grant, identity, transaction, receipt or escrow"
                ));
            }
        })
    }

    /// The state key whose value is the record's head (none for transactions).
    pub fn state_key(&self) -> Option<StateKey> {
        match self {
            RecordRef::Case(id) => Some(StateKey::Case(*id)),
            RecordRef::Signal(id) => Some(StateKey::Signal(*id)),
            RecordRef::Grant(id) => Some(StateKey::Grant(*id)),
            RecordRef::Identity(key) => Some(StateKey::Identity(*key)),
            RecordRef::EscrowKey => Some(StateKey::EscrowKey),
            RecordRef::Transaction(_) | RecordRef::Receipt(_) => None,
        }
    }
}

/// A finalized header and its finality certificate.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Checkpoint {
    /// The header.
    pub header: BlockHeader,
    /// The consensus engine's finalization certificate of the header's hash.
    pub certificate: Vec<u8>,
}

/// A value (or its absence) under a key of the state at the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct StateProof {
    /// The key.
    pub key: StateKey,
    /// Its value's canonical bytes, or none to prove absence.
    pub value: Option<Vec<u8>>,
    /// The Jellyfish Merkle proof (Borsh of `jmt::proof::SparseMerkleProof<Sha256>`).
    pub proof: Vec<u8>,
}

impl StateProof {
    /// The proved value as its key's record (none for an absence).
    pub fn decoded(&self) -> Result<Option<StateValue>, encoding::DecodeError> {
        self.value
            .as_ref()
            .map(|bytes| StateValue::from_bytes(&self.key, bytes))
            .transpose()
    }
}

/// One version of a case with the signed transaction that made it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct VersionProof {
    /// The stored version (its hash chains to the record's head).
    pub version: CaseVersion,
    /// The transaction it names.
    pub transaction: SignedTransaction,
}

/// A transaction, its receipt and their paths in its block's Merkle trees. Its block is the
/// checkpoint, or (when that block carries no certificate of its own: it was finalized through
/// a descendant's) the first of `headers`, each of which the next one names as its parent, the
/// last being the checkpoint's parent.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TransactionProof {
    /// Headers from the transaction's block up to the checkpoint, exclusive (empty if the
    /// checkpoint is the transaction's block).
    pub headers: Vec<BlockHeader>,
    /// The transaction (none in a receipt's bundle: its id is the receipt's).
    pub transaction: Option<SignedTransaction>,
    /// Its receipt.
    pub receipt: Receipt,
    /// Path of its id to the header's transactions root.
    pub transaction_path: InclusionProof,
    /// Path of its receipt to the header's receipts root.
    pub receipt_path: InclusionProof,
}

/// Everything needed to check a record's history with the genesis alone.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ProofBundle {
    /// [`BUNDLE_FORMAT_VERSION`].
    pub format_version: u16,
    /// The chain (genesis hash).
    pub chain_id: Hash,
    /// The record.
    pub record: RecordRef,
    /// The certified header everything is proved against.
    pub checkpoint: Checkpoint,
    /// The record's head (or its absence) first, then entries it refers to.
    pub state: Vec<StateProof>,
    /// A case's versions, oldest first (empty for other kinds).
    pub versions: Vec<VersionProof>,
    /// For a transaction: its inclusion in the checkpoint block.
    pub transaction: Option<TransactionProof>,
}

/// Why bytes are not a bundle.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BundleDecodeError {
    /// Not a bundle file.
    #[error("not a proof bundle (wrong magic bytes)")]
    Magic,
    /// Larger than a reader accepts.
    #[error("bundle is larger than {BUNDLE_BYTES_MAX} bytes")]
    TooLarge,
    /// A layout this reader does not know.
    #[error("bundle format {0} is not supported (this reader knows {BUNDLE_FORMAT_VERSION})")]
    Version(u16),
    /// Bytes that do not decode.
    #[error("bundle does not decode")]
    Malformed,
}

impl ProofBundle {
    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = BUNDLE_MAGIC.to_vec();
        bytes.extend_from_slice(&encoding::encode(self));
        bytes
    }

    /// Reads canonical bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BundleDecodeError> {
        if bytes.len() > BUNDLE_BYTES_MAX {
            return Err(BundleDecodeError::TooLarge);
        }
        let body = bytes
            .strip_prefix(&BUNDLE_MAGIC)
            .ok_or(BundleDecodeError::Magic)?;
        let version = body
            .get(..2)
            .map(|v| u16::from_le_bytes([v[0], v[1]]))
            .ok_or(BundleDecodeError::Malformed)?;
        if version != BUNDLE_FORMAT_VERSION {
            return Err(BundleDecodeError::Version(version));
        }
        encoding::decode(body).map_err(|_| BundleDecodeError::Malformed)
    }

    /// The header of the block holding the proved transaction (the checkpoint's, or the first
    /// of the headers linking it); none for other records.
    pub fn transaction_block(&self) -> Option<&BlockHeader> {
        let proof = self.transaction.as_ref()?;
        Some(proof.headers.first().unwrap_or(&self.checkpoint.header))
    }

    /// The JSON view: every field, records decoded where they decode, bytes in hex.
    pub fn to_json(&self) -> Value {
        json!({
            "format_version": self.format_version,
            "chain_id": self.chain_id,
            "record": {"kind": self.record.kind(), "id": self.record.id_hex()},
            "checkpoint": {
                "header": self.checkpoint.header,
                "hash": self.checkpoint.header.hash(),
                "certificate": hex::encode(&self.checkpoint.certificate),
            },
            "state": self.state.iter().map(state_json).collect::<Vec<_>>(),
            "versions": self.versions.iter().map(|v| json!({
                "version": v.version,
                "transaction": v.transaction,
            })).collect::<Vec<_>>(),
            "transaction": self.transaction.as_ref().map(|t| json!({
                "headers": t.headers,
                "transaction": t.transaction,
                "receipt": t.receipt,
                "transaction_path": t.transaction_path,
                "receipt_path": t.receipt_path,
            })),
        })
    }
}

fn state_json(proof: &StateProof) -> Value {
    let record = proof
        .decoded()
        .ok()
        .flatten()
        .map(|value| record_json(&value));
    json!({
        "key": hex::encode(encoding::encode(&proof.key)),
        "tree_key": hex::encode(proof.key.tree_key()),
        "present": proof.value.is_some(),
        "value": proof.value.as_ref().map(hex::encode),
        "record": record,
        "proof": hex::encode(&proof.proof),
    })
}

fn record_json(value: &StateValue) -> Value {
    let json = match value {
        StateValue::Case(record) => serde_json::to_value(record.as_ref()),
        StateValue::Signal(record) => serde_json::to_value(record.as_ref()),
        StateValue::Grant(record) => serde_json::to_value(record.as_ref()),
        StateValue::Identity(record) => serde_json::to_value(record),
        StateValue::EscrowKey(record) => serde_json::to_value(record.as_ref()),
        StateValue::EncryptionKey(key) => serde_json::to_value(key),
        _ => return Value::Null,
    };
    json.unwrap_or(Value::Null)
}
